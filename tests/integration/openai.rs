//! The `openai` transcription and organization providers against the fake OpenAI:
//! uploads, conversion, chunking with resume, schema repair, faults, and the key.
use crate::fake_openai::{Chat, FakeOpenAi, Faults, LIMIT, convert, tone_wav};
use crate::harness::{Run, Test, age};
use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-Zq9xSECRETkey0123456789";

fn transcription(url: &str, extra: &str) -> String {
    format!("[transcription]\nprovider = \"openai\"\nbase_url = \"{url}\"\n{extra}\n")
}

fn organization(url: &str) -> String {
    format!("[organization]\nprovider = \"openai\"\nbase_url = \"{url}\"\n")
}

/// No file under the test's folder, and no output of `runs`, holds `key`.
#[track_caller]
fn assert_no_key(t: &Test, runs: &[&Run], key: &str) {
    for rel in Test::tree(t.dir.path()) {
        let bytes = fs::read(t.dir.path().join(&rel)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(key), "the key is in {rel}");
    }
    for r in runs {
        assert!(!r.stdout().contains(key), "the key is in stdout");
        assert!(!r.stderr().contains(key), "the key is in stderr");
    }
}

fn items_with_status(t: &Test, status: &str) -> usize {
    t.items().values().filter(|i| i["status"] == status).count()
}

#[test]
fn openai_transcribes_a_memo_into_the_vault_and_the_key_never_leaks() {
    let fake = FakeOpenAi::start(Some(KEY));
    fake.hears(440, "remind me to call the dentist tomorrow");
    let name = "20260114 093000-AAAA1111.wav";
    // auto: no Apple transcript, no sidecar, no command; the key is set, so openai.
    let t = Test::new()
        .config(&format!("[transcription]\nbase_url = \"{}\"\n", fake.url))
        .env("OPENAI_API_KEY", KEY)
        .audio(
            name,
            &tone_wav(&[(None, 0.5), (Some(440), 3.0), (None, 0.5)]),
        );
    let r = t.run("voice-memo", &["--json", "-v"]);
    r.success();
    let todos = t.vault_file("Todos.md");
    assert!(todos.contains("Call the dentist 📅 2026-01-15"), "{todos}");
    let calls = fake.ok_calls("transcriptions");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].model, "whisper-1");
    assert_eq!(calls[0].file_name, "audio.wav");
    assert_eq!(calls[0].response_format, "json");
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    let item = t.item(name);
    assert_eq!(item["status"], "completed");
    assert!(
        (item["audio_seconds"].as_f64().unwrap() - 4.0).abs() < 0.01,
        "{item}"
    );
    assert!(item.get("tokens").is_none(), "rules use no tokens: {item}");
    let j = r.json();
    assert!(
        (j["stats"]["audio_seconds"].as_f64().unwrap() - 4.0).abs() < 0.1,
        "{j}"
    );
    assert_no_key(&t, &[&r], KEY);
}

#[test]
fn a_caf_recording_is_converted_and_a_local_server_gets_no_key() {
    let fake = FakeOpenAi::start(None);
    fake.hears(523, "note an app that turns receipts into a budget");
    let t = Test::new().config(&transcription(
        &fake.url,
        "model = \"gpt-4o-mini-transcribe\"\napi_key_env = \"\"",
    ));
    let wav = t.dir.path().join("src.wav");
    fs::write(&wav, tone_wav(&[(Some(523), 2.0), (None, 0.3)])).unwrap();
    let caf = t.inbox.join("20260114 120000-CAF00001.caf");
    convert(&wav, &caf, "pcm_s16le");
    age(&caf, 120);
    t.voice_memo().success();
    let calls = fake.ok_calls("transcriptions");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].file_name, "audio.m4a", "converted before upload");
    assert_eq!(calls[0].model, "gpt-4o-mini-transcribe");
    assert_eq!(calls[0].authorization, None);
    let notes = Test::tree(&t.vault.join("Notes"));
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = t.vault_file(&format!("Notes/{}", notes[0]));
    assert!(note.contains("receipts into a budget"), "{note}");
    let item = t.item("20260114 120000-CAF00001.caf");
    assert!(
        (item["audio_seconds"].as_f64().unwrap() - 2.3).abs() < 0.05,
        "{item}"
    );
}

#[test]
fn a_60_mib_recording_is_cut_at_silences_joined_in_order_and_resumed_after_a_failed_piece() {
    let fake = FakeOpenAi::start(Some(KEY));
    // 49 tones of 37 s, each followed by 3 s of near-silence, then a last tone: 1,966 s
    // of 16 kHz mono WAV, 60 MiB. Tone k is heard as the word wKK.
    let mut segments = Vec::new();
    for k in 0..50u32 {
        let hz = 300 + 20 * k;
        fake.hears(hz, &format!("w{:02}", k + 1));
        if k < 49 {
            segments.push((Some(hz), 37.0));
            segments.push((None, 3.0));
        } else {
            segments.push((Some(hz), 6.0));
        }
    }
    let expected: Vec<String> = (1..=50).map(|k| format!("w{k:02}")).collect();
    let name = "20260114 080000-BIG00001.wav";
    let t = Test::new()
        .config(&transcription(&fake.url, ""))
        .config(&organization(&fake.url))
        .env("OPENAI_API_KEY", KEY);
    let audio = tone_wav(&segments);
    assert!(audio.len() > 59 * 1024 * 1024, "{}", audio.len());
    t.add_audio(name, &audio);
    drop(audio);
    // The third piece fails (a 500 on every try) in the first run.
    fake.faults(Faults {
        fail_if_heard: Some("w45".into()),
        ..Faults::default()
    });
    t.voice_memo().code_is(1);
    let item = t.item(name);
    assert_eq!(item["status"], "retrying", "{item}");
    assert!(
        item["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{item}"
    );
    let first = fake.ok_calls("transcriptions");
    assert_eq!(first.len(), 2, "two pieces done: {first:?}");
    let heard: Vec<String> = first.iter().map(|c| c.answer.clone()).collect();
    assert_eq!(
        heard.join(" "),
        expected[..38].join(" "),
        "cut in silences, in order"
    );
    for c in &first {
        assert!(
            c.file_bytes <= LIMIT && c.file_bytes > LIMIT / 2,
            "{}",
            c.file_bytes
        );
        assert_eq!(c.file_name, "audio.wav");
    }
    // The rerun uploads only the piece that failed.
    fake.faults(Faults::default());
    fake.clear_calls();
    let r = t.run("voice-memo", &["--json", "--retry-now"]);
    r.success();
    let second = fake.ok_calls("transcriptions");
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].answer, expected[38..].join(" "));
    let notes = Test::tree(&t.vault.join("Notes"));
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = t.vault_file(&format!("Notes/{}", notes[0]));
    assert!(
        note.contains(&expected.join(" ")),
        "joined in order: {note}"
    );
    let item = t.item(name);
    assert_eq!(item["status"], "completed");
    assert!(
        (item["audio_seconds"].as_f64().unwrap() - 1966.0).abs() < 0.1,
        "{item}"
    );
    assert!(item["tokens"]["prompt"].as_u64().unwrap() > 0, "{item}");
    let j = r.json();
    assert!(
        j["stats"]["tokens"]["completion"].as_u64().unwrap() > 0,
        "{j}"
    );
    assert!(
        !t.home
            .join("cache/voice-memo")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "the pieces are removed once the memo is done"
    );
}

const VALID: &str = r#"{"title":"Receipts app","summary":"An idea.","discard":false,"todos":[],
    "notes":[{"title":"Receipts app","content":"An app that turns receipts into a budget.","category":"project idea","tags":["money"]}],
    "journal":[]}"#;

fn one_memo(fake: &FakeOpenAi) -> (Test, &'static str) {
    fake.hears(600, "an app that turns receipts into a budget");
    let name = "20260114 100000-ORG00001.wav";
    let t = Test::new()
        .config(&transcription(&fake.url, ""))
        .config(&organization(&fake.url))
        .env("OPENAI_API_KEY", KEY)
        .audio(name, &tone_wav(&[(Some(600), 1.5), (None, 0.2)]));
    (t, name)
}

#[test]
fn an_answer_that_violates_the_schema_is_repaired_once() {
    let fake = FakeOpenAi::start(Some(KEY));
    let invalid = VALID.replace("project idea", "recipes");
    fake.chat(Chat::Script(VecDeque::from([invalid, VALID.to_string()])));
    let (t, name) = one_memo(&fake);
    let r = t.voice_memo();
    r.success();
    let chats = fake.ok_calls("chat");
    assert_eq!(chats.len(), 2, "{chats:?}");
    let first = &chats[0].messages;
    assert_eq!(first[0]["role"], "system");
    assert!(
        first[1]["content"]
            .as_str()
            .unwrap()
            .contains("Recorded: Wednesday 2026-01-14 10:00")
    );
    assert!(
        first[1]["content"]
            .as_str()
            .unwrap()
            .ends_with("an app that turns receipts into a budget")
    );
    let repair = &chats[1].messages;
    assert_eq!(repair.len(), 4, "{repair:?}");
    assert_eq!(repair[2]["role"], "assistant");
    assert!(
        repair[3]["content"]
            .as_str()
            .unwrap()
            .contains("notes[0].category \"recipes\" is not one of"),
        "{repair:?}"
    );
    let notes = Test::tree(&t.vault.join("Notes"));
    let note = t.vault_file(&format!("Notes/{}", notes[0]));
    assert!(note.contains("category: \"project idea\""), "{note}");
    let item = t.item(name);
    let tokens = &item["tokens"];
    let expect: u64 = chats
        .iter()
        .map(|c| {
            (c.messages
                .iter()
                .map(|m| m["content"].as_str().unwrap().len())
                .sum::<usize>()
                / 4
                + 1) as u64
        })
        .sum();
    assert_eq!(
        tokens["prompt"].as_u64(),
        Some(expect),
        "both requests counted: {item}"
    );
    assert_eq!(r.json()["stats"]["tokens"], *tokens);
}

#[test]
fn an_answer_still_invalid_after_the_repair_fails_with_the_models_text() {
    let fake = FakeOpenAi::start(Some(KEY));
    fake.chat(Chat::Always(
        "Sure! Here is your organized memo: an app for receipts.".into(),
    ));
    let (t, name) = one_memo(&fake);
    let r = t.voice_memo();
    r.code_is(1);
    assert_eq!(fake.ok_calls("chat").len(), 2, "one repair, no more");
    let item = t.item(name);
    assert_eq!(item["status"], "failed", "{item}");
    let err = item["last_error"].as_str().unwrap();
    assert!(
        err.contains("does not match the organization schema"),
        "{err}"
    );
    assert!(
        err.contains("its answer: Sure! Here is your organized memo"),
        "{err}"
    );
    assert!(t.home.join("failed").join(name).exists());
}

#[test]
fn thirty_percent_faults_still_end_with_every_memo_done_exactly_once() {
    let fake = FakeOpenAi::start(Some(KEY));
    let t = Test::new()
        .config(&transcription(&fake.url, ""))
        .config(&organization(&fake.url))
        .env("OPENAI_API_KEY", KEY);
    for i in 0..8u32 {
        let hz = 400 + 40 * i;
        fake.hears(hz, &format!("todo call person{i}"));
        t.add_audio(
            &format!("20260114 1{i}0000-FLT0000{i}.wav"),
            &tone_wav(&[(Some(hz), 1.0), (None, 0.2)]),
        );
    }
    fake.faults(Faults {
        rate: 0.3,
        ..Faults::default()
    });
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(t.run("voice-memo", &["--json", "--retry-now", "-vv"]));
        if items_with_status(&t, "completed") == 8 {
            break;
        }
    }
    assert_eq!(items_with_status(&t, "completed"), 8, "{}", t.state());
    let faults = fake.calls().iter().filter(|c| c.status != 200).count();
    assert!(faults > 0, "faults were injected");
    let todos = t.vault_file("Todos.md");
    for i in 0..8 {
        let who = format!("person{i}");
        // Task lines only: the link under each task names its transcript note.
        let tasks: String = todos
            .lines()
            .filter(|l| l.starts_with("- [ ]"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            tasks.matches(&format!("call {who} ")).count()
                + tasks.matches(&format!("call {who}\n")).count(),
            1,
            "{todos}"
        );
        let heard = fake
            .ok_calls("transcriptions")
            .iter()
            .filter(|c| c.answer.ends_with(&who))
            .count();
        assert_eq!(heard, 1, "{who} transcribed once");
        let organized = fake
            .ok_calls("chat")
            .iter()
            .filter(|c| c.messages[1]["content"].as_str().unwrap().ends_with(&who))
            .count();
        assert_eq!(organized, 1, "{who} organized once");
    }
    let refs: Vec<&Run> = runs.iter().collect();
    assert_no_key(&t, &refs, KEY);
}

#[test]
fn a_refused_key_is_reported_without_the_key_and_retried_later() {
    let fake = FakeOpenAi::start(Some(KEY));
    fake.hears(440, "hello there friend");
    let wrong = "sk-wrong-Abc123SECRET456789";
    let name = "20260114 110000-KEY00001.wav";
    let t = Test::new()
        .config(&transcription(&fake.url, ""))
        .env("OPENAI_API_KEY", wrong)
        .audio(name, &tone_wav(&[(Some(440), 1.0)]));
    let r = t.voice_memo();
    r.code_is(1);
    let item = t.item(name);
    assert_eq!(
        item["status"], "retrying",
        "fixing the key lets it go on: {item}"
    );
    let err = item["last_error"].as_str().unwrap();
    assert!(
        err.contains("HTTP 401") && err.contains("Incorrect API key provided"),
        "{err}"
    );
    assert!(err.contains("check the API key in OPENAI_API_KEY"), "{err}");
    assert_eq!(fake.calls().len(), 1, "a 401 is not retried within the run");
    assert_no_key(&t, &[&r], wrong);
}

#[test]
fn a_server_echoing_the_key_in_an_error_does_not_leak_it() {
    let fake = FakeOpenAi::start(Some(KEY));
    let name = "20260114 111500-ECHO0001.wav";
    let t = Test::new()
        .config(&transcription(&fake.url, ""))
        .env("OPENAI_API_KEY", KEY)
        .audio(name, &tone_wav(&[(Some(440), 1.0)]));
    fake.faults(Faults {
        rate: 1.0,
        only_500: true,
        ..Faults::default()
    });
    let r = t.run("voice-memo", &["--json", "-vv"]);
    r.code_is(1);
    assert_eq!(fake.calls().len(), 4, "4 tries in all");
    let err = t.item(name)["last_error"].as_str().unwrap().to_string();
    assert!(
        err.contains("HTTP 500") && err.contains("Authorization: Bearer ***"),
        "{err}"
    );
    assert_no_key(&t, &[&r], KEY);
}

#[test]
fn openai_without_a_key_is_a_configuration_error_naming_the_variable() {
    let t = Test::new()
        .config("[organization]\nprovider = \"openai\"\napi_key_env = \"MY_OPENAI_KEY\"\n")
        .memo("20260114 110000-NOKEY001.wav", "remind me to call mom");
    let r = t.voice_memo();
    r.code_is(2);
    assert!(
        r.stderr().contains("MY_OPENAI_KEY is not set"),
        "{}",
        r.stderr()
    );
}

/// Memos a minute through transcription and organization with 300 ms of latency on
/// every request, at `concurrency` 1 and 4. Run with `--ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn throughput_with_300_ms_latency() {
    for concurrency in [1, 4] {
        let fake = FakeOpenAi::start(Some(KEY));
        fake.faults(Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        });
        let t = Test::new()
            .vm(&format!("concurrency = {concurrency}"))
            .config(&transcription(&fake.url, ""))
            .config(&organization(&fake.url))
            .env("OPENAI_API_KEY", KEY);
        let n = 16u32;
        for i in 0..n {
            let hz = 300 + 30 * i;
            fake.hears(hz, &format!("todo call person{i}"));
            t.add_audio(&format!("m{i:02}.wav"), &tone_wav(&[(Some(hz), 5.0)]));
        }
        let started = Instant::now();
        t.voice_memo().success();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "concurrency {concurrency}: {n} memos in {secs:.1} s = {:.0} memos/minute",
            n as f64 * 60.0 / secs
        );
        assert!(Path::new(&t.vault.join("Todos.md")).exists());
    }
}
