//! Speech models for the built-in recognizer: the catalogue, where model files live
//! (`$ASTRA_HOME/models/ggml-<name>.bin`), what `whisper_model` names, and downloads.
pub mod catalogue;
pub mod download;

use anyhow::{Context, Result};
pub use catalogue::{CATALOGUE, Model};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `$ASTRA_HOME/models`.
pub fn dir(home: &Path) -> PathBuf {
    home.join("models")
}

/// The download host: `ASTRA_MODEL_BASE_URL`, else Hugging Face.
pub fn base_url() -> String {
    std::env::var(catalogue::BASE_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| catalogue::DEFAULT_BASE_URL.to_string())
}

/// What `[transcription] whisper_model` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// A catalogue model, at its place under `models/`.
    Catalogue(&'static Model, PathBuf),
    /// Any ggml file by path.
    File(PathBuf),
}

impl Choice {
    pub fn path(&self) -> &Path {
        match self {
            Choice::Catalogue(_, p) | Choice::File(p) => p,
        }
    }
    /// The model's name for logs and the catalogue (`base.en`, or the file's stem).
    pub fn name(&self) -> String {
        match self {
            Choice::Catalogue(m, _) => m.name.to_string(),
            Choice::File(p) => p
                .file_stem()
                .map(|s| {
                    let s = s.to_string_lossy();
                    s.strip_prefix("ggml-").unwrap_or(&s).to_string()
                })
                .unwrap_or_else(|| p.display().to_string()),
        }
    }
    /// `.en` models transcribe English only and are told so.
    pub fn english_only(&self) -> bool {
        self.name().ends_with(".en")
    }
}

/// Resolves `whisper_model`: a catalogue name, else a path (`~` expanded, relative to
/// `models/`). `None` for a value that is neither a known name nor path-like.
pub fn resolve(spec: &str, models_dir: &Path) -> Option<Choice> {
    let spec = spec.trim();
    if let Some(m) = catalogue::find(spec) {
        return Some(Choice::Catalogue(m, models_dir.join(m.file_name())));
    }
    let looks_like_path = spec.contains('/') || spec.ends_with(".bin") || spec.starts_with('~');
    if !looks_like_path {
        return None;
    }
    let p = crate::paths::expand_tilde(Path::new(spec));
    Some(Choice::File(if p.is_absolute() {
        p
    } else {
        models_dir.join(p)
    }))
}

/// The error for a `whisper_model` that names nothing.
pub fn unknown_message(spec: &str) -> String {
    format!(
        "\"{spec}\" is not a model name ({}) nor a path to a ggml file (a path contains '/' or ends in .bin)",
        catalogue::names()
    )
}

/// One row of `astra models list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub file: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub installed: bool,
    /// Bytes of a partial download waiting to be resumed.
    pub partial_bytes: Option<u64>,
    pub path: String,
    pub note: String,
}

/// The catalogue with what is installed, then any other `.bin` files in `models/`.
pub fn list(models_dir: &Path) -> Result<Vec<Listed>> {
    let mut out: Vec<Listed> = CATALOGUE
        .iter()
        .map(|m| {
            let path = models_dir.join(m.file_name());
            Listed {
                name: m.name.into(),
                file: m.file_name(),
                size: Some(m.size),
                sha256: Some(m.sha256.into()),
                installed: path.is_file(),
                partial_bytes: std::fs::metadata(download::part_path(models_dir, m))
                    .ok()
                    .map(|md| md.len()),
                path: path.display().to_string(),
                note: m.note.into(),
            }
        })
        .collect();
    let entries = match std::fs::read_dir(models_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", models_dir.display())),
    };
    let mut extra = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".bin") || out.iter().any(|l| l.file == name) {
            continue;
        }
        let choice = Choice::File(e.path());
        extra.push(Listed {
            name: choice.name(),
            file: name,
            size: e.metadata().ok().map(|m| m.len()),
            sha256: None,
            installed: true,
            partial_bytes: None,
            path: e.path().display().to_string(),
            note: "not in the catalogue".into(),
        });
    }
    extra.sort_by(|a, b| a.file.cmp(&b.file));
    out.extend(extra);
    Ok(out)
}

/// Removes an installed catalogue model (and any partial download of it). Returns the
/// paths removed.
pub fn remove(model: &Model, models_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for p in [
        models_dir.join(model.file_name()),
        download::part_path(models_dir, model),
    ] {
        match std::fs::remove_file(&p) {
            Ok(()) => removed.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_and_paths() {
        let dir = Path::new("/h/models");
        let c = resolve("base.en", dir).unwrap();
        assert_eq!(c.path(), Path::new("/h/models/ggml-base.en.bin"));
        assert!(c.english_only());
        assert_eq!(c.name(), "base.en");
        let f = resolve("/opt/ggml-medium.bin", dir).unwrap();
        assert_eq!(f, Choice::File("/opt/ggml-medium.bin".into()));
        assert_eq!(f.name(), "medium");
        assert!(!f.english_only());
        assert_eq!(
            resolve("mine.en.bin", dir).unwrap().path(),
            Path::new("/h/models/mine.en.bin")
        );
        assert!(resolve("mine.en.bin", dir).unwrap().english_only());
        assert_eq!(resolve("medium", dir), None);
        assert!(unknown_message("medium").contains("tiny.en, tiny, base.en"));
    }

    #[test]
    fn lists_the_catalogue_and_extra_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("ggml-tiny.en.bin"), b"x").unwrap();
        std::fs::write(d.path().join("ggml-base.en.bin.part"), b"xyz").unwrap();
        std::fs::write(d.path().join("custom.bin"), b"xy").unwrap();
        let l = list(d.path()).unwrap();
        assert_eq!(l.len(), CATALOGUE.len() + 1);
        assert!(l.iter().find(|x| x.name == "tiny.en").unwrap().installed);
        let base = l.iter().find(|x| x.name == "base.en").unwrap();
        assert!(!base.installed);
        assert_eq!(base.partial_bytes, Some(3));
        assert_eq!(l.last().unwrap().name, "custom");
        let removed = remove(catalogue::find("base.en").unwrap(), d.path()).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(
            list(&d.path().join("none"))
                .unwrap()
                .iter()
                .all(|x| !x.installed)
        );
    }
}
