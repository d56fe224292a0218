//! Sidecar transcripts: a `.txt`, `.srt` or `.vtt` file beside the audio
//! (`memo.txt` or `memo.m4a.txt`), reduced to plain text.
use super::Transcriber;
use crate::voice_memo::error::ItemError;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Sidecar extensions, in the order they are looked for.
const EXTENSIONS: [&str; 3] = ["txt", "srt", "vtt"];
/// The largest sidecar read: a day of speech is a few hundred kilobytes.
const MAX_SIDECAR_BYTES: u64 = 16 * 1024 * 1024;

/// The `sidecar` provider: a transcript file saved next to the recording.
#[derive(Debug, Clone, Copy, Default)]
pub struct SidecarTranscriber;

impl Transcriber for SidecarTranscriber {
    fn name(&self) -> &'static str {
        "sidecar"
    }

    fn transcribe(
        &self,
        audio: &Path,
        _ctx: &super::TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError> {
        read_sidecar(audio)
    }
}

/// The transcript file for `dir/name.m4a`: the first regular file among
/// `dir/name.{txt,srt,vtt}` and then `dir/name.m4a.{txt,srt,vtt}`.
///
/// Symlinks are not followed, so a link cannot pull text in from outside the folder.
pub fn find_sidecar(audio: &Path) -> Option<PathBuf> {
    candidates(audio)
        .into_iter()
        .find(|p| p != audio && is_regular_file(p))
}

fn candidates(audio: &Path) -> Vec<PathBuf> {
    let Some(name) = audio.file_name() else {
        return Vec::new();
    };
    let replaced = EXTENSIONS.iter().map(|ext| audio.with_extension(ext));
    let appended = EXTENSIONS.iter().map(|ext| {
        let mut full: OsString = name.to_os_string();
        full.push(".");
        full.push(ext);
        audio.with_file_name(full)
    });
    replaced.chain(appended).collect()
}

fn is_regular_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Reads and parses the sidecar of `audio` (see [`find_sidecar`]).
///
/// `Ok(None)`: no sidecar. An empty sidecar is an empty transcript (silence: the
/// organizer discards it), not a missing one. Not UTF-8 (or too big) is a permanent
/// error; an I/O failure is transient. Both name the sidecar file.
pub fn read_sidecar(audio: &Path) -> Result<Option<String>, ItemError> {
    let Some(path) = find_sidecar(audio) else {
        return Ok(None);
    };
    let bytes = read_capped(&path)?;
    let raw = decode_utf8(&path, bytes)?;
    let text = match path.extension().and_then(|e| e.to_str()) {
        Some("srt") => parse_srt(&raw),
        Some("vtt") => parse_vtt(&raw),
        _ => normalise_whitespace(strip_bom(&raw)),
    };
    Ok(Some(text))
}

fn read_capped(path: &Path) -> Result<Vec<u8>, ItemError> {
    let io_err = |e: std::io::Error| {
        ItemError::transient(format!(
            "{}: cannot read the transcript sidecar: {e}",
            path.display()
        ))
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_SIDECAR_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_SIDECAR_BYTES {
        return Err(ItemError::permanent(format!(
            "{}: the transcript sidecar is over {} MiB; is it really a transcript?",
            path.display(),
            MAX_SIDECAR_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String, ItemError> {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    String::from_utf8(bytes).map_err(|e| {
        let hint = if utf16 { " (it looks like UTF-16)" } else { "" };
        ItemError::permanent(format!(
            "{}: the transcript sidecar is not valid UTF-8{hint}: bad byte at offset {}; save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The spoken text of a SubRip (`.srt`) file: cue numbers, timings and tags dropped,
/// cue lines joined with single spaces, rolling repeats of a line dropped.
pub fn parse_srt(s: &str) -> String {
    cue_text(s, false)
}

/// The spoken text of a WebVTT (`.vtt`) file: header, `NOTE`/`STYLE`/`REGION`
/// blocks, cue identifiers, timings (with settings) and tags dropped, cue lines
/// joined with single spaces, rolling repeats of a line dropped.
pub fn parse_vtt(s: &str) -> String {
    cue_text(s, true)
}

fn cue_text(s: &str, vtt: bool) -> String {
    let unified = strip_bom(s).replace("\r\n", "\n").replace('\r', "\n");
    let mut kept: Vec<String> = Vec::new();
    for block in blocks(&unified) {
        if vtt && is_vtt_meta_block(&block) {
            continue;
        }
        for line in cue_lines(&block) {
            let clean = clean_line(line);
            if !clean.is_empty() && kept.last() != Some(&clean) {
                kept.push(clean);
            }
        }
    }
    kept.join(" ")
}

/// Groups of trimmed lines separated by blank lines.
fn blocks(s: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for line in s.lines().map(str::trim) {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `NOTE`, `STYLE` and `REGION` blocks carry no speech.
fn is_vtt_meta_block(block: &[&str]) -> bool {
    let Some(first) = block.first() else {
        return false;
    };
    ["NOTE", "STYLE", "REGION"].iter().any(|kw| {
        first
            .strip_prefix(kw)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
    })
}

/// The text lines of a block: those after a timing line, except a line directly
/// before a timing line (a cue number or identifier when blank lines are missing).
/// Lines before the first timing (the `WEBVTT` header, a cue identifier) are dropped.
fn cue_lines<'a>(block: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut in_cue = false;
    for (i, line) in block.iter().enumerate() {
        if is_timing(line) {
            in_cue = true;
            continue;
        }
        let before_timing = block.get(i + 1).is_some_and(|next| is_timing(next));
        if in_cue && !before_timing {
            out.push(*line);
        }
    }
    out
}

/// `00:00:01,000 --> 00:00:04,000` or `00:01.000 --> 00:04.000 align:start`.
fn is_timing(line: &str) -> bool {
    let Some((start, rest)) = line.split_once("-->") else {
        return false;
    };
    let start = start.trim();
    let end = rest.split_whitespace().next().unwrap_or("");
    is_timestamp(start) && is_timestamp(end)
}

fn is_timestamp(s: &str) -> bool {
    s.contains(':')
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | ','))
}

fn clean_line(line: &str) -> String {
    normalise_whitespace(&decode_entities(&strip_tags(line)))
}

/// Removes `<...>` tags (`<v Bob>`, `<c.x>`, `<00:00:01.000>`, `<i>`) and SubRip
/// `{\an8}` style overrides. An unclosed `<` is kept as text.
fn strip_tags(line: &str) -> String {
    let without_angle = strip_delimited(line, "<", '>');
    strip_delimited(&without_angle, "{\\", '}')
}

fn strip_delimited(s: &str, open: &str, close: char) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(close) {
            Some(j) => rest = &rest[i + j + close.len_utf8()..],
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `&amp; &lt; &gt; &nbsp; &quot; &apos; &lrm; &rlm;` and numeric
/// references in one pass; anything else stays as written.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match tail
            .find(';')
            .filter(|&j| j <= 10)
            .and_then(|j| entity(&tail[1..j]).map(|c| (c, j)))
        {
            Some((decoded, j)) => {
                out.push_str(decoded.as_deref().unwrap_or(""));
                rest = &tail[j + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `Some(Some(text))` for a known entity, `Some(None)` for one that decodes to
/// nothing (direction marks), `None` for an unknown name.
fn entity(name: &str) -> Option<Option<String>> {
    let text = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "nbsp" => " ",
        "quot" => "\"",
        "apos" => "'",
        "lrm" | "rlm" => return Some(None),
        _ => return numeric_entity(name).map(|c| Some(c.to_string())),
    };
    Some(Some(text.to_string()))
}

fn numeric_entity(name: &str) -> Option<char> {
    let digits = name.strip_prefix('#')?;
    let code = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    char::from_u32(code)
}

fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

fn normalise_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn setup(files: &[(&str, &[u8])]) -> (TempDir, PathBuf) {
        let dir = TempDir::new().expect("temp dir");
        let audio = dir.path().join("memo.m4a");
        fs::write(&audio, b"not really audio").expect("write audio");
        for (name, bytes) in files {
            fs::write(dir.path().join(name), bytes).expect("write sidecar");
        }
        (dir, audio)
    }

    // ---- find_sidecar ----

    #[test]
    fn finds_in_documented_order() {
        let (dir, audio) = setup(&[
            ("memo.vtt", b"x"),
            ("memo.srt", b"x"),
            ("memo.m4a.txt", b"x"),
        ]);
        assert_eq!(find_sidecar(&audio), Some(dir.path().join("memo.srt")));
        fs::remove_file(dir.path().join("memo.srt")).unwrap();
        assert_eq!(find_sidecar(&audio), Some(dir.path().join("memo.vtt")));
        fs::remove_file(dir.path().join("memo.vtt")).unwrap();
        assert_eq!(find_sidecar(&audio), Some(dir.path().join("memo.m4a.txt")));
    }

    #[test]
    fn txt_comes_first() {
        let (dir, audio) = setup(&[("memo.txt", b"x"), ("memo.srt", b"x")]);
        assert_eq!(find_sidecar(&audio), Some(dir.path().join("memo.txt")));
    }

    #[test]
    fn folders_and_symlinks_are_not_sidecars() {
        let (dir, audio) = setup(&[]);
        fs::create_dir(dir.path().join("memo.txt")).unwrap();
        let outside = TempDir::new().unwrap();
        let secret = outside.path().join("secret.txt");
        fs::write(&secret, "secret").unwrap();
        std::os::unix::fs::symlink(&secret, dir.path().join("memo.srt")).unwrap();
        assert_eq!(find_sidecar(&audio), None);
        assert_eq!(read_sidecar(&audio).unwrap(), None);
    }

    #[test]
    fn missing_sidecar_is_none() {
        let (_dir, audio) = setup(&[("other.txt", b"hello")]);
        assert_eq!(find_sidecar(&audio), None);
        assert_eq!(read_sidecar(&audio).unwrap(), None);
    }

    // ---- read_sidecar ----

    #[test]
    fn reads_plain_text_with_bom_and_crlf() {
        let (_dir, audio) = setup(&[(
            "memo.txt",
            "\u{feff}Buy milk.\r\n\r\n  Call   Anna.\r\n".as_bytes(),
        )]);
        assert_eq!(
            read_sidecar(&audio).unwrap(),
            Some("Buy milk. Call Anna.".to_string())
        );
    }

    #[test]
    fn reads_the_m4a_txt_form() {
        let (_dir, audio) = setup(&[("memo.m4a.txt", b"From the long name.\n")]);
        assert_eq!(
            read_sidecar(&audio).unwrap(),
            Some("From the long name.".to_string())
        );
    }

    #[test]
    fn parses_by_extension() {
        let srt = b"1\n00:00:01,000 --> 00:00:02,000\nFrom SRT.\n";
        let (_dir, audio) = setup(&[("memo.m4a.srt", srt)]);
        assert_eq!(read_sidecar(&audio).unwrap(), Some("From SRT.".to_string()));
        let vtt = b"WEBVTT\n\n00:01.000 --> 00:02.000\n<v Bob>From VTT.\n";
        let (_dir, audio) = setup(&[("memo.vtt", vtt)]);
        assert_eq!(read_sidecar(&audio).unwrap(), Some("From VTT.".to_string()));
    }

    #[test]
    fn empty_sidecars_are_empty_transcripts() {
        let empty = Some(String::new());
        let (_dir, audio) = setup(&[("memo.txt", b" \r\n\t\n")]);
        assert_eq!(read_sidecar(&audio).unwrap(), empty);
        let (_dir, audio) = setup(&[("memo.vtt", b"WEBVTT\n\nNOTE nothing said\n")]);
        assert_eq!(read_sidecar(&audio).unwrap(), empty);
        let (_dir, audio) = setup(&[("memo.srt", b"")]);
        assert_eq!(read_sidecar(&audio).unwrap(), empty);
    }

    #[test]
    fn bad_utf8_is_permanent_and_names_the_file() {
        let (_dir, audio) = setup(&[("memo.txt", b"caf\xe9 au lait")]);
        let err = read_sidecar(&audio).unwrap_err();
        assert!(err.is_permanent());
        assert!(err.message().contains("memo.txt"), "{}", err.message());
        assert!(
            err.message().contains("not valid UTF-8"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("offset 3"), "{}", err.message());
    }

    #[test]
    fn utf16_gets_a_hint() {
        let (_dir, audio) = setup(&[("memo.txt", b"\xff\xfeH\0i\0")]);
        let err = read_sidecar(&audio).unwrap_err();
        assert!(err.message().contains("UTF-16"), "{}", err.message());
    }

    #[test]
    fn io_error_is_transient_and_names_the_file() {
        let dir = TempDir::new().unwrap();
        let audio = dir.path().join("memo.m4a");
        let sidecar = dir.path().join("memo.txt");
        fs::write(&sidecar, "x").unwrap();
        let err = read_capped(&dir.path().join("nope.txt")).unwrap_err();
        assert!(!err.is_permanent());
        assert!(err.message().contains("nope.txt"), "{}", err.message());
        assert_eq!(read_sidecar(&audio).unwrap(), Some("x".to_string()));
    }

    #[test]
    fn transcriber_name_is_sidecar() {
        assert_eq!(SidecarTranscriber.name(), "sidecar");
        let (_dir, audio) = setup(&[("memo.txt", b"via the trait")]);
        assert_eq!(
            SidecarTranscriber
                .transcribe(&audio, &super::super::test_ctx("memo"))
                .unwrap(),
            Some("via the trait".to_string())
        );
    }

    // ---- parse_srt ----

    #[test]
    fn srt_basic_multiline_and_tags() {
        let srt = "1\n00:00:01,000 --> 00:00:04,000\nHello <i>there</i>,\nhow are you?\n\n\
                   2\n00:00:04,500 --> 00:00:06,000\n{\\an8}<font color=\"#fff\">Fine &amp; you?</font>\n";
        assert_eq!(parse_srt(srt), "Hello there, how are you? Fine & you?");
    }

    #[test]
    fn srt_bom_crlf_and_extra_blank_lines() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,000\r\nOne\r\n\r\n\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nTwo\r\n";
        assert_eq!(parse_srt(srt), "One Two");
    }

    #[test]
    fn srt_missing_blank_lines_between_cues() {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nOne\n2\n00:00:02,000 --> 00:00:03,000\nTwo\n";
        assert_eq!(parse_srt(srt), "One Two");
    }

    #[test]
    fn srt_keeps_numbers_and_arrows_that_are_speech() {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nThe answer is\n42\n\n\
                   2\n00:00:02,000 --> 00:00:03,000\nA --> B, 3 < 4 &lt; 5\n";
        assert_eq!(parse_srt(srt), "The answer is 42 A --> B, 3 < 4 < 5");
    }

    #[test]
    fn srt_rolling_duplicates_dropped() {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nbuy milk\n\n\
                   2\n00:00:02,000 --> 00:00:03,000\nbuy milk\nand eggs\n\n\
                   3\n00:00:03,000 --> 00:00:04,000\nand   eggs\nthen bread\n\n\
                   4\n00:00:04,000 --> 00:00:05,000\nbuy milk\n";
        assert_eq!(parse_srt(srt), "buy milk and eggs then bread buy milk");
    }

    #[test]
    fn srt_lone_cr_line_endings() {
        assert_eq!(
            parse_srt("1\r00:00:01,000 --> 00:00:02,000\rOld Mac\r"),
            "Old Mac"
        );
    }

    // ---- parse_vtt ----

    #[test]
    fn vtt_header_notes_style_region_and_identifiers() {
        let vtt = "WEBVTT - my memo\nKind: captions\nLanguage: en\n\n\
                   NOTE\nThis is a comment\nover two lines\n\n\
                   STYLE\n::cue { color: lime }\n\n\
                   REGION\nid:fred width:40%\n\n\
                   intro\n00:01.000 --> 00:04.000 align:start position:10%\n<v Bob>Hello</v> <c.yellow>world</c>\n\n\
                   NOTE another comment\n\n\
                   00:00:04.000 --> 00:00:06.000\nSecond &nbsp;cue&gt;\n";
        assert_eq!(parse_vtt(vtt), "Hello world Second cue>");
    }

    #[test]
    fn vtt_inline_timestamps_and_rolling_captions() {
        let vtt = "\u{feff}WEBVTT\r\n\r\n\
                   00:00:00.000 --> 00:00:02.000 align:start position:0%\r\n\
                   remember to<00:00:00.500><c> water</c><00:00:01.000><c> the plants</c>\r\n\r\n\
                   00:00:02.000 --> 00:00:02.010 align:start position:0%\r\n\
                   remember to water the plants\r\n \r\n\r\n\
                   00:00:02.010 --> 00:00:04.000 align:start position:0%\r\n\
                   remember to water the plants\r\n\
                   and<00:00:02.500><c> feed</c><00:00:03.000><c> the cat</c>\r\n";
        assert_eq!(
            parse_vtt(vtt),
            "remember to water the plants and feed the cat"
        );
    }

    #[test]
    fn vtt_multiline_cue_and_entities() {
        let vtt = "WEBVTT\n\n1\n00:01.000 --> 00:02.000\nTom &amp; Jerry\n<i>say</i> &quot;hi&quot; &#8212; &#x263A;\n";
        assert_eq!(parse_vtt(vtt), "Tom & Jerry say \"hi\" \u{2014} \u{263a}");
    }

    #[test]
    fn vtt_unknown_entities_and_unclosed_tags_stay() {
        let vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nfish &chips; a &bogus; b < c\n";
        assert_eq!(parse_vtt(vtt), "fish &chips; a &bogus; b < c");
    }

    #[test]
    fn vtt_header_without_blank_line_before_first_cue() {
        let vtt = "WEBVTT\n00:01.000 --> 00:02.000\nStill heard\n";
        assert_eq!(parse_vtt(vtt), "Still heard");
    }

    #[test]
    fn notes_are_not_dropped_from_srt_text() {
        // Only WebVTT has NOTE blocks; in SRT a cue may well start with "NOTE".
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nNOTE to self\n";
        assert_eq!(parse_srt(srt), "NOTE to self");
    }
}
