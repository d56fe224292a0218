//! The fault-injection suite: kill -9 at random moments, runs racing for the lock,
//! flaky services, broken environments, leaked secrets and file modes.
use crate::fake_notion::{FakeNotion, TOKEN, prop_text};
use crate::fake_openai::{FakeOpenAi, Faults, tone_wav};
use crate::harness::{Run, Test};
use crate::recorder::{Recorder, Smtp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Barrier, Mutex};
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

/// The words that end a journal memo's entry (`entry 2.`), found once per paragraph.
fn entry_words(name: &str) -> String {
    let k: usize = name[name.len() - 6..name.len() - 4].parse().unwrap();
    format!("entry {k}.")
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
    for name in names
        .iter()
        .filter(|n| outputs_of(&t.item(n), "journal") > 0)
    {
        let paragraphs: usize = files
            .iter()
            .filter(|(p, _)| p.starts_with("Journal/") && !p.ends_with(".tmp"))
            .map(|(_, b)| {
                String::from_utf8_lossy(b)
                    .matches(&entry_words(name))
                    .count()
            })
            .sum();
        tally.duplicates += paragraphs.saturating_sub(1);
        tally.lost += usize::from(paragraphs == 0);
    }
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
            let paragraphs = fake
                .texts(page)
                .into_iter()
                .filter(|t| t.contains(&entry_words(name)))
                .count();
            tally.duplicates += paragraphs.saturating_sub(1);
            tally.lost += usize::from(paragraphs == 0);
        }
        if expected + outputs_of(&item, "journal") == 0 {
            tally.lost += 1;
        }
    }
    // All the journal memos are of one day: one day page.
    let mut days: Vec<String> = names
        .iter()
        .flat_map(|n| {
            t.item(n)["outputs"]["journal"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|o| o.as_str()?.split('#').next().map(String::from))
        .collect();
    days.sort();
    days.dedup();
    tally.duplicates += days.len().saturating_sub(1);
    tally += tally_archive(t, names);
    tally
}

/// No file under the test's folder (config.toml and the file secret store aside)
/// and no output holds a secret.
#[track_caller]
fn assert_no_secret(t: &Test, outputs: &str, secrets: &[&str]) {
    for rel in Test::tree(t.dir.path()) {
        if rel.ends_with("config.toml") || rel.ends_with("astra-home/secrets.env") {
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

/// The ten memos with an LLM organizer behind `latency`, in the vault.
fn vault_test(fake: &FakeOpenAi) -> (Test, Vec<String>) {
    let mut t = Test::new()
        .config(&format!(
            "[organization]\nprovider = \"openai\"\nbase_url = \"{}\"\n",
            fake.url
        ))
        .env("OPENAI_API_KEY", KEY);
    let memos = memos();
    for (name, text) in &memos {
        t.add_memo(name, text);
    }
    t = t.vm("concurrency = 1");
    (t, memos.into_iter().map(|(n, _)| n).collect())
}

#[test]
fn faults_eight_runs_started_at_the_same_instant_one_works_seven_skip() {
    let fake = FakeOpenAi::start(Some(KEY));
    fake.faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let (t, names) = vault_test(&fake);
    t.write_config();
    let barrier = Barrier::new(8);
    let outputs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let mut c = t.command("voice-memo");
                    c.arg("--json");
                    barrier.wait();
                    c.output().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut statuses: Vec<String> = outputs
        .iter()
        .map(|o| {
            assert_eq!(o.status.code(), Some(0), "{}", output_text(o));
            let j: Value = serde_json::from_slice(&o.stdout).unwrap();
            j["status"].as_str().unwrap().to_string()
        })
        .collect();
    statuses.sort();
    let mut expected = vec!["skipped".to_string(); 7];
    expected.push("success".into());
    assert_eq!(statuses, expected);
    assert!(all_completed(&t, &names), "{:?}", item_statuses(&t));
    let tally = tally_vault(&t, &names);
    assert_eq!((tally.lost, tally.duplicates), (0, 0), "{tally:?}");
    assert_eq!(
        fake.ok_calls("chat").len(),
        MEMOS,
        "each memo organized once"
    );
    let mut history = history_statuses(&t);
    history.sort();
    assert_eq!(history, expected);
}

#[test]
fn faults_30_percent_on_every_service_still_sync_every_memo_exactly_once_within_3_runs() {
    let openai = FakeOpenAi::start(Some(KEY));
    openai.faults(Faults {
        rate: 0.3,
        ..Faults::default()
    });
    let notion = FakeNotion::start();
    let parent = notion.add_page("Astra", true);
    let keys = crate::notion::databases(&notion, &parent);
    notion.set_rate(50.0, 50.0);
    notion.set_faults(0.3);
    notion.set_fault_429(true);
    let mut t = Test::new()
        .config(&format!(
            "[transcription]\nprovider = \"openai\"\nbase_url = \"{0}\"\n\n[organization]\nprovider = \"openai\"\nbase_url = \"{0}\"\n",
            openai.url
        ))
        .config(&notion.config(&keys))
        .env("OPENAI_API_KEY", KEY)
        .env("NOTION_TOKEN", TOKEN);
    let memos = memos();
    for (k, (name, text)) in memos.iter().enumerate() {
        let hz = 400 + 60 * k as u32;
        openai.hears(hz, text);
        t.add_audio(
            name,
            &tone_wav(&[(None, 0.3), (Some(hz), 1.0), (None, 0.3)]),
        );
    }
    t = t.vm("concurrency = 4");
    let names: Vec<String> = memos.into_iter().map(|(n, _)| n).collect();
    let mut outputs = String::new();
    let mut runs = 0;
    while runs < 3 && !all_completed(&t, &names) {
        let r = t.run("voice-memo", &["--json", "--retry-now", "-v"]);
        outputs.push_str(&r.stdout());
        outputs.push_str(&r.stderr());
        runs += 1;
        assert_state_parses(&t, &format!("run {runs}"));
    }
    notion.set_faults(0.0);
    openai.faults(Faults::default());
    let openai_faults = openai.calls().iter().filter(|c| c.status != 200).count() as u64;
    let injected = notion.stats().faults + openai_faults;
    println!(
        "faults: {injected} faults injected ({} Notion, {openai_faults} OpenAI), every memo synced in {runs} run(s)",
        notion.stats().faults
    );
    let errors: Vec<String> = names
        .iter()
        .filter_map(|n| {
            t.item(n)["last_error"]
                .as_str()
                .map(|e| format!("{n}: {e}"))
        })
        .collect();
    assert!(
        all_completed(&t, &names),
        "after {runs} runs: {:?}\n{errors:#?}",
        item_statuses(&t)
    );
    assert!(injected >= 5, "{injected} faults");
    let tally = tally_notion(&t, &notion, &names);
    assert_eq!((tally.lost, tally.duplicates), (0, 0), "{tally:?}");
    assert!(temp_files(&[&t.home, &t.vault]).is_empty());
    assert_no_secret(&t, &outputs, &[TOKEN, KEY]);
}

/// A file system mounted for one test (root only), unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn run(args: &[&str], dir: &Path) -> bool {
        Command::new("mount")
            .args(args)
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    /// A tmpfs of `size` (e.g. `256k`) at `dir`.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        fs::create_dir_all(dir).unwrap();
        let opts = format!("size={size},mode=0755");
        (Self::is_root() && Self::run(&["-t", "tmpfs", "-o", &opts, "tmpfs"], dir))
            .then(|| Mount(dir.to_path_buf()))
    }

    /// `dir` bound onto itself, read-only.
    fn read_only(dir: &Path) -> Option<Mount> {
        if !Self::is_root() || !Self::run(&["--bind", dir.to_str()?], dir) {
            return None;
        }
        let m = Mount(dir.to_path_buf());
        Self::run(&["-o", "remount,ro,bind"], dir).then_some(m)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Makes every folder under `dir` unwritable without root's mount: chmod (as a user)
/// or `chattr +i` (as root, where modes do not bite). Undone by the returned closure.
fn freeze_without_mount(dir: &Path) -> Option<Box<dyn Fn()>> {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(
        Test::tree(dir)
            .iter()
            .filter_map(|r| dir.join(r).parent().map(Path::to_path_buf)),
    );
    dirs.sort();
    dirs.dedup();
    if !Mount::is_root() {
        for d in &dirs {
            fs::set_permissions(d, fs::Permissions::from_mode(0o500)).ok()?;
        }
        return Some(Box::new(move || {
            for d in &dirs {
                let _ = fs::set_permissions(d, fs::Permissions::from_mode(0o700));
            }
        }));
    }
    let chattr = |flag: &str, d: &Path| {
        Command::new("chattr")
            .arg(flag)
            .arg(d)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !dirs.iter().all(|d| chattr("+i", d)) {
        for d in &dirs {
            chattr("-i", d);
        }
        return None;
    }
    Some(Box::new(move || {
        for d in &dirs {
            chattr("-i", d);
        }
    }))
}

#[test]
fn faults_a_read_only_astra_home_is_a_clear_error_and_loses_nothing() {
    let fake = FakeOpenAi::start(Some(KEY));
    let (t, names) = vault_test(&fake);
    // One memo done first, so there is state to keep.
    let first = t.inbox.join(&names[0]);
    let others: Vec<(PathBuf, Vec<u8>)> = names[1..]
        .iter()
        .map(|n| (t.inbox.join(n), fs::read(t.inbox.join(n)).unwrap()))
        .collect();
    for (p, _) in &others {
        fs::rename(p, p.with_extension("hold")).unwrap();
    }
    t.voice_memo().success();
    assert!(all_completed(&t, &names[..1]), "{first:?}");
    for (p, _) in &others {
        fs::rename(p.with_extension("hold"), p).unwrap();
        crate::harness::age(p, 120);
    }
    let inbox = Test::snapshot(&t.inbox);
    let state = fs::read(t.home.join("state.json")).unwrap();
    let mount = Mount::read_only(&t.home);
    let frozen = match &mount {
        Some(_) => None,
        None => match freeze_without_mount(&t.home) {
            Some(undo) => Some(undo),
            None => {
                println!("faults: read-only ASTRA_HOME skipped: no mount, chmod or chattr here");
                return;
            }
        },
    };
    let how = if mount.is_some() {
        "a read-only bind mount"
    } else {
        "chmod 500 / chattr +i"
    };
    println!("faults: read-only ASTRA_HOME by {how}");
    let r = t.voice_memo();
    let err = r.stderr();
    drop(mount);
    if let Some(undo) = frozen {
        undo();
    }
    println!("faults: read-only ASTRA_HOME: {}", err.trim());
    assert_ne!(r.code(), Some(0), "{err}");
    let home = t.home.display().to_string();
    assert!(err.contains(&home), "the error names the path: {err}");
    assert!(
        err.contains("read-only") || err.contains("Read-only") || err.contains("ermission"),
        "the error says what is wrong: {err}"
    );
    assert!(err.contains("writable"), "the error says what to do: {err}");
    assert_eq!(Test::snapshot(&t.inbox), inbox, "the inbox untouched");
    assert_eq!(fs::read(t.home.join("state.json")).unwrap(), state);
    // Writable again: every memo is done, once.
    t.voice_memo().success();
    assert!(all_completed(&t, &names), "{:?}", item_statuses(&t));
    let tally = tally_vault(&t, &names);
    assert_eq!((tally.lost, tally.duplicates), (0, 0), "{tally:?}");
}

/// Fills the file system holding `dir` but for about `leave` bytes; returns the filler.
fn fill_disk(dir: &Path, leave: u64) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(leave)).unwrap();
    filler
}

/// Every memo was tried, some failed for want of space with an error naming a path,
/// state stayed whole, and once space is back every memo completes once.
fn assert_full_disk_recovers(t: &Test, names: &[String], r: &Run, free: impl FnOnce()) {
    assert_state_parses(t, "on a full disk");
    let j = r.json();
    let errors: Vec<String> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["error"].as_str().map(String::from))
        .collect();
    let text = format!("{}\n{}", errors.join("\n"), r.stderr());
    println!(
        "faults: full disk: {}",
        errors
            .iter()
            .find(|e| e.contains("No space"))
            .map_or("", |e| e)
    );
    assert!(
        text.contains("No space left on device"),
        "an ENOSPC error: {text}"
    );
    assert!(
        errors
            .iter()
            .filter(|e| e.contains("No space"))
            .all(|e| e.contains('/') && e.contains("free some space")),
        "each error names a path and what to do: {errors:#?}"
    );
    assert!(
        !all_completed(t, names),
        "the disk filled up before the end"
    );
    assert!(temp_files(&[&t.home, &t.vault]).is_empty());
    free();
    for _ in 0..3 {
        if all_completed(t, names) {
            break;
        }
        t.run("voice-memo", &["--json", "--retry-now"]);
        assert_state_parses(t, "after space came back");
    }
    assert!(all_completed(t, names), "{:?}", item_statuses(t));
    let tally = tally_vault(t, names);
    assert_eq!((tally.lost, tally.duplicates), (0, 0), "{tally:?}");
    assert!(temp_files(&[&t.home, &t.vault]).is_empty());
}

#[test]
fn faults_a_full_disk_names_the_path_and_every_memo_completes_once_space_is_back() {
    let fake = FakeOpenAi::start(Some(KEY));
    let (mut t, names) = vault_test(&fake);
    let disk = t.dir.path().join("disk");
    let Some(mount) = Mount::tmpfs(&disk, "1m") else {
        println!("faults: full disk: cannot mount a tmpfs here; see the injected variant");
        return;
    };
    t.home = disk.join("astra-home");
    t.vault = disk.join("vault");
    t.write_config();
    let filler = fill_disk(&disk, 48 * 1024);
    let r = t.voice_memo();
    println!("faults: full disk (tmpfs): {}", r.json()["message"]);
    assert_full_disk_recovers(&t, &names, &r, || fs::remove_file(&filler).unwrap());
    // Kept until here: the tmpfs holds the test's files.
    drop(mount);
}

#[test]
fn faults_an_injected_write_error_names_the_path_and_every_memo_completes_later() {
    let fake = FakeOpenAi::start(Some(KEY));
    let (t, names) = vault_test(&fake);
    let t = t.env("ASTRA_TEST_FAIL_WRITES_AFTER", "12");
    let r = t.voice_memo();
    let t = t.env("ASTRA_TEST_FAIL_WRITES_AFTER", "");
    assert_full_disk_recovers(&t, &names, &r, || ());
}

#[test]
fn faults_a_state_file_that_is_not_json_stops_the_run_untouched() {
    let fake = FakeOpenAi::start(Some(KEY));
    let (t, _) = vault_test(&fake);
    t.write_config();
    let state = t.home.join("state.json");
    fs::write(&state, b"{\"jobs\": {\"voiceMemo\": [oops").unwrap();
    let inbox = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.code_is(2);
    let err = r.stderr();
    assert!(err.contains(&state.display().to_string()), "{err}");
    assert!(
        err.contains("cannot be parsed") && err.contains("repair it"),
        "{err}"
    );
    assert_eq!(
        fs::read(&state).unwrap(),
        b"{\"jobs\": {\"voiceMemo\": [oops"
    );
    assert_eq!(Test::snapshot(&t.inbox), inbox);
    assert!(!t.vault.exists(), "nothing written");
    assert!(fake.calls().is_empty(), "no service called");
}

#[test]
fn faults_a_config_with_a_wrong_type_names_the_key_and_touches_nothing() {
    let t = Test::new()
        .memo("a.wav", "note hello there")
        .vm("max_attempts = \"five\"");
    let inbox = Test::snapshot(&t.inbox);
    let r = t.voice_memo();
    r.code_is(2);
    let err = r.stderr();
    assert!(err.contains("max_attempts"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
    assert!(!t.home.join("state.json").exists());
    assert_eq!(Test::snapshot(&t.inbox), inbox);
}

#[test]
fn faults_a_missing_ffmpeg_fails_that_memo_with_how_to_install_and_the_run_goes_on() {
    let empty = tempfile::tempdir().unwrap();
    let t = Test::new()
        .memo("a.wav", "note the sidecar one still works")
        .audio("b.wav", &crate::harness::wav_bytes("b", 800))
        .config("[transcription]\ncommand = [\"/bin/cat\", \"{input_wav}\"]\n")
        .env("PATH", &empty.path().display().to_string());
    let r = t.voice_memo();
    r.code_is(1);
    assert_eq!(t.item("a.wav")["status"], "completed");
    let b = t.item("b.wav");
    assert_eq!(b["status"], "retrying", "{b}");
    let e = b["last_error"].as_str().unwrap();
    assert!(e.contains("ffmpeg") && e.contains("not found"), "{e}");
    assert!(e.contains("apt install ffmpeg"), "how to install it: {e}");
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A program run with only `ASTRA_HOME` and `PATH` (the harness would make the home).
fn bare(program: &str, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(crate::harness::bin(program));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.parent().unwrap())
        .env("ASTRA_HOME", home)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn faults_astra_home_is_0700_and_state_config_history_logs_are_0600() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let t = Test::new().memo("20260114 080000-M1.wav", "Todo renew the passport.");
    let home = t.dir.path().join("fresh-home");
    let init = bare("astra", &home, &["init"], &[]);
    assert!(init.status.success(), "{}", output_text(&init));
    assert_eq!(mode(&home), 0o700, "ASTRA_HOME made by astra init");
    let config = home.join("config.toml");
    assert_eq!(mode(&config), 0o600);
    // A config the user wrote with a wide mode is private again once astra rewrites it.
    fs::write(
        &config,
        format!(
            "[voice_memo]\ninbox = \"{}\"\nsettle_seconds = 0\n\n[sync]\ntarget = \"notion\"\n\n[sync.notion]\nbase_url = \"{}\"\nparent_page_id = \"{parent}\"\n",
            t.inbox.display(),
            fake.url
        ),
    )
    .unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
    let setup = bare(
        "astra",
        &home,
        &["notion", "setup"],
        &[("NOTION_TOKEN", TOKEN)],
    );
    assert!(setup.status.success(), "{}", output_text(&setup));
    assert_eq!(mode(&config), 0o600, "config.toml after astra notion setup");
    // A home others could enter is made private by the next run.
    fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
    let run = bare(
        "voice-memo",
        &home,
        &["--json", "-v"],
        &[("NOTION_TOKEN", TOKEN)],
    );
    assert!(run.status.success(), "{}", output_text(&run));
    assert_eq!(mode(&home), 0o700);
    for f in [
        "state.json",
        "history.jsonl",
        "locks/voice-memo.lock",
        "state.json.lock",
    ] {
        assert_eq!(mode(&home.join(f)), 0o600, "{f}");
    }
    let logs = Test::tree(&home.join("logs"));
    assert!(!logs.is_empty(), "a log file");
    for l in &logs {
        assert_eq!(mode(&home.join("logs").join(l)), 0o600, "logs/{l}");
    }
    for d in ["logs", "locks", "cache"] {
        assert_eq!(mode(&home.join(d)), 0o700, "{d}/");
    }
}

#[test]
fn faults_no_secret_of_any_service_reaches_a_file_or_an_output() {
    const SLACK: &str = "/services/T0FAULT/B0FAULT/slackSECRETxyz";
    const DISCORD: &str = "/api/webhooks/123/discordSECRETabc";
    const HOOK: &str = "/hook/genericSECRETdef";
    const PING: &str = "/ping/healthSECRETuuid";
    const SMTP_PASSWORD: &str = "smtpSECRETpassword42";
    let (slack, hc) = (Recorder::start(200), Recorder::start(200));
    let smtp = Smtp::start();
    let openai = FakeOpenAi::start(Some(KEY));
    openai.faults(Faults {
        rate: 0.3,
        only_500: true,
        ..Faults::default()
    });
    let notion = FakeNotion::start();
    let parent = notion.add_page("Astra", true);
    let keys = crate::notion::databases(&notion, &parent);
    notion.set_rate(50.0, 50.0);
    notion.set_faults(0.2);
    let alerts = format!(
        "[alerts]\nslack_webhook_env = \"F_SLACK\"\ndiscord_webhook_env = \"F_DISCORD\"\nwebhook_env = \"F_HOOK\"\nhealthcheck_url_env = \"F_HC\"\nthrottle_minutes = 0\nemail_to = [\"me@example.com\"]\nemail_from = \"astra <astra@example.com>\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\nsmtp_username_env = \"F_SMTP_USER\"\nsmtp_password_env = \"F_SMTP_PASSWORD\"\n",
        smtp.port
    );
    let t = Test::new()
        .vm("max_attempts = 1")
        .config(&format!(
            "[transcription]\nprovider = \"openai\"\nbase_url = \"{0}\"\n\n[organization]\nprovider = \"openai\"\nbase_url = \"{0}\"\n",
            openai.url
        ))
        .config(&notion.config(&keys))
        .config(&alerts)
        .env("OPENAI_API_KEY", KEY)
        .env("NOTION_TOKEN", TOKEN)
        .env("F_SLACK", &format!("{}{SLACK}", slack.url))
        .env("F_DISCORD", &format!("{}{DISCORD}", slack.url))
        .env("F_HOOK", &format!("{}{HOOK}", slack.url))
        .env("F_HC", &format!("{}{PING}", hc.url))
        .env("F_SMTP_USER", "astra")
        .env("F_SMTP_PASSWORD", SMTP_PASSWORD);
    let memos = memos();
    for (k, (name, text)) in memos.iter().take(4).enumerate() {
        let hz = 400 + 60 * k as u32;
        openai.hears(hz, text);
        t.add_audio(
            name,
            &tone_wav(&[(None, 0.3), (Some(hz), 1.0), (None, 0.3)]),
        );
    }
    t.add_audio("noise.m4a", b"not audio at all");
    let mut outputs = String::new();
    let collect = |outputs: &mut String, r: Run| {
        outputs.push_str(&r.stdout());
        outputs.push_str(&r.stderr());
    };
    collect(
        &mut outputs,
        t.run("voice-memo", &["--json", "-vv", "--retry-now"]),
    );
    collect(
        &mut outputs,
        t.run("voice-memo", &["--json", "-v", "--retry-now"]),
    );
    // Refused keys: the 401 paths.
    let wrong = t
        .command("voice-memo")
        .env("OPENAI_API_KEY", "sk-wrongSECRETkey000111222")
        .env("NOTION_TOKEN", "secret_wrongNOTIONtoken999")
        .args(["--json", "-vv", "--retry-now"])
        .output()
        .unwrap();
    outputs.push_str(&output_text(&wrong));
    t.add_memo("20260115 090000-Z9.wav", "Todo water the plants.");
    let wrong_notion = t
        .command("voice-memo")
        .env("NOTION_TOKEN", "secret_wrongNOTIONtoken999")
        .args(["--json", "-vv"])
        .output()
        .unwrap();
    outputs.push_str(&output_text(&wrong_notion));
    for args in [
        &["jobs", "show", "voice-memo", "--json"][..],
        &["jobs", "history", "-n", "50"][..],
        &["failed", "list", "--json"][..],
        &["doctor", "--json"][..],
        &["alert", "test", "--json"][..],
        &["notion", "setup", "--json"][..],
    ] {
        collect(&mut outputs, t.run("astra", args));
    }
    assert!(!slack.hits().is_empty(), "alerts went out");
    assert!(!hc.hits().is_empty(), "pings went out");
    let secrets = [
        KEY,
        TOKEN,
        "sk-wrongSECRETkey000111222",
        "secret_wrongNOTIONtoken999",
        SLACK,
        DISCORD,
        HOOK,
        PING,
        SMTP_PASSWORD,
        "SECRET",
    ];
    assert_no_secret(&t, &outputs, &secrets);
}

/// Keys stored with `astra secrets set` (the file store) and used by runs that have
/// no key in their environment: they appear in `secrets.env` and nowhere else — not
/// in state, logs, history, the cache, any crontab line, launchd agent or systemd
/// unit, nor in any output.
#[test]
fn faults_a_stored_key_reaches_no_file_schedule_or_output_but_its_store() {
    let openai = FakeOpenAi::start(Some(KEY));
    let notion = FakeNotion::start();
    let parent = notion.add_page("Astra", true);
    let keys = crate::notion::databases(&notion, &parent);
    let (t, _fake) = crate::schedule::scheduled();
    let t = t
        .config(&format!(
            "[organization]\nprovider = \"openai\"\nbase_url = \"{}\"\n",
            openai.url
        ))
        .config(&notion.config(&keys))
        .env("ASTRA_SECRETS_BACKEND", "file");
    let memos = memos();
    for (name, text) in memos.iter().take(3) {
        t.add_memo(name, text);
    }
    let mut outputs = String::new();
    for (name, value) in [("NOTION_TOKEN", TOKEN), ("OPENAI_API_KEY", KEY)] {
        let mut child = t
            .command("astra")
            .args(["secrets", "set", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(value.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", output_text(&out));
        outputs.push_str(&output_text(&out));
    }
    let run = t.run("voice-memo", &["--json", "-vv"]);
    outputs.push_str(&run.stdout());
    outputs.push_str(&run.stderr());
    run.success();
    assert_eq!(run.json()["stats"]["processed"], 3, "{}", run.stdout());
    assert!(
        !notion.pages_with_source(&memos[0].0).is_empty(),
        "synced with the stored token"
    );
    assert!(
        !openai.ok_calls("chat").is_empty(),
        "organized with the stored key"
    );
    let journal = t.run("journal", &["--json", "-v"]);
    outputs.push_str(&journal.stdout());
    outputs.push_str(&journal.stderr());
    for args in [
        &["secrets", "list"][..],
        &["secrets", "list", "--json"][..],
        &["doctor", "--json"][..],
        &["doctor"][..],
        &["jobs", "history", "--json"][..],
        &["jobs", "show", "voice-memo", "--json"][..],
        &["notion", "setup", "--json"][..],
        &["schedule", "print", "--cron"][..],
        &["schedule", "print", "--launchd"][..],
        &["schedule", "print", "--systemd"][..],
        &["schedule", "install", "--cron"][..],
        &["schedule", "install", "--launchd"][..],
        &["schedule", "install", "--systemd"][..],
    ] {
        let r = t.run("astra", args);
        outputs.push_str(&r.stdout());
        outputs.push_str(&r.stderr());
    }
    let agents = t.dir.path().join("Library/LaunchAgents");
    assert!(
        Test::tree(&agents).iter().any(|f| f.ends_with(".plist")),
        "launchd agents written"
    );
    let store = t.home.join("secrets.env");
    let text = fs::read_to_string(&store).unwrap();
    assert!(
        text.contains(TOKEN) && text.contains(KEY),
        "the store holds them"
    );
    assert_eq!(
        fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_no_secret(&t, &outputs, &[KEY, TOKEN]);
}
