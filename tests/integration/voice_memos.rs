//! A Voice Memos folder as it is today: `.qta` recordings (QuickTime, an AAC track
//! beside an APAC one, the transcript in `trak/meta` keys/ilst), and the
//! `CloudRecordings.db` beside them (titles, folders, Recently Deleted, evicted
//! audio), read while Voice Memos holds it open in WAL mode. Fixtures are made by
//! ffmpeg, espeak-ng and SQLite; nothing in the folder may change.
use crate::harness::{Test, age};
use astra::voice_memo::qta;
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;

const TSRP: &str = r#"{"attributedString":{"attributeTable":[{"timeRange":[0,2]}],"runs":["Remember to call the dentist tomorrow morning.",0," Idea: a small herb garden on the balcony.",0]},"locale":{"identifier":"en_US","current":0}}"#;

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A `.qta` from ffmpeg: `-f mov`, brand `qt  `, two AAC tracks of `input`, the
/// second patched to `apac` (or only one track, patched, with `only_apac`), the
/// transcript (if any) moved into the first track's `meta`.
fn make_qta(input: &[&str], out: &Path, transcript: Option<&str>, only_apac: bool) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-loglevel", "error", "-y"]);
    let tracks = if only_apac { 1 } else { 2 };
    for _ in 0..tracks {
        cmd.args(input);
    }
    for i in 0..tracks {
        cmd.args(["-map", &format!("{i}:a")]);
    }
    cmd.args(["-c:a", "aac", "-f", "mov", "-brand", "qt  "]);
    if let Some(t) = transcript {
        cmd.args(["-movflags", "use_metadata_tags", "-metadata"])
            .arg(format!("com.apple.VoiceMemos.tsrp={t}"));
    }
    run(cmd.arg(out));
    if transcript.is_some() {
        qta::move_metadata_into_first_track(out).unwrap();
    }
    qta::patch_sample_entry(out, tracks - 1, b"apac").unwrap();
    age(out, 120);
}

/// Two layouts the public notes report: macOS 14+ (titles in
/// ZCUSTOMLABELFORSORTING / ZENCRYPTEDTITLE, folder names in ZENCRYPTEDNAME) and an
/// older one (the title only in ZCUSTOMLABEL, folder names in ZNAME).
const SCHEMA_NEW: &str = "
    CREATE TABLE ZFOLDER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
        ZCOUNTOFRECORDINGS INTEGER, ZRANK INTEGER, ZENCRYPTEDNAME VARCHAR, ZUUID VARCHAR);
    CREATE TABLE ZCLOUDRECORDING (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
        ZFLAGS INTEGER, ZFOLDER INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT,
        ZEVICTIONDATE TIMESTAMP, ZLOCALDURATION FLOAT, ZCUSTOMLABEL VARCHAR,
        ZCUSTOMLABELFORSORTING VARCHAR, ZENCRYPTEDTITLE VARCHAR, ZPATH VARCHAR,
        ZUNIQUEID VARCHAR, ZAUDIODIGEST BLOB);";
const SCHEMA_OLD: &str = "
    CREATE TABLE ZFOLDER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZNAME VARCHAR);
    CREATE TABLE ZCLOUDRECORDING (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
        ZFLAGS INTEGER, ZFOLDER INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT,
        ZEVICTIONDATE TIMESTAMP, ZCUSTOMLABEL VARCHAR, ZPATH VARCHAR, ZUNIQUEID VARCHAR);";

/// Voice Memos' database, left open (WAL, rows only in the WAL) like the app does.
fn library(inbox: &Path, new: bool, rows: &[(&str, &str, Option<&str>, bool)]) -> Connection {
    let w = Connection::open(inbox.join("CloudRecordings.db")).unwrap();
    w.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;")
        .unwrap();
    w.execute_batch(if new { SCHEMA_NEW } else { SCHEMA_OLD })
        .unwrap();
    let name_col = if new { "ZENCRYPTEDNAME" } else { "ZNAME" };
    w.execute(
        &format!("INSERT INTO ZFOLDER (Z_PK, {name_col}) VALUES (1, 'Home Projects')"),
        [],
    )
    .unwrap();
    for (i, (file, title, folder, deleted)) in rows.iter().enumerate() {
        let deleted_at = deleted.then_some(789_000_000.0f64);
        let folder = folder.map(|_| 1);
        let stamp = file.split('-').next().unwrap();
        if new {
            w.execute(
                "INSERT INTO ZCLOUDRECORDING (ZPATH, ZUNIQUEID, ZCUSTOMLABEL, ZCUSTOMLABELFORSORTING, ZENCRYPTEDTITLE, ZFOLDER, ZEVICTIONDATE, ZDURATION)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, 2.0)",
                rusqlite::params![file, format!("UID-{i}"), stamp, title, folder, deleted_at],
            )
            .unwrap();
        } else {
            w.execute(
                "INSERT INTO ZCLOUDRECORDING (ZPATH, ZUNIQUEID, ZCUSTOMLABEL, ZFOLDER, ZEVICTIONDATE)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![file, format!("UID-{i}"), title, folder, deleted_at],
            )
            .unwrap();
        }
    }
    assert!(inbox.join("CloudRecordings.db-wal").exists());
    w
}

fn vault_text(t: &Test) -> String {
    Test::tree(&t.vault)
        .iter()
        .map(|r| format!("== {r}\n{}\n", t.vault_file(r)))
        .collect()
}

#[test]
fn a_voice_memos_library_titles_folders_deletions_and_evictions() {
    for new in [true, false] {
        let t = Test::new();
        let live = "20260114 090000-AAAA1111.qta";
        let deleted = "20260114 100000-BBBB2222.m4a";
        let evicted = "20260114 110000-CCCC3333.qta";
        make_qta(
            &["-f", "lavfi", "-i", "sine=frequency=300:duration=2"],
            &t.inbox.join(live),
            Some(TSRP),
            false,
        );
        t.add_memo(deleted, "Buy a new lawn mower tomorrow.");
        let writer = library(
            &t.inbox,
            new,
            &[
                (
                    live,
                    "Dentist and balcony garden",
                    Some("Home Projects"),
                    false,
                ),
                (deleted, "Mower", None, true),
                (evicted, "Not downloaded yet", None, false),
            ],
        );
        let before = Test::snapshot(&t.inbox);
        let r = t.voice_memo();
        r.success();
        let v = r.json();
        let vault = vault_text(&t);
        assert_eq!(t.item(live)["status"], "completed", "{v}\n{}", r.stderr());
        assert!(
            vault.contains("Dentist and balcony garden"),
            "the title is the user's ({new}):\n{vault}"
        );
        assert!(vault.to_lowercase().contains("dentist"), "{vault}");
        assert!(
            vault.contains("Home-Projects"),
            "the folder is a tag:\n{vault}"
        );
        assert!(t.item(deleted).is_null(), "Recently Deleted: not processed");
        assert!(!vault.to_lowercase().contains("mower"), "{vault}");
        assert!(t.item(evicted).is_null());
        assert!(
            v["stats"]["skipped"].as_u64().unwrap() >= 1,
            "the evicted one waits: {v}"
        );
        assert_eq!(
            Test::snapshot(&t.inbox),
            before,
            "Apple's folder is byte-identical"
        );
        // Voice Memos renames the file (same unique id): not a new memo.
        let renamed = "20260114 090000-AAAA1111 renamed.qta";
        std::fs::rename(t.inbox.join(live), t.inbox.join(renamed)).unwrap();
        writer
            .execute(
                "UPDATE ZCLOUDRECORDING SET ZPATH = ?1 WHERE ZPATH = ?2",
                [renamed, live],
            )
            .unwrap();
        let todos = t.vault_file("Todos.md");
        t.voice_memo().success();
        assert!(t.item(renamed).is_null(), "{}", t.item(renamed));
        assert_eq!(t.vault_file("Todos.md"), todos, "nothing written twice");
        drop(writer);
    }
}

#[test]
fn a_qta_whose_only_audio_is_apac_fails_clearly_and_is_untouched() {
    let t = Test::new();
    let name = "20260114 120000-DDDD4444.qta";
    make_qta(
        &["-f", "lavfi", "-i", "sine=frequency=300:duration=2"],
        &t.inbox.join(name),
        None,
        true,
    );
    let before = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    let item = t.item(name);
    assert_ne!(item["status"], "completed", "{item}");
    let err = item["last_error"].to_string() + &r.stdout() + &r.stderr();
    assert!(err.contains("APAC") && err.contains(name), "{err}");
    assert_eq!(Test::snapshot(&t.inbox), before);
}

#[test]
fn a_qta_without_a_transcript_is_transcribed_from_its_aac_track() {
    let Some(model) = crate::whisper_model::tiny_en() else {
        return;
    };
    let t =
        Test::new().config("[transcription]\nwhisper_model = \"tiny.en\"\nwhisper_threads = 2\n");
    let dir = t.home.join("models");
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join("ggml-tiny.en.bin");
    if std::fs::hard_link(&model, &dest).is_err() {
        std::fs::copy(&model, &dest).unwrap();
    }
    let wav = t.dir.path().join("said.wav");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg("Remember to call the dentist tomorrow morning."));
    let name = "20260114 130000-EEEE5555.qta";
    make_qta(
        &["-i", wav.to_str().unwrap()],
        &t.inbox.join(name),
        None,
        false,
    );
    let before = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.success();
    let item = t.item(name);
    assert_eq!(item["status"], "completed", "{item}\n{}", r.stderr());
    let todos = t.vault_file("Todos.md");
    assert!(todos.to_lowercase().contains("dentist"), "{todos}");
    assert_eq!(Test::snapshot(&t.inbox), before);
}
