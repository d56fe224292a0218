//! The first hour of a new user (issue 13): each thing that tripped one up, as a test.
use crate::harness::Test;

/// A config named by `--config` or `ASTRA_CONFIG` that does not exist is exit 2 naming
/// the path; only the default location may be absent.
#[test]
fn a_named_config_that_is_missing_is_a_usage_error() {
    let t = Test::new();
    let missing = t.dir.path().join("no-such.toml");
    let m = missing.to_str().unwrap();
    let r = t.run("voice-memo", &["--config", m]);
    r.code_is(2);
    assert!(r.stderr().contains(m), "{}", r.stderr());
    assert!(r.stderr().contains("does not exist"), "{}", r.stderr());
    let r = t
        .command("astra")
        .env("ASTRA_CONFIG", m)
        .arg("doctor")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("✗ config: config file {m} does not exist")),
        "{out}"
    );
    // The default location may be absent: defaults, exit 0.
    let fresh = Test::new().own_config("");
    std::fs::remove_file(fresh.home.join("config.toml")).unwrap();
    fresh.run("voice-memo", &[]).success();
}

/// `voice-memo -v 2>&1 | cat` (stderr not a terminal) has no colour codes: they would
/// land in cron mail.
#[test]
fn no_colour_codes_when_stderr_is_not_a_terminal() {
    let t = Test::new().memo("a.wav", "note plain text for cron mail");
    let r = t.run("voice-memo", &["-v"]);
    r.success();
    assert!(r.stderr().contains("INFO"), "{}", r.stderr());
    assert!(!r.stderr().contains('\u{1b}'), "{:?}", r.stderr());
}

/// A fresh `astra init` + `astra doctor` passes: what the first run creates "will be
/// created", a schedule not installed and a missing `crontab` are warnings (exit 0),
/// and `--json` tells warnings from failures.
#[test]
fn doctor_passes_right_after_init() {
    let t = Test::new().own_config("");
    std::fs::remove_file(t.home.join("config.toml")).unwrap();
    let empty_path = t.dir.path().join("empty-bin");
    std::fs::create_dir(&empty_path).unwrap();
    let t = t.env("PATH", empty_path.to_str().unwrap());
    t.run("astra", &["init"]).success();
    let r = t.run("astra", &["doctor"]);
    assert_eq!(r.code(), Some(0), "{}", r.stdout());
    let out = r.stdout();
    assert!(!out.contains('✗'), "{out}");
    assert!(
        out.contains("✓ inbox: ") && out.contains("(will be created by the first run)"),
        "{out}"
    );
    assert!(
        out.contains("! schedules: no `crontab` program on PATH"),
        "{out}"
    );
    assert!(out.contains("apt install cron"), "{out}");
    assert!(out.contains(" 0 failed, 1 warning"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&t.run("astra", &["doctor", "--json"]).stdout()).unwrap();
    assert_eq!(v["data"]["failed"], 0, "{v}");
    assert_eq!(v["data"]["warnings"], 1, "{v}");
    let checks = v["data"]["checks"].as_array().unwrap();
    let sched = checks.iter().find(|c| c["name"] == "schedules").unwrap();
    assert_eq!(sched["status"], "warning", "{sched}");
    assert_eq!(sched["ok"], true, "{sched}");
    let inbox = checks.iter().find(|c| c["name"] == "inbox").unwrap();
    assert_eq!(inbox["status"], "ok", "{inbox}");
    // ... and the first run creates what doctor said it would.
    t.run("voice-memo", &[]).success();
    assert!(t.home.join("inbox").is_dir());
}

/// An inbox this user may not read is "permission denied" with who lacks what, not
/// "create it" (as root the binaries run as `nobody`: root reads everything).
#[test]
fn an_unreadable_inbox_says_permission_denied_not_create_it() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new().unprivileged().memo("a.wav", "note locked away");
    std::fs::set_permissions(&t.inbox, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = t.run("voice-memo", &[]);
    let doctor = t.run("astra", &["doctor"]).stdout();
    std::fs::set_permissions(&t.inbox, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.code_is(1);
    let e = r.stderr();
    assert!(
        e.contains("permission denied: ") && e.contains("cannot read the inbox"),
        "{e}"
    );
    assert!(e.contains("chmod u+rx"), "{e}");
    assert!(
        !e.contains("create it") && !e.contains("must be writable"),
        "{e}"
    );
    assert!(doctor.contains("✗ inbox: permission denied: "), "{doctor}");
    assert!(!doctor.contains("create the folder"), "{doctor}");
}

/// Nothing listening at base_url reads the same in transcription, organization and
/// doctor: the host and port, the cause, what to check.
#[test]
fn connection_errors_read_the_same_everywhere() {
    const SAID: &str = "cannot reach 127.0.0.1:9: connection refused (nothing is listening there)";
    let dead = "base_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"\"";
    let t = Test::new()
        .config(&format!("[transcription]\nprovider = \"openai\"\n{dead}\n"))
        .audio("a.wav", &crate::harness::wav_bytes("a", 16000));
    let v = t.voice_memo().json();
    let err = v["items"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains(SAID), "transcription: {v}");
    assert!(err.contains("check that the server is running"), "{err}");
    let t = Test::new()
        .config(&format!("[organization]\nprovider = \"openai\"\n{dead}\n"))
        .memo("b.wav", "note a thing to organize");
    let v = t.voice_memo().json();
    let err = v["items"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains(SAID), "organization: {v}");
    let doctor = t.run("astra", &["doctor"]).stdout();
    assert!(
        doctor.contains(&format!("✗ organization API: {SAID}")),
        "{doctor}"
    );
    assert!(
        doctor.contains("→ check that the server is running"),
        "{doctor}"
    );
}

/// Runs with nothing to do say why in one line at a terminal, and nothing under cron.
#[test]
fn idle_runs_say_why_at_a_terminal_and_nothing_under_cron() {
    let t = Test::new();
    let paused = t
        .command("voice-memo")
        .env("AUTOMATION_PAUSE", "1")
        .output()
        .unwrap();
    assert_eq!(paused.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&paused.stderr),
        "",
        "silent under cron"
    );
    let mut paused = t.command("voice-memo");
    paused.env("AUTOMATION_PAUSE", "1");
    let r = t.run_with_terminal(paused);
    r.success();
    assert_eq!(
        r.stderr(),
        "voice-memo: paused (AUTOMATION_PAUSE is set: every job stands still until it is unset)\n"
    );
    let r = t.run_at_terminal("voice-memo", &[]);
    r.success();
    assert_eq!(
        r.stderr(),
        format!(
            "voice-memo: nothing to do: no new recordings in {}\n",
            t.inbox.display()
        )
    );
    assert_eq!(t.run("voice-memo", &[]).stderr(), "");
    let r = t.run_at_terminal("journal", &["--today"]);
    r.success();
    assert!(
        r.stderr()
            .starts_with("journal: nothing to do: no journal entry today (")
            && r.stderr().lines().count() == 1,
        "{}",
        r.stderr()
    );
    assert_eq!(t.run("journal", &["--today"]).stderr(), "");
    let t = t.config("[jobs.voiceMemo]\nenabled = false\n");
    let r = t.run_at_terminal("voice-memo", &[]);
    r.success();
    assert!(
        r.stderr().starts_with("voice-memo: disabled (disabled in "),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr().contains("astra jobs enable voice-memo"),
        "{}",
        r.stderr()
    );
    assert_eq!(t.run("voice-memo", &[]).stderr(), "");
}

/// `astra jobs history --status failed` with no match is a sentence, not an empty table.
#[test]
fn an_empty_history_listing_is_a_sentence() {
    let t = Test::new();
    let r = t.run("astra", &["jobs", "history", "--status", "failed"]);
    r.success();
    assert_eq!(r.stdout(), "No failed runs in the history.\n");
    let r = t.run("astra", &["jobs", "history", "--job", "journal"]);
    assert_eq!(
        r.stdout(),
        "No runs of journal in the history yet: `astra jobs run` starts one.\n"
    );
}

/// The summary's words match the items' statuses: a memo tried again is "retried", not
/// "new"; one that will be retried is "retrying", not "failed"; a settling file says
/// so; an item's line names its file once.
#[test]
fn summary_words_match_item_statuses() {
    let dead = "[transcription]\nprovider = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"\"\n";
    let t = Test::new()
        .config(dead)
        .audio("a.wav", &crate::harness::wav_bytes("a", 16000));
    let r = t.run_at_terminal("voice-memo", &[]);
    r.code_is(1);
    let e = r.stderr();
    assert!(
        e.contains("voice-memo: 1 new, 0 done, 1 retrying, 0 failed in "),
        "{e}"
    );
    assert!(e.contains("↻ a.wav (retrying): "), "{e}");
    assert_eq!(e.matches("a.wav").count(), 1, "the file named once: {e}");
    let r = t.run("voice-memo", &["--retry-now"]);
    assert!(
        r.stderr()
            .starts_with("voice-memo: 0 new, 1 retried, 0 done, 1 retrying, 0 failed in "),
        "{}",
        r.stderr()
    );
    let t = Test::new();
    let text = t
        .config_text()
        .replace("settle_seconds = 0", "settle_seconds = 600");
    let t = t.own_config(&text);
    std::fs::write(
        t.inbox.join("fresh.wav"),
        crate::harness::wav_bytes("f", 800),
    )
    .unwrap();
    let r = t.run_at_terminal("voice-memo", &[]);
    r.success();
    assert!(
        r.stderr().contains("0 new, 0 done, 0 failed, 1 waiting (1 settling: written less than settle_seconds ago or still growing)"),
        "{}",
        r.stderr()
    );
}

/// `--watch` says it is watching, says when a file is seen and when it will be taken,
/// and its idle passes print nothing (not "0 new, 0 done, 0 failed").
#[test]
fn watch_says_what_it_sees() {
    let t = Test::new();
    let log = t.dir.path().join("watch.err");
    let mut child = t
        .command("voice-memo")
        .arg("--watch")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for("the first pass", &|| t.home.join("history.jsonl").exists());
    t.add_memo("later.wav", "note this arrived while watching");
    wait_for("the summary", &|| {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("1 done"))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(err.starts_with("voice-memo: watching "), "{err}");
    assert!(
        err.contains("voice-memo: saw later.wav; taking it at "),
        "{err}"
    );
    assert!(
        err.contains("voice-memo: 1 new, 1 done, 0 failed in "),
        "{err}"
    );
    assert!(!err.contains("0 new"), "{err}");
}

/// `astra jobs run --all` names jobs as `jobs list` does; doctor's Notion hint shows
/// today's token prefix (ntn_).
#[test]
fn names_match_across_commands() {
    let t = Test::new();
    let out = t.run("astra", &["jobs", "run", "--all"]).stdout();
    assert!(
        out.contains("voice-memo") && out.contains("journal"),
        "{out}"
    );
    assert!(
        !out.contains("voiceMemo") && !out.contains("journalProcessing"),
        "{out}"
    );
    let t = t.config("[sync]\ntarget = \"notion\"\n");
    let doctor = t.run("astra", &["doctor"]).stdout();
    assert!(
        doctor.contains("NOTION_TOKEN (your integration's token, ntn_…)"),
        "{doctor}"
    );
    assert!(!doctor.contains("secret_"), "{doctor}");
}

/// The README's quick start, run as written on a fresh HOME (the two install lines
/// aside: the binaries of this build are on PATH).
#[test]
fn the_readme_quick_start_works_as_written() {
    let readme = include_str!("../../README.md");
    let block = readme
        .split("<!-- quick-start:")
        .nth(1)
        .and_then(|r| r.split("```sh\n").nth(1))
        .and_then(|r| r.split("```").next())
        .expect("the quick-start block");
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(lines.len(), 5, "five lines: {block}");
    let t = Test::new().own_config("");
    std::fs::remove_dir_all(&t.home).unwrap();
    let home = t.dir.path();
    // A real m4a (ffmpeg) and its transcript, as the first line expects.
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:a",
            "aac",
        ])
        .arg(home.join("memo.m4a"))
        .status()
        .unwrap();
    assert!(made.success());
    crate::harness::age(&home.join("memo.m4a"), 120);
    let bin = crate::harness::bin("astra");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |line: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .env_clear()
            .env("HOME", home)
            .env("PATH", &path)
            .env("TZ", "Europe/Paris")
            .output()
            .unwrap()
    };
    let init = shell("astra init");
    assert!(init.status.success(), "{init:?}");
    for (n, line) in lines.iter().enumerate() {
        if n == 1 {
            std::fs::write(
                home.join(".astra/inbox/memo.txt"),
                "todo call the dentist tomorrow",
            )
            .unwrap();
            crate::harness::age(&home.join(".astra/inbox/memo.txt"), 120);
        }
        let out = shell(line);
        assert!(
            out.status.success(),
            "`{line}` failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if n == 2 {
            let listed = String::from_utf8_lossy(&out.stdout);
            assert!(listed.contains("Todos.md"), "{listed}");
        }
    }
    let todos = std::fs::read_to_string(home.join(".astra/vault/Todos.md")).unwrap();
    assert!(todos.contains("Call the dentist"), "{todos}");
}

/// History and logs are pruned automatically (`[logs] keep_days`), at most once a day;
/// a past day's runs with nothing to do fold into one line, and `astra jobs show` still
/// counts them and knows the last run.
#[test]
fn history_and_logs_are_kept_for_keep_days_and_idle_runs_fold() {
    use chrono::{Duration, Utc};
    let t = Test::new().config("[logs]\nkeep_days = 30\n");
    t.write_config();
    let line = |days_ago: i64, mins: i64, found: u64| {
        let day = (Utc::now() - Duration::days(days_ago)).date_naive();
        let at = day.and_hms_opt(10, 0, 0).unwrap().and_utc() + Duration::minutes(mins);
        let at = at.to_rfc3339();
        format!(
            "{{\"job_name\":\"voiceMemo\",\"run_id\":\"r{days_ago}-{mins}\",\"status\":\"success\",\"started_at\":\"{at}\",\"finished_at\":\"{at}\",\"duration_ms\":5,\"message\":\"m\",\"stats\":{{\"found\":{found},\"processed\":{found},\"failed\":0,\"skipped\":0,\"discarded\":0}},\"stages\":{{}}}}\n"
        )
    };
    // 40 days ago: pruned. Two days ago: three idle runs around a worked one.
    let mut history = line(40, 0, 1);
    for (m, f) in [(0, 0), (5, 0), (10, 1), (15, 0)] {
        history.push_str(&line(2, m, f));
    }
    std::fs::write(t.home.join("history.jsonl"), &history).unwrap();
    std::fs::create_dir_all(t.home.join("logs")).unwrap();
    let old_day = (Utc::now() - Duration::days(40)).format("%Y-%m-%d");
    let old_log = t.home.join(format!("logs/voice-memo.log.{old_day}"));
    std::fs::write(&old_log, "{}\n").unwrap();
    t.run("voice-memo", &[]).success();
    assert!(
        !old_log.exists(),
        "a log file older than keep_days is removed"
    );
    let text = std::fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "worked line, folded idle line, today's run: {text}"
    );
    assert_eq!(lines[0]["stats"]["found"], 1);
    assert_eq!(lines[1]["stats"]["idle_runs"], 3, "{text}");
    assert_eq!(lines[1]["run_id"], "r2-15", "the last idle run's line");
    let v: serde_json::Value = serde_json::from_str(
        &t.run("astra", &["--json", "jobs", "show", "voice-memo"])
            .stdout(),
    )
    .unwrap();
    assert_eq!(v["data"]["run_count"], 5, "{v}");
    assert_eq!(v["data"]["last_status"], "success");
    // At most once a day: a second run the same day leaves an old line alone.
    let mut again = line(50, 0, 1);
    again.push_str(&text);
    std::fs::write(t.home.join("history.jsonl"), &again).unwrap();
    t.run("voice-memo", &[]).success();
    let text = std::fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    assert!(text.contains("\"r50-0\""), "not pruned twice a day: {text}");
}

/// `astra jobs logs` prints a run's lines readably (the last run by default; `--json`
/// passes them through, `-n` keeps the last N).
#[test]
fn jobs_logs_prints_a_runs_lines() {
    let t = Test::new().memo("a.wav", "note read my logs");
    t.voice_memo().success();
    let run_id = t.voice_memo().json()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.run("astra", &["jobs", "logs"]);
    r.success();
    let out = r.stdout();
    assert!(out.contains("INFO  run started dry_run=false"), "{out}");
    assert!(
        out.contains("INFO  Nothing to do: no new recordings in "),
        "{out}"
    );
    assert!(
        !out.contains(&run_id) && !out.contains('{'),
        "readable, not JSON: {out}"
    );
    let r = t.run("astra", &["jobs", "logs", &run_id, "--json"]);
    let lines: Vec<serde_json::Value> = r
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 2, "{}", r.stdout());
    assert!(lines.iter().all(|l| l["run_id"] == run_id.as_str()));
    let r = t.run("astra", &["jobs", "logs", "--job", "voice-memo", "-n", "1"]);
    assert_eq!(r.stdout().lines().count(), 1, "{}", r.stdout());
}

/// `astra jobs stop NAME` stops a running job as a timeout does: SIGTERM, the run
/// records itself `interrupted`; `--no-wait` starts a job detached.
#[test]
fn jobs_stop_interrupts_a_running_job_and_no_wait_detaches() {
    let t = Test::new()
        .config("[transcription]\nprovider = \"command\"\ncommand = [\"sleep\", \"30\"]\n")
        .audio("slow.wav", &crate::harness::wav_bytes("slow", 800));
    let started = std::time::Instant::now();
    let r = t.run("astra", &["jobs", "run", "voice-memo", "--no-wait"]);
    r.success();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        r.stdout().starts_with("started voice-memo (pid "),
        "{}",
        r.stdout()
    );
    let record = t.home.join("locks/voice-memo.run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !record.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started working"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = t.run("astra", &["jobs", "stop", "voice-memo"]);
    r.success();
    assert!(
        r.stdout().starts_with("stopped voice-memo (pid "),
        "{}",
        r.stdout()
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "not the 30 s sleep"
    );
    let history = std::fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"], "interrupted", "{history}");
    assert!(!record.exists(), "the run finished its own way");
    let r = t.run("astra", &["jobs", "stop", "voice-memo"]);
    r.success();
    assert_eq!(r.stdout(), "voice-memo is not running\n");
}
