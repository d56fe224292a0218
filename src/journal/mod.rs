//! The journal job: each finished day's entries get a summary, a mood and themes at
//! the top of the day; on the review day, a weekly review. Runs after voice-memo.
//!
//! One run: wait for the jobs in `after` (holding their locks) → list the days → pick
//! the due ones (`days`) → summarise each (`Summarizer`) → write it (`JournalStore`) →
//! record what it was built from in state → the weekly review → `lastRun`.
pub mod days;
pub mod extractive;
pub mod gemini;
pub mod markdown;
pub mod model;
pub mod notion;
pub mod openai;
mod wait;
pub mod weekly;

use crate::config::{Config, SummaryProvider, SyncTarget};
use crate::exit::usage;
use crate::run::lifecycle::{Job, JobId, Outcome, RunContext};
use crate::run::result::{ItemResult, Stages, Stats};
use crate::state::{DayRecord, JournalState, Outputs};
use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use days::{DayStatus, Reason, Zone};
use model::{Day, DaySummary, JournalStore, Summarizer, Written};
use std::time::{Duration, Instant};
use weekly::WeekSpan;

/// The job's names in state/history and on the command line.
pub const JOB: JobId = &crate::jobs::JOURNAL;

/// A day asked for on the command line, due or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    /// `--day YYYY-MM-DD`.
    Day(NaiveDate),
    /// `--today` (in `journal.time_zone`).
    Today,
}

/// The journal job; `force` summarises one day instead of the due ones.
#[derive(Debug, Default, Clone, Copy)]
pub struct JournalJob {
    pub force: Option<Force>,
}

impl Job for JournalJob {
    fn id(&self) -> JobId {
        JOB
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<Outcome> {
        let zone = Zone::from_config(&ctx.config.journal.time_zone)?;
        Run::new(ctx, zone.today(Utc::now()))?.go(self.force)
    }
}

/// The summarizer `journal.summary_provider` names.
pub fn summarizer_for(config: &Config) -> Result<Box<dyn Summarizer>> {
    match config.journal.summary_provider {
        SummaryProvider::Extractive => Ok(Box::new(extractive::Extractive)),
        SummaryProvider::Openai => Ok(Box::new(openai::OpenAiSummarizer::from_config(
            &config.journal_llm(),
        )?)),
        SummaryProvider::Gemini => Ok(Box::new(gemini::GeminiSummarizer::from_config(
            &config.journal_gemini(),
        )?)),
    }
}

/// The journal store `sync.target` names (`config_path` is where new Notion database
/// ids are written; `read_only`: a dry run, which never sets Notion up).
pub fn store_for(
    config: &Config,
    config_path: &std::path::Path,
    read_only: bool,
) -> Result<Box<dyn JournalStore>> {
    match config.sync.target {
        SyncTarget::Markdown => Ok(Box::new(markdown::MarkdownStore::new(
            config.sync.markdown.dir.clone(),
        ))),
        SyncTarget::Notion => Ok(Box::new(notion::NotionStore::from_config(
            &config.sync.notion,
            config_path,
            read_only,
        )?)),
    }
}

/// A day picked for this run.
struct Due {
    day: Day,
    reason: Reason,
}

/// One run's working set.
struct Run<'a> {
    ctx: &'a RunContext<'a>,
    today: NaiveDate,
    store: Box<dyn JournalStore>,
    summarizer: Box<dyn Summarizer>,
    state: JournalState,
    stages: Stages,
    stats: Stats,
    /// Days found due or unreadable (the weekly review aside).
    days_found: u64,
    items: Vec<ItemResult>,
    /// Why there was nothing to do, when it is worth saying (`--today` with no entry).
    idle: Option<String>,
}

impl<'a> Run<'a> {
    fn new(ctx: &'a RunContext<'a>, today: NaiveDate) -> Result<Run<'a>> {
        Ok(Run {
            ctx,
            today,
            store: store_for(ctx.config, &ctx.paths.config, ctx.opts.dry_run)?,
            summarizer: summarizer_for(ctx.config)?,
            state: JournalState::default(),
            stages: Stages::default(),
            stats: Stats::default(),
            days_found: 0,
            items: Vec::new(),
            idle: None,
        })
    }

    fn go(mut self, force: Option<Force>) -> Result<Outcome> {
        let _held = self.wait_for_writers()?;
        self.state = self.ctx.state.load_job(JOB.name)?;
        let started = Instant::now();
        let due = self.due_days(force)?;
        self.stages.add("read", ms(started));
        let week = match force {
            None => self.due_week()?,
            Some(_) => None,
        };
        self.days_found += due.len() as u64;
        self.stats.found += (due.len() + usize::from(week.is_some())) as u64;
        if self.ctx.opts.dry_run {
            return Ok(self.dry_run(&due, week.as_ref()));
        }
        if !due.is_empty() || week.is_some() {
            self.ctx.begin_work()?;
        }
        let summarised = self.summarise_days(due);
        let week_label = match week {
            Some(span) => self.review_week(&span),
            None => None,
        };
        self.ctx
            .state
            .update_job(JOB.name, |s: &mut JournalState| {
                s.last_run = Some(Utc::now());
            })?;
        self.stats.tokens = self.summarizer.spent();
        let message = self.message(summarised, week_label.as_deref());
        Ok(Outcome {
            message,
            stats: self.stats,
            stages: self.stages,
            items: self.items,
        })
    }

    /// Waits for running voice-memo (the jobs in `after`) and holds their locks; a
    /// dry run does not wait.
    fn wait_for_writers(&mut self) -> Result<wait::Held> {
        if self.ctx.opts.dry_run {
            return Ok(wait::Held::default());
        }
        let started = Instant::now();
        let settings = self.ctx.config.job(JOB);
        let interactive = self.ctx.interactive;
        let held = wait::wait_for(
            self.ctx.paths,
            &settings.after,
            Duration::from_secs(settings.timeout_seconds),
            &mut |job| {
                tracing::info!(job, "waiting for the running job to finish");
                if interactive {
                    eprintln!("journal: waiting for {job} to finish…");
                }
            },
        )?;
        self.stages.add("wait", ms(started));
        Ok(held)
    }

    /// The days to summarise: the forced one, or every due day. A day that cannot be
    /// read is a failed item; the others go on.
    fn due_days(&mut self, force: Option<Force>) -> Result<Vec<Due>> {
        if let Some(f) = force {
            return self.forced_day(f);
        }
        let listed = self.store.list_days()?;
        let mut due = Vec::new();
        for date in days::ended(&listed, self.today) {
            if self.unchanged_since_summary(date) {
                continue;
            }
            match self.store.load_day(date) {
                Ok(Some(day)) => {
                    let status = DayStatus {
                        date,
                        processed: day.processed,
                        entries: day.entries.len(),
                        fingerprint: day.fingerprint(),
                    };
                    if let Some(reason) = days::reason(&status, self.today, &self.state.days) {
                        due.push(Due { day, reason });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    self.stats.found += 1;
                    self.days_found += 1;
                    self.fail(date, &e);
                }
            }
        }
        Ok(due)
    }

    /// A day this job summarised that the store says has not changed since: not read.
    fn unchanged_since_summary(&self, date: NaiveDate) -> bool {
        self.state
            .days
            .get(&date.to_string())
            .is_some_and(|r| !self.store.may_have_changed(date, r.summarized_at))
    }

    fn forced_day(&mut self, force: Force) -> Result<Vec<Due>> {
        let date = match force {
            Force::Day(d) => d,
            Force::Today => self.today,
        };
        let location = self.store.day_location(date);
        match self.store.load_day(date) {
            Ok(Some(day)) if !day.entries.is_empty() => Ok(vec![Due {
                day,
                reason: Reason::Forced,
            }]),
            Ok(Some(_)) | Ok(None) if force == Force::Today => {
                self.idle = Some(format!(
                    "Nothing to do: no journal entry today ({date}) yet in {location}"
                ));
                Ok(Vec::new())
            }
            Ok(Some(_)) => Ok(Vec::new()),
            Ok(None) => Err(usage(format!(
                "--day {date}: there is no journal for that day ({location} does not exist)"
            ))),
            Err(e) => {
                self.stats.found += 1;
                self.days_found += 1;
                self.fail(date, &e);
                Ok(Vec::new())
            }
        }
    }

    /// Summarises and writes each due day; returns how many were summarised.
    fn summarise_days(&mut self, due: Vec<Due>) -> u64 {
        let mut done = 0;
        for d in due {
            let date = d.day.date;
            match self.summarise(&d) {
                Ok((written, summary)) => {
                    let changed = written == Written::Changed;
                    let mood = summary.mood.as_str();
                    tracing::info!(day = %date, reason = d.reason.as_str(), changed, mood, "summarised");
                    if self.ctx.interactive {
                        let themes = summary.themes.join(", ");
                        eprintln!("  ✓ {date} ({}): {mood}; {themes}", d.reason.as_str());
                    }
                    done += 1;
                    self.stats.processed += 1;
                    let location = self.store.day_location(date);
                    self.items
                        .push(item(&date.to_string(), &location, "completed", None));
                }
                Err(e) => self.fail(date, &e),
            }
        }
        done
    }

    fn summarise(&mut self, due: &Due) -> Result<(Written, DaySummary)> {
        let fingerprint = due.day.fingerprint();
        let started = Instant::now();
        let summary = self
            .summarizer
            .summarize(&due.day)
            .with_context(|| format!("summarising {}", due.day.date))?;
        self.stages.add("summarize", ms(started));
        let started = Instant::now();
        let written = self
            .store
            .write_summary(due.day.date, &summary, &fingerprint)?;
        self.stages.add("write", ms(started));
        let key = due.day.date.to_string();
        let recorded = self.state.days.get(&key).map(|r| &r.fingerprint);
        if written == Written::Changed || recorded != Some(&fingerprint) {
            let record = DayRecord {
                fingerprint,
                summarized_at: Utc::now(),
                entries: due.day.entries.len(),
            };
            self.ctx
                .state
                .update_job(JOB.name, |s: &mut JournalState| {
                    s.days.insert(key.clone(), record.clone());
                })?;
            self.state.days.insert(key, record);
        }
        Ok((written, summary))
    }

    /// The week to review in this run, if the review is on, its week has entries and
    /// they changed since the review was written.
    fn due_week(&mut self) -> Result<Option<WeekSpan>> {
        let Some(review_day) = weekly::parse_weekday(&self.ctx.config.journal.weekly_review_day)
            .map_err(|e| usage(format!("[journal] weekly_review_day = {e}")))?
        else {
            return Ok(None);
        };
        let span = weekly::due_week(self.today, review_day);
        let days = match self.week_days(&span) {
            Ok(days) => days,
            // Reported when the review is written; a dry run shows it as due.
            Err(_) => return Ok(Some(span)),
        };
        if days.iter().all(|d| d.entries.is_empty()) {
            return Ok(None);
        }
        let fp = weekly::fingerprint(&span, &days);
        let done = self
            .state
            .weeks
            .get(&span.label)
            .is_some_and(|r| r.fingerprint == fp);
        Ok((!done).then_some(span))
    }

    /// The span's days that have a journal, as they are now.
    fn week_days(&self, span: &WeekSpan) -> Result<Vec<Day>> {
        let mut out = Vec::new();
        for date in span.dates() {
            if let Some(day) = self.store.load_day(date)? {
                out.push(day);
            }
        }
        Ok(out)
    }

    /// Writes the week's review; its label when it was written.
    fn review_week(&mut self, span: &WeekSpan) -> Option<String> {
        let location = self.store.week_location(&span.label);
        let started = Instant::now();
        let result = self.write_week(span);
        self.stages.add("weekly", ms(started));
        match result {
            Ok(()) => {
                self.stats.processed += 1;
                self.items
                    .push(item(&span.label, &location, "completed", None));
                Some(span.label.clone())
            }
            Err(e) => {
                self.stats.failed += 1;
                let msg = format!("{e:#}");
                tracing::warn!(week = %span.label, error = %msg, "weekly review failed");
                self.items
                    .push(item(&span.label, &location, "failed", Some(msg)));
                None
            }
        }
    }

    fn write_week(&mut self, span: &WeekSpan) -> Result<()> {
        let days = self.week_days(span)?;
        let todos = self.store.open_todos()?;
        let review = weekly::build(span, &days, self.summarizer.as_ref(), todos)?;
        self.store.write_week(&review)?;
        let record = DayRecord {
            fingerprint: weekly::fingerprint(span, &days),
            summarized_at: Utc::now(),
            entries: review.days.len(),
        };
        self.ctx
            .state
            .update_job(JOB.name, |s: &mut JournalState| {
                s.weeks.insert(span.label.clone(), record.clone());
            })?;
        self.state.weeks.insert(span.label.clone(), record);
        Ok(())
    }

    /// A day that failed; a [`model::Transient`] failure (or Notion's 429, 5xx, no
    /// connection) is `retrying`: the day is left as it is for the next run.
    fn fail(&mut self, date: NaiveDate, e: &anyhow::Error) {
        let (status, msg) = if model::is_transient(e) || notion::is_transient(e) {
            ("retrying", format!("{e:#}; left for the next run"))
        } else {
            ("failed", format!("{e:#}"))
        };
        tracing::warn!(day = %date, error = %msg, status, "day failed");
        self.stats.failed += 1;
        let location = self.store.day_location(date);
        self.items
            .push(item(&date.to_string(), &location, status, Some(msg)));
    }

    /// The report of a dry run: the days (and week) a real run would write.
    fn dry_run(mut self, due: &[Due], week: Option<&WeekSpan>) -> Outcome {
        let mut names = Vec::new();
        for d in due {
            let location = self.store.day_location(d.day.date);
            names.push(format!("{} ({})", d.day.date, d.reason.as_str()));
            self.items
                .push(item(&d.day.date.to_string(), &location, "pending", None));
        }
        if let Some(span) = week {
            let location = self.store.week_location(&span.label);
            names.push(format!("weekly review {}", span.label));
            self.items
                .push(item(&span.label, &location, "pending", None));
        }
        let message = if names.is_empty() {
            "Nothing to do".to_string()
        } else {
            format!("Would write {}", names.join(", "))
        };
        Outcome {
            message,
            stats: self.stats,
            stages: self.stages,
            items: self.items,
        }
    }

    fn message(&self, summarised: u64, week: Option<&str>) -> String {
        let mut msg = match (self.days_found, summarised) {
            (0, _) => String::new(),
            (n, s) if s == n => format!("Summarised {n} day(s)"),
            (n, s) => format!("Summarised {s} of {n} day(s)"),
        };
        if let Some(label) = week {
            push_part(&mut msg, &format!("wrote the weekly review {label}"));
        }
        if self.stats.failed > 0 {
            push_part(&mut msg, &format!("{} failed", self.stats.failed));
        }
        if msg.is_empty() {
            self.idle.clone().unwrap_or_else(|| "Nothing to do".into())
        } else {
            msg
        }
    }
}

fn push_part(msg: &mut String, part: &str) {
    if !msg.is_empty() {
        msg.push_str("; ");
    }
    msg.push_str(part);
}

fn item(id: &str, location: &str, status: &str, error: Option<String>) -> ItemResult {
    let journal = if status == "completed" {
        vec![location.to_string()]
    } else {
        Vec::new()
    };
    ItemResult {
        id: id.to_string(),
        file: location.to_string(),
        status: status.to_string(),
        error,
        outputs: Outputs {
            journal,
            ..Outputs::default()
        },
    }
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}
