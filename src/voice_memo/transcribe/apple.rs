//! Apple's own transcript: iOS 18 / macOS 15 Voice Memos store it inside the .m4a,
//! as JSON in a `tsrp` atom under `moov/trak/udta` (or `moov/udta`). In a `.qta`
//! (QuickTime, newer Voice Memos) the same JSON is a QuickTime metadata item: the
//! track's `meta` has a `keys` atom naming `com.apple.VoiceMemos.tsrp`, and the
//! `ilst` item with that key's index holds it in its `data` atom.
use super::Transcriber;
use crate::voice_memo::error::ItemError;
use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The largest `tsrp` payload we read: hours of speech are well under a megabyte.
const MAX_TSRP_BYTES: u64 = 16 * 1024 * 1024;
/// The largest `moov` box [`inject_tsrp`] loads into memory.
const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

type FourCc = [u8; 4];
const FTYP: FourCc = *b"ftyp";
const MOOV: FourCc = *b"moov";
const TRAK: FourCc = *b"trak";
const UDTA: FourCc = *b"udta";
const TSRP: FourCc = *b"tsrp";
const META: FourCc = *b"meta";
const KEYS: FourCc = *b"keys";
const ILST: FourCc = *b"ilst";
const DATA: FourCc = *b"data";
const HDLR: FourCc = *b"hdlr";
/// The QuickTime metadata key Voice Memos stores the transcript under in a `.qta`.
const TSRP_KEY: &[u8] = b"com.apple.VoiceMemos.tsrp";
const MDIA: FourCc = *b"mdia";
const MINF: FourCc = *b"minf";
const STBL: FourCc = *b"stbl";
const STCO: FourCc = *b"stco";
const CO64: FourCc = *b"co64";

/// The `apple` provider: the transcript Voice Memos embedded in the recording.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppleTranscriber;

impl Transcriber for AppleTranscriber {
    fn name(&self) -> &'static str {
        "apple"
    }

    fn transcribe(
        &self,
        audio: &Path,
        _ctx: &super::TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError> {
        read_apple_transcript(audio)
    }
}

/// Reads the transcript Voice Memos stored in `path`'s `tsrp` atom.
///
/// `Ok(None)`: not an MP4 at all (no leading `ftyp`), no `tsrp` atom, or an empty
/// transcript. A corrupt box structure or unreadable JSON is a permanent error; an
/// I/O failure is transient. Only box headers and the `tsrp` payload are read.
pub fn read_apple_transcript(path: &Path) -> Result<Option<String>, ItemError> {
    let mut file = File::open(path).map_err(|e| WalkError::Io(e).into_item_error(path))?;
    let Some(tsrp) = find_tsrp(&mut file).map_err(|e| e.into_item_error(path))? else {
        return Ok(None);
    };
    let payload = read_payload(&mut file, &tsrp, path)?;
    let text = transcript_from_json(&payload).map_err(|why| {
        ItemError::permanent(format!(
            "{}: the Apple transcript (tsrp atom at offset {}) {why}",
            path.display(),
            tsrp.start
        ))
    })?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// Adds a Voice Memos style `tsrp` atom holding `text_runs` to the .m4a at `path`.
///
/// Used by tests and to build fixtures from ffmpeg output
/// (`ffmpeg -f lavfi -i sine=duration=1 -c:a aac memo.m4a`). The atom goes at the
/// end of `moov/trak[0]/udta` (a `udta` is created if that track has none; an
/// existing `tsrp` is left in place, so readers still see the first one). `trak`
/// and `moov` sizes are fixed up; when `moov` is not the last top-level box
/// (`-movflags +faststart`), the `stco`/`co64` chunk offsets of every track are
/// shifted by the inserted byte count. Fragmented MP4 (`moof`) is not supported.
/// The file is replaced atomically (temp file beside it, then rename).
pub fn inject_tsrp(path: &Path, text_runs: &[&str]) -> anyhow::Result<()> {
    let mut src = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let moov = locate_moov(&mut src).with_context(|| format!("reading {}", path.display()))?;
    let mut moov_bytes = read_box(&mut src, &moov)?;
    let tsrp = make_box(TSRP, &serde_json::to_vec(&tsrp_json(text_runs))?)?;
    let plan = plan_insertion(&moov_bytes, tsrp)
        .with_context(|| format!("placing the tsrp atom in {}", path.display()))?;
    let delta = plan.bytes.len() as u64;
    let file_len = stream_len(&mut src)?;
    if moov.end < file_len {
        shift_chunk_offsets(&mut moov_bytes, moov.end, delta)
            .with_context(|| format!("fixing chunk offsets in {}", path.display()))?;
    }
    for header in &plan.grow {
        grow_box(&mut moov_bytes, header, delta)?;
    }
    let at = usize::try_from(plan.at)?;
    moov_bytes.splice(at..at, plan.bytes);
    replace_moov(path, &mut src, &moov, file_len, &moov_bytes)
}

/// One box header: where the box starts and ends, and how long its header is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BoxHeader {
    kind: FourCc,
    start: u64,
    header_len: u64,
    end: u64,
}

impl BoxHeader {
    fn body_start(&self) -> u64 {
        self.start + self.header_len
    }

    fn body_len(&self) -> u64 {
        self.end - self.body_start()
    }
}

/// Why walking the box tree stopped.
#[derive(Debug)]
enum WalkError {
    Io(io::Error),
    /// The structure is broken; the text says where.
    Invalid(String),
}

impl WalkError {
    fn into_item_error(self, path: &Path) -> ItemError {
        match self {
            WalkError::Io(e) => ItemError::transient(format!(
                "{}: cannot read the audio file: {e}",
                path.display()
            )),
            WalkError::Invalid(_) => ItemError::permanent(format!("{}: {self}", path.display())),
        }
    }
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Io(e) => write!(f, "{e}"),
            WalkError::Invalid(why) => write!(f, "not a valid MP4/M4A file ({why})"),
        }
    }
}

impl std::error::Error for WalkError {}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

fn stream_len<R: Seek>(r: &mut R) -> io::Result<u64> {
    r.seek(SeekFrom::End(0))
}

/// Reads the box header at `pos`, where the enclosing box (or file) ends at `end`.
/// `None` at the end of the list, including a short run of zero padding (old
/// QuickTime writers end `udta` with a 32-bit zero).
fn read_header<R: Read + Seek>(
    r: &mut R,
    pos: u64,
    end: u64,
) -> Result<Option<BoxHeader>, WalkError> {
    let remaining = end.saturating_sub(pos);
    if remaining == 0 {
        return Ok(None);
    }
    r.seek(SeekFrom::Start(pos))?;
    if remaining < 8 {
        let mut tail = Vec::new();
        r.take(remaining).read_to_end(&mut tail)?;
        if tail.len() as u64 == remaining && tail.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        return Err(WalkError::Invalid(format!(
            "box header at offset {pos} needs 8 bytes but only {remaining} remain"
        )));
    }
    let mut head = [0u8; 8];
    r.read_exact(&mut head)?;
    let kind = [head[4], head[5], head[6], head[7]];
    let (size, header_len) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
        0 => (remaining, 8),
        1 => (read_largesize(r, pos, remaining)?, 16),
        n => (u64::from(n), 8),
    };
    if size < header_len {
        return Err(WalkError::Invalid(format!(
            "box at offset {pos} has size {size}, smaller than its {header_len}-byte header"
        )));
    }
    if size > remaining {
        return Err(WalkError::Invalid(format!(
            "box at offset {pos} claims {size} bytes but only {remaining} remain"
        )));
    }
    Ok(Some(BoxHeader {
        kind,
        start: pos,
        header_len,
        end: pos + size,
    }))
}

fn read_largesize<R: Read>(r: &mut R, pos: u64, remaining: u64) -> Result<u64, WalkError> {
    if remaining < 16 {
        return Err(WalkError::Invalid(format!(
            "box at offset {pos} has a 64-bit size but only {remaining} bytes remain"
        )));
    }
    let mut large = [0u8; 8];
    r.read_exact(&mut large)?;
    Ok(u64::from_be_bytes(large))
}

/// The boxes directly inside `start..end`, in order.
fn list_boxes<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
) -> Result<Vec<BoxHeader>, WalkError> {
    let mut boxes = Vec::new();
    let mut pos = start;
    while let Some(header) = read_header(r, pos, end)? {
        pos = header.end;
        boxes.push(header);
    }
    Ok(boxes)
}

fn children<R: Read + Seek>(r: &mut R, parent: &BoxHeader) -> Result<Vec<BoxHeader>, WalkError> {
    list_boxes(r, parent.body_start(), parent.end)
}

/// Whether the stream starts with an `ftyp` box (the mark of an MP4/M4A file).
fn starts_with_ftyp<R: Read + Seek>(r: &mut R) -> io::Result<bool> {
    r.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(8);
    r.take(8).read_to_end(&mut head)?;
    Ok(head.len() == 8 && head[4..8] == FTYP)
}

/// Finds the first `moov/trak/udta/tsrp` or `moov/udta/tsrp`, descending only into
/// those containers and seeking past everything else. The walk stops at the first
/// `tsrp`, so damage after it (a cut-off `mdat`) does not hide the transcript.
fn find_tsrp<R: Read + Seek>(r: &mut R) -> Result<Option<BoxHeader>, WalkError> {
    if !starts_with_ftyp(r)? {
        return Ok(None);
    }
    let len = stream_len(r)?;
    find_box(r, 0, len, |r, top| match top.kind {
        MOOV => tsrp_in_moov(r, top),
        _ => Ok(None),
    })
}

fn tsrp_in_moov<R: Read + Seek>(
    r: &mut R,
    moov: &BoxHeader,
) -> Result<Option<BoxHeader>, WalkError> {
    find_box(r, moov.body_start(), moov.end, |r, child| {
        match child.kind {
            TRAK => find_box(
                r,
                child.body_start(),
                child.end,
                |r, grandchild| match grandchild.kind {
                    UDTA => tsrp_in_udta(r, grandchild),
                    META => tsrp_in_meta(r, grandchild),
                    _ => Ok(None),
                },
            ),
            UDTA => tsrp_in_udta(r, child),
            META => tsrp_in_meta(r, child),
            _ => Ok(None),
        }
    })
}

/// The transcript in a QuickTime metadata box (`meta` holding `hdlr`, `keys` and
/// `ilst`): the `data` payload of the `ilst` item whose key is
/// `com.apple.VoiceMemos.tsrp`, as a header whose body is the JSON. QuickTime's
/// `meta` has no version/flags word; an ISO `meta` (as ffmpeg writes under `udta`)
/// has one: both are read.
fn tsrp_in_meta<R: Read + Seek>(
    r: &mut R,
    meta: &BoxHeader,
) -> Result<Option<BoxHeader>, WalkError> {
    let mut body = meta.body_start();
    if meta.body_len() >= 8 {
        r.seek(SeekFrom::Start(body))?;
        let mut head = [0u8; 8];
        r.read_exact(&mut head)?;
        let first_is_box = head[4..8] == HDLR || head[4..8] == KEYS || head[4..8] == ILST;
        if !first_is_box && head[..4] == [0, 0, 0, 0] {
            body += 4;
        }
    }
    let boxes = list_boxes(r, body, meta.end)?;
    let Some(keys) = boxes.iter().find(|b| b.kind == KEYS) else {
        return Ok(None);
    };
    let Some(ilst) = boxes.iter().find(|b| b.kind == ILST) else {
        return Ok(None);
    };
    if keys.body_len() > MAX_TSRP_BYTES {
        return Err(WalkError::Invalid(format!(
            "the metadata keys atom at offset {} is {} bytes",
            keys.start,
            keys.body_len()
        )));
    }
    let Some(index) = key_index(&read_box_body(r, keys)?, keys.start)? else {
        return Ok(None);
    };
    let want = index.to_be_bytes();
    let Some(item) = children(r, ilst)?.into_iter().find(|b| b.kind == want) else {
        return Ok(None);
    };
    let Some(data) = first_child(r, &item, DATA)? else {
        return Ok(None);
    };
    // `data`: a 4-byte type indicator and a 4-byte locale, then the value.
    if data.body_len() < 8 {
        return Err(WalkError::Invalid(format!(
            "the transcript's data atom at offset {} is too short",
            data.start
        )));
    }
    Ok(Some(BoxHeader {
        kind: TSRP,
        start: data.start,
        header_len: data.header_len + 8,
        end: data.end,
    }))
}

/// The 1-based index of `com.apple.VoiceMemos.tsrp` in a `keys` body (version and
/// flags, an entry count, then entries of size, namespace and name).
fn key_index(body: &[u8], at: u64) -> Result<Option<u32>, WalkError> {
    let bad = || WalkError::Invalid(format!("the metadata keys atom at offset {at} is cut off"));
    if body.len() < 8 {
        return Err(bad());
    }
    let count = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
    let mut pos = 8usize;
    for index in 1..=count {
        let size = body
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(bad)?;
        if size < 8 || pos + size > body.len() {
            return Err(bad());
        }
        if &body[pos + 8..pos + size] == TSRP_KEY {
            return Ok(Some(index));
        }
        pos += size;
    }
    Ok(None)
}

fn tsrp_in_udta<R: Read + Seek>(
    r: &mut R,
    udta: &BoxHeader,
) -> Result<Option<BoxHeader>, WalkError> {
    find_box(r, udta.body_start(), udta.end, |_, b| {
        Ok((b.kind == TSRP).then_some(*b))
    })
}

/// Walks the boxes in `start..end` in order until `visit` finds something.
fn find_box<R, T, F>(r: &mut R, start: u64, end: u64, mut visit: F) -> Result<Option<T>, WalkError>
where
    R: Read + Seek,
    F: FnMut(&mut R, &BoxHeader) -> Result<Option<T>, WalkError>,
{
    let mut pos = start;
    while let Some(header) = read_header(r, pos, end)? {
        if let Some(found) = visit(r, &header)? {
            return Ok(Some(found));
        }
        pos = header.end;
    }
    Ok(None)
}

fn first_child<R: Read + Seek>(
    r: &mut R,
    parent: &BoxHeader,
    kind: FourCc,
) -> Result<Option<BoxHeader>, WalkError> {
    Ok(children(r, parent)?.into_iter().find(|b| b.kind == kind))
}

/// Reads the `tsrp` body, refusing one over [`MAX_TSRP_BYTES`].
fn read_payload(file: &mut File, tsrp: &BoxHeader, path: &Path) -> Result<Vec<u8>, ItemError> {
    if tsrp.body_len() > MAX_TSRP_BYTES {
        return Err(ItemError::permanent(format!(
            "{}: the Apple transcript (tsrp atom at offset {}) is {} bytes, over the {} MiB limit",
            path.display(),
            tsrp.start,
            tsrp.body_len(),
            MAX_TSRP_BYTES / (1024 * 1024)
        )));
    }
    read_box_body(file, tsrp).map_err(|e| WalkError::Io(e).into_item_error(path))
}

fn read_box_body<R: Read + Seek>(r: &mut R, header: &BoxHeader) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(header.body_start()))?;
    let mut body = Vec::new();
    r.take(header.body_len()).read_to_end(&mut body)?;
    if (body.len() as u64) < header.body_len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file got shorter while being read",
        ));
    }
    Ok(body)
}

/// The `tsrp` JSON. Two layouts are known: `attributedString` as an object whose
/// `runs` interleave text and attribute-table indices, or as an array that
/// interleaves text and attribute objects. Only the strings matter here.
#[derive(Deserialize)]
struct TsrpDoc {
    #[serde(rename = "attributedString")]
    attributed_string: AttributedString,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AttributedString {
    Table { runs: Vec<Value> },
    Interleaved(Vec<Value>),
}

/// The transcript text in a `tsrp` payload, whitespace-normalised; the error says
/// what is wrong with the JSON.
fn transcript_from_json(payload: &[u8]) -> Result<String, String> {
    let end = payload.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let doc: TsrpDoc = serde_json::from_slice(&payload[..end]).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            format!("is JSON but not in the known layout (attributedString with text runs): {e}")
        }
        _ => format!("is not valid JSON: {e}"),
    })?;
    let runs = match doc.attributed_string {
        AttributedString::Table { runs } | AttributedString::Interleaved(runs) => runs,
    };
    let joined: String = runs.iter().filter_map(Value::as_str).collect();
    Ok(normalise_whitespace(&joined))
}

fn normalise_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---- inject_tsrp helpers -------------------------------------------------------

/// Checks the file is an MP4 and returns its single top-level `moov`.
fn locate_moov(src: &mut File) -> anyhow::Result<BoxHeader> {
    if !starts_with_ftyp(src)? {
        bail!("not an MP4/M4A file (it does not start with an ftyp box)");
    }
    let len = stream_len(src)?;
    let moovs: Vec<BoxHeader> = list_boxes(src, 0, len)?
        .into_iter()
        .filter(|b| b.kind == MOOV)
        .collect();
    match moovs.as_slice() {
        [moov] if moov.end - moov.start > MAX_MOOV_BYTES => {
            bail!(
                "the moov box is {} bytes, too big to rewrite in memory",
                moov.end - moov.start
            )
        }
        [moov] => Ok(*moov),
        [] => bail!("no moov box"),
        _ => bail!("{} moov boxes; expected one", moovs.len()),
    }
}

/// The whole box, header included.
fn read_box(src: &mut File, header: &BoxHeader) -> anyhow::Result<Vec<u8>> {
    let whole = BoxHeader {
        header_len: 0,
        ..*header
    };
    Ok(read_box_body(src, &whole)?)
}

fn tsrp_json(text_runs: &[&str]) -> Value {
    let table: Vec<Value> = (0..text_runs.len())
        .map(|i| json!({ "timeRange": [i as f64 * 0.5, (i + 1) as f64 * 0.5] }))
        .collect();
    let runs: Vec<Value> = text_runs
        .iter()
        .enumerate()
        .flat_map(|(i, t)| [json!(t), json!(i)])
        .collect();
    json!({
        "attributedString": { "attributeTable": table, "runs": runs },
        "locale": { "identifier": "en_US", "current": 0 }
    })
}

fn make_box(kind: FourCc, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let size = u32::try_from(body.len() + 8).context("box too large for a 32-bit size")?;
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&kind);
    out.extend_from_slice(body);
    Ok(out)
}

/// Where new bytes go inside the in-memory `moov`, and whose sizes grow by them.
struct Insertion {
    at: u64,
    bytes: Vec<u8>,
    grow: Vec<BoxHeader>,
}

fn plan_insertion(moov_bytes: &[u8], tsrp: Vec<u8>) -> anyhow::Result<Insertion> {
    let mut cur = Cursor::new(moov_bytes);
    let moov = read_header(&mut cur, 0, moov_bytes.len() as u64)?
        .ok_or_else(|| anyhow!("empty moov box"))?;
    let trak = children(&mut cur, &moov)?
        .into_iter()
        .find(|b| b.kind == TRAK)
        .ok_or_else(|| anyhow!("the moov box has no trak"))?;
    Ok(match first_child(&mut cur, &trak, UDTA)? {
        Some(udta) => Insertion {
            at: udta.end,
            bytes: tsrp,
            grow: vec![moov, trak, udta],
        },
        None => Insertion {
            at: trak.end,
            bytes: make_box(UDTA, &tsrp)?,
            grow: vec![moov, trak],
        },
    })
}

/// Adds `delta` to the size field of the box whose header is at `header.start`.
/// A size of 0 ("to the end of the parent") stays 0.
fn grow_box(buf: &mut [u8], header: &BoxHeader, delta: u64) -> anyhow::Result<()> {
    let at = usize::try_from(header.start)?;
    if header.header_len == 16 {
        let size = get_u64(buf, at + 8)?;
        return put_bytes(buf, at + 8, &(size + delta).to_be_bytes());
    }
    let size = get_u32(buf, at)?;
    if size == 0 {
        return Ok(());
    }
    let grown = u32::try_from(u64::from(size) + delta).context("box outgrows a 32-bit size")?;
    put_bytes(buf, at, &grown.to_be_bytes())
}

/// Shifts every chunk offset at or past `threshold` (data after `moov`) by `delta`.
fn shift_chunk_offsets(moov_bytes: &mut [u8], threshold: u64, delta: u64) -> anyhow::Result<()> {
    let mut tables = Vec::new();
    {
        let mut cur = Cursor::new(&*moov_bytes);
        let moov = read_header(&mut cur, 0, moov_bytes.len() as u64)?
            .ok_or_else(|| anyhow!("empty moov box"))?;
        collect_chunk_tables(&mut cur, &moov, &mut tables)?;
    }
    for table in &tables {
        shift_table(moov_bytes, table, threshold, delta)?;
    }
    Ok(())
}

fn collect_chunk_tables<R: Read + Seek>(
    r: &mut R,
    parent: &BoxHeader,
    out: &mut Vec<BoxHeader>,
) -> Result<(), WalkError> {
    for child in children(r, parent)? {
        match child.kind {
            TRAK | MDIA | MINF | STBL => collect_chunk_tables(r, &child, out)?,
            STCO | CO64 => out.push(child),
            _ => {}
        }
    }
    Ok(())
}

/// Rewrites one `stco` (32-bit) or `co64` (64-bit) table in place.
fn shift_table(
    buf: &mut [u8],
    table: &BoxHeader,
    threshold: u64,
    delta: u64,
) -> anyhow::Result<()> {
    let body = usize::try_from(table.body_start())?;
    let width = if table.kind == CO64 { 8 } else { 4 };
    let count = get_u32(buf, body + 4)? as usize;
    if 8 + count * width > usize::try_from(table.body_len())? {
        bail!(
            "chunk offset table at offset {} lists more entries than it holds",
            table.start
        );
    }
    for i in 0..count {
        let at = body + 8 + i * width;
        if width == 8 {
            let offset = get_u64(buf, at)?;
            if offset >= threshold {
                put_bytes(buf, at, &(offset + delta).to_be_bytes())?;
            }
        } else {
            let offset = u64::from(get_u32(buf, at)?);
            if offset >= threshold {
                let shifted =
                    u32::try_from(offset + delta).context("chunk offset outgrows stco")?;
                put_bytes(buf, at, &shifted.to_be_bytes())?;
            }
        }
    }
    Ok(())
}

fn get_u32(buf: &[u8], at: usize) -> anyhow::Result<u32> {
    let bytes = buf
        .get(at..at + 4)
        .ok_or_else(|| anyhow!("read past the end of moov at {at}"))?;
    Ok(u32::from_be_bytes(bytes.try_into()?))
}

fn get_u64(buf: &[u8], at: usize) -> anyhow::Result<u64> {
    let bytes = buf
        .get(at..at + 8)
        .ok_or_else(|| anyhow!("read past the end of moov at {at}"))?;
    Ok(u64::from_be_bytes(bytes.try_into()?))
}

fn put_bytes(buf: &mut [u8], at: usize, bytes: &[u8]) -> anyhow::Result<()> {
    buf.get_mut(at..at + bytes.len())
        .ok_or_else(|| anyhow!("write past the end of moov at {at}"))?
        .copy_from_slice(bytes);
    Ok(())
}

/// Writes `src` with its `moov` replaced by `new_moov` to a temp file beside
/// `path`, then renames it over `path`.
fn replace_moov(
    path: &Path,
    src: &mut File,
    moov: &BoxHeader,
    file_len: u64,
    new_moov: &[u8],
) -> anyhow::Result<()> {
    let tmp = temp_beside(path);
    let result = write_with_new_moov(&tmp, src, moov, file_len, new_moov).and_then(|()| {
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_parent(path)
}

fn write_with_new_moov(
    tmp: &Path,
    src: &mut File,
    moov: &BoxHeader,
    file_len: u64,
    new_moov: &[u8],
) -> anyhow::Result<()> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    out.set_permissions(src.metadata()?.permissions())?;
    copy_range(src, &mut out, 0, moov.start)?;
    out.write_all(new_moov)?;
    copy_range(src, &mut out, moov.end, file_len)?;
    out.sync_all()
        .with_context(|| format!("flushing {}", tmp.display()))
}

fn copy_range(src: &mut File, out: &mut File, start: u64, end: u64) -> anyhow::Result<()> {
    src.seek(SeekFrom::Start(start))?;
    let copied = io::copy(&mut Read::take(&mut *src, end - start), out)?;
    if copied != end - start {
        bail!("the file got shorter while being rewritten");
    }
    Ok(())
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    path.with_file_name(format!(".{name}.{}.{nonce:08x}.tmp", std::process::id()))
}

fn sync_parent(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use tempfile::TempDir;

    // ---- hand-built box trees ----

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn large_bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = 1u32.to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(&((body.len() + 16) as u64).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn ftyp() -> Vec<u8> {
        bx(b"ftyp", b"M4A \0\0\0\0M4A isom")
    }

    fn tsrp_box(json: &str) -> Vec<u8> {
        bx(b"tsrp", json.as_bytes())
    }

    const HELLO_JSON: &str = r#"{"attributedString":{"attributeTable":[{"timeRange":[0,0.84]},{"timeRange":[0.84,1.5]}],"runs":[" Hello",0," world.",1]},"locale":{"identifier":"en_US","current":0}}"#;

    fn write_temp(bytes: &[u8]) -> (TempDir, PathBuf) {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("memo.m4a");
        fs::write(&path, bytes).expect("write fixture");
        (dir, path)
    }

    fn read_bytes(bytes: &[u8]) -> Result<Option<String>, ItemError> {
        let (_dir, path) = write_temp(bytes);
        read_apple_transcript(&path)
    }

    fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn tsrp_under_moov_udta() {
        let file = concat(&[ftyp(), bx(b"moov", &bx(b"udta", &tsrp_box(HELLO_JSON)))]);
        assert_eq!(read_bytes(&file).unwrap(), Some("Hello world.".to_string()));
    }

    #[test]
    fn tsrp_in_second_trak_after_largesize_mdat() {
        let trak1 = bx(b"trak", &bx(b"tkhd", &[0; 20]));
        let trak2 = bx(
            b"trak",
            &concat(&[bx(b"tkhd", &[0; 20]), bx(b"udta", &tsrp_box(HELLO_JSON))]),
        );
        let moov = bx(b"moov", &concat(&[bx(b"mvhd", &[0; 100]), trak1, trak2]));
        let file = concat(&[ftyp(), large_bx(b"mdat", &[0xAB; 4096]), moov]);
        assert_eq!(read_bytes(&file).unwrap(), Some("Hello world.".to_string()));
    }

    #[test]
    fn largesize_tsrp_and_size_zero_last_box() {
        let moov = bx(
            b"moov",
            &bx(
                b"trak",
                &bx(b"udta", &large_bx(b"tsrp", HELLO_JSON.as_bytes())),
            ),
        );
        let mut mdat_to_eof = 0u32.to_be_bytes().to_vec();
        mdat_to_eof.extend_from_slice(b"mdat");
        mdat_to_eof.extend_from_slice(&[0x55; 1000]);
        let file = concat(&[ftyp(), moov, mdat_to_eof]);
        assert_eq!(read_bytes(&file).unwrap(), Some("Hello world.".to_string()));
    }

    #[test]
    fn quicktime_zero_terminator_in_udta_is_accepted() {
        let udta = bx(b"udta", &concat(&[tsrp_box(HELLO_JSON), vec![0; 4]]));
        let file = concat(&[ftyp(), bx(b"moov", &bx(b"trak", &udta))]);
        assert_eq!(read_bytes(&file).unwrap(), Some("Hello world.".to_string()));
    }

    #[test]
    fn valid_mp4_without_tsrp_is_none() {
        let moov = bx(
            b"moov",
            &concat(&[bx(b"mvhd", &[0; 100]), bx(b"udta", &bx(b"meta", &[0; 12]))]),
        );
        let file = concat(&[ftyp(), moov, bx(b"mdat", &[1; 64])]);
        assert_eq!(read_bytes(&file).unwrap(), None);
    }

    #[test]
    fn tsrp_outside_the_known_paths_is_ignored() {
        // A tsrp at top level or under moov/trak/mdia is not where Voice Memos puts it.
        let moov = bx(b"moov", &bx(b"trak", &bx(b"mdia", &tsrp_box(HELLO_JSON))));
        let file = concat(&[ftyp(), tsrp_box(HELLO_JSON), moov]);
        assert_eq!(read_bytes(&file).unwrap(), None);
    }

    #[test]
    fn truncated_box_is_permanent_and_names_the_offset() {
        let mut file = concat(&[ftyp(), bx(b"moov", &bx(b"udta", &tsrp_box(HELLO_JSON)))]);
        let moov_at = ftyp().len();
        file.truncate(moov_at + 40);
        let (_dir, path) = write_temp(&file);
        let err = read_apple_transcript(&path).unwrap_err();
        assert!(err.is_permanent(), "{err:?}");
        let msg = err.message();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("not a valid MP4/M4A file"), "{msg}");
        let claimed = 8 + 8 + 8 + HELLO_JSON.len();
        assert!(
            msg.contains(&format!(
                "box at offset {moov_at} claims {claimed} bytes but only 40 remain"
            )),
            "{msg}"
        );
    }

    #[test]
    fn damage_after_the_tsrp_does_not_hide_it() {
        let moov = bx(b"moov", &bx(b"udta", &tsrp_box(HELLO_JSON)));
        let mut file = concat(&[ftyp(), moov, bx(b"mdat", &[9; 500])]);
        file.truncate(file.len() - 100);
        assert_eq!(read_bytes(&file).unwrap(), Some("Hello world.".to_string()));
    }

    #[test]
    fn damage_before_any_tsrp_is_permanent() {
        let moov = bx(b"moov", &bx(b"udta", &tsrp_box(HELLO_JSON)));
        let mut file = concat(&[ftyp(), bx(b"mdat", &[9; 500]), moov]);
        file.truncate(ftyp().len() + 300);
        let err = read_bytes(&file).unwrap_err();
        assert!(err.is_permanent());
        let want = format!(
            "box at offset {} claims 508 bytes but only 300 remain",
            ftyp().len()
        );
        assert!(err.message().contains(&want), "{}", err.message());
    }

    #[test]
    fn box_smaller_than_its_header_is_permanent() {
        let mut bad = 4u32.to_be_bytes().to_vec();
        bad.extend_from_slice(b"free");
        let file = concat(&[ftyp(), bad, vec![0; 16]]);
        let err = read_bytes(&file).unwrap_err();
        assert!(err.is_permanent());
        assert!(
            err.message().contains("smaller than its 8-byte header"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn trailing_garbage_shorter_than_a_header_is_permanent() {
        let file = concat(&[ftyp(), bx(b"moov", &[]), vec![1, 2, 3]]);
        let err = read_bytes(&file).unwrap_err();
        assert!(err.is_permanent());
        assert!(
            err.message().contains("needs 8 bytes but only 3 remain"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn bad_json_is_permanent() {
        let file = concat(&[
            ftyp(),
            bx(
                b"moov",
                &bx(b"udta", &tsrp_box(r#"{"attributedString": ["#)),
            ),
        ]);
        let err = read_bytes(&file).unwrap_err();
        assert!(err.is_permanent());
        assert!(err.message().contains("tsrp atom"), "{}", err.message());
        assert!(
            err.message().contains("is not valid JSON"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn json_in_an_unknown_layout_is_permanent() {
        let file = concat(&[
            ftyp(),
            bx(b"moov", &bx(b"udta", &tsrp_box(r#"{"text":"hi"}"#))),
        ]);
        let err = read_bytes(&file).unwrap_err();
        assert!(err.is_permanent());
        assert!(
            err.message().contains("not in the known layout"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn oversized_tsrp_is_refused_without_reading_it() {
        let claimed = (MAX_TSRP_BYTES + 1 + 8) as u32;
        let mut tsrp = claimed.to_be_bytes().to_vec();
        tsrp.extend_from_slice(b"tsrp");
        let udta_size = claimed + 8;
        let moov_size = udta_size + 8;
        let mut file = ftyp();
        file.extend_from_slice(&moov_size.to_be_bytes());
        file.extend_from_slice(b"moov");
        file.extend_from_slice(&udta_size.to_be_bytes());
        file.extend_from_slice(b"udta");
        file.extend_from_slice(&tsrp);
        let total = ftyp().len() as u64 + u64::from(moov_size);
        let (_dir, path) = write_temp(&file);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(total)
            .unwrap(); // sparse
        let err = read_apple_transcript(&path).unwrap_err();
        assert!(err.is_permanent());
        assert!(
            err.message().contains("over the 16 MiB limit"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn non_mp4_files_are_none() {
        let mut wav = b"RIFF".to_vec();
        wav.extend_from_slice(&36u32.to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&[0; 40]);
        assert_eq!(read_bytes(&wav).unwrap(), None);
        assert_eq!(read_bytes(b"").unwrap(), None);
        assert_eq!(read_bytes(b"ID3").unwrap(), None);
    }

    #[test]
    fn interleaved_attribute_objects_are_skipped() {
        let json = r#"{"attributedString":["This is",{"timeRange":[0,0.42]}," the transcript",{"timeRange":[0.42,1.2]}],"locale":{"identifier":"en_US","current":0}}"#;
        let file = concat(&[
            ftyp(),
            bx(b"moov", &bx(b"trak", &bx(b"udta", &tsrp_box(json)))),
        ]);
        assert_eq!(
            read_bytes(&file).unwrap(),
            Some("This is the transcript".to_string())
        );
    }

    #[test]
    fn runs_with_attribute_objects_and_messy_whitespace() {
        let json = r#"{"attributedString":{"runs":["  Buy\n milk",{"timeRange":[0,1]},"\tand  eggs ",{"timeRange":[1,2]}]}}"#;
        assert_eq!(
            transcript_from_json(json.as_bytes()).unwrap(),
            "Buy milk and eggs"
        );
    }

    #[test]
    fn trailing_nul_padding_is_tolerated() {
        let mut payload = HELLO_JSON.as_bytes().to_vec();
        payload.extend_from_slice(&[0, 0, 0]);
        assert_eq!(transcript_from_json(&payload).unwrap(), "Hello world.");
    }

    #[test]
    fn empty_transcript_is_none() {
        let json = r#"{"attributedString":{"attributeTable":[],"runs":[" ",0]}}"#;
        let file = concat(&[ftyp(), bx(b"moov", &bx(b"udta", &tsrp_box(json)))]);
        assert_eq!(read_bytes(&file).unwrap(), None);
    }

    #[test]
    fn io_errors_are_transient_and_name_the_path() {
        let dir = TempDir::new().unwrap();
        let missing = dir.path().join("gone.m4a");
        let err = read_apple_transcript(&missing).unwrap_err();
        assert!(!err.is_permanent());
        assert!(err.message().contains("gone.m4a"), "{}", err.message());
        // Opening a folder works on Linux, reading it fails (EISDIR).
        let err = read_apple_transcript(dir.path()).unwrap_err();
        assert!(!err.is_permanent(), "{err:?}");
    }

    /// Counts bytes read, to prove `mdat` is seeked past, not read.
    struct CountingReader<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for CountingReader<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl<R: Seek> Seek for CountingReader<R> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn big_mdat_is_never_read() {
        let moov = bx(b"moov", &bx(b"trak", &bx(b"udta", &tsrp_box(HELLO_JSON))));
        let file = concat(&[ftyp(), bx(b"mdat", &vec![7; 4 * 1024 * 1024]), moov]);
        let mut r = CountingReader {
            inner: Cursor::new(file),
            read: 0,
        };
        let tsrp = find_tsrp(&mut r).unwrap().expect("tsrp found");
        assert_eq!(tsrp.kind, TSRP);
        assert!(r.read < 200, "read {} bytes", r.read);
    }

    #[test]
    fn transcriber_name_is_apple() {
        assert_eq!(AppleTranscriber.name(), "apple");
    }

    // ---- real files made by ffmpeg ----

    fn ffmpeg(args: &[&str]) -> std::process::Output {
        Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-v", "error", "-threads", "1"])
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("this test needs ffmpeg on PATH, but it could not be run: {e}")
            })
    }

    fn make_m4a(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let out_path = path.to_str().expect("utf-8 temp path");
        let mut args = vec![
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:a",
            "aac",
        ];
        args.extend_from_slice(extra);
        args.push(out_path);
        let out = ffmpeg(&args);
        assert!(
            out.status.success(),
            "ffmpeg failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    }

    /// MD5 of the decoded audio: equal before and after injection iff every
    /// sample is still found where the chunk offsets say.
    fn decoded_md5(path: &Path) -> String {
        let out = ffmpeg(&["-i", path.to_str().expect("utf-8 path"), "-f", "md5", "-"]);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "ffmpeg rejected {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn ffmpeg_m4a_without_tsrp_is_none() {
        let dir = TempDir::new().unwrap();
        let path = make_m4a(dir.path(), "plain.m4a", &[]);
        assert_eq!(read_apple_transcript(&path).unwrap(), None);
    }

    #[test]
    fn inject_then_read_moov_at_end() {
        let dir = TempDir::new().unwrap();
        let path = make_m4a(dir.path(), "memo.m4a", &[]);
        let before = decoded_md5(&path);
        inject_tsrp(&path, &[" Call", " the dentist", " on Monday."]).unwrap();
        assert_eq!(
            read_apple_transcript(&path).unwrap(),
            Some("Call the dentist on Monday.".to_string())
        );
        assert_eq!(decoded_md5(&path), before);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "temp files left behind: {leftovers:?}");
    }

    #[test]
    fn inject_with_faststart_shifts_chunk_offsets() {
        let dir = TempDir::new().unwrap();
        let path = make_m4a(dir.path(), "fast.m4a", &["-movflags", "+faststart"]);
        let before = decoded_md5(&path);
        inject_tsrp(&path, &["Moov", " first."]).unwrap();
        assert_eq!(
            read_apple_transcript(&path).unwrap(),
            Some("Moov first.".to_string())
        );
        assert_eq!(decoded_md5(&path), before);
    }

    #[test]
    fn second_injection_appends_to_the_existing_udta() {
        let dir = TempDir::new().unwrap();
        let path = make_m4a(dir.path(), "twice.m4a", &[]);
        let before = decoded_md5(&path);
        inject_tsrp(&path, &["first"]).unwrap();
        inject_tsrp(&path, &["second"]).unwrap();
        assert_eq!(
            read_apple_transcript(&path).unwrap(),
            Some("first".to_string())
        );
        assert_eq!(decoded_md5(&path), before);
        let mut file = File::open(&path).unwrap();
        let len = stream_len(&mut file).unwrap();
        let moov = list_boxes(&mut file, 0, len)
            .unwrap()
            .into_iter()
            .find(|b| b.kind == MOOV)
            .unwrap();
        let trak = first_child(&mut file, &moov, TRAK).unwrap().unwrap();
        let udtas: Vec<_> = children(&mut file, &trak)
            .unwrap()
            .into_iter()
            .filter(|b| b.kind == UDTA)
            .collect();
        assert_eq!(udtas.len(), 1);
        let tsrps = children(&mut file, &udtas[0])
            .unwrap()
            .into_iter()
            .filter(|b| b.kind == TSRP)
            .count();
        assert_eq!(tsrps, 2);
    }

    #[test]
    fn inject_refuses_non_mp4() {
        let (_dir, path) = write_temp(b"RIFF\x24\0\0\0WAVEfmt ");
        let err = inject_tsrp(&path, &["x"]).unwrap_err();
        assert!(
            format!("{err:#}").contains("not an MP4/M4A file"),
            "{err:#}"
        );
    }
}
