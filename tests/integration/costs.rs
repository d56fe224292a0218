//! The model APIs at their limits and what a run costs: an account out of quota stops
//! the run's calls and leaves the memos waiting; every request's tokens are counted,
//! a failed repair's too; `cost_usd` follows the price table; `astra jobs history`
//! totals it by day and month.
use crate::fake_openai::{Chat, FakeOpenAi, Faults, tone_wav};
use crate::harness::Test;
use serde_json::Value;

const KEY: &str = "sk-test-Zq9xSECRETkey0123456789";

fn openai(url: &str) -> String {
    format!(
        "[transcription]\nprovider = \"openai\"\nbase_url = \"{url}\"\n\n[organization]\nprovider = \"openai\"\nbase_url = \"{url}\"\n"
    )
}

/// The prompt tokens the fake counts for a chat call (a quarter of its characters).
fn prompt_tokens(messages: &[Value]) -> u64 {
    (messages
        .iter()
        .map(|m| m["content"].as_str().unwrap_or("").len())
        .sum::<usize>()
        / 4
        + 1) as u64
}

#[test]
fn openai_out_of_quota_stops_the_runs_calls_after_the_first_and_the_memos_wait() {
    let fake = FakeOpenAi::start(Some(KEY));
    fake.faults(Faults {
        out_of_quota: true,
        ..Faults::default()
    });
    let t = Test::new()
        .config(&openai(&fake.url))
        .env("OPENAI_API_KEY", KEY);
    let names: Vec<String> = (0..4)
        .map(|i| format!("20260114 10{i:02}00-Q{i}.wav"))
        .collect();
    for (i, n) in names.iter().enumerate() {
        let hz = 500 + 50 * i as u32;
        fake.hears(hz, &format!("remind me to call person{i}"));
        t.add_audio(n, &tone_wav(&[(Some(hz), 1.0), (None, 0.2)]));
    }
    let r = t.voice_memo();
    r.code_is(1);
    assert_eq!(
        fake.calls().len(),
        1,
        "one refused call, then none: {:?}",
        fake.calls()
    );
    for n in &names {
        let item = t.item(n);
        assert_eq!(item["status"], "retrying", "{n}: {item}");
        assert_eq!(item["attempts"], 0, "waiting spends no attempt: {item}");
        let err = item["last_error"].as_str().unwrap();
        assert!(err.contains("check billing"), "{err}");
    }
    assert!(r.stdout().contains("check billing"), "{}", r.stdout());
    // More runs: each makes one call at most, and no memo is dead-lettered.
    for _ in 0..3 {
        t.run("voice-memo", &["--json", "--retry-now"]).code_is(1);
    }
    assert_eq!(fake.calls().len(), 4);
    assert!(!t.home.join("failed").exists() || Test::tree(&t.home.join("failed")).is_empty());
    // Credit added: the next run does them all, on their first attempt.
    fake.faults(Faults::default());
    t.run("voice-memo", &["--json", "--retry-now"]).success();
    for n in &names {
        let item = t.item(n);
        assert_eq!(item["status"], "completed", "{item}");
        assert_eq!(item["attempts"], 1, "{item}");
    }
}

#[test]
fn openai_a_failed_repairs_tokens_are_in_the_stats_and_cost_usd_follows_the_table() {
    let fake = FakeOpenAi::start(Some(KEY));
    fake.chat(Chat::Always("Sure! Here is your memo.".into()));
    fake.hears(600, "an app that turns receipts into a budget");
    let name = "20260114 100000-ORG00001.wav";
    // Prices chosen to make every part visible.
    let t = Test::new()
        .config(&openai(&fake.url))
        .config("[costs]\n\"whisper-1\" = { per_audio_minute = 0.6 }\n\"gpt-4o-mini\" = { per_million_input = 1000, per_million_output = 2000 }\n")
        .env("OPENAI_API_KEY", KEY)
        .audio(name, &tone_wav(&[(Some(600), 2.8), (None, 0.2)]));
    let r = t.voice_memo();
    r.code_is(1);
    let chats = fake.ok_calls("chat");
    assert_eq!(chats.len(), 2, "the request and its repair");
    let prompt: u64 = chats.iter().map(|c| prompt_tokens(&c.messages)).sum();
    let completion: u64 = chats.iter().map(|c| (c.answer.len() / 4 + 1) as u64).sum();
    let stats = &r.json()["stats"];
    assert_eq!(stats["tokens"]["prompt"], prompt, "{stats}");
    assert_eq!(stats["tokens"]["completion"], completion, "{stats}");
    let chat = &stats["models"]["gpt-4o-mini"];
    assert_eq!(chat["requests"], 2, "{stats}");
    let audio = stats["models"]["whisper-1"]["audio_seconds"]
        .as_f64()
        .unwrap();
    assert!((audio - 3.0).abs() < 0.01, "{stats}");
    let want = audio / 60.0 * 0.6 + prompt as f64 * 1000.0 / 1e6 + completion as f64 * 2000.0 / 1e6;
    let got = stats["cost_usd"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}: {stats}");
    // The history line carries it, and the history view totals it.
    let h = t.run("astra", &["jobs", "history", "--json"]);
    let data = h.json();
    let data = data.get("data").unwrap_or(&data);
    let total = data["cost_usd"]["total"].as_f64().unwrap();
    assert!((total - got).abs() < 1e-6, "{data}");
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!((data["cost_usd"]["days"][&day].as_f64().unwrap() - got).abs() < 1e-6);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert!((data["cost_usd"]["months"][&month].as_f64().unwrap() - got).abs() < 1e-6);
    let text = t.run("astra", &["jobs", "history"]);
    assert!(
        text.stdout().contains(&format!("cost by month: {month} $")),
        "{}",
        text.stdout()
    );
}

#[test]
fn local_providers_cost_nothing() {
    let t = Test::new().memo("20260114 100000-L1.wav", "Remind me to water the plants.");
    let r = t.voice_memo();
    r.success();
    let stats = &r.json()["stats"];
    assert_eq!(stats["cost_usd"].to_string(), "0.0", "{stats}");
    assert!(stats.get("models").is_none(), "{stats}");
}
