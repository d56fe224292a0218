//! `astra`: the JSON shapes of its commands and what they do to config, state,
//! history and logs.
use crate::harness::{Test, wav_bytes};
use serde_json::Value;
use std::fs;

fn astra_json(t: &Test, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let r = t.run("astra", &all);
    (r.code(), r.json())
}

fn envelope(v: &Value, artifact: &str, title: &str) {
    assert_eq!(v["artifact_type"], artifact, "{v}");
    assert_eq!(v["title"], title, "{v}");
    assert!(v.get("data").is_some(), "{v}");
}

#[test]
fn jobs_list_shows_the_registry() {
    let t = Test::new();
    let (code, v) = astra_json(&t, &["jobs", "list"]);
    assert_eq!(code, Some(0));
    envelope(&v, "table", "Available Jobs");
    assert_eq!(v["data"]["total"], 2);
    let vm = &v["data"]["jobs"][0];
    assert_eq!(vm["name"], "voiceMemo");
    assert_eq!(vm["program"], "voice-memo");
    assert_eq!(vm["schedule"], "*/5 * * * *");
    assert_eq!(vm["enabled"], true);
    let text = t.run("astra", &["jobs", "list"]).stdout();
    assert!(
        text.contains("voice-memo") && text.contains("*/5 * * * *"),
        "{text}"
    );
}

#[test]
fn jobs_show_reports_the_last_run() {
    let t = Test::new().memo("a.wav", "note something worth keeping");
    let (_, before) = astra_json(&t, &["jobs", "show", "voice-memo"]);
    assert_eq!(before["data"]["run_count"], 0);
    assert!(before["data"]["last_run"].is_null());
    t.voice_memo().success();
    let (code, v) = astra_json(&t, &["jobs", "show", "voiceMemo"]);
    assert_eq!(code, Some(0));
    envelope(&v, "presentation_card", "Job: voice-memo");
    let d = &v["data"];
    assert_eq!(d["run_count"], 1);
    assert_eq!(d["last_status"], "success");
    assert_eq!(d["schedule_human"], "Every 5 minutes");
    assert_eq!(d["next_runs"].as_array().unwrap().len(), 5);
    assert_eq!(d["next_run"], d["next_runs"][0]);
    assert_eq!(d["overdue"], false);
    assert!(d["last_error"].is_null());
    assert!(d["last_run"].is_string());
    let r = t.run("astra", &["jobs", "show", "voice-memos"]);
    r.code_is(2);
    assert!(
        r.stderr().contains("Did you mean `voice-memo`?"),
        "{}",
        r.stderr()
    );
}

#[test]
fn jobs_run_starts_each_job_as_a_process() {
    let t = Test::new().memo("a.wav", "note run from the admin cli");
    let (code, v) = astra_json(&t, &["jobs", "run", "voice-memo"]);
    assert_eq!(code, Some(0), "{v}");
    envelope(&v, "table", "Job Execution Results");
    let run = &v["data"]["jobs_run"][0];
    assert_eq!(run["job_name"], "voiceMemo");
    assert_eq!(run["status"], "success");
    assert_eq!(run["result"]["items_processed"], 1);
    assert_eq!(v["data"]["succeeded"], 1);
    assert_eq!(t.item("a.wav")["status"], "completed");
    // A failing item makes the run (and astra) exit 1.
    t.add_audio("bad.m4a", b"not audio");
    let (code, v) = astra_json(&t, &["jobs", "run", "voice-memo"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["data"]["failed"], 1);
    assert_eq!(v["data"]["jobs_run"][0]["status"], "partial");
}

#[test]
fn jobs_history_filters_and_summarises() {
    let t = Test::new().memo("a.wav", "note one");
    t.voice_memo().success();
    t.add_audio("bad.m4a", b"not audio");
    t.voice_memo().code_is(1);
    t.voice_memo().success();
    let (code, v) = astra_json(&t, &["jobs", "history", "--job", "voice-memo"]);
    assert_eq!(code, Some(0));
    envelope(&v, "table", "Job History");
    let runs = v["data"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1]["status"], "partial", "newest first");
    assert!(runs[0].get("items").is_none());
    assert!(v["data"]["p50_ms"].is_u64() && v["data"]["p95_ms"].is_u64());
    assert!((v["data"]["success_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let (_, v) = astra_json(&t, &["jobs", "history", "--status", "partial", "-n", "5"]);
    assert_eq!(v["data"]["total"], 1);
    let text = t.run("astra", &["jobs", "history"]).stdout();
    assert!(
        text.contains("transcribe") && text.contains("% success"),
        "{text}"
    );
    t.run("astra", &["jobs", "history", "--status", "great"])
        .code_is(2);
}

#[test]
fn enable_and_disable_keep_comments() {
    let t = Test::new().memo("a.wav", "note toggled");
    let text = format!(
        "# my astra\n[voice_memo]\ninbox = \"{}\" # recordings\nsettle_seconds = 0\n\n[sync.markdown]\ndir = \"{}\"\n\n[jobs.voice-memo]\nenabled = true # on by default\n",
        t.inbox.display(),
        t.vault.display()
    );
    let t = t.own_config(&text);
    let (code, v) = astra_json(&t, &["jobs", "disable", "voice-memo"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["data"]["changed"], true);
    let after = fs::read_to_string(t.home.join("config.toml")).unwrap();
    assert_eq!(
        after,
        text.replace("enabled = true # on", "enabled = false # on")
    );
    assert_eq!(t.voice_memo().json()["status"], "disabled");
    t.run("astra", &["jobs", "enable", "voiceMemo"]).success();
    assert_eq!(
        fs::read_to_string(t.home.join("config.toml")).unwrap(),
        text
    );
    assert_eq!(t.voice_memo().json()["status"], "success");
}

#[test]
fn log_cleanup_deletes_old_logs_and_history_lines() {
    let t = Test::new();
    t.voice_memo().success();
    let logs = t.home.join("logs");
    fs::write(logs.join("voice-memo.log.2020-01-01"), "{}\n").unwrap();
    let history = t.home.join("history.jsonl");
    let mut old: Value = serde_json::from_str(
        fs::read_to_string(&history)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    old["finished_at"] = "2020-01-01T00:00:00Z".into();
    old["started_at"] = "2020-01-01T00:00:00Z".into();
    let mut text = fs::read_to_string(&history).unwrap();
    text.insert_str(0, &format!("{old}\n"));
    fs::write(&history, &text).unwrap();
    let (code, v) = astra_json(&t, &["jobs", "log-cleanup", "--days", "30", "--dry-run"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["data"]["history_lines"], 1);
    assert_eq!(v["data"]["log_files"].as_array().unwrap().len(), 1);
    assert!(
        logs.join("voice-memo.log.2020-01-01").exists(),
        "dry run deletes nothing"
    );
    assert_eq!(fs::read_to_string(&history).unwrap(), text);
    t.run("astra", &["jobs", "log-cleanup", "--days", "30"])
        .success();
    assert!(!logs.join("voice-memo.log.2020-01-01").exists());
    assert_eq!(fs::read_to_string(&history).unwrap().lines().count(), 1);
    assert_eq!(fs::read_dir(&logs).unwrap().count(), 1, "today's log stays");
}

#[test]
fn failed_list_retry_and_purge() {
    let t = Test::new()
        .audio("lonely.wav", &wav_bytes("lonely", 100))
        .vm("max_attempts = 1");
    t.voice_memo().code_is(1);
    let (code, v) = astra_json(&t, &["failed", "list"]);
    assert_eq!(code, Some(0));
    envelope(&v, "table", "Failed Items");
    let item = &v["data"]["items"][0];
    assert_eq!(item["file"], "lonely.wav");
    assert_eq!(item["attempts"], 1);
    assert!(
        item["last_error"]
            .as_str()
            .unwrap()
            .contains("astra models pull base.en")
    );
    // The user adds a transcript and retries by id.
    fs::write(t.inbox.join("lonely.txt"), "note found the words after all").unwrap();
    let id = item["id"].as_str().unwrap().to_string();
    let (code, v) = astra_json(&t, &["failed", "retry", &id]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["data"]["retried"][0], "lonely.wav");
    t.voice_memo().success();
    assert_eq!(t.item("lonely.wav")["status"], "completed");
    assert_eq!(t.item("lonely.wav")["attempts"], 1);
    // Purge: another dead letter, its copy in failed/ deleted, the list cleared.
    t.add_audio("noise.m4a", b"definitely not audio");
    t.voice_memo().code_is(1);
    assert!(t.home.join("failed/noise.m4a").exists());
    let (_, v) = astra_json(&t, &["failed", "purge", "--dry-run"]);
    assert_eq!(v["data"]["purged"][0], "noise.m4a");
    assert!(t.home.join("failed/noise.m4a").exists());
    t.run("astra", &["failed", "purge"]).success();
    assert!(!t.home.join("failed/noise.m4a").exists());
    assert_eq!(
        t.state()["jobs"]["voiceMemo"]["failed"],
        serde_json::json!([])
    );
    assert_eq!(
        t.item("noise.m4a")["status"],
        "failed",
        "a purged memo is not processed again"
    );
    t.voice_memo().success();
    let (code, _) = astra_json(&t, &["failed", "retry", "nope.m4a"]);
    assert_eq!(code, Some(1));
}

#[test]
fn doctor_passes_on_a_good_setup_and_says_what_to_fix() {
    // A crontab that astra can install into (cron is the backend without a user
    // systemd or launchd).
    let t = Test::new();
    let bin = t.dir.path().join("fakebin");
    fs::create_dir_all(&bin).unwrap();
    let crontab = bin.join("crontab");
    let store = t.dir.path().join("crontab.txt");
    fs::write(
        &crontab,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n -l) [ -f '{0}' ] && cat '{0}' || {{ echo 'no crontab for you' >&2; exit 1; }} ;;\n -) cat > '{0}' ;;\nesac\n",
            store.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&crontab, fs::Permissions::from_mode(0o755)).unwrap();
    let t = t.env("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    let (code, v) = astra_json(&t, &["doctor"]);
    assert_eq!(code, Some(1), "schedules not installed yet: {v}");
    let sched = v["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "schedule voice-memo")
        .unwrap()
        .clone();
    assert_eq!(sched["ok"], false, "{sched}");
    assert!(
        sched["fix"]
            .as_str()
            .unwrap()
            .contains("astra schedule install --cron"),
        "{sched}"
    );
    t.run("astra", &["schedule", "install", "--cron"]).success();
    let (code, v) = astra_json(&t, &["doctor"]);
    assert_eq!(code, Some(0), "{v}");
    envelope(&v, "table", "astra doctor");
    let names: Vec<&str> = v["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["config", "state", "inbox", "archive", "vault"] {
        assert!(names.contains(&n), "{names:?}");
    }
    fs::remove_dir(&t.inbox).unwrap();
    let (code, v) = astra_json(&t, &["doctor"]);
    assert_eq!(code, Some(1));
    let inbox = v["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "inbox")
        .unwrap()
        .clone();
    assert_eq!(inbox["ok"], false);
    assert!(
        inbox["fix"].as_str().unwrap().contains("create the folder"),
        "{inbox}"
    );
    let text = t.run("astra", &["doctor"]).stdout();
    assert!(
        text.contains("✗ inbox") && text.contains("→ create the folder"),
        "{text}"
    );
}

#[test]
fn completions_and_skill() {
    let t = Test::new();
    let r = t.run("astra", &["completions", "bash"]);
    r.success();
    assert!(r.stdout().contains("astra") && r.stdout().contains("jobs"));
    let dir = t.dir.path().join("skills");
    t.run(
        "astra",
        &["skill", "install", "--dir", dir.to_str().unwrap()],
    )
    .success();
    let skill = fs::read_to_string(dir.join("SKILL.md")).unwrap();
    assert!(skill.starts_with("---\nname: astra\n") && skill.contains("astra jobs list --json"));
}

/// The help texts people read, as snapshots: a change to them is a visible diff.
#[test]
fn help_texts() {
    let t = Test::new();
    for (name, program, args) in [
        ("voice_memo_help", "voice-memo", &["--help"][..]),
        ("journal_help", "journal", &["--help"][..]),
        ("astra_help", "astra", &["--help"][..]),
        ("astra_jobs_help", "astra", &["jobs", "--help"][..]),
        ("astra_failed_help", "astra", &["failed", "--help"][..]),
        ("astra_schedule_help", "astra", &["schedule", "--help"][..]),
    ] {
        let r = t.run(program, args);
        r.success();
        insta::assert_snapshot!(name, r.stdout());
    }
}
