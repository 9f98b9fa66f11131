//! A deterministic mutation loop in the test suite, so every `cargo test` run fuzzes a little
//! even where cargo-fuzz is not available: 20,000 seeded mutations of corpus mails through
//! parse, thread_keys and auto_answer_allowed, each checked against the invariants that hold
//! for any input. The long runs (cargo fuzz, and the `fuzz_mutations` example) are in
//! docs/benchmarks-mail.md.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sb_mail::{auto_answer_allowed, parse, thread_keys, Flag, Limits};

use crate::mutator::{mutate, Rng};
use crate::support::{corpus_mails, fresh_sender_context, our_addresses};

const N_MUTATIONS: usize = 20_000;
const SEED: u64 = 0x5B_3A11;

#[test]
fn mutated_corpus_never_panics_and_keeps_invariants() {
    let mails = corpus_mails();
    let our_addresses = our_addresses();
    let context = fresh_sender_context(&our_addresses);
    // Small limits reach the limit paths with corpus-sized mails.
    let limits = Limits {
        max_message_bytes: 64 << 10,
        max_attachment_bytes: 512,
        max_depth: 6,
        max_parts: 24,
        max_body_bytes: 16 << 10,
    };
    let mut rng = Rng::new(SEED);
    let mut n_flagged = 0usize;
    for iteration in 0..N_MUTATIONS {
        let (name, mail) = &mails[rng.below(mails.len())];
        let (_, other) = &mails[rng.below(mails.len())];
        let mutated = mutate(mail, other, &mut rng);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let parsed = parse(&mutated, &limits);
            let keys = thread_keys(&parsed);
            let _ = auto_answer_allowed(&parsed, &context);
            (parsed, keys)
        }));
        let Ok((parsed, keys)) = outcome else {
            panic!(
                "panic on mutation {iteration} of {name} (seed {SEED:#x}); input: {:?}",
                String::from_utf8_lossy(&mutated)
            );
        };
        assert!(
            !parsed.has_flag(Flag::ParserFailure),
            "parser failure on mutation {iteration} of {name} (seed {SEED:#x}); input: {:?}",
            String::from_utf8_lossy(&mutated)
        );
        assert_eq!(parsed.raw_size, mutated.len());
        assert!(parsed.message_id.is_some() || parsed.has_flag(Flag::MissingMessageId), "{name} #{iteration}");
        for text in parsed.subject.iter().chain(keys.message_ids.iter()) {
            assert!(!text.contains(['\r', '\n', '\0']), "{name} #{iteration}: {text:?}");
        }
        for attachment in &parsed.attachments {
            assert_eq!(attachment.content.is_none(), attachment.over_size_cap, "{name} #{iteration}");
        }
        if !parsed.flags.is_empty() {
            n_flagged += 1;
        }
    }
    // The mutations must actually break mails, or this test proves nothing.
    assert!(n_flagged > N_MUTATIONS / 4, "only {n_flagged} of {N_MUTATIONS} mutated mails were flagged");
}
