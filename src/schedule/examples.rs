//! The committed examples (`launchd/*.plist`, `crontab.example`), rendered by the same
//! code as `astra schedule install`; a test fails when the files drift from it.
use super::entry::example_entries;
use super::{crontab, launchd};
use anyhow::Result;

/// Each example file (relative to the repository root) and its rendered text.
pub fn rendered() -> Result<Vec<(String, String)>> {
    let entries = example_entries();
    let mut out = Vec::new();
    for e in &entries {
        let path = format!("launchd/{}.plist", launchd::label(&e.program));
        out.push((path, launchd::render(e)?));
    }
    out.push(("crontab.example".to_string(), crontab::example(&entries)?));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `ASTRA_UPDATE_EXAMPLES=1 cargo test --lib schedule::examples` rewrites them.
    #[test]
    fn committed_examples_match_the_renderers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let update = std::env::var("ASTRA_UPDATE_EXAMPLES").is_ok_and(|v| v == "1");
        for (rel, text) in rendered().unwrap() {
            let path = root.join(&rel);
            if update {
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "{rel} differs from what src/schedule renders; regenerate it with \
                 `ASTRA_UPDATE_EXAMPLES=1 cargo test --lib schedule::examples` and review the diff"
            );
        }
    }
}
