//! Where to cut a recording too big for one upload: pieces under the size limit, each
//! ending in a silence near the largest length that fits, or a hard cut when none does.
//!
//! The plan is saved beside the pieces (`chunks/plan.json`) so a retry cuts the same
//! pieces and transcribes only those without a `NNN.txt` yet.
use crate::voice_memo::media::Silence;
use serde::{Deserialize, Serialize};

/// The share of the limit a piece is planned to fill: room for container overhead and
/// for a variable bitrate that runs above the file's average.
pub const FILL: f64 = 0.95;
/// A silence earlier than this share of the longest piece is not worth cutting at.
const EARLIEST_CUT: f64 = 0.5;

/// The saved plan for one recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The limits the plan was made for; other limits mean another plan.
    pub max_bytes: u64,
    #[serde(default)]
    pub max_seconds: Option<f64>,
    /// The size of the file cut, to notice it changed.
    pub source_bytes: u64,
    pub duration: f64,
    /// `[start, end]` seconds of the silences found.
    pub silences: Vec<[f64; 2]>,
    /// `[start, end]` seconds of each piece, in order.
    pub ranges: Vec<[f64; 2]>,
}

impl Plan {
    pub fn silences(&self) -> Vec<Silence> {
        self.silences
            .iter()
            .map(|[start, end]| Silence {
                start: *start,
                end: *end,
            })
            .collect()
    }
}

/// The limits one piece must stay under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_bytes: u64,
    /// Some models also cap an upload's duration (`f64::INFINITY`: no cap).
    pub max_seconds: f64,
}

/// Pieces covering `from..duration`, each under `limits` at `bytes_per_sec`.
pub fn plan(
    from: f64,
    duration: f64,
    bytes_per_sec: f64,
    limits: Limits,
    silences: &[Silence],
) -> Vec<[f64; 2]> {
    let by_size = limits.max_bytes as f64 * FILL / bytes_per_sec.max(1.0);
    let longest = by_size.min(limits.max_seconds * FILL).max(0.5);
    let mut ranges = Vec::new();
    let mut start = from;
    while duration - start > 1e-6 {
        if duration - start <= longest {
            ranges.push([start, duration]);
            break;
        }
        let end = cut_point(
            start,
            start + longest,
            start + longest * EARLIEST_CUT,
            silences,
        );
        ranges.push([start, end]);
        start = end;
    }
    ranges
}

/// The latest point in `(floor, limit]` inside a silence (its middle when that fits),
/// else `limit` itself.
fn cut_point(start: f64, limit: f64, floor: f64, silences: &[Silence]) -> f64 {
    silences
        .iter()
        .filter(|s| s.start < limit && s.end > start)
        .map(|s| s.middle().min(limit))
        .filter(|c| *c > floor)
        .fold(None, |best: Option<f64>, c| {
            Some(best.map_or(c, |b| b.max(c)))
        })
        .unwrap_or(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: f64, end: f64) -> Silence {
        Silence { start, end }
    }

    fn bytes(max_bytes: u64) -> Limits {
        Limits {
            max_bytes,
            max_seconds: f64::INFINITY,
        }
    }

    #[test]
    fn a_file_that_fits_is_one_piece() {
        assert_eq!(
            plan(0.0, 100.0, 1000.0, bytes(200_000), &[]),
            [[0.0, 100.0]]
        );
    }

    #[test]
    fn cuts_at_the_latest_silence_that_fits() {
        // 1000 B/s, 100 kB limit: at most 95 s a piece.
        let silences = [s(30.0, 32.0), s(80.0, 82.0), s(90.0, 91.0), s(170.0, 174.0)];
        let r = plan(0.0, 250.0, 1000.0, bytes(100_000), &silences);
        assert_eq!(r, [[0.0, 90.5], [90.5, 172.0], [172.0, 250.0]]);
    }

    #[test]
    fn a_silence_across_the_limit_is_cut_at_the_limit() {
        let r = plan(0.0, 150.0, 1000.0, bytes(100_000), &[s(94.0, 99.0)]);
        assert_eq!(r, [[0.0, 95.0], [95.0, 150.0]]);
    }

    #[test]
    fn no_silence_late_enough_means_a_hard_cut() {
        let r = plan(0.0, 200.0, 1000.0, bytes(100_000), &[s(10.0, 12.0)]);
        assert_eq!(r, [[0.0, 95.0], [95.0, 190.0], [190.0, 200.0]]);
        for [a, b] in r {
            assert!((b - a) * 1000.0 <= 100_000.0);
        }
    }

    #[test]
    fn a_duration_cap_shortens_the_pieces() {
        let limits = Limits {
            max_bytes: 100_000_000,
            max_seconds: 100.0,
        };
        let r = plan(
            0.0,
            200.0,
            1000.0,
            limits,
            &[s(80.0, 82.0), s(150.0, 152.0)],
        );
        assert_eq!(r, [[0.0, 81.0], [81.0, 151.0], [151.0, 200.0]]);
    }

    #[test]
    fn replanning_starts_where_asked() {
        let r = plan(
            50.0,
            120.0,
            2000.0,
            bytes(100_000),
            &[s(60.0, 61.0), s(95.0, 97.0)],
        );
        assert_eq!(r, [[50.0, 96.0], [96.0, 120.0]]);
    }
}
