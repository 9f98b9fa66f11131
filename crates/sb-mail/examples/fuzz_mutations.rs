//! The long run of the seeded mutation fuzzer (the test suite runs 20,000 of these): corpus
//! mails mutated by `tests/it/mutator.rs` and sent through parse, thread_keys and
//! auto_answer_allowed, counting inputs and panics. It complements cargo fuzz (coverage-guided,
//! needs nightly features) with a run anyone can repeat on stable:
//!
//!     cargo run --release -p sb-mail --example fuzz_mutations -- --inputs 1000000 --seed 1

#[path = "../tests/it/mutator.rs"]
mod mutator;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Instant;

use mutator::{mutate, Rng};
use sb_mail::{auto_answer_allowed, parse, thread_keys, AutoAnswerContext, Flag, Limits};

fn main() {
    let mut n_inputs = 1_000_000usize;
    let mut seed = 1u64;
    let mut raw_args = std::env::args().skip(1);
    while let Some(flag) = raw_args.next() {
        let value = raw_args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--inputs" => n_inputs = value.parse().expect("--inputs is a number"),
            "--seed" => seed = value.parse().expect("--seed is a number"),
            other => panic!("unknown flag {other} (use --inputs N, --seed S)"),
        }
    }
    let corpus_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut mails: Vec<(String, Vec<u8>)> = std::fs::read_dir(&corpus_dir)
        .expect("read corpus dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
        .map(|path| {
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).expect("read mail"))
        })
        .collect();
    mails.sort();

    // Quiet panics: each is counted and its input written out, not printed as a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let limits = Limits {
        max_message_bytes: 64 << 10,
        max_attachment_bytes: 512,
        max_depth: 6,
        max_parts: 24,
        max_body_bytes: 16 << 10,
    };
    let our_addresses = vec!["support@shop.example".to_string(), "@shop.example".to_string()];
    let context = AutoAnswerContext {
        our_addresses: &our_addresses,
        answers_to_sender_last_hour: 1,
        max_answers_per_sender_per_hour: 3,
    };
    let mut rng = Rng::new(seed);
    let mut n_panics = 0usize;
    let mut n_flagged = 0usize;
    let mut n_bytes = 0usize;
    let started = Instant::now();
    for iteration in 0..n_inputs {
        let (name, mail) = &mails[rng.below(mails.len())];
        let (_, other) = &mails[rng.below(mails.len())];
        let mutated = mutate(mail, other, &mut rng);
        n_bytes += mutated.len();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let parsed = parse(&mutated, &limits);
            let _ = thread_keys(&parsed);
            let _ = auto_answer_allowed(&parsed, &context);
            // parse catches a panic of the MIME library and flags it: count it as a panic.
            assert!(!parsed.has_flag(Flag::ParserFailure), "parser failure");
            !parsed.flags.is_empty()
        }));
        match outcome {
            Ok(is_flagged) => n_flagged += usize::from(is_flagged),
            Err(_) => {
                n_panics += 1;
                let path = std::env::temp_dir().join(format!("sb-mail-panic-{seed}-{iteration}.eml"));
                std::fs::write(&path, &mutated).expect("write panicking input");
                eprintln!("panic on mutation {iteration} of {name}: input written to {}", path.display());
            }
        }
        if (iteration + 1) % 100_000 == 0 {
            eprintln!("{} inputs, {n_panics} panics, {:.0} s", iteration + 1, started.elapsed().as_secs_f64());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{n_inputs} mutated inputs (seed {seed}, {:.1} MB), {n_panics} panics, {n_flagged} flagged, {seconds:.1} s ({:.0} inputs/s)",
        n_bytes as f64 / 1e6,
        n_inputs as f64 / seconds
    );
    if n_panics > 0 {
        std::process::exit(1);
    }
}
