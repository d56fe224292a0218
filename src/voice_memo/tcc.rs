//! macOS privacy (TCC): Voice Memos' folder can be listed only by a program that has
//! Full Disk Access. The grant belongs to the executable's path, so a reinstall or a
//! Homebrew upgrade that moves the binary silently loses it; cron runs
//! `/usr/sbin/cron`'s children, launchd the binary named in the agent's plist.
use std::path::{Path, PathBuf};

/// Whether `inbox` is inside Voice Memos' group container (TCC-protected).
pub fn is_apple_folder(inbox: &Path) -> bool {
    inbox
        .to_string_lossy()
        .contains("group.com.apple.VoiceMemos")
}

/// The `voice-memo` binary scheduled runs start (beside the running program), and
/// its real path when that is a symlink (Homebrew's `bin/` links into the Cellar).
pub fn voice_memo_binaries() -> Vec<PathBuf> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let bin = exe.with_file_name("voice-memo");
    let mut out = vec![bin.clone()];
    if let Ok(real) = std::fs::canonicalize(&bin)
        && real != bin
    {
        out.push(real);
    }
    out
}

/// What to do when listing Voice Memos' folder is refused (EPERM).
pub fn full_disk_access_hint(binaries: &[PathBuf]) -> String {
    let names: Vec<String> = binaries.iter().map(|b| b.display().to_string()).collect();
    let bin = if names.is_empty() {
        "the voice-memo binary".to_string()
    } else {
        names.join(" (a link to ") + &")".repeat(names.len() - 1)
    };
    format!(
        "macOS privacy protection refuses the listing until the program has Full Disk Access: System Settings → Privacy & Security → Full Disk Access → + → add {bin} (what launchd runs; the grant is tied to that path, so add it again after a reinstall or `brew upgrade` moves it); for cron add /usr/sbin/cron; for runs by hand, your terminal app"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_binary() {
        let h = full_disk_access_hint(&[
            PathBuf::from("/opt/homebrew/bin/voice-memo"),
            PathBuf::from("/opt/homebrew/Cellar/astra/1.0/bin/voice-memo"),
        ]);
        assert!(
            h.contains("/opt/homebrew/bin/voice-memo (a link to /opt/homebrew/Cellar/astra/1.0/bin/voice-memo)"),
            "{h}"
        );
        assert!(h.contains("/usr/sbin/cron") && h.contains("Full Disk Access"));
        assert!(is_apple_folder(Path::new(
            "/Users/a/Library/Group Containers/group.com.apple.VoiceMemos.shared/Recordings"
        )));
    }
}
