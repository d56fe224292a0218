//! The systemd backend: a user `.service` (oneshot) and `.timer` per job, the cron
//! expression converted to `OnCalendar=` lines (one per side of a day-field OR).
use super::fields::{Field, Kind, Part};
use super::{CronSchedule, Entry};
use crate::exit::usage;
use anyhow::Result;

const WEEKDAYS: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The unit name without suffix, `astra-<program>`.
pub fn unit_name(program: &str) -> String {
    format!("astra-{program}")
}

/// The `.service` unit: runs the program once.
pub fn service(e: &Entry) -> String {
    format!(
        "# Managed by `astra schedule install --systemd`.\n\
         [Unit]\n\
         Description=astra {program}: {description}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={exec}\n\
         Environment={env}\n\
         Environment={path}\n",
        program = e.program,
        description = e.description.replace('%', "%%"),
        exec = quote(&e.binary.to_string_lossy()),
        env = quote(&format!("ASTRA_HOME={}", e.home.to_string_lossy())),
        // The user manager's PATH has no ~/.local/bin or Homebrew: the one the cron
        // line gets (the binaries' folder, then install's PATH, deduplicated).
        path = quote(&format!("PATH={}", e.path)),
    )
}

/// The `.timer` unit: the schedule as `OnCalendar=` lines, catching up missed runs.
pub fn timer(e: &Entry) -> Result<String> {
    let calendars: String = on_calendar(&e.schedule)?
        .iter()
        .map(|c| format!("OnCalendar={c}\n"))
        .collect();
    Ok(format!(
        "# Managed by `astra schedule install --systemd`.\n\
         [Unit]\n\
         Description=astra {program} on schedule {expr} ({human})\n\
         \n\
         [Timer]\n\
         {calendars}\
         Persistent=true\n\
         Unit={unit}.service\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        program = e.program,
        expr = e.schedule.expr(),
        human = e.schedule.describe(),
        unit = unit_name(&e.program),
    ))
}

/// systemd calendar expressions for `schedule`: one, or two when the day of month and
/// the day of week are ORed (systemd always ANDs them).
pub fn on_calendar(schedule: &CronSchedule) -> Result<Vec<String>> {
    let expr = schedule.expr();
    let cannot = |why: String| {
        usage(format!(
            "systemd cannot express the schedule {expr:?}: {why}. Use --cron, or a simpler expression"
        ))
    };
    let [sec, min, hour, dom, month, dow] = schedule.fields();
    let time = format!(
        "{}:{}:{}",
        field(hour).map_err(&cannot)?,
        field(min).map_err(&cannot)?,
        field(sec).map_err(&cannot)?
    );
    let month = field(month).map_err(&cannot)?;
    let line = |weekday: Option<String>, day: String| match weekday {
        Some(w) => format!("{w} *-{month}{day} {time}"),
        None => format!("*-{month}{day} {time}"),
    };
    let days = day_of_month(dom).map_err(&cannot)?;
    if dom.is_any() || dow.is_any() || schedule.days_and() {
        let (weekday, days) = weekday(dow, days).map_err(&cannot)?;
        return Ok(vec![line(weekday, days)]);
    }
    let (weekday, dow_days) = weekday(dow, "-*".into()).map_err(&cannot)?;
    Ok(vec![line(None, days), line(weekday, dow_days)])
}

/// A time or month field: `*`, `05`, `09..17`, `0/5`, `1,15`.
fn field(f: &Field) -> Result<String, String> {
    let (lo, hi) = f.kind.bounds();
    let parts = f
        .parts
        .iter()
        .map(|p| match p {
            Part::Any | Part::Every(1) => Ok("*".to_string()),
            Part::Every(n) => Ok(format!("{}/{n}", num(f.kind, lo))),
            Part::Value(v) => Ok(num(f.kind, *v)),
            Part::Range { from, to, step: 1 } => {
                Ok(format!("{}..{}", num(f.kind, *from), num(f.kind, *to)))
            }
            Part::Range { from, to, step } if *to == hi => {
                Ok(format!("{}/{step}", num(f.kind, *from)))
            }
            Part::Range { from, to, step } => Ok((*from..=*to)
                .step_by(*step as usize)
                .map(|v| num(f.kind, v))
                .collect::<Vec<_>>()
                .join(",")),
            Part::Special(s) => Err(format!("{s} in the {} field", f.kind.name())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(","))
}

fn num(kind: Kind, v: u32) -> String {
    match kind {
        Kind::Month | Kind::DayOfMonth => format!("{v:02}"),
        _ => format!("{v:02}"),
    }
}

/// The day part of the date, with its separator: `-01`, `-*`, `~01` (last day).
fn day_of_month(f: &Field) -> Result<String, String> {
    match f.parts.as_slice() {
        [Part::Special(s)] if s == "L" => Ok("~01".into()),
        _ => Ok(format!("-{}", field(f)?)),
    }
}

/// The weekday prefix (`Mon..Fri`), and the day part adjusted for `5#2` (days 08..14)
/// or `5L` (the last seven days).
fn weekday(f: &Field, days: String) -> Result<(Option<String>, String), String> {
    if f.is_any() {
        return Ok((None, days));
    }
    if let [Part::Special(s)] = f.parts.as_slice() {
        return nth_weekday(s, days);
    }
    let parts = f
        .parts
        .iter()
        .map(|p| match p {
            Part::Value(v) => Ok(day_name(*v).to_string()),
            Part::Range { from, to, step: 1 } if from < to => {
                Ok(format!("{}..{}", day_name(*from), day_name(*to)))
            }
            Part::Special(s) => Err(format!("{s} with other days of the week")),
            other => {
                let f = Field {
                    kind: Kind::DayOfWeek,
                    parts: vec![other.clone()],
                };
                let values = f.values().unwrap_or_default();
                Ok(values
                    .iter()
                    .map(|v| day_name(*v))
                    .collect::<Vec<_>>()
                    .join(","))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Some(parts.join(",")), days))
}

fn nth_weekday(s: &str, days: String) -> Result<(Option<String>, String), String> {
    if days != "-*" {
        return Err(format!("{s} together with a day of month"));
    }
    let (day, which) = match (s.split_once('#'), s.strip_suffix('L')) {
        (Some((d, n)), _) => (d, n),
        (None, Some(d)) => (d, "L"),
        _ => return Err(format!("{s} in the day-of-week field")),
    };
    let day: u32 = day
        .parse()
        .map_err(|_| format!("{s} in the day-of-week field"))?;
    let range = match which {
        "L" => "~07/1".to_string(),
        n => {
            let n: u32 = n
                .parse()
                .map_err(|_| format!("{s} in the day-of-week field"))?;
            let first = (n - 1) * 7 + 1;
            format!("-{:02}..{:02}", first, (first + 6).min(31))
        }
    };
    Ok((Some(day_name(day).to_string()), range))
}

fn day_name(v: u32) -> &'static str {
    WEEKDAYS.get(v as usize).copied().unwrap_or("Sun")
}

/// Quotes a value for a unit file when it has spaces or quotes; `%` is doubled (it
/// starts a specifier).
fn quote(s: &str) -> String {
    let s = &s.replace('%', "%%");
    if s.chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '\'')
    {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

/// The `PATH` a `.service` unit gives its program (`Environment=` lines, quoted as
/// [`quote`] writes them; the last one counts, as in systemd); None when it sets none.
pub fn path_in_service(unit: &str) -> Option<String> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix("Environment="))
        .flat_map(assignments)
        .filter_map(|a| a.strip_prefix("PATH=").map(str::to_string))
        .next_back()
}

/// The assignments of one `Environment=` value: words split at spaces, a double-quoted
/// word unescaped (`\"`, `\\`), `%%` read as `%`.
fn assignments(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut word = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => word.extend(chars.next()),
                    '"' => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        out.push(word.replace("%%", "%"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_a_service_gives_is_read_back_as_written() {
        for path in [
            "/usr/bin:/bin",
            "/Users/a b/bin:/usr/bin",
            "/odd\"quote\\dir:/100%/bin",
        ] {
            let unit = format!(
                "[Service]\nEnvironment=ASTRA_HOME=/h\nEnvironment={}\n",
                quote(&format!("PATH={path}"))
            );
            assert_eq!(path_in_service(&unit).as_deref(), Some(path), "{unit}");
        }
        assert_eq!(
            path_in_service("[Service]\nEnvironment=A=1 PATH=/x:/y\n").as_deref(),
            Some("/x:/y")
        );
        assert_eq!(
            path_in_service("[Service]\nEnvironment=ASTRA_HOME=/h\n"),
            None
        );
    }
    use crate::schedule::entry::example_entries;

    fn cal(expr: &str) -> Vec<String> {
        on_calendar(&CronSchedule::parse(expr).unwrap()).unwrap()
    }

    #[test]
    fn calendars() {
        assert_eq!(cal("*/5 * * * *"), ["*-*-* *:00/5:00"]);
        assert_eq!(cal("0 21 * * *"), ["*-*-* 21:00:00"]);
        assert_eq!(cal("30 9 * * 1-5"), ["Mon..Fri *-*-* 09:30:00"]);
        assert_eq!(cal("0 */6 * * *"), ["*-*-* 00/6:00:00"]);
        assert_eq!(cal("0 0 1 * 0"), ["*-*-01 00:00:00", "Sun *-*-* 00:00:00"]);
        assert_eq!(cal("0 0 */2 * 1"), ["Mon *-*-01/2 00:00:00"]);
        assert_eq!(cal("15 10 1,15 jan-mar *"), ["*-01..03-01,15 10:15:00"]);
        assert_eq!(cal("0 12 L * *"), ["*-*~01 12:00:00"]);
        assert_eq!(cal("0 12 * * 5#2"), ["Fri *-*-08..14 12:00:00"]);
        assert_eq!(cal("0 12 * * 5L"), ["Fri *-*~07/1 12:00:00"]);
        assert_eq!(cal("0 6 * * sat,sun"), ["Sat,Sun *-*-* 06:00:00"]);
        assert_eq!(cal("5/15 1-10/3 * * *"), ["*-*-* 01,04,07,10:05/15:00"]);
        assert_eq!(cal("*/10 * * * * *"), ["*-*-* *:*:00/10"]);
        assert!(on_calendar(&CronSchedule::parse("0 0 15W * *").unwrap()).is_err());
    }

    /// Where systemd-analyze is installed, it accepts every calendar we write.
    #[test]
    fn systemd_analyze_accepts_them() {
        let exprs = [
            "*/5 * * * *",
            "0 21 * * *",
            "30 9 * * 1-5",
            "0 */6 * * *",
            "0 0 1 * 0",
            "0 0 */2 * 1",
            "15 10 1,15 jan-mar *",
            "0 12 L * *",
            "0 12 * * 5#2",
            "0 12 * * 5L",
            "5/15 1-10/3 * * *",
            "*/10 * * * * *",
            "0 0 * * 7",
        ];
        for expr in exprs {
            for c in cal(expr) {
                let Ok(out) = std::process::Command::new("systemd-analyze")
                    .args(["calendar", &c])
                    .output()
                else {
                    return;
                };
                assert!(
                    out.status.success(),
                    "{expr} → {c}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    #[test]
    fn unit_snapshots() {
        for e in example_entries() {
            insta::assert_snapshot!(format!("service_{}", e.program), service(&e));
            insta::assert_snapshot!(format!("timer_{}", e.program), timer(&e).unwrap());
        }
    }
}
