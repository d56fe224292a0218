//! The fault-injection suite: kill -9 at random moments, runs racing for the lock,
//! flaky services, broken environments, leaked secrets and file modes.
use crate::fake_notion::{FakeNotion, TOKEN, prop_text};
use crate::fake_openai::{FakeOpenAi, Faults};
use crate::harness::Test;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const KEY: &str = "sk-faults-Kq7vSECRETopenaikey998877";
const MEMOS: usize = 10;

/// The ten memos of a trial: (file name, transcript), todos, notes and journal
/// entries in turn, four journal entries on one day.
fn memos() -> Vec<(String, String)> {
    const WORDS: [&str; 10] = [
        "harbour", "lantern", "orchard", "violin", "glacier", "meadow", "compass", "saffron",
        "quarry", "thimble",
    ];
    (0..MEMOS)
        .map(|k| {
            let w = WORDS[k];
            let text = match k % 3 {
                0 => format!("Todo call the {w} office about plan {k}."),
                1 => format!("Note the {w} idea number {k} is worth a closer look."),
                _ => format!("Journal today I walked past the {w} and felt calm, entry {k}."),
            };
            (format!("20260114 {:02}0000-F{k:02}.wav", 8 + k), text)
        })
        .collect()
}

/// The suite's seed: `ASTRA_FAULTS_SEED`, else the clock; printed so a failure can be
/// replayed.
fn suite_seed() -> u64 {
    let seed = std::env::var("ASTRA_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    println!("faults: seed {seed} (replay with ASTRA_FAULTS_SEED={seed})");
    seed
}

/// Polls `cond` every 2 ms until it holds or `limit` passes; whether it held.
fn poll(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

/// state.json, when it exists, is whole JSON.
#[track_caller]
fn assert_state_parses(t: &Test, when: &str) {
    match fs::read(t.home.join("state.json")) {
        Ok(b) => {
            if let Err(e) = serde_json::from_slice::<Value>(&b) {
                panic!("{when}: state.json does not parse: {e}");
            }
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{when}: {e}"),
    }
}

/// Temp files left anywhere under `dirs`.
fn temp_files(dirs: &[&Path]) -> Vec<String> {
    dirs.iter()
        .flat_map(|d| {
            Test::tree(d)
                .into_iter()
                .map(move |r| d.join(r).display().to_string())
        })
        .filter(|p| p.ends_with(".tmp") || p.contains(".part."))
        .collect()
}

/// The statuses in history.jsonl, oldest first.
fn history_statuses(t: &Test) -> Vec<String> {
    fs::read_to_string(t.home.join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a history line parses");
            v["status"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

fn item_statuses(t: &Test) -> HashMap<String, String> {
    t.state()["jobs"]["voiceMemo"]["items"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["status"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn all_completed(t: &Test, names: &[String]) -> bool {
    if !t.home.join("state.json").exists() {
        return false;
    }
    let s = item_statuses(t);
    names
        .iter()
        .all(|n| s.get(n).map(String::as_str) == Some("completed"))
}

/// What a finished target holds for the memos: pieces missing and pieces twice.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    lost: usize,
    duplicates: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.lost += o.lost;
        self.duplicates += o.duplicates;
    }
}

fn outputs_of(item: &Value, kind: &str) -> usize {
    item["outputs"][kind].as_array().map_or(0, Vec::len)
}

/// Every output of every memo found once in the vault (by its id marker), one
/// journal heading per entry, one archive copy of each recording.
fn tally_vault(t: &Test, names: &[String]) -> Tally {
    let mut tally = Tally::default();
    let files = Test::snapshot(&t.vault);
    for name in names {
        let item = t.item(name);
        let Some(id) = item["id"].as_str() else {
            tally.lost += 1;
            continue;
        };
        let expected: usize = ["todos", "notes", "journal"]
            .iter()
            .map(|k| outputs_of(&item, k))
            .sum();
        let found: usize = files
            .iter()
            .filter(|(p, _)| !p.ends_with(".tmp"))
            .map(|(_, b)| String::from_utf8_lossy(b).matches(id).count())
            .sum();
        tally.lost += expected.saturating_sub(found);
        tally.duplicates += found.saturating_sub(expected);
        if expected == 0 {
            tally.lost += 1;
        }
    }
    let journal_entries: usize = names
        .iter()
        .map(|n| outputs_of(&t.item(n), "journal"))
        .sum();
    let headings: usize = files
        .iter()
        .filter(|(p, _)| p.starts_with("Journal/"))
        .map(|(_, b)| {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| l.starts_with("### "))
                .count()
        })
        .sum();
    tally.duplicates += headings.saturating_sub(journal_entries);
    tally.lost += journal_entries.saturating_sub(headings);
    tally += tally_archive(t, names);
    tally
}

/// One archive copy of each recording (and its sidecar).
fn tally_archive(t: &Test, names: &[String]) -> Tally {
    let archive = Test::tree(&t.home.join("archive"));
    let mut tally = Tally::default();
    for name in names {
        let n = archive.iter().filter(|a| *a == name).count();
        let copies = archive
            .iter()
            .filter(|a| a.starts_with(name.trim_end_matches(".wav")) && a.ends_with(".wav"))
            .count();
        tally.lost += usize::from(n == 0);
        tally.duplicates += copies.saturating_sub(1);
    }
    tally
}

/// Every page in the fake Notion once (per `source` and title), and every journal
/// entry's heading once on its day's page.
fn tally_notion(t: &Test, fake: &FakeNotion, names: &[String]) -> Tally {
    let mut tally = Tally::default();
    for name in names {
        let item = t.item(name);
        let pages = fake.pages_with_source(name);
        let expected = outputs_of(&item, "todos") + outputs_of(&item, "notes");
        let mut titles: Vec<String> = pages.iter().map(|p| prop_text(p, "title")).collect();
        titles.sort();
        let n = titles.len();
        titles.dedup();
        tally.duplicates += n - titles.len();
        tally.duplicates += titles.len().saturating_sub(expected);
        tally.lost += expected.saturating_sub(titles.len());
        let id = item["id"].as_str().unwrap_or("?");
        for o in item["outputs"]["journal"].as_array().into_iter().flatten() {
            let page = o.as_str().unwrap_or("").split('#').next().unwrap_or("");
            let headings = fake
                .texts(page)
                .into_iter()
                .filter(|t| t.ends_with(&format!("· {id}")))
                .count();
            tally.duplicates += headings.saturating_sub(1);
            tally.lost += usize::from(headings == 0);
        }
        if expected + outputs_of(&item, "journal") == 0 {
            tally.lost += 1;
        }
    }
    tally += tally_archive(t, names);
    tally
}

/// No file under the test's folder (config.toml aside) and no output holds a secret.
#[track_caller]
fn assert_no_secret(t: &Test, outputs: &str, secrets: &[&str]) {
    for rel in Test::tree(t.dir.path()) {
        if rel.ends_with("config.toml") {
            continue;
        }
        let bytes = fs::read(t.dir.path().join(&rel)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for s in secrets {
            assert!(!text.contains(s), "{rel} holds a secret ({s})");
        }
    }
    for s in secrets {
        assert!(!outputs.contains(s), "an output holds a secret ({s})");
    }
}

fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Where a trial writes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Markdown,
    Notion,
}

/// What a trial saw.
#[derive(Debug, Default)]
struct TrialReport {
    landed: bool,
    runs: usize,
    tally: Tally,
    faults: u64,
}

/// One kill -9 trial: a run of ten memos against slowed services, SIGKILL at a
/// random moment, then runs until every memo is done. Panics on any broken invariant.
fn kill_trial(seed: u64, n: usize) -> TrialReport {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(n as u64));
    let target = if n % 5 < 2 {
        Target::Notion
    } else {
        Target::Markdown
    };
    let llm = target == Target::Markdown || n.is_multiple_of(2);
    let latency = Duration::from_millis(rng.random_range(20..=50));
    let memos = memos();
    let names: Vec<String> = memos.iter().map(|(n, _)| n.clone()).collect();
    let mut t = Test::new().vm(&format!("concurrency = {}", rng.random_range(1..=4)));
    let openai = llm.then(|| {
        let f = FakeOpenAi::start(Some(KEY));
        f.faults(Faults {
            latency,
            ..Faults::default()
        });
        f
    });
    if let Some(f) = &openai {
        t = t
            .config(&format!(
                "[organization]\nprovider = \"openai\"\nbase_url = \"{}\"\n",
                f.url
            ))
            .env("OPENAI_API_KEY", KEY);
    }
    let notion = (target == Target::Notion).then(|| {
        let f = FakeNotion::start();
        f.set_rate(50.0, 50.0);
        f.set_latency(latency);
        f
    });
    if let Some(f) = &notion {
        let parent = f.add_page("Astra", true);
        let keys = crate::notion::databases(f, &parent);
        t = t.config(&f.config(&keys)).env("NOTION_TOKEN", TOKEN);
    }
    for (name, text) in &memos {
        t.add_memo(name, text);
    }
    // The moment: a request count on a fake, or a delay.
    let requests = || {
        notion.as_ref().map_or(0, |f| f.stats().requests)
            + openai.as_ref().map_or(0, |f| f.calls().len() as u64)
    };
    let by_count = rng.random_bool(0.6);
    let total = if target == Target::Notion { 30 } else { 10 };
    let at_request = rng.random_range(1..=total);
    let delay = Duration::from_millis(
        rng.random_range(30..=if target == Target::Notion { 6000 } else { 600 }),
    );
    let mut child = t
        .command("voice-memo")
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    poll(Duration::from_secs(60), || {
        matches!(child.try_wait(), Ok(Some(_)))
            || if by_count {
                requests() >= at_request
            } else {
                started.elapsed() >= delay
            }
    });
    let landed = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let first = child.wait_with_output().unwrap();
    let recorded = t.home.join("locks/voice-memo.run").exists();
    assert_state_parses(&t, &format!("trial {n}, right after the kill"));
    let mut outputs = output_text(&first);
    let mut report = TrialReport {
        landed: landed && recorded,
        runs: 1,
        ..TrialReport::default()
    };
    // At least one run after the kill: it records the dead run as interrupted.
    for i in 0..4 {
        if i > 0 && all_completed(&t, &names) {
            break;
        }
        let r = t.run("voice-memo", &["--json", "--retry-now"]);
        outputs.push_str(&r.stdout());
        outputs.push_str(&r.stderr());
        report.runs += 1;
        assert_state_parses(&t, &format!("trial {n}, after run {}", report.runs));
    }
    let why = format!(
        "trial {n} (seed {seed}, {target:?}, llm {llm}, kill at {}, landed {landed})",
        if by_count {
            format!("request {at_request}")
        } else {
            format!("{delay:?}")
        }
    );
    assert!(
        all_completed(&t, &names),
        "{why}: not all completed after {} runs: {:?}",
        report.runs,
        item_statuses(&t)
    );
    report.tally = match &notion {
        Some(f) => tally_notion(&t, f, &names),
        None => tally_vault(&t, &names),
    };
    assert_eq!(report.tally.lost, 0, "{why}: items lost");
    if report.tally.duplicates > 0 {
        let dump: Vec<String> = Test::snapshot(&t.vault)
            .into_iter()
            .map(|(p, b)| format!("== {p}\n{}", String::from_utf8_lossy(&b)))
            .collect();
        panic!(
            "{why}: {} duplicates\n{}\narchive {:?}\nstate {}",
            report.tally.duplicates,
            dump.join("\n"),
            Test::tree(&t.home.join("archive")),
            t.state()
        );
    }
    let temps = temp_files(&[&t.home, &t.vault]);
    assert!(temps.is_empty(), "{why}: temp files left: {temps:?}");
    let interrupted = history_statuses(&t)
        .iter()
        .filter(|s| *s == "interrupted")
        .count();
    assert_eq!(
        interrupted,
        usize::from(recorded),
        "{why}: the killed run in history ({:?})",
        history_statuses(&t)
    );
    assert_no_secret(&t, &outputs, &[TOKEN, KEY]);
    report.faults = notion.as_ref().map_or(0, |f| f.stats().faults);
    report
}

#[test]
fn faults_kill_9_at_random_moments_loses_nothing_and_writes_nothing_twice() {
    let seed = suite_seed();
    let trials: usize = std::env::var("ASTRA_FAULTS_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let next = Mutex::new(0usize);
    let reports = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let n = {
                        let mut g = next.lock().unwrap();
                        *g += 1;
                        *g - 1
                    };
                    if n >= trials {
                        return;
                    }
                    let only = std::env::var("ASTRA_FAULTS_ONLY").ok();
                    if only.is_some_and(|o| o != n.to_string()) {
                        continue;
                    }
                    match std::panic::catch_unwind(|| kill_trial(seed, n)) {
                        Ok(r) => reports.lock().unwrap().push(r),
                        Err(e) => failures.lock().unwrap().push(
                            e.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default(),
                        ),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
    let reports = reports.into_inner().unwrap();
    let landed = reports.iter().filter(|r| r.landed).count();
    let runs: usize = reports.iter().map(|r| r.runs).sum();
    let mut tally = Tally::default();
    for r in &reports {
        tally += r.tally;
    }
    println!(
        "faults: {} trials, {landed} kills landed mid-run and were survived, {runs} runs, items lost {}, duplicates {}",
        reports.len(),
        tally.lost,
        tally.duplicates
    );
    assert_eq!(reports.len(), trials);
    assert!(
        landed * 2 >= trials,
        "most kills should land mid-run: {landed} of {trials}"
    );
}
