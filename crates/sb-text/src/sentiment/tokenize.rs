//! A one-pass tokenizer for sentiment: words, emoji and emoticons, clause breaks and sentence
//! ends with their "!" and "?" counts.
//!
//! Hand-written rather than a regex because it runs on every message and needs what regexes
//! do not give cheaply: French elisions split off ("n'ai" -> "n'" + "ai") so negation sees
//! them, emoticons recognised only where they cannot be part of a URL, and punctuation runs
//! counted ("!!!" amplifies, "??" is frustration).

use super::lexicon::{CanonicalWord, Lexicon};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TokenKind {
    Word,
    /// An emoji or emoticon with its valence.
    Symbol(f32),
    /// A comma, colon, semicolon, dash or bracket: ends negation and booster scope.
    ClauseBreak,
    /// A run of terminal punctuation or a line break.
    SentenceEnd {
        exclamations: u8,
        questions: u8,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// For words, the canonical lowercase form (see [`Lexicon::canonical_word`]); empty for
    /// other kinds.
    pub text: String,
    /// Written in capitals ("WORST"), two letters or more.
    pub caps: bool,
    /// Written with a letter repeated for emphasis ("soooo").
    pub elongated: bool,
    /// Words in the longest lexicon term starting with this word; 0 if none.
    pub longest_term: u8,
}

impl Token {
    fn punctuation(kind: TokenKind) -> Token {
        Token {
            kind,
            text: String::new(),
            caps: false,
            elongated: false,
            longest_term: 0,
        }
    }
}

/// French (and Catalan/Italian-style) elided articles and pronouns that are written glued to the
/// next word; split off so that "n'" is seen as a negator and "l'adresse" as "adresse".
const ELISIONS: &[&str] = &[
    "l", "d", "j", "c", "n", "m", "t", "s", "qu", "jusqu", "lorsqu", "puisqu",
];

/// Tokenizes a message; words are canonicalised against `lexicon`.
pub(crate) fn tokenize(text: &str, lexicon: &Lexicon) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(text.len() / 5 + 1);
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        if c == '\n' {
            push_sentence_end(&mut tokens, 0, 0);
            pos += 1;
            continue;
        }
        if c.is_whitespace() {
            pos += c.len_utf8();
            continue;
        }
        if c.is_ascii_punctuation() && !matches!(c, '!' | '?' | '.') {
            if let Some((len, valence)) = lexicon.emoticon_at(text, pos) {
                tokens.push(Token::punctuation(TokenKind::Symbol(valence)));
                pos += len;
                continue;
            }
        }
        if c.is_alphanumeric() {
            let end = word_end(text, pos);
            push_word(&mut tokens, &text[pos..end], |lowercase| {
                lexicon.canonical_word(lowercase)
            });
            pos = end;
            continue;
        }
        match c {
            '!' | '?' | '.' | '…' => {
                let mut exclamations = 0u8;
                let mut questions = 0u8;
                let mut end = pos;
                for run_char in text[pos..].chars() {
                    match run_char {
                        '!' => exclamations = exclamations.saturating_add(1),
                        '?' => questions = questions.saturating_add(1),
                        '.' | '…' => {}
                        _ => break,
                    }
                    end += run_char.len_utf8();
                }
                push_sentence_end(&mut tokens, exclamations, questions);
                pos = end;
            }
            ',' | ';' | ':' | '(' | ')' | '[' | ']' | '-' | '–' | '—' | '/' | '|' => {
                if !matches!(
                    tokens.last(),
                    Some(Token {
                        kind: TokenKind::ClauseBreak,
                        ..
                    })
                ) {
                    tokens.push(Token::punctuation(TokenKind::ClauseBreak));
                }
                pos += c.len_utf8();
            }
            _ => {
                if let Some(valence) = lexicon.emoji(c) {
                    tokens.push(Token::punctuation(TokenKind::Symbol(valence)));
                }
                // Quotes, currency, "#", "¡", "¿" and emoji modifiers (variation selectors, skin
                // tones, joiners) carry no sentiment of their own.
                pos += c.len_utf8();
            }
        }
    }
    tokens
}

/// Splits a lexicon term into canonical words, the way [`tokenize`] splits a message (without
/// canonicalisation: lexicon terms are written in their canonical form).
pub(crate) fn split_term(term: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = term[pos..].chars().next() {
        if c.is_alphanumeric() {
            let end = word_end(term, pos);
            push_word(&mut tokens, &term[pos..end], |lowercase| CanonicalWord {
                text: lowercase,
                elongated: false,
                longest_term: 0,
            });
            pos = end;
        } else {
            pos += c.len_utf8();
        }
    }
    tokens.into_iter().map(|token| token.text).collect()
}

/// The end of the word starting at `start`: letters, digits and combining marks, joined by an
/// apostrophe or hyphen between letters ("don't", "mix-up") or by "." "," ":" between digits
/// ("3.5", "10:30").
fn word_end(text: &str, start: usize) -> usize {
    let mut end = start;
    let mut previous: Option<char> = None;
    let mut chars = text[start..].char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        let is_word_char = c.is_alphanumeric()
            || (!c.is_ascii() && unicode_normalization::char::is_combining_mark(c));
        let next = chars.peek().map(|(_, next)| *next);
        let joins = || match (previous, next) {
            (Some(before), Some(after)) => match c {
                '\'' | '’' | 'ʼ' | '-' | '‐' => {
                    before.is_alphanumeric() && after.is_alphanumeric()
                }
                '.' | ',' | ':' => before.is_ascii_digit() && after.is_ascii_digit(),
                _ => false,
            },
            _ => false,
        };
        if !(is_word_char || joins()) {
            break;
        }
        previous = Some(c);
        end = start + offset + c.len_utf8();
    }
    end
}

fn push_word(tokens: &mut Vec<Token>, raw: &str, canonical: impl Fn(String) -> CanonicalWord) {
    let mut remaining = raw;
    loop {
        let split = remaining
            .char_indices()
            .find(|(_, c)| matches!(c, '\'' | '’' | 'ʼ'))
            .and_then(|(idx, c)| {
                let prefix = &remaining[..idx];
                ELISIONS
                    .contains(&prefix.to_lowercase().as_str())
                    .then(|| (idx, idx + c.len_utf8()))
            });
        let Some((prefix_end, rest_start)) = split else {
            break;
        };
        let elided = canonical(format!("{}'", remaining[..prefix_end].to_lowercase()));
        tokens.push(Token {
            kind: TokenKind::Word,
            text: elided.text,
            caps: false,
            elongated: false,
            longest_term: elided.longest_term,
        });
        remaining = &remaining[rest_start..];
    }
    let n_letters = remaining.chars().filter(|c| c.is_alphabetic()).count();
    let caps = n_letters >= 2 && remaining.chars().all(|c| !c.is_lowercase());
    let lowercase = if remaining.is_ascii() {
        remaining.to_ascii_lowercase()
    } else {
        remaining
            .chars()
            .map(normalise_apostrophe)
            .flat_map(char::to_lowercase)
            .collect()
    };
    let word = canonical(lowercase);
    tokens.push(Token {
        kind: TokenKind::Word,
        text: word.text,
        caps,
        elongated: word.elongated,
        longest_term: word.longest_term,
    });
}

fn normalise_apostrophe(c: char) -> char {
    match c {
        '’' | 'ʼ' => '\'',
        '‐' => '-',
        other => other,
    }
}

/// Ends the sentence, folding a run like "?\n" or "!! !!" into the end before it.
fn push_sentence_end(tokens: &mut Vec<Token>, exclamations: u8, questions: u8) {
    if let Some(Token {
        kind:
            TokenKind::SentenceEnd {
                exclamations: previous_excl,
                questions: previous_quest,
            },
        ..
    }) = tokens.last_mut()
    {
        *previous_excl = previous_excl.saturating_add(exclamations);
        *previous_quest = previous_quest.saturating_add(questions);
        return;
    }
    tokens.push(Token::punctuation(TokenKind::SentenceEnd {
        exclamations,
        questions,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> String {
        let lexicon = Lexicon::builtin();
        tokenize(text, &lexicon)
            .iter()
            .map(|token| match token.kind {
                TokenKind::Word => {
                    let mut rendered = token.text.clone();
                    if token.caps {
                        rendered.push_str("^caps");
                    }
                    if token.elongated {
                        rendered.push_str("^long");
                    }
                    rendered
                }
                TokenKind::Symbol(valence) => format!("<{valence}>"),
                TokenKind::ClauseBreak => ",".to_string(),
                TokenKind::SentenceEnd {
                    exclamations,
                    questions,
                } => format!("|{exclamations}!{questions}?|"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn words_punctuation_and_symbols() {
        assert_eq!(
            render("WORST service!!! soooo bad :( 😡"),
            "worst^caps service |3!0?| so^long bad <-1.5> <-2.5>"
        );
        assert_eq!(
            render("where is it?? really?!"),
            "where is it |0!2?| really |1!1?|"
        );
        assert_eq!(
            render("Je n'ai pas reçu l’adresse"),
            "je n' ai pas reçu l' adresse"
        );
        assert_eq!(
            render("I don't know, it's a mix-up"),
            "i don't know , it's a mix-up"
        );
        assert_eq!(
            render("Order #A10493 cost $3.50 at 10:30."),
            "order a10493 cost 3.50 at 10:30 |0!0?|"
        );
        assert_eq!(
            render("see https://shop.example/x :)"),
            "see https , shop |0!0?| example , x <1.5>"
        );
        assert_eq!(
            render("thanks ❤️\nKind regards,\nAnna"),
            "thanks <2.5> |0!0?| kind regards , |0!0?| anna"
        );
        assert_eq!(
            render("¡Muy mal! ¿Dónde está?"),
            "muy mal |1!0?| dónde está |0!1?|"
        );
        assert_eq!(render("OK"), "ok^caps");
    }

    #[test]
    fn lexicon_terms_split_like_messages() {
        assert_eq!(split_term("merci d'avance"), vec!["merci", "d'", "avance"]);
        assert_eq!(split_term("can't wait"), vec!["can't", "wait"]);
        assert_eq!(split_term("ras-le-bol"), vec!["ras-le-bol"]);
    }
}
