//! The job registry: every job astra knows, read by the job programs, the `astra` CLI
//! and the schedule renderers. Adding a job is one module and one line in [`JOBS`].

/// What astra knows about one job.
#[derive(Debug, PartialEq, Eq)]
pub struct JobInfo {
    /// The name in state, history and `[jobs.<name>]` (`voiceMemo`).
    pub name: &'static str,
    /// The program that runs it (`voice-memo`); also accepted as a name.
    pub program: &'static str,
    pub description: &'static str,
    /// Cron expression used when `[jobs.<name>] schedule` is not set.
    pub default_schedule: &'static str,
    pub default_timeout_seconds: u64,
    /// Jobs whose running instance this one waits for.
    pub after: &'static [&'static str],
    /// What its section of state.json holds (for `astra jobs show`).
    pub state_shape: &'static str,
}

pub const VOICE_MEMO: JobInfo = JobInfo {
    name: "voiceMemo",
    program: "voice-memo",
    description: "Voice memos into TODOs, notes and journal entries",
    default_schedule: "*/5 * * * *",
    default_timeout_seconds: 3600,
    after: &[],
    state_shape: "items by file name (status, stage, attempts, outputs) and the failed list",
};

pub const JOURNAL: JobInfo = JobInfo {
    name: "journalProcessing",
    program: "journal",
    description: "Daily summaries of the journal (mood, themes, insights)",
    default_schedule: "0 21 * * *",
    default_timeout_seconds: 1800,
    after: &["voiceMemo"],
    state_shape: "lastRun and the days summarised",
};

/// Every job, in the order they are listed.
pub const JOBS: &[&JobInfo] = &[&VOICE_MEMO, &JOURNAL];

/// A job by its state name or program name (`voiceMemo` or `voice-memo`).
pub fn find(name: &str) -> Option<&'static JobInfo> {
    JOBS.iter()
        .copied()
        .find(|j| j.name == name || j.program == name)
}

/// Every accepted spelling of every job name (for error messages).
pub fn all_names() -> Vec<String> {
    JOBS.iter()
        .flat_map(|j| [j.name.to_string(), j.program.to_string()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_find_the_job() {
        assert_eq!(find("voiceMemo"), Some(&VOICE_MEMO));
        assert_eq!(find("voice-memo"), Some(&VOICE_MEMO));
        assert_eq!(find("journal"), Some(&JOURNAL));
        assert_eq!(find("journalProcessing"), Some(&JOURNAL));
        assert_eq!(find("nope"), None);
    }

    #[test]
    fn default_schedules_parse() {
        // Config validation skips the defaults on the strength of this.
        for job in JOBS {
            crate::schedule::CronSchedule::parse(job.default_schedule).unwrap();
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names = all_names();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
