//! Unattended operation: alerts on state changes, health pings, timeouts, signals,
//! and a run that died noticed by the next one.
use crate::harness::{Test, wav_bytes};
use crate::recorder::{Recorder, Smtp};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SLACK_SECRET: &str = "/services/T000/B000/slack-secret-token";

fn alerting(t: Test, slack: &Recorder, hooks: &Recorder, hc: &Recorder) -> Test {
    t.config("[alerts]\nslack_webhook_env = \"ASTRA_TEST_SLACK\"\nwebhook_env = \"ASTRA_TEST_HOOK\"\nhealthcheck_url_env = \"ASTRA_TEST_HC\"\nthrottle_minutes = 60\n")
        .env("ASTRA_TEST_SLACK", &format!("{}{SLACK_SECRET}", slack.url))
        .env("ASTRA_TEST_HOOK", &format!("{}/hook", hooks.url))
        .env("ASTRA_TEST_HC", &format!("{}/ping/abc", hc.url))
}

#[test]
fn alerts_fire_on_failing_and_resolved_not_on_every_run() {
    let (slack, hooks, hc) = (
        Recorder::start(200),
        Recorder::start(200),
        Recorder::start(200),
    );
    let t = alerting(Test::new().vm("max_attempts = 1"), &slack, &hooks, &hc);
    t.voice_memo().success();
    assert!(slack.hits().is_empty(), "a healthy job says nothing");
    assert_eq!(hc.at("/ping/abc/start").len(), 1);
    assert_eq!(hc.at("/ping/abc").len(), 1, "success ping");
    // A dead letter: failing.
    t.add_audio("noise.m4a", b"not audio at all");
    t.voice_memo().code_is(1);
    let s = slack.hits();
    assert_eq!(s.len(), 1, "{s:?}");
    let body: serde_json::Value = serde_json::from_str(&s[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("voice-memo is failing"), "{text}");
    assert!(
        text.contains("noise.m4a") && text.contains("not an audio file"),
        "{text}"
    );
    assert!(text.contains("astra jobs show voice-memo"), "{text}");
    let hook: serde_json::Value = serde_json::from_str(&hooks.at("/hook")[0].body).unwrap();
    assert_eq!(hook["event"], "failing");
    assert_eq!(hook["failures"][0]["file"], "noise.m4a");
    let fail = hc.at("/ping/abc/fail");
    assert_eq!(fail.len(), 1);
    assert!(
        fail[0].body.contains("memo failed"),
        "the fail ping carries the log: {}",
        fail[0].body
    );
    // Still failing within the throttle: no new alert.
    t.add_audio("noise2.m4a", b"also not audio");
    t.voice_memo().code_is(1);
    assert_eq!(slack.hits().len(), 1, "throttled");
    // Healthy again: resolved.
    t.add_memo("fine.wav", "note all good again");
    t.voice_memo().success();
    let s = slack.hits();
    assert_eq!(s.len(), 2);
    assert!(s[1].body.contains("recovered"), "{}", s[1].body);
    assert_eq!(t.state()["jobs"]["_alerts"]["voiceMemo"]["failing"], false);
}

#[test]
fn a_broken_alert_channel_never_fails_the_job() {
    let t = Test::new()
        .memo("a.wav", "note fine")
        .config("[alerts]\nslack_webhook_env = \"ASTRA_TEST_SLACK\"\nhealthcheck_url_env = \"ASTRA_TEST_HC\"\n")
        .env("ASTRA_TEST_SLACK", "http://127.0.0.1:9/refused")
        .env("ASTRA_TEST_HC", "http://127.0.0.1:9/refused");
    t.voice_memo().success();
    t.add_audio("noise.m4a", b"not audio");
    let r = t.voice_memo();
    r.code_is(1);
    assert_eq!(
        r.json()["status"],
        "partial",
        "the exit code is the run's, not the alert's"
    );
}

#[test]
fn email_alerts_go_out_over_smtp() {
    let smtp = Smtp::start();
    let t = Test::new().vm("max_attempts = 1").config(&format!(
        "[alerts]\nemail_to = [\"me@example.com\"]\nemail_from = \"astra <astra@example.com>\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\n",
        smtp.port
    ));
    t.add_audio("noise.m4a", b"not audio");
    t.voice_memo().code_is(1);
    let m = smtp.messages();
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("Subject: astra: voice-memo is failing"),
        "{}",
        m[0]
    );
    assert!(m[0].contains("noise.m4a"), "{}", m[0]);
    let r = t.run("astra", &["alert", "test", "--json"]);
    r.success();
    assert_eq!(smtp.messages().len(), 2);
}

fn slow_command(marker: &std::path::Path) -> String {
    let script = format!("touch '{}'; sleep 30; echo note never", marker.display());
    format!("[transcription]\nprovider = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}]\n")
}

fn wait_for(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_job_timeout_stops_the_run_and_the_memo_resumes() {
    let marks = tempfile::tempdir().unwrap();
    let started = marks.path().join("started");
    let t = Test::new()
        .audio("slow.wav", &wav_bytes("slow", 100))
        .config(&slow_command(&started))
        .config("[jobs.voiceMemo]\ntimeout_seconds = 1\n");
    let begun = Instant::now();
    let r = t.voice_memo();
    r.code_is(1);
    assert!(
        begun.elapsed() < Duration::from_secs(15),
        "{:?}",
        begun.elapsed()
    );
    let j = r.json();
    assert_eq!(j["status"], "failed");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("timed out after 1 s"),
        "{j}"
    );
    let item = t.item("slow.wav");
    assert_eq!(item["status"], "pending", "{item}");
    assert_eq!(item["attempts"], 0, "a timed-out attempt does not count");
}

#[test]
fn sigterm_finishes_the_step_saves_and_exits_interrupted() {
    let marks = tempfile::tempdir().unwrap();
    let started = marks.path().join("started");
    let t = Test::new()
        .audio("slow.wav", &wav_bytes("slow", 100))
        .config(&slow_command(&started));
    let child = t
        .command("voice-memo")
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&started);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let begun = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(begun.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["status"], "interrupted");
    assert_eq!(t.item("slow.wav")["status"], "pending");
    let history = std::fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    assert!(history.contains("\"status\":\"interrupted\""));
    assert!(
        !t.home.join("locks/voice-memo.run").exists(),
        "the running record is cleared"
    );
}

#[test]
fn a_killed_run_is_recorded_as_interrupted_by_the_next() {
    let marks = tempfile::tempdir().unwrap();
    let started = marks.path().join("started");
    let slack = Recorder::start(200);
    let t = Test::new()
        .audio("slow.wav", &wav_bytes("slow", 100))
        .config(&slow_command(&started))
        .config("[alerts]\nslack_webhook_env = \"ASTRA_TEST_SLACK\"\n")
        .env("ASTRA_TEST_SLACK", &slack.url);
    let mut child = t
        .command("voice-memo")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&started);
    let running: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.home.join("locks/voice-memo.run")).unwrap())
            .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // The next run (with the slow memo out of the way) notices the dead one.
    std::fs::remove_file(t.inbox.join("slow.wav")).unwrap();
    t.voice_memo().success();
    let history = std::fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    let dead: serde_json::Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    assert_eq!(dead["status"], "interrupted");
    assert_eq!(dead["run_id"], running["run_id"]);
    let s = slack.hits();
    assert_eq!(s.len(), 2, "failing (interrupted), then resolved: {s:?}");
    assert!(s[0].body.contains("is failing") && s[0].body.contains("interrupted"));
}

#[test]
fn no_secret_reaches_any_file_or_output() {
    let (slack, hooks, hc) = (
        Recorder::start(200),
        Recorder::start(200),
        Recorder::start(200),
    );
    let t = alerting(Test::new().vm("max_attempts = 1"), &slack, &hooks, &hc)
        .memo("a.wav", "note hello");
    let mut outputs = String::new();
    for args in [&["--json"][..], &["-v", "--json"][..]] {
        let r = t.run("voice-memo", args);
        outputs.push_str(&r.stdout());
        outputs.push_str(&r.stderr());
    }
    t.add_audio("noise.m4a", b"not audio");
    let r = t.run("voice-memo", &["-vv", "--json"]);
    outputs.push_str(&r.stdout());
    outputs.push_str(&r.stderr());
    for args in [
        &["jobs", "show", "voice-memo", "--json"][..],
        &["doctor", "--json"][..],
        &["jobs", "history"][..],
    ] {
        let r = t.run("astra", args);
        outputs.push_str(&r.stdout());
        outputs.push_str(&r.stderr());
    }
    assert!(!slack.hits().is_empty(), "the alert went out");
    let secrets = [SLACK_SECRET, "/hook", "/ping/abc", &slack.url[7..]];
    for (path, bytes) in Test::snapshot(&t.home) {
        if path == "config.toml" {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for s in secrets {
            assert!(!text.contains(s), "{path} contains a secret ({s})");
        }
    }
    for s in secrets {
        assert!(!outputs.contains(s), "output contains a secret ({s})");
    }
}
