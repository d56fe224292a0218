#!/usr/bin/env bash
# Whole-process benchmarks for voice-memo (issue: fast and frugal). Needs hyperfine and
# GNU time (apt-get install hyperfine time). Prints medians; compare ratios, not
# absolute numbers, on a busy machine.
#   scripts/bench.sh            # all
#   RUNS=50 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
cargo build --release --quiet
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

median_ms() { # hyperfine json → median in ms
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}

bench() { # label home
  hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/h.json" "env ASTRA_HOME=$2 $BIN" >/dev/null 2>&1
  local ms; ms=$(median_ms "$WORK/h.json")
  local rss; rss=$( { ASTRA_HOME=$2 /usr/bin/time -f '%M' "$BIN" >/dev/null; } 2>&1 | tail -1)
  printf '%-44s median %7s ms   peak RSS %6.1f MiB\n' "$1" "$ms" "$(echo "$rss/1024" | bc -l)"
}

setup s10k 10000 0
setup s100k 100000 0
setup inbox20k 20000 20000

hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/t.json" /bin/true >/dev/null 2>&1
TRUE=$(median_ms "$WORK/t.json")
printf '%-44s median %7s ms\n' "/bin/true" "$TRUE"
bench "nothing to do, 10,000 completed, empty inbox" "$WORK/s10k"
bench "nothing to do, 100,000 completed" "$WORK/s100k"
bench "inbox of 20,000 files, none new" "$WORK/inbox20k"
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/h.json" "env ASTRA_HOME=$WORK/s10k $BIN" >/dev/null 2>&1
printf '%-44s %.1f× /bin/true\n' "ratio (10,000 completed)" "$(echo "$(median_ms "$WORK/h.json") / $TRUE" | bc -l)"
if [ -w /proc/sys/vm/drop_caches ]; then
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && {
    start=$(date +%s%N); ASTRA_HOME=$WORK/s10k "$BIN" >/dev/null; end=$(date +%s%N)
    printf '%-44s %7.2f ms\n' "cold start (caches dropped)" "$(echo "($end-$start)/1000000" | bc -l)"
  } || echo "cold start: dropping caches not permitted here"
else
  echo "cold start: dropping caches not permitted here"
fi
cp "$BIN" "$WORK/vm" && strip "$WORK/vm"
printf '%-44s %7.2f MiB\n' "voice-memo binary (release, stripped)" "$(echo "$(stat -c %s "$WORK/vm")/1048576" | bc -l)"
