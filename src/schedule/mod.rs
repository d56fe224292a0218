//! Schedules: cron expressions with Debian semantics, and the crontab, launchd and
//! systemd renderings that `astra schedule` prints and installs.
pub mod cron;
pub mod crontab;
pub mod describe;
pub mod entry;
pub mod examples;
pub mod fields;
pub mod install;
pub mod launchd;
pub mod systemd;
pub mod zone;

pub use cron::CronSchedule;
pub use entry::Entry;
pub use zone::{local_zone, parse_zone};

#[cfg(test)]
mod oracle;
