"""The Python peer for sb-mail's parse benchmark: the same corpus files parsed with the standard
library's `email` package, timed in the same way as `cargo run --release -p sb-mail --example
parse_bench`, so the two can be quoted as a ratio when run in the same minutes.

What the peer does per mail is what a Python mail pipeline does at minimum:
`email.message_from_bytes(raw, policy=policy.default)`, then a walk over every part with the
content decoded (`get_content()`: transfer encoding and charset for text, bytes for the rest),
the subject, From and Message-ID headers read, and `get_body(('plain', 'html'))` chosen. No HTML
rendering and no quote stripping (sb_mail::parse does both), so the comparison favours the peer.

usage: python3 scripts/bench/peer_mail_parse.py [--corpus crates/sb-mail/tests/corpus] [--rounds 3] [--seconds 3] [--skip-malformed]
"""
import argparse
import time
from email import message_from_bytes, policy
from pathlib import Path


def parse_one(raw: bytes) -> int:
    message = message_from_bytes(raw, policy=policy.default)
    total = 0
    for header in ("subject", "from", "message-id"):
        try:
            value = message[header]
        except Exception:  # malformed headers raise from the header registry
            value = None
        total += len(str(value)) if value is not None else 0
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            content = part.get_content()
        except Exception:  # unknown charsets, broken encodings, message/* parts
            content = part.get_payload(decode=True) or b""
        total += len(content)
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        body = None
    return total + (1 if body is not None else 0)


def timed_round(mails, seconds):
    started = time.perf_counter()
    n_mails = 0
    checksum = 0
    while time.perf_counter() - started < seconds:
        for raw in mails:
            checksum += parse_one(raw)
            n_mails += 1
    return n_mails, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "crates/sb-mail/tests/corpus"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--skip-malformed", action="store_true", help="leave out the malformed_* mails (some are hostile on purpose)")
    args = parser.parse_args()
    paths = sorted(path for path in Path(args.corpus).glob("*.eml") if not (args.skip_malformed and path.name.startswith("malformed_")))
    mails = [path.read_bytes() for path in paths]
    corpus_bytes = sum(len(raw) for raw in mails)
    mean_bytes = corpus_bytes / len(mails)
    failures = 0
    for raw in mails:
        try:
            parse_one(raw)
        except Exception:
            failures += 1
    print(f"corpus: {len(mails)} mails, {corpus_bytes} bytes ({mean_bytes:.0f} bytes per mail) from {args.corpus}; {failures} raised")
    for round_idx in range(1, args.rounds + 1):
        n_mails, seconds = timed_round(mails, args.seconds)
        mails_per_second = n_mails / seconds
        print(f"round {round_idx}: python email (policy.default) {mails_per_second:>10.0f} mails/s {mails_per_second * mean_bytes / 1e6:>8.1f} MB/s ({n_mails} mails in {seconds:.2f} s)")


if __name__ == "__main__":
    main()
