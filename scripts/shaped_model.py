#!/usr/bin/env python3
"""Write a ggml Whisper model with another model's shapes and zero weights.

    python3 scripts/shaped_model.py TINY.bin OUT.bin base.en

For measuring memory where the real model cannot be downloaded (CI and the
project's machine reach no Hugging Face): whisper.cpp's peak memory while
transcribing is the weights plus buffers whose sizes follow the hyperparameters
(KV caches, the encoder and decoder graphs, the mel), not the weights' values.
So a file with base.en's hyperparameters and tensor shapes, read from a real
(tiny) model's header, vocabulary and tensor list and scaled up, loads and runs
with base.en's memory. Its transcripts are nonsense, its timings meaningless.

Only the Python standard library is used.
"""

import os
import struct
import sys

GGML_MAGIC = 0x67676D6C

# n_audio_state (= n_text_state), heads, layers: whisper's model card.
SHAPES = {
    "tiny.en": (384, 6, 4),
    "base.en": (512, 8, 6),
    "small.en": (768, 12, 12),
}


def read_tensors(f):
    """(name, ftype, shape innermost first) of each tensor, skipping the data."""
    out = []
    while True:
        head = f.read(12)
        if not head:
            return out
        n_dims, name_len, ftype = struct.unpack("<iii", head)
        shape = list(struct.unpack(f"<{n_dims}i", f.read(4 * n_dims)))
        name = f.read(name_len).decode("utf-8")
        count = 1
        for d in shape:
            count *= d
        f.seek(count * (2 if ftype == 1 else 4), 1)
        out.append((name, ftype, shape))


def main(argv):
    if len(argv) != 4 or argv[3] not in SHAPES:
        sys.exit(f"usage: {argv[0]} TINY.bin OUT.bin {'|'.join(SHAPES)}")
    src, out_path, target = argv[1], argv[2], argv[3]
    state, heads, layers = SHAPES[target]
    with open(src, "rb") as f:
        if struct.unpack("<I", f.read(4))[0] != GGML_MAGIC:
            sys.exit(f"{src}: not a ggml model")
        hp = list(struct.unpack("<11i", f.read(44)))
        n_mel, n_fft = struct.unpack("<ii", f.read(8))
        filters = f.read(4 * n_mel * n_fft)
        n_vocab = struct.unpack("<i", f.read(4))[0]
        vocab = []
        for _ in range(n_vocab):
            (n,) = struct.unpack("<i", f.read(4))
            vocab.append(f.read(n))
        tensors = read_tensors(f)
    old_state, old_layers = hp[2], hp[4]
    if hp[6] != old_state or hp[8] != old_layers:
        sys.exit(f"{src}: encoder and decoder differ in width or depth {hp}")
    hp[2], hp[3], hp[4] = state, heads, layers
    hp[6], hp[7], hp[8] = state, heads, layers

    def scale(d):
        return d // old_state * state if d % old_state == 0 and d >= old_state else d

    # Block 0's tensors stand for every block of the new depth.
    shaped = []
    for name, ftype, shape in tensors:
        parts = name.split(".")
        if len(parts) > 2 and parts[1] == "blocks":
            if parts[2] != "0":
                continue
            for i in range(layers):
                parts[2] = str(i)
                shaped.append((".".join(parts), ftype, [scale(d) for d in shape]))
        else:
            shaped.append((name, ftype, [scale(d) for d in shape]))

    zeros = bytes(1 << 20)
    tmp = out_path + ".part"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<I", GGML_MAGIC))
        out.write(struct.pack("<11i", *hp))
        out.write(struct.pack("<ii", n_mel, n_fft))
        out.write(filters)
        out.write(struct.pack("<i", len(vocab)))
        for tok in vocab:
            out.write(struct.pack("<i", len(tok)))
            out.write(tok)
        for name, ftype, shape in shaped:
            raw = name.encode("utf-8")
            out.write(struct.pack("<iii", len(shape), len(raw), ftype))
            out.write(struct.pack(f"<{len(shape)}i", *shape))
            out.write(raw)
            left = (2 if ftype == 1 else 4)
            for d in shape:
                left *= d
            while left:
                n = min(left, len(zeros))
                out.write(zeros[:n])
                left -= n
    os.replace(tmp, out_path)
    size = os.path.getsize(out_path)
    print(f"{out_path}: {target}-shaped, zero weights, {len(shaped)} tensors, "
          f"{size / 1048576:.1f} MiB, hparams {hp}")


if __name__ == "__main__":
    main(sys.argv)
