//! Where everything lives: `ASTRA_HOME` (default `~/.astra`) and the files under it.
//!
//! Precedence for each path: flag > environment (`ASTRA_HOME`, `ASTRA_CONFIG`,
//! `STATE_FILE`, `LOG_FILE`) > default under `ASTRA_HOME`.
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The resolved locations of astra's files.
#[derive(Debug, Clone)]
pub struct Paths {
    pub home: PathBuf,
    pub config: PathBuf,
    /// The config was named (`--config` or `ASTRA_CONFIG`): it must exist. Only the
    /// default location may be absent (then the defaults apply).
    pub config_named: bool,
    pub state: PathBuf,
    /// `LOG_FILE` when set: every job logs to this one file instead of `logs/<job>.log`.
    pub log_file: Option<PathBuf>,
    pub logs: PathBuf,
    pub history: PathBuf,
    pub locks: PathBuf,
    pub cache: PathBuf,
    pub failed: PathBuf,
    pub invalid: PathBuf,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| expand_tilde(Path::new(&v)))
}

/// The user's home directory (from `$HOME`, else the platform's lookup).
pub fn user_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
}

/// Expands a leading `~` or `~/` to the user's home directory.
pub fn expand_tilde(p: &Path) -> PathBuf {
    let Some(s) = p.to_str() else {
        return p.to_path_buf();
    };
    if s == "~" {
        return user_home().unwrap_or_else(|| p.to_path_buf());
    }
    if let Some(rest) = s.strip_prefix("~/")
        && let Some(home) = user_home()
    {
        return home.join(rest);
    }
    p.to_path_buf()
}

/// Makes a folder private (0700) when others can read or enter it: state, logs and
/// transcripts live here.
fn restrict(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700 | 0o700))
            .with_context(|| format!("making {} private (chmod 700)", dir.display()))?;
    }
    Ok(())
}

impl Paths {
    /// Resolves every path from the environment; `config_flag` is `--config`.
    pub fn resolve(config_flag: Option<&Path>) -> Result<Paths> {
        let home = match env_path("ASTRA_HOME") {
            Some(h) => h,
            None => user_home()
                .context("cannot find your home directory: set HOME or ASTRA_HOME")?
                .join(".astra"),
        };
        Ok(Self::under(home, config_flag))
    }

    /// The paths under `home`, with the env overrides for config, state and log file.
    pub fn under(home: PathBuf, config_flag: Option<&Path>) -> Paths {
        let named = config_flag
            .map(expand_tilde)
            .or_else(|| env_path("ASTRA_CONFIG"));
        let config_named = named.is_some();
        let config = named.unwrap_or_else(|| home.join("config.toml"));
        let state = env_path("STATE_FILE").unwrap_or_else(|| home.join("state.json"));
        Paths {
            config,
            config_named,
            state,
            log_file: env_path("LOG_FILE"),
            logs: home.join("logs"),
            history: home.join("history.jsonl"),
            locks: home.join("locks"),
            cache: home.join("cache"),
            failed: home.join("failed"),
            invalid: home.join("invalid"),
            home,
        }
    }

    /// Creates `ASTRA_HOME` (mode 0700) and the folders a run writes to.
    pub fn ensure_dirs(&self) -> Result<()> {
        crate::fsutil::create_private_dir(&self.home)?;
        restrict(&self.home)?;
        for d in [&self.locks, &self.logs, &self.cache] {
            crate::fsutil::create_private_dir(d)?;
        }
        Ok(())
    }

    /// The job's lock file, `locks/<program>.lock`.
    pub fn job_lock(&self, program: &str) -> PathBuf {
        self.locks.join(format!("{program}.lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_expands_only_at_the_start() {
        let home = user_home().expect("home");
        assert_eq!(expand_tilde(Path::new("~/x/y")), home.join("x/y"));
        assert_eq!(expand_tilde(Path::new("~")), home);
        assert_eq!(expand_tilde(Path::new("/a/~/b")), PathBuf::from("/a/~/b"));
        assert_eq!(
            expand_tilde(Path::new("~other/x")),
            PathBuf::from("~other/x")
        );
    }
}
