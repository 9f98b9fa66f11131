//! The sentiment lexicon: `lexicon.txt` parsed once into hash maps.
//!
//! Terms are stored under the same canonical token text the tokenizer produces, so a phrase
//! such as "merci d'avance" is looked up exactly as a message spells it after tokenisation.
//! The lexicon also owns word canonicalisation (elongation and missing accents), because
//! "known word" is a lexicon question: "soooo" becomes "so" and "decu" becomes "déçu" only
//! because those forms are in the lexicon.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::tokenize::{split_term, Token, TokenKind};

/// The lexicon source, compiled into the binary so the analyser needs no files at run time.
const LEXICON_SOURCE: &str = include_str!("lexicon.txt");

/// What a term does when it is negated or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Valence {
    pub affirmed: f32,
    pub negated: f32,
}

impl Valence {
    /// The default negated value: negation flips a term but weakens it, more so for negative
    /// terms ("not bad" is faint praise, "not good" is a real complaint).
    fn with_default_negation(affirmed: f32) -> Valence {
        let negated = if affirmed >= 0.0 {
            -0.75 * affirmed
        } else {
            -0.4 * affirmed
        };
        Valence { affirmed, negated }
    }

    /// Expectation terms ("arrived", "refund") are neutral when affirmed and a complaint when
    /// negated; the scorer treats them specially for "not yet".
    pub fn is_expectation(&self) -> bool {
        self.affirmed == 0.0 && self.negated < 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Negator {
    /// Negates the next few words.
    Forward,
    /// Negates the next few words, or the word before it when nothing follows in its clause.
    ForwardAndBack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contrast {
    /// "but": the clause before counts less, the one after more.
    Pivot,
    /// "although": the clause it opens counts less.
    Concessive,
}

/// Everything the lexicon knows about one term; a term may play several roles ("nobody" is a
/// negator and mildly negative, "super" is a booster before an adjective and praise alone).
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    pub valence: Option<Valence>,
    pub booster: Option<f32>,
    pub negator: Option<Negator>,
    pub contrast: Option<Contrast>,
    /// Opens a wish or condition ("hope", "if").
    pub irrealis: bool,
}

#[derive(Debug)]
pub(crate) struct Lexicon {
    /// Terms keyed by their canonical tokens joined with single spaces.
    entries: FxHashMap<String, Entry>,
    /// Every word that occurs in some term (the targets of canonicalisation), with the number
    /// of words of the longest term it starts (0 if it starts none), so that phrase matching
    /// only builds keys where a term can exist.
    known_words: FxHashMap<String, u8>,
    /// Accent-stripped form of a known accented word to that word, for customers who type
    /// without accents; forms shared by two known words are left out rather than guessed.
    accent_restoration: FxHashMap<String, String>,
    /// Stems (`disappoint*`), keyed by their accent-stripped form.
    stems: FxHashMap<String, Valence>,
    /// The first `stem_chars_min` characters of every stem: most words fail this one lookup and
    /// are spared trying every prefix length.
    stem_openings: FxHashSet<String>,
    stem_chars_min: usize,
    stem_chars_max: usize,
    /// ASCII emoticons, longest first so ":((" wins over ":(".
    emoticons: Vec<(String, f32)>,
    emoji: FxHashMap<char, f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Valence,
    Booster,
    Negator,
    RetroNegator,
    Irrealis,
    Pivot,
    Concessive,
    Emoticon,
    Emoji,
}

impl Lexicon {
    /// Parses the compiled-in lexicon.
    ///
    /// # Panics
    /// On a malformed line: the source is part of the binary, so a bad line is a programming
    /// error, caught by this module's tests before it can ship.
    pub fn builtin() -> Lexicon {
        match Lexicon::parse(LEXICON_SOURCE) {
            Ok(lexicon) => lexicon,
            Err(message) => panic!("built-in sentiment lexicon is malformed: {message}"),
        }
    }

    pub(crate) fn parse(source: &str) -> Result<Lexicon, String> {
        let mut lexicon = Lexicon {
            entries: FxHashMap::default(),
            known_words: FxHashMap::default(),
            accent_restoration: FxHashMap::default(),
            stems: FxHashMap::default(),
            stem_openings: FxHashSet::default(),
            stem_chars_min: usize::MAX,
            stem_chars_max: 0,
            emoticons: Vec::new(),
            emoji: FxHashMap::default(),
        };
        let mut section: Option<Section> = None;
        for (line_idx, line) in source.lines().enumerate() {
            let line_number = line_idx + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
            {
                section = Some(match name {
                    "valence" => Section::Valence,
                    "booster" => Section::Booster,
                    "negator" => Section::Negator,
                    "retro_negator" => Section::RetroNegator,
                    "irrealis" => Section::Irrealis,
                    "pivot" => Section::Pivot,
                    "concessive" => Section::Concessive,
                    "emoticon" => Section::Emoticon,
                    "emoji" => Section::Emoji,
                    other => return Err(format!("line {line_number}: unknown section `{other}`")),
                });
                continue;
            }
            let Some(section) = section else {
                return Err(format!("line {line_number}: entry before any section"));
            };
            let (term, values) = split_values(line);
            if term.is_empty() {
                return Err(format!("line {line_number}: no term"));
            }
            let expected_values: &[usize] = match section {
                Section::Valence => &[1, 2],
                Section::Booster | Section::Emoticon | Section::Emoji => &[1],
                Section::Negator
                | Section::RetroNegator
                | Section::Irrealis
                | Section::Pivot
                | Section::Concessive => &[0],
            };
            if !expected_values.contains(&values.len()) {
                return Err(format!(
                    "line {line_number}: `{term}` has {} values",
                    values.len()
                ));
            }
            match section {
                Section::Emoticon => lexicon.emoticons.push((term.to_string(), values[0])),
                Section::Emoji => {
                    let mut chars = term.chars().filter(|c| !is_emoji_modifier(*c));
                    match (chars.next(), chars.next()) {
                        (Some(emoji), None) => {
                            lexicon.emoji.insert(emoji, values[0]);
                        }
                        _ => return Err(format!("line {line_number}: `{term}` is not one emoji")),
                    }
                }
                Section::Valence if term.ends_with('*') => {
                    let stem = fold_accents(term.trim_end_matches('*'));
                    let n_chars = stem.chars().count();
                    if n_chars < 4 || values.len() != 1 {
                        return Err(format!(
                            "line {line_number}: stem `{term}` must have 4+ letters and one value"
                        ));
                    }
                    lexicon.stem_chars_min = lexicon.stem_chars_min.min(n_chars);
                    lexicon.stem_chars_max = lexicon.stem_chars_max.max(n_chars);
                    lexicon
                        .stems
                        .insert(stem, Valence::with_default_negation(values[0]));
                }
                _ => {
                    let words = split_term(&term);
                    if words.is_empty() {
                        return Err(format!("line {line_number}: `{term}` has no words"));
                    }
                    let entry = lexicon.entries.entry(words.join(" ")).or_default();
                    match section {
                        Section::Valence => {
                            let valence = match values[..] {
                                [affirmed] => Valence::with_default_negation(affirmed),
                                [affirmed, negated] => Valence { affirmed, negated },
                                _ => unreachable!("checked above"),
                            };
                            if entry.valence.replace(valence).is_some() {
                                return Err(format!(
                                    "line {line_number}: `{term}` has two valences"
                                ));
                            }
                        }
                        Section::Booster => entry.booster = Some(values[0]),
                        Section::Negator => {
                            entry.negator = Some(entry.negator.unwrap_or(Negator::Forward))
                        }
                        Section::RetroNegator => entry.negator = Some(Negator::ForwardAndBack),
                        Section::Irrealis => entry.irrealis = true,
                        Section::Pivot => entry.contrast = Some(Contrast::Pivot),
                        Section::Concessive => entry.contrast = Some(Contrast::Concessive),
                        Section::Emoticon | Section::Emoji => unreachable!("handled above"),
                    }
                    let n_words = u8::try_from(words.len())
                        .map_err(|_| format!("line {line_number}: `{term}` has too many words"))?;
                    for (word_idx, word) in words.into_iter().enumerate() {
                        let longest = lexicon.known_words.entry(word).or_insert(0);
                        if word_idx == 0 {
                            *longest = (*longest).max(n_words);
                        }
                    }
                }
            }
        }
        lexicon
            .emoticons
            .sort_by_key(|(emoticon, _)| std::cmp::Reverse(emoticon.len()));
        let stem_chars_min = lexicon.stem_chars_min;
        lexicon.stem_openings = lexicon
            .stems
            .keys()
            .map(|stem| stem.chars().take(stem_chars_min).collect())
            .collect();
        lexicon.build_accent_restoration();
        Ok(lexicon)
    }

    fn build_accent_restoration(&mut self) {
        let mut ambiguous = HashSet::new();
        for word in self.known_words.keys() {
            if word.is_ascii() {
                continue;
            }
            let folded = fold_accents(word);
            if folded == *word || self.known_words.contains_key(&folded) {
                continue;
            }
            match self.accent_restoration.get(&folded) {
                Some(existing) if existing != word => {
                    ambiguous.insert(folded);
                }
                _ => {
                    self.accent_restoration.insert(folded, word.clone());
                }
            }
        }
        for folded in ambiguous {
            self.accent_restoration.remove(&folded);
        }
    }

    pub fn n_terms(&self) -> usize {
        self.entries.len() + self.stems.len() + self.emoticons.len() + self.emoji.len()
    }

    /// The canonical form of a lowercased word: itself when known, else the known word it is an
    /// elongated ("soooo") or accentless ("decu") spelling of. The flag says it was elongated,
    /// which customers do for emphasis.
    pub fn canonical_word(&self, lowercase: String) -> CanonicalWord {
        if let Some(longest_term) = self.known_words.get(&lowercase) {
            return CanonicalWord {
                text: lowercase,
                elongated: false,
                longest_term: *longest_term,
            };
        }
        let elongated = has_run_longer_than(&lowercase, 2);
        let base = if elongated {
            for squeezed in [squeeze_runs(&lowercase, 2), squeeze_runs(&lowercase, 1)] {
                if let Some(longest_term) = self.known_words.get(&squeezed) {
                    return CanonicalWord {
                        text: squeezed,
                        elongated,
                        longest_term: *longest_term,
                    };
                }
            }
            squeeze_runs(&lowercase, 2)
        } else {
            lowercase
        };
        let restored = if base.is_ascii() {
            self.accent_restoration.get(&base)
        } else {
            self.accent_restoration.get(&fold_accents(&base))
        };
        match restored {
            Some(word) => {
                let longest_term = self.known_words.get(word).copied().unwrap_or(0);
                CanonicalWord {
                    text: word.clone(),
                    elongated,
                    longest_term,
                }
            }
            None => CanonicalWord {
                text: base,
                elongated,
                longest_term: 0,
            },
        }
    }

    /// The longest term starting at `tokens[start]`, as (entry, number of tokens). Terms only
    /// span consecutive words: punctuation ends a phrase.
    pub fn longest_match(&self, tokens: &[Token], start: usize) -> Option<(&Entry, usize)> {
        let longest = usize::from(tokens[start].longest_term);
        let mut best = None;
        if longest == 0 {
            return best;
        }
        let mut key = String::with_capacity(32);
        for (n_words, token) in tokens[start..].iter().take(longest).enumerate() {
            if token.kind != TokenKind::Word {
                break;
            }
            if n_words > 0 {
                key.push(' ');
            }
            key.push_str(&token.text);
            if let Some(entry) = self.entries.get(&key) {
                best = Some((entry, n_words + 1));
            }
        }
        best
    }

    /// The valence of a word through its stem ("disappointing" through `disappoint*`).
    pub fn stem_valence(&self, word: &str) -> Option<Valence> {
        if self.stems.is_empty() {
            return None;
        }
        let folded: Cow<str> = if word.is_ascii() {
            Cow::Borrowed(word)
        } else {
            Cow::Owned(fold_accents(word))
        };
        // Byte ends of the prefixes of `stem_chars_min..=stem_chars_max` characters.
        let mut prefix_ends = folded
            .char_indices()
            .map(|(idx, c)| idx + c.len_utf8())
            .skip(self.stem_chars_min.checked_sub(1)?)
            .take(self.stem_chars_max + 1 - self.stem_chars_min);
        let shortest_end = prefix_ends.next()?;
        if !self.stem_openings.contains(&folded[..shortest_end]) {
            return None;
        }
        let mut longest_match = self.stems.get(&folded[..shortest_end]).copied();
        for end in prefix_ends {
            if let Some(valence) = self.stems.get(&folded[..end]) {
                longest_match = Some(*valence);
            }
        }
        longest_match
    }

    /// The emoticon starting at byte `pos` of `text`, as (byte length, valence). An emoticon
    /// must not run into a letter, digit or slash, so URLs and times are not read as faces.
    pub fn emoticon_at(&self, text: &str, pos: usize) -> Option<(usize, f32)> {
        let rest = &text[pos..];
        self.emoticons.iter().find_map(|(emoticon, valence)| {
            let after = rest.strip_prefix(emoticon.as_str())?;
            match after.chars().next() {
                Some(next) if next.is_alphanumeric() || next == '/' => None,
                _ => Some((emoticon.len(), *valence)),
            }
        })
    }

    pub fn emoji(&self, c: char) -> Option<f32> {
        self.emoji.get(&c).copied()
    }
}

/// A word as the lexicon knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CanonicalWord {
    pub text: String,
    pub elongated: bool,
    /// Words in the longest lexicon term starting with this word; 0 if none starts with it.
    pub longest_term: u8,
}

type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
type FxHashSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of rustc's FxHasher: several times faster than SipHash on short
/// words, which matters because every word of every message is looked up. SipHash's
/// flooding resistance buys nothing here: the tables are built once from the compiled-in
/// lexicon and never grow with input, so a crafted word can only cost itself a few probes.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add_to_hash(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add_to_hash(u64::from_le_bytes(chunk.try_into().expect("chunks of 8")));
        }
        let mut tail = [0u8; 8];
        let remainder = chunks.remainder();
        tail[..remainder.len()].copy_from_slice(remainder);
        self.add_to_hash(u64::from_le_bytes(tail) ^ remainder.len() as u64);
    }

    fn write_u8(&mut self, byte: u8) {
        self.add_to_hash(u64::from(byte));
    }

    fn write_u32(&mut self, value: u32) {
        self.add_to_hash(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add_to_hash(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Splits "term words 1.5 -1" into the term and its trailing numeric values.
fn split_values(line: &str) -> (String, Vec<f32>) {
    let mut fields: Vec<&str> = line.split_whitespace().collect();
    let mut values = Vec::new();
    while let Some(last) = fields.last() {
        match last.parse::<f32>() {
            Ok(value) if fields.len() > 1 => {
                values.push(value);
                fields.pop();
            }
            _ => break,
        }
    }
    values.reverse();
    (fields.join(" "), values)
}

/// Emoji presentation selectors, joiners and skin tones: they decorate an emoji without
/// changing what it says.
pub(crate) fn is_emoji_modifier(c: char) -> bool {
    matches!(
        c,
        '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}'
    )
}

/// Removes accents ("déçu" -> "decu"); letters without a decomposition (ß, ø) stay.
pub(crate) fn fold_accents(word: &str) -> String {
    word.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

fn has_run_longer_than(word: &str, max_run: usize) -> bool {
    let mut previous = None;
    let mut run = 0;
    for c in word.chars() {
        run = if Some(c) == previous { run + 1 } else { 1 };
        if run > max_run {
            return true;
        }
        previous = Some(c);
    }
    false
}

/// Collapses runs of the same character longer than `max_run` ("sooo" -> "soo" or "so").
fn squeeze_runs(word: &str, max_run: usize) -> String {
    let mut squeezed = String::with_capacity(word.len());
    let mut previous = None;
    let mut run = 0;
    for c in word.chars() {
        run = if Some(c) == previous { run + 1 } else { 1 };
        previous = Some(c);
        if run <= max_run {
            squeezed.push(c);
        }
    }
    squeezed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lexicon_parses_and_is_a_useful_size() {
        let lexicon = Lexicon::parse(LEXICON_SOURCE).unwrap();
        assert!(lexicon.n_terms() >= 1000, "{} terms", lexicon.n_terms());
    }

    #[test]
    fn values_are_split_from_multi_word_terms() {
        assert_eq!(
            split_values("thanks in advance   0"),
            ("thanks in advance".to_string(), vec![0.0])
        );
        assert_eq!(
            split_values("arrived  0  -1"),
            ("arrived".to_string(), vec![0.0, -1.0])
        );
        assert_eq!(
            split_values("1 star  -2"),
            ("1 star".to_string(), vec![-2.0])
        );
        assert_eq!(split_values("not"), ("not".to_string(), vec![]));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let error = Lexicon::parse("[valence]\nhappy 1 2 3\n").unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
        let error = Lexicon::parse("happy 1\n").unwrap_err();
        assert!(error.contains("before any section"), "{error}");
        let error = Lexicon::parse("[valence]\nhappy 1\nhappy 2\n").unwrap_err();
        assert!(error.contains("two valences"), "{error}");
    }

    #[test]
    fn words_are_canonicalised_against_the_lexicon() {
        let lexicon = Lexicon::builtin();
        let canonical = |word: &str| {
            let canonical_word = lexicon.canonical_word(word.to_string());
            (canonical_word.text, canonical_word.elongated)
        };
        assert_eq!(canonical("soooo"), ("so".to_string(), true));
        assert_eq!(canonical("goooood"), ("good".to_string(), true));
        assert_eq!(canonical("good"), ("good".to_string(), false));
        assert_eq!(canonical("recu"), ("reçu".to_string(), false));
        assert_eq!(canonical("pesimo"), ("pésimo".to_string(), false));
        assert_eq!(canonical("order"), ("order".to_string(), false));
    }

    #[test]
    fn stems_match_inflections_without_accents() {
        let lexicon = Lexicon::builtin();
        assert!(lexicon.stem_valence("disappointing").unwrap().affirmed < 0.0);
        assert!(lexicon.stem_valence("decepcionada").unwrap().affirmed < 0.0);
        assert!(lexicon.stem_valence("decues").unwrap().affirmed < 0.0);
        assert_eq!(lexicon.stem_valence("disc"), None);
        assert_eq!(lexicon.stem_valence("hello"), None);
    }

    #[test]
    fn emoticons_do_not_match_inside_urls() {
        let lexicon = Lexicon::builtin();
        assert_eq!(lexicon.emoticon_at("see https://x.y", 9), None);
        assert!(lexicon.emoticon_at(":) thanks", 0).is_some());
        assert_eq!(lexicon.emoticon_at(":((", 0).map(|(len, _)| len), Some(3));
    }
}
