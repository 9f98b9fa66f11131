//! The tiny random BERT, always available: proves the loader reads HF-format files and that the
//! packed forward pass equals candle-transformers' padded, masked BertModel.

use sb_embed::{Embedder, Precision};

use crate::support::{
    cosine, max_abs_diff, norm, reference_embeddings, tiny_model_dir, TINY_HIDDEN,
    TINY_MAX_POSITIONS,
};

/// Texts of different lengths, with punctuation, case and accents the normalizer must handle.
pub const SAMPLE_TEXTS: [&str; 8] = [
    "Where is my package?",
    "My order has not arrived yet",
    "How do I reset my password?",
    "hello",
    "",
    "Refund the money, the card is not here! Where is the order?",
    "ÉCHO   café\tnaïve\ncrème",
    "a b c d e f g h i j k l m n o p",
];

#[test]
fn loads_and_reports_dimensions() {
    let (_temp, model_dir) = tiny_model_dir(7);
    let embedder = Embedder::load_with_precision(&model_dir, Precision::F32).unwrap();
    assert_eq!(embedder.dim(), TINY_HIDDEN);
    assert_eq!(
        Embedder::load(&model_dir).unwrap().precision(),
        Precision::default()
    );
    // No sentence_bert_config.json: 256, clamped to the model's 48 positions.
    assert_eq!(embedder.max_tokens(), TINY_MAX_POSITIONS);
    let model_id = embedder.model_id();
    let hash = model_id
        .strip_prefix("tiny-bert@")
        .unwrap_or_else(|| panic!("model id {model_id}"));
    assert_eq!(hash.len(), 8);
    assert!(
        hash.chars().all(|c| c.is_ascii_hexdigit()),
        "model id {model_id}"
    );

    // Different weights, different id; int16 is marked.
    let (_temp2, other_dir) = tiny_model_dir(8);
    assert_ne!(
        Embedder::load_with_precision(&other_dir, Precision::F32)
            .unwrap()
            .model_id(),
        model_id
    );
    let int16 = Embedder::load_with_precision(&model_dir, Precision::Int16).unwrap();
    assert_eq!(int16.model_id(), format!("{model_id}+int16"));
}

#[test]
fn f32_matches_candle_bert_reference() {
    let (_temp, model_dir) = tiny_model_dir(7);
    let embedder = Embedder::load_with_precision(&model_dir, Precision::F32).unwrap();
    let ours = embedder.embed(&SAMPLE_TEXTS).unwrap();
    let reference = reference_embeddings(&model_dir, &SAMPLE_TEXTS);
    for (text_idx, text) in SAMPLE_TEXTS.iter().enumerate() {
        let diff = max_abs_diff(&ours[text_idx], &reference[text_idx]);
        assert!(
            diff < 1e-5,
            "text {text:?}: max abs diff {diff} against BertModel"
        );
    }
}

#[test]
fn int16_stays_close_to_f32() {
    let (_temp, model_dir) = tiny_model_dir(7);
    let f32_embedder = Embedder::load_with_precision(&model_dir, Precision::F32).unwrap();
    let int16_embedder = Embedder::load_with_precision(&model_dir, Precision::Int16).unwrap();
    let full = f32_embedder.embed(&SAMPLE_TEXTS).unwrap();
    let quantized = int16_embedder.embed(&SAMPLE_TEXTS).unwrap();
    for (text_idx, text) in SAMPLE_TEXTS.iter().enumerate() {
        let agreement = cosine(&full[text_idx], &quantized[text_idx]);
        assert!(
            agreement > 0.9999,
            "text {text:?}: int16 cosine to f32 {agreement}"
        );
        assert!((norm(&quantized[text_idx]) - 1.0).abs() < 1e-5);
    }
}

#[test]
fn properties_hold_for_both_precisions() {
    let (_temp, model_dir) = tiny_model_dir(7);
    for precision in [Precision::F32, Precision::Int16] {
        let embedder = Embedder::load_with_precision(&model_dir, precision).unwrap();
        crate::real_model::check_properties(&embedder);
    }
}

#[test]
fn truncates_to_the_position_limit() {
    let (_temp, model_dir) = tiny_model_dir(7);
    let embedder = Embedder::load(&model_dir).unwrap();
    // Each "hello" is one token: 46 of them plus [CLS] and [SEP] fill the 48 positions.
    let exactly_full = vec!["hello"; TINY_MAX_POSITIONS - 2].join(" ");
    let longer = vec!["hello"; 500].join(" ");
    let full = embedder.embed_one(&exactly_full).unwrap();
    let truncated = embedder.embed_one(&longer).unwrap();
    assert!(max_abs_diff(&full, &truncated) < 1e-6);
    // One token fewer is a different input: truncation is at the limit, not before it.
    let shorter = vec!["hello"; TINY_MAX_POSITIONS - 3].join(" ");
    assert!(max_abs_diff(&full, &embedder.embed_one(&shorter).unwrap()) > 1e-4);
}

#[test]
fn sentence_bert_config_sets_the_token_budget() {
    let (_temp, model_dir) = tiny_model_dir(7);
    std::fs::write(
        model_dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 10, "do_lower_case": false}"#,
    )
    .unwrap();
    let embedder = Embedder::load(&model_dir).unwrap();
    assert_eq!(embedder.max_tokens(), 10);
    let eight_words = "where is my package has not arrived yet";
    let with_tail = format!("{eight_words} refund the money");
    let a = embedder.embed_one(eight_words).unwrap();
    let b = embedder.embed_one(&with_tail).unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-6);
}
