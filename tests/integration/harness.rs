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
        }
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
        let mut c = Command::new(bin(program));
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

    pub fn item(&self, name: &str) -> Value {
        self.state()["jobs"]["voiceMemo"]["items"][name].clone()
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
