//! Alert channels: Slack and Discord webhooks, a generic JSON webhook, email over
//! SMTP, and health-check pings. Each send has a short timeout; a failing channel is
//! logged (without its URL) and never fails the job.
use super::Event;
use crate::config::{AlertsConfig, SmtpTls};
use crate::jobs::JobInfo;
use crate::run::result::RunResult;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// A destination with its secret resolved.
#[derive(Debug, Clone)]
pub enum Sink {
    Slack(String),
    Discord(String),
    Webhook(String),
    Email,
}

impl Sink {
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Slack(_) => "slack",
            Sink::Discord(_) => "discord",
            Sink::Webhook(_) => "webhook",
            Sink::Email => "email",
        }
    }
}

/// The URL in the environment variable `var` (empty name or value: none).
pub fn env_url(var: &str) -> Option<String> {
    crate::secrets::get(var)
}

/// The channels whose settings and secrets are present.
pub fn configured(cfg: &AlertsConfig) -> Vec<Sink> {
    let mut out = Vec::new();
    if let Some(u) = env_url(&cfg.slack_webhook_env) {
        out.push(Sink::Slack(u));
    }
    if let Some(u) = env_url(&cfg.discord_webhook_env) {
        out.push(Sink::Discord(u));
    }
    if let Some(u) = env_url(&cfg.webhook_env) {
        out.push(Sink::Webhook(u));
    }
    if !cfg.email_to.is_empty() && !cfg.smtp_host.is_empty() {
        out.push(Sink::Email);
    }
    out
}

fn client() -> reqwest::blocking::Client {
    crate::clients::http::client(TIMEOUT)
}

/// POSTs a health-check ping; failures are logged.
pub fn ping(url: &str, body: &str) {
    let r = client().post(url).body(body.to_string()).send();
    match r {
        Ok(resp) if resp.status().is_success() => {}
        Ok(resp) => tracing::warn!(status = resp.status().as_u16(), "health-check ping refused"),
        Err(e) => tracing::warn!(error = %e.without_url(), "health-check ping failed"),
    }
}

/// Sends `text` to every sink; returns each sink's outcome.
pub fn send_all(
    sinks: &[Sink],
    cfg: &AlertsConfig,
    text: &str,
    job: &JobInfo,
    result: &RunResult,
    event: &Event,
) -> Vec<(String, Result<(), String>)> {
    sinks
        .iter()
        .map(|s| {
            let r = send(s, cfg, text, job, result, event);
            if let Err(e) = &r {
                tracing::warn!(channel = s.name(), error = %e, "alert not delivered");
            } else {
                tracing::info!(channel = s.name(), "alert sent");
            }
            (s.name().to_string(), r)
        })
        .collect()
}

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Failing => "failing",
        Event::StillFailing => "still_failing",
        Event::Resolved => "resolved",
    }
}

fn post_json(url: &str, body: serde_json::Value) -> Result<(), String> {
    match client().post(url).json(&body).send() {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(e.without_url().to_string()),
    }
}

/// One send.
pub fn send(
    sink: &Sink,
    cfg: &AlertsConfig,
    text: &str,
    job: &JobInfo,
    result: &RunResult,
    event: &Event,
) -> Result<(), String> {
    match sink {
        Sink::Slack(url) => post_json(url, serde_json::json!({ "text": text })),
        Sink::Discord(url) => post_json(
            url,
            serde_json::json!({ "content": text.chars().take(1900).collect::<String>() }),
        ),
        Sink::Webhook(url) => {
            let failures: Vec<_> = result
                .items
                .iter()
                .flatten()
                .filter(|i| i.error.is_some())
                .map(|i| serde_json::json!({"file": i.file, "status": i.status, "error": i.error}))
                .collect();
            post_json(
                url,
                serde_json::json!({
                    "event": event_name(event),
                    "job": job.name,
                    "program": job.program,
                    "run_id": result.run_id,
                    "status": result.status,
                    "message": result.message,
                    "duration_ms": result.duration_ms,
                    "failures": failures,
                    "text": text,
                    "hint": format!("astra jobs show {}", job.program),
                }),
            )
        }
        Sink::Email => email(cfg, text, job, event),
    }
}

fn email(cfg: &AlertsConfig, text: &str, job: &JobInfo, event: &Event) -> Result<(), String> {
    use lettre::message::Mailbox;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{Message, SmtpTransport, Transport};
    let from: Mailbox = cfg
        .email_from
        .parse()
        .or_else(|_| format!("astra <astra@{}>", cfg.smtp_host).parse())
        .map_err(|e| format!("[alerts] email_from: {e}"))?;
    let subject = match event {
        Event::Failing => format!("astra: {} is failing", job.program),
        Event::StillFailing => format!("astra: {} is still failing", job.program),
        Event::Resolved => format!("astra: {} recovered", job.program),
    };
    let mut builder = Message::builder().from(from).subject(subject);
    for to in &cfg.email_to {
        builder = builder.to(to
            .parse()
            .map_err(|e| format!("[alerts] email_to {to:?}: {e}"))?);
    }
    let msg = builder.body(text.to_string()).map_err(|e| e.to_string())?;
    let transport = match cfg.smtp_tls {
        SmtpTls::Starttls => {
            SmtpTransport::starttls_relay(&cfg.smtp_host).map_err(|e| e.to_string())?
        }
        SmtpTls::Tls => SmtpTransport::relay(&cfg.smtp_host).map_err(|e| e.to_string())?,
        SmtpTls::None => SmtpTransport::builder_dangerous(&cfg.smtp_host),
    };
    let mut transport = transport.port(cfg.smtp_port).timeout(Some(TIMEOUT));
    if let (Some(user), Some(pass)) = (
        env_url(&cfg.smtp_username_env),
        env_url(&cfg.smtp_password_env),
    ) {
        transport = transport.credentials(Credentials::new(user, pass));
    }
    transport
        .build()
        .send(&msg)
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}
