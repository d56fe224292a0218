#!/usr/bin/env bash
# Times whisper.cpp's own whisper-cli on 60 s of espeak-ng speech with tiny.en at 2
# threads: the reference for README's "60 s of speech" target (astra ≤ 1.1× this).
# whisper-cli is built (once, cached) from the whisper.cpp release the pinned
# whisper-rs-sys vendors, with the same cmake settings whisper-rs-sys uses (Release,
# static, GGML_OPENMP=OFF), so the two differ only by the Rust side.
#   scripts/bench-whisper-cli.sh
#   ASTRA_BIN=target/release/voice-memo scripts/bench-whisper-cli.sh   # astra too (when
#       the whisper provider exists: ASTRA_CMD, below, is what it runs)
#   RUNS=10 THREADS=2 MODEL=/path/ggml-tiny.en.bin scripts/bench-whisper-cli.sh
# Needs cmake, a C++ compiler, hyperfine, espeak-ng, ffmpeg, python3; the test model
# (bash scripts/make-test-model.sh). Sources: $WHISPER_CPP_SRC, else the release's
# tarball from GitHub, cached under ~/.cache/astra-ci/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}
# whisper-cli's defaults decode with beam search (-bs 5 -bo 5); DECODE must match what
# astra's provider uses for a fair ratio (greedy: DECODE="-bs 1 -bo 1").
DECODE=${DECODE:-}
CACHE=${ASTRA_CI_CACHE:-$HOME/.cache/astra-ci}
MODEL=${MODEL:-${ASTRA_TEST_WHISPER_MODEL:-$HOME/.cache/astra/test-models/ggml-tiny.en.bin}}
[ -f "$MODEL" ] || bash scripts/make-test-model.sh

# The whisper.cpp release vendored by the whisper-rs-sys in Cargo.lock (before the
# whisper feature lands: $WHISPER_RS_SYS_VERSION, default 0.15.0).
sys_version=$(awk '/^name = "whisper-rs-sys"/ {getline; gsub(/[version="[:space:]]/, ""); print}' Cargo.lock)
if [ -n "$sys_version" ]; then
  cargo fetch --locked --quiet
else
  sys_version=${WHISPER_RS_SYS_VERSION:-0.15.0}
  echo "bench-whisper-cli: whisper-rs-sys is not in Cargo.lock; using $sys_version"
fi
vendored=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/whisper-rs-sys-"$sys_version"/whisper.cpp 2>/dev/null | head -1)
[ -n "$vendored" ] || { echo "bench-whisper-cli: whisper-rs-sys $sys_version is not in ~/.cargo/registry (cargo fetch)" >&2; exit 2; }
wcpp=$(sed -n 's/^project("whisper.cpp" VERSION \([0-9.]*\)).*/\1/p' "$vendored/CMakeLists.txt")
echo "whisper-rs-sys $sys_version vendors whisper.cpp $wcpp"

src=${WHISPER_CPP_SRC:-$CACHE/whisper.cpp-$wcpp}
if [ ! -f "$src/examples/cli/cli.cpp" ]; then
  echo "bench-whisper-cli: fetching whisper.cpp v$wcpp sources into $src"
  mkdir -p "$src"
  curl -fsSL "https://github.com/ggml-org/whisper.cpp/archive/refs/tags/v$wcpp.tar.gz" |
    tar -xz -C "$src" --strip-components=1
fi
# The library sources must be the ones whisper-rs-sys builds.
if ! diff -rq "$vendored/src" "$src/src" >/dev/null || ! diff -rq "$vendored/ggml/src" "$src/ggml/src" >/dev/null; then
  echo "bench-whisper-cli: $src differs from whisper-rs-sys $sys_version's whisper.cpp" >&2
  exit 1
fi

build=$CACHE/whisper.cpp-build/$wcpp-static
CLI=$build/bin/whisper-cli
if [ ! -x "$CLI" ]; then
  echo "bench-whisper-cli: building whisper-cli in $build (log: $build.log)"
  { cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
      -DGGML_OPENMP=OFF -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_SERVER=OFF -DWHISPER_SDL2=OFF &&
    cmake --build "$build" -j 2 --target whisper-cli; } >"$build.log" 2>&1 ||
    { tail -30 "$build.log" >&2; exit 1; }
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# 60 s of speech: memo-like sentences at espeak-ng's default voice, cut to 60.0 s.
python3 - "$WORK/text.txt" <<'PY'
import sys
lines = ["Remind me to call the dentist tomorrow morning about the appointment.",
         "I need to buy milk, eggs and bread on the way home from work.",
         "Note for the project: the quarterly report is due on Friday afternoon.",
         "Ask Sarah whether the team meeting moved to Thursday at ten.",
         "Idea for the weekend: take the bikes to the lake if the weather holds."]
open(sys.argv[1], "w").write(" ".join(lines * 4))
PY
espeak-ng -v en-us -s 150 -f "$WORK/text.txt" -w "$WORK/long.wav"
ffmpeg -nostdin -loglevel error -y -i "$WORK/long.wav" -t 60 -ar 16000 -ac 1 -c:a pcm_s16le "$WORK/speech60.wav"
secs=$(python3 -c 'import sys,wave; w=wave.open(sys.argv[1]); print(round(w.getnframes()/w.getframerate(),2))' "$WORK/speech60.wav")
echo "audio: $secs s of speech; model: $MODEL; threads: $THREADS; decode: ${DECODE:-whisper-cli defaults}"

CLI_CMD="$CLI -m $MODEL -t $THREADS -l en -nt -np $DECODE -f $WORK/speech60.wav"
cmds=("$CLI_CMD")
names=(-n whisper-cli)
if [ -n "${ASTRA_BIN:-}" ]; then
  # The astra side (voice-memo transcribing the same file with the same model and
  # threads) is filled in by the whisper provider's work: ASTRA_CMD is the command.
  cmds+=("${ASTRA_CMD:-$ASTRA_BIN}")
  names+=(-n astra)
fi
$CLI_CMD >"$WORK/text.out" 2>/dev/null
echo "whisper-cli heard: $(head -c 300 "$WORK/text.out" | tr -s ' \n' ' ')..."
hyperfine --runs "$RUNS" --warmup 1 --export-json "$WORK/h.json" "${names[@]}" "${cmds[@]}" >/dev/null
python3 - "$WORK/h.json" "$secs" <<'PY'
import json, sys
secs = float(sys.argv[2])
res = json.load(open(sys.argv[1]))["results"]
for r in res:
    print(f"{r['command']:12s} median {r['median']:.2f} s  (min {r['min']:.2f}, max {r['max']:.2f}, "
          f"{len(r['times'])} runs)  real-time factor {r['median'] / secs:.3f}")
if len(res) == 2:
    print(f"astra / whisper-cli: {res[1]['median'] / res[0]['median']:.2f}x")
PY
