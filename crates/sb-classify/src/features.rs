//! TF-IDF features: word 1–2-grams and character 2–5-grams (within word boundaries), each block
//! sublinear-TF weighted, IDF-scaled and L2-normalised on its own, then concatenated.
//!
//! N-grams are hashed to 64-bit keys and mapped to columns through a vocabulary learned at
//! training time (`min_df` per family). With 64-bit keys collisions are negligible, and the
//! vocabulary stays as small as the training data warrants, so the weight matrix does too.
//! Extraction reuses a caller-owned [`Scratch`] so inference allocates nothing per message once
//! warmed up.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfidfConfig {
    /// Largest word n-gram (1 = unigrams only).
    pub word_max_n: usize,
    pub char_min_n: usize,
    pub char_max_n: usize,
    /// Minimum number of training documents a word n-gram must occur in.
    pub word_min_df: u32,
    /// Minimum number of training documents a character n-gram must occur in.
    pub char_min_df: u32,
}

impl Default for TfidfConfig {
    fn default() -> TfidfConfig {
        TfidfConfig { word_max_n: 2, char_min_n: 2, char_max_n: 5, word_min_df: 1, char_min_df: 2 }
    }
}

/// Keys are already well-mixed 64-bit hashes: hashing them again would only cost time.
#[derive(Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("IdentityHasher only hashes u64 keys")
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

const WORD_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const BIGRAM_SEED: u64 = 0xc2b2_ae3d_27d4_eb4f;
const CHAR_SEED: u64 = 0x1656_67b1_9e37_79f9;

#[inline]
fn mix64(mut x: u64) -> u64 {
    // splitmix64 finaliser: full avalanche so the identity-hashed map spreads keys evenly.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[inline]
fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut hash = seed ^ 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(hash)
}

/// Which feature family a key belongs to; the two blocks are normalised separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Word,
    Char,
}

/// Reusable buffers for extraction.
#[derive(Default)]
pub struct Scratch {
    lowered: String,
    word_ranges: Vec<(usize, usize)>,
    word_hashes: Vec<u64>,
    padded: Vec<u8>,
    char_starts: Vec<usize>,
    word_counts: KeyMap<u32>,
    char_counts: KeyMap<u32>,
}

/// Counts every n-gram of `text` into the scratch maps (keys are hashed n-grams).
fn count_ngrams(config: &TfidfConfig, text: &str, scratch: &mut Scratch) {
    scratch.word_counts.clear();
    scratch.char_counts.clear();
    scratch.lowered.clear();
    for character in text.chars() {
        if character.is_uppercase() {
            scratch.lowered.extend(character.to_lowercase());
        } else {
            scratch.lowered.push(character);
        }
    }
    scratch.word_ranges.clear();
    let mut word_start = None;
    for (byte_idx, character) in scratch.lowered.char_indices() {
        let is_word_char = character.is_alphanumeric() || character == '_';
        match (is_word_char, word_start) {
            (true, None) => word_start = Some(byte_idx),
            (false, Some(start)) => {
                scratch.word_ranges.push((start, byte_idx));
                word_start = None;
            }
            _ => {}
        }
    }
    if let Some(start) = word_start {
        scratch.word_ranges.push((start, scratch.lowered.len()));
    }

    scratch.word_hashes.clear();
    for &(start, end) in &scratch.word_ranges {
        let word = &scratch.lowered.as_bytes()[start..end];
        let word_hash = hash_bytes(WORD_SEED, word);
        scratch.word_hashes.push(word_hash);
        *scratch.word_counts.entry(word_hash).or_insert(0) += 1;
    }
    for n in 2..=config.word_max_n {
        if scratch.word_hashes.len() < n {
            break;
        }
        for window in scratch.word_hashes.windows(n) {
            let mut key = BIGRAM_SEED ^ n as u64;
            for &word_hash in window {
                key = mix64(key.rotate_left(17) ^ word_hash);
            }
            *scratch.word_counts.entry(key).or_insert(0) += 1;
        }
    }

    // Character n-grams inside " word " (the word padded with one space each side), so
    // prefixes and suffixes are features of their own, as in scikit-learn's `char_wb`.
    for &(start, end) in &scratch.word_ranges {
        scratch.padded.clear();
        scratch.padded.push(b' ');
        scratch.padded.extend_from_slice(&scratch.lowered.as_bytes()[start..end]);
        scratch.padded.push(b' ');
        scratch.char_starts.clear();
        let padded_text = std::str::from_utf8(&scratch.padded).expect("slice of a str on char boundaries");
        scratch.char_starts.extend(padded_text.char_indices().map(|(byte_idx, _)| byte_idx));
        let n_chars = scratch.char_starts.len();
        scratch.char_starts.push(scratch.padded.len());
        for n in config.char_min_n..=config.char_max_n {
            if n > n_chars {
                // A padded word shorter than the smallest n still contributes itself once.
                if n == config.char_min_n {
                    let key = hash_bytes(CHAR_SEED, &scratch.padded);
                    *scratch.char_counts.entry(key).or_insert(0) += 1;
                }
                break;
            }
            for first in 0..=(n_chars - n) {
                let gram = &scratch.padded[scratch.char_starts[first]..scratch.char_starts[first + n]];
                let key = hash_bytes(CHAR_SEED, gram);
                *scratch.char_counts.entry(key).or_insert(0) += 1;
            }
        }
    }
}

/// A sparse feature vector: column indices (sorted) and values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVec {
    pub fn clear(&mut self) {
        self.indices.clear();
        self.values.clear();
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// The fitted vocabulary and IDF weights.
#[derive(Debug, Clone)]
pub struct Tfidf {
    pub config: TfidfConfig,
    /// n-gram key → column.
    vocabulary: KeyMap<u32>,
    /// Column → n-gram key (kept to save and reload the vocabulary).
    keys: Vec<u64>,
    idf: Vec<f32>,
    /// Columns below this index are word n-grams, the rest character n-grams.
    n_word_columns: usize,
}

impl Tfidf {
    /// Learns the vocabulary and IDF from training texts.
    pub fn fit(config: &TfidfConfig, texts: &[&str]) -> Tfidf {
        let mut word_df: KeyMap<u32> = KeyMap::default();
        let mut char_df: KeyMap<u32> = KeyMap::default();
        let mut scratch = Scratch::default();
        for text in texts {
            count_ngrams(config, text, &mut scratch);
            for &key in scratch.word_counts.keys() {
                *word_df.entry(key).or_insert(0) += 1;
            }
            for &key in scratch.char_counts.keys() {
                *char_df.entry(key).or_insert(0) += 1;
            }
        }
        let n_docs = texts.len() as f32;
        // Sorted keys make the column order (and so the saved model) deterministic.
        let mut word_keys: Vec<(u64, u32)> = word_df.into_iter().filter(|&(_, df)| df >= config.word_min_df).collect();
        let mut char_keys: Vec<(u64, u32)> = char_df.into_iter().filter(|&(_, df)| df >= config.char_min_df).collect();
        word_keys.sort_unstable();
        char_keys.sort_unstable();
        let n_word_columns = word_keys.len();
        let mut keys = Vec::with_capacity(word_keys.len() + char_keys.len());
        let mut idf = Vec::with_capacity(keys.capacity());
        for (key, df) in word_keys.into_iter().chain(char_keys) {
            keys.push(key);
            // Smoothed IDF, as if one extra document contained every term once.
            idf.push(((1.0 + n_docs) / (1.0 + df as f32)).ln() + 1.0);
        }
        Tfidf::from_parts(config.clone(), keys, idf, n_word_columns)
    }

    pub fn from_parts(config: TfidfConfig, keys: Vec<u64>, idf: Vec<f32>, n_word_columns: usize) -> Tfidf {
        let vocabulary = keys.iter().enumerate().map(|(column, &key)| (key, column as u32)).collect();
        Tfidf { config, vocabulary, keys, idf, n_word_columns }
    }

    pub fn n_features(&self) -> usize {
        self.keys.len()
    }

    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    pub fn idf(&self) -> &[f32] {
        &self.idf
    }

    pub fn n_word_columns(&self) -> usize {
        self.n_word_columns
    }

    /// Writes the TF-IDF vector of `text` into `out` (sorted columns, each family L2-normalised).
    pub fn transform_into(&self, text: &str, scratch: &mut Scratch, out: &mut SparseVec) {
        out.clear();
        count_ngrams(&self.config, text, scratch);
        for (family, counts) in [(Family::Word, &scratch.word_counts), (Family::Char, &scratch.char_counts)] {
            let family_start = out.indices.len();
            for (key, &count) in counts.iter() {
                if let Some(&column) = self.vocabulary.get(key) {
                    debug_assert_eq!(family == Family::Word, (column as usize) < self.n_word_columns);
                    out.indices.push(column);
                    out.values.push((1.0 + (count as f32).ln()) * self.idf[column as usize]);
                }
            }
            let norm = out.values[family_start..].iter().map(|value| value * value).sum::<f32>().sqrt();
            if norm > 0.0 {
                out.values[family_start..].iter_mut().for_each(|value| *value /= norm);
            }
        }
        sort_by_index(out);
    }

    pub fn transform(&self, text: &str) -> SparseVec {
        let mut out = SparseVec::default();
        self.transform_into(text, &mut Scratch::default(), &mut out);
        out
    }
}

fn sort_by_index(vector: &mut SparseVec) {
    // Insertion order comes from a hash map; sorting gives sequential weight-row access.
    let mut pairs: Vec<(u32, f32)> = vector.indices.iter().copied().zip(vector.values.iter().copied()).collect();
    pairs.sort_unstable_by_key(|&(column, _)| column);
    for (slot, (column, value)) in pairs.into_iter().enumerate() {
        vector.indices[slot] = column;
        vector.values[slot] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(texts: &[&str]) -> Tfidf {
        Tfidf::fit(&TfidfConfig { char_min_df: 1, ..TfidfConfig::default() }, texts)
    }

    #[test]
    fn each_family_is_unit_length_and_columns_are_sorted() {
        let tfidf = fitted(&["where is my order", "cancel my order please"]);
        let vector = tfidf.transform("Where is my ORDER?");
        assert!(vector.indices.windows(2).all(|pair| pair[0] < pair[1]));
        let split = vector.indices.iter().position(|&column| column as usize >= tfidf.n_word_columns()).unwrap();
        let word_norm: f32 = vector.values[..split].iter().map(|v| v * v).sum();
        let char_norm: f32 = vector.values[split..].iter().map(|v| v * v).sum();
        assert!((word_norm - 1.0).abs() < 1e-5, "{word_norm}");
        assert!((char_norm - 1.0).abs() < 1e-5, "{char_norm}");
    }

    #[test]
    fn case_is_ignored_and_unknown_text_is_empty() {
        let tfidf = fitted(&["where is my order"]);
        assert_eq!(tfidf.transform("WHERE is my order"), tfidf.transform("where is my order"));
        assert_eq!(tfidf.transform("§§§ ###").nnz(), 0);
        assert_eq!(tfidf.transform("").nnz(), 0);
    }

    #[test]
    fn counts_the_expected_ngrams() {
        // "ab cd": words {ab, cd}, bigram {ab cd}; char 2..5 grams of " ab " and " cd ".
        let config = TfidfConfig { char_min_df: 1, ..TfidfConfig::default() };
        let mut scratch = Scratch::default();
        count_ngrams(&config, "ab cd", &mut scratch);
        assert_eq!(scratch.word_counts.len(), 3);
        // " ab " has 4 chars: 3 bigrams, 2 trigrams, 1 four-gram; nothing longer.
        assert_eq!(scratch.char_counts.len(), 2 * (3 + 2 + 1));
    }

    #[test]
    fn non_ascii_words_are_split_on_char_boundaries() {
        let tfidf = fitted(&["où est ma commande", "¿dónde está mi pedido?"]);
        assert!(tfidf.transform("¿Dónde está mi pedido?").nnz() > 10);
    }
}
