//! The speech models astra knows by name: whisper.cpp's ggml files on Hugging Face,
//! pinned to one revision of the `ggerganov/whisper.cpp` repository, with their exact
//! size and SHA-256.
//!
//! Sources: the SHA-256 of each file is its Git LFS object id at that revision (the
//! same values appear as SRI hashes in nixpkgs-style model definitions and in several
//! projects' pinned manifests; all seven agree); sizes are the LFS pointer sizes.
//! whisper.cpp's own `models/README.md` lists SHA-1s of the same files.

/// The Hugging Face repository the models come from.
pub const REPO: &str = "ggerganov/whisper.cpp";
/// The pinned commit of [`REPO`] (the URLs never follow `main`).
pub const REVISION: &str = "5359861c739e955e79d9a303bcbc70fb988958b1";
/// The default download host; `ASTRA_MODEL_BASE_URL` replaces it.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co";
/// The environment variable that replaces [`DEFAULT_BASE_URL`].
pub const BASE_URL_ENV: &str = "ASTRA_MODEL_BASE_URL";

/// One catalogue model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// The name in `whisper_model` and `astra models pull NAME`.
    pub name: &'static str,
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: &'static str,
    /// What it is good for, for `astra models list`.
    pub note: &'static str,
}

impl Model {
    /// `ggml-<name>.bin`: the file name on Hugging Face and under `models/`.
    pub fn file_name(&self) -> String {
        format!("ggml-{}.bin", self.name)
    }

    /// English-only models (`.en`) are told the language; the others detect it.
    pub fn english_only(&self) -> bool {
        self.name.ends_with(".en")
    }

    /// The download URL under `base` (no trailing slash needed).
    pub fn url(&self, base: &str) -> String {
        format!(
            "{}/{REPO}/resolve/{REVISION}/{}",
            base.trim_end_matches('/'),
            self.file_name()
        )
    }
}

/// The catalogue, smallest first.
pub const CATALOGUE: &[Model] = &[
    Model {
        name: "tiny.en",
        size: 77_704_715,
        sha256: "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f",
        note: "English, fastest, least accurate",
    },
    Model {
        name: "tiny",
        size: 77_691_713,
        sha256: "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21",
        note: "multilingual, fastest",
    },
    Model {
        name: "base.en",
        size: 147_964_211,
        sha256: "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002",
        note: "English, the default: good and fast on any machine",
    },
    Model {
        name: "base",
        size: 147_951_465,
        sha256: "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe",
        note: "multilingual, detects the language",
    },
    Model {
        name: "small.en",
        size: 487_614_201,
        sha256: "c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d",
        note: "English, more accurate, about 3x slower than base",
    },
    Model {
        name: "small",
        size: 487_601_967,
        sha256: "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b",
        note: "multilingual, more accurate",
    },
    Model {
        name: "large-v3-turbo",
        size: 1_624_555_275,
        sha256: "1fc70f774d38eb169993ac391eea357ef47c88757ef72ee5943879b7e8e2bc69",
        note: "multilingual, most accurate; wants a fast machine",
    },
];

/// The catalogue model called `name`.
pub fn find(name: &str) -> Option<&'static Model> {
    if let Some(m) = test_pins().iter().find(|m| m.name == name) {
        return Some(m);
    }
    CATALOGUE.iter().find(|m| m.name == name)
}

/// Test hook: `ASTRA_TEST_MODEL_PIN="<name>=<sha256>:<size>"` replaces a catalogue
/// entry's checksum and size, so the tests can download a file they can make (the
/// converted test model, or a few random bytes) through the real code. Like
/// `ASTRA_TEST_CRASH_AT`, it is for the test suite only.
fn test_pins() -> &'static [Model] {
    static PINS: std::sync::OnceLock<Vec<Model>> = std::sync::OnceLock::new();
    PINS.get_or_init(|| {
        let Ok(v) = std::env::var("ASTRA_TEST_MODEL_PIN") else {
            return Vec::new();
        };
        v.split(',')
            .filter_map(|pin| {
                let (name, rest) = pin.trim().split_once('=')?;
                let (sha, size) = rest.split_once(':')?;
                let base = CATALOGUE.iter().find(|m| m.name == name)?;
                Some(Model {
                    sha256: Box::leak(sha.to_ascii_lowercase().into_boxed_str()),
                    size: size.parse().ok()?,
                    ..*base
                })
            })
            .collect()
    })
}

/// The catalogue's names, for messages.
pub fn names() -> String {
    CATALOGUE
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_well_formed() {
        for m in CATALOGUE {
            assert_eq!(m.sha256.len(), 64, "{}", m.name);
            assert!(
                m.sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(m.size > 70_000_000, "{}", m.name);
        }
        assert_eq!(find("base.en").unwrap().file_name(), "ggml-base.en.bin");
        assert!(find("base.en").unwrap().english_only());
        assert!(!find("large-v3-turbo").unwrap().english_only());
        assert!(find("medium").is_none());
        assert_eq!(
            find("tiny.en").unwrap().url("http://127.0.0.1:9/"),
            format!("http://127.0.0.1:9/ggerganov/whisper.cpp/resolve/{REVISION}/ggml-tiny.en.bin")
        );
    }
}
