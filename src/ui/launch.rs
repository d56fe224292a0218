//! "Run now": the job started as its own process, as `astra jobs run` starts it (the
//! program beside astra, `--json`, this dashboard's `ASTRA_HOME` and config), in its own
//! process group so stopping the dashboard does not interrupt it. Its lock is the job's
//! own: a run started while cron runs the job ends `skipped`.
use crate::jobs::JobInfo;
use crate::paths::Paths;
use crate::run::result::RunResult;
use chrono::{DateTime, Utc};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Launches kept for their pages (older ones are forgotten).
const KEEP: usize = 50;

/// Where a launch is.
#[derive(Debug, Clone)]
pub enum Outcome {
    Running,
    /// The run's result (absent when the program printed none), its exit code, and the
    /// end of its stderr.
    Done {
        result: Option<Box<RunResult>>,
        code: Option<i32>,
        stderr_tail: String,
    },
    /// The program could not be started.
    NotStarted(String),
}

#[derive(Debug, Clone)]
pub struct Launch {
    pub id: String,
    pub job: &'static JobInfo,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
}

/// The dashboard's launches by id.
#[derive(Debug, Default, Clone)]
pub struct Launches(Arc<Mutex<Vec<Launch>>>);

impl Launches {
    pub fn get(&self, id: &str) -> Option<Launch> {
        self.0.lock().ok()?.iter().find(|l| l.id == id).cloned()
    }

    /// The newest launches first.
    pub fn recent(&self) -> Vec<Launch> {
        let mut v = self.0.lock().map(|l| l.clone()).unwrap_or_default();
        v.reverse();
        v
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Launch)) {
        if let Ok(mut all) = self.0.lock()
            && let Some(l) = all.iter_mut().find(|l| l.id == id)
        {
            f(l);
        }
    }

    /// Starts `job` and returns the launch's id at once; a thread waits for it.
    pub fn start(&self, paths: &Paths, job: &'static JobInfo) -> String {
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let launch = Launch {
            id: id.clone(),
            job,
            started_at: Utc::now(),
            finished_at: None,
            outcome: Outcome::Running,
        };
        if let Ok(mut all) = self.0.lock() {
            all.push(launch);
            let extra = all.len().saturating_sub(KEEP);
            all.drain(..extra);
        }
        let mut cmd = Command::new(crate::cli::jobs::program_path(job.program));
        cmd.arg("--json")
            .env("ASTRA_CONFIG", &paths.config)
            .env("ASTRA_HOME", &paths.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let me = self.clone();
        let lid = id.clone();
        std::thread::spawn(move || {
            let outcome = match cmd.spawn() {
                Err(e) => Outcome::NotStarted(format!(
                    "could not start {}: {e} (is it installed beside astra, or on PATH?)",
                    job.program
                )),
                Ok(mut child) => {
                    let mut stderr = child.stderr.take();
                    let err_thread = std::thread::spawn(move || {
                        let mut s = String::new();
                        if let Some(e) = stderr.as_mut() {
                            let _ = e.read_to_string(&mut s);
                        }
                        s
                    });
                    let mut out = Vec::new();
                    if let Some(mut o) = child.stdout.take() {
                        let _ = o.read_to_end(&mut out);
                    }
                    let code = child.wait().ok().and_then(|s| s.code());
                    let err = err_thread.join().unwrap_or_default();
                    let tail: Vec<&str> = err.lines().rev().take(20).collect();
                    Outcome::Done {
                        result: serde_json::from_slice::<RunResult>(&out).ok().map(Box::new),
                        code,
                        stderr_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                    }
                }
            };
            me.update(&lid, |l| {
                l.outcome = outcome;
                l.finished_at = Some(Utc::now());
            });
        });
        id
    }
}
