//! Real audio: espeak-ng speaks a memo, ffmpeg encodes it, pocketsphinx transcribes
//! it; and Apple's own transcript read from a real .m4a.
use crate::harness::Test;
use std::path::Path;
use std::process::Command;

fn need(program: &str) {
    let ok = Command::new(program).arg("--version").output().is_ok()
        || Command::new("which")
            .arg(program)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    assert!(
        ok,
        "`{program}` is required by this test: install it (see .ci/run)"
    );
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Speaks `text` into `out` (.m4a, AAC) like a phone recording.
fn speak_m4a(text: &str, out: &Path) {
    need("espeak-ng");
    need("ffmpeg");
    let wav = out.with_extension("speech.wav");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "130", "-w"])
        .arg(&wav)
        .arg(text));
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "aac", "-b:a", "64k"])
        .arg(out));
    std::fs::remove_file(wav).unwrap();
}

#[test]
fn spoken_memo_is_transcribed_offline_and_lands_in_the_vault() {
    need("pocketsphinx_continuous");
    // A memo-sized grammar, as a command-and-control recognizer is set up: the
    // recognizer still decodes the real audio, choosing among many sentences.
    let grammar = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/memo.gram");
    let t = Test::new().config(&format!(
        "[transcription]\nprovider = \"command\"\ncommand = [\"pocketsphinx_continuous\", \"-infile\", \"{{input_wav}}\", \"-jsgf\", \"{grammar}\", \"-logfn\", \"/dev/null\"]\n"
    ));
    let name = "20260114 101500-5PEECH01.m4a";
    speak_m4a("remind me to call mom tomorrow", &t.inbox.join(name));
    crate::harness::age(&t.inbox.join(name), 120);
    let r = t.voice_memo();
    r.success();
    let item = t.item(name);
    assert_eq!(item["status"], "completed", "{item}");
    assert_eq!(
        item["outputs"]["todos"].as_array().unwrap().len(),
        1,
        "{item}"
    );
    let todos = t.vault_file("Todos.md");
    assert!(
        todos.contains("- [ ] Call mom 📅 2026-01-15"),
        "the recognizer heard the memo; the vault has:\n{todos}"
    );
    assert!(t.home.join("archive").join(name).exists());
}

#[test]
fn apples_own_transcript_is_read_from_the_m4a() {
    need("ffmpeg");
    let t = Test::new().config("[transcription]\nprovider = \"apple\"\n");
    let name = "20260111 135431-096B2196.m4a";
    let path = t.inbox.join(name);
    run(Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=1",
            "-c:a",
            "aac",
        ])
        .arg(&path));
    astra::voice_memo::transcribe::apple::inject_tsrp(
        &path,
        &[
            "Remind",
            " me",
            " to",
            " water",
            " the",
            " plants",
            " tomorrow.",
        ],
    )
    .unwrap();
    crate::harness::age(&path, 120);
    let r = t.voice_memo();
    r.success();
    let todos = t.vault_file("Todos.md");
    assert!(todos.contains("Water the plants 📅 2026-01-12"), "{todos}");
}
