//! `astra alert test [CHANNEL]`: sends a test message to the configured channels.
use super::Ctx;
use super::output::{self, Artifact};
use crate::alerts::{Event, channels};
use crate::run::result::{RunResult, RunStatus, Stages, Stats};
use anyhow::Result;
use chrono::Utc;

#[derive(clap::Subcommand, Debug)]
pub enum AlertCommand {
    /// Send a test alert to every configured channel, or to one.
    #[command(after_help = "Examples:\n  astra alert test\n  astra alert test slack")]
    Test {
        /// slack, discord, webhook or email.
        channel: Option<String>,
    },
}

pub fn run(ctx: &Ctx, cmd: AlertCommand) -> Result<u8> {
    let AlertCommand::Test { channel } = cmd;
    let cfg = ctx.config()?;
    let outcomes = send_test(&cfg, channel.as_deref())?;
    let failed = outcomes.iter().filter(|(_, r)| r.is_err()).count();
    if ctx.json {
        let rows: Vec<_> = outcomes
            .iter()
            .map(|(c, r)| serde_json::json!({"channel": c, "ok": r.is_ok(), "error": r.as_ref().err()}))
            .collect();
        output::json(
            &serde_json::json!({"channels": rows, "failed": failed}),
            Artifact::Table,
            "Alert Test",
        );
    } else {
        for (c, r) in &outcomes {
            match r {
                Ok(()) => println!("✓ {c}: sent"),
                Err(e) => println!("✗ {c}: {e}"),
            }
        }
    }
    Ok(if failed > 0 {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    })
}

/// Sends the test message to every configured channel, or to `channel`; each
/// channel's outcome (the dashboard's "send a test" calls this too).
pub fn send_test(
    cfg: &crate::config::Config,
    channel: Option<&str>,
) -> Result<Vec<(String, Result<(), String>)>> {
    let sinks: Vec<_> = channels::configured(&cfg.alerts)
        .into_iter()
        .filter(|s| channel.is_none_or(|c| s.name() == c))
        .collect();
    if sinks.is_empty() {
        let what = channel
            .map(|c| format!("`{c}` is not configured"))
            .unwrap_or_else(|| "no alert channel is configured".into());
        return Err(crate::exit::usage(format!(
            "{what}: set [alerts] slack_webhook_env / discord_webhook_env / webhook_env to the name of an environment variable holding the URL (and export it), or email_to + smtp_host"
        )));
    }
    let now = Utc::now();
    let result = RunResult {
        job_name: "test".into(),
        run_id: crate::run::lifecycle::new_run_id(),
        status: RunStatus::Success,
        started_at: now,
        finished_at: now,
        duration_ms: 0,
        message: "a test alert from `astra alert test`".into(),
        stats: Stats::default(),
        stages: Stages::default(),
        items: None,
    };
    let job = &crate::jobs::VOICE_MEMO;
    let text = format!(
        "🧪 astra: test alert — alerts from this machine reach you here.\nRun `astra alert test` again any time.\n(job example: {})",
        job.program
    );
    Ok(channels::send_all(
        &sinks,
        &cfg.alerts,
        &text,
        job,
        &result,
        &Event::Resolved,
    ))
}
