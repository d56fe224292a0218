//! `astra memos` on a catalogue built by real runs (sidecar and command transcribers),
//! the cron path's visible failures, discards with reasons, and re-queueing.
use crate::harness::{Test, wav_bytes};
use serde_json::Value;
use std::fs;
use std::path::Path;

fn command_config(script: &str) -> String {
    format!("[transcription]\ncommand = [\"sh\", \"-c\", {script:?}]\n")
}

fn data(t: &Test, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let r = t.run("astra", &all);
    r.success();
    r.json()["data"].clone()
}

#[test]
fn memos_list_show_search_and_retry_on_a_real_catalogue() {
    // a.wav has a sidecar; b.wav has none, so the command recognizer hears it.
    let t = Test::new()
        .memo(
            "20260105 093000-A1.wav",
            "Remind me to call the dentist about the crown on Monday.",
        )
        .audio("20260106 100000-B2.wav", &wav_bytes("b2", 800))
        .config(&command_config(
            "echo 'Note: research the history of oat milk and write it up.'",
        ));
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 2);

    // list, JSON and table
    let list = data(&t, &["memos"]);
    assert_eq!(list["total"], 2);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items[0]["file"], "20260106 100000-B2.wav", "newest first");
    assert!(
        items
            .iter()
            .all(|m| m["status"] == "completed" && m["attempts"] == 1)
    );
    assert!(items.iter().all(|m| m["title"].is_string()), "{list}");
    let table = t.run("astra", &["memos", "list"]);
    table.success();
    let out = table.stdout();
    for want in [
        "20260105 093000-A1.wav",
        "20260106 100000-B2.wav",
        "completed",
        "recorded",
    ] {
        assert!(out.contains(want), "{want} in\n{out}");
    }
    let one = data(&t, &["memos", "list", "--status", "completed", "-n", "1"]);
    assert_eq!(one["total"], 1);
    let none = data(&t, &["memos", "--status", "failed"]);
    assert_eq!(none["total"], 0);
    let since = data(&t, &["memos", "--since", "2026-01-06"]);
    assert_eq!(since["total"], 1, "{since}");
    t.run("astra", &["memos", "--status", "bogus"]).code_is(2);
    t.run("astra", &["memos", "--since", "last tuesday"])
        .code_is(2);

    // show: the whole story, by file or id
    let a = data(&t, &["memos", "show", "20260105 093000-A1.wav"]);
    assert_eq!(a["transcript"]["provider"], "sidecar");
    assert!(
        a["transcript"]["text"]
            .as_str()
            .unwrap()
            .contains("dentist")
    );
    assert_eq!(a["transcript"]["segments"], serde_json::json!([]));
    assert!(
        a["organization"]["todos"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{a}"
    );
    assert!(
        a["outputs"]["todos"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{a}"
    );
    assert_eq!(a["history"].as_array().unwrap().len(), 1);
    assert_eq!(a["history"][0]["outcome"], "completed");
    assert!(a["archived_to"].as_str().unwrap().contains("archive"));
    let id = a["id"].as_str().unwrap().to_string();
    let by_id = data(&t, &["memos", "show", &id]);
    assert_eq!(by_id["file"], "20260105 093000-A1.wav");
    let b = data(&t, &["memos", "show", "20260106 100000-B2.wav"]);
    assert_eq!(b["transcript"]["provider"], "command");
    assert!(
        b["outputs"]["notes"]
            .as_array()
            .is_some_and(|n| !n.is_empty()),
        "{b}"
    );
    let card = t.run("astra", &["memos", "show", &id]);
    card.success();
    let text = card.stdout();
    for want in [
        "Transcript (sidecar)",
        "dentist",
        "Outputs:",
        "Attempts:",
        "completed",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    t.run("astra", &["memos", "show", "nope.wav"]).code_is(2);

    // Transcripts kept for people: beside the archived audio, and a vault note that
    // the memo's todos, notes and journal entry link to.
    let beside = t.home.join("archive/20260106 100000-B2.txt");
    assert!(
        fs::read_to_string(&beside)
            .unwrap()
            .contains("history of oat milk"),
        "the transcript beside the archived recording"
    );
    let files = b["transcript_files"].as_array().unwrap();
    assert!(
        files.iter().any(|f| f
            .as_str()
            .unwrap()
            .ends_with("archive/20260106 100000-B2.txt")),
        "{b}"
    );
    let note = files
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.contains("/Transcripts/"))
        .expect("a transcript note in the vault");
    let note_text = fs::read_to_string(note).unwrap();
    assert!(
        note_text.contains("history of oat milk")
            && note_text.contains("transcribed_by: \"command\""),
        "{note_text}"
    );
    let stem = Path::new(note)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let link = format!("[[Transcripts/{stem}|transcript]]");
    let notes: Vec<_> = Test::tree(&t.vault.join("Notes"));
    assert!(
        notes
            .iter()
            .any(|n| fs::read_to_string(t.vault.join("Notes").join(n))
                .unwrap()
                .contains(&link)),
        "a note links to {link}: {notes:?}"
    );
    let a_files = a["transcript_files"].as_array().unwrap();
    let a_note = a_files
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.contains("/Transcripts/"))
        .unwrap();
    let a_stem = Path::new(a_note)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        t.vault_file("Todos.md")
            .contains(&format!("[[Transcripts/{a_stem}|transcript]]")),
        "{}",
        t.vault_file("Todos.md")
    );

    // search: a word in a transcript, and one that is nowhere
    let hits = data(&t, &["memos", "search", "dentist"]);
    assert_eq!(hits["total"], 1, "{hits}");
    assert_eq!(hits["hits"][0]["file"], "20260105 093000-A1.wav");
    assert!(
        hits["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("[dentist]"),
        "{hits}"
    );
    let oat = data(&t, &["memos", "search", "oat", "milk"]);
    assert_eq!(oat["hits"][0]["file"], "20260106 100000-B2.wav");
    assert_eq!(data(&t, &["memos", "search", "giraffe"])["total"], 0);
    let table = t.run("astra", &["memos", "search", "dentist"]);
    table.success();
    assert!(
        table.stdout().contains("20260105 093000-A1.wav"),
        "{}",
        table.stdout()
    );
    assert!(
        t.run("astra", &["memos", "search", "giraffe"])
            .stdout()
            .contains("No memo matches")
    );

    // retry: completed memos are not re-queued
    let r = t.run("astra", &["memos", "retry", &id, "--json"]);
    r.code_is(1);
    assert_eq!(r.json()["data"]["retried"], serde_json::json!([]));
    assert_eq!(r.json()["data"]["not_found"][0], id.as_str());
    t.assert_catalogue_agrees("after the runs");
}

#[test]
fn under_cron_a_failing_memo_names_itself_and_its_reason_everywhere() {
    let t = Test::new()
        .audio("broken.wav", &wav_bytes("broken", 800))
        .config(&command_config(
            "echo 'recognizer crashed: model file missing' >&2; exit 3",
        ));
    // stderr is a pipe here, as under cron.
    let r = t.run("voice-memo", &[]);
    r.code_is(1);
    let line = r.stderr();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("first failure: broken.wav (retrying)")
            && line.contains("recognizer crashed"),
        "{line}"
    );
    let list = data(&t, &["memos"]);
    let m = &list["items"][0];
    assert_eq!(m["file"], "broken.wav");
    assert_eq!(m["status"], "retrying");
    assert!(m["next_attempt_at"].is_string());
    assert!(
        m["reason"].as_str().unwrap().contains("recognizer crashed"),
        "{m}"
    );
    let job = data(&t, &["jobs", "show", "voice-memo"]);
    assert_eq!(job["failing"][0]["file"], "broken.wav", "{job}");
    assert!(
        job["failing"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("recognizer crashed")
    );
    let card = t.run("astra", &["jobs", "show", "voice-memo"]);
    assert!(card.stdout().contains("Failing memos") && card.stdout().contains("broken.wav"));
    let shown = data(&t, &["memos", "show", "broken.wav"]);
    assert_eq!(shown["history"][0]["outcome"], "retrying");
    assert!(
        shown["history"][0]["error"]
            .as_str()
            .unwrap()
            .contains("recognizer crashed")
    );
    // A recognizer that prints nothing for audio that is not silent is an error too.
    let text = t.config_text().replace(
        &command_config("echo 'recognizer crashed: model file missing' >&2; exit 3"),
        &command_config("true"),
    );
    let t = t.own_config(&text);
    let r = t.run("voice-memo", &["--json", "--retry-now"]);
    r.code_is(1);
    let err = t.item("broken.wav")["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        err.contains("empty transcript") && err.contains("not silent"),
        "{err}"
    );
    t.assert_catalogue_agrees("after the failures");
}

#[test]
fn a_discard_records_why_and_can_be_retried() {
    let t = Test::new().memo("hush.wav", "");
    t.voice_memo().success();
    let m = data(&t, &["memos", "show", "hush.wav"]);
    assert_eq!(m["status"], "discarded");
    assert!(m["last_error"].as_str().unwrap().contains("empty"), "{m}");
    let listed = data(&t, &["memos", "--status", "discarded"]);
    assert!(
        listed["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("empty")
    );
    let r = t.run(
        "astra",
        &["memos", "retry", "--status", "discarded", "--json"],
    );
    r.success();
    assert_eq!(r.json()["data"]["retried"].as_array().unwrap().len(), 1);
    assert_eq!(t.item("hush.wav")["status"], "retrying");
    t.assert_catalogue_agrees("after the retry");
    // The next run takes it up again (and, still silent, discards it again).
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 1);
    assert_eq!(t.item("hush.wav")["status"], "discarded");
    t.assert_catalogue_agrees("after the rerun");
}

#[test]
fn a_run_with_nothing_new_does_not_open_the_catalogue() {
    let t = Test::new()
        .memo("a.wav", "note the first thought")
        .memo("b.wav", "note the second thought");
    t.voice_memo().success();
    assert_eq!(t.item("a.wav")["status"], "completed");
    assert!(
        t.state()["jobs"]["voiceMemo"]["items"]
            .as_object()
            .unwrap()
            .is_empty(),
        "done memos live in the catalogue alone"
    );
    // Both recordings stay in the inbox (copy mode); the seen-index settles them. A
    // catalogue that could not even be opened does not matter to such a run.
    let db = t.home.join("memos.db");
    let saved = fs::read(&db).unwrap();
    fs::write(&db, b"not a database at all").unwrap();
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 0);
    fs::write(&db, saved).unwrap();
    // A new memo is checked against the catalogue, which still knows the old ones.
    t.add_memo("c.wav", "note a third thought");
    let r = t.voice_memo();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 1);
    assert_eq!(data(&t, &["memos"])["total"], 3);
}
