//! The dashboard in a real browser (headless Chromium over the DevTools protocol), over
//! a home built by real runs: every page loads and shows what it should, the charts are
//! drawn, "disable" and "retry" do what the CLI does, and it fits a phone. Screenshots
//! of each page land in `target/ui-screenshots/`.
use crate::cdp::Browser;
use crate::dashboard::Dashboard;
use crate::harness::{Test, wav_bytes};
use std::path::PathBuf;

fn shots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("ui-screenshots")
}

/// Every chart on the page has drawn marks of a real size.
const CHARTS_DRAWN: &str = "(() => { const c = [...document.querySelectorAll('figure.chart svg')]; return c.length > 0 && c.every(s => s.getBoundingClientRect().width > 100) && [...document.querySelectorAll('figure.chart svg rect, figure.chart svg circle')].some(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0; }); })()";

/// Nothing wider than the screen.
const FITS: &str = "document.documentElement.scrollWidth <= window.innerWidth + 1";

#[test]
fn the_dashboard_in_headless_chromium() {
    let Some(mut b) = Browser::launch() else {
        return;
    };
    // A Slack stand-in for "send a test".
    let slack = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook = format!(
        "http://127.0.0.1:{}/services/T000/B000/sekrit",
        slack.server_addr().to_ip().unwrap().port()
    );
    // Every alert the runs send lands here too; the test's is the one that says so.
    let (tx, slack_got) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for mut req in slack.incoming_requests() {
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let _ = req.respond(tiny_http::Response::from_string("ok"));
            let _ = tx.send(body);
        }
    });
    let t = Test::new()
        .memo(
            "20260114 093000-AAAA1111.wav",
            "Remind me to call the dentist tomorrow and buy milk.",
        )
        .memo(
            "20260114 213000-CCCC3333.wav",
            "Journal. Today I went for a long run by the river and I feel great.",
        )
        .audio("lonely.wav", &wav_bytes("lonely", 100))
        .vm("max_attempts = 1")
        .config("[transcription]\ncommand = [\"sh\", \"-c\", \"echo 'recognizer crashed: out of memory' >&2; exit 3\"]\n")
        .config("[alerts]\nslack_webhook_env = \"ASTRA_TEST_SLACK\"\n")
        .env("ASTRA_TEST_SLACK", &hook);
    t.voice_memo().code_is(1);
    t.run("voice-memo", &["--json"]).success();
    let d = Dashboard::start(&t);
    let dir = shots();
    let base = format!("http://127.0.0.1:{}", d.port);

    // The printed URL: the token becomes a cookie and leaves the address bar.
    b.goto(&d.url);
    assert_eq!(b.url(), format!("{base}/"));
    let text = b.text();
    assert!(
        text.contains("Overview") && text.contains("voice-memo") && text.contains("This week"),
        "{text}"
    );
    b.wait_until(CHARTS_DRAWN);
    b.screenshot(&dir.join("overview.png"));

    // Jobs: the schedule in English; "disable" writes config.toml.
    b.goto(&format!("{base}/jobs"));
    let text = b.text();
    assert!(
        text.contains("Every 5 minutes") && text.contains("At 21:00"),
        "{text}"
    );
    b.screenshot(&dir.join("jobs.png"));
    b.click("article[aria-labelledby=job-voice-memo] button[data-action=disable]");
    let text = b.text();
    assert!(
        text.contains("Disabled in config.toml"),
        "{} {text}",
        b.url()
    );
    let cfg = std::fs::read_to_string(t.home.join("config.toml")).unwrap();
    let cfg: toml::Table = toml::from_str(&cfg).unwrap();
    assert_eq!(
        cfg["jobs"]["voiceMemo"]["enabled"].as_bool(),
        Some(false),
        "{cfg}"
    );

    // A job: the live preview of a schedule as it is typed.
    b.goto(&format!("{base}/jobs/voice-memo"));
    b.type_into("#schedule-expr", "30 9 * * 1-5");
    b.wait_until("document.getElementById('schedule-preview').innerText.includes('At 09:30')");
    b.screenshot(&dir.join("job.png"));

    // History: charts drawn, the run list, a run's log lines.
    b.goto(&format!("{base}/history"));
    b.wait_until(CHARTS_DRAWN);
    let text = b.text();
    assert!(
        text.contains("Runs per day by status") && text.contains("partial"),
        "{text}"
    );
    b.screenshot(&dir.join("history.png"));
    b.click("table.responsive tbody tr:last-child a");
    let text = b.text();
    assert!(
        text.contains("Log lines") && text.contains("memo done"),
        "{text}"
    );
    b.screenshot(&dir.join("run.png"));

    // Memos: the list, a failed memo, retry.
    b.goto(&format!("{base}/memos"));
    let text = b.text();
    assert!(
        text.contains("lonely.wav") && text.contains("failed"),
        "{text}"
    );
    b.screenshot(&dir.join("memos.png"));
    b.goto(&format!("{base}/memos?status=failed"));
    b.click("table.responsive tbody tr a");
    assert!(b.text().contains("recognizer crashed: out of memory"));
    b.screenshot(&dir.join("memo-failed.png"));
    b.click("button[data-action=retry]");
    assert!(b.text().contains("Queued"), "{}", b.text());
    assert_eq!(t.item("lonely.wav")["status"], "retrying");

    // A memo's transcript, found by searching for what was said.
    b.goto(&format!("{base}/memos?q=dentist"));
    b.click("table.responsive tbody tr a");
    let text = b.text();
    assert!(
        text.contains("Remind me to call the dentist tomorrow and buy milk."),
        "{text}"
    );
    assert!(
        text.contains("Call the dentist"),
        "the organization: {text}"
    );
    b.screenshot(&dir.join("memo.png"));

    // Alerts: the variable's name, never its value; a test reaches the channel.
    b.goto(&format!("{base}/alerts"));
    let text = b.text();
    assert!(
        text.contains("ASTRA_TEST_SLACK") && !text.contains("sekrit"),
        "{text}"
    );
    b.screenshot(&dir.join("alerts.png"));
    b.click("form[action='/alerts/test'] input[value=slack] ~ button");
    let text = b.text();
    assert!(
        text.contains("Test sent") && text.contains("slack: sent"),
        "{text}"
    );
    assert!(
        slack_got.try_iter().any(|b| b.contains("test alert")),
        "the stand-in got the test"
    );

    // Without JavaScript the forms still work: enable it again.
    b.send(
        "Emulation.setScriptExecutionDisabled",
        serde_json::json!({"value": true}),
    );
    b.goto(&format!("{base}/jobs"));
    b.click("article[aria-labelledby=job-voice-memo] button[data-action=enable]");
    assert!(b.text().contains("Enabled in config.toml"));
    let cfg = std::fs::read_to_string(t.home.join("config.toml")).unwrap();
    assert!(cfg.contains("enabled = true"), "{cfg}");
    // Run now: the launch page refreshes itself (no script) until the run's result.
    b.click("article[aria-labelledby=job-voice-memo] form[action$='/run'] button");
    let text = b.wait_text("exit code");
    assert!(
        // The retried memo fails again: the run is partial, and says so.
        text.contains("Run of voice-memo") && text.contains("partial") && text.contains("1 failed"),
        "{text}"
    );
    b.screenshot(&dir.join("launch.png"));
    b.send(
        "Emulation.setScriptExecutionDisabled",
        serde_json::json!({"value": false}),
    );

    // A phone's width: nothing sticks out.
    b.viewport(390, 844, true);
    for (page, shot) in [
        ("/", "overview-phone.png"),
        ("/jobs", "jobs-phone.png"),
        ("/history", "history-phone.png"),
        ("/memos", "memos-phone.png"),
    ] {
        b.goto(&format!("{base}{page}"));
        assert_eq!(
            b.eval(FITS),
            serde_json::json!(true),
            "{page} is wider than a phone"
        );
        b.screenshot(&dir.join(shot));
    }
}
