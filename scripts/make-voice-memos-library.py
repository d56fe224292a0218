#!/usr/bin/env python3
"""A Voice Memos folder of N memos for the benchmarks: N short WAV recordings with
sidecar transcripts (so no recognizer is needed) and a CloudRecordings.db listing
them with titles, in WAL mode, as Voice Memos leaves it (macOS 14+ columns).

    python3 scripts/make-voice-memos-library.py N INBOX
"""
import os
import sqlite3
import struct
import sys
import time

n, inbox = int(sys.argv[1]), sys.argv[2]
os.makedirs(inbox, exist_ok=True)
samples = b"".join(struct.pack("<h", (k * 7919) % 20000 - 10000) for k in range(1600))
wav = b"".join([b"RIFF", struct.pack("<I", 36 + len(samples)), b"WAVEfmt ",
                struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16), b"data",
                struct.pack("<I", len(samples))]) + samples
db = sqlite3.connect(os.path.join(inbox, "CloudRecordings.db"))
db.execute("PRAGMA journal_mode=WAL")
db.executescript("""
CREATE TABLE ZFOLDER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
    ZCOUNTOFRECORDINGS INTEGER, ZRANK INTEGER, ZENCRYPTEDNAME VARCHAR, ZUUID VARCHAR);
CREATE TABLE ZCLOUDRECORDING (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
    ZFLAGS INTEGER, ZFOLDER INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZEVICTIONDATE TIMESTAMP,
    ZLOCALDURATION FLOAT, ZCUSTOMLABEL VARCHAR, ZCUSTOMLABELFORSORTING VARCHAR,
    ZENCRYPTEDTITLE VARCHAR, ZPATH VARCHAR, ZUNIQUEID VARCHAR, ZAUDIODIGEST BLOB);
""")
old = time.time() - 600
for i in range(n):
    name = f"2025{i % 12 + 1:02d}{i % 28 + 1:02d} {i % 24:02d}{i % 60:02d}{i % 60:02d}-{i:08X}.wav"
    path = os.path.join(inbox, name)
    with open(path, "wb") as f:
        f.write(wav)
    with open(path[:-4] + ".txt", "w") as f:
        f.write(f"Remind me to call the dentist about item {i} tomorrow.")
    os.utime(path, (old, old))
    os.utime(path[:-4] + ".txt", (old, old))
    db.execute(
        "INSERT INTO ZCLOUDRECORDING (ZPATH, ZUNIQUEID, ZCUSTOMLABEL, ZCUSTOMLABELFORSORTING,"
        " ZENCRYPTEDTITLE, ZDURATION, ZAUDIODIGEST) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (name, f"{i:08X}-4C2B-4E55-9D5A-{i:012X}", name[:15], f"Recording {i}",
         f"Recording {i}", 0.1, os.urandom(32)))
db.commit()
db.close()
os.utime(inbox, (old, old))
