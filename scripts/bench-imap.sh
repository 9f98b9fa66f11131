#!/usr/bin/env bash
# IMAP ingest benchmark (issue 8): N generated mails appended to a fresh folder of the test
# Dovecot (scripts/services.sh), then `switchboard serve` with that folder as an
# [[email.imap]] mailbox on a fresh SQLite database; prints the seconds from the server's
# /ready to the last mail fetched and to the last one triaged (read from /metrics).
#
#   scripts/bench-imap.sh [N=10000] [BINARY=target/debug/switchboard]
#
# The mails are the ones scripts/bench-import-mail.sh generates (multipart/alternative with a
# quoted earlier message and a signature, bodies from data/taxonomy/test.csv).
set -euo pipefail
cd "$(dirname "$0")/.."

n_mails=${1:-10000}
binary=${2:-target/debug/switchboard}
dir=$(mktemp -d /tmp/switchboard-bench-imap.XXXXXX)
folder="Bench$$n$(date +%s)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# The mails, appended over IMAP the way a mail server delivers them.
/usr/bin/python3 - "$n_mails" "$folder" <<'PY'
import csv, imaplib, random, sys, time
n_mails, folder = int(sys.argv[1]), sys.argv[2]
random.seed(8)
texts = [row["text"] for row in csv.DictReader(open("data/taxonomy/test.csv", encoding="utf-8"))]
imap = imaplib.IMAP4("127.0.0.1", 3143)
imap.login("switchboard", "switchboard-test")
imap.create(folder)
started = time.time()
for idx in range(n_mails):
    text = random.choice(texts)
    sender = f"customer{idx % 700}@example.com"
    reply = f"In-Reply-To: <bench-{idx - 5}-{folder}@mail.example>\r\n" if idx >= 10 and idx % 10 == 0 else ""
    html = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    mail = (
        f"From: Customer {idx % 700} <{sender}>\r\nTo: support@shop.example\r\n"
        f"Message-ID: <bench-{idx}-{folder}@mail.example>\r\n{reply}"
        f"Date: Mon, 2 Nov 2026 09:{idx % 60:02d}:00 +0000\r\nSubject: Question {idx}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{text}\r\n\r\nThanks,\r\nCustomer\r\n\r\nOn Sun, 1 Nov 2026, Shop <support@shop.example> wrote:\r\n> Thank you for your order.\r\n> Kind regards\r\n"
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{html}</p><p>Thanks,<br>Customer</p>\r\n--b--\r\n"
    )
    imap.append(folder, None, None, mail.encode("utf-8"))
imap.logout()
print(f"appended {n_mails} mails to {folder} in {time.time() - started:.1f} s")
PY

cat >"$dir/switchboard.toml" <<CONF
[[email.imap]]
name = "bench"
host = "127.0.0.1"
port = 3143
tls = "none"
username = "switchboard"
password_env = "SB_BENCH_IMAP_PASSWORD"
folder = "$folder"
CONF
db="sqlite://$dir/bench.db"
token=$("$binary" token create --db "$db" --name bench --scopes read 2>/dev/null | tail -1)
port=$((20000 + RANDOM % 20000))
SB_BENCH_IMAP_PASSWORD=switchboard-test SWITCHBOARD_LOG=warn "$binary" serve --db "$db" --addr "127.0.0.1:$port" \
  --no-embeddings --config "$dir/switchboard.toml" >"$dir/serve.log" 2>&1 &
server_pid=$!
until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.1; done
ready=$(date +%s.%N)
metric() { curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | awk -v name="$1" 'index($0, name) == 1 { sum += $NF } END { print sum + 0 }'; }
fetched_at=""
while :; do
  fetched=$(metric 'switchboard_imap_mails_fetched_total{mailbox="bench"}')
  triaged=$(metric 'switchboard_messages_triaged_total{')
  now=$(date +%s.%N)
  if [ -z "$fetched_at" ] && [ "${fetched%.*}" -ge "$n_mails" ]; then fetched_at=$now; fi
  if [ "${triaged%.*}" -ge "$n_mails" ]; then break; fi
  sleep 0.5
done
echo "fetched $n_mails mails in $(echo "$fetched_at - $ready" | bc) s, all triaged after $(echo "$now - $ready" | bc) s" \
  "($(echo "$n_mails / ($now - $ready)" | bc) mails/s end to end)"
