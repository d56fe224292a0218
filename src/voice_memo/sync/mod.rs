//! Sync: writes a memo's organized output to its destination.
//!
//! Every piece written carries the memo's id, so writing is idempotent: a rerun, or a
//! retry after a crash between two writes, finds the piece and does not write it again.
pub mod markdown;

use crate::state::Outputs;
use crate::voice_memo::Memo;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::organize::Organization;

/// One sync target (`sync.target`).
pub trait SyncTarget: Send + Sync {
    fn name(&self) -> &'static str;
    /// Writes what is not written yet; returns where every piece is.
    fn sync(&self, memo: &Memo, org: &Organization) -> Result<Outputs, ItemError>;
}
