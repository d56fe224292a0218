//! `astra jobs logs` and `astra jobs stop`: reading one run's log lines, and stopping a
//! running job the way its timeout does (SIGTERM; the job saves its state and records
//! itself `interrupted`).
use super::Ctx;
use super::output::{self, Artifact};
use crate::jobs::JobInfo;
use crate::run::history;
use anyhow::{Context, Result};
use serde_json::Value;
use std::fs::TryLockError;
use std::path::PathBuf;
use std::time::Duration;

/// The run whose lines to show: the id given, else the last run (of `job`, or of any).
fn pick_run(ctx: &Ctx, run_id: Option<&str>, job: Option<&JobInfo>) -> Result<(String, String)> {
    let runs = history::read(&ctx.paths.history)?;
    if let Some(id) = run_id {
        let program = runs
            .iter()
            .find(|r| r.run_id == id)
            .and_then(|r| crate::jobs::find(&r.job_name))
            .or(job)
            .map(|j| j.program.to_string())
            .unwrap_or_default();
        return Ok((id.to_string(), program));
    }
    // A run in progress has no history line yet: its running record names it.
    if let Some(j) = job
        && let Some(r) = running(ctx, j)
    {
        return Ok((r.run_id, j.program.to_string()));
    }
    let last = runs
        .iter()
        .rev()
        .find(|r| job.is_none_or(|j| r.job_name == j.name) && r.stats.idle_runs == 0)
        .ok_or_else(|| {
            crate::exit::usage("no runs in the history yet: `astra jobs run NAME` starts one")
        })?;
    let program = crate::jobs::find(&last.job_name)
        .map(|j| j.program.to_string())
        .unwrap_or_default();
    Ok((last.run_id.clone(), program))
}

/// The log files a program writes (oldest first), or `LOG_FILE`.
fn log_files(ctx: &Ctx, program: &str) -> Vec<PathBuf> {
    if let Some(f) = &ctx.paths.log_file {
        return vec![f.clone()];
    }
    let prefix = format!("{program}.log");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&ctx.paths.logs)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy())
                        .is_some_and(|n| program.is_empty() || n.starts_with(&prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every line of the run, in order.
fn run_lines(ctx: &Ctx, run_id: &str, program: &str) -> Vec<String> {
    let needle = format!("\"run_id\":\"{run_id}\"");
    log_files(ctx, program)
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| {
            t.lines()
                .filter(|l| l.contains(&needle))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One JSON log line as a person reads it: `HH:MM:SS LEVEL message key=value …`.
pub fn readable(line: &str) -> String {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(line) else {
        return line.to_string();
    };
    let time = m
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let level = m.get("level").and_then(Value::as_str).unwrap_or("");
    let message = m.get("message").and_then(Value::as_str).unwrap_or("");
    let mut out = format!("{time} {level:<5} {message}");
    for (k, v) in &m {
        if matches!(
            k.as_str(),
            "timestamp" | "level" | "message" | "job_name" | "run_id" | "target"
        ) {
            continue;
        }
        match v {
            Value::String(s) => out.push_str(&format!(" {k}={s}")),
            other => out.push_str(&format!(" {k}={other}")),
        }
    }
    out
}

/// `astra jobs logs [RUN_ID | --job NAME] [-n N] [--follow]`.
pub fn logs(
    ctx: &Ctx,
    run_id: Option<&str>,
    job: Option<&str>,
    limit: Option<usize>,
    follow: bool,
) -> Result<u8> {
    let job = job.map(super::jobs::find_job).transpose()?;
    let (run_id, program) = pick_run(ctx, run_id, job)?;
    let print = |lines: &[String]| {
        for l in lines {
            if ctx.json {
                println!("{l}");
            } else {
                println!("{}", readable(l));
            }
        }
    };
    let lines = run_lines(ctx, &run_id, &program);
    let from = limit.map_or(0, |n| lines.len().saturating_sub(n));
    if lines.is_empty() && !follow {
        eprintln!("no log lines for run {run_id}");
    }
    print(&lines[from..]);
    if follow {
        let mut shown = lines.len();
        let finished = |ctx: &Ctx| {
            history::read(&ctx.paths.history)
                .map(|rs| rs.iter().any(|r| r.run_id == run_id))
                .unwrap_or(true)
        };
        loop {
            let done = finished(ctx);
            let lines = run_lines(ctx, &run_id, &program);
            if lines.len() > shown {
                print(&lines[shown..]);
                shown = lines.len();
            }
            if done || crate::run::stop::should_stop().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    Ok(crate::exit::OK)
}

fn running(ctx: &Ctx, job: &JobInfo) -> Option<crate::run::record::Running> {
    let bytes = std::fs::read(ctx.paths.locks.join(format!("{}.run", job.program))).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The pid of the run holding the job lock, if one does.
fn running_pid(ctx: &Ctx, job: &JobInfo) -> Result<Option<i32>> {
    let lock = ctx.paths.job_lock(job.program);
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock)
    else {
        return Ok(None);
    };
    match f.try_lock() {
        Ok(()) => return Ok(None),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("checking {}", lock.display()));
        }
    }
    let from_lock = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    Ok(from_lock.or_else(|| running(ctx, job).map(|r| r.pid as i32)))
}

/// `astra jobs stop NAME`: SIGTERM to the running job (and its process group when it
/// leads one), as its timeout does; waits up to 30 s for it to finish.
pub fn stop(ctx: &Ctx, name: &str) -> Result<u8> {
    let job = super::jobs::find_job(name)?;
    let Some(pid) = running_pid(ctx, job)? else {
        let msg = format!("{} is not running", job.program);
        if ctx.json {
            output::json(
                &serde_json::json!({"job_name": job.name, "stopped": false, "message": msg}),
                Artifact::Text,
                "Stop Job",
            );
        } else {
            println!("{msg}");
        }
        return Ok(crate::exit::OK);
    };
    // SAFETY: plain syscalls on a pid read from the job's own lock file.
    unsafe {
        let pgid = libc::getpgid(pid);
        if pgid == pid {
            libc::kill(-pgid, libc::SIGTERM);
        } else {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut stopped = false;
    while std::time::Instant::now() < deadline {
        if running_pid(ctx, job)?.is_none() {
            stopped = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let msg = if stopped {
        format!(
            "stopped {} (pid {pid}); its run is recorded as interrupted",
            job.program
        )
    } else {
        format!(
            "sent SIGTERM to {} (pid {pid}); it has not finished yet",
            job.program
        )
    };
    if ctx.json {
        output::json(
            &serde_json::json!({"job_name": job.name, "pid": pid, "stopped": stopped, "message": msg}),
            Artifact::Text,
            "Stop Job",
        );
    } else {
        println!("{msg}");
    }
    Ok(if stopped {
        crate::exit::OK
    } else {
        crate::exit::FAILED
    })
}
