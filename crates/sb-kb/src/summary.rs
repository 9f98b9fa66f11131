//! An extractive summary of a conversation: the customer's request, what was done, what is
//! pending. Computed locally from sentences of the messages themselves (no model, no LLM), so
//! it is always available, cheap, and never says anything that was not said.
//!
//! The rules are cue words, in the four languages of the demo taxonomy:
//! - **request**: the customer's first sentence that asks for something (a question mark or a
//!   request cue such as "please", "I want", "can you"); failing that, their first sentence;
//! - **done**: agent sentences that report a completed action ("I have refunded", "we sent",
//!   "has been cancelled"), in order;
//! - **pending**: agent sentences that promise a future step ("we will", "within 3 days", "once
//!   the parcel arrives"), and the customer's last message when it comes after the last agent
//!   reply (nobody has answered it yet).

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    Customer,
    /// A human agent, or an automatic reply sent on the shop's behalf.
    Agent,
    /// Internal notes and system events: never part of the summary.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// Empty when the customer has not written anything.
    pub request: String,
    pub done: Vec<String>,
    pub pending: Vec<String>,
}

/// Sentences kept per list at most: a summary, not a transcript.
const MAX_SENTENCES_PER_LIST: usize = 3;

const REQUEST_CUES: &[&str] = &[
    "please", "i want", "i would like", "i'd like", "can you", "could you", "can i", "how do i", "how can i", "i need", "where is", "when will", "help",
    "bitte", "ich möchte", "können sie", "wo ist", "wann", "s'il vous plaît", "je voudrais", "pouvez-vous", "où est", "quand", "por favor", "quiero", "quisiera", "pueden", "dónde", "cuándo",
];

const DONE_CUES: &[&str] = &[
    "i have", "i've", "we have", "we've", "has been", "have been", "was sent", "i sent", "we sent", "i issued", "we issued", "refunded", "cancelled", "canceled", "updated", "processed", "is on its way", "i changed", "we changed", "i created", "i reset",
    "habe ich", "haben wir", "wurde", "j'ai", "nous avons", "a été", "he ", "hemos", "ha sido",
];

const PENDING_CUES: &[&str] = &[
    "will", "we'll", "i'll", "going to", "within", "once", "as soon as", "pending", "waiting for", "expect", "next step", "follow up",
    "werden", "wird", "sobald", "innerhalb", "nous allons", "sera", "dès que", "sous ", "vamos a", "será", "en cuanto", "dentro de",
];

/// Summarises `messages` (in conversation order).
pub fn summarize<'a>(messages: impl IntoIterator<Item = (AuthorRole, &'a str)>) -> ConversationSummary {
    let messages: Vec<(AuthorRole, &str)> = messages.into_iter().filter(|(role, _)| *role != AuthorRole::Internal).collect();
    let customer_sentences: Vec<String> = messages.iter().filter(|(role, _)| *role == AuthorRole::Customer).flat_map(|(_, text)| sentences(text)).collect();
    let request = customer_sentences
        .iter()
        .find(|sentence| sentence.ends_with('?') || contains_cue(sentence, REQUEST_CUES))
        .or(customer_sentences.first())
        .cloned()
        .unwrap_or_default();

    let mut done: Vec<String> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for (_, text) in messages.iter().filter(|(role, _)| *role == AuthorRole::Agent) {
        for sentence in sentences(text) {
            // A sentence can report and promise ("I've refunded it; it will show in 5 days"):
            // it is pending, since that is what someone has to watch.
            if contains_cue(&sentence, PENDING_CUES) {
                push_unique(&mut pending, sentence);
            } else if contains_cue(&sentence, DONE_CUES) {
                push_unique(&mut done, sentence);
            }
        }
    }
    let last_agent_idx = messages.iter().rposition(|(role, _)| *role == AuthorRole::Agent);
    let last_customer_idx = messages.iter().rposition(|(role, _)| *role == AuthorRole::Customer);
    if let Some(last_customer_idx) = last_customer_idx.filter(|&customer_idx| last_agent_idx.is_some_and(|agent_idx| customer_idx > agent_idx)) {
        let unanswered = sentences(messages[last_customer_idx].1).into_iter().find(|sentence| sentence.ends_with('?') || contains_cue(sentence, REQUEST_CUES));
        if let Some(sentence) = unanswered {
            push_unique(&mut pending, format!("Customer: {sentence}"));
        }
    }
    done.truncate(MAX_SENTENCES_PER_LIST);
    // The latest promises matter most.
    if pending.len() > MAX_SENTENCES_PER_LIST {
        pending.drain(..pending.len() - MAX_SENTENCES_PER_LIST);
    }
    ConversationSummary { request, done, pending }
}

fn push_unique(list: &mut Vec<String>, sentence: String) {
    if !list.contains(&sentence) {
        list.push(sentence);
    }
}

/// Whole-word-ish match: the cue must start at a word boundary ("will" not in "goodwill").
fn contains_cue(sentence: &str, cues: &[&str]) -> bool {
    let lowered = sentence.to_lowercase().replace('’', "'");
    cues.iter().any(|cue| {
        lowered.match_indices(cue).any(|(byte_idx, _)| byte_idx == 0 || !lowered[..byte_idx].chars().next_back().is_some_and(char::is_alphanumeric))
    })
}

/// Splits on sentence ends and line breaks; drops greetings and sign-offs that carry nothing.
fn sentences(text: &str) -> Vec<String> {
    let mut result = Vec::new();
    for line in text.lines() {
        let mut sentence = String::new();
        let mut chars = line.chars().peekable();
        while let Some(character) = chars.next() {
            sentence.push(character);
            let at_end = matches!(character, '.' | '!' | '?') && chars.peek().is_none_or(|next| next.is_whitespace());
            if at_end && !chars.peek().is_some_and(|next| matches!(next, '.' | '!' | '?')) {
                push_sentence(&mut result, &sentence);
                sentence.clear();
            }
        }
        push_sentence(&mut result, &sentence);
    }
    result
}

fn push_sentence(result: &mut Vec<String>, sentence: &str) {
    let trimmed = sentence.trim();
    let n_words = trimmed.split_whitespace().count();
    let lowered = trimmed.to_lowercase();
    let is_filler = n_words <= 3 && ["hi", "hello", "hey", "dear", "thanks", "thank you", "best", "regards", "cheers", "hallo", "bonjour", "hola", "merci", "danke", "gracias"].iter().any(|filler| lowered.starts_with(filler));
    if !trimmed.is_empty() && !is_filler {
        result.push(trimmed.to_string());
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use AuthorRole::{Agent, Customer, Internal};

    fn check(messages: &[(AuthorRole, &str)], expect: Expect) {
        let summary = summarize(messages.iter().copied());
        expect.assert_eq(&format!("request: {}\ndone: {:?}\npending: {:?}", summary.request, summary.done, summary.pending));
    }

    #[test]
    fn refund_conversation() {
        check(
            &[
                (Customer, "Hi,\nThe blender in order A10499 arrived with a cracked jug. I'd like a replacement please. Thanks, Farah"),
                (Internal, "Checked the photos, jug clearly broken."),
                (Agent, "Hello Farah, sorry about that! I have sent a prepaid return label to your email. The replacement will ship once the carrier scans the return."),
                (Customer, "Thanks! Do I need to send the base too?"),
            ],
            expect![[r#"
                request: I'd like a replacement please.
                done: ["I have sent a prepaid return label to your email."]
                pending: ["The replacement will ship once the carrier scans the return.", "Customer: Do I need to send the base too?"]"#]],
        );
    }

    #[test]
    fn customer_only_and_empty() {
        check(
            &[(Customer, "My parcel never came. Order 558201.")],
            expect![[r#"
                request: My parcel never came.
                done: []
                pending: []"#]],
        );
        check(&[], expect![[r#"
            request: 
            done: []
            pending: []"#]]);
    }

    #[test]
    fn other_languages_and_word_boundaries() {
        check(
            &[
                (Customer, "Hallo, wo ist meine Bestellung A10500?"),
                (Agent, "Ihre Bestellung wurde gestern versandt. Sie wird innerhalb von zwei Tagen zugestellt. Goodwill gesture included."),
            ],
            expect![[r#"
                request: Hallo, wo ist meine Bestellung A10500?
                done: ["Ihre Bestellung wurde gestern versandt."]
                pending: ["Sie wird innerhalb von zwei Tagen zugestellt."]"#]],
        );
    }
}
