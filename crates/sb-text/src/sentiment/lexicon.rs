//! The sentiment lexicon: `lexicon.txt` parsed once into hash maps.
//!
//! Terms are stored under the same canonical token text the tokenizer produces, so a phrase
//! such as "merci d'avance" is looked up exactly as a message spells it after tokenisation.
//! The lexicon also owns word canonicalisation (elongation and missing accents), because
//! "known word" is a lexicon question: "soooo" becomes "so" and "decu" becomes "déçu" only
//! because those forms are in the lexicon.

use std::collections::{HashMap, HashSet};

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
        let negated = if affirmed >= 0.0 { -0.75 * affirmed } else { -0.4 * affirmed };
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
}

#[derive(Debug)]
pub(crate) struct Lexicon {
    /// Terms keyed by their canonical tokens joined with single spaces.
    entries: HashMap<String, Entry>,
    /// For each first word, the number of words of the longest term starting with it, so that
    /// phrase matching only builds keys where a phrase can exist.
    longest_term_by_first_word: HashMap<String, usize>,
    /// Every word that occurs in some term: the targets of canonicalisation.
    known_words: HashSet<String>,
    /// Accent-stripped form of a known accented word to that word, for customers who type
    /// without accents; forms shared by two known words are left out rather than guessed.
    accent_restoration: HashMap<String, String>,
    /// Stems (`disappoint*`), keyed by their accent-stripped form.
    stems: HashMap<String, Valence>,
    stem_chars_min: usize,
    stem_chars_max: usize,
    /// ASCII emoticons, longest first so ":((" wins over ":(".
    emoticons: Vec<(String, f32)>,
    emoji: HashMap<char, f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Valence,
    Booster,
    Negator,
    RetroNegator,
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
            entries: HashMap::new(),
            longest_term_by_first_word: HashMap::new(),
            known_words: HashSet::new(),
            accent_restoration: HashMap::new(),
            stems: HashMap::new(),
            stem_chars_min: usize::MAX,
            stem_chars_max: 0,
            emoticons: Vec::new(),
            emoji: HashMap::new(),
        };
        let mut section: Option<Section> = None;
        for (line_idx, line) in source.lines().enumerate() {
            let line_number = line_idx + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
                section = Some(match name {
                    "valence" => Section::Valence,
                    "booster" => Section::Booster,
                    "negator" => Section::Negator,
                    "retro_negator" => Section::RetroNegator,
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
                Section::Negator | Section::RetroNegator | Section::Pivot | Section::Concessive => &[0],
            };
            if !expected_values.contains(&values.len()) {
                return Err(format!("line {line_number}: `{term}` has {} values", values.len()));
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
                        return Err(format!("line {line_number}: stem `{term}` must have 4+ letters and one value"));
                    }
                    lexicon.stem_chars_min = lexicon.stem_chars_min.min(n_chars);
                    lexicon.stem_chars_max = lexicon.stem_chars_max.max(n_chars);
                    lexicon.stems.insert(stem, Valence::with_default_negation(values[0]));
                }
                _ => {
                    let words = split_term(term);
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
                                return Err(format!("line {line_number}: `{term}` has two valences"));
                            }
                        }
                        Section::Booster => entry.booster = Some(values[0]),
                        Section::Negator => entry.negator = Some(entry.negator.unwrap_or(Negator::Forward)),
                        Section::RetroNegator => entry.negator = Some(Negator::ForwardAndBack),
                        Section::Pivot => entry.contrast = Some(Contrast::Pivot),
                        Section::Concessive => entry.contrast = Some(Contrast::Concessive),
                        Section::Emoticon | Section::Emoji => unreachable!("handled above"),
                    }
                    let longest = lexicon.longest_term_by_first_word.entry(words[0].clone()).or_insert(0);
                    *longest = (*longest).max(words.len());
                    lexicon.known_words.extend(words);
                }
            }
        }
        lexicon.emoticons.sort_by(|a, b| b.0.len().cmp(&a.0.len()));
        lexicon.build_accent_restoration();
        Ok(lexicon)
    }

    fn build_accent_restoration(&mut self) {
        let mut ambiguous = HashSet::new();
        for word in &self.known_words {
            if word.is_ascii() {
                continue;
            }
            let folded = fold_accents(word);
            if folded == *word || self.known_words.contains(&folded) {
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
    pub fn canonical_word(&self, lowercase: &str) -> (String, bool) {
        if self.known_words.contains(lowercase) {
            return (lowercase.to_string(), false);
        }
        let squeezed_to_two = squeeze_runs(lowercase, 2);
        let elongated = squeezed_to_two != lowercase;
        if elongated {
            if self.known_words.contains(&squeezed_to_two) {
                return (squeezed_to_two, true);
            }
            let squeezed_to_one = squeeze_runs(lowercase, 1);
            if self.known_words.contains(&squeezed_to_one) {
                return (squeezed_to_one, true);
            }
        }
        let base = if elongated { squeezed_to_two } else { lowercase.to_string() };
        let restored = if base.is_ascii() {
            self.accent_restoration.get(&base)
        } else {
            self.accent_restoration.get(&fold_accents(&base))
        };
        match restored {
            Some(word) => (word.clone(), elongated),
            None => (base, elongated),
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// The longest term starting at `tokens[start]`, as (entry, number of tokens). Terms only
    /// span consecutive words: punctuation ends a phrase.
    pub fn longest_match(&self, tokens: &[Token], start: usize) -> Option<(&Entry, usize)> {
        let first = &tokens[start].text;
        let longest = self.longest_term_by_first_word.get(first.as_str()).copied().unwrap_or(0);
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
        let folded = if word.is_ascii() { word.to_string() } else { fold_accents(word) };
        let char_ends: Vec<usize> = folded.char_indices().map(|(idx, c)| idx + c.len_utf8()).collect();
        let longest = self.stem_chars_max.min(char_ends.len());
        (self.stem_chars_min..=longest).rev().find_map(|n_chars| self.stems.get(&folded[..char_ends[n_chars - 1]]).copied())
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
    matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}')
}

/// Removes accents ("déçu" -> "decu"); letters without a decomposition (ß, ø) stay.
pub(crate) fn fold_accents(word: &str) -> String {
    word.nfd().filter(|c| !is_combining_mark(*c)).collect()
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
        assert_eq!(split_values("thanks in advance   0"), ("thanks in advance".to_string(), vec![0.0]));
        assert_eq!(split_values("arrived  0  -1"), ("arrived".to_string(), vec![0.0, -1.0]));
        assert_eq!(split_values("1 star  -2"), ("1 star".to_string(), vec![-2.0]));
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
        assert_eq!(lexicon.canonical_word("soooo"), ("so".to_string(), true));
        assert_eq!(lexicon.canonical_word("goooood"), ("good".to_string(), true));
        assert_eq!(lexicon.canonical_word("good"), ("good".to_string(), false));
        assert_eq!(lexicon.canonical_word("recu"), ("reçu".to_string(), false));
        assert_eq!(lexicon.canonical_word("pesimo"), ("pésimo".to_string(), false));
        assert_eq!(lexicon.canonical_word("order"), ("order".to_string(), false));
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
