#!/usr/bin/env bash
# Whole-process benchmarks for voice-memo (the figures in README's "Benchmarks").
# Needs hyperfine, GNU time and ffmpeg (apt-get install hyperfine time ffmpeg).
# Prints medians; on a busy machine compare the ratio to /bin/true, measured in the
# same hyperfine run, rather than absolute times.
#   scripts/bench.sh               # everything (about 5 minutes, plus the builds)
#   scripts/bench.sh quick         # the nothing-to-do figures only
#   scripts/bench.sh catalogue     # the memo catalogue's figures only
#   scripts/bench.sh library       # nothing to do in a Voice Memos folder of 2,000 memos
#   RUNS=50 scripts/bench.sh
# `cargo bench` (benches/voice_memo.rs) times the same paths inside one process.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
MODE=${1:-all}
cargo build --release --quiet --bin voice-memo --bin astra
BIN=$PWD/target/release/voice-memo
ASTRA=$PWD/target/release/astra
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

setup() { # name items inbox_files
  local home=$WORK/$1
  mkdir -p "$home/inbox"
  python3 scripts/make-state.py "$2" "$home/state.json"
  if [ "$3" -gt 0 ]; then
    python3 - "$home" "$3" <<'PY'
import json, os, sys
home, n = sys.argv[1], int(sys.argv[2])
names = list(json.load(open(f"{home}/state.json"))["jobs"]["voiceMemo"]["items"])[:n]
for name in names:
    open(os.path.join(home, "inbox", name), "wb").close()
PY
  fi
  printf '[voice_memo]\nsettle_seconds = 0\n' > "$home/config.toml"
  ASTRA_HOME=$home "$BIN" >/dev/null 2>&1 || true   # builds the seen-index
}

median_ms() { # hyperfine json, result index → median in ms
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"]*1000))' "$1" "$2"
}

rss_mib() { # home → peak RSS of one run in MiB
  local kib; kib=$( { ASTRA_HOME=$1 /usr/bin/time -f '%M' "$BIN" >/dev/null; } 2>&1 | tail -1)
  python3 -c "print('%.1f' % ($kib / 1024))"
}

row() { printf '%-50s %s\n' "$1" "$2"; }

# The memo catalogue: 40 new sidecar memos with 50,000 done vs none (one run each,
# median of 3 fresh copies), that run's peak RSS, nothing to do with 100,000 done,
# and `astra memos search` over 50,000 transcripts.
catalogue_home() { # name done_memos
  local home=$WORK/$1
  mkdir -p "$home/inbox" "$home/vault"
  printf '[voice_memo]\ninbox = "%s"\nsettle_seconds = 0\n[sync.markdown]\ndir = "%s"\n' \
    "$home/inbox" "$home/vault" > "$home/config.toml"
  ASTRA_HOME=$home "$ASTRA" memos retry --all >/dev/null   # creates memos.db
  if [ "$2" -gt 0 ]; then python3 scripts/make-catalogue.py "$2" "$home/memos.db"; fi
}
forty_memos() { # home
  python3 - "$1/inbox" <<'PY'
import os, struct, sys, time
inbox = sys.argv[1]
for i in range(40):
    name = f"20260301 {i:02d}0000-NEW{i:04d}"
    samples = b"".join(struct.pack("<h", (i * 7919 + k * 104729) % 20000 - 10000) for k in range(8000))
    data = b"".join([b"RIFF", struct.pack("<I", 36 + len(samples)), b"WAVEfmt ",
        struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16), b"data", struct.pack("<I", len(samples))])
    open(f"{inbox}/{name}.wav", "wb").write(data + samples)
    open(f"{inbox}/{name}.txt", "w").write(f"Remind me to call the dentist about item {i} tomorrow. Note: idea {i}, a garden plan.")
    old = time.time() - 600
    os.utime(f"{inbox}/{name}.wav", (old, old)); os.utime(f"{inbox}/{name}.txt", (old, old))
PY
}
run_forty() { # template home → "seconds rss_mib"
  local t=$WORK/run.$RANDOM
  cp -a "$1" "$t"
  sed -i "s|$1|$t|g" "$t/config.toml"
  # The copy's state.json is a new inode, so its seen-index is stale: a run with
  # nothing to do rebuilds it, as the previous run would have left it.
  ASTRA_HOME=$t "$BIN" >/dev/null 2>&1 || true
  forty_memos "$t"
  ASTRA_HOME=$t /usr/bin/time -f '%e %M' -o "$t.time" "$BIN" >/dev/null 2>&1 || true
  local out; out=$(tail -1 "$t.time")
  rm -rf "$t" "$t.time"
  python3 -c "e, m = '$out'.split(); print(e, '%.1f' % (int(m) / 1024))"
}
median() { sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
catalogue_bench() {
  catalogue_home c0 0
  catalogue_home c50k 50000
  local e0=() e50=() r50=()
  for _ in 1 2 3; do
    read -r s _ < <(run_forty "$WORK/c0"); e0+=("$s")
    read -r s r < <(run_forty "$WORK/c50k"); e50+=("$s"); r50+=("$r")
  done
  local m0 m50 rss
  m0=$(printf '%s\n' "${e0[@]}" | sort -n | sed -n 2p)
  m50=$(printf '%s\n' "${e50[@]}" | sort -n | sed -n 2p)
  rss=$(printf '%s\n' "${r50[@]}" | sort -n | tail -1)
  row "40 new memos, empty catalogue (median of 3)" "$m0 s"
  row "40 new memos, 50,000 done in the catalogue" "$m50 s = $(python3 -c "print('%.2f' % ($m50 / $m0))")×   peak RSS $rss MiB (max of 3)"
  # Nothing to do with 100,000 done: one working run builds the seen-index.
  catalogue_home c100k 100000
  forty_memos "$WORK/c100k"
  ASTRA_HOME=$WORK/c100k "$BIN" >/dev/null 2>&1 || true
  rm -f "$WORK"/c100k/inbox/*
  ASTRA_HOME=$WORK/c100k hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$WORK/c100k.json" \
    /bin/true "$BIN" >/dev/null 2>&1
  local ms tr; ms=$(median_ms "$WORK/c100k.json" 1); tr=$(median_ms "$WORK/c100k.json" 0)
  local cpu; cpu=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; c=[(x["user"]+x["system"])*1000 for x in r]; print("CPU %.2f ms vs %.2f ms = %.1f×" % (c[1], c[0], c[1]/c[0]))' "$WORK/c100k.json")
  row "nothing to do, 100,000 done in the catalogue" "$ms ms = $(python3 -c "print('%.1f' % ($ms / $tr))")× /bin/true ($tr ms); $cpu   peak RSS $(rss_mib "$WORK/c100k") MiB"
  ASTRA_HOME=$WORK/c50k hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/search.json" \
    "$ASTRA memos search dentist" "$ASTRA memos search dentist --json" "$ASTRA memos list -n 50" >/dev/null 2>&1
  row "astra memos search dentist, 50,000 transcripts (500 hits)" "$(median_ms "$WORK/search.json" 0) ms table, $(median_ms "$WORK/search.json" 1) ms --json"
  row "astra memos list -n 50, 50,000 memos" "$(median_ms "$WORK/search.json" 2) ms"
}
# Nothing to do in a Voice Memos folder of 2,000 memos with its database: the first
# such run lists the folder and reads the database; the ones after it see the folder
# unchanged (cache/voice-memo.inbox) and list nothing.
library_bench() {
  local home=$WORK/vm2000
  mkdir -p "$home"
  python3 scripts/make-voice-memos-library.py 2000 "$home/inbox"
  printf '[voice_memo]\ninbox = "%s"\nsettle_seconds = 0\narchive_mode = "none"\n[sync.markdown]\ndir = "%s"\n' \
    "$home/inbox" "$home/vault" > "$home/config.toml"
  ASTRA_HOME=$home "$BIN" >/dev/null 2>&1 || true   # processes the 2,000
  touch -d '-1 min' "$home/inbox"
  ASTRA_HOME=$home "$BIN" >/dev/null 2>&1 || true   # nothing to do: records the fingerprint
  ASTRA_HOME=$home hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/vm2000.json" \
    /bin/true "$BIN" >/dev/null 2>&1
  local ms tr; ms=$(median_ms "$WORK/vm2000.json" 1); tr=$(median_ms "$WORK/vm2000.json" 0)
  row "nothing to do, Voice Memos folder of 2,000 + database" "$ms ms = $(python3 -c "print('%.1f' % ($ms / $tr))")× /bin/true ($tr ms)"
  ASTRA_HOME=$home hyperfine -N --warmup 1 --runs 20 --export-json "$WORK/vm2000l.json" \
    --prepare "rm -f $home/cache/voice-memo.inbox" "$BIN" >/dev/null 2>&1
  row "  the same, when it lists (the first after a change)" "$(median_ms "$WORK/vm2000l.json" 0) ms (median of 20)"
}
if [ "$MODE" = library ]; then
  echo "median of $RUNS runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  library_bench
  exit 0
fi
if [ "$MODE" = catalogue ]; then
  echo "median of $RUNS runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  catalogue_bench
  exit 0
fi

setup s10k 10000 0
setup s100k 100000 0
setup inbox20k 20000 20000

# Each case in one hyperfine run with /bin/true, ASTRA_HOME exported (no `env` exec in
# the measured command): the ratio is what the target is about.
timed() { # name home → "median_ms true_ms"
  ASTRA_HOME=$2 hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$WORK/$1.json" \
    /bin/true "$BIN" >/dev/null 2>&1
  echo "$(median_ms "$WORK/$1.json" 1) $(median_ms "$WORK/$1.json" 0)"
}
ratio() { python3 -c "print('%.1f' % ($1 / $2))"; }
echo "median of $RUNS runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
read -r MS TRUE < <(timed s10k "$WORK/s10k")
row "nothing to do, 10,000 completed, empty inbox" "$MS ms = $(ratio "$MS" "$TRUE")× /bin/true ($TRUE ms)   peak RSS $(rss_mib "$WORK/s10k") MiB"
read -r MS TRUE < <(timed s100k "$WORK/s100k")
row "nothing to do, 100,000 completed" "$MS ms = $(ratio "$MS" "$TRUE")× /bin/true ($TRUE ms)   peak RSS $(rss_mib "$WORK/s100k") MiB"
read -r MS TRUE < <(timed inbox20k "$WORK/inbox20k")
row "inbox of 20,000 files, none new" "$MS ms = $(ratio "$MS" "$TRUE")× /bin/true ($TRUE ms)   peak RSS $(rss_mib "$WORK/inbox20k") MiB"
# The floor: a Rust program that does nothing (`fn main() {}`, built like the release
# binary), against /bin/true in the same hyperfine run: what starting any Rust program
# costs here, before astra does anything.
printf 'fn main() {}\n' > "$WORK/empty.rs"
if rustc -O -C panic=abort -C strip=symbols "$WORK/empty.rs" -o "$WORK/empty" 2>/dev/null; then
  hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$WORK/floor.json" \
    /bin/true "$WORK/empty" >/dev/null 2>&1
  E=$(median_ms "$WORK/floor.json" 1); T=$(median_ms "$WORK/floor.json" 0)
  row "an empty Rust program (the floor)" "$E ms = $(ratio "$E" "$T")× /bin/true ($T ms)"
fi
if command -v perf >/dev/null && perf stat -e task-clock true 2>/dev/null; then
  cpu() { ASTRA_HOME=$WORK/s10k perf stat -x, -e task-clock -r "$RUNS" "$@" 2>&1 >/dev/null | cut -d, -f1; }
  row "CPU time (perf task-clock), 10,000 completed" "$(cpu "$BIN") ms vs /bin/true $(cpu /bin/true) ms"
fi

# Cold start: the first run after the page cache is dropped (binary, config, index
# read from disk), median of 3.
cold=()
for _ in 1 2 3; do
  if [ -w /proc/sys/vm/drop_caches ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
    start=$(date +%s%N); ASTRA_HOME=$WORK/s10k "$BIN" >/dev/null; end=$(date +%s%N)
    cold+=("$(( (end - start) / 1000 ))")
  fi
done
if [ ${#cold[@]} -gt 0 ]; then
  row "cold start, 10,000 completed (page cache dropped)" "$(printf '%s\n' "${cold[@]}" | sort -n | sed -n "$(( (${#cold[@]} + 1) / 2 ))p" | awk '{printf "%.1f", $1 / 1000}') ms (median of ${#cold[@]})"
else
  row "cold start" "not measured: dropping the page cache is not permitted here"
fi
cp "$BIN" "$WORK/vm" && strip "$WORK/vm"
row "voice-memo binary (release, stripped)" "$(python3 -c "import os; print('%.1f' % (os.path.getsize('$WORK/vm') / 1048576))") MiB"

[ "$MODE" = quick ] && exit 0
catalogue_bench
# Throughput and upload memory: the real binary against the fake services
# (tests/integration/throughput.rs), each printing one BENCH line. The test binary
# runs the release voice-memo built above.
ASTRA_TEST_BIN_DIR=$PWD/target/release \
  cargo test --quiet --test integration -- --ignored --test-threads 1 --nocapture bench_ 2>&1 |
  grep -o 'BENCH .*' | sed 's/^BENCH //'
