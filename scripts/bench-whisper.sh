#!/usr/bin/env bash
# The built-in recognizer's benchmark (README "Benchmarks"): 60 s of speech (espeak-ng),
# tiny.en, 2 threads, one memo through the release `voice-memo`: wall time of the whole
# run, whisper's own time from the log (model load excluded), real-time factor, peak
# RSS. With whisper-cli (WHISPER_CLI, or what scripts/bench-whisper-cli.sh builds, from
# the same whisper.cpp release) the same file, model, threads and decoding (greedy,
# no context, non-speech tokens suppressed) for the ratio.
#
#   scripts/bench-whisper.sh                 # the test model, 3 runs each
#   MODEL=~/.astra/models/ggml-base.en.bin RUNS=5 scripts/bench-whisper.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-$HOME/.cache/astra/test-models/ggml-tiny.en.bin}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
[ -f "$MODEL" ] || { echo "no model at $MODEL (scripts/make-test-model.sh makes the test one)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
# VOICE_MEMO=target/debug/voice-memo measures a debug build (whisper.cpp, symphonia
# and rubato are optimised there too); the default is the release build.
if [ -n "${VOICE_MEMO:-}" ]; then
  BIN=$(realpath "$VOICE_MEMO")
else
  cargo build --release --bins --quiet
  BIN=$PWD/target/release/voice-memo
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# 60 s of speech: a memo-like paragraph, spoken, cut or padded to exactly 60 s.
TEXT="Remind me to call the dentist tomorrow morning about the appointment. I need to buy milk, \
eggs and bread on the way home. Note for the project: the launch checklist should go to the \
whole team on day one, not on the last day. Today I felt good about the run this morning, \
even though it was cold and the park was empty. Remember to send the invoice to the client \
by Friday and ask about the new contract. I should also book the train tickets for the \
conference next month before the prices go up. Call mom on Sunday. Idea for the app: let \
people record a memo from the lock screen and see the todo appear a minute later. Pick up \
the dry cleaning on Thursday. Read the chapter on testing before the meeting with the team."
espeak-ng -v en-us -s 150 -w "$W/voice.wav" "$TEXT"
ffmpeg -nostdin -loglevel error -y -i "$W/voice.wav" -af "apad=whole_dur=60" -t 60 \
  -ar 16000 -ac 1 -c:a pcm_s16le "$W/speech.wav"
ffmpeg -nostdin -loglevel error -y -i "$W/speech.wav" -c:a aac -b:a 64k "$W/speech.m4a"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

CLI=${WHISPER_CLI:-}
# scripts/bench-whisper-cli.sh builds it here from the whisper.cpp release whisper-rs-sys vendors.
for c in "$HOME"/.cache/astra-ci/whisper.cpp-build/*-static/bin/whisper-cli; do
  if [ -z "$CLI" ] && [ -x "$c" ]; then CLI=$c; fi
done

# One voice-memo run: wall, peak RSS, whisper's own time and the model load (ms).
astra_run() { # i
  local H=$W/home$1
  mkdir -p "$H/inbox"
  cp "$W/speech.m4a" "$H/inbox/memo.m4a"
  touch -d '-5 min' "$H/inbox/memo.m4a"
  cat > "$H/config.toml" <<EOF
[voice_memo]
inbox = "$H/inbox"
settle_seconds = 0
concurrency = 1
[sync.markdown]
dir = "$H/vault"
[transcription]
whisper_model = "$MODEL"
whisper_threads = $THREADS
EOF
  /usr/bin/time -f "%e %M" -o "$H/time" env ASTRA_HOME="$H" "$BIN" --json > "$H/out.json"
  read -r wall rss_kb < "$H/time"
  whisper_ms=$(grep -h '"whisper: transcribed"' "$H"/logs/* | sed 's/.*"elapsed_ms":\([0-9]*\).*/\1/')
  load_ms=$(grep -h '"whisper: model loaded"' "$H"/logs/* | sed 's/.*"ms":\([0-9]*\).*/\1/')
  echo "$wall $rss_kb $whisper_ms $load_ms" >> "$W/astra.txt"
  echo "run $1: voice-memo wall ${wall}s, peak RSS $((rss_kb / 1024)) MiB, whisper ${whisper_ms} ms, model load ${load_ms} ms"
}

cli_run() { # i
  /usr/bin/time -f "%e %M" -o "$W/cli.time" "$CLI" -m "$MODEL" -f "$W/speech.wav" -t "$THREADS" \
    -bs 1 -mc 0 -sns -nt -np > "$W/cli.out" 2>/dev/null
  read -r wall rss_kb < "$W/cli.time"
  echo "$wall $rss_kb" >> "$W/cli.txt"
  echo "run $1: whisper-cli wall ${wall}s, peak RSS $((rss_kb / 1024)) MiB"
}

echo "== voice-memo (release), $(basename "$MODEL"), $THREADS threads, 60 s m4a, $RUNS runs"
if [ -n "$CLI" ]; then
  echo "   each followed by whisper-cli ($CLI) on the same audio (16 kHz WAV), model and"
  echo "   threads; greedy (-bs 1), no context (-mc 0), -sns. Interleaved: both see the same load."
fi
: > "$W/astra.txt"
: > "$W/cli.txt"
for i in $(seq "$RUNS"); do
  astra_run "$i"
  if [ -n "$CLI" ]; then cli_run "$i"; fi
done
a_wall=$(cut -d' ' -f1 "$W/astra.txt" | median)
a_rss=$(cut -d' ' -f2 "$W/astra.txt" | median)
a_whisper=$(cut -d' ' -f3 "$W/astra.txt" | median)
echo "voice-memo median: wall ${a_wall}s, whisper ${a_whisper} ms (RTF $(awk "BEGIN {printf \"%.3f\", $a_whisper/60000}")), peak RSS $((${a_rss%.*} / 1024)) MiB"
if [ -n "$CLI" ]; then
  c_wall=$(cut -d' ' -f1 "$W/cli.txt" | median)
  # Each pair ran back to back: the median of the pairs' ratios is the figure to trust.
  ratio=$(paste -d' ' "$W/astra.txt" "$W/cli.txt" | awk '{print $1/$5}' | median)
  echo "whisper-cli median: wall ${c_wall}s; voice-memo / whisper-cli: $(awk "BEGIN {printf \"%.2f\", $a_wall/$c_wall}") (medians), $(awk "BEGIN {printf \"%.2f\", $ratio}") (median of the pairs)"
else
  echo "(no whisper-cli: set WHISPER_CLI or run scripts/bench-whisper-cli.sh for the ratio)"
fi
echo "== binary: $(stat -c %s "$BIN" | awk '{printf "%.1f MiB", $1/1048576}') ($BIN)"
