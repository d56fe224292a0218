//! Sync: writes a memo's organized output to its destination.
//!
//! Every piece written carries the memo's id, so writing is idempotent: a rerun, or a
//! retry after a crash between two writes, finds the piece and does not write it again.
pub mod markdown;
pub mod notion;

use crate::state::Outputs;
use crate::voice_memo::Memo;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::organize::Organization;

/// Saves outputs to state as soon as they exist (a page created, an entry appended),
/// so a crash right after never loses track of them.
pub type Progress<'a> = dyn FnMut(&Outputs) -> Result<(), ItemError> + 'a;

/// One sync target (`sync.target`).
pub trait SyncTarget: Send + Sync {
    fn name(&self) -> &'static str;
    /// The categories a note may have (the Notes database's select options).
    fn categories(&self) -> Result<Vec<String>, ItemError> {
        Ok(crate::voice_memo::organize::DEFAULT_CATEGORIES
            .iter()
            .map(|c| c.to_string())
            .collect())
    }
    /// Called with the memos of a pass (file name, recorded at) before any is synced:
    /// a target may look up what exists for all of them at once.
    fn prefetch(&self, _memos: &[(String, chrono::DateTime<chrono::FixedOffset>)]) {}
    /// Writes what is not written yet; returns where every piece is. `previous` holds
    /// the outputs an earlier, interrupted attempt recorded; `progress` is called
    /// with the outputs so far after each remote write.
    fn sync(
        &self,
        memo: &Memo,
        org: &Organization,
        previous: &Outputs,
        progress: &mut Progress<'_>,
    ) -> Result<Outputs, ItemError>;
}
