//! Cron expressions in plain English: "Every 5 minutes", "At 21:00 every day",
//! "At 09:30 on Monday to Friday", "At 00:00 on day 1 of the month or on Sunday".
use super::fields::{Field, Part};

const MONTHS: [&str; 13] = [
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 8] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Describes the six fields (seconds first).
pub fn describe(f: &[Field; 6], has_seconds: bool, days_and: bool) -> String {
    let (time, clock) = time_phrase(&f[0], &f[1], &f[2], has_seconds);
    let days = day_phrase(&f[3], &f[5], days_and);
    let months = month_phrase(&f[4]);
    let days = if days.is_empty() && clock {
        " every day".to_string()
    } else {
        days
    };
    format!("{time}{days}{months}")
}

/// The time of day, and whether it is a clock time ("At 21:00") rather than an interval.
fn time_phrase(sec: &Field, min: &Field, hour: &Field, has_seconds: bool) -> (String, bool) {
    let zero_seconds = !has_seconds || sec.single() == Some(0);
    if !zero_seconds && sec.single().is_none() {
        let s = unit_phrase(sec, "second");
        if min.is_any() && hour.is_any() {
            return (s, false);
        }
        let (rest, _) = time_phrase(
            &Field::parse(sec.kind, "0").unwrap_or(sec.clone()),
            min,
            hour,
            false,
        );
        return (format!("{s}, {}", lower_first(&rest)), false);
    }
    let secs = if zero_seconds { None } else { sec.single() };
    let (time, clock) = minute_hour_phrase(min, hour, secs);
    match secs {
        Some(s) if !clock => (format!("{time}, at second {s}"), false),
        _ => (time, clock),
    }
}

/// The minute and hour fields; `secs` is a single non-zero second for clock times.
fn minute_hour_phrase(min: &Field, hour: &Field, secs: Option<u32>) -> (String, bool) {
    if let (Some(m), Some(h)) = (min.single(), hour.single()) {
        return (format!("At {}", clock(h, m, secs)), true);
    }
    if let (Some(m), Some(hours)) = (min.single(), values_only(hour))
        && hours.len() <= 6
    {
        let times: Vec<String> = hours.iter().map(|h| clock(*h, m, secs)).collect();
        return (format!("At {}", join(&times)), true);
    }
    let minutes = unit_phrase(min, "minute");
    if hour.is_any() {
        if min.single().is_some() {
            return (format!("{minutes} past every hour"), false);
        }
        return (minutes, false);
    }
    if matches!(min.parts.as_slice(), [Part::Any] | [Part::Every(_)]) {
        match hour.parts.as_slice() {
            [Part::Value(h)] => {
                return (
                    format!(
                        "{minutes} between {} and {}",
                        clock(*h, 0, None),
                        clock(*h, 59, None)
                    ),
                    false,
                );
            }
            [Part::Range { from, to, step: 1 }] => {
                return (
                    format!(
                        "{minutes} between {} and {}",
                        clock(*from, 0, None),
                        clock(*to, 59, None)
                    ),
                    false,
                );
            }
            _ => {}
        }
    }
    (format!("{minutes} past {}", hour_phrase(hour)), false)
}

/// "Every 5 minutes", "At minute 30", "At minutes 0, 15 and 45", "Every minute".
fn unit_phrase(f: &Field, unit: &str) -> String {
    match f.parts.as_slice() {
        [Part::Any] | [Part::Every(1)] => format!("Every {unit}"),
        [Part::Every(n)] => format!("Every {n} {unit}s"),
        [Part::Value(v)] => format!("At {unit} {v}"),
        [Part::Range { from, to, step }] if *step > 1 => {
            format!("Every {} {unit} from {from} to {to}", ordinal(*step))
        }
        _ => match values_only(f) {
            Some(vs) => format!("At {unit}s {}", join(&nums(&vs))),
            None => format!("At {unit}s {}", parts_phrase(f, &|v| v.to_string())),
        },
    }
}

fn hour_phrase(f: &Field) -> String {
    match f.parts.as_slice() {
        [Part::Every(n)] => format!("every {} hour", ordinal(*n)),
        [Part::Value(v)] => format!("hour {v}"),
        [Part::Range { from, to, step }] if *step > 1 => {
            format!("every {} hour from {from} to {to}", ordinal(*step))
        }
        _ => format!("hours {}", parts_phrase(f, &|v| v.to_string())),
    }
}

fn day_phrase(dom: &Field, dow: &Field, days_and: bool) -> String {
    match (dom.is_any(), dow.is_any()) {
        (true, true) => String::new(),
        (false, true) => format!(" on {}", dom_phrase(dom)),
        (true, false) => format!(" on {}", dow_phrase(dow)),
        (false, false) if days_and => {
            format!(" on {} if it is {}", dom_phrase(dom), dow_phrase(dow))
        }
        (false, false) => format!(" on {} or on {}", dom_phrase(dom), dow_phrase(dow)),
    }
}

fn dom_phrase(f: &Field) -> String {
    if let Some(vs) = values_only(f) {
        let word = if vs.len() == 1 { "day" } else { "days" };
        return format!("{word} {} of the month", join(&nums(&vs)));
    }
    let phrases: Vec<String> = f.parts.iter().map(dom_part).collect();
    format!("{} of the month", join(&phrases))
}

fn dom_part(p: &Part) -> String {
    match p {
        Part::Any => "every day".into(),
        Part::Every(n) => format!("every {} day", ordinal(*n)),
        Part::Value(v) => format!("day {v}"),
        Part::Range { from, to, step: 1 } => format!("days {from} to {to}"),
        Part::Range { from, to, step } => {
            format!("every {} day from {from} to {to}", ordinal(*step))
        }
        Part::Special(s) if s == "L" => "the last day".into(),
        Part::Special(s) if s == "LW" => "the last weekday".into(),
        Part::Special(s) => match s.strip_suffix('W') {
            Some(d) => format!("the weekday nearest day {d}"),
            None => s.clone(),
        },
    }
}

fn dow_phrase(f: &Field) -> String {
    let phrases: Vec<String> = f.parts.iter().map(dow_part).collect();
    join(&phrases)
}

fn dow_part(p: &Part) -> String {
    match p {
        Part::Any => "every day of the week".into(),
        Part::Every(n) => format!("every {} day of the week", ordinal(*n)),
        Part::Value(v) => day_name(*v).into(),
        Part::Range { from, to, step: 1 } => format!("{} to {}", day_name(*from), day_name(*to)),
        Part::Range { from, to, step } => format!(
            "every {} day from {} to {}",
            ordinal(*step),
            day_name(*from),
            day_name(*to)
        ),
        Part::Special(s) => special_weekday(s),
    }
}

/// `5#2` → "the second Friday of the month", `5L` → "the last Friday of the month".
fn special_weekday(s: &str) -> String {
    let (day, nth) = match (s.split_once('#'), s.strip_suffix('L')) {
        (Some((d, "L")), _) | (None, Some(d)) => (d, "last".to_string()),
        (Some((d, n)), _) => (d, n.parse().map(nth_word).unwrap_or_else(|_| n.to_string())),
        (None, None) => return s.to_string(),
    };
    match day.parse::<u32>() {
        Ok(d) => format!("the {nth} {} of the month", day_name(d)),
        Err(_) => s.to_string(),
    }
}

fn month_phrase(f: &Field) -> String {
    if f.is_any() {
        return String::new();
    }
    let phrases: Vec<String> = f
        .parts
        .iter()
        .map(|p| match p {
            Part::Every(n) => format!("every {} month", ordinal(*n)),
            Part::Range { from, to, step: 1 } => {
                format!("{} to {}", month_name(*from), month_name(*to))
            }
            Part::Range { from, to, step } => format!(
                "every {} month from {} to {}",
                ordinal(*step),
                month_name(*from),
                month_name(*to)
            ),
            Part::Value(v) => month_name(*v).to_string(),
            Part::Any | Part::Special(_) => "every month".into(),
        })
        .collect();
    format!(" in {}", join(&phrases))
}

fn parts_phrase(f: &Field, name: &dyn Fn(u32) -> String) -> String {
    let phrases: Vec<String> = f
        .parts
        .iter()
        .map(|p| match p {
            Part::Any => "every value".into(),
            Part::Every(n) => format!("every {}", ordinal(*n)),
            Part::Value(v) => name(*v),
            Part::Range { from, to, step: 1 } => format!("{} to {}", name(*from), name(*to)),
            Part::Range { from, to, step } => {
                format!(
                    "every {} from {} to {}",
                    ordinal(*step),
                    name(*from),
                    name(*to)
                )
            }
            Part::Special(s) => s.clone(),
        })
        .collect();
    join(&phrases)
}

fn values_only(f: &Field) -> Option<Vec<u32>> {
    f.parts
        .iter()
        .map(|p| match p {
            Part::Value(v) => Some(*v),
            _ => None,
        })
        .collect()
}

fn clock(h: u32, m: u32, s: Option<u32>) -> String {
    match s {
        Some(s) => format!("{h:02}:{m:02}:{s:02}"),
        None => format!("{h:02}:{m:02}"),
    }
}

fn nums(vs: &[u32]) -> Vec<String> {
    vs.iter().map(u32::to_string).collect()
}

fn day_name(v: u32) -> &'static str {
    DAYS.get(v as usize).copied().unwrap_or("?")
}

fn month_name(v: u32) -> &'static str {
    MONTHS.get(v as usize).copied().unwrap_or("?")
}

fn nth_word(n: u32) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        n => ordinal(n),
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "a", "a and b", "a, b and c".
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::schedule::CronSchedule;

    fn d(expr: &str) -> String {
        CronSchedule::parse(expr).unwrap().describe()
    }

    #[test]
    fn plain_english() {
        let cases = [
            ("*/5 * * * *", "Every 5 minutes"),
            ("* * * * *", "Every minute"),
            ("0 21 * * *", "At 21:00 every day"),
            ("30 9 * * 1-5", "At 09:30 on Monday to Friday"),
            ("0 */6 * * *", "At minute 0 past every 6th hour"),
            ("0 0 1 * 0", "At 00:00 on day 1 of the month or on Sunday"),
            ("@hourly", "At minute 0 past every hour"),
            ("@weekly", "At 00:00 on Sunday"),
            ("@yearly", "At 00:00 on day 1 of the month in January"),
            ("0 9,12,17 * * *", "At 09:00, 12:00 and 17:00 every day"),
            (
                "*/10 9-17 * * mon-fri",
                "Every 10 minutes between 09:00 and 17:59 on Monday to Friday",
            ),
            (
                "0 0 */2 * 1",
                "At 00:00 on every 2nd day of the month if it is Monday",
            ),
            ("0 12 L * *", "At 12:00 on the last day of the month"),
            ("0 12 * * 5#2", "At 12:00 on the second Friday of the month"),
            ("0 12 * * 5L", "At 12:00 on the last Friday of the month"),
            (
                "15 10 1,15 jan-mar *",
                "At 10:15 on days 1 and 15 of the month in January to March",
            ),
            ("*/15 * * * * *", "Every 15 seconds"),
            ("30 0 8 * * *", "At 08:00:30 every day"),
            ("5,35 */2 * * *", "At minutes 5 and 35 past every 2nd hour"),
            ("5/15 * * * *", "Every 15th minute from 5 to 59"),
            (
                "0 1-23/2 * * *",
                "At minute 0 past every 2nd hour from 1 to 23",
            ),
            ("30 */10 * * * *", "Every 10 minutes, at second 30"),
            ("*/5 0-30 * * * *", "Every 5 seconds, at minutes 0 to 30"),
        ];
        for (expr, want) in cases {
            assert_eq!(d(expr), want, "{expr}");
        }
    }
}
