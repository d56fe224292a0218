//! Apple's `.qta` recordings: QuickTime files (`ftyp` brand `qt  `) in which Voice
//! Memos puts a standard AAC track next to a spatial-audio track (APAC, sample entry
//! `apac`) that ffmpeg and the built-in decoder cannot decode. This module lists a
//! file's sound tracks by their sample entry, so the decoder is told which one to
//! take and a file with nothing decodable gets an error naming the codec.
//!
//! The `#[doc(hidden)]` helpers build test fixtures from what ffmpeg writes.
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

/// The largest `moov` read into memory (a memo's sample tables are far smaller).
const MAX_MOOV: u64 = 64 * 1024 * 1024;

/// Sample entries ffmpeg and the built-in decoder read (AAC, ALAC, PCM flavours…).
const DECODABLE: &[&[u8; 4]] = &[
    b"mp4a", b"alac", b"lpcm", b"sowt", b"twos", b"in24", b"in32", b"fl32", b"fl64", b"raw ",
    b"ulaw", b"alaw", b"ima4", b".mp3", b"samr", b"Opus", b"fLaC", b"ac-3", b"ec-3",
];

/// One sound track: its index among the file's sound tracks (ffmpeg's `0:a:N`) and
/// its sample entry's fourcc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoundTrack {
    pub audio_index: usize,
    pub fourcc: [u8; 4],
}

impl SoundTrack {
    pub fn decodable(&self) -> bool {
        DECODABLE.contains(&&self.fourcc)
    }

    /// The codec's name for messages: `apac` → "APAC (Apple's spatial audio, `apac`)".
    pub fn codec_label(&self) -> String {
        let cc = String::from_utf8_lossy(&self.fourcc).trim().to_string();
        match &self.fourcc {
            b"apac" => "APAC (Apple Positional Audio Codec, sample entry `apac`)".into(),
            _ => format!("`{cc}`"),
        }
    }
}

/// Whether the file's `ftyp` names QuickTime (`qt  `) as its major brand.
pub fn is_quicktime(head: &[u8]) -> bool {
    head.len() >= 12 && &head[4..8] == b"ftyp" && &head[8..12] == b"qt  "
}

#[derive(Debug, Clone, Copy)]
struct Bx {
    kind: [u8; 4],
    start: usize,
    body: usize,
    end: usize,
}

fn boxes(buf: &[u8], start: usize, end: usize) -> Vec<Bx> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos + 8 <= end {
        let size = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]) as u64;
        let kind = [buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]];
        let (size, header) = match size {
            0 => ((end - pos) as u64, 8),
            1 if pos + 16 <= end => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&buf[pos + 8..pos + 16]);
                (u64::from_be_bytes(l), 16)
            }
            n => (n, 8),
        };
        if size < header as u64 || pos as u64 + size > end as u64 {
            break;
        }
        let e = pos + size as usize;
        out.push(Bx {
            kind,
            start: pos,
            body: pos + header,
            end: e,
        });
        pos = e;
    }
    out
}

fn child(buf: &[u8], parent: &Bx, kind: &[u8; 4]) -> Option<Bx> {
    boxes(buf, parent.body, parent.end)
        .into_iter()
        .find(|b| &b.kind == kind)
}

/// The file's `moov` box (its offset in the file, and its bytes).
fn read_moov(file: &mut File) -> io::Result<Option<(u64, Vec<u8>)>> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut pos = 0u64;
    while pos + 8 <= len {
        file.seek(SeekFrom::Start(pos))?;
        let mut h = [0u8; 16];
        file.read_exact(&mut h[..8])?;
        let mut size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        if size == 1 {
            file.read_exact(&mut h[8..16])?;
            size = u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        } else if size == 0 {
            size = len - pos;
        }
        if size < 8 || pos + size > len {
            return Ok(None);
        }
        if &h[4..8] == b"moov" {
            if size > MAX_MOOV {
                return Ok(None);
            }
            file.seek(SeekFrom::Start(pos))?;
            let mut buf = vec![0u8; size as usize];
            file.read_exact(&mut buf)?;
            return Ok(Some((pos, buf)));
        }
        pos += size;
    }
    Ok(None)
}

/// Each `trak` with a sound handler, and where its first sample entry's fourcc is.
fn sound_traks(moov: &[u8]) -> Vec<(Bx, usize)> {
    let Some(top) = boxes(moov, 0, moov.len()).into_iter().next() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for trak in boxes(moov, top.body, top.end)
        .into_iter()
        .filter(|b| &b.kind == b"trak")
    {
        let Some(mdia) = child(moov, &trak, b"mdia") else {
            continue;
        };
        let sound = child(moov, &mdia, b"hdlr")
            .is_some_and(|h| h.body + 12 <= h.end && &moov[h.body + 8..h.body + 12] == b"soun");
        if !sound {
            continue;
        }
        let stsd = child(moov, &mdia, b"minf")
            .and_then(|m| child(moov, &m, b"stbl"))
            .and_then(|s| child(moov, &s, b"stsd"));
        // stsd: version/flags, entry count, then the first entry (size, fourcc).
        if let Some(stsd) = stsd.filter(|s| s.body + 16 <= s.end) {
            out.push((trak, stsd.body + 12));
        }
    }
    out
}

/// The file's sound tracks in order, or `None` when it is not an MP4/QuickTime file
/// with a readable `moov`.
pub fn sound_tracks(path: &Path) -> io::Result<Option<Vec<SoundTrack>>> {
    let mut file = File::open(path)?;
    let Some((_, moov)) = read_moov(&mut file)? else {
        return Ok(None);
    };
    Ok(Some(
        sound_traks(&moov)
            .into_iter()
            .enumerate()
            .map(|(i, (_, at))| SoundTrack {
                audio_index: i,
                fourcc: [moov[at], moov[at + 1], moov[at + 2], moov[at + 3]],
            })
            .collect(),
    ))
}

/// Test fixtures: sets the sample entry of sound track `audio_index` to `fourcc`
/// (as Voice Memos' `apac` track looks to a reader that does not know APAC).
#[doc(hidden)]
pub fn patch_sample_entry(path: &Path, audio_index: usize, fourcc: &[u8; 4]) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let (moov_at, moov) = read_moov(&mut file)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no moov"))?;
    let (_, at) = *sound_traks(&moov)
        .get(audio_index)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no such sound track"))?;
    file.seek(SeekFrom::Start(moov_at + at as u64))?;
    file.write_all(fourcc)?;
    file.sync_all()
}

/// Test fixtures: moves the `meta` (`hdlr mdta`, `keys`, `ilst`) ffmpeg writes under
/// `moov/udta` with `-movflags use_metadata_tags` into the first track, where Voice
/// Memos keeps a `.qta`'s transcript. `moov` keeps its size, so no chunk offset moves.
#[doc(hidden)]
pub fn move_metadata_into_first_track(path: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let (moov_at, moov) = read_moov(&mut file)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no moov"))?;
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let top = boxes(&moov, 0, moov.len())[0];
    let kids = boxes(&moov, top.body, top.end);
    let udta = kids
        .iter()
        .find(|b| &b.kind == b"udta")
        .ok_or_else(|| bad("no moov/udta"))?;
    let meta = child(&moov, udta, b"meta").ok_or_else(|| bad("no moov/udta/meta"))?;
    let trak = kids
        .iter()
        .find(|b| &b.kind == b"trak")
        .ok_or_else(|| bad("no trak"))?;
    if trak.end > udta.start {
        return Err(bad("expected the tracks before udta"));
    }
    let meta_bytes = &moov[meta.start..meta.end];
    let mut out = moov[..trak.end].to_vec();
    out.extend_from_slice(meta_bytes);
    out.extend_from_slice(&moov[trak.end..meta.start]);
    out.extend_from_slice(&moov[meta.end..]);
    let grow = |buf: &mut [u8], at: usize, delta: i64| {
        let s = u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as i64;
        buf[at..at + 4].copy_from_slice(&((s + delta) as u32).to_be_bytes());
    };
    let meta_len = meta_bytes.len() as i64;
    grow(&mut out, trak.start, meta_len);
    grow(&mut out, udta.start + meta_bytes.len(), -meta_len);
    file.seek(SeekFrom::Start(moov_at))?;
    file.write_all(&out)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice_memo::decode;
    use crate::voice_memo::transcribe::apple::read_apple_transcript;
    use std::process::Command;

    const TSRP: &str = r#"{"attributedString":{"attributeTable":[{"timeRange":[0,1]}],"runs":["Call the dentist",0," tomorrow.",0]},"locale":{"identifier":"en_US"}}"#;

    /// A .qta as Voice Memos writes one, from ffmpeg: QuickTime (`-f mov`, brand
    /// `qt  `), two AAC tracks of a tone, the second then patched to `apac`;
    /// with `transcript`, the metadata item moved into the first track.
    fn make_qta(dir: &Path, name: &str, tracks: usize, transcript: Option<&str>) -> PathBuf {
        let out = dir.join(name);
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-nostdin", "-loglevel", "error", "-y"]);
        for _ in 0..tracks {
            cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]);
        }
        for i in 0..tracks {
            cmd.args(["-map", &format!("{i}:a")]);
        }
        cmd.args(["-c:a", "aac", "-f", "mov", "-brand", "qt  "]);
        if let Some(t) = transcript {
            cmd.args(["-movflags", "use_metadata_tags", "-metadata"])
                .arg(format!("com.apple.VoiceMemos.tsrp={t}"));
        }
        let st = cmd.arg(&out).status().expect("ffmpeg runs");
        assert!(st.success());
        if transcript.is_some() {
            move_metadata_into_first_track(&out).unwrap();
        }
        out
    }

    #[test]
    fn a_voice_memos_qta_with_its_transcript_and_an_apac_track() {
        let dir = tempfile::tempdir().unwrap();
        let qta = make_qta(dir.path(), "20260101 090000-AB.qta", 2, Some(TSRP));
        patch_sample_entry(&qta, 1, b"apac").unwrap();
        let head = std::fs::read(&qta).unwrap();
        assert!(is_quicktime(&head));
        assert_eq!(crate::voice_memo::audio::sniff(&head[..16]), Some("mov"));
        let tracks = sound_tracks(&qta).unwrap().unwrap();
        let ccs: Vec<_> = tracks.iter().map(|t| t.fourcc).collect();
        assert_eq!(ccs, vec![*b"mp4a", *b"apac"]);
        assert_eq!(
            read_apple_transcript(&qta).unwrap().as_deref(),
            Some("Call the dentist tomorrow.")
        );
        let a = decode::load_16k_mono(&qta).unwrap();
        assert_eq!((a.track, a.codec.as_str()), (0, "aac"));
        assert!((a.seconds() - 1.0).abs() < 0.1, "{}", a.seconds());
    }

    #[test]
    fn the_aac_track_after_an_apac_one_is_found_by_both_decoders() {
        let dir = tempfile::tempdir().unwrap();
        let qta = make_qta(dir.path(), "b.qta", 2, None);
        patch_sample_entry(&qta, 0, b"apac").unwrap();
        assert_eq!(read_apple_transcript(&qta).unwrap(), None);
        let a = decode::load_16k_mono(&qta).unwrap();
        assert_eq!(a.codec, "aac");
        // ffmpeg, as the fallback, is pointed at the AAC stream.
        let f = decode::ffmpeg_stream_16k_mono(&qta, 1).unwrap();
        assert!((f.seconds() - 1.0).abs() < 0.1, "{}", f.seconds());
        // The conversions for the openai and command providers take the AAC track.
        let t = std::time::Duration::from_secs(60);
        let m4a = dir.path().join("b.m4a");
        crate::voice_memo::media::to_m4a(&qta, &m4a, t).unwrap();
        assert_eq!(sound_tracks(&m4a).unwrap().unwrap()[0].fourcc, *b"mp4a");
        let wav = dir.path().join("b.wav");
        crate::voice_memo::transcribe::command::to_wav(&qta, &wav, t).unwrap();
        assert!(decode::decode_16k_mono(&wav).unwrap().seconds() > 0.9);
        patch_sample_entry(&qta, 1, b"apac").unwrap();
        let e = crate::voice_memo::media::to_m4a(&qta, &m4a, t).unwrap_err();
        assert!(e.message().contains("APAC"), "{e}");
    }

    #[test]
    fn only_apac_is_a_clear_error_and_the_file_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let qta = make_qta(dir.path(), "c.qta", 1, None);
        patch_sample_entry(&qta, 0, b"apac").unwrap();
        let before = std::fs::read(&qta).unwrap();
        let e = decode::load_16k_mono(&qta).unwrap_err();
        assert!(e.is_permanent(), "{e}");
        assert!(
            e.message().contains("c.qta") && e.message().contains("APAC"),
            "{e}"
        );
        assert_eq!(std::fs::read(&qta).unwrap(), before);
    }

    #[test]
    fn quicktime_brand() {
        assert!(is_quicktime(b"\0\0\0\x14ftypqt  \0\0\x02\0"));
        assert!(!is_quicktime(b"\0\0\0\x20ftypM4A \0\0\0\0"));
    }

    #[test]
    fn apac_is_named() {
        let t = SoundTrack {
            audio_index: 1,
            fourcc: *b"apac",
        };
        assert!(!t.decodable());
        assert!(t.codec_label().contains("APAC"));
        assert!(
            SoundTrack {
                audio_index: 0,
                fourcc: *b"mp4a"
            }
            .decodable()
        );
    }
}
