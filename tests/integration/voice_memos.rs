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
    let t = crate::whisper::with_model(&model, "");
    let wav = speech(&t, "said", "Remember to call the dentist tomorrow morning.");
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

/// The markers and headings the vault has for one memo, counted.
fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_memo_renamed_half_way_is_finished_as_itself_not_done_again() {
    let t = Test::new();
    let first = "20260114 090000-AAAA1111.qta";
    let renamed = "20260114 090000-AAAA1111 2.qta";
    make_qta(
        &["-f", "lavfi", "-i", "sine=frequency=300:duration=2"],
        &t.inbox.join(first),
        Some(TSRP),
        false,
    );
    let writer = library(
        &t.inbox,
        true,
        &[(first, "Dentist and balcony garden", None, false)],
    );
    // The outputs are written, then the run dies before it records that.
    let crashed = t.env("ASTRA_TEST_CRASH_AT", "synced-unsaved");
    let r = crashed.voice_memo();
    assert_ne!(r.code(), Some(0), "the hook should have killed the run");
    let t = crashed.env("ASTRA_TEST_CRASH_AT", "none");
    let vault = vault_text(&t);
    assert_eq!(
        count(&vault.to_lowercase(), "dentist tomorrow"),
        1,
        "{vault}"
    );
    // Voice Memos renames the file before the next run.
    std::fs::rename(t.inbox.join(first), t.inbox.join(renamed)).unwrap();
    writer
        .execute(
            "UPDATE ZCLOUDRECORDING SET ZPATH = ?1 WHERE ZPATH = ?2",
            [renamed, first],
        )
        .unwrap();
    let before = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.success();
    let item = t.item(first);
    assert_eq!(item["status"], "completed", "{item}\n{}", r.stderr());
    assert!(t.item(renamed).is_null(), "one memo, under its first name");
    let after = vault_text(&t);
    let todos = t.vault_file("Todos.md");
    assert_eq!(
        todos.matches("^astra-").count(),
        1,
        "the todo is not written twice:\n{todos}"
    );
    let notes = Test::tree(&t.vault.join("Notes"));
    assert_eq!(notes.len(), 1, "one note: {notes:?}\n{after}");
    let note = t.vault_file(&format!("Notes/{}", notes[0]));
    assert!(
        note.contains(&format!("source: \"Dentist and balcony garden · {first}\"")),
        "{note}"
    );
    let listed = t.run("astra", &["memos", "--json"]);
    assert_eq!(listed.json()["data"]["total"], 1, "{}", listed.stdout());
    assert_eq!(Test::snapshot(&t.inbox), before, "Apple's folder untouched");
    drop(writer);
}

#[test]
fn notion_pages_carry_the_title_and_a_retry_finds_them_by_file_name() {
    use crate::fake_notion::{FakeNotion, prop_text};
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = crate::notion::databases(&fake, &parent);
    let t = crate::notion::notion_test(&fake, &keys);
    let live = "20260114 090000-AAAA1111.qta";
    make_qta(
        &["-f", "lavfi", "-i", "sine=frequency=300:duration=2"],
        &t.inbox.join(live),
        Some(TSRP),
        false,
    );
    let writer = library(
        &t.inbox,
        true,
        &[(live, "Balcony plans", Some("Home"), false)],
    );
    // Each page is created, then the run dies before it records the page.
    let crashes = crate::notion::crash_after_each_page(&t, 6);
    assert!(crashes >= 2, "a crash at each page ({crashes})");
    // Meanwhile the user renames the memo in Voice Memos.
    writer
        .execute(
            "UPDATE ZCLOUDRECORDING SET ZCUSTOMLABELFORSORTING = 'Balcony garden', ZENCRYPTEDTITLE = 'Balcony garden'",
            [],
        )
        .unwrap();
    t.run("voice-memo", &["--json", "--retry-now"]).success();
    let item = t.item(live);
    assert_eq!(item["status"], "completed", "{item}");
    let outputs = &item["outputs"];
    let written =
        outputs["todos"].as_array().unwrap().len() + outputs["notes"].as_array().unwrap().len();
    assert!(written >= 2, "a todo and a note: {outputs}");
    let mut pages = Vec::new();
    for db in ["TODOs", "Notes"] {
        let (_, id) = fake
            .databases_under(&parent)
            .into_iter()
            .find(|(title, _)| title == db)
            .unwrap();
        pages.extend(fake.pages_in(&id));
    }
    let sources: Vec<String> = pages.iter().map(|p| prop_text(p, "source")).collect();
    assert_eq!(pages.len(), written, "no page twice: {sources:?}");
    for s in &sources {
        assert!(
            s.ends_with(&format!(" · {live}")) && s.starts_with("Balcony "),
            "the source is the title and the file name: {s}"
        );
    }
    let id = item["id"].as_str().unwrap();
    for o in outputs["journal"].as_array().unwrap() {
        let page = o.as_str().unwrap().split('#').next().unwrap();
        let headings: Vec<String> = fake
            .texts(page)
            .into_iter()
            .filter(|h| h.ends_with(&format!(" · {id}")))
            .collect();
        assert_eq!(headings.len(), 1, "{headings:?}");
        assert!(headings[0].contains("Balcony"), "titled: {headings:?}");
    }
    drop(writer);
}

/// The `inbox` check of `astra doctor --json`.
fn doctor_inbox(t: &Test) -> serde_json::Value {
    let r = t.run("astra", &["doctor", "--json"]);
    let v = r.json();
    v["data"]["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}\n{}", r.stderr()))
        .iter()
        .find(|c| c["name"] == "inbox")
        .unwrap()
        .clone()
}

/// macOS answers a program without Full Disk Access with EPERM when it lists Voice
/// Memos' folder. Here the folder's mode refuses it to an ordinary user (as root the
/// binaries run as `nobody`), which reaches astra as the same PermissionDenied.
#[test]
fn voice_memos_folder_refused_is_told_from_voice_memos_folder_missing() {
    use std::os::unix::fs::PermissionsExt;
    let mut t = Test::new().unprivileged();
    t.inbox = t
        .dir
        .path()
        .join("Library/Group Containers/group.com.apple.VoiceMemos.shared/Recordings");
    let missing = doctor_inbox(&t);
    assert_eq!(missing["ok"], false, "{missing}");
    assert!(
        missing["detail"].as_str().unwrap().contains("ENOENT"),
        "{missing}"
    );
    assert!(
        missing["fix"]
            .as_str()
            .unwrap()
            .contains("open Voice Memos once"),
        "{missing}"
    );
    assert!(
        !missing.to_string().contains("Full Disk Access"),
        "{missing}"
    );

    std::fs::create_dir_all(&t.inbox).unwrap();
    t.add_memo(
        "20260114 090000-AAAA1111.m4a",
        "Remind me to water the plants.",
    );
    std::fs::set_permissions(&t.inbox, std::fs::Permissions::from_mode(0o000)).unwrap();
    let refused = doctor_inbox(&t);
    let run = t.voice_memo();
    std::fs::set_permissions(&t.inbox, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("EPERM"),
        "{refused}"
    );
    let fix = refused["fix"].as_str().unwrap();
    assert!(fix.contains("Full Disk Access"), "{fix}");
    // The exact binary launchd would run, beside the astra that answered.
    assert!(fix.contains("/voice-memo"), "{fix}");
    assert!(fix.contains("/usr/sbin/cron"), "{fix}");
    assert!(!fix.contains("mkdir"), "{fix}");
    assert_ne!(run.code(), Some(0));
    let e = run.stderr();
    assert!(
        e.contains("Full Disk Access") && e.contains("/voice-memo"),
        "{e}"
    );
    assert!(!e.contains("create it"), "{e}");
    assert!(t.item("20260114 090000-AAAA1111.m4a").is_null());
}

#[test]
fn launchd_install_with_voice_memos_folder_says_full_disk_access() {
    let (mut t, _fake) = crate::schedule::scheduled();
    t.inbox = t
        .dir
        .path()
        .join("Library/Group Containers/group.com.apple.VoiceMemos.shared/Recordings");
    std::fs::create_dir_all(&t.inbox).unwrap();
    let r = t.run("astra", &["schedule", "install", "--launchd"]);
    r.success();
    let out = r.stdout();
    assert!(
        out.contains("Full Disk Access") && out.contains("/opt/astra/bin/voice-memo"),
        "{out}"
    );
    // Another inbox needs no such note.
    let (t, _fake) = crate::schedule::scheduled();
    let out = t
        .run("astra", &["schedule", "install", "--launchd"])
        .stdout();
    assert!(!out.contains("Full Disk Access"), "{out}");
}

/// espeak-ng's speech of `text` as a WAV in the test's directory.
fn speech(t: &Test, name: &str, text: &str) -> std::path::PathBuf {
    let wav = t.dir.path().join(format!("{name}.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(text));
    wav
}

/// The issue's "done when": a Voice Memos folder as it is today — `.qta` and `.m4a`
/// mixed, most without a transcript, the database beside them, Voice Memos holding
/// it open — in one run becomes TODOs, notes and journal entries under the user's
/// titles, and nothing in the folder changes.
#[test]
fn a_voice_memos_folder_as_it_is_today_is_done_in_one_run() {
    let Some(model) = crate::whisper_model::tiny_en() else {
        return;
    };
    let t = crate::whisper::with_model(&model, "");
    let with_transcript = "20260114 090000-AAAA1111.qta";
    let qta = "20260114 100000-BBBB2222.qta";
    let m4a = "20260114 190000-CCCC3333.m4a";
    let deleted = "20260114 200000-DDDD4444.m4a";
    make_qta(
        &["-f", "lavfi", "-i", "sine=frequency=300:duration=2"],
        &t.inbox.join(with_transcript),
        Some(TSRP),
        false,
    );
    let milk = speech(&t, "milk", "Remind me to buy milk tomorrow.");
    make_qta(
        &["-i", milk.to_str().unwrap()],
        &t.inbox.join(qta),
        None,
        false,
    );
    let walk = speech(
        &t,
        "walk",
        "Journal. Today I feel happy about the long walk by the river.",
    );
    for (wav, name) in [(&walk, m4a), (&milk, deleted)] {
        run(Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(wav)
            .args(["-c:a", "aac"])
            .arg(t.inbox.join(name)));
        age(&t.inbox.join(name), 120);
    }
    let writer = library(
        &t.inbox,
        true,
        &[
            (
                with_transcript,
                "Dentist and balcony garden",
                Some("Home Projects"),
                false,
            ),
            (qta, "Groceries", None, false),
            (m4a, "Evening walk", None, false),
            (deleted, "Old milk", None, true),
        ],
    );
    let before = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.success();
    for name in [with_transcript, qta, m4a] {
        let item = t.item(name);
        assert_eq!(
            item["status"],
            "completed",
            "{name}: {item}\n{}",
            r.stderr()
        );
    }
    assert!(
        t.item(deleted).is_null(),
        "Recently Deleted is not processed"
    );
    let todos = t.vault_file("Todos.md").to_lowercase();
    assert!(
        todos.contains("dentist") && todos.contains("milk"),
        "{todos}"
    );
    // Each todo links its transcript note, named by the memo's title.
    assert!(todos.contains("groceries"), "{todos}");
    let vault = vault_text(&t);
    assert!(
        vault.contains(&format!(
            "source: \"Dentist and balcony garden · {with_transcript}\""
        )),
        "{vault}"
    );
    let journal = t.vault_file("Journal/2026-01-14.md");
    assert!(journal.contains("### 7:00 PM · Evening walk"), "{journal}");
    assert!(journal.to_lowercase().contains("walk"), "{journal}");
    assert_eq!(
        Test::snapshot(&t.inbox),
        before,
        "nothing in Apple's folder changed, nothing was added to it"
    );
    drop(writer);
}

/// Sets a folder's mtime `secs` into the past (as if nothing had changed in it since).
fn backdate_dir(dir: &Path, secs: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    std::fs::File::open(dir).unwrap().set_modified(t).unwrap();
}

/// A nothing-to-do run after another one does not list the inbox (so a library of
/// thousands costs a few `stat`s), yet misses nothing: a new file, a memo restored
/// from Recently Deleted (only the database changes) and a settings change are each
/// taken up by the next run.
#[test]
fn a_quiet_inbox_is_not_listed_again_and_no_change_is_missed() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new().unprivileged();
    let live = "20260114 090000-AAAA1111.m4a";
    let deleted = "20260114 100000-BBBB2222.m4a";
    let ignored = "20260114 110000-CCCC3333.aiff";
    t.add_memo(live, "Remind me to call the dentist tomorrow.");
    t.add_memo(deleted, "Remind me to buy a new lawn mower.");
    t.add_memo(ignored, "Remind me to renew the passport.");
    let writer = library(
        &t.inbox,
        true,
        &[
            (live, "Dentist", None, false),
            (deleted, "Mower", None, true),
        ],
    );
    t.voice_memo().success();
    assert_eq!(t.item(live)["status"], "completed");
    let mark = t.home.join("cache/voice-memo.inbox");
    // A nothing-to-do run records the quiet inbox...
    backdate_dir(&t.inbox, 60);
    t.voice_memo().success();
    assert!(mark.exists(), "the fingerprint is recorded");
    // ...and the next one does not list it: with the folder unreadable (searchable
    // only) it still has nothing to do, where a listing would fail.
    std::fs::set_permissions(&t.inbox, std::fs::Permissions::from_mode(0o311)).unwrap();
    let r = t.voice_memo();
    std::fs::set_permissions(&t.inbox, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.success();
    assert_eq!(r.json()["stats"]["found"], 0, "{}", r.stdout());

    // Restored from Recently Deleted: only Voice Memos' database changes.
    writer
        .execute(
            "UPDATE ZCLOUDRECORDING SET ZEVICTIONDATE = NULL WHERE ZPATH = ?1",
            [deleted],
        )
        .unwrap();
    t.voice_memo().success();
    assert_eq!(
        t.item(deleted)["status"],
        "completed",
        "restored: processed"
    );

    // A settings change: a file nothing listed before is a memo now.
    backdate_dir(&t.inbox, 60);
    t.voice_memo().success();
    assert!(mark.exists());
    let t = t.vm("extensions = [\"m4a\", \"aiff\"]");
    t.voice_memo().success();
    assert_eq!(
        t.item(ignored)["status"],
        "completed",
        "new settings: processed"
    );

    // A new recording.
    backdate_dir(&t.inbox, 60);
    t.voice_memo().success();
    let new = "20260114 120000-DDDD4444.m4a";
    t.add_memo(new, "Note: the garden needs more light.");
    t.voice_memo().success();
    assert_eq!(t.item(new)["status"], "completed", "a new file: processed");
    drop(writer);
}
