//! Per-item errors, classified so the pipeline knows whether a retry can help.
use std::fmt;

/// Why one memo could not go on. The message says which file, what is wrong and,
/// where it can, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemError {
    /// Worth retrying later: a network fault, a file still syncing, no transcriber yet.
    Transient(String),
    /// A retry will not help: bytes that are not audio, a symlink out of the inbox.
    Permanent(String),
    /// The run is stopping (signal or timeout): the memo resumes next run, and this
    /// attempt does not count.
    Interrupted(String),
    /// Not the memo's fault and no fault of astra's: a service's rate limit, an
    /// account out of quota. The memo waits for a later run; this attempt does not
    /// count.
    Deferred(String),
}

impl ItemError {
    pub fn transient(msg: impl Into<String>) -> Self {
        ItemError::Transient(msg.into())
    }
    pub fn permanent(msg: impl Into<String>) -> Self {
        ItemError::Permanent(msg.into())
    }
    pub fn deferred(msg: impl Into<String>) -> Self {
        ItemError::Deferred(msg.into())
    }
    pub fn message(&self) -> &str {
        match self {
            ItemError::Transient(m)
            | ItemError::Permanent(m)
            | ItemError::Interrupted(m)
            | ItemError::Deferred(m) => m,
        }
    }
    pub fn is_deferred(&self) -> bool {
        matches!(self, ItemError::Deferred(_))
    }
    pub fn is_permanent(&self) -> bool {
        matches!(self, ItemError::Permanent(_))
    }
    pub fn is_interrupted(&self) -> bool {
        matches!(self, ItemError::Interrupted(_))
    }
    /// An `Interrupted` error when the run has been asked to stop.
    pub fn check_stop() -> Result<(), ItemError> {
        match crate::run::stop::should_stop() {
            Some(stop) => Err(ItemError::Interrupted(crate::run::stop::describe(stop))),
            None => Ok(()),
        }
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ItemError {}

/// Any I/O or other error becomes a transient item error with its whole chain.
impl From<anyhow::Error> for ItemError {
    fn from(e: anyhow::Error) -> Self {
        match crate::fsutil::io_hint(&e) {
            Some(hint) => ItemError::Transient(format!("{e:#}. {hint}")),
            None => ItemError::Transient(format!("{e:#}")),
        }
    }
}
