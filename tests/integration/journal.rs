//! The journal job end to end: catch-up over missed days, idempotent reruns, late
//! entries, waiting for a running voice-memo, the weekly review, failures and flags.
use crate::harness::Test;
use chrono::{Datelike, Days, NaiveDate, Utc};
use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// No weekly review unless a test asks for one.
const NO_WEEKLY: &str = "[journal]\nweekly_review_day = \"\"\n";

/// Today in the harness's zone (`TZ=Europe/Paris`).
fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

fn days_ago(n: u64) -> NaiveDate {
    today() - Days::new(n)
}

/// A fixture day from `tests/fixtures/journal/`, moved to `date`.
fn fixture(name: &str, date: NaiveDate) -> String {
    let path = format!(
        "{}/tests/fixtures/journal/{name}.md",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = fs::read_to_string(&path).unwrap();
    let old: NaiveDate = name.parse().unwrap();
    text.replace(&old.to_string(), &date.to_string()).replace(
        &old.format("# %B %-d, %Y").to_string(),
        &date.format("# %B %-d, %Y").to_string(),
    )
}

/// A day file as voice-memo writes it, one entry per `(time, text)`.
fn day_text(date: NaiveDate, entries: &[(&str, &str)]) -> String {
    let mut s = format!(
        "---\ndate: {date}\nprocessed: false\n---\n\n# {}\n",
        date.format("%B %-d, %Y")
    );
    for (i, (time, text)) in entries.iter().enumerate() {
        s.push_str(&format!(
            "\n### {time}\n<!-- astra:{i:012}:j0 -->\n\n{text}\n"
        ));
    }
    s
}

trait JournalTest {
    fn day(self, date: NaiveDate, text: &str) -> Self;
    fn put_day(&self, date: NaiveDate, text: &str);
    fn journal_path(&self, date: NaiveDate) -> String;
    fn journal_day(&self, date: NaiveDate) -> String;
    fn journal(&self, args: &[&str]) -> crate::harness::Run;
}

impl JournalTest for Test {
    fn day(self, date: NaiveDate, text: &str) -> Test {
        self.put_day(date, text);
        self
    }

    fn put_day(&self, date: NaiveDate, text: &str) {
        fs::create_dir_all(self.vault.join("Journal")).unwrap();
        fs::write(self.vault.join(self.journal_path(date)), text).unwrap();
    }

    fn journal_path(&self, date: NaiveDate) -> String {
        format!("Journal/{date}.md")
    }

    fn journal_day(&self, date: NaiveDate) -> String {
        self.vault_file(&self.journal_path(date))
    }

    /// `journal --json` plus `args`.
    fn journal(&self, args: &[&str]) -> crate::harness::Run {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run("journal", &all)
    }
}

#[test]
fn catch_up_summarises_every_missed_day_but_not_today() {
    let t = Test::new()
        .config(NO_WEEKLY)
        .day(days_ago(6), &fixture("2026-01-14", days_ago(6)))
        .day(days_ago(3), &fixture("2026-01-17", days_ago(3)))
        .day(days_ago(2), &fixture("2026-01-18", days_ago(2)))
        .day(
            today(),
            &day_text(today(), &[("8:00 AM", "Today is not over yet.")]),
        );
    let today_before = t.journal_day(today());
    let r = t.run("journal", &[]);
    r.success();
    assert!(
        r.stderr()
            .starts_with("journal: 3 new, 3 done, 0 failed in "),
        "one summary line under cron: {}",
        r.stderr()
    );
    for n in [6, 3, 2] {
        let text = t.journal_day(days_ago(n));
        assert!(text.contains("\nprocessed: true\n"), "{text}");
        assert_eq!(text.matches("## Summary").count(), 1, "{text}");
        assert!(text.contains("\nmood: "), "{text}");
        assert!(text.contains("\nthemes:\n  - "), "{text}");
    }
    let workday = t.journal_day(days_ago(6));
    assert!(
        workday.contains("I realized I have been carrying the whole launch alone"),
        "{workday}"
    );
    assert_eq!(t.journal_day(today()), today_before, "today has not ended");
    let s = t.state();
    let j = &s["jobs"]["journalProcessing"];
    assert!(j["lastRun"].is_string(), "{j}");
    let days = j["days"].as_object().unwrap();
    assert_eq!(days.len(), 3, "{j}");
    let rec = &days[&days_ago(6).to_string()];
    assert!(rec["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert!(rec["summarized_at"].is_string());
    assert_eq!(rec["entries"], 4);
}

#[test]
fn a_rerun_changes_no_byte() {
    let t = Test::new()
        .config(NO_WEEKLY)
        .day(days_ago(1), &fixture("2026-01-14", days_ago(1)));
    t.journal(&[]).success();
    let vault = Test::snapshot(&t.vault);
    let r = t.journal(&[]);
    r.success();
    let j = r.json();
    assert_eq!(j["stats"]["found"], 0, "{j}");
    assert_eq!(j["message"], "Nothing to do");
    assert_eq!(Test::snapshot(&t.vault), vault);
    // Forcing the day rebuilds the same summary: still not a byte changed.
    let r = t.journal(&["--day", &days_ago(1).to_string()]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1);
    assert_eq!(Test::snapshot(&t.vault), vault);
}

#[test]
fn a_late_entry_resummarises_and_replaces_the_summary() {
    let day = days_ago(1);
    let t = Test::new().config(NO_WEEKLY).day(
        day,
        &day_text(
            day,
            &[("9:00 AM", "Quiet morning with a book about birds.")],
        ),
    );
    t.journal(&[]).success();
    assert!(
        t.journal_day(day)
            .contains("\nQuiet morning with a book about birds.\n\n_")
    );
    // An entry added by hand, `processed` left true: the fingerprint notices.
    let mut text = t.journal_day(day);
    text.push_str("\n### 11:00 AM\n\nThe garden birds came back to the feeder and the robins were everywhere. Robins fight over the feeder all day. I noticed the robins only come when the feeder is full.\n");
    t.put_day(day, &text);
    let r = t.journal(&[]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1, "{}", r.stdout());
    let text = t.journal_day(day);
    assert_eq!(text.matches("<!-- astra:summary -->").count(), 1, "{text}");
    assert_eq!(text.matches("## Summary").count(), 1, "{text}");
    assert!(
        text.contains("- I noticed the robins only come when the feeder is full.\n"),
        "{text}"
    );
    // An entry from voice-memo, which turns `processed` back to false.
    let stamp = format!("{} 213000-CCCC3333.wav", day.format("%Y%m%d"));
    t.add_memo(
        &stamp,
        "Journal. Tonight I felt calm and grateful for the robins and the quiet garden.",
    );
    t.voice_memo().success();
    assert!(t.journal_day(day).contains("\nprocessed: false\n"));
    let r = t.journal(&[]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1);
    let text = t.journal_day(day);
    assert_eq!(text.matches("## Summary").count(), 1, "{text}");
    assert_eq!(text.matches("processed:").count(), 1, "{text}");
    assert!(text.contains("\nprocessed: true\n"), "{text}");
    assert!(text.contains("### 9:30 PM"), "{text}");
}

#[test]
fn journal_waits_for_a_running_voice_memo() {
    let day = days_ago(1);
    let t = Test::new().config(NO_WEEKLY).day(
        day,
        &day_text(day, &[("9:00 AM", "A day worth a summary.")]),
    );
    t.write_config();
    fs::create_dir_all(t.home.join("locks")).unwrap();
    let lock = fs::File::create(t.home.join("locks/voice-memo.lock")).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let mut child = t
        .command("journal")
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.try_wait().unwrap().is_none(),
        "journal waits while voice-memo runs"
    );
    assert!(!t.journal_day(day).contains("processed: true"));
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() >= Duration::from_millis(1000));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["stats"]["processed"], 1, "{j}");
    assert!(j["stages"]["wait"]["ms"].as_u64().unwrap() >= 800, "{j}");
    assert!(t.journal_day(day).contains("processed: true"));
}

#[test]
fn a_wait_past_timeout_seconds_fails_clearly() {
    let day = days_ago(1);
    let t = Test::new()
        .config(NO_WEEKLY)
        .config("[jobs.journalProcessing]\ntimeout_seconds = 1\n")
        .day(
            day,
            &day_text(day, &[("9:00 AM", "A day worth a summary.")]),
        );
    let before = t.journal_day(day);
    t.write_config();
    fs::create_dir_all(t.home.join("locks")).unwrap();
    let lock = fs::File::create(t.home.join("locks/voice-memo.lock")).unwrap();
    lock.lock().unwrap();
    let r = t.journal(&[]);
    r.code_is(1);
    let j = r.json();
    assert_eq!(j["status"], "failed");
    let msg = j["message"].as_str().unwrap();
    assert!(
        msg.contains("voice-memo is still running after 1s"),
        "{msg}"
    );
    assert!(r.stderr().contains("timeout_seconds"), "{}", r.stderr());
    assert_eq!(t.journal_day(day), before, "nothing written");
    drop(lock);
}

#[test]
fn the_weekly_review_sums_up_the_week_once() {
    // The review day is yesterday's weekday: the week is the seven days ending yesterday.
    let end = days_ago(1);
    let weekday = format!("{:?}", end.weekday()).to_lowercase();
    let t = Test::new()
        .config(&format!("[journal]\nweekly_review_day = \"{weekday}\"\n"))
        .day(days_ago(4), &fixture("2026-01-14", days_ago(4)))
        .day(days_ago(2), &fixture("2026-01-17", days_ago(2)))
        .day(days_ago(1), &fixture("2026-01-18", days_ago(1)))
        .day(
            days_ago(9),
            &day_text(days_ago(9), &[("9:00 AM", "Last week, not this one.")]),
        );
    fs::create_dir_all(&t.vault).unwrap();
    fs::write(
        t.vault.join("Todos.md"),
        "# Todos\n\n- [ ] Book the launch retro room 📅 2026-01-19 ⏫ ^astra-aaaa-t0\n- [x] Buy oranges ^astra-bbbb-t0\n",
    )
    .unwrap();
    let mid = (end - Days::new(3)).iso_week();
    let label = format!("{}-W{:02}", mid.year(), mid.week());
    let r = t.journal(&[]);
    r.success();
    let j = r.json();
    assert_eq!(j["stats"]["found"], 5, "four days and the week: {j}");
    assert_eq!(j["stats"]["processed"], 5, "{j}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains(&format!("weekly review {label}")),
        "{j}"
    );
    let week = t.vault_file(&format!("Journal/{label}.md"));
    assert!(
        week.starts_with(&format!(
            "---\nweek: {label}\nstart: {}\nend: {end}\n---\n",
            end - Days::new(6)
        )),
        "{week}"
    );
    assert_eq!(
        week.matches("\n- [[").count(),
        3,
        "one line per day with entries: {week}"
    );
    assert!(!week.contains(&days_ago(9).to_string()), "{week}");
    assert!(week.contains("### Moods\n"), "{week}");
    assert!(
        week.contains("- Book the launch retro room 📅 2026-01-19 ⏫\n"),
        "{week}"
    );
    assert!(
        !week.contains("Buy oranges") && !week.contains("^astra-"),
        "{week}"
    );
    assert!(week.contains("launch"), "the week's theme: {week}");
    let vault = Test::snapshot(&t.vault);
    let r = t.journal(&[]);
    r.success();
    assert_eq!(r.json()["stats"]["found"], 0);
    assert_eq!(Test::snapshot(&t.vault), vault, "idempotent");
    assert!(t.state()["jobs"]["journalProcessing"]["weeks"][&label]["fingerprint"].is_string());
}

#[test]
fn an_unreadable_day_fails_alone() {
    let t = Test::new().config(NO_WEEKLY).day(
        days_ago(2),
        &day_text(days_ago(2), &[("9:00 AM", "A fine, ordinary day at work.")]),
    );
    fs::write(
        t.vault.join(t.journal_path(days_ago(1))),
        b"---\n\xff\xfe broken\n",
    )
    .unwrap();
    let r = t.journal(&[]);
    r.code_is(1);
    let j = r.json();
    assert_eq!(j["status"], "partial");
    assert_eq!(j["stats"]["found"], 2);
    assert_eq!(j["stats"]["processed"], 1);
    assert_eq!(j["stats"]["failed"], 1);
    let failed: Vec<_> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["file"], t.journal_path(days_ago(1)).as_str());
    assert!(
        failed[0]["error"].as_str().unwrap().contains("reading"),
        "{j}"
    );
    assert!(t.journal_day(days_ago(2)).contains("processed: true"));
}

#[test]
fn dry_run_reports_the_days_and_writes_nothing() {
    let weekday = format!("{:?}", days_ago(1).weekday()).to_lowercase();
    let t = Test::new()
        .config(&format!("[journal]\nweekly_review_day = \"{weekday}\"\n"))
        .day(days_ago(2), &fixture("2026-01-17", days_ago(2)))
        .day(days_ago(1), &fixture("2026-01-18", days_ago(1)));
    let vault = Test::snapshot(&t.vault);
    let r = t.journal(&["--dry-run"]);
    r.success();
    let j = r.json();
    let msg = j["message"].as_str().unwrap();
    assert!(msg.contains(&format!("{} (new)", days_ago(2))), "{msg}");
    assert!(msg.contains(&format!("{} (new)", days_ago(1))), "{msg}");
    assert!(msg.contains("weekly review"), "{msg}");
    assert_eq!(Test::snapshot(&t.vault), vault);
    assert_eq!(
        Test::tree(&t.home),
        ["config.toml"],
        "no state, history or lock"
    );
}

#[test]
fn forcing_today_and_a_missing_day() {
    let t = Test::new().config(NO_WEEKLY).day(
        today(),
        &day_text(
            today(),
            &[("8:00 AM", "Started the morning with a long swim.")],
        ),
    );
    let r = t.journal(&["--today"]);
    r.success();
    assert_eq!(r.json()["stats"]["processed"], 1);
    assert!(
        t.journal_day(today())
            .contains("Started the morning with a long swim.\n\n_")
    );
    let r = t.run("journal", &["--day", "2001-02-03"]);
    r.code_is(2);
    assert!(
        r.stderr().contains("Journal/2001-02-03.md does not exist"),
        "{}",
        r.stderr()
    );
    t.run("journal", &["--day", "yesterday"]).code_is(2);
    t.run("journal", &["--day", "2026-01-01", "--today"])
        .code_is(2);
}

#[test]
fn an_openai_summary_provider_without_its_key_is_a_usage_error() {
    let t = Test::new().config("[journal]\nsummary_provider = \"openai\"\n");
    let r = t.run("journal", &[]);
    r.code_is(2);
    assert!(
        r.stderr().contains("OPENAI_API_KEY is not set"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_day_ends_in_the_configured_zone_or_the_systems() {
    // 25 hours apart: today in Pago Pago has already ended in Kiritimati.
    let d = Utc::now()
        .with_timezone(&chrono_tz::Pacific::Pago_Pago)
        .date_naive();
    let text = day_text(d, &[("9:00 AM", "Flew over the date line and lost a day.")]);
    let west = Test::new()
        .config(NO_WEEKLY)
        .day(d, &text)
        .env("TZ", "Pacific/Pago_Pago");
    assert_eq!(
        west.journal(&[]).json()["stats"]["found"],
        0,
        "not over in TZ's zone"
    );
    let east = Test::new()
        .config(NO_WEEKLY)
        .day(d, &text)
        .env("TZ", "Pacific/Kiritimati");
    assert_eq!(
        east.journal(&[]).json()["stats"]["processed"],
        1,
        "over in TZ's zone"
    );
    let configured = Test::new()
        .config("[journal]\nweekly_review_day = \"\"\ntime_zone = \"Pacific/Kiritimati\"\n")
        .day(d, &text)
        .env("TZ", "Pacific/Pago_Pago");
    assert_eq!(
        configured.journal(&[]).json()["stats"]["processed"],
        1,
        "time_zone wins over TZ"
    );
}

#[test]
fn the_command_line_grammar() {
    let t = Test::new().config(NO_WEEKLY);
    let table: &[(&[&str], i32)] = &[
        (&[], 0),
        (&["--dry-run", "--json"], 0),
        (&["--today"], 0),
        (&["--today", "-v"], 0),
        (&["--day", "2026-02-30"], 2),
        (&["--day"], 2),
        (&["--day", "2026-01-01", "--today"], 2),
        (&["-v", "-q"], 2),
        (&["--weekly"], 2),
        (&["extra"], 2),
    ];
    for (args, code) in table {
        let r = t.run("journal", args);
        assert_eq!(r.code(), Some(*code), "journal {args:?}: {}", r.stderr());
    }
}
