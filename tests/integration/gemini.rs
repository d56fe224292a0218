//! The `gemini` providers against the fake Gemini: a memo end to end into the vault
//! and into Notion, a 30 MB recording through the Files API (deleted afterwards), a
//! garbage verdict to `invalid/`, a safety block, 30 % injected faults, the journal's
//! summaries, doctor, and the key in no file and no output.
use crate::fake_gemini::{FakeGemini, Faults, REQUEST_LIMIT};
use crate::fake_notion::FakeNotion;
use crate::fake_openai::tone_wav;
use crate::harness::{Run, Test, age};
use std::fs;
use std::process::Command;

const KEY: &str = "AIzaSyTEST-gem1n1-SECRET-0123456789abc";

/// Both stages on the fake, everything else at Gemini's defaults.
fn config(url: &str) -> String {
    format!(
        "[transcription]\nprovider = \"gemini\"\nbase_url = \"{url}\"\n\n[organization]\nprovider = \"gemini\"\nbase_url = \"{url}\"\n"
    )
}

/// No file under the test's folder, and no output of `runs`, holds `key`.
#[track_caller]
fn assert_no_key(t: &Test, runs: &[&Run]) {
    for rel in Test::tree(t.dir.path()) {
        let bytes = fs::read(t.dir.path().join(&rel)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "the key is in {rel}"
        );
    }
    for r in runs {
        assert!(!r.stdout().contains(KEY), "the key is in stdout");
        assert!(!r.stderr().contains(KEY), "the key is in stderr");
    }
}

/// Every request carried the key in its header, none in its URL.
#[track_caller]
fn assert_key_in_header_only(fake: &FakeGemini) {
    for c in fake.calls() {
        assert!(!c.url.contains("key="), "{c:?}");
        if c.status == 200 {
            assert_eq!(c.key.as_deref(), Some(KEY), "{c:?}");
        }
    }
}

fn memo(seconds: f64, hz: u32) -> Vec<u8> {
    tone_wav(&[(None, 0.4), (Some(hz), seconds), (None, 0.4)])
}

#[test]
fn gemini_transcribes_and_organizes_a_memo_into_the_vault() {
    let fake = FakeGemini::start(KEY);
    fake.hears(440, "todo call the dentist about the crown");
    let name = "20260114 093000-GEM00001.wav";
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY)
        .audio(name, &memo(2.0, 440));
    let r = t.run("voice-memo", &["--json", "-v"]);
    r.success();
    let todos = t.vault_file("Todos.md");
    assert!(
        todos.contains("call the dentist about the crown"),
        "{todos}"
    );
    let generated = fake.ok_calls("generate");
    assert_eq!(
        generated.len(),
        2,
        "one transcription, one organization: {generated:?}"
    );
    assert_eq!(generated[0].audio, "inline");
    assert_eq!(
        generated[0].model, "gemini-2.5-flash",
        "Gemini's default model"
    );
    assert_eq!(generated[1].audio, "");
    assert!(
        fake.ok_calls("upload-start").is_empty(),
        "small audio goes inline"
    );
    assert_key_in_header_only(&fake);
    let item = t.item(name);
    assert_eq!(item["status"], "completed", "{item}");
    let tokens = &item["tokens"];
    assert!(tokens["prompt"].as_u64().unwrap() > 0, "{item}");
    assert!(
        tokens["completion"].as_u64().unwrap() > 14,
        "both calls, thoughts included: {item}"
    );
    let j = r.json();
    assert!(j["stats"]["tokens"]["prompt"].as_u64().unwrap() > 0, "{j}");
    assert!(j["stats"]["audio_seconds"].as_f64().unwrap() > 2.5, "{j}");
    assert_no_key(&t, &[&r]);
}

#[test]
fn gemini_into_notion_with_only_a_google_api_key() {
    let fake = FakeGemini::start(KEY);
    fake.hears(523, "note an app that turns receipts into a budget");
    let notion = FakeNotion::start();
    let parent = notion.add_page("Astra", true);
    let keys = crate::notion::databases(&notion, &parent);
    let name = "20260114 120000-GEM00002.wav";
    let t = crate::notion::notion_test(&notion, &keys)
        .config(&config(&fake.url))
        .env("GOOGLE_API_KEY", KEY)
        .audio(name, &memo(2.0, 523));
    let r = t.voice_memo();
    r.success();
    let pages = notion.pages_with_source(name);
    assert_eq!(pages.len(), 1, "{pages:#?}");
    let title = crate::fake_notion::prop_text(&pages[0], "title");
    assert!(title.contains("note an app that turns"), "{title}");
    assert_eq!(t.item(name)["status"], "completed");
    assert_key_in_header_only(&fake);
    assert_no_key(&t, &[&r]);
}

#[test]
fn a_30_mb_recording_goes_through_the_files_api_and_the_file_is_deleted() {
    let fake = FakeGemini::start(KEY);
    fake.hears(660, "journal a long walk along the sea wall");
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY);
    let name = "20260114 180000-GEMBIG01.wav";
    let size = big_recording(&t, name);
    let r = t.run("voice-memo", &["--json", "-v"]);
    r.success();
    let journal = Test::tree(&t.vault.join("Journal"));
    assert_eq!(journal.len(), 1, "{journal:?}");
    let day = t.vault_file(&format!("Journal/{}", journal[0]));
    assert!(day.contains("a long walk along the sea wall"), "{day}");
    assert_eq!(fake.ok_calls("upload-start").len(), 1);
    assert_eq!(fake.ok_calls("upload").len(), 1);
    assert!(fake.ok_calls("file").len() >= 2, "waited while PROCESSING");
    let generated = fake.ok_calls("generate");
    assert_eq!(generated[0].audio, "file", "{generated:?}");
    assert!(generated.iter().all(|c| c.body_bytes < REQUEST_LIMIT));
    let files = fake.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].bytes.len() as u64, size, "the recording, whole");
    assert_eq!(files[0].mime_type, "audio/wav", "from the content");
    assert!(
        fake.live_files().is_empty(),
        "deleted after use: {:?}",
        fake.live_files().len()
    );
    assert_eq!(fake.ok_calls("delete").len(), 1);
    let leftovers: Vec<String> = Test::tree(&t.home)
        .into_iter()
        .filter(|p| p.ends_with("gemini-upload.json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_key_in_header_only(&fake);
    assert_no_key(&t, &[&r]);
}

/// An 80 s recording at 96 kHz stereo 16-bit in the inbox: 30.7 MB, over the 20 MB a
/// request may carry. Its one tone is 660 Hz. Returns its size.
fn big_recording(t: &Test, name: &str) -> u64 {
    let src = t.dir.path().join("src.wav");
    fs::write(
        &src,
        tone_wav(&[(None, 1.0), (Some(660), 4.0), (None, 75.0)]),
    )
    .unwrap();
    let big = t.inbox.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(&src)
        .args(["-ar", "96000", "-ac", "2", "-c:a", "pcm_s16le"])
        .arg(&big)
        .status()
        .unwrap();
    assert!(ok.success());
    age(&big, 120);
    let size = fs::metadata(&big).unwrap().len();
    assert!(size > 30_000_000, "{size}");
    size
}

#[test]
fn an_upload_interrupted_by_a_crash_is_reused_by_the_next_run_then_deleted() {
    let fake = FakeGemini::start(KEY);
    fake.hears(660, "journal the upload survived a crash");
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY);
    let name = "20260114 190000-GEMCRASH.wav";
    big_recording(&t, name);
    let crashed = t
        .command("voice-memo")
        .env("ASTRA_TEST_CRASH_AT", "gemini-uploaded")
        .arg("--json")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "aborted after the upload");
    assert_eq!(fake.live_files().len(), 1, "uploaded, not used yet");
    let r = t.run("voice-memo", &["--json", "--retry-now"]);
    r.success();
    assert_eq!(
        fake.ok_calls("upload").len(),
        1,
        "the file was reused, not uploaded again"
    );
    assert!(fake.live_files().is_empty(), "and deleted after use");
    let journal = Test::tree(&t.vault.join("Journal"));
    let day = t.vault_file(&format!("Journal/{}", journal[0]));
    assert_eq!(
        // The entry's own line, not the transcript link that repeats its title.
        day.matches("\nthe upload survived a crash\n").count(),
        1,
        "{day}"
    );
    assert_eq!(t.item(name)["status"], "completed");
}

#[test]
fn an_upload_a_crash_left_unrecorded_is_found_by_name_and_deleted() {
    let fake = FakeGemini::start(KEY);
    fake.hears(660, "journal nothing piles up");
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY);
    let name = "20260114 191500-GEMSTRAY.wav";
    big_recording(&t, name);
    let crashed = t
        .command("voice-memo")
        .env("ASTRA_TEST_CRASH_AT", "gemini-uploaded-unrecorded")
        .arg("--json")
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    assert_eq!(
        fake.live_files().len(),
        1,
        "uploaded, its name not recorded"
    );
    t.run("voice-memo", &["--json", "--retry-now"]).success();
    assert_eq!(fake.ok_calls("upload").len(), 2, "uploaded again");
    assert!(!fake.ok_calls("list").is_empty());
    assert!(
        fake.live_files().is_empty(),
        "the stray and the new upload are both deleted"
    );
    assert_eq!(t.item(name)["status"], "completed");
}

#[test]
fn a_garbage_verdict_or_low_confidence_sends_the_memo_to_invalid_with_the_reason() {
    let fake = FakeGemini::start(KEY);
    let noise = "20260114 070000-GEMNOISE.wav";
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY)
        .audio(noise, &tone_wav(&[(None, 2.0)]));
    let r = t.voice_memo();
    r.success();
    let item = t.item(noise);
    assert_eq!(item["status"], "discarded", "{item}");
    let why = item["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("no speech, only background noise"), "{item}");
    assert!(
        t.home.join("invalid").join(noise).exists()
            || Test::tree(&t.home)
                .iter()
                .any(|p| p.starts_with("invalid/")),
        "{:?}",
        Test::tree(&t.home)
    );
    assert_eq!(
        fake.ok_calls("generate").len(),
        1,
        "no organization for garbage"
    );
    assert!(!t.vault.join("Todos.md").exists());

    // A confidence under min_confidence (here 50) discards too.
    fake.hears(700, "todo maybe something");
    fake.faults(Faults {
        confidence: Some(40),
        ..Faults::default()
    });
    let t = Test::new()
        .config(&config(&fake.url).replacen(
            "provider = \"gemini\"\n",
            "provider = \"gemini\"\nmin_confidence = 50\n",
            1,
        ))
        .env("GEMINI_API_KEY", KEY);
    let unsure = "20260114 071500-GEMUNSUR.wav";
    t.add_audio(unsure, &memo(1.5, 700));
    t.voice_memo().success();
    let item = t.item(unsure);
    assert_eq!(item["status"], "discarded", "{item}");
    assert!(
        item["last_error"]
            .as_str()
            .unwrap()
            .contains("confidence 40 is under [transcription] min_confidence 50"),
        "{item}"
    );
}

#[test]
fn a_safety_block_fails_that_memo_clearly_and_the_others_go_on() {
    let fake = FakeGemini::start(KEY);
    fake.hears(440, "todo forbidden words");
    fake.hears(600, "todo water the plants");
    fake.faults(Faults {
        block_if_heard: Some("forbidden".into()),
        ..Faults::default()
    });
    let blocked = "20260114 100000-GEMBLOCK.wav";
    let fine = "20260114 100500-GEMFINE1.wav";
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY)
        .audio(blocked, &memo(1.5, 440))
        .audio(fine, &memo(1.5, 600));
    let r = t.voice_memo();
    r.code_is(1);
    let item = t.item(blocked);
    let e = item["last_error"].as_str().unwrap_or_default();
    assert!(
        e.contains(blocked) && e.contains("blockReason SAFETY"),
        "{item}"
    );
    assert_ne!(item["status"], "completed");
    assert_eq!(t.item(fine)["status"], "completed");
    assert!(t.vault_file("Todos.md").contains("water the plants"));
}

#[test]
fn gemini_with_30_percent_faults_syncs_every_memo_exactly_once() {
    let fake = FakeGemini::start(KEY);
    let t = Test::new()
        .config(&config(&fake.url))
        .env("GEMINI_API_KEY", KEY)
        .vm("concurrency = 3");
    let names: Vec<String> = (1..=8)
        .map(|k| format!("20260114 1{k}0000-GEMFLT0{k}.wav"))
        .collect();
    for (k, name) in names.iter().enumerate() {
        let hz = 400 + 70 * k as u32;
        fake.hears(hz, &format!("todo buy item{}", k + 1));
        t.add_audio(name, &memo(1.0, hz));
    }
    fake.faults(Faults {
        rate: 0.3,
        ..Faults::default()
    });
    let mut runs = Vec::new();
    for _ in 0..4 {
        // -vv: debug logs, retries included, must not carry the key either.
        let r = t.run("voice-memo", &["--json", "--retry-now", "-vv"]);
        runs.push(r);
        if names.iter().all(|n| t.item(n)["status"] == "completed") {
            break;
        }
    }
    fake.faults(Faults::default());
    let injected = fake.calls().iter().filter(|c| c.status != 200).count();
    let statuses: Vec<String> = names
        .iter()
        .map(|n| format!("{n}: {} {}", t.item(n)["status"], t.item(n)["last_error"]))
        .collect();
    assert!(
        names.iter().all(|n| t.item(n)["status"] == "completed"),
        "after {} runs: {statuses:#?}",
        runs.len()
    );
    println!(
        "gemini faults: {injected} of {} requests failed, every memo synced in {} run(s)",
        fake.calls().len(),
        runs.len()
    );
    assert!(injected >= 1, "{injected} faults injected");
    let todos = t.vault_file("Todos.md");
    for k in 1..=8 {
        assert_eq!(
            // The task's own line, not the transcript link under it.
            todos.matches(&format!("- [ ] buy item{k} ")).count(),
            1,
            "item{k} exactly once:\n{todos}"
        );
    }
    let refs: Vec<&Run> = runs.iter().collect();
    assert_no_key(&t, &refs);
}

#[test]
fn the_journal_summarises_with_gemini_and_doctor_checks_key_and_model() {
    let fake = FakeGemini::start(KEY);
    let date = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        - chrono::Days::new(1);
    let t = Test::new()
        .config(&format!(
            "[journal]\nweekly_review_day = \"\"\nsummary_provider = \"gemini\"\nbase_url = \"{}\"\n",
            fake.url
        ))
        .env("GEMINI_API_KEY", KEY);
    let day = format!(
        "---\ndate: {date}\nprocessed: false\n---\n\n# {}\n\n### 8:05 AM\n<!-- astra:000000000000:j0 -->\n\nWent for a run before work. It was cold.\n",
        date.format("%B %-d, %Y")
    );
    fs::create_dir_all(t.vault.join("Journal")).unwrap();
    let rel = format!("Journal/{date}.md");
    fs::write(t.vault.join(&rel), day).unwrap();
    let r = t.run("journal", &["--json"]);
    r.success();
    let text = t.vault_file(&rel);
    assert!(
        text.contains("Fake summary: Went for a run before work."),
        "{text}"
    );
    assert!(text.contains("gemini-2.5-flash (Gemini)"), "{text}");
    assert!(r.json()["stats"]["tokens"]["prompt"].as_u64().unwrap() > 0);
    let d = t.run("astra", &["doctor", "--json"]);
    let checks = d.json()["data"]["checks"].clone();
    let gem = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "journal summary (gemini)")
        .cloned()
        .unwrap_or_else(|| panic!("{checks:#}"));
    assert_eq!(gem["ok"], true, "{gem}");
    assert!(
        gem["detail"]
            .as_str()
            .unwrap()
            .contains("model gemini-2.5-flash"),
        "{gem}"
    );
    assert_key_in_header_only(&fake);
    assert_no_key(&t, &[&r, &d]);

    // A wrong key: doctor says which variable and where to get one.
    let bad = Test::new()
        .config(&format!(
            "[journal]\nsummary_provider = \"gemini\"\nbase_url = \"{}\"\n",
            fake.url
        ))
        .env("GEMINI_API_KEY", "AIza-wrong-key-000");
    let d = bad.run("astra", &["doctor", "--json"]);
    let checks = d.json()["data"]["checks"].clone();
    let gem = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "journal summary (gemini)")
        .cloned()
        .unwrap();
    assert_eq!(gem["ok"], false, "{gem}");
    let detail = gem["detail"].as_str().unwrap();
    assert!(
        detail.contains("API key not valid") && detail.contains("GEMINI_API_KEY"),
        "{gem}"
    );
    assert!(!d.stdout().contains("AIza-wrong-key-000"));
}

#[test]
fn gemini_without_a_key_is_a_usage_error_naming_both_variables() {
    let t = Test::new()
        .config("[transcription]\nprovider = \"gemini\"\n")
        .audio("20260114 090000-GEMNOKEY.wav", &memo(1.0, 440));
    let r = t.voice_memo();
    r.code_is(2);
    let out = r.stdout() + &r.stderr();
    assert!(
        out.contains("GEMINI_API_KEY (nor GOOGLE_API_KEY) is not set"),
        "{out}"
    );
}
