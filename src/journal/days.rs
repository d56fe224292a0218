//! Which days to summarise: every day not yet processed whose day has ended in
//! `journal.time_zone`, days whose entries changed since their summary, or one forced day.
use crate::exit::usage;
use crate::state::DayRecord;
use chrono::{DateTime, Local, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// The zone in which a day ends: a named IANA zone, or the system's own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Named(Tz),
    /// The system zone when its name is unknown (a POSIX `TZ` rule, say).
    System,
}

impl Zone {
    /// `journal.time_zone`; empty means the system's zone (`TZ`, else `/etc/localtime`).
    pub fn from_config(name: &str) -> anyhow::Result<Zone> {
        let name = name.trim();
        if name.is_empty() {
            return Ok(system_zone());
        }
        parse_zone(name).map(Zone::Named).ok_or_else(|| {
            usage(format!(
                "[journal] time_zone = \"{name}\" is not a time zone name; use an IANA name such as \"Europe/Paris\" or \"America/New_York\", or \"\" for the system's"
            ))
        })
    }

    /// The calendar date at `now` in this zone.
    pub fn today(self, now: DateTime<Utc>) -> NaiveDate {
        match self {
            Zone::Named(tz) => now.with_timezone(&tz).date_naive(),
            Zone::System => now.with_timezone(&Local).date_naive(),
        }
    }

    /// The zone's name, for messages.
    pub fn name(self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            Zone::System => "the system zone".into(),
        }
    }
}

/// An IANA zone name (`Europe/Paris`, `UTC`).
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// `TZ` (an IANA name, with or without a leading `:`), else the zone `/etc/localtime`
/// links to, else the system's rules as chrono reads them.
fn system_zone() -> Zone {
    let from_env = std::env::var("TZ")
        .ok()
        .and_then(|v| parse_zone(v.trim_start_matches(':')));
    let from_link = || {
        let target = std::fs::read_link("/etc/localtime").ok()?;
        let s = target.to_str()?;
        let (_, name) = s.split_once("zoneinfo/")?;
        parse_zone(name)
    };
    match std::env::var("TZ") {
        Ok(v) if !v.is_empty() => from_env.map_or(Zone::System, Zone::Named),
        _ => from_link().map_or(Zone::System, Zone::Named),
    }
}

/// Why a day is summarised in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not marked processed yet.
    New,
    /// Marked processed, but its entries changed since its summary.
    Changed,
    /// Asked for with `--day` or `--today`.
    Forced,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Changed => "new entries",
            Reason::Forced => "forced",
        }
    }
}

/// What the selection needs to know about one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStatus {
    pub date: NaiveDate,
    pub processed: bool,
    pub entries: usize,
    pub fingerprint: String,
}

/// Whether a day is summarised in this run, and why.
///
/// A day is due when it has entries, it has ended (`date < today`), and either it is
/// not processed, or it was summarised by this job from other entries than it has now.
/// A day processed by someone else (no record) is left alone.
pub fn reason(
    day: &DayStatus,
    today: NaiveDate,
    records: &BTreeMap<String, DayRecord>,
) -> Option<Reason> {
    if day.entries == 0 || day.date >= today {
        return None;
    }
    if !day.processed {
        return Some(Reason::New);
    }
    match records.get(&day.date.to_string()) {
        Some(r) if r.fingerprint != day.fingerprint => Some(Reason::Changed),
        _ => None,
    }
}

/// The days that may be due, for reading: every listed day that has ended.
pub fn ended(days: &[NaiveDate], today: NaiveDate) -> Vec<NaiveDate> {
    days.iter().copied().filter(|d| *d < today).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn status(date: &str, processed: bool, fp: &str) -> DayStatus {
        DayStatus {
            date: d(date),
            processed,
            entries: 2,
            fingerprint: fp.into(),
        }
    }

    fn record(fp: &str) -> DayRecord {
        DayRecord {
            fingerprint: fp.into(),
            summarized_at: Utc::now(),
            entries: 2,
        }
    }

    #[test]
    fn today_depends_on_the_zone() {
        // 23:30 UTC on Jan 14 is already Jan 15 in Paris and still Jan 14 in New York.
        let now = Utc.with_ymd_and_hms(2026, 1, 14, 23, 30, 0).unwrap();
        let paris = Zone::from_config("Europe/Paris").unwrap();
        let ny = Zone::from_config("America/New_York").unwrap();
        let tokyo = Zone::from_config("Asia/Tokyo").unwrap();
        assert_eq!(paris.today(now), d("2026-01-15"));
        assert_eq!(ny.today(now), d("2026-01-14"));
        assert_eq!(tokyo.today(now), d("2026-01-15"));
        let none = BTreeMap::new();
        let day = status("2026-01-14", false, "x");
        assert_eq!(reason(&day, paris.today(now), &none), Some(Reason::New));
        assert_eq!(
            reason(&day, ny.today(now), &none),
            None,
            "not ended in New York"
        );
    }

    #[test]
    fn a_bad_zone_is_a_usage_error() {
        let e = Zone::from_config("Mars/Olympus").unwrap_err();
        assert_eq!(crate::exit::code_for(&e), crate::exit::USAGE);
        assert!(format!("{e:#}").contains("[journal] time_zone"), "{e:#}");
    }

    #[test]
    fn catch_up_takes_every_unprocessed_ended_day() {
        let today = d("2026-01-20");
        let none = BTreeMap::new();
        let listed = [
            d("2026-01-15"),
            d("2026-01-16"),
            d("2026-01-19"),
            d("2026-01-20"),
        ];
        assert_eq!(ended(&listed, today), listed[..3]);
        let due: Vec<_> = ended(&listed, today)
            .into_iter()
            .filter(|date| reason(&status(&date.to_string(), false, "x"), today, &none).is_some())
            .collect();
        assert_eq!(due.len(), 3);
    }

    #[test]
    fn processed_days_come_back_only_when_their_entries_changed() {
        let today = d("2026-01-20");
        let mut records = BTreeMap::new();
        records.insert("2026-01-15".to_string(), record("old"));
        let same = status("2026-01-15", true, "old");
        let changed = status("2026-01-15", true, "new");
        let foreign = status("2026-01-16", true, "whatever");
        assert_eq!(reason(&same, today, &records), None);
        assert_eq!(reason(&changed, today, &records), Some(Reason::Changed));
        assert_eq!(reason(&foreign, today, &records), None, "not ours to redo");
        let empty = DayStatus {
            entries: 0,
            ..status("2026-01-17", false, "x")
        };
        assert_eq!(reason(&empty, today, &records), None);
    }
}
