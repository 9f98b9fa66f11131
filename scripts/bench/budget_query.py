#!/usr/bin/env python3
# The automatic-answer budget query with and without migration 0007's index (SQLite, the same
# statement as Store::automatic_replies_to), on an outbox of N entries for 20,000 recipients.
import sqlite3, glob, time, random, sys, os
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
def build(with_index):
    c = sqlite3.connect(':memory:')
    files = sorted(glob.glob('crates/sb-store/migrations/sqlite/*.sql'))
    for f in (files if with_index else files[:-1]):
        c.executescript(open(f).read())
    c.execute("PRAGMA foreign_keys=OFF")
    for trig in [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]:
        c.execute(f"DROP TRIGGER {trig}")
    rnd = random.Random(1)
    hour = 3600 * 1000
    c.executemany("INSERT INTO messages (id, ticket_id, channel, direction, content_type, raw_payload, body, body_is_html, metadata, stage, attempts, received_at) VALUES (?, 1, 'email', 'outbound', 'text/plain', x'', 'hi', 0, ?, 'none', 0, 0)",
                  ((i, '{"automatic":true}' if i % 3 else '{"automatic":false}') for i in range(N)))
    c.executemany("INSERT INTO outbox (id, ticket_id, message_id, channel, recipient, status, attempts, next_attempt_at, created_at) VALUES (?, 1, ?, 'email', ?, 'sent', 0, 0, ?)",
                  ((i, i, f"Customer{rnd.randrange(20000)}@example.com", rnd.randrange(90 * 24) * hour) for i in range(N)))
    c.commit()
    return c
q = """SELECT COUNT(*) FROM outbox JOIN messages ON messages.id = outbox.message_id WHERE outbox.channel = ? AND LOWER(outbox.recipient) = ? AND outbox.created_at >= ? AND messages.metadata LIKE '%"automatic":true%'"""
for with_index in (False, True):
    c = build(with_index)
    rnd = random.Random(2)
    since = (90 * 24 - 1) * 3600 * 1000
    times = []
    for _ in range(200):
        start = time.perf_counter()
        c.execute(q, ('email', f"customer{rnd.randrange(20000)}@example.com", since)).fetchone()
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"{'with' if with_index else 'without'} index: {N} outbox entries, p50 {times[100]*1000:.3f} ms, p99 {times[197]*1000:.3f} ms")
