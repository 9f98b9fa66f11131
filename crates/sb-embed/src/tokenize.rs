//! Turns texts into BERT token ids with the model's own `tokenizer.json`, under the rules the
//! model was trained with: `[CLS] … [SEP]`, at most `max_tokens` tokens (256 for MiniLM, its
//! sentence-transformers `max_seq_length`), and no padding.
//!
//! Why padding is switched off: all-MiniLM-L6-v2's tokenizer.json ships `padding: Fixed(128)`,
//! which would make every 15-token message cost 128 tokens of compute. The forward pass packs
//! sequences back to back instead, so no token is ever padded.
//!
//! Why long texts are cut before tokenizing: the tokenizer normalizes and splits the whole input
//! before it truncates, so a 10 MB paste would cost seconds and hundreds of MB for 256 tokens.
//! We tokenize a growing prefix instead, cut at whitespace, until it yields the full budget
//! (capped at [`MAX_PREFIX_BYTES`]).

use std::path::Path;

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result};

/// First prefix tried for long texts. 256 tokens almost never need more than a few KiB of text,
/// so one step nearly always suffices; pathological texts (long whitespace runs) grow it.
const INITIAL_PREFIX_BYTES: usize = 16 * 1024;

/// Largest prefix ever tokenized. Only texts that are mostly whitespace or one giant
/// whitespace-free run (each such run is a single `[UNK]`) get this far; for them the tokens of
/// whatever follows the first MiB are dropped, which bounds the cost of any input to about
/// 1.3 MiB of tokenizer work.
const MAX_PREFIX_BYTES: usize = 1024 * 1024;

/// One tokenized text: ids and token-type ids, `[CLS]` and `[SEP]` included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenizedText {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

impl TokenizedText {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The model's WordPiece tokenizer, reconfigured for embedding.
pub(crate) struct TextTokenizer {
    tokenizer: Tokenizer,
    max_tokens: usize,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, replacing its padding and truncation settings.
    pub fn from_file(path: &Path, max_tokens: usize) -> Result<TextTokenizer> {
        let tokenizer_error = |reason: String| Error::Tokenizer {
            path: path.to_owned(),
            reason,
        };
        let mut tokenizer =
            Tokenizer::from_file(path).map_err(|e| tokenizer_error(e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| tokenizer_error(e.to_string()))?;
        Ok(TextTokenizer {
            tokenizer,
            max_tokens,
        })
    }

    /// Number of ids the tokenizer can produce, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Tokenizes one text; never fails on content (empty text gives `[CLS] [SEP]`).
    pub fn encode(&self, text: &str) -> Result<TokenizedText> {
        // Leading whitespace yields no tokens; dropping it keeps a paste that starts with a huge
        // blank run from forcing the prefix to grow.
        let text = text.trim_start_matches(is_bert_whitespace);
        let mut prefix_bytes = INITIAL_PREFIX_BYTES;
        loop {
            if text.len() <= prefix_bytes {
                return self.encode_exact(text);
            }
            let prefix = cut_at_whitespace(text, prefix_bytes);
            let tokenized = self.encode_exact(prefix)?;
            // Reaching the budget means the text was truncated inside the prefix. Because the cut
            // lies on whitespace (a word boundary for BERT's pre-tokenizer), the words after it
            // could only have produced tokens after the ones kept, so the result equals
            // tokenizing the whole text.
            if tokenized.len() >= self.max_tokens || prefix_bytes >= MAX_PREFIX_BYTES {
                return Ok(tokenized);
            }
            prefix_bytes = prefix_bytes.saturating_mul(4).min(MAX_PREFIX_BYTES);
        }
    }

    fn encode_exact(&self, text: &str) -> Result<TokenizedText> {
        let encoding = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        Ok(TokenizedText {
            ids: encoding.get_ids().to_vec(),
            type_ids: encoding.get_type_ids().to_vec(),
        })
    }
}

/// Whitespace as BERT's pre-tokenizer splits on it. Rust's `char::is_whitespace` is broader
/// (e.g. U+2028), and cutting at a character BERT keeps inside a word would change its tokens.
fn is_bert_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends just before a whitespace
/// character; without whitespace in range, the longest prefix ending on a char boundary. The
/// second case only happens inside a whitespace-free run of thousands of bytes, which BERT turns
/// into `[UNK]` or single-character tokens either way.
fn cut_at_whitespace(text: &str, max_bytes: usize) -> &str {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let window = &text[..end];
    match window.rfind(is_bert_whitespace) {
        Some(whitespace_idx) if whitespace_idx > 0 => &window[..whitespace_idx],
        _ => window,
    }
}

#[cfg(test)]
mod tests {
    use super::cut_at_whitespace;

    #[test]
    fn cut_prefers_whitespace_and_respects_char_boundaries() {
        assert_eq!(cut_at_whitespace("hello world again", 13), "hello world");
        assert_eq!(cut_at_whitespace("abcdef", 4), "abcd");
        // 'é' is two bytes: a cut inside it must back off to the boundary.
        assert_eq!(cut_at_whitespace("ééé", 3), "é");
        assert_eq!(cut_at_whitespace("short", 100), "short");
        assert_eq!(cut_at_whitespace(" leading", 4), " lea");
        // U+2028 is whitespace to Rust but an ordinary character to BERT: no cut there.
        assert_eq!(cut_at_whitespace("ab\u{2028}cd", 6), "ab\u{2028}c");
    }
}
