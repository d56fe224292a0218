//! Recognises audio files by their first bytes, so a file that is not audio gets a
//! clear error before anything is spent on it.
use crate::voice_memo::error::ItemError;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The container or codec a file's first bytes show.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |off: usize, magic: &[u8]| {
        head.len() >= off + magic.len() && &head[off..off + magic.len()] == magic
    };
    if at(4, b"ftyp") && at(8, b"qt  ") {
        // QuickTime, as Apple's .qta recordings are.
        return Some("mov");
    }
    if at(4, b"ftyp") {
        return Some("mp4");
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Some("wav");
    }
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        return Some("aiff");
    }
    if at(0, b"caff") {
        return Some("caf");
    }
    if at(0, b"fLaC") {
        return Some("flac");
    }
    if at(0, b"OggS") {
        return Some("ogg");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("webm");
    }
    if at(0, b"ID3") {
        return Some("mp3");
    }
    if at(0, b"#!AMR") {
        return Some("amr");
    }
    // ADTS: 12 sync bits, then the layer bits are 00 (MPEG audio frames have them set).
    if head.len() >= 2 && head[0] == 0xFF && (head[1] & 0xF6) == 0xF0 {
        return Some("aac");
    }
    if head.len() >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 {
        return Some("mp3");
    }
    None
}

/// Checks that `path` is a non-empty, readable audio file; the error names the file.
pub fn check(path: &Path, display: &str) -> Result<&'static str, ItemError> {
    let mut f = File::open(path).map_err(|e| {
        ItemError::transient(format!(
            "{display}: cannot be read ({e}); check its permissions (on macOS, Voice Memos' folder needs Full Disk Access for the program running astra)"
        ))
    })?;
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(ItemError::transient(format!("{display}: read error: {e}"))),
        }
    }
    if n == 0 {
        return Err(ItemError::transient(format!(
            "{display}: the file is empty (0 bytes); if it is still downloading it will be tried again"
        )));
    }
    sniff(&head[..n]).ok_or_else(|| {
        ItemError::permanent(format!(
            "{display}: not an audio file (its first bytes match no audio format); it was left in place and not processed"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_formats() {
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A \0\0\0\0"), Some("mp4"));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\x02\0"), Some("mov"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), Some("wav"));
        assert_eq!(sniff(b"caff\0\x01\0\0"), Some("caf"));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some("flac"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("ogg"));
        assert_eq!(sniff(b"ID3\x04\0\0"), Some("mp3"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some("mp3"));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some("aac"));
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1]), Some("webm"));
    }

    #[test]
    fn text_is_not_audio() {
        assert_eq!(sniff(b"hello, this is a text file"), None);
        assert_eq!(sniff(b"{\"json\": true}"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn check_names_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("e.m4a");
        std::fs::write(&empty, b"").unwrap();
        let e = check(&empty, "e.m4a").unwrap_err();
        assert!(
            !e.is_permanent() && e.message().contains("e.m4a: the file is empty"),
            "{e}"
        );
        let text = dir.path().join("t.m4a");
        std::fs::write(&text, b"not audio at all").unwrap();
        let e = check(&text, "t.m4a").unwrap_err();
        assert!(
            e.is_permanent() && e.message().contains("not an audio file"),
            "{e}"
        );
    }
}
