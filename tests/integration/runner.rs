//! What every run shares: nothing to do, pause, disable, the job lock, bad state,
//! bad config, history and logs.
use crate::harness::Test;
use std::fs;

#[test]
fn nothing_to_do_is_silent_and_succeeds() {
    let t = Test::new();
    let r = t.run("voice-memo", &[]);
    r.success();
    assert_eq!(
        r.stderr(),
        "",
        "silent under cron when there is nothing to do"
    );
    let r = t.voice_memo();
    r.success();
    let j = r.json();
    assert_eq!(j["status"], "success");
    assert_eq!(j["job_name"], "voiceMemo");
    assert_eq!(j["stats"]["found"], 0);
    assert_eq!(j["run_id"].as_str().unwrap().len(), 26, "a ULID");
}

#[test]
fn paused_touches_nothing() {
    let t = Test::new()
        .memo("a.wav", "note this is a thought")
        .env("AUTOMATION_PAUSE", "1");
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["status"], "paused");
    assert_eq!(
        Test::tree(&t.home),
        ["config.toml"],
        "no state, logs, locks or history"
    );
    assert!(!t.vault.exists());
}

#[test]
fn disabled_touches_nothing() {
    let t = Test::new()
        .memo("a.wav", "note this is a thought")
        .config("[jobs.voiceMemo]\nenabled = false\n");
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["status"], "disabled");
    assert_eq!(Test::tree(&t.home), ["config.toml"]);
}

#[test]
fn a_held_job_lock_means_skipped() {
    let t = Test::new().memo("a.wav", "note this is a thought");
    t.run("voice-memo", &["--dry-run"]).success();
    fs::create_dir_all(t.home.join("locks")).unwrap();
    let lock = fs::File::create(t.home.join("locks/voice-memo.lock")).unwrap();
    lock.lock().unwrap();
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["status"], "skipped");
    assert!(!t.vault.exists(), "the skipped run did no work");
    drop(lock);
    t.voice_memo().success();
    assert!(t.vault.join("Notes").exists());
}

#[test]
fn overlapping_runs_one_works_the_others_skip() {
    let t = Test::new()
        .audio("slow.wav", &crate::harness::wav_bytes("slow", 400))
        .config("[transcription]\nprovider = \"command\"\ncommand = [\"sh\", \"-c\", \"sleep 4; echo note overlapping runs are handled\"]\n");
    let children: Vec<_> = (0..4)
        .map(|_| {
            t.command("voice-memo")
                .arg("--json")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut statuses: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0));
            let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            j["status"].as_str().unwrap().to_string()
        })
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["skipped", "skipped", "skipped", "success"]);
    assert_eq!(t.item("slow.wav")["status"], "completed");
    assert_eq!(t.item("slow.wav")["attempts"], 1);
}

#[test]
fn corrupt_state_exits_2_and_leaves_the_file_alone() {
    let t = Test::new().memo("a.wav", "note something");
    fs::create_dir_all(&t.home).unwrap();
    let garbage =
        b"{\"version\":1,\"jobs\":{\"voiceMemo\":{\"items\":{\"a.wav\": {\"status\": \"compl";
    fs::write(t.home.join("state.json"), garbage).unwrap();
    let r = t.run("voice-memo", &[]);
    r.code_is(2);
    let e = r.stderr();
    assert!(
        e.contains(&t.home.join("state.json").display().to_string()),
        "{e}"
    );
    assert!(e.contains("line 1, column"), "{e}");
    assert!(e.contains("left untouched"), "{e}");
    assert_eq!(fs::read(t.home.join("state.json")).unwrap(), garbage);
    assert!(!t.vault.exists());
}

#[test]
fn legacy_state_is_read_and_upgraded() {
    let t = Test::new()
        .memo("old.wav", "note already done long ago")
        .memo("new.wav", "note a fresh thought");
    fs::create_dir_all(&t.home).unwrap();
    fs::write(
        t.home.join("state.json"),
        r#"{"jobs":{"voiceMemo":{"old.wav":"completed","failed":["gone.m4a"]},"journalProcessing":{"lastRun":"2025-01-05T09:00:00Z"}}}"#,
    )
    .unwrap();
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 1, "only the new memo");
    let s = t.state();
    assert_eq!(s["version"], 1);
    let vm = &s["jobs"]["voiceMemo"];
    assert_eq!(vm["items"]["gone.m4a"]["status"], "failed");
    assert!(
        vm["items"].get("old.wav").is_none() && vm["items"].get("new.wav").is_none(),
        "done memos move to the catalogue: {vm}"
    );
    assert_eq!(t.item("old.wav")["status"], "completed", "migrated");
    assert_eq!(t.item("new.wav")["status"], "completed");
    assert_eq!(vm["failed"], serde_json::json!(["gone.m4a"]));
    assert_eq!(
        s["jobs"]["journalProcessing"]["lastRun"],
        "2025-01-05T09:00:00Z"
    );
}

#[test]
fn an_unknown_config_key_is_exit_2_with_the_nearest_key() {
    let t = Test::new().vm("settle_secs = 3");
    let r = t.run("voice-memo", &[]);
    r.code_is(2);
    let e = r.stderr();
    assert!(e.contains("config.toml line"), "{e}");
    assert!(
        e.contains("unknown key `settle_secs`; did you mean `settle_seconds`?"),
        "{e}"
    );
}

#[test]
fn a_wrong_type_is_exit_2_naming_the_key() {
    let t = Test::new().config("[jobs.voiceMemo]\ntimeout_seconds = \"an hour\"\n");
    let r = t.run("voice-memo", &[]);
    r.code_is(2);
    assert!(
        r.stderr().contains("timeout_seconds = \"an hour\""),
        "{}",
        r.stderr()
    );
}

#[test]
fn history_and_logs_record_the_run() {
    let t = Test::new().memo("a.wav", "note history matters");
    let r = t.voice_memo();
    r.success();
    let run_id = r.json()["run_id"].as_str().unwrap().to_string();
    let history = fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(line["run_id"], run_id.as_str());
    assert_eq!(line["stats"]["processed"], 1);
    assert!(line.get("items").is_none(), "history lines carry no items");
    let logs: Vec<_> = fs::read_dir(t.home.join("logs"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(logs.len(), 1);
    let name = logs[0].file_name().to_string_lossy().into_owned();
    assert!(name.starts_with("voice-memo.log"), "{name}");
    let text = fs::read_to_string(logs[0].path()).unwrap();
    assert!(text.lines().count() >= 3, "{text}");
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["job_name"], "voiceMemo");
        assert_eq!(v["run_id"], run_id.as_str());
    }
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let t = Test::new()
        .memo("a.wav", "note one")
        .memo("b.wav", "note two");
    let r = t.run("voice-memo", &["--dry-run", "--json"]);
    r.success();
    assert_eq!(r.json()["stats"]["found"], 2);
    assert_eq!(Test::tree(&t.home), ["config.toml"]);
    assert!(!t.vault.exists());
}

#[test]
fn dry_run_previews_the_lines_it_would_write_and_the_calls_it_would_make() {
    let t = Test::new()
        .memo(
            "20260114 093000-A1.wav",
            "Remind me to call the dentist tomorrow.",
        )
        .memo(
            "20260114 103000-B2.wav",
            "Journal. Today I feel grateful for the quiet morning and good coffee.",
        );
    let r = t.run("voice-memo", &["--dry-run", "--json"]);
    r.success();
    let items = r.json()["items"].clone();
    let todo = items[0]["outputs"]["todos"][0].as_str().unwrap();
    assert!(todo.starts_with("- [ ] Call the dentist"), "{items}");
    let entry = items[1]["outputs"]["journal"][0].as_str().unwrap();
    assert!(
        entry.starts_with("Journal/2026-01-14.md, 10:30 AM: ") && entry.contains("quiet morning"),
        "{items}"
    );
    let text = t.run("voice-memo", &["--dry-run"]);
    text.success();
    assert!(
        text.stdout().contains("todo: - [ ] Call the dentist"),
        "{}",
        text.stdout()
    );
    assert_eq!(Test::tree(&t.home), ["config.toml"], "nothing written");
    assert!(!t.vault.exists());
    // A remote organizer is not called: the preview names the call instead.
    let t = t
        .config("[organization]\nprovider = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n")
        .env("OPENAI_API_KEY", "sk-test-not-used");
    let r = t.run("voice-memo", &["--dry-run", "--json"]);
    r.success();
    let e = r.json()["items"][0]["error"].as_str().unwrap().to_string();
    assert!(
        e.contains("would call http://127.0.0.1:9/v1/chat/completions"),
        "{e}"
    );
}

#[test]
fn journal_runs_silently_and_init_writes_a_commented_config() {
    let t = Test::new();
    let r = t.run("journal", &[]);
    r.success();
    assert_eq!(r.stderr(), "", "nothing to summarise: silent under cron");
    t.run("astra", &["init", "--force"]).success();
    let written = fs::read_to_string(t.home.join("config.toml")).unwrap();
    assert!(
        written.contains("[voice_memo]") && written.contains("# "),
        "{written}"
    );
}

#[test]
fn astra_home_and_state_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new().memo("a.wav", "note private things");
    fs::create_dir_all(&t.home).unwrap();
    fs::set_permissions(&t.home, fs::Permissions::from_mode(0o755)).unwrap();
    t.voice_memo().success();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&t.home), 0o700);
    assert_eq!(mode(&t.home.join("state.json")), 0o600);
    assert_eq!(mode(&t.home.join("history.jsonl")), 0o600);
}
