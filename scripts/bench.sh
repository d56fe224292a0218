#!/usr/bin/env bash
# Whole-process benchmarks for voice-memo (the figures in README's "Benchmarks").
# Needs hyperfine, GNU time and ffmpeg (apt-get install hyperfine time ffmpeg).
# Prints medians; on a busy machine compare the ratio to /bin/true, measured in the
# same hyperfine run, rather than absolute times.
#   scripts/bench.sh               # everything (about 5 minutes, plus the builds)
#   scripts/bench.sh quick         # the nothing-to-do figures only
#   RUNS=50 scripts/bench.sh
# `cargo bench` (benches/voice_memo.rs) times the same paths inside one process.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
MODE=${1:-all}
cargo build --release --quiet --bin voice-memo
BIN=$PWD/target/release/voice-memo
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
# Throughput and upload memory: the real binary against the fake services
# (tests/integration/throughput.rs), each printing one BENCH line. The test binary
# runs the release voice-memo built above.
ASTRA_TEST_BIN_DIR=$PWD/target/release \
  cargo test --quiet --test integration -- --ignored --test-threads 1 --nocapture bench_ 2>&1 |
  grep -o 'BENCH .*' | sed 's/^BENCH //'
