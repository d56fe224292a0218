//! astra: one-shot personal automation jobs.
//!
//! Map of the crate:
//! - [`config`]: `config.toml`, defaults, env overrides, validation.
//! - [`paths`]: where everything lives under `ASTRA_HOME`.
//! - [`state`]: `state.json` — locked read-modify-write, atomic saves, legacy upgrade.
//! - [`run`]: one job run, shared by every job: pause, enabled, job lock, logging, history, exit code.
//! - [`voice_memo`]: the voice-memo pipeline (watch → transcribe → organize → sync → archive).
//! - [`journal`]: the journal job (daily summaries, weekly review).
//! - [`fsutil`]: atomic writes and durable copies.
pub mod alerts;
pub mod cli;
pub mod clients;
pub mod config;
pub mod config_edit;
pub mod exit;
pub mod fsutil;
pub mod init;
pub mod jobs;
pub mod journal;
pub mod logging;
pub mod migrate;
pub mod models;
pub mod paths;
pub mod process;
pub mod run;
pub mod schedule;
pub mod secrets;
pub mod state;
pub mod voice_memo;
