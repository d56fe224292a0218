#!/usr/bin/env python3
"""Writes a state.json with N completed voice memos (for benchmarks): make-state.py N OUT"""
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
items = {}
for i in range(n):
    name = f"2024{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d} {i % 24:02d}{i % 60:02d}00-{i:08X}.m4a"
    items[name] = {
        "status": "completed", "stage": "archived", "attempts": 1, "id": f"{i:012x}",
        "digest": "sha256:" + f"{i:064x}", "recorded_at": "2024-01-05T09:30:00+01:00",
        "outputs": {"todos": [f"Todos.md#astra-{i:012x}-t0"], "notes": [], "journal": []},
        "last_error": None, "next_attempt_at": None,
        "archived_to": f"/Users/you/.astra/archive/{name}",
    }
with open(out, "w") as f:
    json.dump({"version": 1, "jobs": {"voiceMemo": {"items": items, "failed": []}}}, f, separators=(",", ":"))
