//! The built-in recognizer end to end: espeak-ng speaks a memo, ffmpeg encodes it,
//! `voice-memo` transcribes it with whisper.cpp and the tiny.en test model
//! ([`crate::whisper_model`]); silence is discarded; a long recording keeps its
//! timestamps; SIGTERM stops a transcription mid-way and the next run finishes it.
//! `astra models pull` against a local server: success, resume after a dropped
//! connection, a file that does not match the catalogue.
use crate::harness::{Test, age};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SAID: &str = "Remind me to call the dentist tomorrow. I need to buy milk.";

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// espeak-ng's voice as a 16-bit WAV.
fn speak(text: &str, wav: &Path) {
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(wav)
        .arg(text));
}

/// ffmpeg from `inputs` (lavfi graphs or files) to `out` with `args`.
fn ffmpeg(pre: &[&str], args: &[&str], out: &Path) {
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(pre)
        .args(args)
        .arg(out));
}

/// `text` spoken into `out`, encoded for its extension (m4a: AAC like a phone).
fn spoken(text: &str, out: &Path) {
    let wav = out.with_extension("voice.wav");
    speak(text, &wav);
    let codec: &[&str] = match out.extension().and_then(|e| e.to_str()) {
        Some("m4a") => &["-c:a", "aac", "-b:a", "64k", "-ar", "44100"],
        Some("mp3") => &["-c:a", "libmp3lame", "-b:a", "96k", "-ar", "44100"],
        _ => &["-ar", "22050"],
    };
    ffmpeg(&["-i", wav.to_str().unwrap()], codec, out);
    std::fs::remove_file(wav).unwrap();
    age(out, 120);
}

/// The test with the test model installed as `$ASTRA_HOME/models/ggml-tiny.en.bin`
/// and `whisper_model = "tiny.en"` (no other transcription settings).
pub(crate) fn with_model(model: &Path, extra: &str) -> Test {
    let t = Test::new().config(&format!(
        "[transcription]\nwhisper_model = \"tiny.en\"\nwhisper_threads = 2\n{extra}"
    ));
    let dir = t.home.join("models");
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join("ggml-tiny.en.bin");
    if std::fs::hard_link(model, &dest).is_err() {
        std::fs::copy(model, &dest).unwrap();
    }
    t
}

fn log_text(t: &Test) -> String {
    let mut out = String::new();
    if let Ok(rd) = std::fs::read_dir(t.home.join("logs")) {
        for e in rd.flatten() {
            out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    out
}

#[test]
fn spoken_memos_become_todos_with_the_built_in_recognizer() {
    let Some(model) = crate::whisper_model::tiny_en() else {
        return;
    };
    let t = with_model(&model, "");
    let names = [
        "20260114 101500-WHISPER1.m4a",
        "20260114 101600-WHISPER2.wav",
        "20260114 101700-WHISPER3.mp3",
    ];
    for n in names {
        spoken(SAID, &t.inbox.join(n));
    }
    let silent = "20260114 101800-SILENT01.m4a";
    ffmpeg(
        &["-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono:d=6"],
        &["-c:a", "aac"],
        &t.inbox.join(silent),
    );
    age(&t.inbox.join(silent), 120);
    let r = t.voice_memo();
    r.success();
    let todos = t.vault_file("Todos.md");
    for n in names {
        let item = t.item(n);
        assert_eq!(item["status"], "completed", "{n}: {item}\n{}", r.stderr());
        // The language is kept with the transcript, in the catalogue.
        let shown = t.run("astra", &["memos", "show", n, "--json"]);
        shown.success();
        assert_eq!(
            shown.json()["data"]["transcript"]["language"],
            "en",
            "{}",
            shown.stdout()
        );
        assert!(item["audio_seconds"].as_f64().unwrap() > 2.0, "{item}");
        assert_eq!(
            item["outputs"]["todos"].as_array().unwrap().len(),
            2,
            "{n}: {item}\n{todos}"
        );
    }
    let lines: Vec<&str> = todos.lines().filter(|l| l.starts_with("- [ ]")).collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.to_lowercase().contains("dentist"))
            .count(),
        3,
        "{todos}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.to_lowercase().contains("milk"))
            .count(),
        3,
        "{todos}"
    );
    // Pure silence: whisper is not even asked; the memo is discarded.
    let item = t.item(silent);
    assert_eq!(item["status"], "discarded", "{item}");
    assert!(t.home.join("invalid").join(silent).exists());
    // One model load for the whole run, shared by the workers.
    let log = log_text(&t);
    assert_eq!(log.matches("whisper: model loaded").count(), 1, "{log}");
    let stats = &r.json()["stats"];
    assert!(stats["audio_seconds"].as_f64().unwrap() > 6.0, "{stats}");
}

/// A local stand-in for Hugging Face: `/…/resolve/<rev>/<file>` redirects to a CDN
/// path, as huggingface.co does; the CDN honours `Range`, and can drop the first
/// connection after some bytes.
struct ModelServer {
    url: String,
    requests: Arc<Requests>,
}

/// What the server saw: each request's path and `Range` header.
type Requests = Mutex<Vec<(String, Option<String>)>>;

impl ModelServer {
    fn start(file: Vec<u8>, drop_first_after: Option<usize>) -> ModelServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let file = Arc::new(file);
        std::thread::spawn(move || {
            let mut dropped = false;
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let drop_now = !dropped && drop_first_after.is_some();
                let served = serve(
                    conn,
                    &file,
                    if drop_now { drop_first_after } else { None },
                    &seen,
                );
                if served && drop_now {
                    dropped = true;
                }
            }
        });
        ModelServer { url, requests }
    }

    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.requests.lock().unwrap().clone()
    }
}

/// Answers one request; true when it served (part of) the file.
fn serve(conn: TcpStream, file: &[u8], drop_after: Option<usize>, seen: &Requests) -> bool {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return false;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
    seen.lock().unwrap().push((path.clone(), range.clone()));
    let mut out = conn;
    if let Some(rest) = path.split("/resolve/").nth(1) {
        let file_name = rest.split('/').nth(1).unwrap_or("");
        let _ = write!(
            out,
            "HTTP/1.1 302 Found\r\nLocation: /cdn/{file_name}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return false;
    }
    if !path.starts_with("/cdn/ggml-") {
        let _ = write!(
            out,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return false;
    }
    let start: usize = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse().ok())
        .unwrap_or(0);
    let body = &file[start.min(file.len())..];
    let head = if start > 0 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
            body.len(),
            file.len() - 1,
            file.len()
        )
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
            body.len()
        )
    };
    let _ = out.write_all(head.as_bytes());
    let n = drop_after.unwrap_or(body.len()).min(body.len());
    let _ = out.write_all(&body[..n]);
    let _ = out.flush();
    // Dropping `out` closes the connection, mid-body when `drop_after` cut it short.
    true
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pull(t: &Test, server: &ModelServer, pin: Option<&str>) -> (Option<i32>, Value, String) {
    let mut c = t.command("astra");
    c.args(["--json", "models", "pull", "tiny.en"])
        .env("ASTRA_MODEL_BASE_URL", &server.url);
    if let Some(p) = pin {
        c.env("ASTRA_TEST_MODEL_PIN", p);
    }
    let o = c.output().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn models_pull_downloads_checks_and_installs() {
    let file = random_bytes(3 << 20);
    let pin = format!("tiny.en={}:{}", sha256(&file), file.len());
    let server = ModelServer::start(file.clone(), None);
    let t = Test::new();
    let (code, v, err) = pull(&t, &server, Some(&pin));
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["data"]["status"], "downloaded", "{v}");
    let dest = t.home.join("models/ggml-tiny.en.bin");
    assert_eq!(std::fs::read(&dest).unwrap(), file);
    assert!(!t.home.join("models/ggml-tiny.en.bin.part").exists());
    let reqs = server.requests();
    assert!(
        reqs[0].0.ends_with("/ggerganov/whisper.cpp/resolve/5359861c739e955e79d9a303bcbc70fb988958b1/ggml-tiny.en.bin"),
        "{reqs:?}"
    );
    // Pulled again: already there, checked, nothing fetched.
    let (code, v, _) = pull(&t, &server, Some(&pin));
    assert_eq!(
        (code, v["data"]["status"].as_str()),
        (Some(0), Some("present")),
        "{v}"
    );
    assert_eq!(server.requests().len(), reqs.len());
    // list, then rm.
    let o = t
        .command("astra")
        .args(["--json", "models", "list"])
        .env("ASTRA_TEST_MODEL_PIN", &pin)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let tiny = v["data"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tiny.en")
        .unwrap()
        .clone();
    assert_eq!(tiny["installed"], true, "{v}");
    assert_eq!(v["data"]["configured"], "base.en");
    let o = t
        .command("astra")
        .args(["--json", "models", "rm", "tiny.en"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!dest.exists());
    let o = t
        .command("astra")
        .args(["models", "pull", "medium"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not in the catalogue (tiny.en, tiny, base.en")
    );
}

#[test]
fn models_pull_resumes_after_a_dropped_connection() {
    let file = random_bytes(3 << 20);
    let pin = format!("tiny.en={}:{}", sha256(&file), file.len());
    let server = ModelServer::start(file.clone(), Some(1 << 20));
    let t = Test::new();
    let (code, v, err) = pull(&t, &server, Some(&pin));
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["data"]["reconnects"], 1, "{v}");
    assert_eq!(
        std::fs::read(t.home.join("models/ggml-tiny.en.bin")).unwrap(),
        file
    );
    let cdn: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|(p, _)| p.starts_with("/cdn/"))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        cdn,
        [None, Some(format!("bytes={}-", 1 << 20))],
        "the second request resumed where the first one dropped"
    );
}

#[test]
fn a_file_that_is_not_the_model_is_refused_and_deleted() {
    // The catalogue's own sha256 for tiny.en, against a file that is not the model.
    let server = ModelServer::start(random_bytes(1 << 20), None);
    let t = Test::new();
    let (code, v, err) = pull(&t, &server, None);
    assert_eq!(code, Some(1), "{v} {err}");
    assert!(
        err.contains("does not match the catalogue")
            && err.contains("921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f")
            && err.contains("the downloaded file was deleted"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(t.home.join("models"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with(".ggml"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // A wrong pin: the same with a checksum that is not the file's.
    let pin = format!("tiny.en={}:{}", "0".repeat(64), 1 << 20);
    let (code, _, err) = pull(&t, &server, Some(&pin));
    assert_eq!(code, Some(1));
    assert!(err.contains("expected 0000"), "{err}");
    assert!(!t.home.join("models/ggml-tiny.en.bin").exists());
}

#[test]
fn a_missing_model_is_downloaded_once_on_first_need() {
    let Some(model) = crate::whisper_model::tiny_en() else {
        return;
    };
    let bytes = std::fs::read(&model).unwrap();
    let pin = format!("tiny.en={}:{}", sha256(&bytes), bytes.len());
    let server = ModelServer::start(bytes, None);
    let t = Test::new()
        .config("[transcription]\nwhisper_model = \"tiny.en\"\nwhisper_threads = 2\n")
        .env("ASTRA_MODEL_BASE_URL", &server.url)
        .env("ASTRA_TEST_MODEL_PIN", &pin);
    for n in ["a.wav", "b.wav"] {
        spoken(SAID, &t.inbox.join(n));
    }
    let r = t.voice_memo();
    r.success();
    assert_eq!(t.item("a.wav")["status"], "completed");
    assert_eq!(t.item("b.wav")["status"], "completed");
    let cdn = server
        .requests()
        .iter()
        .filter(|(p, _)| p.starts_with("/cdn/"))
        .count();
    assert_eq!(cdn, 1, "downloaded once for both memos");
    assert!(t.home.join("models/ggml-tiny.en.bin").exists());
    assert!(log_text(&t).contains("the speech model is missing: downloading it"));
}

#[test]
fn downloads_off_makes_the_memo_wait_for_a_pull() {
    let t = Test::new().config("[transcription]\ndownload_models = false\n");
    spoken("call the dentist", &t.inbox.join("a.wav"));
    // Waiting for the model is not failing: exit 0, no attempt spent.
    t.voice_memo().code_is(0);
    let item = t.item("a.wav");
    assert_eq!(item["status"], "waiting", "{item}");
    assert_eq!(item["attempts"], 0, "{item}");
    assert!(
        item["last_error"]
            .as_str()
            .unwrap()
            .contains("run `astra models pull base.en`"),
        "{item}"
    );
}

/// Speech, nearly ten minutes of silence, speech: as an m4a.
fn long_recording(dir: &Path, out: &Path) {
    let a = dir.join("a.wav");
    let b = dir.join("b.wav");
    speak("Remind me to call the dentist tomorrow.", &a);
    speak("I need to buy milk.", &b);
    ffmpeg(
        &[
            "-i",
            a.to_str().unwrap(),
            "-f",
            "lavfi",
            "-t",
            "586",
            "-i",
            "anullsrc=r=22050:cl=mono",
            "-i",
            b.to_str().unwrap(),
        ],
        &[
            "-filter_complex",
            "[0:a][1:a][2:a]concat=n=3:v=0:a=1",
            "-c:a",
            "aac",
            "-b:a",
            "48k",
        ],
        out,
    );
    age(out, 120);
}

fn transcript_meta(t: &Test, item: &Value) -> Value {
    let id = item["id"].as_str().unwrap();
    let p = t
        .home
        .join("cache/voice-memo")
        .join(id)
        .join("transcript.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// About three minutes of continuous speech, as an m4a.
fn talk(dir: &Path, out: &Path) {
    let wav = dir.join("talk.wav");
    let paragraph = "Note for the project: the launch checklist should go to the whole team \
        on day one. Remember to send the invoice to the client by Friday and ask about the \
        new contract. I should book the train tickets for the conference next month. ";
    speak(&paragraph.repeat(6), &wav);
    ffmpeg(
        &["-i", wav.to_str().unwrap()],
        &["-c:a", "aac", "-b:a", "48k"],
        out,
    );
    age(out, 120);
}

#[test]
fn sigterm_stops_a_transcription_mid_way_and_the_next_run_finishes_it() {
    let Some(model) = crate::whisper_model::tiny_en() else {
        return;
    };
    let t = with_model(&model, "");
    let name = "20260114 120000-TALKMEMO.m4a";
    talk(t.dir.path(), &t.inbox.join(name));
    let mut child = t
        .command("voice-memo")
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !log_text(&t).contains("whisper: model loaded") {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the model never loaded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.code().is_some(), "{status:?}");
    let item = t.item(name);
    assert_eq!(item["status"], "pending", "{item}\n{out}");
    assert_eq!(
        item["attempts"], 0,
        "an interrupted attempt does not count: {item}"
    );
    let log = log_text(&t);
    assert!(
        !log.contains("whisper: transcribed"),
        "stopped mid-way: {log}"
    );
    assert!(
        log.contains("memo interrupted; it resumes next run"),
        "{log}"
    );
    t.voice_memo().success();
    let item = t.item(name);
    assert_eq!(item["status"], "completed", "{item}");
    assert!(log_text(&t).contains("whisper: transcribed"));
}

#[test]
fn a_long_recording_is_transcribed_completely_with_its_timestamps() {
    let Some(model) = crate::whisper_model::tiny_en() else {
        return;
    };
    let t = with_model(&model, "");
    let name = "20260114 130000-LONGMEMO.m4a";
    long_recording(t.dir.path(), &t.inbox.join(name));
    // Stopped just after the transcription, to read the cache...
    let o = t
        .command("voice-memo")
        .env("ASTRA_TEST_CRASH_AT", "transcribed")
        .output()
        .unwrap();
    let item = t.item(name);
    assert_eq!(
        item["stage"],
        "transcribed",
        "{item} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let meta = transcript_meta(&t, &item);
    assert_eq!(meta["provider"], "whisper");
    assert_eq!(meta["model"], "tiny.en");
    assert_eq!(meta["language"], "en");
    assert!(meta["audio_seconds"].as_f64().unwrap() > 590.0, "{meta}");
    let segs = meta["segments"].as_array().unwrap();
    let first = &segs[0];
    let last = &segs[segs.len() - 1];
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("dentist"),
        "{meta}"
    );
    assert!(first["start_ms"].as_i64().unwrap() < 3000, "{first}");
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("milk"),
        "{meta}"
    );
    let at = last["start_ms"].as_i64().unwrap();
    assert!(
        (585_000..=600_000).contains(&at),
        "the second sentence is at ~9:48: {last}"
    );
    assert!(
        segs.iter()
            .all(|s| { !(5000..=580_000).contains(&s["start_ms"].as_i64().unwrap()) }),
        "nothing invented in the silence between: {meta}"
    );
    // ...then the next run finishes the memo from the cached transcript.
    t.voice_memo().success();
    let item = t.item(name);
    assert_eq!(item["status"], "completed", "{item}");
    let todos = t.vault_file("Todos.md").to_lowercase();
    assert!(
        todos.contains("dentist") && todos.contains("milk"),
        "{todos}"
    );
    assert_eq!(
        log_text(&t).matches("whisper: transcribed").count(),
        1,
        "transcribed once"
    );
}

/// On Linux the C++ standard library whisper.cpp needs and the unwinder Rust's
/// standard library asks for are linked in (`build.rs`), so a run with nothing to do
/// does not load and bind `libstdc++.so` (half of such a run's instructions when it
/// did) or `libgcc_s.so`.
#[cfg(all(target_os = "linux", feature = "whisper"))]
#[test]
fn the_job_binaries_do_not_load_libstdcxx() {
    if std::env::var_os("ASTRA_DYNAMIC_LIBSTDCXX").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    for program in ["voice-memo", "journal", "astra"] {
        let out = std::process::Command::new("readelf")
            .arg("-d")
            .arg(crate::harness::bin(program))
            .output()
            .expect("readelf (binutils) runs");
        let dynamic = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{program}: {dynamic}");
        assert!(dynamic.contains("(NEEDED)"), "{program}: {dynamic}");
        for library in ["libstdc++", "libgcc_s"] {
            assert!(
                !dynamic.contains(library),
                "{program} loads {library} at start:\n{dynamic}"
            );
        }
    }
}
