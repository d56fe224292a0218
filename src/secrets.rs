//! Secrets by name: every `*_env` key in config.toml names one.
//!
//! [`get`] is the one place a secret's value is looked up. Today it reads the process
//! environment; the secret store (keychain, `secrets.env`, `[secrets] env_file`) plugs
//! in behind it, so callers never read `std::env` for a key themselves.

/// The value of the secret `name` (trimmed), or `None` when it is unset or blank.
pub fn get(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
