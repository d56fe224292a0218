//! A run that dies between stages, then a rerun: every memo done exactly once.
use crate::harness::{Test, wav_bytes};
use std::process::Stdio;
use std::time::{Duration, Instant};

const MEMOS: [(&str, &str); 3] = [
    (
        "20260114 080000-A1.wav",
        "Remind me to renew the passport and call grandma on Sunday.",
    ),
    (
        "20260114 083000-B2.wav",
        "Note: research item, read about the history of the printing press.",
    ),
    (
        "20260114 090000-C3.wav",
        "Journal. Today I feel grateful for the quiet morning and good coffee.",
    ),
];

fn three_memos() -> Test {
    MEMOS
        .iter()
        .fold(Test::new(), |t, (name, text)| t.memo(name, text))
}

/// Every piece of every memo appears exactly once in the vault and the archive.
fn assert_exactly_once(t: &Test) {
    for (name, _) in MEMOS {
        let item = t.item(name);
        assert_eq!(item["status"], "completed", "{name}: {item}");
        let id = item["id"].as_str().unwrap();
        let mut found = 0;
        for (path, bytes) in Test::snapshot(&t.vault) {
            let text = String::from_utf8_lossy(&bytes);
            let n = crate::harness::markers(&path, &text, id);
            if path.starts_with("Notes/") {
                assert!(n <= 1, "{path} mentions {id} {n} times");
            }
            found += n;
        }
        let outputs = &item["outputs"];
        let expected: usize = ["todos", "notes", "journal"]
            .iter()
            .map(|k| outputs[k].as_array().unwrap().len())
            .sum();
        assert_eq!(
            found, expected,
            "{name}: {found} markers for {expected} outputs {outputs}"
        );
    }
    let todos = t.vault_file("Todos.md");
    let mut lines: Vec<_> = todos.lines().filter(|l| l.starts_with("- [ ]")).collect();
    let n = lines.len();
    lines.dedup();
    assert_eq!(lines.len(), n, "a todo written twice:\n{todos}");
    let archive = Test::tree(&t.home.join("archive"));
    assert_eq!(
        archive.len(),
        6,
        "one copy of each audio and sidecar: {archive:?}"
    );
    let temps: Vec<_> = Test::tree(t.dir.path())
        .into_iter()
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn a_crash_at_every_stage_boundary_then_a_rerun_does_each_memo_once() {
    for point in [
        "transcribed",
        "organized",
        "synced-unsaved",
        "synced",
        "archived-unsaved",
        "catalogued-unsaved",
    ] {
        let t = three_memos()
            .env("ASTRA_TEST_CRASH_AT", point)
            .vm("concurrency = 1");
        let r = t.voice_memo();
        assert_ne!(
            r.code(),
            Some(0),
            "{point}: the hook should have killed the run"
        );
        // The next run, without the hook, finishes every memo once.
        let t = t.env("ASTRA_TEST_CRASH_AT", "none");
        let r = t.voice_memo();
        r.success();
        assert_eq!(r.json()["stats"]["failed"], 0, "{point}: {}", r.json());
        let r = t.voice_memo();
        assert_eq!(r.json()["stats"]["found"], 0, "{point}: all done");
        assert_exactly_once(&t);
        t.assert_catalogue_agrees(point);
        let listed = t.run("astra", &["memos", "--json"]);
        assert_eq!(
            listed.json()["data"]["total"],
            3,
            "{point}: one record per memo"
        );
    }
}

#[test]
fn kill_9_during_a_slow_transcription_then_a_rerun_does_each_memo_once() {
    let marks = tempfile::tempdir().unwrap();
    let started = marks.path().join("started");
    let slow = marks.path().join("slow");
    std::fs::write(&slow, b"").unwrap();
    // Reads the sidecar as its "transcript"; sleeps while the `slow` flag exists.
    let script = format!(
        "touch '{}'; if [ -e '{}' ]; then sleep 30; fi; cat \"$(dirname \"$1\")/$(basename \"$1\" .wav).txt\"",
        started.display(),
        slow.display()
    );
    let cmd = format!(
        "[transcription]\nprovider = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}, \"sh\", \"{{input}}\"]\n"
    );
    let t = three_memos().config(&cmd).vm("concurrency = 1");
    let mut child = t
        .command("voice-memo")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the transcriber never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let first = t.item(MEMOS[0].0);
    assert_eq!(first["status"], "pending", "{first}");
    assert_eq!(first["attempts"], 1);
    std::fs::remove_file(&slow).unwrap();
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 3);
    assert_eq!(
        t.item(MEMOS[0].0)["attempts"],
        2,
        "the interrupted attempt counts"
    );
    assert_exactly_once(&t);
}

#[test]
fn a_memo_with_many_outputs_survives_a_crash_between_write_and_save() {
    let t = Test::new()
        .audio("big.wav", &wav_bytes("big", 100))
        .env("ASTRA_TEST_CRASH_AT", "synced-unsaved");
    std::fs::write(
        t.inbox.join("big.txt"),
        "I need to call Anna. I have to email the landlord. Don't forget to buy bread. Today I feel calm.",
    )
    .unwrap();
    crate::harness::age(&t.inbox.join("big.txt"), 120);
    assert_ne!(t.voice_memo().code(), Some(0));
    let before = t.vault_file("Todos.md");
    let t = t.env("ASTRA_TEST_CRASH_AT", "none");
    t.voice_memo().success();
    assert_eq!(
        t.vault_file("Todos.md"),
        before,
        "the rerun found the written todos"
    );
    assert_eq!(t.item("big.wav")["status"], "completed");
}
