//! Parse throughput over the golden corpus: every `.eml` of `tests/corpus` parsed again and
//! again for a few seconds per round, in one thread, reporting mails/s and MB/s of raw mail.
//!
//! Two measures: `sb_mail::parse` (MIME, charsets, addresses, HTML to text, quote and
//! signature stripping, auto-reply signals, flags: everything the pipeline gets) and
//! mail-parser alone with every body decoded (what a MIME library does, the closest match to
//! the Python peer `scripts/bench/peer_mail_parse.py`). Run them in the same minutes:
//!
//!     cargo run --release -p sb-mail --example parse_bench -- --rounds 3 --seconds 3 [--skip-malformed]
//!     python3 scripts/bench/peer_mail_parse.py --rounds 3 --seconds 3 [--skip-malformed]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sb_mail::{parse, thread_keys, Limits};

struct Args {
    corpus_dir: PathBuf,
    n_rounds: usize,
    seconds_per_round: f64,
    /// Leave out the `malformed_*` mails: some are hostile on purpose (300 parts, 40-deep
    /// nesting) and dominate the time of a parser that is slow on them.
    skip_malformed: bool,
    /// Print the mean parse time of the N slowest mails (where the time goes).
    n_slowest: usize,
    /// Also time the hostile inputs of tests/it/hostile.rs (25 MB attachment, deep nesting).
    hostile: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        corpus_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
        n_rounds: 3,
        seconds_per_round: 3.0,
        skip_malformed: false,
        n_slowest: 0,
        hostile: false,
    };
    let mut raw_args = std::env::args().skip(1);
    while let Some(flag) = raw_args.next() {
        if flag == "--skip-malformed" {
            args.skip_malformed = true;
            continue;
        }
        if flag == "--hostile" {
            args.hostile = true;
            continue;
        }
        let value = raw_args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--corpus" => args.corpus_dir = PathBuf::from(value),
            "--rounds" => args.n_rounds = value.parse().expect("--rounds is a number"),
            "--seconds" => args.seconds_per_round = value.parse().expect("--seconds is a number"),
            "--slowest" => args.n_slowest = value.parse().expect("--slowest is a number"),
            other => panic!("unknown flag {other} (use --corpus DIR, --rounds N, --seconds S, --slowest N, --skip-malformed, --hostile)"),
        }
    }
    args
}

/// Runs `parse_all` over the corpus until `seconds` have passed; returns (mails, seconds).
fn timed_round(mails: &[Vec<u8>], seconds: f64, mut parse_all: impl FnMut(&[u8]) -> usize) -> (usize, f64) {
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut n_mails = 0usize;
    let mut checksum = 0usize;
    while started.elapsed() < budget {
        for mail in mails {
            checksum = checksum.wrapping_add(parse_all(mail));
            n_mails += 1;
        }
    }
    std::hint::black_box(checksum);
    (n_mails, started.elapsed().as_secs_f64())
}

fn main() {
    let args = parse_args();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&args.corpus_dir)
        .expect("read corpus dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
        .filter(|path| {
            !args.skip_malformed
                || !path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with("malformed_"))
        })
        .collect();
    paths.sort();
    let mails: Vec<Vec<u8>> = paths.iter().map(|path| std::fs::read(path).expect("read mail")).collect();
    let corpus_bytes: usize = mails.iter().map(Vec::len).sum();
    let mean_bytes = corpus_bytes as f64 / mails.len() as f64;
    println!(
        "corpus: {} mails, {corpus_bytes} bytes ({mean_bytes:.0} bytes per mail) from {}",
        mails.len(),
        args.corpus_dir.display()
    );

    let limits = Limits::default();
    if args.n_slowest > 0 {
        print_slowest(&paths, &mails, &limits, args.n_slowest);
    }
    if args.hostile {
        time_hostile(&limits);
    }
    let message_parser = mail_parser::MessageParser::default();
    for round in 1..=args.n_rounds {
        let (n_mails, seconds) = timed_round(&mails, args.seconds_per_round, |raw| {
            let mail = parse(raw, &limits);
            mail.body.stripped.len() + thread_keys(&mail).message_ids.len() + mail.flags.len()
        });
        report(round, "sb_mail::parse + thread_keys", n_mails, seconds, mean_bytes);
        let (n_mails, seconds) = timed_round(&mails, args.seconds_per_round, |raw| {
            // mail-parser decodes every part while parsing; touching each part's contents
            // keeps the work from being optimised away.
            message_parser.parse(raw).map_or(0, |message| message.parts.iter().map(|part| part.contents().len()).sum())
        });
        report(round, "mail-parser only (MIME + charsets)", n_mails, seconds, mean_bytes);
    }
}

fn report(round: usize, label: &str, n_mails: usize, seconds: f64, mean_bytes: f64) {
    let mails_per_second = n_mails as f64 / seconds;
    let megabytes_per_second = mails_per_second * mean_bytes / 1e6;
    println!("round {round}: {label:<38} {mails_per_second:>10.0} mails/s {megabytes_per_second:>8.1} MB/s ({n_mails} mails in {seconds:.2} s)");
}

fn print_slowest(paths: &[PathBuf], mails: &[Vec<u8>], limits: &Limits, n_slowest: usize) {
    const N_REPEATS: u32 = 20;
    let mut timings: Vec<(Duration, &PathBuf)> = paths
        .iter()
        .zip(mails)
        .map(|(path, raw)| {
            let started = Instant::now();
            for _ in 0..N_REPEATS {
                std::hint::black_box(parse(raw, limits));
            }
            (started.elapsed() / N_REPEATS, path)
        })
        .collect();
    timings.sort_by_key(|(duration, _)| std::cmp::Reverse(*duration));
    let total: Duration = timings.iter().map(|(duration, _)| *duration).sum();
    println!("one pass over the corpus: {total:?}; slowest mails:");
    for (duration, path) in timings.iter().take(n_slowest) {
        println!("  {duration:>12?}  {}", path.file_name().unwrap_or_default().to_string_lossy());
    }
}

/// Release-build times of the inputs `tests/it/hostile.rs` checks for correctness.
fn time_hostile(limits: &Limits) {
    const HEAD: &str = "Message-ID: <hostile@mail.example>\r\nFrom: Big Sender <big@mail.example>\r\nSubject: big\r\nMIME-Version: 1.0\r\n";
    let mut attachment_mail = String::from(HEAD);
    attachment_mail.push_str("Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\nvideo attached\r\n--big\r\nContent-Type: video/mp4; name=\"a.mp4\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    attachment_mail.push_str(&line.repeat((25 << 20) / 57 + 1));
    attachment_mail.push_str("--big--\r\n");
    let mut deep_multipart = String::from(HEAD);
    for level in 0..1000 {
        deep_multipart.push_str(&format!("Content-Type: multipart/mixed; boundary=\"n{level}\"\r\n\r\n--n{level}\r\n"));
    }
    deep_multipart.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
    for level in (0..1000).rev() {
        deep_multipart.push_str(&format!("--n{level}--\r\n"));
    }
    let mut deep_messages = String::from(HEAD);
    deep_messages.push_str(&"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n".repeat(1000));
    deep_messages.push_str("Content-Type: text/plain\r\n\r\ninnermost\r\n");
    let mut empty_parts = String::from(HEAD);
    empty_parts.push_str("Content-Type: multipart/mixed; boundary=\"e\"\r\n\r\n");
    empty_parts.push_str(&"--e\r\n\r\n".repeat(1_000_000));
    let cases = [
        ("25 MB attachment (base64)", attachment_mail),
        ("1000-deep multiparts", deep_multipart),
        ("1000-deep attached messages", deep_messages),
        ("1,000,000 empty parts", empty_parts),
    ];
    for (label, raw) in cases {
        let started = Instant::now();
        let mail = parse(raw.as_bytes(), limits);
        let elapsed = started.elapsed();
        let flags: Vec<&str> = mail.flags.iter().map(|flag| flag.as_str()).collect();
        println!("hostile: {label:<30} {:>6.1} MB in {elapsed:>10.2?}  flags {flags:?}", raw.len() as f64 / 1e6);
    }
}
