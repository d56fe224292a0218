//! The first hour of a new user (issue 13): each thing that tripped one up, as a test.
use crate::harness::Test;

/// A config named by `--config` or `ASTRA_CONFIG` that does not exist is exit 2 naming
/// the path; only the default location may be absent.
#[test]
fn a_named_config_that_is_missing_is_a_usage_error() {
    let t = Test::new();
    let missing = t.dir.path().join("no-such.toml");
    let m = missing.to_str().unwrap();
    let r = t.run("voice-memo", &["--config", m]);
    r.code_is(2);
    assert!(r.stderr().contains(m), "{}", r.stderr());
    assert!(r.stderr().contains("does not exist"), "{}", r.stderr());
    let r = t
        .command("astra")
        .env("ASTRA_CONFIG", m)
        .arg("doctor")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("✗ config: config file {m} does not exist")),
        "{out}"
    );
    // The default location may be absent: defaults, exit 0.
    let fresh = Test::new().own_config("");
    std::fs::remove_file(fresh.home.join("config.toml")).unwrap();
    fresh.run("voice-memo", &[]).success();
}

/// `voice-memo -v 2>&1 | cat` (stderr not a terminal) has no colour codes: they would
/// land in cron mail.
#[test]
fn no_colour_codes_when_stderr_is_not_a_terminal() {
    let t = Test::new().memo("a.wav", "note plain text for cron mail");
    let r = t.run("voice-memo", &["-v"]);
    r.success();
    assert!(r.stderr().contains("INFO"), "{}", r.stderr());
    assert!(!r.stderr().contains('\u{1b}'), "{:?}", r.stderr());
}
