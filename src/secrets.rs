//! Secrets by name: every `*_env` key in config.toml names one.
//!
//! [`get`] is the one place a secret's value is looked up, in this order: the process
//! environment, the OS keychain ([`keychain`]), `$ASTRA_HOME/secrets.env` (the file
//! store, mode 0600), then `[secrets] env_file` (a `.env` the user already has, e.g.
//! the original astra's). cron, launchd and systemd start jobs without the user's
//! shell environment, so a scheduled run finds its keys in the last three.
//!
//! [`init`] (called by every job run and by the CLI once the config is loaded) says
//! where the files are and refuses one that others can read. It only looks at the
//! files; the keychain is asked only when a key is wanted and not in the environment,
//! and once it fails (no Secret Service on a server, a timeout) not again in that
//! process. `ASTRA_SECRETS_BACKEND=file` leaves the keychain out altogether.
//! Values never reach a log, an error message or any file but the two stores.
pub mod dotenv;
pub mod keychain;

use crate::config::Config;
use crate::exit::usage;
use crate::paths::Paths;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// The file store under `ASTRA_HOME`.
pub const FILE_NAME: &str = "secrets.env";
/// Names astra put in the keychain (names only: a keychain cannot be listed portably).
const KEYCHAIN_INDEX: &str = "secrets.keychain";
/// `auto` (default), `file` or `keychain`.
pub const BACKEND_ENV: &str = "ASTRA_SECRETS_BACKEND";

/// Where a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Environment,
    Keychain,
    SecretsFile,
    EnvFile,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Environment => "environment",
            Source::Keychain => "keychain",
            Source::SecretsFile => "secrets.env",
            Source::EnvFile => "env_file",
        }
    }
}

/// Which store `astra secrets set` writes to, and whether lookups ask the keychain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The keychain when it answers, else the file.
    Auto,
    File,
    Keychain,
}

impl Backend {
    /// From `ASTRA_SECRETS_BACKEND` (unset or empty: auto).
    pub fn from_env() -> Result<Backend> {
        let v = std::env::var(BACKEND_ENV).unwrap_or_default();
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Backend::Auto),
            "file" => Ok(Backend::File),
            "keychain" => Ok(Backend::Keychain),
            other => Err(usage(format!(
                "{BACKEND_ENV}={other:?} is not a secret store: use auto (the keychain when usable, else $ASTRA_HOME/{FILE_NAME}), file or keychain"
            ))),
        }
    }
}

type KeychainGet = fn(&str, std::time::Duration) -> Result<Option<String>, keychain::Unusable>;

/// The stores for this process.
struct Store {
    backend: Backend,
    file: PathBuf,
    env_file: Option<PathBuf>,
    file_values: BTreeMap<String, String>,
    env_file_values: BTreeMap<String, String>,
    /// `None` untried, `Some(Ok)` answered once, `Some(Err)` unusable from now on.
    keychain: Mutex<Option<Result<(), keychain::Unusable>>>,
    keychain_get: KeychainGet,
}

static STORE: RwLock<Option<Arc<Store>>> = RwLock::new(None);

fn current() -> Option<Arc<Store>> {
    STORE.read().ok().and_then(|s| s.clone())
}

/// The `[secrets] env_file` path: `~` expanded, relative to the config file's folder.
pub fn env_file_path(paths: &Paths, config: &Config) -> Option<PathBuf> {
    let raw = &config.secrets.env_file;
    if raw.as_os_str().is_empty() {
        return None;
    }
    let p = crate::paths::expand_tilde(raw);
    Some(if p.is_relative() {
        paths
            .config
            .parent()
            .map(|d| d.join(&p))
            .unwrap_or(p.clone())
    } else {
        p
    })
}

/// Sets up the stores for this process from `ASTRA_HOME` and `[secrets]`. A store file
/// that others can read, or that does not parse, is an error (exit 2) naming the file
/// and the fix; the stores are set up without it all the same.
pub fn init(paths: &Paths, config: &Config) -> Result<()> {
    let backend = Backend::from_env();
    let file = paths.home.join(FILE_NAME);
    let env_file = env_file_path(paths, config);
    let mut problems = Vec::new();
    let file_values = read_store(&file, false).unwrap_or_else(|e| {
        problems.push(e);
        BTreeMap::new()
    });
    let env_file_values = match &env_file {
        Some(p) => read_store(p, true).unwrap_or_else(|e| {
            problems.push(e.context("[secrets] env_file in the config"));
            BTreeMap::new()
        }),
        None => BTreeMap::new(),
    };
    let store = Store {
        backend: *backend.as_ref().unwrap_or(&Backend::File),
        file,
        env_file,
        file_values,
        env_file_values,
        keychain: Mutex::new(None),
        keychain_get: keychain::get,
    };
    if let Ok(mut s) = STORE.write() {
        *s = Some(Arc::new(store));
    }
    backend?;
    match problems.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A store file's variables: `{}` when it does not exist (unless `must_exist`); an
/// error when others can read it, it is not the user's, or a line does not parse.
fn read_store(path: &Path, must_exist: bool) -> Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(BTreeMap::new());
        }
        Err(e) => {
            return Err(usage(format!(
                "cannot read the key file {}: {e}",
                path.display()
            )));
        }
    };
    check_private(path)?;
    dotenv::parse_map(&text).map_err(|e| {
        usage(format!(
            "{} {e}: fix that line (NAME=value, one a line)",
            path.display()
        ))
    })
}

/// Refuses a key file that someone else could read or write (the fix: `chmod 600`).
pub fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(usage(format!(
            "{} holds keys but can be read by others (mode {mode:o}): astra will not use it. Fix: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(usage(format!(
            "{} holds keys but belongs to another user (uid {}): astra will not use it. Fix: chown $(id -u) {}",
            path.display(),
            meta.uid(),
            path.display()
        )));
    }
    Ok(())
}

/// The value of the secret `name` (trimmed), or `None` when it is unset or blank
/// everywhere.
pub fn get(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    from_environment(name).or_else(|| stored(name).map(|(v, _)| v))
}

fn from_environment(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The value of `name` as a scheduled run would find it: the stores only, not this
/// process's environment. Where it was found.
pub fn stored(name: &str) -> Option<(String, Source)> {
    if name.is_empty() {
        return None;
    }
    current()?.lookup(name)
}

impl Store {
    fn lookup(&self, name: &str) -> Option<(String, Source)> {
        let clean = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        if let Some(v) = self.in_keychain(name).as_deref().and_then(clean) {
            return Some((v, Source::Keychain));
        }
        if let Some(v) = self.file_values.get(name).and_then(|v| clean(v)) {
            return Some((v, Source::SecretsFile));
        }
        if let Some(v) = self.env_file_values.get(name).and_then(|v| clean(v)) {
            return Some((v, Source::EnvFile));
        }
        None
    }

    fn in_keychain(&self, name: &str) -> Option<String> {
        if self.backend == Backend::File {
            return None;
        }
        let mut state = self.keychain.lock().ok()?;
        if matches!(*state, Some(Err(_))) {
            return None;
        }
        match (self.keychain_get)(name, keychain::LOOKUP_TIMEOUT) {
            Ok(v) => {
                *state = Some(Ok(()));
                v
            }
            Err(why) => {
                tracing::debug!(reason = %why, "the keychain is not usable; using the key files");
                *state = Some(Err(why));
                None
            }
        }
    }
}

/// Why the keychain was found unusable in this process, if it was.
pub fn keychain_problem() -> Option<String> {
    let store = current()?;
    let state = store.keychain.lock().ok()?;
    match &*state {
        Some(Err(why)) => Some(why.0.clone()),
        _ => None,
    }
}

/// The file store's path and the env_file's, as set up by [`init`].
pub fn files() -> Option<(PathBuf, Option<PathBuf>)> {
    current().map(|s| (s.file.clone(), s.env_file.clone()))
}

/// Everywhere `name` is stored (not the environment), in lookup order.
pub fn locations(name: &str) -> Vec<Source> {
    let Some(store) = current() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if store.in_keychain(name).is_some() {
        out.push(Source::Keychain);
    }
    if store.file_values.contains_key(name) {
        out.push(Source::SecretsFile);
    }
    if store.env_file_values.contains_key(name) {
        out.push(Source::EnvFile);
    }
    out
}

/// Every name astra's own stores hold: the file store's and those astra put in the
/// keychain (the env_file is the user's, and holds settings as well as keys).
pub fn known_names(paths: &Paths) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = read_index(paths).into_iter().collect();
    if let Some(store) = current() {
        out.extend(store.file_values.keys().cloned());
    }
    out
}

fn index_path(paths: &Paths) -> PathBuf {
    paths.home.join(KEYCHAIN_INDEX)
}

fn read_index(paths: &Paths) -> Vec<String> {
    std::fs::read_to_string(index_path(paths))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| dotenv::valid_name(l))
        .map(String::from)
        .collect()
}

fn write_index(paths: &Paths, names: &BTreeSet<String>) -> Result<()> {
    let path = index_path(paths);
    if names.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let mut text = String::from("# names astra stored in the OS keychain (no values)\n");
    for n in names {
        text.push_str(n);
        text.push('\n');
    }
    crate::fsutil::atomic_write(&path, text.as_bytes(), 0o600)
        .with_context(|| format!("writing {}", path.display()))
}

/// Refuses a name that is not a variable name.
pub fn check_name(name: &str) -> Result<()> {
    if dotenv::valid_name(name) {
        Ok(())
    } else {
        Err(usage(format!(
            "{name:?} is not a secret name: use the variable's name, letters, digits and _ (e.g. NOTION_TOKEN)"
        )))
    }
}

/// Where `set` put a value.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub name: String,
    pub stored_in: Source,
    /// The file, for the file store.
    pub path: Option<PathBuf>,
    /// Why the keychain was not used, when it was not.
    pub keychain_problem: Option<String>,
}

const FILE_HEADER: &str = "astra's secret store: written by `astra secrets set`, read by every job run.\nKeep it private (chmod 600); astra refuses it when others can read it.";

/// Holds `secrets.env.lock` while the file store is read, changed and written.
fn lock_file_store(paths: &Paths) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    crate::fsutil::create_private_dir(&paths.home)?;
    let path = paths.home.join(format!("{FILE_NAME}.lock"));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(f)
}

/// Changes the file store under its lock: `change` gets its variables and says
/// whether it changed them.
fn edit_file_store(
    paths: &Paths,
    change: impl FnOnce(&mut BTreeMap<String, String>) -> bool,
) -> Result<bool> {
    let _lock = lock_file_store(paths)?;
    let path = paths.home.join(FILE_NAME);
    let mut values = read_store(&path, false)?;
    if !change(&mut values) {
        return Ok(false);
    }
    if values.is_empty() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        crate::fsutil::sync_parent(&path)?;
    } else {
        let text = dotenv::render(FILE_HEADER, &values);
        crate::fsutil::atomic_write(&path, text.as_bytes(), 0o600)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(true)
}

/// Stores `value` under `name`: in the keychain when it is usable (and the backend
/// allows), else in `secrets.env`. The other store's copy, if any, is removed so the
/// name lives in one place.
pub fn set(paths: &Paths, name: &str, value: &str) -> Result<Stored> {
    check_name(name)?;
    if value.trim().is_empty() {
        return Err(usage(format!("no value for {name}: nothing was stored")));
    }
    let backend = Backend::from_env()?;
    let mut problem = None;
    if backend != Backend::File {
        match keychain::set(name, value, keychain::CHANGE_TIMEOUT) {
            Ok(()) => {
                edit_file_store(paths, |v| v.remove(name).is_some())?;
                let mut names: BTreeSet<String> = read_index(paths).into_iter().collect();
                if names.insert(name.to_string()) {
                    write_index(paths, &names)?;
                }
                return Ok(Stored {
                    name: name.into(),
                    stored_in: Source::Keychain,
                    path: None,
                    keychain_problem: None,
                });
            }
            Err(why) if backend == Backend::Keychain => {
                return Err(usage(format!(
                    "{BACKEND_ENV}=keychain but {why}: unset it to use $ASTRA_HOME/{FILE_NAME} instead"
                )));
            }
            Err(why) => problem = Some(why.0),
        }
    }
    edit_file_store(paths, |v| {
        v.insert(name.to_string(), value.to_string()) != Some(value.to_string())
    })?;
    Ok(Stored {
        name: name.into(),
        stored_in: Source::SecretsFile,
        path: Some(paths.home.join(FILE_NAME)),
        keychain_problem: problem,
    })
}

/// Removes `name` from the keychain and `secrets.env` (never from the user's
/// env_file). Where it was removed from.
pub fn remove(paths: &Paths, name: &str) -> Result<Vec<Source>> {
    check_name(name)?;
    let backend = Backend::from_env()?;
    let mut out = Vec::new();
    if backend != Backend::File {
        let mut names: BTreeSet<String> = read_index(paths).into_iter().collect();
        match keychain::delete(name, keychain::CHANGE_TIMEOUT) {
            Ok(true) => out.push(Source::Keychain),
            Ok(false) => {}
            Err(why) if names.contains(name) => {
                return Err(anyhow::anyhow!(
                    "{name} is in the keychain but {why}: nothing was removed; try again where the keychain is unlocked"
                ));
            }
            Err(_) => {}
        }
        if names.remove(name) {
            write_index(paths, &names)?;
        }
    }
    if edit_file_store(paths, |v| v.remove(name).is_some())? {
        out.push(Source::SecretsFile);
    }
    Ok(out)
}

/// A secret the config needs: any one of `names` will do.
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    pub names: Vec<String>,
    /// What uses it (`Notion sync`, `transcription API`).
    pub used_by: String,
    /// `false`: used only when present (a local server needs no key; `auto` uses
    /// OpenAI only when its key is there).
    pub required: bool,
}

/// Every secret `config` names, with what uses it.
pub fn needed(config: &Config) -> Vec<Need> {
    use crate::config::{OrganizationProvider, SummaryProvider, SyncTarget, TranscriptionProvider};
    let mut out: Vec<Need> = Vec::new();
    let mut add = |raw_names: &[&str], used_by: &str, required: bool| {
        let mut names: Vec<String> = Vec::new();
        for n in raw_names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        }
        if names.is_empty() {
            return;
        }
        if let Some(n) = out.iter_mut().find(|n| n.names == names) {
            n.required |= required;
            n.used_by = format!("{}, {used_by}", n.used_by);
        } else {
            out.push(Need {
                names,
                used_by: used_by.into(),
                required,
            });
        }
    };
    let openai_host = |url: &str| url.contains("api.openai.com");
    let t = &config.transcription;
    match t.provider {
        TranscriptionProvider::Openai => {
            add(&[&t.api_key_env], "transcription", openai_host(&t.base_url))
        }
        TranscriptionProvider::Auto => add(&[&t.api_key_env], "transcription (auto)", false),
        _ => {}
    }
    if t.provider == TranscriptionProvider::Gemini {
        let google = crate::config::GOOGLE_KEY_ENV;
        add(&[&t.api_key_env, google], "transcription (Gemini)", true);
    }
    let o = &config.organization;
    if o.provider == OrganizationProvider::Openai {
        add(&[&o.api_key_env], "organization", openai_host(&o.base_url));
    }
    if o.provider == OrganizationProvider::Gemini {
        let google = crate::config::GOOGLE_KEY_ENV;
        add(&[&o.api_key_env, google], "organization (Gemini)", true);
    }
    if config.journal.summary_provider == SummaryProvider::Gemini {
        let j = config.journal_gemini();
        let google = crate::config::GOOGLE_KEY_ENV;
        add(&[&j.api_key_env, google], "journal summary (Gemini)", true);
    }
    if config.journal.summary_provider == SummaryProvider::Openai {
        let j = config.journal_llm();
        add(
            &[&j.api_key_env],
            "journal summary",
            openai_host(&j.base_url),
        );
    }
    if config.sync.target == SyncTarget::Notion {
        let n = &config.sync.notion;
        add(
            &[&n.token_env, crate::clients::notion::FALLBACK_TOKEN_ENV],
            "Notion sync",
            true,
        );
    }
    let a = &config.alerts;
    for (var, what) in [
        (&a.slack_webhook_env, "Slack alerts"),
        (&a.discord_webhook_env, "Discord alerts"),
        (&a.webhook_env, "webhook alerts"),
        (&a.healthcheck_url_env, "health-check pings"),
        (&a.smtp_username_env, "email alerts"),
        (&a.smtp_password_env, "email alerts"),
    ] {
        add(&[var], what, true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn store(dir: &Path, kc: KeychainGet, backend: Backend) -> Store {
        let file = dir.join(FILE_NAME);
        let env_file = dir.join(".env");
        Store {
            backend,
            file_values: read_store(&file, false).unwrap(),
            env_file_values: read_store(&env_file, false).unwrap(),
            file,
            env_file: Some(env_file),
            keychain: Mutex::new(None),
            keychain_get: kc,
        }
    }

    fn private(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn kc_has(name: &str, _: std::time::Duration) -> Result<Option<String>, keychain::Unusable> {
        Ok((name == "IN_KEYCHAIN" || name == "EVERYWHERE").then(|| "from-keychain".to_string()))
    }

    fn kc_dead(_: &str, _: std::time::Duration) -> Result<Option<String>, keychain::Unusable> {
        Err(keychain::Unusable("no bus".into()))
    }

    #[test]
    fn keychain_then_secrets_file_then_env_file() {
        let dir = tempfile::tempdir().unwrap();
        private(
            &dir.path().join(FILE_NAME),
            "IN_FILE=from-file\nEVERYWHERE=from-file\nBLANK=  \n",
        );
        private(
            &dir.path().join(".env"),
            "IN_ENV_FILE=from-env-file\nIN_FILE=shadowed\nBLANK=also-env-file",
        );
        let s = store(dir.path(), kc_has, Backend::Auto);
        let got = |n: &str| s.lookup(n);
        assert_eq!(
            got("EVERYWHERE"),
            Some(("from-keychain".into(), Source::Keychain))
        );
        assert_eq!(
            got("IN_FILE"),
            Some(("from-file".into(), Source::SecretsFile))
        );
        assert_eq!(
            got("IN_ENV_FILE"),
            Some(("from-env-file".into(), Source::EnvFile))
        );
        assert_eq!(
            got("BLANK"),
            Some(("also-env-file".into(), Source::EnvFile))
        );
        assert_eq!(got("NOWHERE"), None);
        let file_only = store(dir.path(), kc_has, Backend::File);
        assert_eq!(
            file_only.lookup("EVERYWHERE"),
            Some(("from-file".into(), Source::SecretsFile))
        );
    }

    #[test]
    fn a_dead_keychain_is_asked_once_then_the_files_answer() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn counting(_: &str, _: std::time::Duration) -> Result<Option<String>, keychain::Unusable> {
            CALLS.fetch_add(1, Ordering::SeqCst);
            Err(keychain::Unusable("no bus".into()))
        }
        let dir = tempfile::tempdir().unwrap();
        private(&dir.path().join(FILE_NAME), "A=1\nB=2\n");
        let s = store(dir.path(), counting, Backend::Auto);
        assert_eq!(s.lookup("A").unwrap().1, Source::SecretsFile);
        assert_eq!(s.lookup("B").unwrap().1, Source::SecretsFile);
        assert_eq!(s.lookup("C"), None);
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        let s = store(dir.path(), kc_dead, Backend::Auto);
        assert_eq!(s.lookup("A").unwrap().0, "1");
    }

    #[test]
    fn a_key_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, "A=sk-VALUE\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = format!("{:#}", read_store(&p, false).unwrap_err());
        assert!(e.contains("mode 644"), "{e}");
        assert!(e.contains(&format!("chmod 600 {}", p.display())), "{e}");
        assert!(!e.contains("sk-VALUE"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(read_store(&p, false).is_err());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_store(&p, false).unwrap()["A"], "sk-VALUE");
        let missing = dir.path().join("nope.env");
        assert!(read_store(&missing, false).unwrap().is_empty());
        assert!(read_store(&missing, true).is_err());
    }

    #[test]
    fn a_bad_line_names_the_file_and_line_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        private(&p, "A=1\nB=\"sk-UNCLOSED\n");
        let e = format!("{:#}", read_store(&p, true).unwrap_err());
        assert!(e.contains(".env line 2"), "{e}");
        assert!(!e.contains("sk-UNCLOSED"), "{e}");
    }

    #[test]
    fn the_config_names_what_it_needs() {
        let c = Config::parse(
            "[sync]\ntarget = \"notion\"\n[organization]\nprovider = \"openai\"\n[alerts]\nslack_webhook_env = \"SLACK_URL\"\n",
            Path::new("c"),
        )
        .unwrap();
        let n = needed(&c);
        let names: Vec<_> = n.iter().map(|n| n.names.join("|")).collect();
        assert_eq!(
            names,
            ["OPENAI_API_KEY", "NOTION_TOKEN|NOTION_API_KEY", "SLACK_URL"]
        );
        assert!(n[0].required, "{n:?}");
        assert_eq!(n[0].used_by, "transcription (auto), organization");
    }
}
