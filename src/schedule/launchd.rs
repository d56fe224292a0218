//! The launchd backend: one agent per job (`com.astra.<program>.plist`), built with the
//! `plist` crate; the cron expression becomes `StartInterval` or `StartCalendarInterval`.
use super::fields::{Field, Part};
use super::{CronSchedule, Entry};
use crate::exit::usage;
use anyhow::{Context, Result};
use plist::{Dictionary, Value};

/// More calendar dicts than this is an error: the expression wants another backend.
pub const MAX_CALENDAR_DICTS: usize = 200;

/// The `PATH` agents get (launchd's default has no Homebrew, so no ffmpeg).
const BASE_PATH: &str = "/usr/local/bin:/opt/homebrew/bin:/usr/bin:/bin";

/// How launchd starts a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `StartInterval`: every so many seconds.
    Interval(u64),
    /// `StartCalendarInterval`: one dict per (minute, hour, day…) combination; a
    /// missing key means every value.
    Calendar(Vec<Vec<(&'static str, u32)>>),
}

/// The agent's label, `com.astra.<program>`.
pub fn label(program: &str) -> String {
    format!("com.astra.{program}")
}

/// The agent's plist as XML.
pub fn render(e: &Entry) -> Result<String> {
    let mut out = Vec::new();
    plist_value(e)?
        .to_writer_xml(&mut out)
        .context("writing the plist")?;
    let mut text = String::from_utf8(out).context("the plist is not UTF-8")?;
    text.push('\n');
    Ok(text)
}

/// The agent's plist.
pub fn plist_value(e: &Entry) -> Result<Value> {
    let mut d = Dictionary::new();
    d.insert("Label".into(), label(&e.program).into());
    d.insert(
        "ProgramArguments".into(),
        Value::Array(vec![e.binary.to_string_lossy().into_owned().into()]),
    );
    match trigger(&e.schedule)? {
        Trigger::Interval(secs) => {
            d.insert("StartInterval".into(), Value::Integer(secs.into()));
        }
        Trigger::Calendar(dicts) => {
            d.insert("StartCalendarInterval".into(), calendar_value(dicts));
        }
    }
    if !e.watch_paths.is_empty() {
        let paths = e
            .watch_paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned().into())
            .collect();
        d.insert("WatchPaths".into(), Value::Array(paths));
    }
    d.insert("RunAtLoad".into(), true.into());
    let logs = e.home.join("logs");
    let log = |kind: &str| {
        let name = format!("{}.launchd.{kind}.log", e.program);
        Value::from(logs.join(name).to_string_lossy().into_owned())
    };
    d.insert("StandardOutPath".into(), log("out"));
    d.insert("StandardErrorPath".into(), log("err"));
    let mut env = Dictionary::new();
    env.insert("PATH".into(), agent_path(e).into());
    env.insert(
        "ASTRA_HOME".into(),
        e.home.to_string_lossy().into_owned().into(),
    );
    d.insert("EnvironmentVariables".into(), Value::Dictionary(env));
    Ok(Value::Dictionary(d))
}

/// The `PATH` launchd gives an agent whose plist sets none.
pub const LAUNCHD_DEFAULT_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

/// The `PATH` an agent's plist gives its program (`EnvironmentVariables`), launchd's
/// default when it sets none; None when `plist` is not a property list.
pub fn path_in_plist(plist: &[u8]) -> Option<String> {
    let value = Value::from_reader(std::io::Cursor::new(plist)).ok()?;
    let path = value
        .as_dictionary()?
        .get("EnvironmentVariables")
        .and_then(Value::as_dictionary)
        .and_then(|env| env.get("PATH"))
        .and_then(Value::as_string);
    Some(path.unwrap_or(LAUNCHD_DEFAULT_PATH).to_string())
}

/// `PATH` for the agent: the binaries' folder first, then Homebrew and the system's.
fn agent_path(e: &Entry) -> String {
    let dir = e
        .binary
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    if dir.is_empty() || BASE_PATH.split(':').any(|p| p == dir) {
        BASE_PATH.to_string()
    } else {
        format!("{dir}:{BASE_PATH}")
    }
}

fn calendar_value(dicts: Vec<Vec<(&'static str, u32)>>) -> Value {
    let mut values: Vec<Value> = dicts
        .into_iter()
        .map(|keys| {
            let mut d = Dictionary::new();
            for (k, v) in keys {
                d.insert(k.into(), Value::Integer(u64::from(v).into()));
            }
            Value::Dictionary(d)
        })
        .collect();
    if values.len() == 1 {
        values.remove(0)
    } else {
        Value::Array(values)
    }
}

/// How launchd can start `schedule`; an error naming the expression when it cannot.
pub fn trigger(schedule: &CronSchedule) -> Result<Trigger> {
    let expr = schedule.expr();
    let cannot = |why: &str| {
        usage(format!(
            "launchd cannot express the schedule {expr:?}: {why}. Use a simpler expression, or --cron/--systemd"
        ))
    };
    let [sec, min, hour, dom, month, dow] = schedule.fields();
    if schedule.fields().iter().any(Field::has_special) {
        return Err(cannot("it uses L, W or #"));
    }
    let rest_any = |fs: &[&Field]| fs.iter().all(|f| f.is_any());
    if let Some(n) = interval(sec, 60)
        && schedule.has_seconds()
        && rest_any(&[min, hour, dom, month, dow])
    {
        return Ok(Trigger::Interval(n));
    }
    if sec.single() != Some(0) {
        return Err(cannot(
            "launchd starts jobs at whole minutes, not at seconds",
        ));
    }
    if let Some(n) = interval(min, 60)
        && rest_any(&[hour, dom, month, dow])
    {
        return Ok(Trigger::Interval(n * 60));
    }
    if !dom.is_any() && !dow.is_any() && schedule.days_and() {
        return Err(cannot(
            "it needs the day of month AND the day of week to match, and launchd can only OR them",
        ));
    }
    let dicts = calendar(min, hour, dom, month, dow).ok_or_else(|| {
        cannot(&format!(
            "it needs more than {MAX_CALENDAR_DICTS} calendar entries"
        ))
    })?;
    Ok(Trigger::Calendar(dicts))
}

/// `n` when the field is `*` (1) or `*/n` with `n` dividing `modulus` evenly.
fn interval(f: &Field, modulus: u32) -> Option<u64> {
    let n = match f.parts.as_slice() {
        [Part::Any] => 1,
        [Part::Every(n)] => *n,
        _ => return None,
    };
    modulus.is_multiple_of(n).then_some(u64::from(n))
}

type Dict = Vec<(&'static str, u32)>;

/// The product of the fields' values as dicts (a `*` field is left out); `None` when
/// there would be more than [`MAX_CALENDAR_DICTS`].
fn calendar(
    min: &Field,
    hour: &Field,
    dom: &Field,
    month: &Field,
    dow: &Field,
) -> Option<Vec<Dict>> {
    let mut dicts: Vec<Dict> = vec![Vec::new()];
    for (key, f) in [("Month", month), ("Hour", hour), ("Minute", min)] {
        dicts = product(dicts, key, f)?;
    }
    let days = match (dom.is_any(), dow.is_any()) {
        (true, true) => dicts,
        (false, true) => product(dicts, "Day", dom)?,
        (true, false) => product(dicts, "Weekday", dow)?,
        (false, false) => {
            let mut both = product(dicts.clone(), "Day", dom)?;
            both.extend(product(dicts, "Weekday", dow)?);
            both
        }
    };
    let mut days = days;
    for d in &mut days {
        d.sort_by_key(|(k, _)| key_order(k));
    }
    (days.len() <= MAX_CALENDAR_DICTS).then_some(days)
}

fn key_order(k: &str) -> usize {
    ["Month", "Day", "Weekday", "Hour", "Minute"]
        .iter()
        .position(|x| *x == k)
        .unwrap_or(9)
}

fn product(dicts: Vec<Dict>, key: &'static str, f: &Field) -> Option<Vec<Dict>> {
    if f.is_any() {
        return Some(dicts);
    }
    let values = f.values()?;
    if dicts.len().saturating_mul(values.len()) > MAX_CALENDAR_DICTS {
        return None;
    }
    Some(
        dicts
            .iter()
            .flat_map(|d| {
                values.iter().map(move |v| {
                    let mut d = d.clone();
                    d.push((key, *v));
                    d
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::entry::example_entries;

    #[test]
    fn the_path_an_agent_gets_is_read_back_from_its_plist() {
        for e in example_entries() {
            let plist = render(&e).unwrap();
            assert_eq!(
                path_in_plist(plist.as_bytes()),
                Some(agent_path(&e)),
                "{plist}"
            );
        }
        let bare = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>Label</key><string>x</string></dict></plist>"#;
        assert_eq!(
            path_in_plist(bare.as_bytes()).as_deref(),
            Some(LAUNCHD_DEFAULT_PATH)
        );
        assert_eq!(path_in_plist(b"not a plist"), None);
    }

    fn t(expr: &str) -> Result<Trigger> {
        trigger(&CronSchedule::parse(expr).unwrap())
    }

    #[test]
    fn triggers() {
        assert_eq!(t("*/5 * * * *").unwrap(), Trigger::Interval(300));
        assert_eq!(t("* * * * *").unwrap(), Trigger::Interval(60));
        assert_eq!(t("*/10 * * * * *").unwrap(), Trigger::Interval(10));
        assert_eq!(
            t("0 21 * * *").unwrap(),
            Trigger::Calendar(vec![vec![("Hour", 21), ("Minute", 0)]])
        );
        assert_eq!(
            t("0 0 1 * 0").unwrap(),
            Trigger::Calendar(vec![
                vec![("Day", 1), ("Hour", 0), ("Minute", 0)],
                vec![("Weekday", 0), ("Hour", 0), ("Minute", 0)],
            ])
        );
        let Trigger::Calendar(d) = t("0 */6 * * *").unwrap() else {
            panic!("calendar")
        };
        assert_eq!(d.len(), 4);
        let Trigger::Calendar(d) = t("30 9 * * 1-5").unwrap() else {
            panic!("calendar")
        };
        assert_eq!(d.len(), 5);
    }

    #[test]
    fn inexpressible_schedules_name_the_expression() {
        for expr in [
            "*/5 9-17 * * 1-5",
            "0 0 */2 * 1",
            "0 12 * * 5L",
            "30 0 9 * * *",
        ] {
            let msg = format!("{:#}", t(expr).unwrap_err());
            assert!(msg.contains(&format!("{expr:?}")), "{msg}");
        }
    }

    #[test]
    fn plist_snapshots() {
        for e in example_entries() {
            insta::assert_snapshot!(format!("plist_{}", e.program), render(&e).unwrap());
        }
    }
}
