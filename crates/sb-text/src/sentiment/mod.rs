//! Sentiment of a customer-service message: a deterministic lexicon-and-rules analyser.
//!
//! Runs on every inbound message, so it is built for speed and predictability rather than
//! nuance: one tokenizing pass, hash-map lookups in a lexicon parsed once, no regex and no
//! model. Its output feeds the auto-reply guard ("sentiment is not strongly negative"), the
//! priority score and the supervisor's negative-sentiment alerts, so it is tuned to read a
//! message the way a supervisor would: a calm question is neutral even if it mentions a refund,
//! a polite complaint is still a complaint, and "thanks in advance" does not make it positive.
//!
//! How a score is made:
//! - the lexicon (`lexicon.txt`, written for Switchboard in English, Spanish, French and
//!   German) gives each term a valence between -3 and +3; terms may be phrases ("still
//!   waiting", "no problem", "kind regards") and phrases win over their words;
//! - negators ("not", "never", "n'", "nicht") flip the next three words, weakened ("not bad"
//!   is faint praise); expectation words ("arrived", "refund", "replied") only count when
//!   negated, and less so with "yet";
//! - boosters ("very", "soooo", "a bit") scale the next sentiment term; CAPS and elongation
//!   emphasise a term;
//! - "but" halves what came before it in the sentence and weights what follows by 1.5;
//!   "although" and a trailing "though" halve their clause;
//! - praise after "hope" or "if" in the same clause is a wish, not a feeling, and counts little;
//! - a sentence ending in a single "?" is a question and counts half; "??" or "?!" is
//!   frustration and subtracts; "!" runs amplify their sentence;
//! - emoji and emoticons add their valence unmodified.
//!
//! The sum `x` is squashed into [-1, 1] with `x / sqrt(x² + 15)`, and labelled with a neutral
//! band of ±[`LABEL_THRESHOLD`] around 0.

mod lexicon;
mod tokenize;

use std::sync::LazyLock;

use sb_domain::{Sentiment, SentimentLabel};

use self::lexicon::{Contrast, Entry, Lexicon, Negator, Valence};
use self::tokenize::{tokenize, Token, TokenKind};

/// Scores at or beyond ±`LABEL_THRESHOLD` are labelled negative or positive, the rest neutral.
///
/// 0.25 corresponds to a raw sum of about ±1: one moderate term ("late", "thanks!") tips a
/// message over, a lone "thanks" (0.9) or a mild word in a question does not.
pub const LABEL_THRESHOLD: f32 = 0.25;

/// Squashing constant: a raw sum of 1 maps to 0.25, 3 to 0.61, 6 to 0.84.
const ALPHA: f32 = 15.0;

/// Words a negator reaches ("not very happy", "never got a reply").
const NEGATION_SCOPE_WORDS: usize = 3;
/// Words a booster reaches ("really not what I expected" boosts the phrase).
const BOOSTER_SCOPE_WORDS: usize = 2;
const CAPS_EMPHASIS: f32 = 1.5;
const ELONGATION_EMPHASIS: f32 = 1.3;
/// A CAPITALISED or elongated booster ("SO", "sooo") boosts more.
const EMPHASISED_BOOSTER: f32 = 1.25;
const PIVOT_BEFORE: f32 = 0.5;
const PIVOT_AFTER: f32 = 1.5;
const CONCESSIVE_WEIGHT: f32 = 0.5;
/// Praise inside a wish or condition ("I hope this gets resolved") keeps this share.
const IRREALIS_DAMPING: f32 = 0.3;
/// A plain question mostly asks rather than feels ("Is there a problem with my order?").
const QUESTION_DAMPING: f32 = 0.5;
/// What "??", "???" or "?!" subtracts from its sentence: in support chats it is exasperation.
const FRUSTRATION: f32 = 1.0;
/// Each "!" (up to three) amplifies its sentence by this fraction.
const EXCLAMATION_STEP: f32 = 0.15;
const MAX_EXCLAMATIONS: u8 = 3;
/// "hasn't arrived yet" is a status question, "hasn't arrived" a complaint.
const NOT_YET_DAMPING: f32 = 0.4;
/// Markers of "not yet" ("noch nicht", "pas encore", "aún no").
const YET_MARKERS: &[&str] = &["yet", "noch", "encore", "aún", "aun"];
/// A message mostly in capitals is shouted as a whole: amplified, but no single word stands out.
const SHOUTING_FACTOR: f32 = 1.2;

static DEFAULT_ANALYZER: LazyLock<SentimentAnalyzer> = LazyLock::new(SentimentAnalyzer::new);

/// Sentiment of `text` (normalised message text) with the built-in lexicon.
pub fn analyze(text: &str) -> Sentiment {
    DEFAULT_ANALYZER.analyze(text)
}

/// A sentiment analyser holding its parsed lexicon; [`analyze`] uses a shared instance.
#[derive(Debug)]
pub struct SentimentAnalyzer {
    lexicon: Lexicon,
}

impl Default for SentimentAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentimentAnalyzer {
    pub fn new() -> Self {
        SentimentAnalyzer {
            lexicon: Lexicon::builtin(),
        }
    }

    /// Number of lexicon entries (terms, phrases, stems, emoticons and emoji).
    pub fn lexicon_size(&self) -> usize {
        self.lexicon.n_terms()
    }

    pub fn analyze(&self, text: &str) -> Sentiment {
        let score = squash(self.raw_sum(text));
        Sentiment {
            score,
            label: label_for_score(score),
        }
    }

    /// The unsquashed sum of every term's contribution.
    fn raw_sum(&self, text: &str) -> f32 {
        let tokens = tokenize(text, &self.lexicon);
        let shouting = is_shouting(&tokens);
        let mut document = Document::default();
        let mut sentence = Sentence::new(0);
        let mut token_idx = 0;
        while token_idx < tokens.len() {
            match tokens[token_idx].kind {
                TokenKind::SentenceEnd {
                    exclamations,
                    questions,
                } => {
                    document.add_sentence(sentence.finish(exclamations, questions));
                    token_idx += 1;
                    sentence = Sentence::new(token_idx);
                }
                TokenKind::ClauseBreak => {
                    token_idx += 1;
                    sentence.break_clause(token_idx);
                }
                TokenKind::Symbol(valence) => {
                    document.symbols += valence;
                    token_idx += 1;
                }
                TokenKind::Word => {
                    token_idx =
                        self.score_word(&tokens, token_idx, shouting, &mut sentence, &mut document);
                }
            }
        }
        document.add_sentence(sentence.finish(0, 0));
        let shouting_factor = if shouting { SHOUTING_FACTOR } else { 1.0 };
        document.sentences * shouting_factor + document.symbols
    }

    /// Scores the term starting at `tokens[start]` and returns the index after it.
    fn score_word(
        &self,
        tokens: &[Token],
        start: usize,
        shouting: bool,
        sentence: &mut Sentence,
        document: &mut Document,
    ) -> usize {
        let token = &tokens[start];
        // "delivery was slow though": a trailing "though" makes its own clause an aside.
        if token.text == "though" && !is_word(tokens.get(start + 1)) {
            sentence.clause *= CONCESSIVE_WEIGHT;
            sentence.advance(1);
            return start + 1;
        }
        let Some((entry, n_tokens)) = self.lexicon.longest_match(tokens, start) else {
            if let Some(valence) = self.lexicon.stem_valence(&token.text) {
                let emphasis = emphasis(&tokens[start..=start], shouting);
                self.add_valence(tokens, valence, emphasis, sentence);
            }
            sentence.advance(1);
            return start + 1;
        };
        let next = start + n_tokens;
        let emphasis = emphasis(&tokens[start..next], shouting);
        if entry.irrealis {
            sentence.irrealis = true;
        }
        if let Some(contrast) = entry.contrast {
            match contrast {
                Contrast::Pivot if sentence.n_words == 0 => {
                    // "The box was crushed. But you replaced it at once." reaches back.
                    document.discount_previous_sentence(PIVOT_BEFORE);
                    sentence.weight = PIVOT_AFTER;
                    sentence.reset_scopes();
                }
                Contrast::Pivot => sentence.pivot(),
                Contrast::Concessive => sentence.concede(next),
            }
            sentence.n_words += n_tokens;
            return next;
        }
        if self.is_boosting(entry, tokens, next) {
            let booster = entry.booster.unwrap_or(1.0);
            sentence.advance(n_tokens);
            sentence.arm_booster(if emphasis > 1.0 {
                booster * EMPHASISED_BOOSTER
            } else {
                booster
            });
            return next;
        }
        match (entry.valence, entry.negator) {
            // A negator's own valence ("nobody" is a complaint in itself) is not negated by it.
            (Some(valence), Some(_)) => sentence.add(valence.affirmed * emphasis, None),
            (Some(valence), None) => self.add_valence(tokens, valence, emphasis, sentence),
            (None, _) => {}
        }
        sentence.advance(n_tokens);
        if let Some(negator) = entry.negator {
            if negator == Negator::ForwardAndBack
                && !self.valence_within(tokens, next, NEGATION_SCOPE_WORDS)
            {
                sentence.negate_last_term();
            }
            sentence.arm_negation();
        }
        next
    }

    fn add_valence(
        &self,
        tokens: &[Token],
        valence: Valence,
        emphasis: f32,
        sentence: &mut Sentence,
    ) {
        let negated = sentence.negation_left > 0;
        let mut factor = emphasis * sentence.take_boost();
        if negated && valence.is_expectation() && clause_has_yet(tokens, sentence.clause_start) {
            factor *= NOT_YET_DAMPING;
        }
        let value = if negated {
            valence.negated
        } else {
            valence.affirmed
        };
        if sentence.irrealis && value > 0.0 {
            factor *= IRREALIS_DAMPING;
        }
        if negated {
            sentence.add(value * factor, None);
        } else {
            sentence.add(value * factor, Some(valence.negated * factor));
        }
    }

    /// A term that is both a booster and a sentiment term ("super", "seriously") boosts when a
    /// sentiment term follows at once ("super fast") and stands alone otherwise ("super produit").
    fn is_boosting(&self, entry: &Entry, tokens: &[Token], next: usize) -> bool {
        match (entry.booster, entry.valence) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(_)) => self.valence_within(tokens, next, 1),
        }
    }

    /// Whether a sentiment term starts within the next `n_words` words of the clause.
    fn valence_within(&self, tokens: &[Token], start: usize, n_words: usize) -> bool {
        (start..tokens.len())
            .take(n_words)
            .take_while(|idx| tokens[*idx].kind == TokenKind::Word)
            .any(|idx| match self.lexicon.longest_match(tokens, idx) {
                Some((entry, _)) => entry.valence.is_some(),
                None => self.lexicon.stem_valence(&tokens[idx].text).is_some(),
            })
    }
}

/// Maps a raw sum to [-1, 1].
fn squash(raw: f32) -> f32 {
    (raw / (raw * raw + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

fn label_for_score(score: f32) -> SentimentLabel {
    if score <= -LABEL_THRESHOLD {
        SentimentLabel::Negative
    } else if score >= LABEL_THRESHOLD {
        SentimentLabel::Positive
    } else {
        SentimentLabel::Neutral
    }
}

fn is_word(token: Option<&Token>) -> bool {
    matches!(
        token,
        Some(Token {
            kind: TokenKind::Word,
            ..
        })
    )
}

fn emphasis(span: &[Token], shouting: bool) -> f32 {
    let mut emphasis = 1.0;
    if !shouting && span.iter().any(|token| token.caps) {
        emphasis *= CAPS_EMPHASIS;
    }
    if span.iter().any(|token| token.elongated) {
        emphasis *= ELONGATION_EMPHASIS;
    }
    emphasis
}

/// More than half of at least three words in capitals.
fn is_shouting(tokens: &[Token]) -> bool {
    let mut n_words = 0;
    let mut n_caps = 0;
    for token in tokens.iter().filter(|token| token.kind == TokenKind::Word) {
        if token
            .text
            .chars()
            .filter(|c| c.is_alphabetic())
            .nth(1)
            .is_some()
        {
            n_words += 1;
            n_caps += usize::from(token.caps);
        }
    }
    n_words >= 3 && n_caps * 2 > n_words
}

fn clause_has_yet(tokens: &[Token], clause_start: usize) -> bool {
    tokens[clause_start..]
        .iter()
        .take_while(|token| token.kind == TokenKind::Word)
        .any(|token| YET_MARKERS.contains(&token.text.as_str()))
}

#[derive(Debug, Default)]
struct Document {
    sentences: f32,
    symbols: f32,
    previous_sentence: f32,
}

impl Document {
    fn add_sentence(&mut self, value: f32) {
        self.sentences += value;
        self.previous_sentence = value;
    }

    fn discount_previous_sentence(&mut self, factor: f32) {
        self.sentences -= self.previous_sentence * (1.0 - factor);
        self.previous_sentence *= factor;
    }
}

/// Running state of the sentence being scored.
#[derive(Debug)]
struct Sentence {
    /// Sum of the clauses already closed by a comma or similar.
    closed_clauses: f32,
    /// Sum of the current clause.
    clause: f32,
    clause_start: usize,
    /// Weight of new contributions: `PIVOT_AFTER` after "but" until the sentence ends.
    weight: f32,
    /// `CONCESSIVE_WEIGHT` inside an "although" clause.
    clause_weight: f32,
    /// Inside a wish or condition ("hope", "if") until the clause ends.
    irrealis: bool,
    negation_left: usize,
    boost: f32,
    boost_left: usize,
    /// The last term added and what it would have added negated, for negators that reach back.
    last_term: Option<(f32, f32)>,
    n_words: usize,
}

impl Sentence {
    fn new(start: usize) -> Sentence {
        Sentence {
            closed_clauses: 0.0,
            clause: 0.0,
            clause_start: start,
            weight: 1.0,
            clause_weight: 1.0,
            irrealis: false,
            negation_left: 0,
            boost: 1.0,
            boost_left: 0,
            last_term: None,
            n_words: 0,
        }
    }

    fn add(&mut self, value: f32, negated_value: Option<f32>) {
        let factor = self.weight * self.clause_weight;
        self.clause += value * factor;
        self.last_term = negated_value.map(|negated| (value * factor, negated * factor));
    }

    fn take_boost(&mut self) -> f32 {
        let boost = if self.boost_left > 0 { self.boost } else { 1.0 };
        self.boost = 1.0;
        self.boost_left = 0;
        boost
    }

    fn advance(&mut self, n_words: usize) {
        self.n_words += n_words;
        self.negation_left = self.negation_left.saturating_sub(n_words);
        self.boost_left = self.boost_left.saturating_sub(n_words);
        if self.boost_left == 0 {
            self.boost = 1.0;
        }
    }

    fn arm_negation(&mut self) {
        self.negation_left = NEGATION_SCOPE_WORDS;
    }

    fn arm_booster(&mut self, booster: f32) {
        // Stacked boosters multiply ("really very").
        self.boost = if self.boost_left > 0 {
            self.boost * booster
        } else {
            booster
        };
        self.boost_left = BOOSTER_SCOPE_WORDS;
    }

    fn negate_last_term(&mut self) {
        if let Some((added, negated)) = self.last_term.take() {
            self.clause += negated - added;
        }
    }

    fn reset_scopes(&mut self) {
        self.negation_left = 0;
        self.boost = 1.0;
        self.boost_left = 0;
        self.last_term = None;
    }

    fn break_clause(&mut self, next_clause_start: usize) {
        self.closed_clauses += self.clause;
        self.clause = 0.0;
        self.clause_start = next_clause_start;
        self.clause_weight = 1.0;
        self.irrealis = false;
        self.reset_scopes();
    }

    fn pivot(&mut self) {
        self.closed_clauses = (self.closed_clauses + self.clause) * PIVOT_BEFORE;
        self.clause = 0.0;
        self.weight = PIVOT_AFTER;
        self.reset_scopes();
    }

    fn concede(&mut self, next_clause_start: usize) {
        self.break_clause(next_clause_start);
        self.clause_weight = CONCESSIVE_WEIGHT;
    }

    fn finish(&self, exclamations: u8, questions: u8) -> f32 {
        let mut value = self.closed_clauses + self.clause;
        if questions >= 2 || (questions >= 1 && exclamations >= 1) {
            value -= FRUSTRATION;
        } else if questions == 1 {
            value *= QUESTION_DAMPING;
        }
        if exclamations > 0 {
            value *= 1.0 + EXCLAMATION_STEP * f32::from(exclamations.min(MAX_EXCLAMATIONS));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_stay_in_range_on_extreme_input() {
        let analyzer = SentimentAnalyzer::new();
        let furious = "WORST. SERVICE. EVER!!!!!! 😡😡😡😡😡 ".repeat(200);
        let delighted = "amazing perfect wonderful thank you so much!!! 😍 ".repeat(200);
        for text in [
            furious.as_str(),
            delighted.as_str(),
            "",
            "   ",
            "\n\n",
            "?!?!",
            "12345 #A10493",
            "😡",
        ] {
            let sentiment = analyzer.analyze(text);
            assert!(
                (-1.0..=1.0).contains(&sentiment.score),
                "{text:?} -> {}",
                sentiment.score
            );
        }
        assert_eq!(analyzer.analyze("").label, SentimentLabel::Neutral);
        assert_eq!(analyzer.analyze(&furious).label, SentimentLabel::Negative);
        assert_eq!(analyzer.analyze(&delighted).label, SentimentLabel::Positive);
    }

    #[test]
    fn labels_follow_the_documented_band() {
        assert_eq!(label_for_score(0.0), SentimentLabel::Neutral);
        assert_eq!(
            label_for_score(LABEL_THRESHOLD - 0.01),
            SentimentLabel::Neutral
        );
        assert_eq!(label_for_score(LABEL_THRESHOLD), SentimentLabel::Positive);
        assert_eq!(label_for_score(-LABEL_THRESHOLD), SentimentLabel::Negative);
        assert!((squash(1.0) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn the_shared_instance_agrees_with_a_fresh_one() {
        let text = "Still waiting for my refund, this is ridiculous!!";
        assert_eq!(analyze(text), SentimentAnalyzer::new().analyze(text));
    }

    #[test]
    fn negators_after_the_verb_reach_back() {
        let analyzer = SentimentAnalyzer::new();
        assert!(analyzer.raw_sum("Das Gerät funktioniert nicht.") < 0.0);
        assert!(analyzer.raw_sum("ça marche pas") < 0.0);
        // "ne ... pas" negates once, not twice.
        assert!(analyzer.raw_sum("le produit ne fonctionne pas") < 0.0);
    }

    #[test]
    fn but_moves_the_weight_to_the_second_clause() {
        let analyzer = SentimentAnalyzer::new();
        let good_then_bad = analyzer.raw_sum("the product is good but the delivery was late");
        let bad_then_good = analyzer.raw_sum("the delivery was late but the product is good");
        assert!(good_then_bad < 0.0, "{good_then_bad}");
        assert!(bad_then_good > 0.0, "{bad_then_good}");
        // Also across a sentence boundary.
        assert!(analyzer.raw_sum("The box was damaged. But you replaced it, great service.") > 0.0);
    }
}
