//! Audio files as media: their duration (WAV and MP4 headers, else ffprobe), and the
//! ffmpeg steps a remote transcriber needs (conversion, silence detection, cutting).
use crate::process::{self, RunError};
use crate::voice_memo::error::ItemError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long ffprobe may take to read a file's duration.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// The audio's duration in seconds: from the WAV or MP4 header when it has one, else
/// from ffprobe. `None` when neither can tell.
pub fn duration(path: &Path) -> Option<f64> {
    let from_header = File::open(path).ok().and_then(|mut f| {
        let mut head = [0u8; 12];
        f.read_exact(&mut head).ok()?;
        if &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
            wav_duration(&mut f)
        } else if &head[4..8] == b"ftyp" {
            mp4_duration(&mut f)
        } else {
            None
        }
    });
    from_header
        .filter(|d| d.is_finite() && *d > 0.0)
        .or_else(|| ffprobe_duration(path))
}

/// A big-endian integer from its bytes.
fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |acc, x| (acc << 8) | u64::from(*x))
}
/// A little-endian integer from its bytes.
fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, x| (acc << 8) | u64::from(*x))
}

/// Walks RIFF chunks after the 12-byte header: `data` size over `fmt`'s byte rate.
fn wav_duration<R: Read + Seek>(f: &mut R) -> Option<f64> {
    let mut byte_rate = None;
    let mut pos = 12u64;
    loop {
        f.seek(SeekFrom::Start(pos)).ok()?;
        let mut hdr = [0u8; 8];
        f.read_exact(&mut hdr).ok()?;
        let size = le(&hdr[4..8]);
        match &hdr[..4] {
            b"fmt " => {
                let mut fmt = [0u8; 12];
                f.read_exact(&mut fmt).ok()?;
                byte_rate = Some(le(&fmt[8..12]));
            }
            b"data" => {
                let rate = byte_rate.filter(|r| *r > 0)?;
                let end = f.seek(SeekFrom::End(0)).ok()?;
                // A stream still being written (or a header left at 0/max) has the
                // file's own length as the truth.
                let size = size.min(end.saturating_sub(pos + 8));
                return Some(size as f64 / rate as f64);
            }
            _ => {}
        }
        pos += 8 + size + (size & 1);
    }
}

/// The box at `pos`: (type, body start, box end).
fn mp4_box<R: Read + Seek>(f: &mut R, pos: u64) -> Option<([u8; 4], u64, u64)> {
    f.seek(SeekFrom::Start(pos)).ok()?;
    let mut hdr = [0u8; 8];
    f.read_exact(&mut hdr).ok()?;
    let kind = [hdr[4], hdr[5], hdr[6], hdr[7]];
    match be(&hdr[..4]) {
        1 => {
            let mut large = [0u8; 8];
            f.read_exact(&mut large).ok()?;
            Some((kind, pos + 16, pos + be(&large)))
        }
        0 => Some((kind, pos + 8, f.seek(SeekFrom::End(0)).ok()?)),
        n if n >= 8 => Some((kind, pos + 8, pos + n)),
        _ => None,
    }
}

/// The first box of `kind` among the boxes from `start` to `end`.
fn find_child<R: Read + Seek>(
    f: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> Option<(u64, u64)> {
    let mut pos = start;
    while pos + 8 <= end {
        let (k, body, box_end) = mp4_box(f, pos)?;
        if &k == kind {
            return Some((body, box_end));
        }
        if box_end <= pos {
            return None;
        }
        pos = box_end;
    }
    None
}

/// `moov/mvhd`: duration over timescale (version 0: 32-bit fields, 1: 64-bit).
fn mp4_duration<R: Read + Seek>(f: &mut R) -> Option<f64> {
    let file_end = f.seek(SeekFrom::End(0)).ok()?;
    let (moov, moov_end) = find_child(f, 0, file_end, b"moov")?;
    let (mvhd, _) = find_child(f, moov, moov_end, b"mvhd")?;
    f.seek(SeekFrom::Start(mvhd)).ok()?;
    let mut b = [0u8; 32];
    f.read_exact(&mut b).ok()?;
    let (timescale, duration) = if b[0] == 1 {
        (be(&b[20..24]), be(&b[24..32]))
    } else {
        (be(&b[12..16]), be(&b[16..20]))
    };
    (timescale > 0).then(|| duration as f64 / timescale as f64)
}

fn ffprobe_duration(path: &Path) -> Option<f64> {
    let mut cmd = Command::new("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "default=noprint_wrappers=1:nokey=1",
    ])
    .arg(path);
    match process::run(&mut cmd, PROBE_TIMEOUT) {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().parse().ok(),
        Ok(o) => {
            tracing::debug!(error = %o.stderr_tail(200), "ffprobe could not read the duration");
            None
        }
        Err(e) => {
            tracing::debug!(error = %e, "ffprobe could not run");
            None
        }
    }
}

/// A stretch of silence, in seconds from the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Silence {
    pub start: f64,
    pub end: f64,
}

impl Silence {
    /// The point halfway through: where a cut disturbs the least.
    pub fn middle(&self) -> f64 {
        (self.start + self.end) / 2.0
    }
}

fn display(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Runs ffmpeg; a failure is a transient item error with its stderr.
fn ffmpeg(args: &mut Command, what: &str, timeout: Duration) -> Result<Vec<u8>, ItemError> {
    let o = process::run(args, timeout)
        .map_err(|e: RunError| ItemError::transient(format!("{what}: {e}")))?;
    if !o.status.success() {
        return Err(ItemError::transient(format!(
            "{what}: ffmpeg failed ({}): {}",
            o.status,
            o.stderr_tail(300)
        )));
    }
    Ok(o.stdout)
}

fn ffmpeg_cmd() -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]);
    cmd
}

/// `out` with `.part` before its extension: where ffmpeg writes before the rename.
fn part_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let part = match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.part.{ext}"),
        None => format!("{name}.part"),
    };
    out.with_file_name(part)
}

/// Runs `cmd` (whose last argument is [`part_path`] of `out`), then renames the result
/// to `out`: a crash never leaves a half-written `out`.
fn write_via_part(
    mut cmd: Command,
    out: &Path,
    what: &str,
    timeout: Duration,
) -> Result<(), ItemError> {
    let part = part_path(out);
    cmd.arg(&part);
    let result = ffmpeg(&mut cmd, what, timeout).and_then(|_| {
        std::fs::rename(&part, out)
            .map_err(|e| ItemError::transient(format!("{what}: renaming {}: {e}", part.display())))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Converts `input` to mono AAC in an `.m4a` at `out` (a format every
/// OpenAI-compatible server accepts, about 0.5 MB a minute).
pub fn to_m4a(input: &Path, out: &Path, timeout: Duration) -> Result<(), ItemError> {
    // A .qta's AAC track, not its APAC one (which ffmpeg may rank first).
    let map = format!("0:a:{}", crate::voice_memo::decode::check_decodable(input)?);
    let mut cmd = ffmpeg_cmd();
    cmd.arg("-i")
        .arg(input)
        .args(["-vn", "-map", &map])
        .args(["-ac", "1", "-c:a", "aac", "-b:a", "64k"]);
    let what = format!("{}: converting to m4a", display(input));
    write_via_part(cmd, out, &what, timeout)
}

/// The silences of at least `min_seconds` below `noise_db` in `input`, in order.
pub fn silences(
    input: &Path,
    noise_db: f64,
    min_seconds: f64,
    timeout: Duration,
) -> Result<Vec<Silence>, ItemError> {
    let filter = format!(
        "silencedetect=noise={noise_db}dB:d={min_seconds},ametadata=mode=print:file=/dev/stdout"
    );
    let mut cmd = ffmpeg_cmd();
    cmd.arg("-i")
        .arg(input)
        .args(["-vn", "-af", &filter, "-f", "null", "-"]);
    let what = format!("{}: looking for silences", display(input));
    let out = ffmpeg(&mut cmd, &what, timeout)?;
    Ok(parse_silences(&String::from_utf8_lossy(&out)))
}

/// `lavfi.silence_start=` / `lavfi.silence_end=` lines, paired in order; a silence
/// still open at the end of the file is left out (nothing follows it to cut from).
pub fn parse_silences(text: &str) -> Vec<Silence> {
    let mut out = Vec::new();
    let mut open = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("lavfi.silence_start=") {
            open = v.trim().parse::<f64>().ok().map(|s| s.max(0.0));
        } else if let Some(v) = line.strip_prefix("lavfi.silence_end=")
            && let (Some(start), Ok(end)) = (open.take(), v.trim().parse::<f64>())
        {
            out.push(Silence { start, end });
        }
    }
    out
}

/// Copies `start..end` seconds of `input`'s audio, without re-encoding, to `out`
/// (whose extension must suit the codec: the input's own).
pub fn cut(
    input: &Path,
    start: f64,
    end: f64,
    out: &Path,
    timeout: Duration,
) -> Result<(), ItemError> {
    let mut cmd = ffmpeg_cmd();
    cmd.args(["-ss", &format!("{start:.3}")])
        .arg("-i")
        .arg(input)
        .args(["-t", &format!("{:.3}", (end - start).max(0.001))])
        .args(["-vn", "-map", "0:a:0", "-c:a", "copy"]);
    let what = format!("{}: cutting {start:.1}–{end:.1} s", display(input));
    write_via_part(cmd, out, &what, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav(seconds: u32) -> Vec<u8> {
        let data = 32000 * seconds;
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&(36 + data).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&16000u32.to_le_bytes());
        v.extend_from_slice(&32000u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"LIST\x04\0\0\0abcd");
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data.to_le_bytes());
        v.resize(v.len() + data as usize, 0);
        v
    }

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn wav_duration_from_the_header() {
        let mut c = Cursor::new(wav(3));
        assert_eq!(wav_duration(&mut c), Some(3.0));
    }

    #[test]
    fn mp4_duration_from_mvhd() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&600u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&(600u32 * 95 / 2).to_be_bytes());
        let mut file = bx(b"ftyp", b"M4A \0\0\0\0");
        file.extend(bx(b"mdat", &[0; 50]));
        file.extend(bx(
            b"moov",
            &[bx(b"trak", &[0; 10]), bx(b"mvhd", &mvhd)].concat(),
        ));
        let mut c = Cursor::new(file);
        assert_eq!(mp4_duration(&mut c), Some(47.5));
    }

    #[test]
    fn silences_are_paired_in_order() {
        let text = "frame:1 pts:2 pts_time:0.1\nlavfi.silence_start=-0.02\nframe:5\nlavfi.silence_end=1.5\nlavfi.silence_duration=1.5\nlavfi.silence_start=10.25\nlavfi.silence_end=12.75\nlavfi.silence_start=30\n";
        assert_eq!(
            parse_silences(text),
            [
                Silence {
                    start: 0.0,
                    end: 1.5
                },
                Silence {
                    start: 10.25,
                    end: 12.75
                }
            ]
        );
    }

    #[test]
    fn ffmpeg_steps_on_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("s.wav");
        let ok = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error"])
            .args(["-f", "lavfi", "-i", "sine=f=440:d=2"])
            .args(["-f", "lavfi", "-i", "sine=f=660:d=2"])
            .args([
                "-filter_complex",
                "[0]apad=pad_dur=2[a];[a][1]concat=n=2:v=0:a=1",
            ])
            .args(["-ar", "16000", "-ac", "1"])
            .arg(&src)
            .status()
            .unwrap();
        assert!(ok.success());
        let d = duration(&src).unwrap();
        assert!((5.9..=6.1).contains(&d), "{d}");
        let s = silences(&src, -35.0, 0.5, Duration::from_secs(30)).unwrap();
        assert!(!s.is_empty() && (1.9..=2.2).contains(&s[0].start), "{s:?}");
        let piece = dir.path().join("p.wav");
        cut(&src, 0.0, 1.0, &piece, Duration::from_secs(30)).unwrap();
        assert!((0.95..=1.05).contains(&duration(&piece).unwrap()));
        let m4a = dir.path().join("c.m4a");
        to_m4a(&src, &m4a, Duration::from_secs(30)).unwrap();
        assert!((d - 0.2..=d + 0.2).contains(&duration(&m4a).unwrap()));
        assert!(!part_path(&m4a).exists());
    }
}

/// The loudest sample of `input` in dB (0 is full scale; silence is about -91), from
/// ffmpeg's `volumedetect`; `None` when ffmpeg cannot tell.
pub fn loudest_db(input: &Path, timeout: Duration) -> Option<f64> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-i"])
        .arg(input)
        .args(["-vn", "-af", "volumedetect", "-f", "null", "-"]);
    let o = process::run(&mut cmd, timeout).ok()?;
    if !o.status.success() {
        return None;
    }
    parse_loudest(&String::from_utf8_lossy(&o.stderr))
}

/// `max_volume: -3.2 dB` in volumedetect's report.
fn parse_loudest(text: &str) -> Option<f64> {
    let at = text.rfind("max_volume:")?;
    text[at + "max_volume:".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod loudness_tests {
    #[test]
    fn reads_volumedetect_max() {
        let report = "[Parsed_volumedetect_0 @ 0x1] mean_volume: -20.1 dB\n[Parsed_volumedetect_0 @ 0x1] max_volume: -3.5 dB\n";
        assert_eq!(super::parse_loudest(report), Some(-3.5));
        assert_eq!(super::parse_loudest("nothing"), None);
    }
}
