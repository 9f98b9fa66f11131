#!/usr/bin/env bash
# Email import benchmark (issue 8): N generated mails in one mbox through
# `switchboard import mbox` into a fresh SQLite database, with triage (TF-IDF features), and
# the same file imported again (every mail found already stored).
#
#   scripts/bench-import-mail.sh [N=2000] [BINARY=target/debug/switchboard] [CONCURRENCY=8]
#
# The mails are multipart/alternative (text and HTML) with a quoted earlier message and a
# signature, bodies drawn from data/taxonomy/test.csv, one in ten a reply (In-Reply-To) to the
# mail five before it (threads of two); a fixed seed makes the file the same every run.
# Prints the import's JSON summaries (counts, seconds, mails per second).
set -euo pipefail
cd "$(dirname "$0")/.."

n_mails=${1:-2000}
binary=${2:-target/debug/switchboard}
concurrency=${3:-8}
dir=$(mktemp -d /tmp/switchboard-bench-mail.XXXXXX)
trap 'rm -rf "$dir"' EXIT

/usr/bin/env python3 - "$n_mails" "$dir/bench.mbox" <<'PY'
import csv, random, sys
n_mails, path = int(sys.argv[1]), sys.argv[2]
random.seed(8)
texts = [row["text"] for row in csv.DictReader(open("data/taxonomy/test.csv", encoding="utf-8"))]
with open(path, "w", encoding="utf-8", newline="\n") as out:
    for idx in range(n_mails):
        text = random.choice(texts)
        sender = f"customer{idx % 700}@example.com"
        reply = f"In-Reply-To: <bench-{idx - 5}@mail.example>\n" if idx >= 10 and idx % 10 == 0 else ""
        html = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.write(
            f"From {sender} Mon Nov  2 09:00:00 2026\n"
            f"From: Customer {idx % 700} <{sender}>\nTo: support@shop.example\n"
            f"Message-ID: <bench-{idx}@mail.example>\n{reply}"
            f"Date: Mon, 2 Nov 2026 09:{idx % 60:02d}:00 +0000\nSubject: Question {idx}\n"
            "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b\"\n\n"
            "--b\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{text}\n\nThanks,\nCustomer\n\nOn Sun, 1 Nov 2026, Shop <support@shop.example> wrote:\n> Thank you for your order.\n> Kind regards\n"
            f"--b\nContent-Type: text/html; charset=utf-8\n\n<p>{html}</p><p>Thanks,<br>Customer</p>\n--b--\n\n"
        )
PY
ls -l "$dir/bench.mbox" | awk '{print "mbox bytes:", $5}'
db="sqlite://$dir/bench.db"
echo "first import:"
"$binary" import mbox "$dir/bench.mbox" --db "$db" --no-embeddings --concurrency "$concurrency" --json
echo "second import (everything already stored):"
"$binary" import mbox "$dir/bench.mbox" --db "$db" --no-embeddings --concurrency "$concurrency" --json
