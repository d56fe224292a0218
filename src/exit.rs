//! Exit codes, named in one place (the contract's table).
//!
//! `UsageError` marks an error that is the user's to fix (exit 2).
use std::fmt;

/// The run completed: work done, nothing to do, paused, disabled, or skipped.
pub const OK: u8 = 0;
/// The run finished but at least one item failed, or the job itself failed.
pub const FAILED: u8 = 1;
/// Usage or configuration error: the message says what to fix.
pub const USAGE: u8 = 2;

/// An error the user must fix (bad config, unreadable state, bad flag): exit 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds an `anyhow::Error` that maps to exit code 2.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The exit code for an error that ended a run: 2 if any cause is a [`UsageError`].
pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|c| c.is::<UsageError>()) {
        USAGE
    } else {
        FAILED
    }
}
