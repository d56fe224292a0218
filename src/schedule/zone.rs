//! Time zones for schedules: the system's own (`TZ`, else `/etc/localtime`, else UTC)
//! and IANA names given on the command line or in the config.
use crate::exit::usage;
use anyhow::Result;
use chrono_tz::Tz;

/// The local time zone: `TZ` when it names one, else the `/etc/localtime` symlink's
/// target (`…/zoneinfo/Europe/Berlin`), else UTC.
pub fn local_zone() -> Tz {
    std::env::var("TZ")
        .ok()
        .and_then(|v| zone_from_tz_var(&v))
        .or_else(zone_from_localtime)
        .unwrap_or(Tz::UTC)
}

/// An IANA zone name (`Europe/Berlin`, `UTC`); a usage error otherwise.
pub fn parse_zone(name: &str) -> Result<Tz> {
    name.trim().parse::<Tz>().map_err(|_| {
        usage(format!(
            "unknown time zone {name:?}: use an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\""
        ))
    })
}

fn zone_from_tz_var(value: &str) -> Option<Tz> {
    let name = value.trim().trim_start_matches(':');
    if name.is_empty() {
        return None;
    }
    name.parse().ok().or_else(|| zone_from_path(name))
}

fn zone_from_localtime() -> Option<Tz> {
    let target = std::fs::read_link("/etc/localtime").ok()?;
    zone_from_path(&target.to_string_lossy())
}

/// `…/zoneinfo/Europe/Berlin` → `Europe/Berlin`.
fn zone_from_path(path: &str) -> Option<Tz> {
    let (_, name) = path.split_once("zoneinfo/")?;
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_from_names_and_paths() {
        assert_eq!(parse_zone("Europe/Berlin").unwrap(), Tz::Europe__Berlin);
        assert!(parse_zone("Mars/Olympus").is_err());
        assert_eq!(
            zone_from_tz_var(":America/New_York"),
            Some(Tz::America__New_York)
        );
        assert_eq!(
            zone_from_path("/usr/share/zoneinfo/Australia/Lord_Howe"),
            Some(Tz::Australia__Lord_Howe)
        );
        assert_eq!(zone_from_tz_var(""), None);
    }
}
