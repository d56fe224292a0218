//! Every Notion request counts: a backlog's requests per page written, a rerun, a
//! `--watch` session, and crashes after each request, against the counting fake.
use crate::fake_notion::FakeNotion;
use crate::harness::Test;
use crate::notion::{MEMOS, MORE, assert_synced_once, databases, notion_test};
use std::fs;
use std::time::{Duration, Instant};

/// The text of backlog memo `i`: a TODO, a note or a journal entry in turn.
pub(crate) fn backlog_text(i: usize) -> String {
    match i % 3 {
        0 => format!("Remind me to call person {i} about the garden."),
        1 => format!("Note: research item, read about topic number {i} and the river."),
        _ => format!("Journal. Today I feel calm after walk number {i} by the sea."),
    }
}

/// Backlog memo `i`'s file name: 30 days of January, a few memos a day.
pub(crate) fn backlog_name(i: usize) -> String {
    format!(
        "202601{:02} {:02}{:02}00-R{i:03}.wav",
        1 + i % 30,
        8 + (i / 30) % 12,
        i % 60
    )
}

/// `astra notion setup` (its schema check is kept for the runs), then no request
/// counted so far.
pub(crate) fn set_up(t: &Test, fake: &FakeNotion) {
    t.run("astra", &["notion", "setup", "--json"]).success();
    fake.clear_requests();
}

fn requests(fake: &FakeNotion) -> (usize, usize) {
    (fake.requests().len(), fake.writes().len())
}

#[test]
fn notion_requests_a_300_memo_backlog_is_almost_only_writes_and_a_rerun_asks_nothing() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    // Fast enough for a test; the benchmark keeps Notion's 3 a second.
    fake.set_rate(400.0, 400.0);
    let t = notion_test(&fake, &keys).vm("concurrency = 4");
    set_up(&t, &fake);
    let n = 300;
    for i in 0..n {
        t.add_memo(&backlog_name(i), &backlog_text(i));
    }
    let r = t.voice_memo();
    r.success();
    let (all, writes) = requests(&fake);
    let by = fake.by_endpoint();
    // 100 TODO pages, 100 note pages, 10 day pages and 90 appends.
    assert_eq!(writes, 300, "{by:?}");
    assert_eq!(fake.stats().created_pages, 210, "{by:?}");
    let per_write = all as f64 / writes as f64;
    assert!(
        per_write <= 1.15,
        "{all} requests for {writes} writes: {by:?}"
    );
    // The lookups: one query per 100 memos in TODOs and Notes, one for the 10 days.
    assert_eq!(by.get("POST data_sources/query"), Some(&7), "{by:?}");
    // A page is read only to insert an entry that arrived out of recording order
    // (workers finish in any order): at most one read per day page, and a read of a
    // day page longer than 100 blocks (each entry with its transcript link) is two.
    let reads = by.get("GET blocks/children").copied().unwrap_or(0);
    assert!(
        reads <= 20,
        "page reads only for out-of-order entries: {by:?}"
    );
    assert_eq!(
        by.get("GET databases"),
        None,
        "the schema check was kept: {by:?}"
    );
    for i in (0..n).step_by(37) {
        assert_eq!(t.item(&backlog_name(i))["status"], "completed");
    }
    let pages = fake.pages_with_source(&backlog_name(0));
    assert_eq!(pages.len(), 1);

    // A rerun with nothing new asks Notion nothing.
    fake.clear_requests();
    t.voice_memo().success();
    assert_eq!(requests(&fake), (0, 0), "{:?}", fake.by_endpoint());

    // A new memo on a day whose page exists: a lookup, a read of the page, an append.
    t.add_memo("20260103 210000-Z1.wav", "Journal. Today I feel done.");
    t.voice_memo().success();
    let by = fake.by_endpoint();
    assert_eq!(requests(&fake), (3, 1), "{by:?}");
}

/// A database id from the config keys [`databases`] returns.
fn key(keys: &str, name: &str) -> String {
    keys.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = \"")))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap()
        .to_string()
}

/// History lines so far (one a pass).
fn passes(t: &Test) -> usize {
    fs::read_to_string(t.home.join("history.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn wait_for(what: &str, ok: &dyn Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn notion_requests_a_watch_session_asks_only_for_what_is_new() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    fake.set_rate(100.0, 100.0);
    let t = notion_test(&fake, &keys);
    set_up(&t, &fake);
    let mut child = t
        .command("voice-memo")
        .arg("--watch")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first pass", &|| passes(&t) >= 1);
    assert_eq!(requests(&fake), (0, 0), "an empty inbox: no request");
    let mut seen = Vec::new();
    for pass in 0..10 {
        fake.clear_requests();
        let before = passes(&t);
        let memo = pass % 2 == 0;
        if memo {
            let (_, text) = [MEMOS[0], MEMOS[2], MORE[0], MORE[1], MORE[2]][pass / 2];
            let name = format!("20260120 10{pass:02}00-W{pass}.wav");
            t.add_memo(&name, text);
            // Done memos live in the catalogue (state.json keeps what is in flight).
            wait_for("the memo", &|| t.item(&name)["status"] == "completed");
        } else {
            // Something that is not a memo: a pass with nothing new.
            fs::write(t.inbox.join(format!("shopping-{pass}.md")), "not audio").unwrap();
        }
        wait_for("a pass", &|| passes(&t) > before);
        // The passes the same files may still wake (a second event for one file).
        std::thread::sleep(Duration::from_millis(1500));
        let (all, writes) = requests(&fake);
        seen.push((pass, passes(&t) - before, all, writes, fake.by_endpoint()));
        if memo {
            // One lookup per database the memo writes to (and a read of a day page
            // that exists), then its writes.
            assert!(writes >= 1 && all <= writes + 2, "pass {pass}: {seen:?}");
        } else {
            assert_eq!((all, writes), (0, 0), "pass {pass}: {seen:?}");
        }
    }
    assert!(passes(&t) >= 11, "{seen:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let total: usize = seen.iter().map(|s| s.2).sum();
    assert!(total <= 16, "{seen:?}");
}

#[test]
fn faults_a_crash_after_every_notion_request_leaves_nothing_twice() {
    let memos: Vec<(&str, &str)> = MEMOS.iter().chain(MORE.iter()).copied().collect();
    // A clean run first, for the number of requests a run makes.
    let total = {
        let fake = FakeNotion::start();
        let parent = fake.add_page("Astra", true);
        let keys = databases(&fake, &parent);
        fake.set_rate(1000.0, 1000.0);
        let t = memos
            .iter()
            .fold(notion_test(&fake, &keys), |t, (n, s)| t.memo(n, s));
        t.voice_memo().success();
        assert_synced_once(&t, &fake, &memos);
        fake.requests().len()
    };
    assert!(total >= 10, "{total}");
    for at in 1..=total {
        let fake = FakeNotion::start();
        let parent = fake.add_page("Astra", true);
        let keys = databases(&fake, &parent);
        fake.set_rate(1000.0, 1000.0);
        let t = memos
            .iter()
            .fold(notion_test(&fake, &keys), |t, (n, s)| t.memo(n, s));
        let out = t
            .command("voice-memo")
            .env("ASTRA_TEST_CRASH_AFTER_REQUEST", at.to_string())
            .args(["--json"])
            .output()
            .unwrap();
        if out.status.code().is_some() {
            // The workers raced differently from the clean run and needed fewer
            // requests (a day page one of them found made by another): then the run
            // never reached request `at`, and it must have finished cleanly.
            let made = fake.requests().len();
            assert!(
                made < at && out.status.success(),
                "request {at} of {total}: the run should have died ({made} requests): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_synced_once(&t, &fake, &memos);
            continue;
        }
        // Crashed again, at the first request of the next run, then done.
        let _ = t
            .command("voice-memo")
            .env("ASTRA_TEST_CRASH_AFTER_REQUEST", "1")
            .args(["--json", "--retry-now"])
            .output()
            .unwrap();
        t.run("voice-memo", &["--json", "--retry-now"]).success();
        assert_synced_once(&t, &fake, &memos);
        let journal_pages = fake.pages_in(&key(&keys, "journal_database_id"));
        assert_eq!(
            journal_pages.len(),
            2,
            "crash after request {at}: one page a day"
        );
    }
}

#[test]
fn notion_requests_a_spent_budget_is_waited_out_and_spends_no_attempt() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    fake.set_rate(100.0, 100.0);
    let t = MEMOS
        .iter()
        .chain(MORE.iter())
        .fold(notion_test(&fake, &keys), |t, (n, s)| t.memo(n, s));
    set_up(&t, &fake);
    // Notion's per-connection budget, scaled down: 5 requests every 2 seconds.
    fake.set_budget(5, Duration::from_secs(2));
    let started = Instant::now();
    t.voice_memo().success();
    let memos: Vec<(&str, &str)> = MEMOS.iter().chain(MORE.iter()).copied().collect();
    assert_synced_once(&t, &fake, &memos);
    for (n, _) in &memos {
        assert_eq!(t.item(n)["attempts"], 1, "{n}");
    }
    let answered = fake.requests().len();
    let windows = (started.elapsed().as_secs_f64() / 2.0).ceil() as u64 + 1;
    // Each 429 pauses every worker until the window resets: at most one per worker
    // per window.
    assert!(
        fake.stats().rate_limited <= windows * 4,
        "{} × 429 in {windows} windows, {answered} answered",
        fake.stats().rate_limited
    );
}

#[test]
fn notion_requests_a_write_refused_for_a_schema_reason_checks_the_schema_again() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = databases(&fake, &parent);
    fake.set_rate(100.0, 100.0);
    let t = notion_test(&fake, &keys).memo(MEMOS[0].0, MEMOS[0].1);
    t.voice_memo().success();
    assert!(t.home.join("cache/notion-schema.json").exists());
    // Someone deletes `source` from TODOs; the kept check does not know.
    let todos = key(&keys, "todos_database_id");
    fake.remove_property(&todos, "source");
    fake.clear_requests();
    let name = "20260116 090000-S1.wav";
    t.add_memo(name, "Remind me to water the plants.");
    t.voice_memo().success();
    let by = fake.by_endpoint();
    // The lookup by `source` is refused (the batch's, then the memo's own); the check
    // (3 databases) adds `source` back; the lookup again, and the create.
    assert_eq!(by.get("POST data_sources/query"), Some(&3), "{by:?}");
    assert_eq!(by.get("PATCH data_sources"), Some(&1), "{by:?}");
    assert_eq!(by.get("GET databases"), Some(&3), "{by:?}");
    assert_eq!(by.get("POST pages"), Some(&1), "{by:?}");
    assert!(fake.properties(&todos).iter().any(|(n, _)| n == "source"));
    assert_eq!(fake.pages_with_source(name).len(), 1);
    assert_eq!(t.item(name)["attempts"], 1);
    // Kept again: the next new memo needs no check.
    fake.clear_requests();
    t.add_memo("20260116 100000-S2.wav", "Remind me to feed the cat.");
    t.voice_memo().success();
    assert_eq!(fake.by_endpoint().get("GET databases"), None);
}
