//! Archive: puts a finished recording (and its sidecar transcript) where it belongs —
//! `archive_dir`, `invalid/` for noise, `failed/` for dead letters — never overwriting,
//! and in copy mode never touching the original.
use crate::config::ArchiveMode;
use crate::fsutil;
use crate::voice_memo::transcribe::sidecar::find_sidecar;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Where a recording goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Its outputs are written.
    Archive,
    /// Silence or noise.
    Invalid,
    /// Dead-lettered: always a copy, so a fixed problem can be retried.
    Failed,
}

#[derive(Debug, Clone)]
pub struct Archiver {
    pub mode: ArchiveMode,
    pub archive_dir: PathBuf,
    pub invalid_dir: PathBuf,
    pub failed_dir: PathBuf,
}

impl Archiver {
    /// Places `audio` (named `name`, content `digest`) and its sidecar. Returns the
    /// audio's new path, or `None` when the mode is `none`. Idempotent: a copy left by
    /// an earlier, interrupted attempt is found by its digest and reused.
    pub fn place(
        &self,
        audio: &Path,
        name: &str,
        digest: &str,
        dest: Destination,
    ) -> Result<Option<PathBuf>> {
        let (dir, mode) = match dest {
            Destination::Archive => (&self.archive_dir, self.mode),
            Destination::Invalid => (&self.invalid_dir, self.mode),
            Destination::Failed => (&self.failed_dir, ArchiveMode::Copy),
        };
        if mode == ArchiveMode::None {
            return Ok(None);
        }
        let sidecar = find_sidecar(audio);
        let placed = match find_existing_copy(dir, name, digest)? {
            Some(p) => {
                if mode == ArchiveMode::Move && audio.exists() {
                    std::fs::remove_file(audio)
                        .with_context(|| format!("removing {}", audio.display()))?;
                }
                p
            }
            None => transfer(audio, dir, name, mode)?,
        };
        if let Some(sc) = sidecar {
            let sc_name = sc
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let sc_digest = fsutil::sha256_file(&sc)?;
            if find_existing_copy(dir, &sc_name, &sc_digest)?.is_none() {
                transfer(&sc, dir, &sc_name, mode)?;
            } else if mode == ArchiveMode::Move {
                std::fs::remove_file(&sc).with_context(|| format!("removing {}", sc.display()))?;
            }
        }
        Ok(Some(placed))
    }
}

fn transfer(src: &Path, dir: &Path, name: &str, mode: ArchiveMode) -> Result<PathBuf> {
    match mode {
        ArchiveMode::Move => fsutil::durable_move(src, dir, name),
        _ => fsutil::durable_copy(src, dir, name),
    }
}

/// A file in `dir` named `name` or `name (n)` with the given digest.
pub fn find_existing_copy(dir: &Path, name: &str, digest: &str) -> Result<Option<PathBuf>> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 0.. {
        let p = if n == 0 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        if !p.exists() {
            return Ok(None);
        }
        if fsutil::sha256_file(&p)? == digest {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(mode: ArchiveMode) -> (tempfile::TempDir, Archiver, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let audio = inbox.join("memo one.m4a");
        std::fs::write(&audio, b"audio-bytes").unwrap();
        std::fs::write(inbox.join("memo one.txt"), b"hello there").unwrap();
        let digest = fsutil::sha256_file(&audio).unwrap();
        let a = Archiver {
            mode,
            archive_dir: dir.path().join("archive"),
            invalid_dir: dir.path().join("invalid"),
            failed_dir: dir.path().join("failed"),
        };
        (dir, a, audio, digest)
    }

    #[test]
    fn copy_leaves_the_original_and_takes_the_sidecar() {
        let (dir, a, audio, digest) = setup(ArchiveMode::Copy);
        let p = a
            .place(&audio, "memo one.m4a", &digest, Destination::Archive)
            .unwrap()
            .unwrap();
        assert_eq!(p, dir.path().join("archive/memo one.m4a"));
        assert_eq!(std::fs::read(&audio).unwrap(), b"audio-bytes");
        assert_eq!(
            std::fs::read(dir.path().join("archive/memo one.txt")).unwrap(),
            b"hello there"
        );
        // A second attempt (crash before state was saved) reuses the copy.
        let again = a
            .place(&audio, "memo one.m4a", &digest, Destination::Archive)
            .unwrap()
            .unwrap();
        assert_eq!(again, p);
        assert_eq!(
            std::fs::read_dir(dir.path().join("archive"))
                .unwrap()
                .count(),
            2
        );
    }

    #[test]
    fn a_different_file_with_the_same_name_is_not_overwritten() {
        let (dir, a, audio, digest) = setup(ArchiveMode::Copy);
        std::fs::create_dir(dir.path().join("archive")).unwrap();
        std::fs::write(dir.path().join("archive/memo one.m4a"), b"older").unwrap();
        let p = a
            .place(&audio, "memo one.m4a", &digest, Destination::Archive)
            .unwrap()
            .unwrap();
        assert_eq!(p, dir.path().join("archive/memo one (1).m4a"));
        assert_eq!(
            std::fs::read(dir.path().join("archive/memo one.m4a")).unwrap(),
            b"older"
        );
    }

    #[test]
    fn move_takes_both_files_away() {
        let (dir, a, audio, digest) = setup(ArchiveMode::Move);
        a.place(&audio, "memo one.m4a", &digest, Destination::Invalid)
            .unwrap();
        assert!(!audio.exists());
        assert!(!dir.path().join("inbox/memo one.txt").exists());
        assert!(dir.path().join("invalid/memo one.m4a").exists());
    }

    #[test]
    fn failed_is_always_a_copy_and_none_does_nothing() {
        let (dir, a, audio, digest) = setup(ArchiveMode::None);
        assert!(
            a.place(&audio, "memo one.m4a", &digest, Destination::Archive)
                .unwrap()
                .is_none()
        );
        a.place(&audio, "memo one.m4a", &digest, Destination::Failed)
            .unwrap();
        assert!(audio.exists());
        assert!(dir.path().join("failed/memo one.m4a").exists());
        assert!(!dir.path().join("archive").exists());
    }
}
