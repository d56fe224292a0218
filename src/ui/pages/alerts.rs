//! The Alerts page: the configured channels by the names of the variables that hold
//! their URLs or passwords (never the values), with "send a test".
use super::layout::{Section, View, badge, notice};
use crate::config::AlertsConfig;
use maud::{Markup, html};

/// One channel as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// slack, discord, webhook, email, healthcheck.
    pub name: &'static str,
    pub what: &'static str,
    /// The config key and the variable it names (empty: not configured).
    pub key: &'static str,
    pub variables: Vec<String>,
    /// Whether every variable resolves (environment, keychain, secrets file).
    pub ready: bool,
    /// Whether "send a test" applies (health checks are pinged by runs, not tested).
    pub testable: bool,
    pub configured: bool,
}

/// The channels of `cfg`; `is_set` says whether a variable holds a value.
pub fn channels(cfg: &AlertsConfig, is_set: &dyn Fn(&str) -> bool) -> Vec<Channel> {
    let env =
        |name: &'static str, what: &'static str, key: &'static str, var: &str, testable: bool| {
            let configured = !var.is_empty();
            Channel {
                name,
                what,
                key,
                variables: if configured {
                    vec![var.to_string()]
                } else {
                    Vec::new()
                },
                ready: configured && is_set(var),
                testable,
                configured,
            }
        };
    let email_vars: Vec<String> = [&cfg.smtp_username_env, &cfg.smtp_password_env]
        .into_iter()
        .filter(|v| !v.is_empty())
        .cloned()
        .collect();
    let email_configured = !cfg.email_to.is_empty() && !cfg.smtp_host.is_empty();
    vec![
        env(
            "slack",
            "Slack incoming webhook",
            "slack_webhook_env",
            &cfg.slack_webhook_env,
            true,
        ),
        env(
            "discord",
            "Discord webhook",
            "discord_webhook_env",
            &cfg.discord_webhook_env,
            true,
        ),
        env(
            "webhook",
            "JSON webhook (POST)",
            "webhook_env",
            &cfg.webhook_env,
            true,
        ),
        Channel {
            name: "email",
            what: "Email over SMTP",
            key: "email_to + smtp_host",
            ready: email_configured && email_vars.iter().all(|v| is_set(v)),
            variables: email_vars,
            testable: true,
            configured: email_configured,
        },
        env(
            "healthcheck",
            "Health-check pings (start, success, fail)",
            "healthcheck_url_env",
            &cfg.healthcheck_url_env,
            false,
        ),
    ]
}

type Outcome = Result<Vec<(String, Result<(), String>)>, String>;

pub fn page_with(
    view: &View,
    cfg: &AlertsConfig,
    outcome: Option<&Outcome>,
    is_set: &dyn Fn(&str) -> bool,
) -> Markup {
    let chans = channels(cfg, is_set);
    let any = chans.iter().any(|c| c.testable && c.ready);
    super::layout::page(
        "Alerts",
        Section::Alerts,
        view,
        html! {
            @match outcome {
                Some(Ok(rows)) => {
                    (notice(if rows.iter().all(|(_, r)| r.is_ok()) { "good" } else { "bad" }, html! {
                        "Test sent, as " code { "astra alert test" } " sends it:"
                        ul { @for (c, r) in rows { li { (c) ": " @match r { Ok(()) => { (badge("sent")) }, Err(e) => { (badge("failed")) " " (e) } } } } }
                    }))
                },
                Some(Err(e)) => { (notice("bad", html! { "Not sent: " (e) })) },
                None => {},
            }
            p { "Alerts go out when a job starts failing, keeps failing, and recovers (at most every " (cfg.throttle_minutes) " minutes). Each channel's URL or password is read from the variable named in " code { "[alerts]" } " of config.toml; its value is never shown here." }
            div.table-wrap {
                table.responsive {
                    thead { tr { th scope="col" { "channel" } th scope="col" { "config key" } th scope="col" { "variable" } th scope="col" { "state" } th scope="col" { "test" } } }
                    tbody {
                        @for c in &chans {
                            tr {
                                td data-label="channel" { strong { (c.name) } br; span.muted { (c.what) } }
                                td data-label="config key" { code { (c.key) } }
                                td data-label="variable" { @if c.variables.is_empty() { span.muted { "—" } } @else { @for v in &c.variables { code { (v) } " " } } }
                                td data-label="state" {
                                    @if !c.configured { (badge("not configured")) }
                                    @else if c.ready { (badge("ok")) }
                                    @else { (badge("error")) " " span { "the variable has no value: export it, or " code { "astra secrets set" } " it" } }
                                }
                                td data-label="test" {
                                    @if c.testable && c.ready {
                                        form.inline method="post" action="/alerts/test" {
                                            (view.csrf_field())
                                            input type="hidden" name="channel" value=(c.name);
                                            button type="submit" { "Send a test to " (c.name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if any {
                form method="post" action="/alerts/test" {
                    (view.csrf_field())
                    button.primary type="submit" { "Send a test to every channel" }
                }
            } @else {
                p.muted { "No channel can be tested yet: set e.g. " code { "slack_webhook_env = \"SLACK_WEBHOOK_URL\"" } " in [alerts] and put the URL in that variable." }
            }
        },
    )
}

/// The page, with variables looked up in the secret store.
pub fn page(view: &View, cfg: &AlertsConfig, outcome: Option<&Outcome>) -> Markup {
    page_with(view, cfg, outcome, &|v| crate::secrets::get(v).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_named_and_their_values_never_shown() {
        let cfg = AlertsConfig {
            slack_webhook_env: "MY_SLACK".into(),
            webhook_env: "MY_HOOK".into(),
            ..AlertsConfig::default()
        };
        let view = View { csrf: "c".into() };
        let html = page_with(&view, &cfg, None, &|v| v == "MY_SLACK").into_string();
        assert!(html.contains("<code>MY_SLACK</code>"), "{html}");
        assert!(html.contains("Send a test to slack"));
        assert!(
            !html.contains("Send a test to webhook"),
            "MY_HOOK has no value"
        );
        let c = channels(&cfg, &|v| v == "MY_SLACK");
        assert!(c[0].ready && !c[2].ready && !c[1].configured);
    }
}
