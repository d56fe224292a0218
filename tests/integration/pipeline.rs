//! The voice-memo pipeline end to end with sidecar transcripts: vault, archive, state,
//! reruns, bad input, retries and dead letters.
use crate::harness::{Test, wav_bytes};
use std::fs;

#[test]
fn sidecar_memos_land_in_the_vault_and_the_archive_once() {
    let t = Test::new()
        .memo(
            "20260114 093000-AAAA1111.wav",
            "Remind me to call the dentist tomorrow and buy milk.",
        )
        .memo(
            "20260114 120500-BBBB2222.wav",
            "Note: an app that turns receipts into a budget spreadsheet.",
        )
        .memo(
            "20260114 213000-CCCC3333.wav",
            "Journal. Today I went for a long run by the river and I feel great.",
        );
    let inbox_before = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.success();
    let j = r.json();
    assert_eq!(j["status"], "success");
    assert_eq!(j["stats"]["found"], 3);
    assert_eq!(j["stats"]["processed"], 3);
    for stage in ["watch", "transcribe", "organize", "sync", "archive"] {
        assert!(
            j["stages"][stage]["ms"].is_u64(),
            "stage {stage} timed: {}",
            j["stages"]
        );
    }
    let todos = t.vault_file("Todos.md");
    assert!(
        todos.contains("- [ ] Call the dentist 📅 2026-01-15"),
        "{todos}"
    );
    assert!(
        todos.contains("\n    - [[Transcripts/2026-01-14 0930 Call the dentist ("),
        "the task links to its transcript: {todos}"
    );
    assert!(todos.contains("Buy milk"), "{todos}");
    let notes = Test::tree(&t.vault.join("Notes"));
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = t.vault_file(&format!("Notes/{}", notes[0]));
    assert!(
        note.contains("source: \"20260114 120500-BBBB2222.wav\""),
        "{note}"
    );
    assert!(
        note.contains("receipts into a budget spreadsheet"),
        "{note}"
    );
    let journal = t.vault_file("Journal/2026-01-14.md");
    assert!(journal.contains("### 9:30 PM"), "{journal}");
    assert!(journal.contains("long run by the river"), "{journal}");
    // The inbox is untouched (copy mode); the archive has the audio and the sidecars.
    assert_eq!(Test::snapshot(&t.inbox), inbox_before);
    let archive = Test::tree(&t.home.join("archive"));
    assert_eq!(archive.len(), 6, "{archive:?}");
    for name in [
        "20260114 093000-AAAA1111.wav",
        "20260114 120500-BBBB2222.wav",
        "20260114 213000-CCCC3333.wav",
    ] {
        let item = t.item(name);
        assert_eq!(item["status"], "completed", "{item}");
        assert_eq!(item["stage"], "archived");
        assert_eq!(item["attempts"], 1);
        assert!(item["digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(
            item["recorded_at"]
                .as_str()
                .unwrap()
                .starts_with("2026-01-14T")
        );
    }
    assert_eq!(
        t.item("20260114 093000-AAAA1111.wav")["outputs"]["todos"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A rerun writes nothing.
    let vault_before = Test::snapshot(&t.vault);
    let archive_before = Test::snapshot(&t.home.join("archive"));
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 0);
    assert_eq!(Test::snapshot(&t.vault), vault_before);
    assert_eq!(Test::snapshot(&t.home.join("archive")), archive_before);
    // No temp files or work folders left behind.
    let leftovers: Vec<_> = Test::tree(t.dir.path())
        .into_iter()
        .filter(|p| p.ends_with(".tmp") || p.contains("/work-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_summary_line_is_one_line_under_cron() {
    let t = Test::new()
        .memo("a.wav", "note one thing")
        .memo("b.wav", "note another thing");
    let r = t.run("voice-memo", &[]);
    r.success();
    let e = r.stderr();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("voice-memo: 2 new, 2 done, 0 failed in "),
        "{e}"
    );
}

#[test]
fn move_mode_empties_the_inbox() {
    let t = Test::new()
        .memo("a.wav", "note moving on")
        .vm("archive_mode = \"move\"");
    t.voice_memo().success();
    assert!(
        Test::tree(&t.inbox).is_empty(),
        "{:?}",
        Test::tree(&t.inbox)
    );
    assert_eq!(Test::tree(&t.home.join("archive")), ["a.txt", "a.wav"]);
    assert_eq!(t.item("a.wav")["status"], "completed");
    t.voice_memo().success();
}

#[test]
fn silence_is_discarded_into_invalid() {
    let t = Test::new()
        .memo("quiet.wav", "um")
        .memo("empty.wav", "")
        .memo("keep.wav", "note a real thought");
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["discarded"], 2, "{}", r.json());
    for name in ["quiet.wav", "empty.wav"] {
        assert_eq!(t.item(name)["status"], "discarded");
        assert_eq!(t.item(name)["stage"], "archived");
        assert!(t.home.join("invalid").join(name).exists());
        assert!(!t.home.join("archive").join(name).exists());
    }
    assert_eq!(
        Test::tree(&t.vault.join("Notes")).len(),
        1,
        "only the real memo is synced"
    );
}

#[test]
fn bad_inputs_fail_clearly_and_the_run_goes_on() {
    let t = Test::new()
        .memo("good one.wav", "note the good memo still gets through")
        .audio("zero.m4a", b"")
        .audio("text.m4a", b"this is a text file, not a recording")
        .memo("café ünïcode 🎙.wav", "note unicode names work")
        .memo("line\nbreak.wav", "note newlines in names work");
    let outside = t.dir.path().join("outside.wav");
    fs::write(&outside, wav_bytes("outside", 100)).unwrap();
    std::os::unix::fs::symlink(&outside, t.inbox.join("link.wav")).unwrap();
    let inbox_before = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.code_is(1);
    let j = r.json();
    assert_eq!(j["status"], "partial");
    let item = |name: &str| {
        j["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["file"] == name)
            .unwrap_or_else(|| panic!("{name}: {j}"))
            .clone()
    };
    assert_eq!(item("good one.wav")["status"], "completed");
    assert_eq!(item("café ünïcode 🎙.wav")["status"], "completed");
    assert_eq!(item("line\nbreak.wav")["status"], "completed");
    let zero = item("zero.m4a");
    assert_eq!(zero["status"], "retrying");
    assert!(
        zero["error"]
            .as_str()
            .unwrap()
            .contains("zero.m4a: the file is empty"),
        "{zero}"
    );
    let text = item("text.m4a");
    assert_eq!(text["status"], "failed");
    assert!(
        text["error"]
            .as_str()
            .unwrap()
            .contains("text.m4a: not an audio file"),
        "{text}"
    );
    let link = item("link.wav");
    assert_eq!(link["status"], "failed");
    assert!(
        link["error"]
            .as_str()
            .unwrap()
            .contains("points outside the inbox"),
        "{link}"
    );
    assert_eq!(
        Test::snapshot(&t.inbox),
        inbox_before,
        "nothing in the inbox changed"
    );
    assert!(outside.exists());
    assert!(
        !t.home.join("failed/link.wav").exists(),
        "the link was not followed"
    );
    assert!(t.home.join("failed/text.m4a").exists());
    let failed = &t.state()["jobs"]["voiceMemo"]["failed"];
    assert_eq!(failed.as_array().unwrap().len(), 2, "{failed}");
}

#[test]
fn unreadable_file_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    // As root the binaries run as `nobody`: root reads every file.
    let t = Test::new()
        .unprivileged()
        .audio("locked.wav", &wav_bytes("locked", 100));
    fs::set_permissions(
        t.inbox.join("locked.wav"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let r = t.voice_memo();
    r.code_is(1);
    assert!(
        r.json()["items"][0]["error"]
            .as_str()
            .unwrap()
            .contains("locked.wav: cannot be read")
    );
}

#[test]
fn no_transcriber_waits_without_spending_attempts_until_one_is_configured() {
    let t = Test::new()
        .audio("lonely.wav", &wav_bytes("lonely", 100))
        .vm("max_attempts = 2");
    // Waiting is not failing: ten runs (some with --retry-now) never dead-letter it.
    for run in 0..10 {
        let r = if run % 3 == 2 {
            t.run("voice-memo", &["--json", "--retry-now"])
        } else {
            t.voice_memo()
        };
        r.success();
        let item = t.item("lonely.wav");
        assert_eq!(item["status"], "waiting", "run {run}: {item}");
        assert_eq!(item["attempts"], 0, "waiting spends no attempt");
        let err = item["last_error"].as_str().unwrap();
        assert!(
            // auto ends with the built-in recognizer, whose model the tests cannot
            // download (ASTRA_MODEL_BASE_URL points nowhere): it waits for the model.
            err.contains("astra models pull base.en") && err.contains("could not be downloaded"),
            "{err}"
        );
    }
    assert!(!t.home.join("failed/lonely.wav").exists());
    assert_eq!(
        t.state()["jobs"]["voiceMemo"]["failed"],
        serde_json::json!([])
    );
    let memos = t.run("astra", &["memos", "list", "--json"]);
    memos.success();
    let row = &memos.json()["data"]["items"][0];
    assert_eq!(row["status"], "waiting");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("astra models pull base.en")
    );
    // The first run after [transcription] gains a command takes it up at once.
    let t = t.config(
        "[transcription]\ncommand = [\"sh\", \"-c\", \"echo note the recognizer heard this memo\"]\n",
    );
    t.write_config();
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 1);
    assert_eq!(t.item("lonely.wav")["status"], "completed");
    let shown = t.run("astra", &["memos", "show", "lonely.wav", "--json"]);
    shown.success();
    let rec = &shown.json()["data"];
    assert_eq!(rec["transcript"]["provider"], "command");
    assert!(
        rec["transcript"]["text"]
            .as_str()
            .unwrap()
            .contains("recognizer heard")
    );
}

#[test]
fn a_failing_command_keeps_its_stderr_and_a_retry_resumes() {
    let flag = tempfile::NamedTempFile::new().unwrap();
    let script = format!(
        "if [ -e '{}' ]; then echo 'recognizer crashed: out of memory' >&2; exit 3; fi; echo note this memo was transcribed on the second try",
        flag.path().display()
    );
    let t = Test::new()
        .audio("flaky.wav", &wav_bytes("flaky", 100))
        .config(&format!(
            "[transcription]\nprovider = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}]\n"
        ));
    let r = t.voice_memo();
    r.code_is(1);
    assert!(
        t.item("flaky.wav")["last_error"]
            .as_str()
            .unwrap()
            .contains("recognizer crashed: out of memory")
    );
    fs::remove_file(flag.path()).ok();
    let r = t.run("voice-memo", &["--json", "--retry-now"]);
    r.success();
    let item = t.item("flaky.wav");
    assert_eq!(item["status"], "completed");
    assert_eq!(item["attempts"], 2);
    assert!(item["last_error"].is_null());
    let notes = Test::tree(&t.vault.join("Notes"));
    assert_eq!(notes.len(), 1);
}

#[test]
fn watch_mode_processes_a_memo_that_arrives_later() {
    let t = Test::new();
    let mut child = t
        .command("voice-memo")
        .arg("--watch")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
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
    // The first pass runs at start (and records itself in history).
    wait_for("the first pass", &|| t.home.join("history.jsonl").exists());
    t.add_memo("later.wav", "note this arrived while watching");
    wait_for("the memo to complete", &|| {
        t.catalogue()
            .and_then(|c| c.status_of("later.wav").ok().flatten())
            .as_deref()
            == Some("completed")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(Test::tree(&t.vault.join("Notes")).len(), 1);
}

#[test]
fn two_files_with_the_same_audio_are_two_memos() {
    let t = Test::new()
        .audio("same a.wav", &wav_bytes("same", 400))
        .audio("same b.wav", &wav_bytes("same", 400));
    fs::write(t.inbox.join("same a.txt"), "note the first words").unwrap();
    fs::write(
        t.inbox.join("same b.txt"),
        "note completely different words",
    )
    .unwrap();
    t.voice_memo().success();
    assert_ne!(t.item("same a.wav")["id"], t.item("same b.wav")["id"]);
    let notes: String = Test::snapshot(&t.vault.join("Notes"))
        .into_iter()
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .collect();
    assert!(
        notes.contains("first words") && notes.contains("different words"),
        "{notes}"
    );
}
