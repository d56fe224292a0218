//! Child processes (ffmpeg, command transcribers): no shell, their own process group,
//! a timeout that stops the whole group (SIGTERM, then SIGKILL), output captured.
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a stopped child gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// Most of stderr kept for an error message (the tail is what matters).
const STDERR_KEEP: usize = 16 * 1024;

/// What a finished child left behind.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// The last lines of stderr, for an error message.
    pub fn stderr_tail(&self, max_chars: usize) -> String {
        let s = String::from_utf8_lossy(&self.stderr);
        let s = s.trim();
        let start = s
            .char_indices()
            .rev()
            .nth(max_chars)
            .map(|(i, _)| i)
            .unwrap_or(0);
        s[start..].trim().to_string()
    }
}

/// Why a child could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{program}` was not found on PATH ({path}); install it{how} or give its full path")]
    NotFound {
        program: String,
        path: String,
        /// How to install it, for the programs astra itself needs.
        how: &'static str,
    },
    #[error("could not start `{program}`: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("`{program}` did not finish within {secs} s and was stopped{stderr}")]
    TimedOut {
        program: String,
        secs: u64,
        stderr: String,
    },
    #[error("waiting for `{program}`: {source}")]
    Wait { program: String, source: io::Error },
    #[error("`{program}` was stopped: the run is {why}")]
    Stopped { program: String, why: String },
}

fn reader<R: Read + Send + 'static>(
    r: Option<R>,
    keep_tail: Option<usize>,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let Some(mut r) = r else { return out };
        let mut buf = [0u8; 8192];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if let Some(keep) = keep_tail
                && out.len() > 2 * keep
            {
                out.drain(..out.len() - keep);
            }
        }
        out
    })
}

fn signal_group(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created.
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

/// How to install a program astra runs itself (ffmpeg, ffprobe).
fn install_hint(program: &str) -> &'static str {
    match Path::new(program).file_name().and_then(|n| n.to_str()) {
        Some("ffmpeg" | "ffprobe") => {
            " (macOS: brew install ffmpeg; Debian/Ubuntu: sudo apt install ffmpeg; Fedora: sudo dnf install ffmpeg)"
        }
        _ => "",
    }
}

/// Runs `cmd` to completion or until `timeout`, in its own process group, stdin closed.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, RunError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            RunError::NotFound {
                how: install_hint(&program),
                program: program.clone(),
                path: std::env::var("PATH").unwrap_or_default(),
            }
        } else {
            RunError::Spawn {
                program: program.clone(),
                source,
            }
        }
    })?;
    let out = reader(child.stdout.take(), None);
    let err = reader(child.stderr.take(), Some(STDERR_KEEP));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let mut stopped = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline && stopped.is_none() => {
                stopped = crate::run::stop::should_stop();
                if stopped.is_none() {
                    thread::sleep(Duration::from_millis(10));
                }
            }
            Ok(None) => {
                timed_out = stopped.is_none();
                signal_group(child.id(), libc::SIGTERM);
                let grace_end = Instant::now() + GRACE;
                while Instant::now() < grace_end {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                signal_group(child.id(), libc::SIGKILL);
                match child.wait() {
                    Ok(s) => break s,
                    Err(source) => return Err(RunError::Wait { program, source }),
                }
            }
            Err(source) => return Err(RunError::Wait { program, source }),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let output = Output {
        status,
        stdout,
        stderr,
    };
    if let Some(stop) = stopped {
        return Err(RunError::Stopped {
            program,
            why: crate::run::stop::describe(stop),
        });
    }
    if timed_out {
        let tail = output.stderr_tail(400);
        let stderr = if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr: {tail}")
        };
        return Err(RunError::TimedOut {
            program,
            secs: timeout.as_secs(),
            stderr,
        });
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output() {
        let o = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(o.stdout, b"out\n");
        assert_eq!(o.stderr_tail(100), "err");
        assert_eq!(o.status.code(), Some(3));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("child-survived");
        let script = format!("(sleep 3; touch '{}') & sleep 30", marker.display());
        let started = Instant::now();
        let e = run(
            Command::new("sh").args(["-c", &script]),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(e, RunError::TimedOut { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        thread::sleep(Duration::from_secs(4));
        assert!(!marker.exists(), "the grandchild outlived the timeout");
    }

    #[test]
    fn missing_program_says_so() {
        let e = run(
            &mut Command::new("no-such-program-astra"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not found on PATH"), "{e}");
        assert!(install_hint("/usr/local/bin/ffmpeg").contains("brew install ffmpeg"));
        assert_eq!(install_hint("whisper-cli"), "");
    }
}
