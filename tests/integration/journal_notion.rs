//! The journal job with Notion and with the `openai` summarizer: the summary on top of
//! the day page once, properties set, reruns that write nothing, late entries, repairs, 5xx.
use crate::fake_notion::{FakeNotion, TOKEN};
use crate::fake_openai::{Chat, FakeOpenAi, Faults};
use crate::harness::Test;
use crate::notion::databases;
use chrono::{Days, NaiveDate, Utc};
use serde_json::Value;
use std::collections::VecDeque;
use std::fs;

const NO_WEEKLY: &str = "[journal]\nweekly_review_day = \"\"\n";

fn yesterday() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        - Days::new(1)
}

/// A memo name recorded yesterday at `hhmmss`.
fn memo_name(hhmmss: &str, tag: &str) -> String {
    format!("{} {hhmmss}-{tag}.wav", yesterday().format("%Y%m%d"))
}

/// The fake with the three databases; the test's config and the Journal database id.
fn notion(journal: &str) -> (FakeNotion, Test, String) {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    let journal_db = fake.databases_under(&parent)[2].1.clone();
    let t = Test::new()
        .config(&fake.config(&keys))
        .config(journal)
        .env("NOTION_TOKEN", TOKEN);
    (fake, t, journal_db)
}

/// Yesterday's page in the Journal database.
fn day_page(fake: &FakeNotion, db: &str) -> Value {
    let day = yesterday().to_string();
    fake.pages_in(db)
        .into_iter()
        .find(|p| p["properties"]["date"]["date"]["start"].as_str() == Some(day.as_str()))
        .expect("yesterday's page")
}

fn id(page: &Value) -> String {
    page["id"].as_str().unwrap().to_string()
}

/// The page's top-level block types and texts.
fn layout(fake: &FakeNotion, page: &str) -> Vec<(String, String)> {
    let kinds = fake.children(page);
    kinds
        .iter()
        .zip(fake.texts(page))
        .map(|(b, t)| (b["type"].as_str().unwrap_or("").to_string(), t))
        .collect()
}

fn callouts(l: &[(String, String)]) -> usize {
    l.iter().filter(|(k, _)| k == "callout").count()
}

#[test]
fn journal_notion_summary_on_top_once_then_idempotent_then_replaced() {
    let (fake, t, db) = notion(NO_WEEKLY);
    t.add_memo(
        &memo_name("080500", "JA1"),
        "Journal. This morning I went for a long run by the river and felt strong and happy.",
    );
    t.add_memo(
        &memo_name("135400", "JB2"),
        "Journal. Lunch with Sam was great, we talked about the move to Lisbon and the new flat.",
    );
    t.voice_memo().success();
    let page = id(&day_page(&fake, &db));
    let before = layout(&fake, &page);
    assert_eq!(before[0].0, "heading_3", "{before:?}");

    fake.clear_requests();
    let r = t.run("journal", &["--json", "--dry-run"]);
    r.success();
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Would write {}", yesterday())),
        "{}",
        r.stdout()
    );
    assert_eq!(
        fake.writes(),
        Vec::<(String, String)>::new(),
        "a dry run reads only"
    );

    let r = t.run("journal", &["--json"]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1, "{}", r.stdout());
    let after = layout(&fake, &page);
    assert_eq!(after[0].0, "callout", "the summary is on top: {after:?}");
    assert!(after[0].1.starts_with("Summary\n"), "{after:?}");
    assert_eq!(callouts(&after), 1);
    assert_eq!(
        after[1..],
        before[..],
        "the entries below, unchanged, in order"
    );
    let callout = fake.children(&page)[0].clone();
    assert_eq!(callout["has_children"], true);
    let inside = fake.texts(callout["id"].as_str().unwrap());
    assert!(inside.last().unwrap().contains("xtractive"), "{inside:?}");
    let props = &day_page(&fake, &db)["properties"];
    assert_eq!(props["processed"]["checkbox"], true, "{props:#}");
    assert!(props["mood"]["select"]["name"].is_string(), "{props:#}");
    assert!(
        !props["themes"]["multi_select"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{props:#}"
    );

    // A rerun with no new entry reads, and writes nothing.
    fake.clear_requests();
    let r = t.run("journal", &["--json"]);
    r.success();
    assert_eq!(r.json()["message"], "Nothing to do", "{}", r.stdout());
    assert_eq!(fake.writes(), Vec::<(String, String)>::new());
    assert!(
        !fake.requests().iter().any(|(_, p)| p.contains("/children")),
        "an unchanged summarised page is not even read: {:?}",
        fake.requests()
    );
    assert_eq!(layout(&fake, &page), after);

    // An entry added by hand a few minutes later, `processed` left ticked: its
    // `last_edited_time` sends the job to read the page, and the fingerprint differs.
    fake.advance_clock(3);
    fake.append_blocks(
        &page,
        serde_json::json!([
            {"type": "heading_3", "heading_3": {"rich_text": [{"type": "text", "text": {"content": "6:00 PM"}}]}},
            {"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": "Read a chapter about lighthouses."}}]}},
        ]),
    );
    let r = t.run("journal", &["--json"]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1, "{}", r.stdout());
    let after = layout(&fake, &page);
    assert_eq!(callouts(&after), 1, "{after:?}");
    assert_eq!(after[0].0, "callout", "{after:?}");
    let callout = fake.children(&page)[0].clone();

    // A late entry from voice-memo reopens the day; the summary is replaced, on top.
    t.add_memo(
        &memo_name("213000", "JC3"),
        "Journal. Tonight I felt calm and grateful, and I realized I should call my sister more often.",
    );
    t.voice_memo().success();
    assert_eq!(
        day_page(&fake, &db)["properties"]["processed"]["checkbox"],
        false
    );
    fake.clear_requests();
    let r = t.run("journal", &["--json"]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1, "{}", r.stdout());
    let last = layout(&fake, &page);
    assert_eq!(last[0].0, "callout", "{last:?}");
    assert_eq!(callouts(&last), 1, "replaced, not duplicated: {last:?}");
    let new_callout = fake.children(&page)[0].clone();
    assert_ne!(new_callout["id"], callout["id"], "a new summary block");
    let inside = fake.texts(new_callout["id"].as_str().unwrap());
    assert!(
        inside.iter().any(|t| t.contains("call my sister")),
        "the late entry's insight: {inside:?}"
    );
    assert!(
        last.iter().any(|(_, t)| t.starts_with("9:30 PM · ")),
        "{last:?}"
    );
    assert!(
        fake.writes()
            .iter()
            .any(|(m, p)| m == "DELETE" && p.starts_with("/v1/blocks/")),
        "the old summary is deleted: {:?}",
        fake.writes()
    );
    assert_eq!(
        day_page(&fake, &db)["properties"]["processed"]["checkbox"],
        true
    );
}

fn openai_config(fake: &FakeOpenAi) -> String {
    format!(
        "[journal]\nweekly_review_day = \"\"\nsummary_provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n",
        fake.url
    )
}

/// Yesterday as voice-memo writes it in the vault.
fn markdown_day(t: &Test, entries: &[(&str, &str)]) -> String {
    let date = yesterday();
    let mut s = format!(
        "---\ndate: {date}\nprocessed: false\n---\n\n# {}\n",
        date.format("%B %-d, %Y")
    );
    for (i, (time, text)) in entries.iter().enumerate() {
        s.push_str(&format!(
            "\n### {time}\n<!-- astra:{i:012}:j0 -->\n\n{text}\n"
        ));
    }
    fs::create_dir_all(t.vault.join("Journal")).unwrap();
    let rel = format!("Journal/{date}.md");
    fs::write(t.vault.join(&rel), &s).unwrap();
    rel
}

#[test]
fn journal_openai_summary_lands_in_markdown_and_in_notion() {
    let llm = FakeOpenAi::start(None);
    let t = Test::new().config(&openai_config(&llm));
    let rel = markdown_day(
        &t,
        &[
            ("8:05 AM", "Went for a run before work. It was cold."),
            ("1:54 PM", "Lunch with Sam."),
        ],
    );
    let r = t.run("journal", &["--json"]);
    r.success();
    let j = r.json();
    assert!(j["stats"]["tokens"]["prompt"].as_u64().unwrap() > 0, "{j}");
    let text = t.vault_file(&rel);
    assert!(
        text.contains("## Summary\n\nFake summary: Went for a run before work.\n"),
        "{text}"
    );
    assert!(text.contains("\nmood: good\n"), "{text}");
    assert!(text.contains("- A fake insight.\n"), "{text}");
    assert!(text.contains("test-model"), "the attribution: {text}");
    let sent = &llm.ok_calls("chat")[0].messages[1]["content"];
    let sent = sent.as_str().unwrap();
    assert!(
        sent.contains("### 8:05 AM\nWent for a run before work. It was cold.\n"),
        "verbatim with times: {sent}"
    );

    let (fake, t, db) = notion(&openai_config(&llm));
    t.add_memo(
        &memo_name("080500", "OA1"),
        "Journal. I walked to the market and bought oranges.",
    );
    t.voice_memo().success();
    t.run("journal", &["--json"]).success();
    let page = id(&day_page(&fake, &db));
    let l = layout(&fake, &page);
    assert!(l[0].1.starts_with("Summary\nFake summary: "), "{l:?}");
    let props = &day_page(&fake, &db)["properties"];
    assert_eq!(props["mood"]["select"]["name"], "good");
    assert_eq!(props["themes"]["multi_select"][0]["name"], "1 entries");
}

#[test]
fn journal_openai_a_schema_violation_is_repaired_once_then_fails_with_the_answer() {
    let llm = FakeOpenAi::start(None);
    let bad = r#"{"summary":"Sunny.","mood":"sunny","themes":[],"insights":[]}"#.to_string();
    let good = r#"{"summary":"A repaired day.","mood":"okay","themes":["repair"],"insights":[]}"#;
    llm.chat(Chat::Script(VecDeque::from([bad.clone(), good.into()])));
    let t = Test::new().config(&openai_config(&llm));
    let rel = markdown_day(&t, &[("9:00 AM", "Fixed the bike.")]);
    t.run("journal", &["--json"]).success();
    let calls = llm.ok_calls("chat");
    assert_eq!(calls.len(), 2);
    let repair = calls[1].messages.last().unwrap()["content"]
        .as_str()
        .unwrap();
    assert!(
        repair.contains("`mood` \"sunny\" is not one of"),
        "{repair}"
    );
    assert!(t.vault_file(&rel).contains("\nA repaired day.\n"));

    // Still wrong after the repair: the day fails with the model's text, untouched.
    llm.chat(Chat::Always(bad));
    let t = Test::new().config(&openai_config(&llm));
    let rel = markdown_day(&t, &[("9:00 AM", "Fixed the bike.")]);
    let before = t.vault_file(&rel);
    let r = t.run("journal", &["--json"]);
    r.code_is(1);
    let item = &r.json()["items"][0];
    assert_eq!(item["status"], "failed", "{item}");
    let e = item["error"].as_str().unwrap();
    assert!(e.contains("even after one repair request"), "{e}");
    assert!(e.contains("\"mood\":\"sunny\""), "{e}");
    assert_eq!(t.vault_file(&rel), before);
}

#[test]
fn journal_openai_a_5xx_leaves_the_day_for_the_next_run() {
    let llm = FakeOpenAi::start(None);
    llm.faults(Faults {
        rate: 1.0,
        only_500: true,
        ..Faults::default()
    });
    let t = Test::new().config(&openai_config(&llm));
    let rel = markdown_day(&t, &[("9:00 AM", "Planted the tulips.")]);
    let before = t.vault_file(&rel);
    let r = t.run("journal", &["--json"]);
    r.code_is(1);
    let item = &r.json()["items"][0];
    assert_eq!(item["status"], "retrying", "{item}");
    assert!(
        item["error"]
            .as_str()
            .unwrap()
            .ends_with("left for the next run"),
        "{item}"
    );
    assert_eq!(t.vault_file(&rel), before, "nothing written");
    llm.faults(Faults::default());
    let r = t.run("journal", &["--json"]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1);
    assert!(
        t.vault_file(&rel)
            .contains("Fake summary: Planted the tulips.")
    );
}

#[test]
fn journal_notion_weekly_review_is_a_dateless_week_page_written_once() {
    use chrono::Datelike;
    let today = yesterday() + Days::new(1);
    let weekday = format!("{:?}", today.weekday()).to_lowercase();
    let (fake, t, db) = notion(&format!("[journal]\nweekly_review_day = \"{weekday}\"\n"));
    t.add_memo(
        &memo_name("080500", "WA1"),
        "Journal. I spent the morning in the garden planting tulips and felt calm.",
    );
    t.add_memo(
        &memo_name("090000", "WB2"),
        "Remind me to renew the passport.",
    );
    t.voice_memo().success();
    let r = t.run("journal", &["--json"]);
    r.success();
    let mid = (today - Days::new(3)).iso_week();
    let title = format!("Week {}-W{:02}", mid.year(), mid.week());
    assert!(
        r.json()["message"].as_str().unwrap().contains(&title[5..]),
        "{}",
        r.stdout()
    );
    let weeks: Vec<Value> = fake
        .pages_in(&db)
        .into_iter()
        .filter(|p| crate::fake_notion::prop_text(p, "title") == title)
        .collect();
    assert_eq!(weeks.len(), 1, "{weeks:#?}");
    assert!(
        weeks[0]["properties"]["date"].is_null(),
        "no date: not a day"
    );
    let week = id(&weeks[0]);
    let top = fake.children(&week);
    assert_eq!(top.len(), 1);
    let inside = fake.texts(top[0]["id"].as_str().unwrap());
    assert!(
        inside.iter().any(|t| t.contains("tulips")),
        "the day's line: {inside:?}"
    );
    assert!(
        inside.iter().any(|t| t.contains("passport")),
        "the open TODO: {inside:?}"
    );
    // The day page is still the only dated page, and a rerun writes nothing.
    fake.clear_requests();
    t.run("journal", &["--json"]).success();
    assert_eq!(fake.writes(), Vec::<(String, String)>::new());

    // Today's first entry changes the week: the review is replaced, not repeated.
    t.add_memo(
        &format!("{} 070000-WC3.wav", today.format("%Y%m%d")),
        "Journal. Early swim in the cold lake this morning, I loved it.",
    );
    t.voice_memo().success();
    t.run("journal", &["--json"]).success();
    let top = fake.children(&week);
    assert_eq!(top.len(), 1, "{top:#?}");
    let inside = fake.texts(top[0]["id"].as_str().unwrap());
    assert!(inside.iter().any(|t| t.contains("lake")), "{inside:?}");
}
