#!/usr/bin/env python3
"""Fills a memo catalogue (memos.db, schema already created by astra) with N completed
memos, each with a transcript, for benchmarks: make-catalogue.py N DB

Transcripts are 40 words drawn from a 3,000-word vocabulary; every 100th memo also
mentions "dentist" (so `astra memos search dentist` has 1 % of the memos to rank)."""
import json, random, sqlite3, sys

n, db = int(sys.argv[1]), sys.argv[2]
rng = random.Random(12)
syll = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po", "ber", "an", "el", "or", "us"]
vocab = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(4000)})[:3000]
con = sqlite3.connect(db)
con.execute("PRAGMA synchronous = OFF")
rows = []
for i in range(n):
    name = f"2024{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d} {i % 24:02d}{i % 60:02d}00-{i:08X}.m4a"
    words = [rng.choice(vocab) for _ in range(40)]
    if i % 100 == 0:
        words[rng.randrange(40)] = "dentist"
    text = " ".join(words).capitalize() + "."
    outputs = {"todos": [f"Todos.md#astra-{i:012x}-t0"], "notes": [], "journal": []}
    rec = f"2024-{(i // 28) % 12 + 1:02d}-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
    rows.append((
        name, f"{i:012x}", " ".join(words[:4]).capitalize(), rec, 1704067200 + i * 60, 12.5,
        "completed", "archived", 1, "sha256:" + f"{i:064x}", f"/home/you/.astra/archive/{name}",
        text, "sidecar", json.dumps(outputs), "\n".join(outputs["todos"]),
        "2024-01-01 00:00:00+00:00", "2024-01-01 00:00:00+00:00",
    ))
con.executemany(
    """INSERT INTO memos(file, id, title, recorded_at, recorded_unix, duration, status, stage,
       attempts, digest, archived_to, transcript, transcript_provider, outputs, outputs_text,
       created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
    rows,
)
con.commit()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
