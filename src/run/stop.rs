//! Stopping a run cleanly: SIGINT/SIGTERM and the job's `timeout_seconds` both ask
//! the run to finish its current atomic step, save state and stop.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Why a run is stopping early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM.
    Signal,
    /// The job's `timeout_seconds` ran out.
    Timeout,
}

const NONE: u8 = 0;
const SIGNAL: u8 = 1;
const TIMEOUT: u8 = 2;

static STOP: AtomicU8 = AtomicU8::new(NONE);
static DEADLINE: Mutex<Option<(Instant, u64)>> = Mutex::new(None);

fn deadline() -> Option<(Instant, u64)> {
    DEADLINE.lock().ok().and_then(|d| *d)
}

extern "C" fn on_signal(_sig: libc::c_int) {
    // A second signal means "now": leave at once (async-signal-safe).
    if STOP.swap(SIGNAL, Ordering::SeqCst) == SIGNAL {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// Routes SIGINT and SIGTERM to the stop flag.
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installing a handler that only touches an atomic (and _exit).
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// The run must end by `timeout` from now (measured on the monotonic clock).
pub fn set_timeout(timeout: Duration) {
    if let Ok(mut d) = DEADLINE.lock() {
        *d = Some((Instant::now() + timeout, timeout.as_secs()));
    }
    let _ = STOP.compare_exchange(TIMEOUT, NONE, Ordering::SeqCst, Ordering::SeqCst);
}

/// The configured timeout in seconds, if one is set.
pub fn timeout_secs() -> Option<u64> {
    deadline().map(|(_, s)| s)
}

/// Whether the run should stop now, and why.
pub fn should_stop() -> Option<Stop> {
    match STOP.load(Ordering::SeqCst) {
        SIGNAL => return Some(Stop::Signal),
        TIMEOUT => return Some(Stop::Timeout),
        _ => {}
    }
    if deadline().is_some_and(|(d, _)| Instant::now() >= d) {
        let _ = STOP.compare_exchange(NONE, TIMEOUT, Ordering::SeqCst, Ordering::SeqCst);
        return Some(Stop::Timeout);
    }
    None
}

/// Time left before the deadline (`None`: no deadline).
pub fn remaining() -> Option<Duration> {
    deadline().map(|(d, _)| d.saturating_duration_since(Instant::now()))
}

/// A sentence for messages.
pub fn describe(stop: Stop) -> String {
    match stop {
        Stop::Signal => "interrupted by a signal (SIGINT/SIGTERM)".into(),
        Stop::Timeout => format!(
            "timed out after {} s (timeout_seconds)",
            timeout_secs().unwrap_or(0)
        ),
    }
}
