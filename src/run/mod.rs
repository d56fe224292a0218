//! One job run, from start to exit code.
//!
//! - [`lifecycle`]: what every job run shares: config, pause and enabled checks, the job
//!   lock, logging, history, the stderr summary and the exit code. A job supplies its body.
//! - [`result`]: the run result (`--json`, history lines) and its stats and items.
//! - [`history`]: `history.jsonl`, appended under its lock; read back and cleaned.
//! - [`record`]: `locks/<program>.run`, the running record that tells a dead run.
//! - [`stop`]: SIGINT/SIGTERM and `timeout_seconds`: stopping a run cleanly.
pub mod history;
pub mod lifecycle;
pub mod record;
pub mod result;
pub mod stop;
