//! all-MiniLM-L6-v2 itself, when `scripts/fetch-model.sh` has put it in the default folder:
//! reference cosines (from an independent numpy forward pass, see STACK-NOTES), agreement with
//! candle-transformers' BertModel, and int16 agreement with F32. Without the model these tests
//! print why they did nothing, or fail when `SWITCHBOARD_REQUIRE_MODEL=1` (CI sets it after
//! fetching the model). The tiny-model tests cover the loading code either way.

use std::sync::OnceLock;

use sb_embed::{Embedder, Precision};

use crate::support::{cosine, max_abs_diff, norm, reference_embeddings};
use crate::tiny_model::SAMPLE_TEXTS;

/// Customer-service sentences for the int16 agreement check.
const SUPPORT_SENTENCES: [&str; 12] = [
    "How do I locate my card?",
    "I still have not received my new card, I ordered over a week ago.",
    "Can I change my PIN at an ATM?",
    "Why was I charged a fee for my transfer?",
    "My top-up failed, what should I do?",
    "I think someone stole my phone and is using my account!!",
    "what is the exchange rate for euros",
    "Please cancel my order #48213 and refund the $129.99 to my Visa",
    "The app keeps crashing when I open statements on Android 14",
    "Bonjour, je n'arrive pas à me connecter à mon compte.",
    "ok",
    "Is there a limit on how much I can withdraw in one day from a cash machine abroad?",
];

fn real_embedder(precision: Precision) -> Option<&'static Embedder> {
    static F32: OnceLock<Option<Embedder>> = OnceLock::new();
    static INT16: OnceLock<Option<Embedder>> = OnceLock::new();
    let cell = match precision {
        Precision::F32 => &F32,
        Precision::Int16 => &INT16,
    };
    cell.get_or_init(|| {
        let Some(model_dir) = sb_embed::find_model_dir() else {
            let required = std::env::var("SWITCHBOARD_REQUIRE_MODEL").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "SWITCHBOARD_REQUIRE_MODEL=1 but no model in {}: run scripts/fetch-model.sh",
                sb_embed::default_model_dir().display()
            );
            eprintln!(
                "real-model test did nothing: no model in {} (run scripts/fetch-model.sh)",
                sb_embed::default_model_dir().display()
            );
            return None;
        };
        Some(Embedder::load_with_precision(&model_dir, precision).expect("load real model"))
    })
    .as_ref()
}

/// Properties every embedder must have, whatever its weights.
pub fn check_properties(embedder: &Embedder) {
    let dim = embedder.dim();
    // 40 texts of mixed length: more than one internal batch, in an order unlike the length sort.
    let mut texts: Vec<String> = Vec::new();
    for round in 0..5 {
        for text in SAMPLE_TEXTS {
            texts.push(format!("{text} {}", "again ".repeat(round)));
        }
    }
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch = embedder.embed(&text_refs).unwrap();
    assert_eq!(batch.len(), texts.len());
    for (text_idx, (text, embedding)) in texts.iter().zip(&batch).enumerate() {
        assert_eq!(embedding.len(), dim);
        assert!(
            (norm(embedding) - 1.0).abs() < 1e-5,
            "norm of {text:?} is {}",
            norm(embedding)
        );
        // Alone equals inside a batch of others (of other lengths); a third of the texts, as
        // the suite runs unoptimized.
        if text_idx % 3 != 0 {
            continue;
        }
        let alone = embedder.embed_one(text).unwrap();
        let diff = max_abs_diff(&alone, embedding);
        assert!(diff < 1e-5, "{text:?}: alone vs in batch differ by {diff}");
    }
    // Input order is preserved: reversing the input reverses the output.
    let reversed_refs: Vec<&str> = text_refs.iter().rev().copied().collect();
    let reversed = embedder.embed(&reversed_refs).unwrap();
    for (forward, backward) in batch.iter().zip(reversed.iter().rev()) {
        assert!(max_abs_diff(forward, backward) < 1e-5);
    }
    // Distinct texts get distinct vectors (order mix-ups would show here).
    assert!(max_abs_diff(&batch[0], &batch[1]) > 1e-3);

    assert!(embedder.embed(&[]).unwrap().is_empty());
    for odd in ["", "   ", "\u{0}\u{7}", "🙂🙂", "\u{2028}"] {
        let embedding = embedder.embed_one(odd).unwrap();
        assert_eq!(embedding.len(), dim);
        assert!(embedding.iter().all(|v| v.is_finite()), "{odd:?}");
    }

    // 10 MB inputs are truncated, quickly, to the same result as their first few KiB.
    let sentence = "Where is my package? My order has not arrived yet. ";
    let huge = sentence.repeat(10 * 1024 * 1024 / sentence.len());
    let head = sentence.repeat(4 * embedder.max_tokens() / 10 + 1);
    let huge_embedding = embedder.embed_one(&huge).unwrap();
    assert!(max_abs_diff(&huge_embedding, &embedder.embed_one(&head).unwrap()) < 1e-6);
    let no_whitespace = "x".repeat(10 * 1024 * 1024);
    assert_eq!(embedder.embed_one(&no_whitespace).unwrap().len(), dim);
    let blank_then_word = format!("{}hello", " ".repeat(10 * 1024 * 1024));
    let hello = embedder.embed_one("hello").unwrap();
    assert!(max_abs_diff(&embedder.embed_one(&blank_then_word).unwrap(), &hello) < 1e-6);
}

#[test]
fn reference_cosines_match() {
    let Some(embedder) = real_embedder(Precision::F32) else {
        return;
    };
    assert_eq!(embedder.dim(), 384);
    assert!(
        embedder.model_id().starts_with("all-MiniLM-L6-v2@"),
        "{}",
        embedder.model_id()
    );
    let vectors = embedder
        .embed(&[
            "Where is my package?",
            "My order has not arrived yet",
            "How do I reset my password?",
        ])
        .unwrap();
    let related = cosine(&vectors[0], &vectors[1]);
    let unrelated = cosine(&vectors[0], &vectors[2]);
    eprintln!("f32: cos(package, order) {related:.5}, cos(package, password) {unrelated:.5}");
    assert!(
        (related - 0.4677).abs() < 1e-3,
        "cos(package, order) = {related}"
    );
    assert!(
        (unrelated - 0.1171).abs() < 1e-3,
        "cos(package, password) = {unrelated}"
    );
}

#[test]
fn f32_matches_candle_bert_reference() {
    let Some(embedder) = real_embedder(Precision::F32) else {
        return;
    };
    let model_dir = sb_embed::find_model_dir().unwrap();
    let ours = embedder.embed(&SUPPORT_SENTENCES).unwrap();
    let reference = reference_embeddings(&model_dir, &SUPPORT_SENTENCES);
    for (text_idx, text) in SUPPORT_SENTENCES.iter().enumerate() {
        let diff = max_abs_diff(&ours[text_idx], &reference[text_idx]);
        assert!(
            diff < 1e-5,
            "{text:?}: max abs diff {diff} against BertModel"
        );
    }
}

#[test]
fn properties_hold() {
    for precision in [Precision::F32, Precision::Int16] {
        let Some(embedder) = real_embedder(precision) else {
            return;
        };
        check_properties(embedder);
    }
}

#[test]
fn int16_agrees_with_f32() {
    let (Some(full), Some(quantized)) = (
        real_embedder(Precision::F32),
        real_embedder(Precision::Int16),
    ) else {
        return;
    };
    let full_vectors = full.embed(&SUPPORT_SENTENCES).unwrap();
    let quantized_vectors = quantized.embed(&SUPPORT_SENTENCES).unwrap();
    let mut worst = 1.0f32;
    for (a, b) in full_vectors.iter().zip(&quantized_vectors) {
        worst = worst.min(cosine(a, b));
    }
    // The brief's floor for quantization is 0.99; this kernel does much better (0.99993 when
    // written), and a regression to int8-like accuracy (0.98-0.997) must fail here.
    assert!(worst >= 0.9995, "worst int16/f32 cosine {worst}");
    // The reference pairs keep their values to within 2e-3.
    let vectors = quantized
        .embed(&[
            "Where is my package?",
            "My order has not arrived yet",
            "How do I reset my password?",
        ])
        .unwrap();
    let related = cosine(&vectors[0], &vectors[1]);
    let unrelated = cosine(&vectors[0], &vectors[2]);
    eprintln!("int16: worst cosine to f32 {worst:.5}, cos(package, order) {related:.4}, cos(package, password) {unrelated:.4}");
    assert!(
        (related - 0.4677).abs() < 2e-3,
        "int16 cos(package, order) = {related}"
    );
    assert!(
        (unrelated - 0.1171).abs() < 2e-3,
        "int16 cos(package, password) = {unrelated}"
    );
}
