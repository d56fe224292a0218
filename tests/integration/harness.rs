//! A fluent harness: a temp `ASTRA_HOME`, an inbox, memos, and the real binaries.
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

pub struct Test {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub inbox: PathBuf,
    pub vault: PathBuf,
    /// Keys added to `[voice_memo]`.
    vm_extra: String,
    /// Tables added after the generated ones.
    extra: String,
    env: Vec<(String, String)>,
    /// A config the test wrote itself: never rewritten by the harness.
    own_config: bool,
    /// Run the binaries as `nobody` when the tests run as root ([`Test::unprivileged`]).
    unprivileged: bool,
}

/// A finished run of a binary.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    /// The `--json` run result.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout(),
                self.stderr()
            )
        })
    }
    #[track_caller]
    pub fn code_is(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code_is(0)
    }
}

/// A small, valid 16 kHz mono WAV whose samples depend on `seed` (so every memo has
/// its own digest).
pub fn wav_bytes(seed: &str, samples: usize) -> Vec<u8> {
    let data_len = (samples * 2) as u32;
    let mut v = Vec::with_capacity(44 + samples * 2);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&16000u32.to_le_bytes());
    v.extend_from_slice(&32000u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    let seed: u32 = seed
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    for i in 0..samples {
        let s = ((seed.wrapping_add(i as u32).wrapping_mul(2654435761)) >> 20) as i16;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

/// How many output markers of memo `id` are in `text` (a vault file): its id, not
/// counting the links to its transcript note (`[[Transcripts/… (id)|transcript]]`).
pub fn markers(path: &str, text: &str, id: &str) -> usize {
    if path.starts_with("Transcripts/") {
        return 0;
    }
    text.matches(id).count() - text.matches(&format!("({id})|transcript]]")).count()
}

/// Makes a file look old enough to have settled.
pub fn age(path: &Path, secs: u64) {
    let t = SystemTime::now() - Duration::from_secs(secs);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// ASTRA_HOME as astra makes it: private.
fn make_home(home: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    if !home.exists() {
        fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(home)
            .unwrap();
    }
}

/// The program `name`: this build's, or the one in `ASTRA_TEST_BIN_DIR` (the
/// measurements in `throughput.rs` run the release build that way).
pub fn bin(name: &str) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("ASTRA_TEST_BIN_DIR") {
        return Path::new(&dir).join(name);
    }
    PathBuf::from(built(name))
}

/// uid and gid of `nobody`.
pub const NOBODY: u32 = 65534;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `dir` and everything in it owned by `nobody`.
fn give_to_nobody(dir: &Path) {
    std::os::unix::fs::lchown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            give_to_nobody(&path);
        } else {
            std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
}

/// The binary `program` where `nobody` may run it: where cargo built it when every
/// folder above it is open to others, else a copy in a world-readable folder (a
/// checkout under root's 0700 home).
fn bin_for_nobody(program: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;
    let built = bin(program);
    let open = built
        .ancestors()
        .skip(1)
        .all(|d| fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
        && fs::metadata(&built).is_ok_and(|m| m.permissions().mode() & 0o005 == 0o005);
    if open {
        return built;
    }
    static COPIES: Mutex<()> = Mutex::new(());
    let _one_at_a_time = COPIES.lock().unwrap_or_else(|p| p.into_inner());
    // One copy per build of the binary, reused by later test runs; a new build's copy
    // replaces the old one.
    let dir = std::env::temp_dir().join("astra-test-bins");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let meta = fs::metadata(&built).unwrap();
    let stamp = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let copy = dir.join(format!("{program}-{}-{stamp}", meta.len()));
    if !copy.exists() {
        for old in fs::read_dir(&dir).unwrap().flatten() {
            if old
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{program}-"))
            {
                let _ = fs::remove_file(old.path());
            }
        }
        let part = dir.join(format!(".{program}.{}.part", std::process::id()));
        fs::copy(&built, &part).unwrap();
        fs::set_permissions(&part, fs::Permissions::from_mode(0o755)).unwrap();
        fs::rename(&part, &copy).unwrap();
    }
    copy
}

fn built(name: &str) -> &'static str {
    match name {
        "voice-memo" => env!("CARGO_BIN_EXE_voice-memo"),
        "journal" => env!("CARGO_BIN_EXE_journal"),
        "astra" => env!("CARGO_BIN_EXE_astra"),
        other => panic!("no binary {other}"),
    }
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("astra-home");
        let inbox = dir.path().join("inbox");
        let vault = dir.path().join("vault");
        fs::create_dir(&inbox).unwrap();
        Test {
            dir,
            home,
            inbox,
            vault,
            vm_extra: String::new(),
            extra: String::new(),
            env: Vec::new(),
            own_config: false,
            unprivileged: false,
        }
    }

    /// The binaries run as an ordinary user even when the tests run as root (CI
    /// does): root reads every folder, so a permission a test takes away is refused
    /// only to someone else. As root, each command runs as `nobody` through
    /// `setpriv`, and the test's directory is handed to `nobody` first.
    pub fn unprivileged(mut self) -> Test {
        self.unprivileged = true;
        self
    }

    /// Adds a key to `[voice_memo]`.
    pub fn vm(mut self, line: &str) -> Test {
        self.vm_extra.push_str(line);
        self.vm_extra.push('\n');
        self
    }

    /// Adds tables to the config.
    pub fn config(mut self, extra: &str) -> Test {
        self.extra.push('\n');
        self.extra.push_str(extra);
        self
    }

    /// The config text the runs see.
    pub fn config_text(&self) -> String {
        format!(
            "[voice_memo]\ninbox = \"{}\"\nsettle_seconds = 0\n{}\n[sync.markdown]\ndir = \"{}\"\n{}",
            self.inbox.display(),
            self.vm_extra,
            self.vault.display(),
            self.extra
        )
    }

    pub fn env(mut self, k: &str, v: &str) -> Test {
        self.env.push((k.into(), v.into()));
        self
    }

    /// A recording with a sidecar transcript beside it.
    pub fn memo(self, name: &str, transcript: &str) -> Test {
        self.add_memo(name, transcript);
        self
    }

    pub fn add_memo(&self, name: &str, transcript: &str) {
        self.add_audio(name, &wav_bytes(name, 800));
        let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
        let txt = self.inbox.join(format!("{stem}.txt"));
        fs::write(&txt, transcript).unwrap();
        age(&txt, 120);
    }

    /// Any bytes under an audio name in the inbox (aged past settling).
    pub fn audio(self, name: &str, bytes: &[u8]) -> Test {
        self.add_audio(name, bytes);
        self
    }

    pub fn add_audio(&self, name: &str, bytes: &[u8]) {
        let p = self.inbox.join(name);
        fs::write(&p, bytes).unwrap();
        age(&p, 120);
    }

    /// Writes `text` as config.toml once; the harness leaves it alone from then on
    /// (for commands that edit it).
    pub fn own_config(mut self, text: &str) -> Test {
        make_home(&self.home);
        fs::write(self.home.join("config.toml"), text).unwrap();
        self.own_config = true;
        self
    }

    pub fn write_config(&self) {
        if self.own_config {
            return;
        }
        make_home(&self.home);
        // Rewritten only when it changed: concurrent runs may be reading it.
        let path = self.home.join("config.toml");
        let text = self.config_text();
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(path, text).unwrap();
        }
    }

    /// The command for `program` with this test's environment.
    pub fn command(&self, program: &str) -> Command {
        self.write_config();
        let mut c = if self.unprivileged && is_root() {
            give_to_nobody(self.dir.path());
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
            ])
            .arg(bin_for_nobody(program));
            c
        } else {
            Command::new(bin(program))
        };
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("ASTRA_HOME", &self.home)
            .env("TZ", "Europe/Paris")
            // The built-in recognizer's model downloads never leave the machine: a
            // test that wants one points this at its own server.
            .env("ASTRA_MODEL_BASE_URL", "http://127.0.0.1:9")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, program: &str, args: &[&str]) -> Run {
        let output = self.command(program).args(args).output().unwrap();
        Run { output }
    }

    /// `voice-memo --json`.
    pub fn voice_memo(&self) -> Run {
        self.run("voice-memo", &["--json"])
    }

    pub fn state(&self) -> Value {
        serde_json::from_slice(&fs::read(self.home.join("state.json")).unwrap()).unwrap()
    }

    /// A memo as state.json's item shape: from state.json when in flight, else from
    /// the catalogue (where done memos live).
    pub fn item(&self, name: &str) -> Value {
        self.items().get(name).cloned().unwrap_or(Value::Null)
    }

    /// Every memo by file name: the catalogue's records (in state.json's item shape)
    /// overlaid by state.json's in-flight items.
    pub fn items(&self) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        if let Some(cat) = self.catalogue() {
            let all = cat.list(&Default::default()).unwrap();
            for m in all {
                let r = cat.get(&m.file).unwrap().unwrap();
                let mut v = serde_json::json!({
                        "status": r.status, "stage": r.stage, "attempts": r.attempts,
                        "id": r.id, "digest": r.digest, "recorded_at": r.recorded_at,
                        "outputs": r.outputs, "last_error": r.last_error,
                        "next_attempt_at": r.next_attempt_at, "archived_to": r.archived_to,
                        "audio_seconds": r.duration_seconds, "tokens": r.tokens,
                });
                // As state.json writes them: these are left out when absent.
                for k in ["id", "archived_to", "audio_seconds", "tokens"] {
                    if v[k].is_null() {
                        v.as_object_mut().unwrap().remove(k);
                    }
                }
                out.insert(r.file.clone(), v);
            }
        }
        if let Ok(bytes) = fs::read(self.home.join("state.json")) {
            let s: Value = serde_json::from_slice(&bytes).unwrap();
            if let Some(m) = s["jobs"]["voiceMemo"]["items"].as_object() {
                for (k, v) in m {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    /// state.json and the catalogue agree: nothing done is still in state.json, every
    /// in-flight state item has the same status in the catalogue, every catalogue
    /// record in flight is in state.json, and the failed list is the failed items.
    #[track_caller]
    pub fn assert_catalogue_agrees(&self, why: &str) {
        let state = self.state();
        let vm = &state["jobs"]["voiceMemo"];
        let items = vm["items"].as_object().cloned().unwrap_or_default();
        let Some(cat) = self.catalogue() else {
            assert!(items.is_empty(), "{why}: state items but no catalogue");
            return;
        };
        for (name, item) in &items {
            let status = item["status"].as_str().unwrap_or("");
            assert!(
                !matches!(status, "completed" | "discarded"),
                "{why}: {name} is done but still in state.json"
            );
            assert_eq!(
                cat.status_of(name).unwrap().as_deref(),
                Some(status),
                "{why}: {name}: the catalogue disagrees with state.json"
            );
        }
        for m in cat.list(&Default::default()).unwrap() {
            if !matches!(m.status.as_str(), "completed" | "discarded") {
                assert!(
                    items.contains_key(&m.file),
                    "{why}: {} is {} in the catalogue but not in state.json",
                    m.file,
                    m.status
                );
            }
        }
        let failed: Vec<&str> = vm["failed"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        for f in &failed {
            assert_eq!(
                items[*f]["status"], "failed",
                "{why}: {f} in the failed list"
            );
        }
    }

    /// The memo catalogue, read-only (`None` before the first run that wrote one).
    pub fn catalogue(&self) -> Option<astra::catalogue::Catalogue> {
        let paths = astra::paths::Paths::under(self.home.clone(), None);
        astra::catalogue::Catalogue::open_read_only(&paths).unwrap()
    }

    pub fn vault_file(&self, rel: &str) -> String {
        fs::read_to_string(self.vault.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file under `dir`, relative, sorted.
    pub fn tree(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
            let Ok(rd) = fs::read_dir(d) else { return };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    /// (path, bytes) of every file under `dir`, to compare before and after.
    pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
        Self::tree(dir)
            .into_iter()
            .map(|r| {
                let b = fs::read(dir.join(&r)).unwrap();
                (r, b)
            })
            .collect()
    }
}

impl Test {
    /// Runs `program` with stderr on a pseudo-terminal (as a person at a terminal
    /// sees it); the terminal's text comes back as the run's stderr.
    pub fn run_at_terminal(&self, program: &str, args: &[&str]) -> Run {
        let mut cmd = self.command(program);
        cmd.args(args);
        self.run_with_terminal(cmd)
    }

    pub fn run_with_terminal(&self, mut cmd: Command) -> Run {
        use std::io::Read;
        use std::os::fd::{FromRawFd, OwnedFd};
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two fds; null name/termios/winsize are allowed.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both fds were just opened and are owned here.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        drop(cmd);
        // The child holds the only slave fd now: reading ends (EIO) when it exits.
        let reader = std::thread::spawn(move || {
            let mut f = fs::File::from(master);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = f.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf
        });
        let mut output = child.wait_with_output().unwrap();
        output.stderr = reader.join().unwrap();
        // The terminal turns "\n" into "\r\n".
        output.stderr = String::from_utf8_lossy(&output.stderr)
            .replace("\r\n", "\n")
            .into_bytes();
        Run { output }
    }
}
