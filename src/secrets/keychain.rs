//! The OS keychain through the `keyring` crate: the macOS Keychain, or the Secret
//! Service (GNOME Keyring, KWallet) on Linux. Entries are service `astra`, account the
//! variable's name.
//!
//! Every call runs on its own thread with a time limit: a keychain that is locked and
//! waits for a password prompt nobody answers (cron, a server) must not hang a run.
//! An error or a timeout means "no usable keychain" and the caller falls back to the
//! file store.
use std::sync::mpsc;
use std::time::Duration;

/// The keychain service astra's entries are filed under.
pub const SERVICE: &str = "astra";

/// A lookup, while a job runs.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// `astra secrets set`/`rm`: a person may have to answer the system's prompt.
pub const CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The keychain could not be used: why, in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs `f` on a thread; gives up after `limit` (the thread is left to finish alone).
fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> Result<T, Unusable> + Send + 'static,
) -> Result<T, Unusable> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return Err(Unusable("could not start a thread for the keychain".into()));
    }
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => Err(Unusable(format!(
            "the keychain did not answer within {}s (locked?)",
            limit.as_secs()
        ))),
    }
}

#[cfg(any(target_os = "macos", target_os = "linux"))]
mod platform {
    use super::{SERVICE, Unusable};

    fn entry(name: &str) -> Result<keyring::Entry, Unusable> {
        keyring::Entry::new(SERVICE, name).map_err(|e| Unusable(describe(&e)))
    }

    /// The error without anything that could be a value (keyring's errors hold none,
    /// but its platform errors are passed through as text: keep them short).
    fn describe(e: &keyring::Error) -> String {
        match e {
            keyring::Error::PlatformFailure(p) | keyring::Error::NoStorageAccess(p) => {
                let s = p.to_string();
                if s.contains("DBUS_SESSION_BUS_ADDRESS") || s.contains("autolaunch") {
                    return "no usable keychain: no D-Bus session (cron, a server or CI)".into();
                }
                if s.contains("ServiceUnknown") || s.contains("not provided by any .service") {
                    return "no usable keychain: no Secret Service running (GNOME Keyring, KWallet)"
                        .into();
                }
                let short: String = s.chars().take(160).collect();
                format!("no usable keychain: {short}")
            }
            other => format!("keychain: {other}"),
        }
    }

    pub fn get(name: &str) -> Result<Option<String>, Unusable> {
        match entry(name)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(Unusable(describe(&e))),
        }
    }

    pub fn set(name: &str, value: &str) -> Result<(), Unusable> {
        entry(name)?
            .set_password(value)
            .map_err(|e| Unusable(describe(&e)))
    }

    pub fn delete(name: &str) -> Result<bool, Unusable> {
        match entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(Unusable(describe(&e))),
        }
    }
}

#[cfg(not(any(target_os = "macos", target_os = "linux")))]
mod platform {
    use super::Unusable;
    fn none<T>() -> Result<T, Unusable> {
        Err(Unusable("no keychain support on this system".into()))
    }
    pub fn get(_: &str) -> Result<Option<String>, Unusable> {
        none()
    }
    pub fn set(_: &str, _: &str) -> Result<(), Unusable> {
        none()
    }
    pub fn delete(_: &str) -> Result<bool, Unusable> {
        none()
    }
}

/// The value stored under `name`, `None` when there is no such entry.
pub fn get(name: &str, limit: Duration) -> Result<Option<String>, Unusable> {
    let name = name.to_string();
    bounded(limit, move || platform::get(&name))
}

/// Stores `value` under `name` (replacing any).
pub fn set(name: &str, value: &str, limit: Duration) -> Result<(), Unusable> {
    let (name, value) = (name.to_string(), value.to_string());
    bounded(limit, move || platform::set(&name, &value))
}

/// Removes `name`'s entry; whether there was one.
pub fn delete(name: &str, limit: Duration) -> Result<bool, Unusable> {
    let name = name.to_string();
    bounded(limit, move || platform::delete(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_hangs_gives_up_in_time() {
        let t = std::time::Instant::now();
        let r: Result<(), Unusable> = bounded(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        });
        assert!(r.unwrap_err().0.contains("did not answer"));
        assert!(t.elapsed() < Duration::from_secs(2));
    }
}
