//! Sentence embeddings for Switchboard: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) run on the
//! CPU, mean-pooled and L2-normalised exactly as sentence-transformers does, so cosine
//! similarity is a dot product.
//!
//! This is the only crate that links candle and tokenizers (the heavy ML dependencies are fenced
//! here so the rest of the workspace checks and tests quickly). It knows nothing about tickets,
//! channels or storage: text in, vectors out.
//!
//! ```no_run
//! let model_dir = sb_embed::find_model_dir().expect("run scripts/fetch-model.sh");
//! let embedder = sb_embed::Embedder::load(&model_dir)?;
//! let vectors = embedder.embed(&["Where is my package?", "My order has not arrived yet"])?;
//! let cosine: f32 = vectors[0].iter().zip(&vectors[1]).map(|(a, b)| a * b).sum();
//! # Ok::<(), sb_embed::Error>(())
//! ```
//!
//! Inference is CPU-bound and takes milliseconds: async callers must run it on a blocking pool
//! (`spawn_blocking` or rayon), never on an async task. Work inside one call is spread over the
//! global rayon pool (`RAYON_NUM_THREADS`, default one thread per core).
//!
//! # How it is fast
//! The forward pass is our own (`model.rs`), on weights loaded with candle: sequences of a batch
//! are packed back to back instead of padded, element-wise steps are fused loops, attention runs
//! per (sequence, head), whole batches run in parallel while a short single text (a search
//! query) runs on the calling thread without waking the pool, and by default the linear layers
//! use a 16-bit integer kernel (`quant.rs`: AVX2, or AVX-512 VNNI where the CPU has it, which
//! gives the same bits in about 40 % less time for a query; [`Precision::F32`] keeps candle's
//! f32 matmul). On the 2-core AVX2 machines, on banking77's test messages (15 tokens on average),
//! `cargo run --release -p sb-embed --example embed_bench -- --precision both --baseline`
//! measured on a lightly loaded machine (before short texts stayed on the calling thread; see
//! docs/benchmarks.md for the query-sized figures since):
//!
//! | | single message median / p99 | batch |
//! |---|---|---|
//! | int16 (default) | 2.3 ms / 8.2 ms | 650 msgs/s |
//! | F32 | 8.4 ms / 16.1 ms | 430 msgs/s |
//! | candle-transformers `BertModel` (baseline) | 12.3 ms / 24.2 ms | 186 msgs/s |
//!
//! int16 vectors agree with F32 to a cosine of at least 0.9999 on all 3080 of those messages.
//! Timings on a shared machine vary by ±30 %; rerun the example rather than trusting the table.

mod config;
mod error;
mod kernels;
mod model;
mod quant;
mod tokenize;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::BertConfig;
pub use crate::error::{Error, Result};
use crate::model::BertEncoder;
use crate::tokenize::{TextTokenizer, TokenizedText};

/// Name of the model folder inside the Switchboard cache, and of the model.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Files [`Embedder::load`] needs in the model folder.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Token budget when the folder has no `sentence_bert_config.json`: MiniLM's `max_seq_length`.
const DEFAULT_MAX_TOKENS: usize = 256;

/// Sequences per forward pass. Sequences are packed without padding, so the batch size only
/// sets how tall the matmuls are and how finely work splits over cores; 16, 32 and 64 measured
/// within noise of each other on banking77, and 32 keeps a batch of 256-token texts (8k rows)
/// to a few tens of MB of activations.
const BATCH_SIZE: usize = 32;

/// Arithmetic used for the linear layers (where nearly all the time goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Full precision: matches candle-transformers' BertModel to 1e-5 and the reference cosines
    /// of the PyTorch model to 1e-4.
    F32,
    /// Weights (per output channel) and activations (per token) quantized to 16-bit integers
    /// with about 11 significant bits each and exact i32 sums, on AVX2 `vpmaddwd`. On AVX2
    /// machines it is the faster choice; vectors stay within a cosine of 0.9999 of F32 (see the
    /// crate's tests and `examples/embed_bench.rs`).
    Int16,
}

impl Default for Precision {
    /// [`Precision::Int16`] where the AVX2 kernel runs (it is what makes the latency and
    /// throughput targets reachable on our 2-core machines), else
    /// [`Precision::F32`]: the portable integer fallback is exact but slower than F32's matmul.
    fn default() -> Precision {
        if kernels::has_avx2_fma() {
            Precision::Int16
        } else {
            Precision::F32
        }
    }
}

/// A loaded sentence-embedding model: tokenizer plus encoder. Cheap to share (`Send + Sync`;
/// wrap in an `Arc`), immutable after loading.
pub struct Embedder {
    encoder: BertEncoder,
    tokenizer: TextTokenizer,
    model_id: String,
    precision: Precision,
    max_tokens: usize,
}

// Other crates hold the embedder in shared state across threads; keep that a compile-time fact.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Embedder>();
};

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim())
            .field("precision", &self.precision)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `model_dir`, with the
    /// default [`Precision`] (int16 on AVX2 CPUs; `model_id` says which).
    pub fn load(model_dir: &Path) -> Result<Embedder> {
        Embedder::load_with_precision(model_dir, Precision::default())
    }

    /// Like [`Embedder::load`], choosing the arithmetic of the linear layers.
    pub fn load_with_precision(model_dir: &Path, precision: Precision) -> Result<Embedder> {
        // Check every file before reading any, so the error names the first missing one even
        // when an earlier file would also fail to parse.
        for file_name in MODEL_FILES {
            let path = model_dir.join(file_name);
            if !path.is_file() {
                return Err(Error::MissingFile { path });
            }
        }
        let config = BertConfig::from_file(&model_dir.join("config.json"))?;
        let max_tokens = read_max_tokens(model_dir)?.min(config.max_position_embeddings);

        let tokenizer_path = model_dir.join("tokenizer.json");
        let tokenizer = TextTokenizer::from_file(&tokenizer_path, max_tokens)?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(Error::Tokenizer {
                path: tokenizer_path,
                reason: format!(
                    "tokenizer has {} tokens but the model's vocabulary has {}",
                    tokenizer.vocab_size(),
                    config.vocab_size
                ),
            });
        }

        let weights_path = model_dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|source| Error::Io {
            path: weights_path.clone(),
            source,
        })?;
        let fingerprint = fingerprint(&weights);
        let encoder = BertEncoder::from_safetensors(config, &weights, &weights_path, precision)?;
        drop(weights);

        let model_name = model_dir
            .file_name()
            .and_then(|name| name.to_str())
            .filter(|name| !name.is_empty())
            .unwrap_or("bert");
        let precision_suffix = match precision {
            Precision::F32 => "",
            Precision::Int16 => "+int16",
        };
        let model_id = format!("{model_name}@{fingerprint:08x}{precision_suffix}");
        tracing::info!(
            model_id = %model_id,
            dim = encoder.hidden_size(),
            threads = rayon::current_num_threads(),
            precision = ?precision,
            max_tokens,
            "embedding model loaded"
        );
        Ok(Embedder {
            encoder,
            tokenizer,
            model_id,
            precision,
            max_tokens,
        })
    }

    /// Embedding width (384 for all-MiniLM-L6-v2).
    pub fn dim(&self) -> usize {
        self.encoder.hidden_size()
    }

    /// Identifies the embedding function: folder name, a fingerprint of the weights file, and
    /// `+int16` when quantized, e.g. `all-MiniLM-L6-v2@1f3a9c0e`. Vectors with different ids
    /// must not be compared.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Tokens per text, `[CLS]` and `[SEP]` included; longer texts are truncated.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Unit-length embeddings of `texts`, in input order. Any text is accepted: empty text
    /// embeds `[CLS] [SEP]`, long text is truncated to [`Embedder::max_tokens`].
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let tokenized: Vec<TokenizedText> = if texts.len() == 1 {
            vec![self.tokenizer.encode(texts[0])?]
        } else {
            texts
                .par_iter()
                .map(|text| self.tokenizer.encode(text))
                .collect::<Result<_>>()?
        };
        // Similar lengths share a batch so attention work is even across a batch's sequences
        // and batches; the sort is stable, so equal inputs always land in the same place.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&text_idx| std::cmp::Reverse(tokenized[text_idx].len()));

        // Batches run in parallel, one per core: a whole forward pass per worker keeps both
        // cores busy without a synchronisation point per layer. (The parallel loops inside a
        // batch still spread out when a core is idle, e.g. for the last batch.)
        let batches: Vec<&[usize]> = order.chunks(BATCH_SIZE).collect();
        let batch_embeddings: Vec<Vec<Vec<f32>>> = batches
            .par_iter()
            .map(|batch| {
                let sequences: Vec<&TokenizedText> =
                    batch.iter().map(|&text_idx| &tokenized[text_idx]).collect();
                self.encoder.embed_batch(&sequences)
            })
            .collect::<Result<_>>()?;

        let mut embeddings = vec![Vec::new(); texts.len()];
        for (batch, batch_output) in batches.iter().zip(batch_embeddings) {
            for (&text_idx, embedding) in batch.iter().zip(batch_output) {
                embeddings[text_idx] = embedding;
            }
        }
        Ok(embeddings)
    }

    /// Tokens the model sees for `text` (`[CLS]` and `[SEP]` included, after truncation).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.tokenizer.encode(text)?.len())
    }

    /// Unit-length embedding of one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let tokenized = self.tokenizer.encode(text)?;
        // A short text is encoded on this thread (see `model::INLINE_MAX_TOKENS`). A longer
        // one runs from inside the pool: called from outside (a search request's blocking
        // thread), each of the forward pass's ~30 parallel steps would hand its work to the
        // pool and put the caller to sleep until it is done; inside, they are joins among the
        // pool's workers, with one hand-over per text.
        let mut embeddings = if tokenized.len() <= model::INLINE_MAX_TOKENS {
            self.encoder.embed_batch(&[&tokenized])?
        } else {
            rayon::scope(|_| self.encoder.embed_batch(&[&tokenized]))?
        };
        Ok(embeddings.pop().unwrap_or_default())
    }
}

/// Where the model lives: `$SWITCHBOARD_MODEL_DIR`, else
/// `$SWITCHBOARD_CACHE/models/all-MiniLM-L6-v2`, else
/// `$HOME/.cache/switchboard/models/all-MiniLM-L6-v2` — the same resolution as
/// `scripts/fetch-model.sh` (empty variables count as unset, as `${VAR:-…}` does there).
pub fn default_model_dir() -> PathBuf {
    resolve_model_dir(|name| std::env::var_os(name))
}

/// [`default_model_dir`] over any source of variables, so the resolution is testable without
/// touching the process environment.
fn resolve_model_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let non_empty_var = |name: &str| var(name).filter(|value| !value.is_empty());
    if let Some(model_dir) = non_empty_var("SWITCHBOARD_MODEL_DIR") {
        return PathBuf::from(model_dir);
    }
    let cache_dir = non_empty_var("SWITCHBOARD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // Without HOME there is no user cache; a relative path at least fails with a clear
            // "missing file" error naming it.
            let home = non_empty_var("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache").join("switchboard")
        });
    cache_dir.join("models").join(MODEL_NAME)
}

/// [`default_model_dir`] when it holds all of [`MODEL_FILES`], else `None`.
pub fn find_model_dir() -> Option<PathBuf> {
    let model_dir = default_model_dir();
    MODEL_FILES
        .iter()
        .all(|file_name| model_dir.join(file_name).is_file())
        .then_some(model_dir)
}

/// `max_seq_length` from sentence-transformers' `sentence_bert_config.json` when the folder has
/// one (it is what the model was trained and evaluated with), else 256.
fn read_max_tokens(model_dir: &Path) -> Result<usize> {
    #[derive(serde::Deserialize)]
    struct SentenceBertConfig {
        max_seq_length: usize,
    }
    let path = model_dir.join("sentence_bert_config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DEFAULT_MAX_TOKENS),
        Err(source) => return Err(Error::Io { path, source }),
    };
    let config: SentenceBertConfig = serde_json::from_str(&text).map_err(|e| Error::Config {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    // Two tokens are [CLS] and [SEP]; fewer could not hold any text.
    if config.max_seq_length < 2 {
        return Err(Error::Config {
            path,
            reason: format!("max_seq_length {} is below 2", config.max_seq_length),
        });
    }
    Ok(config.max_seq_length)
}

/// A 32-bit fingerprint of the weights file (FNV-1a over 64-bit words, folded): enough to tell
/// model versions apart in `model_id`, not a cryptographic hash (scripts/fetch-model.sh checks
/// the sha256 of the download).
fn fingerprint(bytes: &[u8]) -> u32 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET ^ bytes.len() as u64;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for word in words {
        let mut word_bytes = [0u8; 8];
        word_bytes.copy_from_slice(word);
        hash = (hash ^ u64::from_le_bytes(word_bytes)).wrapping_mul(FNV_PRIME);
    }
    for byte in tail {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME);
    }
    (hash ^ (hash >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::PathBuf;

    use super::{fingerprint, resolve_model_dir};

    fn resolve(vars: &[(&str, &str)]) -> PathBuf {
        resolve_model_dir(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn model_dir_resolution_matches_fetch_script() {
        let home = [("HOME", "/home/ana")];
        assert_eq!(
            resolve(&home),
            PathBuf::from("/home/ana/.cache/switchboard/models/all-MiniLM-L6-v2")
        );
        let cache = [
            ("HOME", "/home/ana"),
            ("SWITCHBOARD_CACHE", "/var/cache/sb"),
        ];
        assert_eq!(
            resolve(&cache),
            PathBuf::from("/var/cache/sb/models/all-MiniLM-L6-v2")
        );
        let explicit = [
            ("SWITCHBOARD_CACHE", "/var/cache/sb"),
            ("SWITCHBOARD_MODEL_DIR", "/models/minilm"),
        ];
        assert_eq!(resolve(&explicit), PathBuf::from("/models/minilm"));
        // Empty counts as unset, like the script's ${VAR:-default}.
        let empty = [
            ("HOME", "/home/ana"),
            ("SWITCHBOARD_MODEL_DIR", ""),
            ("SWITCHBOARD_CACHE", ""),
        ];
        assert_eq!(
            resolve(&empty),
            PathBuf::from("/home/ana/.cache/switchboard/models/all-MiniLM-L6-v2")
        );
    }

    #[test]
    fn fingerprint_depends_on_every_byte_and_the_length() {
        let base = fingerprint(b"0123456789abcdef-tail");
        assert_ne!(base, fingerprint(b"0123456789abcdeF-tail"));
        assert_ne!(base, fingerprint(b"0123456789abcdef-taiL"));
        assert_ne!(fingerprint(b""), fingerprint(b"\0"));
        assert_eq!(base, fingerprint(b"0123456789abcdef-tail"));
    }
}
