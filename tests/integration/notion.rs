//! The `notion` target and `astra notion setup` against the fake Notion: long text,
//! faults, crashes, setup, and the messages a user sees when access is wrong.
use crate::fake_notion::{FakeNotion, TOKEN, plain, prop_text};
use crate::harness::{Run, Test};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) const MEMOS: [(&str, &str); 3] = [
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

/// Three more: another day, a second entry on the first day, two todos.
pub(crate) const MORE: [(&str, &str); 3] = [
    (
        "20260115 071500-E5.wav",
        "Journal. Today I ran along the river and felt strong.",
    ),
    (
        "20260114 181500-F6.wav",
        "Journal. Today I feel tired but happy about the garden.",
    ),
    (
        "20260115 080000-G7.wav",
        "Remind me to buy milk tomorrow and email the landlord by Friday.",
    ),
];

/// The contract's three databases, made in the fake; returns the config keys.
pub(crate) fn databases(fake: &FakeNotion, parent: &str) -> String {
    let t = || json!({"title": {}});
    let rt = || json!({"rich_text": {}});
    let date = || json!({"date": {}});
    let check = || json!({"checkbox": {}});
    let todos = fake.add_database(
        parent,
        "TODOs",
        &[
            ("title", t()),
            ("description", rt()),
            ("priority", json!({"select": {"options": [{"name": "asap"}, {"name": "soon"}, {"name": "eventually"}]}})),
            ("done", check()),
            ("created_date", date()),
            ("due", date()),
            ("source", rt()),
        ],
    );
    let notes = fake.add_database(
        parent,
        "Notes",
        &[
            ("title", t()),
            ("content", rt()),
            (
                "category",
                json!({"select": {"options": [{"name": "research item"}, {"name": "general"}]}}),
            ),
            ("tags", json!({"multi_select": {}})),
            ("created_date", date()),
            ("source", rt()),
        ],
    );
    let journal = fake.add_database(
        parent,
        "Journal",
        &[
            ("title", t()),
            ("date", date()),
            ("processed", check()),
            ("mood", json!({"select": {}})),
            ("themes", json!({"multi_select": {}})),
        ],
    );
    format!(
        "todos_database_id = \"{todos}\"\nnotes_database_id = \"{notes}\"\njournal_database_id = \"{journal}\"\n"
    )
}

/// A test with the fake, a shared parent page and the token.
pub(crate) fn notion_test(fake: &FakeNotion, keys: &str) -> Test {
    Test::new()
        .config(&fake.config(keys))
        .env("NOTION_TOKEN", TOKEN)
}

/// Lowercase words, punctuation dropped: text compared across re-paragraphing.
fn words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// No file under ASTRA_HOME and no output carries the token.
fn assert_no_token(t: &Test, runs: &[&Run], token: &str) {
    for (path, bytes) in Test::snapshot(&t.home) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(token),
            "the token is in {path}"
        );
    }
    for r in runs {
        assert!(!r.stdout().contains(token), "token in stdout");
        assert!(!r.stderr().contains(token), "token in stderr");
    }
}

/// Every memo completed, and each of its outputs exists exactly once in Notion.
pub(crate) fn assert_synced_once(t: &Test, fake: &FakeNotion, memos: &[(&str, &str)]) {
    for (name, _) in memos {
        let item = t.item(name);
        assert_eq!(item["status"], "completed", "{name}: {item}");
        let id = item["id"].as_str().unwrap();
        let outputs = &item["outputs"];
        let listed = |k: &str| outputs[k].as_array().unwrap().len();
        let pages = fake.pages_with_source(name);
        assert_eq!(
            pages.len(),
            listed("todos") + listed("notes"),
            "{name}: pages {pages:#?}\noutputs {outputs}"
        );
        let mut titles: Vec<String> = pages.iter().map(|p| prop_text(p, "title")).collect();
        let n = titles.len();
        titles.dedup();
        assert_eq!(titles.len(), n, "{name}: a page twice: {titles:?}");
        for o in outputs["journal"].as_array().unwrap() {
            let page = o.as_str().unwrap().split('#').next().unwrap();
            let headings = fake
                .texts(page)
                .into_iter()
                .filter(|t| t.ends_with(&format!("· {id}")))
                .count();
            assert_eq!(headings, 1, "{name}: journal entry {id} on {page}");
        }
    }
}

#[test]
fn notion_a_5000_character_transcript_lands_complete() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let sentence = |i: usize| {
        format!(
            "Sentence {i} walks past the garden and the quiet river near the old stone bridge. "
        )
    };
    let long: String = (0..64).map(sentence).collect();
    assert!(long.chars().count() > 5000);
    let t = notion_test(&fake, &format!("parent_page_id = \"{parent}\"\n"))
        .memo("20260111 093000-J1.wav", &format!("Journal. {long}"))
        .memo("20260111 100000-N1.wav", &format!("Note: {long}"));
    let run = t.voice_memo();
    run.success();
    // The first run made the databases under the parent page.
    let dbs = fake.databases_under(&parent);
    let titles: Vec<&str> = dbs.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["TODOs", "Notes", "Journal"]);
    let config = std::fs::read_to_string(t.home.join("config.toml")).unwrap();
    for (_, id) in &dbs {
        assert!(config.contains(id.as_str()), "{config}");
    }

    let journal = t.item("20260111 093000-J1.wav");
    let out = journal["outputs"]["journal"][0].as_str().unwrap();
    let (page, marker) = out.split_once('#').unwrap();
    assert_eq!(marker, journal["id"]);
    let blocks = fake.children(page);
    assert_eq!(blocks[0]["type"], "heading_3");
    assert_eq!(
        plain(&blocks[0]["heading_3"]["rich_text"]),
        format!("9:30 AM · {marker}")
    );
    let body: String = blocks[1..]
        .iter()
        .map(|b| plain(&b["paragraph"]["rich_text"]) + " ")
        .collect();
    assert!(blocks.len() > 2, "several paragraphs");
    assert_eq!(words(&body), words(&long));
    let day = fake
        .pages_in(&dbs[2].1)
        .into_iter()
        .find(|p| p["id"] == page)
        .unwrap();
    assert_eq!(prop_text(&day, "title"), "January 11, 2026");
    assert_eq!(day["properties"]["date"]["date"]["start"], "2026-01-11");

    let note_id = t.item("20260111 100000-N1.wav")["outputs"]["notes"][0]
        .as_str()
        .unwrap()
        .to_string();
    let note = fake
        .pages_in(&dbs[1].1)
        .into_iter()
        .find(|p| p["id"] == note_id)
        .unwrap();
    let pieces = note["properties"]["content"]["rich_text"]
        .as_array()
        .unwrap();
    assert!(pieces.len() >= 3, "split into 2,000-character pieces");
    assert_eq!(words(&prop_text(&note, "content")), words(&long));
    assert_eq!(prop_text(&note, "source"), "20260111 100000-N1.wav");
    let blocks = fake.children(&note_id);
    let page_text: String = blocks
        .iter()
        .filter(|b| b["type"] == "paragraph")
        .map(|b| plain(&b["paragraph"]["rich_text"]) + " ")
        .collect();
    assert_eq!(words(&page_text), words(&long));
    // The memo's transcript is in the page too, in a toggle at the end.
    let toggle = blocks.last().unwrap();
    assert_eq!(toggle["type"], "toggle");
    assert_eq!(plain(&toggle["toggle"]["rich_text"]), "Transcript");
    let heard: String = fake.texts(toggle["id"].as_str().unwrap()).join(" ");
    assert_eq!(words(&heard), words(&format!("Note: {long}")));
    assert_no_token(&t, &[&run], TOKEN);
}

#[test]
fn notion_30_percent_faults_still_sync_every_memo_exactly_once() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    let all: Vec<(&str, &str)> = MEMOS.iter().chain(MORE.iter()).copied().collect();
    let t = all
        .iter()
        .fold(notion_test(&fake, &keys), |t, (n, s)| t.memo(n, s));
    fake.set_faults(0.3);
    let mut runs = Vec::new();
    for _ in 0..3 {
        let run = t.run("voice-memo", &["--json", "--retry-now"]);
        let done = run.json()["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i["status"] == "completed"));
        runs.push(run);
        if done && all.iter().all(|(n, _)| t.item(n)["status"] == "completed") {
            break;
        }
    }
    fake.set_faults(0.0);
    let stats = fake.stats();
    assert!(stats.faults > 0, "{stats:?}");
    println!("{} runs: {stats:?}", runs.len());
    assert_synced_once(&t, &fake, &all);
    let day = t.item(MORE[1].0)["outputs"]["journal"][0]
        .as_str()
        .unwrap()
        .to_string();
    let first = t.item(MEMOS[2].0)["outputs"]["journal"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        day.split('#').next(),
        first.split('#').next(),
        "one page a day"
    );
    let refs: Vec<&Run> = runs.iter().collect();
    assert_no_token(&t, &refs, TOKEN);
}

#[test]
fn notion_a_crash_after_each_page_is_created_then_a_rerun_creates_no_duplicate() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    let t = MEMOS
        .iter()
        .fold(notion_test(&fake, &keys), |t, (n, s)| t.memo(n, s));
    let crashes = crash_after_each_page(&t, 12);
    assert!(crashes >= 3, "a crash at each page ({crashes})");
    t.run("voice-memo", &["--json", "--retry-now"]).success();
    assert_synced_once(&t, &fake, &MEMOS);
    assert!(fake.stats().created_pages >= 3);
}

/// Runs `voice-memo` (at most `tries` times) dying right after each Notion page it
/// creates, until a run gets through; returns how many runs died.
pub(crate) fn crash_after_each_page(t: &Test, tries: usize) -> usize {
    let mut crashes = 0;
    for _ in 0..tries {
        let out = t
            .command("voice-memo")
            .env("ASTRA_TEST_CRASH_AT", "notion-page-created")
            .args(["--json", "--retry-now"])
            .output()
            .unwrap();
        if out.status.code().is_some() {
            break;
        }
        crashes += 1;
    }
    crashes
}

/// `astra notion setup` with a config file of our own (its comments must survive).
fn setup(t: &Test, config: &std::path::Path, token: &str) -> Run {
    let out = t
        .command("astra")
        .env("NOTION_TOKEN", token)
        .args([
            "--config",
            config.to_str().unwrap(),
            "notion",
            "setup",
            "--json",
        ])
        .output()
        .unwrap();
    Run { output: out }
}

#[test]
fn notion_setup_creates_the_databases_under_an_empty_parent_once() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let t = Test::new();
    let config = t.dir.path().join("astra.toml");
    let text = format!(
        "# my astra\n[sync]\ntarget = \"notion\"   # to Notion\n\n[sync.notion]\nbase_url = \"{}\"\nparent_page_id = \"https://www.notion.so/me/Astra-{}?pvs=4\"  # the page\ntodos_database_id = \"\"   # set by setup\n",
        fake.url,
        parent.replace('-', "")
    );
    std::fs::write(&config, &text).unwrap();
    let first = setup(&t, &config, TOKEN);
    first.success();
    let actions: Vec<Value> = first.json()["data"]["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["action"].clone())
        .collect();
    assert_eq!(actions, ["created", "created", "created"]);
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.starts_with("# my astra\n[sync]\ntarget = \"notion\"   # to Notion\n"),
        "{written}"
    );
    assert!(written.contains("  # the page\n"), "{written}");
    let dbs = fake.databases_under(&parent);
    assert_eq!(dbs.len(), 3);
    assert!(
        written.contains(&format!(
            "todos_database_id = \"{}\"   # set by setup\n",
            dbs[0].1
        )),
        "{written}"
    );
    assert!(written.contains(&format!("journal_database_id = \"{}\"", dbs[2].1)));
    let names: Vec<String> = fake
        .properties(&dbs[0].1)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "created_date",
            "description",
            "done",
            "due",
            "priority",
            "source",
            "title"
        ]
    );

    let second = setup(&t, &config, TOKEN);
    second.success();
    let data = &second.json()["data"];
    assert!(
        data["databases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] == "unchanged"),
        "{data}"
    );
    assert_eq!(data["config_changed"], false);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written);
    assert_eq!(fake.databases_under(&parent).len(), 3);
    let human = t
        .command("astra")
        .env("NOTION_TOKEN", TOKEN)
        .args(["--config", config.to_str().unwrap(), "notion", "setup"])
        .output()
        .unwrap();
    let human = Run { output: human };
    human.success();
    assert_eq!(
        human.stdout().matches("complete: nothing to do").count(),
        3,
        "{}",
        human.stdout()
    );
    assert!(human.stdout().contains("unchanged"), "{}", human.stdout());
    assert_no_token(&t, &[&first, &second, &human], TOKEN);
}

#[test]
fn notion_setup_adds_two_missing_properties_to_an_existing_database() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let todos = fake.add_database(
        &parent,
        "My tasks",
        &[
            ("Name", json!({"title": {}})),
            ("description", json!({"rich_text": {}})),
            ("priority", json!({"select": {}})),
            ("done", json!({"checkbox": {}})),
            ("created_date", json!({"date": {}})),
        ],
    );
    let t = Test::new();
    let config = t.dir.path().join("astra.toml");
    std::fs::write(
        &config,
        format!(
            "[sync.notion]\nbase_url = \"{}\"\nparent_page_id = \"{parent}\"\ntodos_database_id = \"{todos}\"\n",
            fake.url
        ),
    )
    .unwrap();
    let first = setup(&t, &config, TOKEN);
    first.success();
    let dbs = first.json()["data"]["databases"].clone();
    assert_eq!(dbs[0]["action"], "repaired", "{dbs}");
    assert_eq!(dbs[0]["added"], json!(["due", "source"]));
    assert_eq!(dbs[1]["action"], "created");
    let props = fake.properties(&todos);
    assert!(props.contains(&("due".into(), "date".into())), "{props:?}");
    assert!(props.contains(&("source".into(), "rich_text".into())));
    assert!(
        props.contains(&("Name".into(), "title".into())),
        "the title kept its name"
    );

    let again = setup(&t, &config, TOKEN);
    again.success();
    let dbs = again.json()["data"]["databases"].clone();
    assert!(
        dbs.as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] == "unchanged"),
        "{dbs}"
    );

    // A memo lands in the repaired database, its title under `Name`; the other two
    // databases are found under the parent by their titles.
    let keys = format!("parent_page_id = \"{parent}\"\ntodos_database_id = \"{todos}\"\n");
    let t = notion_test(&fake, &keys).memo("20260114 080000-A1.wav", MEMOS[0].1);
    t.voice_memo().success();
    assert_eq!(fake.databases_under(&parent).len(), 3);
    let pages = fake.pages_in(&todos);
    assert!(!pages.is_empty());
    assert!(!prop_text(&pages[0], "Name").is_empty(), "{:#}", pages[0]);
}

#[test]
fn notion_a_bad_token_or_an_unshared_page_says_what_to_do() {
    let fake = FakeNotion::start();
    let shared = fake.add_page("Astra", true);
    let keys = databases(&fake, &shared);
    let bad_token = "secret_wrongwrongwrongwrong0000";
    let t = MEMOS[..1]
        .iter()
        .fold(Test::new().config(&fake.config(&keys)), |t, (n, s)| {
            t.memo(n, s)
        })
        .env("NOTION_TOKEN", bad_token);
    let run = t.voice_memo();
    run.code_is(1);
    let item = t.item(MEMOS[0].0);
    assert_eq!(item["status"], "retrying", "{item}");
    let err = item["last_error"].as_str().unwrap();
    assert!(err.contains("API token is invalid."), "{err}");
    assert!(err.contains("check NOTION_TOKEN"), "{err}");
    assert_no_token(&t, &[&run], bad_token);

    let hidden = fake.add_page("Private", false);
    let t = Test::new();
    let config = t.dir.path().join("astra.toml");
    std::fs::write(
        &config,
        format!(
            "[sync.notion]\nbase_url = \"{}\"\nparent_page_id = \"{hidden}\"\n",
            fake.url
        ),
    )
    .unwrap();
    let run = setup(&t, &config, TOKEN);
    run.code_is(1);
    let err = run.stderr();
    assert!(err.contains("Could not find block"), "{err}");
    assert!(
        err.contains("share the page/database with your integration"),
        "{err}"
    );
    assert!(err.contains("Connections"), "{err}");
    let run = setup(&t, &config, bad_token);
    run.code_is(1);
    assert!(
        run.stderr().contains("check NOTION_TOKEN"),
        "{}",
        run.stderr()
    );
    assert_no_token(&t, &[&run], bad_token);
}

#[test]
fn notion_without_database_ids_or_a_parent_is_a_config_error() {
    let fake = FakeNotion::start();
    let t = notion_test(&fake, "").memo(MEMOS[0].0, MEMOS[0].1);
    let run = t.voice_memo();
    run.code_is(2);
    let err = run.stderr();
    assert!(err.contains("parent_page_id"), "{err}");
    assert!(err.contains("astra notion setup"), "{err}");
    assert_eq!(fake.stats().requests, 0);
    let t = Test::new()
        .config(&fake.config("parent_page_id = \"1f217cc1225f45808e22cd7eb8db3c5e\"\n"))
        .memo(MEMOS[0].0, MEMOS[0].1);
    let run = t.voice_memo();
    run.code_is(2);
    assert!(
        run.stderr().contains("NOTION_TOKEN is not set"),
        "{}",
        run.stderr()
    );
}

#[test]
fn notion_429s_pages_and_a_new_entry_reopening_a_processed_day() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    fake.set_rate(2.0, 2.0);
    fake.set_page_size(1);
    let t = MEMOS
        .iter()
        .fold(notion_test(&fake, &keys), |t, (n, s)| t.memo(n, s));
    if t.voice_memo().code() != Some(0) {
        // Four 429s in a row for one request: the memo waits for the next run.
        t.run("voice-memo", &["--json", "--retry-now"]).success();
    }
    fake.set_rate(3.0, 3.0);
    assert!(fake.stats().rate_limited > 0, "{:?}", fake.stats());
    // The journal job summarised the day...
    let day = t.item(MEMOS[2].0)["outputs"]["journal"][0]
        .as_str()
        .unwrap()
        .to_string();
    let day = day.split('#').next().unwrap().to_string();
    fake.set_checkbox(&day, "processed", true);
    // ...then a second memo of that day finds its page (paged answers) and reopens it.
    t.add_memo(
        "20260114 120000-D4.wav",
        "Journal. Today I walked by the sea and felt calm.",
    );
    t.voice_memo().success();
    let pages: Vec<String> = ["20260114 090000-C3.wav", "20260114 120000-D4.wav"]
        .iter()
        .map(|n| {
            t.item(n)["outputs"]["journal"][0]
                .as_str()
                .unwrap()
                .split('#')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(pages[0], pages[1], "one page for the day");
    let texts = fake.texts(&pages[0]);
    assert!(
        texts.iter().any(|t| t.starts_with("12:00 PM · ")),
        "{texts:?}"
    );
    let blocks = fake.children(&pages[0]);
    assert!(blocks.iter().any(|b| b["type"] == "divider"));
    let journal_db = fake.databases_under(&parent)[2].1.clone();
    let page = fake
        .pages_in(&journal_db)
        .into_iter()
        .find(|p| p["id"] == day)
        .unwrap();
    assert_eq!(
        page["properties"]["processed"]["checkbox"], false,
        "{page:#}"
    );
}

/// The fake itself refuses what Notion refuses (so the tests above mean something).
#[test]
fn fake_notion_enforces_notions_limits() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    let ds_of = |db: &str| -> String {
        let c = reqwest::blocking::Client::new();
        let v: Value = c
            .get(format!("{}/v1/databases/{db}", fake.url))
            .bearer_auth(TOKEN)
            .header("Notion-Version", "2025-09-03")
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["data_sources"][0]["id"].as_str().unwrap().to_string()
    };
    let notes_db = keys.lines().nth(1).unwrap().split('"').nth(1).unwrap();
    let ds = ds_of(notes_db);
    let client = reqwest::blocking::Client::new();
    let post = |body: Value, version: Option<&str>, token: &str| {
        std::thread::sleep(Duration::from_millis(400));
        let mut r = client
            .post(format!("{}/v1/pages", fake.url))
            .bearer_auth(token)
            .json(&body);
        if let Some(v) = version {
            r = r.header("Notion-Version", v);
        }
        let resp = r.send().unwrap();
        (resp.status().as_u16(), resp.json::<Value>().unwrap())
    };
    let page = |props: Value, children: Value| json!({"parent": {"data_source_id": ds}, "properties": props, "children": children});
    let text = |s: &str| json!([{"type": "text", "text": {"content": s}}]);
    let ok = page(json!({"title": {"title": text("ok")}}), json!([]));
    let (s, _) = post(ok.clone(), Some("2025-09-03"), TOKEN);
    assert_eq!(s, 200);
    let (s, v) = post(ok.clone(), None, TOKEN);
    assert_eq!((s, v["code"].as_str()), (400, Some("missing_version")));
    let (s, v) = post(ok, Some("2025-09-03"), "secret_nope");
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")));
    let long = page(
        json!({"content": {"rich_text": text(&"x".repeat(2001))}}),
        json!([]),
    );
    let (s, v) = post(long, Some("2025-09-03"), TOKEN);
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("validation_error")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("2000"), "{v}");
    let para = json!({"type": "paragraph", "paragraph": {"rich_text": text("p")}});
    let many = page(json!({}), Value::Array(vec![para; 101]));
    let (s, v) = post(many, Some("2025-09-03"), TOKEN);
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("100"), "{v}");
    let unknown = page(json!({"Title": {"title": text("x")}}), json!([]));
    let (s, v) = post(unknown, Some("2025-09-03"), TOKEN);
    assert_eq!(s, 400);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("is not a property that exists"),
        "{v}"
    );
    // A burst over 3 a second is answered 429 with Retry-After.
    let limited = (0..8)
        .map(|_| {
            client
                .get(format!("{}/v1/databases/{notes_db}", fake.url))
                .bearer_auth(TOKEN)
                .header("Notion-Version", "2025-09-03")
                .send()
                .unwrap()
        })
        .filter(|r| r.status() == 429)
        .inspect(|r| assert_eq!(r.headers()["retry-after"], "1"))
        .count();
    assert!(limited > 0);
}

/// Throughput against 300 ms latency (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn notion_throughput_with_300ms_latency() {
    let mut report = HashMap::new();
    for concurrency in [1, 4] {
        let fake = FakeNotion::start();
        let parent = fake.add_page("Astra", true);
        let keys = databases(&fake, &parent);
        fake.set_latency(Duration::from_millis(300));
        let t = notion_test(&fake, &keys).vm(&format!("concurrency = {concurrency}"));
        for i in 0..12 {
            let (_, text) = MEMOS[i % 3];
            t.add_memo(&format!("20260114 {:02}0000-T{i}.wav", 10 + i), text);
        }
        let started = Instant::now();
        t.voice_memo().success();
        let per_minute = 12.0 / started.elapsed().as_secs_f64() * 60.0;
        report.insert(concurrency, (per_minute, fake.stats().requests));
    }
    println!("memos per minute (requests): {report:?}");
}

/// Journal entries on a day's page read in recording order: a memo recorded between
/// two entries already on the page goes between them, not at the end.
#[test]
fn notion_a_journal_entry_lands_in_recording_order() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    let t = notion_test(&fake, &keys)
        .memo("20260111 140000-A1.wav", "Journal. Two o'clock thoughts.")
        .memo("20260111 160000-B1.wav", "Journal. Four o'clock thoughts.");
    t.voice_memo().success();
    t.add_memo("20260111 150000-C1.wav", "Journal. Three o'clock thoughts.");
    // Earlier than every entry on the page: before its first block.
    t.add_memo("20260111 130000-D1.wav", "Journal. One o'clock thoughts.");
    t.voice_memo().success();
    let out = t.item("20260111 150000-C1.wav")["outputs"]["journal"][0]
        .as_str()
        .unwrap()
        .to_string();
    let page = out.split('#').next().unwrap();
    let headings: Vec<String> = fake
        .children(page)
        .iter()
        .filter(|b| b["type"] == "heading_3")
        .map(|b| {
            b["heading_3"]["rich_text"][0]["plain_text"]
                .as_str()
                .or(b["heading_3"]["rich_text"][0]["text"]["content"].as_str())
                .unwrap_or("")
                .split(" · ")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(headings, ["1:00 PM", "2:00 PM", "3:00 PM", "4:00 PM"]);
    // Each heading is followed by its own paragraph.
    let blocks = fake.children(page);
    for (i, b) in blocks.iter().enumerate() {
        if b["type"] == "heading_3" {
            assert_eq!(blocks[i + 1]["type"], "paragraph", "{blocks:?}");
        }
    }
}
