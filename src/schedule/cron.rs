//! Cron expressions with Debian cron's semantics, on top of croner: the day-of-month /
//! day-of-week OR rule, `@daily`-style aliases, and Debian's handling of DST changes.
//!
//! Two ways of walking time, as Debian cron (and the cronsim oracle in
//! `tests/fixtures/`) do:
//! - a *fixed-time* job (5 fields, neither the minute nor the hour field starts with
//!   `*`) follows the wall clock: a time skipped by a spring-forward gap runs right
//!   after the gap, once; a time repeated by a fall-back runs once, the first time.
//! - every other job (`*/5 * * * *`, `0 * * * *`, 6 fields with seconds) follows real
//!   elapsed time: each instant whose wall-clock time matches, so nothing in a gap and
//!   twice in a repeated hour.
//!
//! croner parses the fields (names, steps, `L`, `W`, `#`) and finds wall-clock
//! matches; the walk across DST changes is done here, because croner's own treats only
//! single-value times as fixed and runs a 6-field fixed time after a gap.
use super::fields::{Field, Kind};
use crate::exit::usage;
use anyhow::Result;
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed cron expression. See the module doc for its semantics.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expr: String,
    fields: [Field; 6],
    has_seconds: bool,
    cron: Cron,
    wall_clock: bool,
}

/// How far a single search may go before giving up (segments between offset changes).
const MAX_SEGMENTS: usize = 2_000;
/// How many matches a wall-clock search may skip (times repeated or before the start).
const MAX_SKIPS: usize = 10_000;

/// `@name` aliases and what they stand for (as Debian's cron defines them).
const ALIASES: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const KINDS: [Kind; 6] = [
    Kind::Second,
    Kind::Minute,
    Kind::Hour,
    Kind::DayOfMonth,
    Kind::Month,
    Kind::DayOfWeek,
];

impl CronSchedule {
    /// Parses 5 fields (minute hour day-of-month month day-of-week), 6 with seconds
    /// first, or an alias (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`).
    /// Errors are usage errors naming the expression and what is wrong.
    pub fn parse(expr: &str) -> Result<CronSchedule> {
        let expr = expr.trim();
        Self::parse_inner(expr).map_err(|why| {
            usage(format!(
                "bad cron expression {expr:?}: {why}. Use 5 fields (minute hour day-of-month month day-of-week, e.g. \"*/5 * * * *\"), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly"
            ))
        })
    }

    fn parse_inner(expr: &str) -> std::result::Result<CronSchedule, String> {
        let expanded = expand_alias(expr)?;
        let words: Vec<&str> = expanded.split_whitespace().collect();
        let texts: Vec<&str> = match words.len() {
            5 => std::iter::once("0").chain(words.iter().copied()).collect(),
            6 => words.clone(),
            n => return Err(format!("it has {n} fields, not 5 or 6")),
        };
        check_characters(&texts)?;
        // Debian: a day field starting with `*` makes the two day fields AND, else OR.
        let day_and = texts[3].starts_with('*') || texts[5].starts_with('*');
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .sloppy_ranges(true)
            .dom_and_dow(day_and)
            .build()
            .parse(&texts.join(" "))
            .map_err(|e| locate_error(&texts, &e))?;
        let fields = parse_fields(&texts)?;
        if day_and {
            check_day_exists(&fields)?;
        }
        let has_seconds = words.len() == 6;
        let wall_clock = !has_seconds && !texts[1].starts_with('*') && !texts[2].starts_with('*');
        let schedule = CronSchedule {
            expr: expr.to_string(),
            fields,
            has_seconds,
            cron,
            wall_clock,
        };
        let epoch = chrono::Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
        if epoch.and_then(|t| schedule.next_after(&t)).is_none() {
            return Err("no date ever matches it, so it would never run".into());
        }
        Ok(schedule)
    }

    /// The expression as written (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The six fields (seconds first; `0` when the expression has five), aliases expanded.
    pub fn fields(&self) -> &[Field; 6] {
        &self.fields
    }

    /// True when the expression has a seconds field.
    pub fn has_seconds(&self) -> bool {
        self.has_seconds
    }

    /// True when day of month and day of week must both match (one starts with `*`).
    pub fn days_and(&self) -> bool {
        self.cron.pattern.matches_dom_and_dow()
    }

    /// True for a fixed-time job, which follows the wall clock across DST changes.
    pub fn is_fixed_time(&self) -> bool {
        self.wall_clock
    }

    /// The first run strictly after `after`, in `after`'s time zone; `None` if the
    /// expression never runs again.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        if self.wall_clock {
            self.next_by_wall_clock(after)
        } else {
            self.next_by_real_time(after)
        }
    }

    /// The next `n` runs after `after`.
    pub fn next_n<Tz: TimeZone>(&self, after: &DateTime<Tz>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out: Vec<DateTime<Tz>> = Vec::with_capacity(n);
        let mut from = after.clone();
        while out.len() < n {
            match self.next_after(&from) {
                Some(t) => {
                    from = t.clone();
                    out.push(t);
                }
                None => break,
            }
        }
        out
    }

    /// The expression in plain English ("At 09:30 on Monday to Friday").
    pub fn describe(&self) -> String {
        super::describe::describe(&self.fields, self.has_seconds, self.days_and())
    }

    /// The next wall-clock match after `wall` (croner on naive time).
    fn next_wall(&self, wall: &NaiveDateTime, inclusive: bool) -> Option<NaiveDateTime> {
        self.cron.find_next_occurrence(wall, inclusive).ok()
    }

    /// Fixed-time jobs: walk the wall clock; a gap moves the run to just after it, a
    /// repeated time runs at its first instant only.
    fn next_by_wall_clock<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let tz = after.timezone();
        let mut wall = whole_seconds(after.naive_local());
        for _ in 0..MAX_SKIPS {
            wall = self.next_wall(&wall, false)?;
            let (at, moved) = first_instant_from(&tz, wall)?;
            wall = moved;
            if at > *after {
                return Some(at);
            }
        }
        None
    }

    /// Every other job: each instant whose wall-clock time matches, walked one stretch
    /// of constant UTC offset at a time.
    fn next_by_real_time<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let tz = after.timezone();
        let mut from = whole_seconds(after.naive_utc());
        let mut inclusive = false;
        for _ in 0..MAX_SEGMENTS {
            let offset = offset_at(&tz, &from);
            let wall = from.checked_add_signed(offset)?;
            let candidate = self
                .next_wall(&wall, inclusive)?
                .checked_sub_signed(offset)?;
            match first_offset_change(&tz, from, candidate, offset) {
                None => return Some(tz.from_utc_datetime(&candidate)),
                Some(change) => {
                    from = change;
                    inclusive = true;
                }
            }
        }
        None
    }
}

fn expand_alias(expr: &str) -> std::result::Result<String, String> {
    if !expr.starts_with('@') {
        return Ok(expr.to_string());
    }
    ALIASES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(expr))
        .map(|(_, fields)| fields.to_string())
        .ok_or_else(|| format!("unknown alias {expr}"))
}

/// Refuses croner's extensions that Debian cron does not know (`?`, `+`) and junk.
fn check_characters(texts: &[&str]) -> std::result::Result<(), String> {
    for (text, kind) in texts.iter().zip(KINDS) {
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '#')))
        {
            return Err(format!("the {} field {text:?} has a {c:?}", kind.name()));
        }
        if text.starts_with('/') || text.contains(",/") || text.ends_with(',') {
            return Err(format!("the {} field {text:?} is malformed", kind.name()));
        }
    }
    Ok(())
}

/// Croner's complaint, with the field it is about: each field is tried alone.
fn locate_error(texts: &[&str], e: &croner::errors::CronError) -> String {
    let parser = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        .sloppy_ranges(true)
        .build();
    for (i, kind) in KINDS.iter().enumerate() {
        let mut alone = ["0", "*", "*", "*", "*", "*"];
        alone[i] = texts[i];
        if let Err(field_error) = parser.parse(&alone.join(" ")) {
            return format!(
                "the {} field {:?}: {}",
                kind.name(),
                texts[i],
                croner_message(&field_error)
            );
        }
    }
    croner_message(e)
}

/// Croner's message without its prefixes and final full stop.
fn croner_message(e: &croner::errors::CronError) -> String {
    let msg = e.to_string();
    let msg = msg
        .trim_start_matches("Component error: ")
        .trim_start_matches("Invalid pattern: ");
    msg.trim_end_matches('.').to_lowercase()
}

fn parse_fields(texts: &[&str]) -> std::result::Result<[Field; 6], String> {
    let mut out = Vec::with_capacity(6);
    for (text, kind) in texts.iter().zip(KINDS) {
        out.push(Field::parse(kind, text).map_err(|e| format!("{e:#}"))?);
    }
    out.try_into()
        .map_err(|_| "it does not have 6 fields".to_string())
}

/// With AND days, a day of month that no chosen month has never runs (`0 0 30 2 *`).
fn check_day_exists(fields: &[Field; 6]) -> std::result::Result<(), String> {
    const LENGTHS: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (Some(days), Some(months)) = (fields[3].values(), fields[4].values()) else {
        return Ok(());
    };
    let first_day = days.first().copied().unwrap_or(1);
    let longest = months
        .iter()
        .map(|m| LENGTHS.get(*m as usize).copied().unwrap_or(31))
        .max()
        .unwrap_or(31);
    if first_day > longest {
        return Err(format!(
            "day {first_day} never falls in the chosen month(s), so it would never run"
        ));
    }
    Ok(())
}

fn whole_seconds(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(0).unwrap_or(t)
}

/// The UTC offset of `tz` at the UTC time `utc`, as a duration to add to UTC.
fn offset_at<Tz: TimeZone>(tz: &Tz, utc: &NaiveDateTime) -> Duration {
    Duration::seconds(i64::from(
        tz.offset_from_utc_datetime(utc).fix().local_minus_utc(),
    ))
}

/// The first instant at or after the wall-clock time `wall` (the earlier of two in a
/// repeated hour; after a gap, the first minute past it), and the wall time used.
fn first_instant_from<Tz: TimeZone>(
    tz: &Tz,
    mut wall: NaiveDateTime,
) -> Option<(DateTime<Tz>, NaiveDateTime)> {
    for _ in 0..(48 * 60) {
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => return Some((t, wall)),
            LocalResult::Ambiguous(a, b) => return Some((a.min(b), wall)),
            LocalResult::None => wall = wall.checked_add_signed(Duration::minutes(1))?,
        }
    }
    None
}

/// The first UTC time in `(from, to]` whose offset differs from `offset`, if any.
/// Probes a day at a time, then bisects to the second.
fn first_offset_change<Tz: TimeZone>(
    tz: &Tz,
    from: NaiveDateTime,
    to: NaiveDateTime,
    offset: Duration,
) -> Option<NaiveDateTime> {
    let step = Duration::hours(12);
    let mut lo = from;
    while lo < to {
        let hi = (lo + step).min(to);
        if offset_at(tz, &hi) != offset {
            return Some(bisect_change(tz, lo, hi, offset));
        }
        lo = hi;
    }
    None
}

/// The first second in `(lo, hi]` with a different offset, knowing `hi` has one.
fn bisect_change<Tz: TimeZone>(
    tz: &Tz,
    mut lo: NaiveDateTime,
    mut hi: NaiveDateTime,
    offset: Duration,
) -> NaiveDateTime {
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        let mid = whole_seconds(mid);
        if offset_at(tz, &mid) != offset {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;

    fn at(tz: Tz, s: &str) -> DateTime<Tz> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).earliest().unwrap()
    }

    fn runs(expr: &str, tz: Tz, from: &str, n: usize) -> Vec<String> {
        CronSchedule::parse(expr)
            .unwrap()
            .next_n(&at(tz, from), n)
            .iter()
            .map(|t| t.format("%Y-%m-%d %H:%M %z").to_string())
            .collect()
    }

    #[test]
    fn every_five_minutes() {
        let r = runs("*/5 * * * *", Tz::UTC, "2025-01-01 10:02", 3);
        assert_eq!(
            r,
            [
                "2025-01-01 10:05 +0000",
                "2025-01-01 10:10 +0000",
                "2025-01-01 10:15 +0000"
            ]
        );
    }

    #[test]
    fn strictly_after() {
        let r = runs("0 21 * * *", Tz::UTC, "2025-01-01 21:00", 1);
        assert_eq!(r, ["2025-01-02 21:00 +0000"]);
    }

    #[test]
    fn day_fields_or_unless_one_starts_with_a_star() {
        // 2025-06-01 is a Sunday; day 1 OR Sunday.
        let r = runs("0 0 1 * 0", Tz::UTC, "2025-06-01 12:00", 3);
        assert_eq!(
            r,
            [
                "2025-06-08 00:00 +0000",
                "2025-06-15 00:00 +0000",
                "2025-06-22 00:00 +0000"
            ]
        );
        // `*/2` starts with a star: odd days AND Monday.
        let r = runs("0 0 */2 * 1", Tz::UTC, "2025-06-01 12:00", 2);
        assert_eq!(r, ["2025-06-09 00:00 +0000", "2025-06-23 00:00 +0000"]);
    }

    #[test]
    fn a_fixed_time_in_a_spring_gap_runs_after_it_once() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let r = runs("30 2 * * *", berlin, "2025-03-29 12:00", 2);
        assert_eq!(r, ["2025-03-30 03:00 +0200", "2025-03-31 02:30 +0200"]);
    }

    #[test]
    fn a_repeated_hour_runs_a_fixed_time_once_and_an_interval_twice() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let r = runs("30 2 * * *", berlin, "2025-10-26 00:00", 2);
        assert_eq!(r, ["2025-10-26 02:30 +0200", "2025-10-27 02:30 +0100"]);
        let r = runs("30 * * * *", berlin, "2025-10-26 01:45", 3);
        assert_eq!(
            r,
            [
                "2025-10-26 02:30 +0200",
                "2025-10-26 02:30 +0100",
                "2025-10-26 03:30 +0100"
            ]
        );
    }

    /// The real-time walk against a brute-force one: every UTC minute whose wall-clock
    /// time matches, around DST changes (fixed-time jobs follow the wall clock instead).
    #[test]
    fn real_time_walk_matches_brute_force() {
        let exprs = [
            "*/7 * * * *",
            "30 * * * *",
            "0 */2 * * *",
            "*/20 2 * * *",
            "15 * * * 0",
        ];
        let starts = [
            ("Australia/Lord_Howe", "2025-04-06 00:50"),
            ("Australia/Lord_Howe", "2025-10-05 00:50"),
            ("Europe/Berlin", "2025-10-26 00:50"),
            ("America/Sao_Paulo", "2018-11-03 22:50"),
        ];
        for (zone, start) in starts {
            let tz: Tz = zone.parse().unwrap();
            let from = at(tz, start);
            for expr in exprs {
                let s = CronSchedule::parse(expr).unwrap();
                let ours = s.next_n(&from, 12);
                let mut brute = Vec::new();
                let mut t = from.with_timezone(&chrono::Utc);
                while brute.len() < 12 {
                    t += Duration::minutes(1);
                    let local = t.with_timezone(&tz);
                    if s.cron.is_time_matching(&local.naive_local()).unwrap() {
                        brute.push(local);
                    }
                }
                assert_eq!(ours, brute, "{expr} in {zone} from {start}");
            }
        }
    }

    #[test]
    fn aliases_and_names() {
        assert_eq!(
            CronSchedule::parse("@daily").unwrap().fields()[2].single(),
            Some(0)
        );
        assert!(CronSchedule::parse("0 9 * jan-mar mon-fri").is_ok());
        assert!(CronSchedule::parse("0 0 0 9 * * *").is_err());
    }

    #[test]
    fn errors_name_the_expression() {
        for bad in [
            "61 * * * *",
            "* * *",
            "@reboot",
            "0 0 ? * MON",
            "0 0 30 2 *",
            "x * * * *",
        ] {
            let e = CronSchedule::parse(bad).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
            assert_eq!(crate::exit::code_for(&e), crate::exit::USAGE);
        }
        let e = CronSchedule::parse("0 24 * * *").unwrap_err();
        assert!(
            format!("{e:#}").contains("the hour field \"24\": number out of bounds"),
            "{e:#}"
        );
    }
}
