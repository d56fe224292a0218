//! `astra schedule`: explain, and print/install/uninstall against fake `crontab`,
//! `launchctl` and `systemctl` programs that record their calls.
use crate::harness::Test;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const FAKE_CRONTAB: &str = r#"#!/bin/sh
echo "crontab $*" >> "$FAKE_DIR/calls"
case "$1" in
  -l) if [ -f "$FAKE_DIR/crontab" ]; then cat "$FAKE_DIR/crontab"; else echo "no crontab for you" >&2; exit 1; fi ;;
  -) cat > "$FAKE_DIR/crontab" ;;
  *) echo "usage" >&2; exit 2 ;;
esac
"#;

const FAKE_LAUNCHCTL: &str = r#"#!/bin/sh
echo "launchctl $*" >> "$FAKE_DIR/calls"
case "$1" in
  bootstrap) touch "$FAKE_DIR/loaded-$(basename "$3")" ;;
  bootout)
    label=$(basename "$2")
    if [ -f "$FAKE_DIR/loaded-$label.plist" ]; then rm "$FAKE_DIR/loaded-$label.plist"
    else echo "Boot-out failed: 3: No such process" >&2; exit 3; fi ;;
esac
"#;

const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "systemctl $*" >> "$FAKE_DIR/calls"
"#;

/// A test whose PATH starts with the fake schedulers, and whose job binaries are
/// said to live in /opt/astra/bin.
pub(crate) fn scheduled() -> (Test, PathBuf) {
    let t = Test::new();
    let fake = t.dir.path().join("fake");
    let bin = fake.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for (name, script) in [
        ("crontab", FAKE_CRONTAB),
        ("launchctl", FAKE_LAUNCHCTL),
        ("systemctl", FAKE_SYSTEMCTL),
    ] {
        let p = bin.join(name);
        fs::write(&p, script).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t = t
        .env("PATH", &path)
        .env("FAKE_DIR", &fake.to_string_lossy())
        .env("ASTRA_BIN_DIR", "/opt/astra/bin");
    (t, fake)
}

fn calls(fake: &Path) -> Vec<String> {
    fs::read_to_string(fake.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

#[test]
fn cron_install_is_idempotent_and_leaves_other_lines_alone() {
    let (t, fake) = scheduled();
    let mine = "MAILTO=me@example.com\n# my backup\n0 7 * * * /usr/bin/backup --all\n";
    fs::write(fake.join("crontab"), mine).unwrap();

    t.run("astra", &["schedule", "install", "--cron"]).success();
    let once = fs::read_to_string(fake.join("crontab")).unwrap();
    t.run("astra", &["schedule", "install", "--cron"]).success();
    let twice = fs::read_to_string(fake.join("crontab")).unwrap();
    assert_eq!(once, twice, "a second install changes nothing");
    assert!(once.starts_with(mine), "{once}");
    assert_eq!(once.matches("# BEGIN astra").count(), 1);
    let home = t.home.display().to_string();
    assert!(
        once.contains(&format!(" ASTRA_HOME={home} /opt/astra/bin/voice-memo\n")),
        "{once}"
    );
    assert!(once.contains("*/5 * * * * PATH=/opt/astra/bin:"), "{once}");
    assert!(once.contains("0 21 * * * PATH=/opt/astra/bin:"), "{once}");
    assert_eq!(
        calls(&fake).iter().filter(|c| *c == "crontab -").count(),
        1,
        "the unchanged crontab is not written again"
    );

    t.run("astra", &["schedule", "uninstall", "--cron"])
        .success();
    assert_eq!(fs::read_to_string(fake.join("crontab")).unwrap(), mine);
}

#[test]
fn cron_install_into_an_empty_crontab_and_disabled_jobs_stay_out() {
    let (t, fake) = scheduled();
    let t = t.config("[jobs.journal]\nenabled = false\n");
    let r = t.run("astra", &["schedule", "install", "--cron", "--json"]);
    r.success();
    let j = r.json();
    assert_eq!(j["data"]["backend"], "cron");
    assert_eq!(j["data"]["jobs"].as_array().unwrap().len(), 1);
    let tab = fs::read_to_string(fake.join("crontab")).unwrap();
    assert!(
        tab.contains("voice-memo") && !tab.contains("/journal"),
        "{tab}"
    );
}

#[test]
fn launchd_install_writes_agents_and_bootstraps_them() {
    let (t, fake) = scheduled();
    t.run("astra", &["schedule", "install", "--launchd"])
        .success();
    let agents = t.dir.path().join("Library/LaunchAgents");
    let plist = agents.join("com.astra.voice-memo.plist");
    let text = fs::read_to_string(&plist).unwrap();
    assert!(
        text.contains("<string>/opt/astra/bin/voice-memo</string>"),
        "{text}"
    );
    assert!(text.contains("<key>StartInterval</key>"), "{text}");
    assert!(
        text.contains(&format!("{}/inbox", t.dir.path().display())),
        "WatchPaths: {text}"
    );
    assert!(text.contains(&format!(
        "{}/logs/voice-memo.launchd.out.log",
        t.home.display()
    )));
    assert!(agents.join("com.astra.journal.plist").exists());
    let u = uid();
    let want_first = [
        format!("launchctl bootout gui/{u}/com.astra.voice-memo"),
        format!("launchctl bootstrap gui/{u} {}", plist.display()),
    ];
    assert_eq!(calls(&fake)[..2], want_first);

    // Reinstalling boots the loaded agent out first, and still succeeds.
    t.run("astra", &["schedule", "install", "--launchd"])
        .success();
    assert_eq!(calls(&fake).len(), 8);
    assert_eq!(
        fs::read_to_string(&plist).unwrap(),
        text,
        "the same plist again"
    );

    // A job disabled since is booted out and its agent removed.
    let t = t.config("[jobs.journal]\nenabled = false\n");
    t.run("astra", &["schedule", "install", "--launchd"])
        .success();
    assert!(!agents.join("com.astra.journal.plist").exists());
    assert!(calls(&fake).contains(&format!("launchctl bootout gui/{u}/com.astra.journal")));

    t.run("astra", &["schedule", "uninstall", "--launchd"])
        .success();
    assert!(!plist.exists());
    assert!(!agents.join("com.astra.journal.plist").exists());
    assert!(
        calls(&fake)
            .last()
            .unwrap()
            .starts_with("launchctl bootout")
    );
}

#[test]
fn a_schedule_launchd_cannot_express_is_an_error_naming_it() {
    let (t, fake) = scheduled();
    let t = t.config("[jobs.voiceMemo]\nschedule = \"*/5 9-17 * * 1-5\"\n");
    for cmd in ["print", "install"] {
        let r = t.run("astra", &["schedule", cmd, "--launchd"]);
        r.code_is(2);
        assert!(
            r.stderr().contains("\"*/5 9-17 * * 1-5\""),
            "{}",
            r.stderr()
        );
    }
    assert!(calls(&fake).is_empty());
    // cron and systemd take it.
    t.run("astra", &["schedule", "print", "--cron"]).success();
    let r = t.run("astra", &["schedule", "print", "--systemd"]);
    r.success();
    assert!(
        r.stdout()
            .contains("OnCalendar=Mon..Fri *-*-* 09..17:00/5:00"),
        "{}",
        r.stdout()
    );
}

#[test]
fn systemd_install_writes_units_and_enables_timers() {
    let (t, fake) = scheduled();
    t.run("astra", &["schedule", "install", "--systemd"])
        .success();
    let dir = t.dir.path().join(".config/systemd/user");
    let service = fs::read_to_string(dir.join("astra-voice-memo.service")).unwrap();
    assert!(
        service.contains("Type=oneshot\nExecStart=/opt/astra/bin/voice-memo\n"),
        "{service}"
    );
    assert!(service.contains(&format!("Environment=ASTRA_HOME={}", t.home.display())));
    let timer = fs::read_to_string(dir.join("astra-journal.timer")).unwrap();
    assert!(
        timer.contains("OnCalendar=*-*-* 21:00:00\nPersistent=true\n"),
        "{timer}"
    );
    assert_eq!(
        calls(&fake),
        [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now astra-voice-memo.timer",
            "systemctl --user enable --now astra-journal.timer",
        ]
    );

    t.run("astra", &["schedule", "uninstall", "--systemd"])
        .success();
    assert!(!dir.join("astra-voice-memo.timer").exists());
    assert!(!dir.join("astra-journal.service").exists());
    let c = calls(&fake);
    assert!(c.contains(&"systemctl --user disable --now astra-journal.timer".to_string()));
    assert_eq!(c.last().unwrap(), "systemctl --user daemon-reload");
}

#[test]
fn print_writes_nothing() {
    let (t, fake) = scheduled();
    let r = t.run("astra", &["schedule", "print", "--launchd", "--json"]);
    r.success();
    let j = r.json();
    assert_eq!(j["artifact_type"], "text");
    let files = j["data"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[0]["content"].as_str().unwrap().contains("<plist"));
    assert!(!t.dir.path().join("Library").exists());
    assert!(calls(&fake).is_empty());
    let r = t.run("astra", &["schedule", "print", "--cron"]);
    assert!(r.stdout().starts_with("# BEGIN astra"), "{}", r.stdout());
}

#[test]
fn explain_json_shape() {
    let t = Test::new();
    let r = t.run(
        "astra",
        &[
            "schedule",
            "explain",
            "30 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--from",
            "2025-03-29T12:00:00Z",
            "--count",
            "2",
            "--json",
        ],
    );
    r.success();
    let j = r.json();
    assert_eq!(j["artifact_type"], "presentation_card");
    assert_eq!(j["title"], "astra schedule explain");
    let d = &j["data"];
    assert_eq!(d["expression"], "30 2 * * *");
    assert_eq!(d["description"], "At 02:30 every day");
    assert_eq!(d["time_zone"], "Europe/Berlin");
    assert_eq!(d["fixed_time"], true);
    assert_eq!(d["from"], "2025-03-29T13:00:00+01:00");
    assert_eq!(
        d["next_runs"],
        serde_json::json!(["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"])
    );
}

#[test]
fn explain_refuses_bad_input_with_exit_2() {
    let t = Test::new();
    for args in [
        vec!["schedule", "explain", "61 * * * *"],
        vec!["schedule", "explain", "* * * * *", "--tz", "Mars/Base"],
        vec!["schedule", "explain", "* * * * *", "--from", "yesterday"],
    ] {
        let r = t.run("astra", &args);
        r.code_is(2);
        assert!(r.stderr().starts_with("astra: error: "), "{}", r.stderr());
    }
    let r = t.run("astra", &["schedule", "explain", "61 * * * *"]);
    assert!(r.stderr().contains("\"61 * * * *\""), "{}", r.stderr());
}

#[test]
fn the_default_backend_follows_the_platform() {
    let (t, _fake) = scheduled();
    let r = t.run("astra", &["schedule", "print", "--json"]);
    r.success();
    // The fake systemctl answers `is-system-running` with success.
    let want = if cfg!(target_os = "macos") {
        "launchd"
    } else {
        "systemd"
    };
    assert_eq!(r.json()["data"]["backend"], want);
    let t = t
        .env("PATH", "/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", "/nonexistent");
    if !cfg!(target_os = "macos") && !Path::new("/run/systemd/system").exists() {
        let r = t.run("astra", &["schedule", "print", "--json"]);
        assert_eq!(r.json()["data"]["backend"], "cron");
    }
}

#[test]
fn a_bad_schedule_in_the_config_names_the_file_the_key_and_the_expression() {
    let (t, _fake) = scheduled();
    let t = t.config("[jobs.voiceMemo]\nschedule = \"every 5 minutes\"\n");
    let r = t.run("astra", &["schedule", "print", "--cron"]);
    r.code_is(2);
    let err = r.stderr();
    assert!(err.contains("config.toml line "), "{err}");
    assert!(err.contains(": [jobs.voiceMemo] schedule = "), "{err}");
    assert!(err.contains("\"every 5 minutes\""), "{err}");
}

#[test]
fn a_crontab_with_an_unterminated_block_is_left_alone() {
    let (t, fake) = scheduled();
    let mine = "# BEGIN astra (managed by astra schedule install)\n0 7 * * * /usr/bin/backup\n";
    fs::write(fake.join("crontab"), mine).unwrap();
    for cmd in ["install", "uninstall"] {
        let r = t.run("astra", &["schedule", cmd, "--cron"]);
        r.code_is(2);
        assert!(r.stderr().contains("# END astra"), "{}", r.stderr());
    }
    assert_eq!(fs::read_to_string(fake.join("crontab")).unwrap(), mine);
}

/// The cron block carries the PATH `astra schedule install` ran with (deduplicated,
/// the binaries' folder first) and ASTRA_HOME; doctor compares the scheduled PATH with
/// this shell's for the tools the config names.
#[test]
fn the_cron_block_carries_path_and_doctor_compares_it() {
    let (t, fake) = scheduled();
    // Cron is the backend (no user systemd).
    fs::remove_file(fake.join("bin/systemctl")).unwrap();
    let tools = t.dir.path().join("local-bin");
    fs::create_dir_all(&tools).unwrap();
    let recognizer = tools.join("my-recognizer");
    fs::write(&recognizer, "#!/bin/sh\necho hello\n").unwrap();
    fs::set_permissions(&recognizer, fs::Permissions::from_mode(0o755)).unwrap();
    let fake_bin = fake.join("bin");
    let shell_path = format!(
        "{}:{}:/usr/bin:/bin:/usr/bin:relative/dir",
        fake_bin.display(),
        tools.display()
    );
    let t = t.env("PATH", &shell_path).config(
        "[transcription]\nprovider = \"command\"\ncommand = [\"my-recognizer\", \"{input}\"]\n",
    );
    let printed = t.run("astra", &["schedule", "print", "--cron"]);
    printed.success();
    let want = format!(
        "PATH=/opt/astra/bin:{}:{}:/usr/bin:/bin ASTRA_HOME={} /opt/astra/bin/voice-memo",
        fake_bin.display(),
        tools.display(),
        t.home.display()
    );
    assert!(printed.stdout().contains(&want), "{}", printed.stdout());
    // An old block without PATH: cron's /usr/bin:/bin has no my-recognizer.
    fs::write(
        fake.join("crontab"),
        "# BEGIN astra (managed by astra schedule install)\n*/5 * * * * /opt/astra/bin/voice-memo\n# END astra\n",
    )
    .unwrap();
    let doctor = t.run("astra", &["doctor"]).stdout();
    assert!(
        doctor.contains("✗ scheduled my-recognizer: found here (")
            && doctor.contains("but not on the PATH cron runs voice-memo with (/usr/bin:/bin)"),
        "{doctor}"
    );
    t.run("astra", &["schedule", "install", "--cron"]).success();
    let doctor = t.run("astra", &["doctor"]).stdout();
    assert!(doctor.contains("✓ scheduled my-recognizer: "), "{doctor}");
}

/// The systemd service unit carries the same PATH as the cron line, and doctor reads
/// it back from the unit: a tool on this shell's PATH but not on the unit's is named.
#[cfg(target_os = "linux")]
#[test]
fn the_systemd_unit_carries_path_and_doctor_compares_it() {
    // systemd is the backend: the fake systemctl answers `is-system-running`.
    let (t, fake) = scheduled();
    let tools = t.dir.path().join("local-bin");
    fs::create_dir_all(&tools).unwrap();
    let recognizer = tools.join("my-recognizer");
    fs::write(&recognizer, "#!/bin/sh\necho hello\n").unwrap();
    fs::set_permissions(&recognizer, fs::Permissions::from_mode(0o755)).unwrap();
    let shell_path = format!(
        "{}:{}:/usr/bin:/bin",
        fake.join("bin").display(),
        tools.display()
    );
    let t = t.env("PATH", &shell_path).config(
        "[transcription]\nprovider = \"command\"\ncommand = [\"my-recognizer\", \"{input}\"]\n",
    );
    t.run("astra", &["schedule", "install", "--systemd"])
        .success();
    let unit = t
        .dir
        .path()
        .join(".config/systemd/user/astra-voice-memo.service");
    let text = fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains(&format!("Environment=PATH=/opt/astra/bin:{shell_path}\n")),
        "{text}"
    );
    let doctor = t.run("astra", &["doctor"]).stdout();
    assert!(
        doctor.contains(&format!(
            "✓ scheduled my-recognizer: {} on the PATH systemd runs with",
            recognizer.display()
        )),
        "{doctor}"
    );
    // A unit whose PATH lacks the tool's folder (written by hand, or before PATH was).
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("Environment=PATH=") {
                "Environment=\"PATH=/usr/bin:/bin\""
            } else {
                l
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&unit, edited).unwrap();
    let doctor = t.run("astra", &["doctor"]).stdout();
    assert!(
        doctor.contains("✗ scheduled my-recognizer: found here (")
            && doctor.contains("but not on the PATH systemd runs voice-memo with (/usr/bin:/bin)"),
        "{doctor}"
    );
}
