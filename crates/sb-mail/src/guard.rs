//! Loop and abuse protection: whether an automatic answer may be sent to a mail's sender.
//!
//! Two automatic responders answering each other make a mail loop that runs until a mailbox
//! fills up; a mailing list answered automatically spams every member. So an automatic answer
//! is refused for anything a machine sent, for lists and bulk mail, for our own addresses, for
//! no-reply senders, and past a per-sender hourly budget. A refusal never drops the mail: it
//! only means a human answers it.
//!
//! Pure: the caller supplies our addresses and the count of automatic answers this sender got
//! in the last hour (the store knows it, keyed by [`crate::sender_key`]).

use serde::{Deserialize, Serialize};

use crate::auto::{AutoKind, AutoSignal};
use crate::parse::ParsedMail;
use crate::thread::sender_key;

/// What [`auto_answer_allowed`] needs besides the mail.
#[derive(Debug, Clone, Copy)]
pub struct AutoAnswerContext<'a> {
    /// Our own addresses (`support@shop.example`), or whole domains written `@shop.example`.
    /// Compared without case and without `+tags`.
    pub our_addresses: &'a [String],
    /// Automatic answers sent to this sender in the last hour.
    pub answers_to_sender_last_hour: u32,
    /// The most automatic answers one sender gets per hour.
    pub max_answers_per_sender_per_hour: u32,
}

/// Why no automatic answer may be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    #[error("the mail has no sender address to answer")]
    NoSender,
    #[error("the mail comes from one of our own addresses")]
    OwnAddress,
    #[error("the mail is a bounce ({signal})")]
    Bounce { signal: AutoSignal },
    #[error("the mail is an automatic reply ({signal})")]
    AutoReply { signal: AutoSignal },
    #[error("the mail comes from a mailing list ({signal})")]
    MailingList { signal: AutoSignal },
    #[error("the mail is bulk mail ({signal})")]
    Bulk { signal: AutoSignal },
    #[error("the sender is a no-reply or system address")]
    NoReplySender,
    #[error("{answers} automatic answers went to this sender in the last hour (limit {limit})")]
    RateLimited { answers: u32, limit: u32 },
}

/// `Ok(())` when an automatic answer may go to `mail`'s customer address; otherwise the first
/// reason against it, checked in this order: no sender, our own address, bounce, auto-reply,
/// list, bulk, no-reply sender, hourly budget.
pub fn auto_answer_allowed(mail: &ParsedMail, context: &AutoAnswerContext<'_>) -> Result<(), Refusal> {
    let Some(customer) = &mail.customer else { return Err(Refusal::NoSender) };
    let our_keys: Vec<String> = context.our_addresses.iter().map(|address| sender_key(address)).collect();
    let is_ours =
        |address: &str| {
            let key = sender_key(address);
            our_keys.iter().any(|our_key| {
                if our_key.starts_with('@') {
                    key.ends_with(our_key.as_str())
                } else {
                    *our_key == key
                }
            })
        };
    let sender_addresses = std::iter::once(customer.mailbox.address.as_str())
        .chain(mail.from.iter().map(|mailbox| mailbox.address.as_str()))
        .chain(mail.sender.iter().map(|mailbox| mailbox.address.as_str()));
    if sender_addresses.clone().any(is_ours) {
        return Err(Refusal::OwnAddress);
    }
    for kind in [AutoKind::Bounce, AutoKind::AutoReply, AutoKind::List, AutoKind::Bulk] {
        let Some(&signal) = mail.auto_signals.iter().find(|signal| signal.kind() == kind) else { continue };
        return Err(match kind {
            AutoKind::Bounce => Refusal::Bounce { signal },
            AutoKind::AutoReply => Refusal::AutoReply { signal },
            AutoKind::List => Refusal::MailingList { signal },
            AutoKind::Bulk => Refusal::Bulk { signal },
        });
    }
    if sender_addresses.into_iter().any(is_no_reply_address) {
        return Err(Refusal::NoReplySender);
    }
    sender_rate_allows(context.answers_to_sender_last_hour, context.max_answers_per_sender_per_hour)
}

/// The per-sender budget: `Ok(())` while fewer than `limit` automatic answers went to the
/// sender in the last hour. A limit of 0 refuses every automatic answer.
pub fn sender_rate_allows(answers_in_last_hour: u32, limit: u32) -> Result<(), Refusal> {
    if answers_in_last_hour >= limit {
        return Err(Refusal::RateLimited { answers: answers_in_last_hour, limit });
    }
    Ok(())
}

/// Local parts of addresses that nobody reads: answering them bounces or vanishes.
fn is_no_reply_address(address: &str) -> bool {
    const NO_REPLY_PREFIXES: [&str; 8] =
        ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "mailer-daemon", "bounce"];
    let key = sender_key(address);
    let local_part = key.split_once('@').map_or(key.as_str(), |(local_part, _)| local_part);
    local_part == "postmaster" || NO_REPLY_PREFIXES.iter().any(|prefix| local_part.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_up_to_the_limit() {
        assert_eq!(sender_rate_allows(0, 3), Ok(()));
        assert_eq!(sender_rate_allows(2, 3), Ok(()));
        assert_eq!(sender_rate_allows(3, 3), Err(Refusal::RateLimited { answers: 3, limit: 3 }));
        assert_eq!(sender_rate_allows(0, 0), Err(Refusal::RateLimited { answers: 0, limit: 0 }));
    }

    #[test]
    fn no_reply_addresses() {
        for address in
            ["noreply@shop.example", "No-Reply+x@shop.example", "bounces+123@mailer.example", "postmaster@x.example"]
        {
            assert!(is_no_reply_address(address), "{address}");
        }
        for address in ["anna.noreply.fan@example.com", "replies@example.com", "post@example.com"] {
            assert!(!is_no_reply_address(address), "{address}");
        }
    }
}
