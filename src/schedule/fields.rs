//! The six fields of a cron expression as parts (`*`, `*/5`, `1-5`, `MON`…), for
//! describing it in English and converting it to launchd and systemd.
use anyhow::{Result, bail};

/// Which field of the expression a part belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Kind {
    /// The smallest and largest value of the field (day of week: 0-7, 7 is Sunday).
    pub fn bounds(self) -> (u32, u32) {
        match self {
            Kind::Second | Kind::Minute => (0, 59),
            Kind::Hour => (0, 23),
            Kind::DayOfMonth => (1, 31),
            Kind::Month => (1, 12),
            Kind::DayOfWeek => (0, 7),
        }
    }

    /// The field's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Second => "second",
            Kind::Minute => "minute",
            Kind::Hour => "hour",
            Kind::DayOfMonth => "day-of-month",
            Kind::Month => "month",
            Kind::DayOfWeek => "day-of-week",
        }
    }
}

/// One comma-separated part of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// `*`
    Any,
    /// `*/n`
    Every(u32),
    /// `n`
    Value(u32),
    /// `a-b`, or `a/n` (from `a` to the end) and `a-b/n` with a step above 1.
    Range { from: u32, to: u32, step: u32 },
    /// `L`, `LW`, `15W`, `5#2`, `5L`: kept as written (upper case).
    Special(String),
}

/// One field: its kind and parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub kind: Kind,
    pub parts: Vec<Part>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    /// Parses one field's text (already checked by croner, so errors are rare).
    pub fn parse(kind: Kind, text: &str) -> Result<Field> {
        let parts = text
            .split(',')
            .map(|p| parse_part(kind, &p.to_ascii_uppercase()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Field { kind, parts })
    }

    /// True when the field is exactly `*`.
    pub fn is_any(&self) -> bool {
        self.parts == [Part::Any]
    }

    /// The one value when the field is a single number.
    pub fn single(&self) -> Option<u32> {
        match self.parts.as_slice() {
            [Part::Value(v)] => Some(*v),
            _ => None,
        }
    }

    /// The step when the field is exactly `*/n`.
    pub fn every(&self) -> Option<u32> {
        match self.parts.as_slice() {
            [Part::Every(n)] => Some(*n),
            _ => None,
        }
    }

    /// True when a part uses `L`, `W` or `#`.
    pub fn has_special(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Special(_)))
    }

    /// Every value the field matches (day of week 7 folded to 0), sorted; `None` when
    /// a part is special.
    pub fn values(&self) -> Option<Vec<u32>> {
        let (lo, hi) = self.kind.bounds();
        let mut out = Vec::new();
        for p in &self.parts {
            match p {
                Part::Any => out.extend(lo..=hi),
                Part::Every(n) => out.extend((lo..=hi).step_by(*n as usize)),
                Part::Value(v) => out.push(*v),
                Part::Range { from, to, step } => out.extend((*from..=*to).step_by(*step as usize)),
                Part::Special(_) => return None,
            }
        }
        if self.kind == Kind::DayOfWeek {
            for v in &mut out {
                if *v == 7 {
                    *v = 0;
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

fn parse_part(kind: Kind, p: &str) -> Result<Part> {
    if p == "*" {
        return Ok(Part::Any);
    }
    let modifier = p.contains('#') || (p.contains(['L', 'W']) && !is_name(kind, p));
    if modifier {
        return Ok(Part::Special(p.to_string()));
    }
    if let Some(step) = p.strip_prefix("*/") {
        return Ok(Part::Every(number(kind, step)?));
    }
    let (range, step) = match p.split_once('/') {
        Some((r, s)) => (r, Some(number(kind, s)?)),
        None => (p, None),
    };
    let (from, to) = match range.split_once('-') {
        Some((a, b)) => (value(kind, a)?, value(kind, b)?),
        None => {
            let v = value(kind, range)?;
            (v, if step.is_some() { kind.bounds().1 } else { v })
        }
    };
    let step = step.unwrap_or(1);
    if from == to && step == 1 {
        return Ok(Part::Value(from));
    }
    Ok(Part::Range { from, to, step })
}

fn is_name(kind: Kind, p: &str) -> bool {
    let names: &[&str] = match kind {
        Kind::Month => &MONTHS,
        Kind::DayOfWeek => &DAYS,
        _ => &[],
    };
    p.split(['-', '/']).any(|w| names.contains(&w))
}

fn number(kind: Kind, s: &str) -> Result<u32> {
    match s.parse::<u32>() {
        Ok(n) => Ok(n),
        Err(_) => bail!("bad {} value {s:?}", kind.name()),
    }
}

fn value(kind: Kind, s: &str) -> Result<u32> {
    let names: &[&str] = match kind {
        Kind::Month => &MONTHS,
        Kind::DayOfWeek => &DAYS,
        _ => &[],
    };
    if let Some(i) = names.iter().position(|n| *n == s) {
        let offset = if kind == Kind::Month { 1 } else { 0 };
        return Ok(i as u32 + offset);
    }
    number(kind, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_recognised() {
        let f = Field::parse(Kind::DayOfWeek, "mon-fri,0,*/2,5#2,6L").unwrap();
        assert_eq!(
            f.parts,
            vec![
                Part::Range {
                    from: 1,
                    to: 5,
                    step: 1
                },
                Part::Value(0),
                Part::Every(2),
                Part::Special("5#2".into()),
                Part::Special("6L".into()),
            ]
        );
        let f = Field::parse(Kind::Minute, "5/15").unwrap();
        assert_eq!(f.values().unwrap(), vec![5, 20, 35, 50]);
        let f = Field::parse(Kind::DayOfWeek, "5-7").unwrap();
        assert_eq!(f.values().unwrap(), vec![0, 5, 6]);
        assert_eq!(Field::parse(Kind::Month, "jul").unwrap().single(), Some(7));
    }
}
