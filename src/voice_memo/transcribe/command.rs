//! The `command` provider: any local recognizer (whisper.cpp, pocketsphinx, vosk…),
//! run from an argv template without a shell, with a timeout.
//!
//! Placeholders: `{input}` the audio, `{input_wav}` a 16 kHz mono WAV made with ffmpeg,
//! `{output_base}` a temp path without extension. The transcript is `{output_base}.txt`
//! when the command writes one, else its stdout.
use super::Transcriber;
use crate::process::{self, RunError};
use crate::voice_memo::error::ItemError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct CommandTranscriber {
    argv: Vec<String>,
    timeout: Duration,
    /// Where per-call work folders go (`cache/`).
    work_root: PathBuf,
}

impl CommandTranscriber {
    pub fn new(argv: Vec<String>, timeout: Duration, work_root: PathBuf) -> Self {
        CommandTranscriber {
            argv,
            timeout,
            work_root,
        }
    }

    fn needs_wav(&self) -> bool {
        self.argv.iter().any(|a| a.contains("{input_wav}"))
    }
}

/// Removes its folder when dropped, whatever happened.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn display(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn run_error(what: &str, e: RunError) -> ItemError {
    match e {
        RunError::Stopped { .. } => ItemError::Interrupted(format!("{what}: {e}")),
        _ => ItemError::transient(format!("{what}: {e}")),
    }
}

/// Converts `input` to a 16 kHz mono 16-bit WAV at `out` with ffmpeg.
pub fn to_wav(input: &Path, out: &Path, timeout: Duration) -> Result<(), ItemError> {
    // A .qta's AAC track, not its APAC one.
    let map = format!("0:a:{}", crate::voice_memo::decode::check_decodable(input)?);
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(["-vn", "-map", &map])
        .args(["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"])
        .arg(out);
    let name = display(input);
    let o = process::run(&mut cmd, timeout)
        .map_err(|e| run_error(&format!("{name}: converting to WAV"), e))?;
    if !o.status.success() {
        return Err(ItemError::transient(format!(
            "{name}: ffmpeg could not decode it ({}): {}",
            o.status,
            o.stderr_tail(300)
        )));
    }
    Ok(())
}

impl Transcriber for CommandTranscriber {
    fn name(&self) -> &'static str {
        "command"
    }

    fn transcribe(
        &self,
        audio: &Path,
        _ctx: &super::TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError> {
        let name = display(audio);
        let nonce: u64 = rand::random();
        let work = WorkDir(
            self.work_root
                .join(format!("work-{}-{nonce:016x}", std::process::id())),
        );
        crate::fsutil::create_private_dir(&work.0).map_err(ItemError::from)?;
        let wav = work.0.join("input.wav");
        let output_base = work.0.join("transcript");
        if self.needs_wav() {
            to_wav(audio, &wav, self.timeout)?;
        }
        let fill = |arg: &str| {
            arg.replace("{input_wav}", &wav.to_string_lossy())
                .replace("{input}", &audio.to_string_lossy())
                .replace("{output_base}", &output_base.to_string_lossy())
        };
        let argv: Vec<String> = self.argv.iter().map(|a| fill(a)).collect();
        let Some((program, args)) = argv.split_first() else {
            return Err(ItemError::permanent("[transcription] command is empty"));
        };
        let mut cmd = Command::new(program);
        cmd.args(args);
        let o = process::run(&mut cmd, self.timeout)
            .map_err(|e| run_error(&format!("{name}: transcription command"), e))?;
        if !o.status.success() {
            return Err(ItemError::transient(format!(
                "{name}: transcription command `{program}` failed ({}): {}",
                o.status,
                o.stderr_tail(500)
            )));
        }
        let txt = work.0.join("transcript.txt");
        let text = match std::fs::read(&txt) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => String::from_utf8_lossy(&o.stdout).into_owned(),
        };
        Ok(Some(text.split_whitespace().collect::<Vec<_>>().join(" ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(argv: &[&str]) -> (tempfile::TempDir, CommandTranscriber) {
        let dir = tempfile::tempdir().unwrap();
        let c = CommandTranscriber::new(
            argv.iter().map(|s| s.to_string()).collect(),
            Duration::from_secs(5),
            dir.path().to_path_buf(),
        );
        (dir, c)
    }

    #[test]
    fn reads_stdout_and_passes_the_input_path() {
        let (dir, c) = t(&[
            "sh",
            "-c",
            "printf 'heard:  %s\\n' \"$(basename \"$1\")\"",
            "sh",
            "{input}",
        ]);
        let audio = dir.path().join("my memo é.m4a");
        std::fs::write(&audio, b"x").unwrap();
        assert_eq!(
            c.transcribe(&audio, &super::super::test_ctx("a.m4a"))
                .unwrap()
                .unwrap(),
            "heard: my memo é.m4a"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "work folder removed"
        );
    }

    #[test]
    fn prefers_the_output_file() {
        let (dir, c) = t(&[
            "sh",
            "-c",
            "echo noise; echo from file > \"$1.txt\"",
            "sh",
            "{output_base}",
        ]);
        let audio = dir.path().join("a.m4a");
        std::fs::write(&audio, b"x").unwrap();
        assert_eq!(
            c.transcribe(&audio, &super::super::test_ctx("a.m4a"))
                .unwrap()
                .unwrap(),
            "from file"
        );
    }

    #[test]
    fn failure_keeps_stderr() {
        let (dir, c) = t(&["sh", "-c", "echo 'model not found' >&2; exit 4"]);
        let audio = dir.path().join("a.m4a");
        std::fs::write(&audio, b"x").unwrap();
        let e = c
            .transcribe(&audio, &super::super::test_ctx("a.m4a"))
            .unwrap_err();
        assert!(
            e.message()
                .contains("a.m4a: transcription command `sh` failed"),
            "{e}"
        );
        assert!(e.message().contains("model not found"), "{e}");
    }
}
