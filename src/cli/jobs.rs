//! `astra jobs`: list, show, run, history, enable, disable, log-cleanup — over the
//! job registry, `config.toml` and `history.jsonl`.
use super::Ctx;
use super::output::{self, Artifact};
use crate::jobs::{self, JobInfo};
use crate::run::history;
use crate::run::result::{RunResult, RunStatus};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(clap::Subcommand, Debug)]
pub enum JobsCommand {
    /// The jobs: name, description, schedule, enabled.
    List,
    /// One job in detail: schedule, last and next run, status, run count.
    Show {
        /// `voice-memo` or `voiceMemo`, `journal` or `journalProcessing`.
        name: String,
    },
    /// Run jobs now, each as its own process; exits 1 if any failed.
    #[command(
        after_help = "Examples:\n  astra jobs run voice-memo\n  astra jobs run --all --sequential"
    )]
    Run {
        /// The jobs to run.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        names: Vec<String>,
        /// Every enabled job.
        #[arg(long)]
        all: bool,
        /// One after another (default: all at once).
        #[arg(long)]
        sequential: bool,
        /// Wait for each run and print its result (the default).
        #[arg(long, conflicts_with = "no_wait")]
        wait: bool,
        /// Start the runs detached and return at once (`astra jobs logs --job NAME
        /// --follow` to watch one).
        #[arg(long)]
        no_wait: bool,
    },
    /// A run's log lines, readable (`--json`: the JSON lines as they are); the last
    /// run by default.
    #[command(
        after_help = "Examples:\n  astra jobs logs                      the last run's lines\n  astra jobs logs --job journal -n 20\n  astra jobs logs 01JGX… --json        one run's JSON lines\n  astra jobs logs --job voice-memo --follow"
    )]
    Logs {
        /// The run (its `run_id` from `astra jobs history --json`).
        #[arg(conflicts_with = "job")]
        run_id: Option<String>,
        /// The last run of this job.
        #[arg(long)]
        job: Option<String>,
        /// Only the last N lines.
        #[arg(short = 'n', long = "lines")]
        lines: Option<usize>,
        /// Keep printing new lines until the run finishes.
        #[arg(long)]
        follow: bool,
    },
    /// Stop a running job as its timeout does: SIGTERM to it (and its process group);
    /// it saves its state and its run is recorded `interrupted`.
    Stop { name: String },
    /// Past runs, newest first, with per-stage timings and duration percentiles.
    History {
        /// Only this job.
        #[arg(long)]
        job: Option<String>,
        /// Only runs with this status (success, partial, failed, skipped, paused, disabled, interrupted).
        #[arg(long)]
        status: Option<String>,
        /// How many runs.
        #[arg(short = 'n', long = "limit", default_value_t = 20)]
        limit: usize,
    },
    /// Enable a job in config.toml (comments are kept).
    Enable { name: String },
    /// Disable a job in config.toml (comments are kept); its runs exit 0 as `disabled`.
    Disable { name: String },
    /// Delete logs and history lines older than N days.
    LogCleanup {
        /// Keep this many days.
        #[arg(long, default_value_t = 30)]
        days: u64,
        /// Say what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(ctx: &Ctx, cmd: JobsCommand) -> Result<u8> {
    match cmd {
        JobsCommand::List => list(ctx),
        JobsCommand::Show { name } => show(ctx, &name),
        JobsCommand::Run {
            names,
            all,
            sequential,
            no_wait,
            ..
        } if no_wait => start_detached(ctx, &names, all, sequential),
        JobsCommand::Run {
            names,
            all,
            sequential,
            ..
        } => run_jobs(ctx, &names, all, sequential),
        JobsCommand::Logs {
            run_id,
            job,
            lines,
            follow,
        } => super::job_runs::logs(ctx, run_id.as_deref(), job.as_deref(), lines, follow),
        JobsCommand::Stop { name } => super::job_runs::stop(ctx, &name),
        JobsCommand::History { job, status, limit } => {
            show_history(ctx, job.as_deref(), status.as_deref(), limit)
        }
        JobsCommand::Enable { name } => set_enabled(ctx, &name, true),
        JobsCommand::Disable { name } => set_enabled(ctx, &name, false),
        JobsCommand::LogCleanup { days, dry_run } => log_cleanup(ctx, days, dry_run),
    }
}

/// A job by either name, or a usage error listing the jobs.
pub fn find_job(name: &str) -> Result<&'static JobInfo> {
    jobs::find(name).ok_or_else(|| {
        let near = crate::config::nearest(name, &jobs::all_names())
            .map(|n| format!(" Did you mean `{n}`?"))
            .unwrap_or_default();
        crate::exit::usage(format!(
            "no job named `{name}`; the jobs are: {}.{near}",
            jobs::JOBS
                .iter()
                .map(|j| j.program)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn list(ctx: &Ctx) -> Result<u8> {
    let cfg = ctx.config()?;
    let rows: Vec<Value> = jobs::JOBS
        .iter()
        .map(|j| {
            let s = cfg.job(j);
            let human = crate::schedule::CronSchedule::parse(&s.schedule).ok().map(|c| c.describe());
            json!({"name": j.name, "program": j.program, "description": j.description, "schedule": s.schedule, "schedule_human": human, "enabled": s.enabled})
        })
        .collect();
    if ctx.json {
        output::json(
            &json!({"jobs": rows, "total": rows.len()}),
            Artifact::Table,
            "Available Jobs",
        );
    } else {
        let table = rows
            .iter()
            .map(|r| {
                vec![
                    r["program"].as_str().unwrap_or("").to_string(),
                    r["description"].as_str().unwrap_or("").to_string(),
                    match r["schedule_human"].as_str() {
                        Some(h) => format!("{h} ({})", r["schedule"].as_str().unwrap_or("")),
                        None => r["schedule"].as_str().unwrap_or("").to_string(),
                    },
                    if r["enabled"] == true {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]
            })
            .collect();
        println!(
            "{}",
            output::table(&["job", "description", "schedule", "enabled"], table)
        );
    }
    Ok(crate::exit::OK)
}

/// The runs of one job in history, oldest first.
fn runs_of(ctx: &Ctx, job: &JobInfo) -> Result<Vec<RunResult>> {
    Ok(history::read(&ctx.paths.history)?
        .into_iter()
        .filter(|r| r.job_name == job.name)
        .collect())
}

/// The facts `show` prints, as JSON.
pub fn job_status(ctx: &Ctx, job: &JobInfo) -> Result<Value> {
    let cfg = ctx.config()?;
    let s = cfg.job(job);
    let runs = runs_of(ctx, job)?;
    let worked: Vec<&RunResult> = runs
        .iter()
        .filter(|r| {
            !matches!(
                r.status,
                RunStatus::Skipped | RunStatus::Paused | RunStatus::Disabled
            )
        })
        .collect();
    let last = worked.last();
    let last_error = last
        .filter(|r| {
            matches!(
                r.status,
                RunStatus::Failed | RunStatus::Partial | RunStatus::Interrupted
            )
        })
        .map(|r| r.message.clone());
    let cron = crate::schedule::CronSchedule::parse(&s.schedule).ok();
    let zone = crate::schedule::local_zone();
    let now = Utc::now().with_timezone(&zone);
    let next: Vec<String> = cron
        .as_ref()
        .map(|c| c.next_n(&now, 5))
        .unwrap_or_default()
        .iter()
        .map(|t| t.to_rfc3339())
        .collect();
    let overdue = s.enabled
        && last
            .zip(cron.as_ref())
            .is_some_and(|(r, c)| is_overdue(c, r.started_at, Utc::now()));
    let failing = if job.name == crate::voice_memo::JOB.name {
        failing_memos(ctx)?
    } else {
        Vec::new()
    };
    Ok(json!({
        "failing": failing,
        "name": job.name,
        "program": job.program,
        "description": job.description,
        "schedule": s.schedule,
        "schedule_human": cron.as_ref().map(|c| c.describe()),
        "next_run": next.first(),
        "next_runs": next,
        "overdue": overdue,
        "enabled": s.enabled,
        "timeout_seconds": s.timeout_seconds,
        "after": s.after,
        "last_run": last.map(|r| r.started_at),
        "last_status": last.map(|r| r.status.as_str()),
        "last_error": last_error,
        // A folded line stands for a day's runs with nothing to do.
        "run_count": worked.iter().map(|r| r.stats.idle_runs.max(1)).sum::<u64>(),
        "state": job.state_shape,
    }))
}

/// The memos that failed, back off or wait (from state.json: what is in flight), each
/// with its reason.
fn failing_memos(ctx: &Ctx) -> Result<Vec<Value>> {
    use crate::state::{ItemStatus, VoiceMemoState};
    let vm: VoiceMemoState =
        crate::state::StateStore::new(&ctx.paths.state).load_job(crate::voice_memo::JOB.name)?;
    Ok(vm
        .items
        .iter()
        .filter(|(_, i)| {
            matches!(
                i.status,
                ItemStatus::Failed | ItemStatus::Retrying | ItemStatus::Waiting
            )
        })
        .map(|(file, i)| {
            json!({
                "file": file,
                "id": i.id,
                "status": i.status.as_str(),
                "attempts": i.attempts,
                "next_attempt_at": i.next_attempt_at,
                "reason": i.last_error.as_deref().map(|e| e.split_whitespace().collect::<Vec<_>>().join(" ")),
            })
        })
        .collect())
}

/// Late by more than this after a scheduled time means no scheduler started the job.
const OVERDUE_GRACE_MINUTES: i64 = 15;

/// The job should have run again since `last` (a scheduled time has passed by more
/// than the grace period): its scheduler entry is missing or not loaded.
pub fn is_overdue(
    cron: &crate::schedule::CronSchedule,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let zone = crate::schedule::local_zone();
    cron.next_after(&last.with_timezone(&zone))
        .is_some_and(|due| {
            due.with_timezone(&Utc) + chrono::Duration::minutes(OVERDUE_GRACE_MINUTES) < now
        })
}

fn show(ctx: &Ctx, name: &str) -> Result<u8> {
    let job = find_job(name)?;
    let data = job_status(ctx, job)?;
    if ctx.json {
        output::json(
            &data,
            Artifact::PresentationCard,
            &format!("Job: {}", job.program),
        );
        return Ok(crate::exit::OK);
    }
    let text = |k: &str| match &data[k] {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut rows = vec![
        ("description", text("description")),
        ("schedule", text("schedule")),
    ];
    for k in ["schedule_human", "next_run", "overdue"] {
        if data.get(k).is_some() {
            rows.push((k, text(k)));
        }
    }
    rows.extend([
        ("enabled", text("enabled")),
        ("last run", text("last_run")),
        ("last status", text("last_status")),
        ("last error", text("last_error")),
        ("runs", text("run_count")),
        ("state", text("state")),
    ]);
    print!(
        "{}",
        output::card(&format!("{} ({})", job.program, job.name), rows)
    );
    if let Some(failing) = data["failing"].as_array().filter(|f| !f.is_empty()) {
        println!("\nFailing memos:");
        let rows = failing
            .iter()
            .map(|m| {
                vec![
                    m["file"].as_str().unwrap_or("").to_string(),
                    m["status"].as_str().unwrap_or("").to_string(),
                    m["attempts"].to_string(),
                    m["reason"].as_str().unwrap_or("—").to_string(),
                ]
            })
            .collect();
        println!(
            "{}",
            output::table(&["file", "status", "attempts", "reason"], rows)
        );
        println!("Details: `astra memos show FILE`; re-queue: `astra memos retry FILE`.");
    }
    Ok(crate::exit::OK)
}

/// The program beside this one (installed together), else from PATH.
pub fn program_path(program: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("ASTRA_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join(program);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(program)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(program))
}

/// One started job: its process and the thread echoing its stderr.
struct Started {
    job: &'static JobInfo,
    child: std::process::Child,
    echo: std::thread::JoinHandle<()>,
    started: std::time::Instant,
}

fn start(ctx: &Ctx, job: &'static JobInfo) -> Result<Started> {
    let mut cmd = Command::new(program_path(job.program));
    cmd.arg("--json").env("ASTRA_HOME", &ctx.paths.home);
    // Only a named config is passed on: the default one may be absent (defaults).
    if ctx.paths.config_named {
        cmd.env("ASTRA_CONFIG", &ctx.paths.config);
    } else {
        cmd.env_remove("ASTRA_CONFIG");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", job.program))?;
    let stderr = child.stderr.take();
    let program = job.program;
    let echo = std::thread::spawn(move || {
        if let Some(e) = stderr {
            for line in BufReader::new(e).lines().map_while(Result::ok) {
                eprintln!("[{program}] {line}");
            }
        }
    });
    Ok(Started {
        job,
        child,
        echo,
        started: std::time::Instant::now(),
    })
}

fn finish(s: Started) -> Value {
    let Started {
        job,
        child,
        echo,
        started,
    } = s;
    let out = child.wait_with_output();
    let _ = echo.join();
    let duration_ms = started.elapsed().as_millis() as u64;
    let (code, result) = match out {
        Ok(o) => (
            o.status.code(),
            serde_json::from_slice::<RunResult>(&o.stdout).ok(),
        ),
        Err(_) => (None, None),
    };
    let status = result
        .as_ref()
        .map(|r| r.status.as_str())
        .unwrap_or("failed");
    json!({
        "job_name": job.name,
        "status": status,
        "exit_code": code,
        "duration_ms": duration_ms,
        "result": {
            "success": code == Some(0),
            "message": result.as_ref().map(|r| r.message.clone()).unwrap_or_else(|| format!("{} exited with {code:?}", job.program)),
            "items_processed": result.as_ref().map(|r| r.stats.processed).unwrap_or(0),
            "items_failed": result.as_ref().map(|r| r.stats.failed).unwrap_or(0),
        }
    })
}

/// `--no-wait`: each job started in its own session, output to the null device (its
/// log and history keep what it did); returns at once.
fn start_detached(ctx: &Ctx, names: &[String], all: bool, _sequential: bool) -> Result<u8> {
    use std::os::unix::process::CommandExt;
    let mut started = Vec::new();
    for job in selected_jobs(ctx, names, all)? {
        let mut cmd = Command::new(program_path(job.program));
        cmd.env("ASTRA_HOME", &ctx.paths.home);
        if ctx.paths.config_named {
            cmd.env("ASTRA_CONFIG", &ctx.paths.config);
        } else {
            cmd.env_remove("ASTRA_CONFIG");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", job.program))?;
        started.push(json!({"job_name": job.name, "program": job.program, "pid": child.id()}));
    }
    if ctx.json {
        output::json(
            &json!({"started": started, "total": started.len()}),
            Artifact::Table,
            "Jobs Started",
        );
    } else {
        for s in &started {
            println!(
                "started {} (pid {}); follow it with: astra jobs logs --job {} --follow",
                s["program"].as_str().unwrap_or(""),
                s["pid"],
                s["program"].as_str().unwrap_or("")
            );
        }
    }
    Ok(crate::exit::OK)
}

fn selected_jobs(ctx: &Ctx, names: &[String], all: bool) -> Result<Vec<&'static JobInfo>> {
    let cfg = ctx.config()?;
    Ok(if all {
        jobs::JOBS
            .iter()
            .copied()
            .filter(|j| cfg.job(j).enabled)
            .collect()
    } else {
        names.iter().map(|n| find_job(n)).collect::<Result<_>>()?
    })
}

fn run_jobs(ctx: &Ctx, names: &[String], all: bool, sequential: bool) -> Result<u8> {
    let cfg = ctx.config()?;
    let selected: Vec<&'static JobInfo> = if all {
        jobs::JOBS
            .iter()
            .copied()
            .filter(|j| cfg.job(j).enabled)
            .collect()
    } else {
        names.iter().map(|n| find_job(n)).collect::<Result<_>>()?
    };
    let mut results = Vec::new();
    if sequential {
        for j in selected {
            results.push(finish(start(ctx, j)?));
        }
    } else {
        let started: Vec<Started> = selected
            .into_iter()
            .map(|j| start(ctx, j))
            .collect::<Result<_>>()?;
        results.extend(started.into_iter().map(finish));
    }
    let failed = results
        .iter()
        .filter(|r| r["result"]["success"] != true)
        .count();
    if ctx.json {
        let data = json!({"jobs_run": results, "total": results.len(), "succeeded": results.len() - failed, "failed": failed});
        output::json(&data, Artifact::Table, "Job Execution Results");
    } else {
        let rows = results
            .iter()
            .map(|r| {
                let name = r["job_name"].as_str().unwrap_or("");
                vec![
                    // The program name, as `jobs list` shows it.
                    jobs::find(name).map_or(name, |j| j.program).to_string(),
                    r["status"].as_str().unwrap_or("").to_string(),
                    format!(
                        "{:.1}s",
                        r["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0
                    ),
                    r["result"]["message"].as_str().unwrap_or("").to_string(),
                ]
            })
            .collect();
        println!(
            "{}",
            output::table(&["job", "status", "duration", "message"], rows)
        );
    }
    Ok(if failed > 0 {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    })
}

/// The `p`-th percentile (0–100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn stages_text(r: &RunResult) -> String {
    r.stages
        .0
        .iter()
        .map(|(s, t)| format!("{s} {}ms", t.ms))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// What an empty history listing says instead of an empty table.
fn no_runs_sentence(job: Option<&JobInfo>, status: Option<&str>) -> String {
    let of = job
        .map(|j| format!(" of {}", j.program))
        .unwrap_or_default();
    match status {
        Some(s) => format!("No {s} runs{of} in the history."),
        None => format!("No runs{of} in the history yet: `astra jobs run` starts one."),
    }
}

fn show_history(ctx: &Ctx, job: Option<&str>, status: Option<&str>, limit: usize) -> Result<u8> {
    let job = job.map(find_job).transpose()?;
    if let Some(s) = status
        && serde_json::from_value::<RunStatus>(json!(s)).is_err()
    {
        return Err(crate::exit::usage(format!(
            "--status {s}: not a run status (success, partial, failed, skipped, paused, disabled, interrupted)"
        )));
    }
    let mut runs: Vec<RunResult> = history::read(&ctx.paths.history)?
        .into_iter()
        .filter(|r| job.is_none_or(|j| r.job_name == j.name))
        .filter(|r| status.is_none_or(|s| r.status.as_str() == s))
        .collect();
    runs.reverse();
    let costs = cost_totals(&runs);
    runs.truncate(limit);
    let mut durations: Vec<u64> = runs.iter().map(|r| r.duration_ms).collect();
    durations.sort_unstable();
    let ok = runs
        .iter()
        .filter(|r| r.status == RunStatus::Success)
        .count();
    let rate = if runs.is_empty() {
        None
    } else {
        Some(ok as f64 / runs.len() as f64)
    };
    let (p50, p95) = (percentile(&durations, 50.0), percentile(&durations, 95.0));
    if ctx.json {
        let data = json!({"runs": runs, "total": runs.len(), "success_rate": rate, "p50_ms": p50, "p95_ms": p95, "cost_usd": costs});
        output::json(&data, Artifact::Table, "Job History");
        return Ok(crate::exit::OK);
    }
    if runs.is_empty() {
        println!("{}", no_runs_sentence(job, status));
        return Ok(crate::exit::OK);
    }
    let rows = runs
        .iter()
        .map(|r| {
            vec![
                r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                jobs::find(&r.job_name)
                    .map(|j| j.program)
                    .unwrap_or(&r.job_name)
                    .to_string(),
                r.status.as_str().to_string(),
                format!("{:.1}s", r.duration_ms as f64 / 1000.0),
                format!("{}/{}/{}", r.stats.found, r.stats.processed, r.stats.failed),
                stages_text(r),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                "started (UTC)",
                "job",
                "status",
                "duration",
                "found/done/failed",
                "stages"
            ],
            rows
        )
    );
    if let (Some(rate), Some(p50), Some(p95)) = (rate, p50, p95) {
        println!(
            "{} runs · {:.0}% success · p50 {:.1}s · p95 {:.1}s",
            runs.len(),
            rate * 100.0,
            p50 as f64 / 1000.0,
            p95 as f64 / 1000.0
        );
    }
    print_costs(&costs);
    Ok(crate::exit::OK)
}

/// What the runs cost (their `stats.cost_usd`), by UTC day and month, newest first.
#[derive(Debug, Default, serde::Serialize)]
struct CostTotals {
    total: f64,
    days: std::collections::BTreeMap<String, f64>,
    months: std::collections::BTreeMap<String, f64>,
}

fn cost_totals(runs: &[RunResult]) -> CostTotals {
    let mut t = CostTotals::default();
    let round = |v: f64| (v * 1e6).round() / 1e6;
    for r in runs {
        let Some(c) = r.stats.cost_usd else { continue };
        t.total += c;
        *t.days
            .entry(r.started_at.format("%Y-%m-%d").to_string())
            .or_default() += c;
        *t.months
            .entry(r.started_at.format("%Y-%m").to_string())
            .or_default() += c;
    }
    t.total = round(t.total);
    t.days.values_mut().for_each(|v| *v = round(*v));
    t.months.values_mut().for_each(|v| *v = round(*v));
    t
}

/// Dollars as a person reads them: cents, or more digits below a cent.
fn usd(v: f64) -> String {
    if v == 0.0 || v >= 0.01 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

fn print_costs(c: &CostTotals) {
    if c.days.is_empty() {
        return;
    }
    let days: Vec<String> = c
        .days
        .iter()
        .rev()
        .take(7)
        .map(|(d, v)| format!("{d} {}", usd(*v)))
        .collect();
    let months: Vec<String> = c
        .months
        .iter()
        .rev()
        .map(|(m, v)| format!("{m} {}", usd(*v)))
        .collect();
    println!("cost by day (UTC): {}", days.join(" · "));
    println!("cost by month: {}", months.join(" · "));
}

fn set_enabled(ctx: &Ctx, name: &str, enabled: bool) -> Result<u8> {
    let job = find_job(name)?;
    ctx.config()?;
    let changed = crate::config_edit::set_job_enabled(&ctx.paths.config, job, enabled)?;
    let word = if enabled { "enabled" } else { "disabled" };
    let msg = if changed {
        format!("{} {word} in {}", job.program, ctx.paths.config.display())
    } else {
        format!("{} was already {word}", job.program)
    };
    if ctx.json {
        output::json(
            &json!({"job": job.name, "enabled": enabled, "changed": changed, "message": msg}),
            Artifact::Text,
            &format!("Job {word}"),
        );
    } else {
        println!("{msg}");
    }
    Ok(crate::exit::OK)
}

/// The date a rotated log file is from (`voice-memo.log.2026-11-27`), else its mtime.
fn log_date(path: &std::path::Path) -> Option<DateTime<Utc>> {
    crate::logging::file_date(path)
}

fn log_cleanup(ctx: &Ctx, days: u64, dry_run: bool) -> Result<u8> {
    let cutoff = Utc::now() - chrono::Duration::days(days as i64);
    let mut removed_logs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&ctx.paths.logs) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() && log_date(&p).is_some_and(|d| d < cutoff) {
                if !dry_run {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("removing {}", p.display()))?;
                }
                removed_logs.push(p.display().to_string());
            }
        }
    }
    removed_logs.sort();
    let removed_lines = history::retain(&ctx.paths.history, dry_run, |r| r.finished_at >= cutoff)?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    let msg = format!(
        "{verb} {} log file(s) and {removed_lines} history line(s) older than {days} days",
        removed_logs.len()
    );
    if ctx.json {
        let data = json!({"dry_run": dry_run, "days": days, "log_files": removed_logs, "history_lines": removed_lines, "message": msg});
        output::json(&data, Artifact::Text, "Log Cleanup");
    } else {
        println!("{msg}");
        for f in &removed_logs {
            println!("  {f}");
        }
    }
    Ok(crate::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50.0), Some(10));
        assert_eq!(percentile(&v, 95.0), Some(19));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn overdue_means_a_scheduled_time_passed_long_ago() {
        let every5 = crate::schedule::CronSchedule::parse("*/5 * * * *").unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(!is_overdue(
            &every5,
            t("2026-01-14T10:00:00Z"),
            t("2026-01-14T10:12:00Z")
        ));
        assert!(is_overdue(
            &every5,
            t("2026-01-14T10:00:00Z"),
            t("2026-01-14T10:30:00Z")
        ));
    }

    #[test]
    fn log_dates_come_from_rotated_names() {
        let d = log_date(std::path::Path::new(
            "/nonexistent/voice-memo.log.2026-01-02",
        ))
        .unwrap();
        assert_eq!(d.date_naive().to_string(), "2026-01-02");
    }
}
