//! Test fixtures: a tiny random BERT written to a temp folder in exactly the format of the real
//! model (HF `config.json`, a WordPiece `tokenizer.json` with the same fixed-padding trap as
//! MiniLM's, safetensors weights), and an independent reference embedding computed with
//! candle-transformers' `BertModel` over a padded, masked batch.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde_json::json;

/// Shape of the tiny model: small enough to build in milliseconds, with more than one head and
/// layer and a position limit (48) below MiniLM's 256-token budget, to exercise truncation.
pub const TINY_HIDDEN: usize = 32;
pub const TINY_HEADS: usize = 4;
pub const TINY_LAYERS: usize = 2;
pub const TINY_INTERMEDIATE: usize = 64;
pub const TINY_MAX_POSITIONS: usize = 48;

const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const WORDS: [&str; 24] = [
    "where", "is", "my", "package", "order", "has", "not", "arrived", "yet", "how", "do", "i",
    "reset", "password", "card", "refund", "the", "a", "?", ".", ",", "!", "hello", "money",
];

/// The tiny model's vocabulary: specials, words, then single letters and `##` letters so any
/// lowercase ASCII word tokenizes without `[UNK]`.
pub fn tiny_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    vocab.extend(WORDS.iter().map(|s| s.to_string()));
    for letter in 'a'..='z' {
        if !vocab.contains(&letter.to_string()) {
            vocab.push(letter.to_string());
        }
        vocab.push(format!("##{letter}"));
    }
    vocab
}

/// Deterministic pseudo-random numbers (no rand dependency needed for fixtures).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    /// Uniform in [-1, 1).
    pub fn next_f32(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub fn tensor(&mut self, shape: &[usize], scale: f32, offset: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| offset + scale * self.next_f32()).collect();
        Tensor::from_vec(values, shape, &Device::Cpu).expect("fixture tensor")
    }
}

pub fn tiny_config_json() -> serde_json::Value {
    json!({
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": TINY_HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": TINY_INTERMEDIATE,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": TINY_MAX_POSITIONS,
        "model_type": "bert",
        "num_attention_heads": TINY_HEADS,
        "num_hidden_layers": TINY_LAYERS,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": tiny_vocab().len()
    })
}

/// A BERT WordPiece tokenizer.json, with MiniLM's shipped `padding: Fixed(128)` and
/// `truncation: 128` so the tests prove the loader overrides both.
pub fn tiny_tokenizer_json() -> serde_json::Value {
    let vocab = tiny_vocab();
    let vocab_map: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(id, token)| (token.clone(), json!(id)))
        .collect();
    let added_tokens: Vec<serde_json::Value> = SPECIAL_TOKENS
        .iter()
        .enumerate()
        .map(|(id, token)| {
            json!({"id": id, "content": token, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added_tokens,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab_map}
    })
}

/// Random weights under the names of a Hugging Face `BertModel` checkpoint.
pub fn tiny_weights(seed: u64) -> HashMap<String, Tensor> {
    let mut rng = Lcg::new(seed);
    let (h, i) = (TINY_HIDDEN, TINY_INTERMEDIATE);
    let mut tensors = HashMap::new();
    let mut put = |name: String, tensor: Tensor| {
        tensors.insert(name, tensor);
    };
    put(
        "embeddings.word_embeddings.weight".into(),
        rng.tensor(&[tiny_vocab().len(), h], 1.0, 0.0),
    );
    put(
        "embeddings.position_embeddings.weight".into(),
        rng.tensor(&[TINY_MAX_POSITIONS, h], 0.3, 0.0),
    );
    put(
        "embeddings.token_type_embeddings.weight".into(),
        rng.tensor(&[2, h], 0.3, 0.0),
    );
    put(
        "embeddings.LayerNorm.weight".into(),
        rng.tensor(&[h], 0.1, 1.0),
    );
    put(
        "embeddings.LayerNorm.bias".into(),
        rng.tensor(&[h], 0.1, 0.0),
    );
    // Weight scale ~1/sqrt(fan_in) keeps activations O(1) through the layers, like a trained model.
    let w_scale_h = 1.7 / (h as f32).sqrt();
    let w_scale_i = 1.7 / (i as f32).sqrt();
    for layer in 0..TINY_LAYERS {
        let p = format!("encoder.layer.{layer}");
        for part in ["query", "key", "value"] {
            put(
                format!("{p}.attention.self.{part}.weight"),
                rng.tensor(&[h, h], w_scale_h, 0.0),
            );
            put(
                format!("{p}.attention.self.{part}.bias"),
                rng.tensor(&[h], 0.1, 0.0),
            );
        }
        put(
            format!("{p}.attention.output.dense.weight"),
            rng.tensor(&[h, h], w_scale_h, 0.0),
        );
        put(
            format!("{p}.attention.output.dense.bias"),
            rng.tensor(&[h], 0.1, 0.0),
        );
        put(
            format!("{p}.attention.output.LayerNorm.weight"),
            rng.tensor(&[h], 0.1, 1.0),
        );
        put(
            format!("{p}.attention.output.LayerNorm.bias"),
            rng.tensor(&[h], 0.1, 0.0),
        );
        put(
            format!("{p}.intermediate.dense.weight"),
            rng.tensor(&[i, h], w_scale_h, 0.0),
        );
        put(
            format!("{p}.intermediate.dense.bias"),
            rng.tensor(&[i], 0.1, 0.0),
        );
        put(
            format!("{p}.output.dense.weight"),
            rng.tensor(&[h, i], w_scale_i, 0.0),
        );
        put(format!("{p}.output.dense.bias"), rng.tensor(&[h], 0.1, 0.0));
        put(
            format!("{p}.output.LayerNorm.weight"),
            rng.tensor(&[h], 0.1, 1.0),
        );
        put(
            format!("{p}.output.LayerNorm.bias"),
            rng.tensor(&[h], 0.1, 0.0),
        );
    }
    tensors
}

/// Writes the tiny model's three files into `dir`.
pub fn write_tiny_model(dir: &Path, seed: u64) {
    std::fs::create_dir_all(dir).expect("create model dir");
    std::fs::write(dir.join("config.json"), tiny_config_json().to_string()).expect("write config");
    std::fs::write(
        dir.join("tokenizer.json"),
        tiny_tokenizer_json().to_string(),
    )
    .expect("write tokenizer");
    candle_core::safetensors::save(&tiny_weights(seed), dir.join("model.safetensors"))
        .expect("write weights");
}

/// A temp folder named like the real model folder, holding the tiny model.
pub fn tiny_model_dir(seed: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let temp = tempfile::tempdir().expect("tempdir");
    let model_dir = temp.path().join("tiny-bert");
    write_tiny_model(&model_dir, seed);
    (temp, model_dir)
}

/// Reference embeddings from candle-transformers' BertModel: the texts are tokenized by the
/// `tokenizers` crate directly, padded to the longest with an attention mask, run as one batch,
/// mean-pooled over the mask and L2-normalised — the sentence-transformers recipe, implemented
/// independently of sb-embed's packed forward pass.
pub fn reference_embeddings(model_dir: &Path, texts: &[&str]) -> Vec<Vec<f32>> {
    use candle_transformers::models::bert::{BertModel, Config};
    use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

    let device = Device::Cpu;
    let config: Config =
        serde_json::from_str(&std::fs::read_to_string(model_dir.join("config.json")).unwrap())
            .unwrap();
    let mut tokenizer = Tokenizer::from_file(model_dir.join("tokenizer.json")).unwrap();
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..Default::default()
    }));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: 256.min(config.max_position_embeddings),
            ..Default::default()
        }))
        .unwrap();
    let encodings = tokenizer.encode_batch(texts.to_vec(), true).unwrap();
    let seq_len = encodings[0].get_ids().len();
    let ids: Vec<u32> = encodings
        .iter()
        .flat_map(|e| e.get_ids().to_vec())
        .collect();
    let type_ids: Vec<u32> = encodings
        .iter()
        .flat_map(|e| e.get_type_ids().to_vec())
        .collect();
    let mask: Vec<u32> = encodings
        .iter()
        .flat_map(|e| e.get_attention_mask().to_vec())
        .collect();
    let shape = (texts.len(), seq_len);
    let ids = Tensor::from_vec(ids, shape, &device).unwrap();
    let type_ids = Tensor::from_vec(type_ids, shape, &device).unwrap();
    let mask = Tensor::from_vec(mask, shape, &device).unwrap();

    let weights = std::fs::read(model_dir.join("model.safetensors")).unwrap();
    let vb =
        candle_nn::VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).unwrap();
    let model = BertModel::load(vb, &config).unwrap();
    let hidden = model.forward(&ids, &type_ids, Some(&mask)).unwrap();

    let mask_f = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
    let summed = hidden.broadcast_mul(&mask_f).unwrap().sum(1).unwrap();
    let counts = mask_f.sum(1).unwrap();
    let mean = summed.broadcast_div(&counts).unwrap();
    let norms = mean.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap();
    mean.broadcast_div(&norms)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm_a: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm_b: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm_a * norm_b)
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}
