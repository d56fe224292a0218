//! The secret store (`astra secrets`), runs started with an empty environment that
//! find their keys in it, refused key files, and moving over from the original astra
//! (`astra init --from-env` → `astra notion setup` → `voice-memo`).
use crate::fake_notion::{FakeNotion, TOKEN, prop_text};
use crate::harness::{Run, Test, bin};
use serde_json::{Value, json};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `astra secrets set NAME` with `value` on stdin (the file store).
fn set(t: &Test, name: &str, value: &str) -> Run {
    let mut child = t
        .command("astra")
        .env("ASTRA_SECRETS_BACKEND", "file")
        .args(["secrets", "set", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    Run {
        output: child.wait_with_output().unwrap(),
    }
}

fn secrets_json(t: &Test) -> Value {
    let r = t.run("astra", &["secrets", "list", "--json"]);
    r.success();
    r.json()["data"].clone()
}

fn row<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
}

/// A program run as `env -i HOME=… PATH=…` starts it, as cron does: nothing else in
/// its environment, so ASTRA_HOME is `~/.astra` (here a link to the test's home).
fn env_i(t: &Test, program: &str, args: &[&str]) -> Run {
    t.write_config();
    let dot_astra = t.dir.path().join(".astra");
    if !dot_astra.exists() {
        std::os::unix::fs::symlink(&t.home, &dot_astra).unwrap();
    }
    let output = Command::new("env")
        .arg("-i")
        .arg(format!("HOME={}", t.dir.path().display()))
        .arg(format!(
            "PATH={}",
            std::env::var("PATH").unwrap_or_default()
        ))
        .arg(bin(program))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run { output }
}

#[test]
fn secrets_set_list_rm_with_the_file_store() {
    let t =
        Test::new().config("[sync]\ntarget = \"notion\"\n[organization]\nprovider = \"openai\"\n");
    let file = t.home.join("secrets.env");
    let r = set(&t, "NOTION_TOKEN", "secret_firstVALUE\n");
    r.success();
    assert!(
        r.stdout().contains("stored NOTION_TOKEN in"),
        "{}",
        r.stdout()
    );
    assert_eq!(mode(&file), 0o600);
    set(&t, "NOTION_TOKEN", "secret_secondVALUE").success();
    set(&t, "OPENAI_API_KEY", "sk-thirdVALUE \"quoted\" #hash").success();
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains("firstVALUE"), "replaced: {text}");
    assert!(text.contains("secondVALUE"));
    assert_eq!(mode(&file), 0o600);

    let list = secrets_json(&t);
    let listed = list.to_string();
    assert!(!listed.contains("VALUE"), "list shows no value: {listed}");
    let n = row(&list, "NOTION_TOKEN").expect("NOTION_TOKEN listed");
    assert_eq!(n["stored_in"], json!(["secrets_file"]));
    assert_eq!(n["scheduled_runs_find_it"], true);
    assert_eq!(n["used_by"], "Notion sync");
    assert!(row(&list, "OPENAI_API_KEY").is_some());
    let human = t.run("astra", &["secrets", "list"]);
    human.success();
    assert!(
        human.stdout().contains("NOTION_TOKEN"),
        "{}",
        human.stdout()
    );
    assert!(!human.stdout().contains("VALUE"));

    // The exact value, quotes and all, is what a run gets: doctor sees it stored.
    let doctor = t.run("astra", &["doctor", "--json"]).json();
    let checks = doctor["data"]["checks"].as_array().unwrap().clone();
    let key = checks
        .iter()
        .find(|c| c["name"] == "key OPENAI_API_KEY")
        .expect("a key check");
    assert_eq!(key["ok"], true, "{key}");
    assert!(!doctor.to_string().contains("VALUE"));

    let rm = t.run("astra", &["secrets", "rm", "NOTION_TOKEN"]);
    rm.success();
    assert!(
        rm.stdout()
            .contains("removed NOTION_TOKEN from secrets.env")
    );
    let list = secrets_json(&t);
    assert_eq!(row(&list, "NOTION_TOKEN").unwrap()["stored_in"], json!([]));
    t.run("astra", &["secrets", "rm", "NOTION_TOKEN"])
        .code_is(1);
    t.run("astra", &["secrets", "rm", "OPENAI_API_KEY"])
        .success();
    assert!(!file.exists(), "an empty store is removed");

    // Never from argv; an empty value or a bad name is refused (exit 2).
    t.run(
        "astra",
        &["secrets", "set", "NOTION_TOKEN", "secret_onARGV"],
    )
    .code_is(2);
    set(&t, "NOTION_TOKEN", "").code_is(2);
    set(&t, "not a name", "x").code_is(2);
    assert!(!file.exists());
}

#[test]
fn secrets_a_run_with_an_empty_environment_syncs_with_the_stored_token() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = crate::notion::databases(&fake, &parent);
    let t = Test::new()
        .config(&fake.config(&keys))
        .memo("20260114 080000-A1.wav", "Todo renew the passport.");
    // Without the key, a run started by a scheduler fails and says what to do.
    let before = env_i(&t, "voice-memo", &["--json"]);
    before.code_is(2);
    assert!(
        before.stderr().contains("astra secrets set NOTION_TOKEN"),
        "{}",
        before.stderr()
    );
    set(&t, "NOTION_TOKEN", TOKEN).success();
    let run = env_i(&t, "voice-memo", &["--json"]);
    run.success();
    assert_eq!(run.json()["stats"]["processed"], 1, "{}", run.stdout());
    let pages = fake.pages_with_source("20260114 080000-A1.wav");
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(prop_text(&pages[0], "title").contains("passport"));
    // Doctor says a scheduled run finds the key.
    let doctor = env_i(&t, "astra", &["doctor", "--json"]).json();
    let check = doctor["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "key NOTION_TOKEN")
        .cloned()
        .expect("a key check");
    assert_eq!(check["ok"], true, "{check}");
}

#[test]
fn secrets_doctor_flags_a_key_only_in_the_shell_environment() {
    let t = Test::new()
        .config("[sync]\ntarget = \"notion\"\n\n[sync.notion]\nbase_url = \"http://127.0.0.1:9\"\n")
        .env("NOTION_TOKEN", TOKEN);
    let doctor = t.run("astra", &["doctor", "--json"]);
    let data = doctor.json()["data"].clone();
    let check = data["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "key NOTION_TOKEN")
        .cloned()
        .expect("a key check");
    assert_eq!(check["ok"], false, "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("only in this shell's environment"),
        "{check}"
    );
    assert_eq!(check["fix"], "astra secrets set NOTION_TOKEN");
    assert!(!data.to_string().contains(TOKEN));
}

#[test]
fn secrets_a_key_file_others_can_read_is_refused_with_the_fix() {
    let t = Test::new().memo("20260114 080000-A1.wav", "Todo renew the passport.");
    set(&t, "NOTION_TOKEN", TOKEN).success();
    let file = t.home.join("secrets.env");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let run = t.voice_memo();
    run.code_is(2);
    let fix = format!("chmod 600 {}", file.display());
    assert!(run.stderr().contains(&fix), "{}", run.stderr());
    assert!(run.stderr().contains("mode 644"), "{}", run.stderr());
    assert!(!run.stderr().contains(TOKEN));
    assert!(!t.vault.join("Todos.md").exists(), "nothing was processed");
    let doctor = t.run("astra", &["doctor", "--json"]).json();
    let check = doctor["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "secrets")
        .cloned()
        .unwrap();
    assert_eq!(check["ok"], false);
    assert!(check["detail"].as_str().unwrap().contains(&fix), "{check}");
    // A user's env_file is held to the same rule.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let env_file = t.dir.path().join("keys.env");
    fs::write(&env_file, format!("NOTION_TOKEN={TOKEN}")).unwrap();
    fs::set_permissions(&env_file, fs::Permissions::from_mode(0o640)).unwrap();
    let t = t.config(&format!(
        "[secrets]\nenv_file = \"{}\"\n",
        env_file.display()
    ));
    let run = t.voice_memo();
    run.code_is(2);
    assert!(
        run.stderr()
            .contains(&format!("chmod 600 {}", env_file.display())),
        "{}",
        run.stderr()
    );
    fs::set_permissions(&env_file, fs::Permissions::from_mode(0o600)).unwrap();
    t.voice_memo().success();
}

#[cfg(target_os = "linux")]
#[test]
fn secrets_auto_falls_back_to_the_file_without_a_secret_service() {
    // A session bus address that leads nowhere, as on a server: the keychain is
    // unusable and `set` uses the file at once.
    let t = Test::new().env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let mut child = t
        .command("astra")
        .args(["secrets", "set", "SOME_KEY", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"v4lue").unwrap();
    let started = std::time::Instant::now();
    let r = Run {
        output: child.wait_with_output().unwrap(),
    };
    r.success();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let data = r.json()["data"].clone();
    assert_eq!(data["stored_in"], "secrets_file", "{data}");
    assert!(data["keychain_problem"].as_str().is_some(), "{data}");
    assert_eq!(mode(&t.home.join("secrets.env")), 0o600);
    // ASTRA_SECRETS_BACKEND=keychain refuses to fall back.
    let r = t
        .command("astra")
        .env("ASTRA_SECRETS_BACKEND", "keychain")
        .args(["secrets", "set", "OTHER_KEY"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut r = r;
    r.stdin.take().unwrap().write_all(b"x").unwrap();
    let out = r.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The databases as the original astra created them (Notion-Version 2022-06-28):
/// no `due`, no `tags`, no `mood`/`themes`; select options with Notion's colours.
fn original_databases(fake: &FakeNotion, parent: &str) -> [String; 3] {
    let t = || json!({"title": {}});
    let rt = || json!({"rich_text": {}});
    let date = || json!({"date": {}});
    let check = || json!({"checkbox": {}});
    let todos = fake.add_database(
        parent,
        "TODOs",
        &[
            ("title", t()),
            ("description", rt()),
            (
                "priority",
                json!({"select": {"options": [
                    {"name": "asap", "color": "red"},
                    {"name": "soon", "color": "yellow"},
                    {"name": "eventually", "color": "gray"}
                ]}}),
            ),
            ("done", check()),
            ("created_date", date()),
            ("source", rt()),
        ],
    );
    let notes = fake.add_database(
        parent,
        "Notes",
        &[
            ("title", t()),
            ("content", rt()),
            (
                "category",
                json!({"select": {"options": [
                    {"name": "project idea", "color": "blue"},
                    {"name": "feature idea", "color": "green"},
                    {"name": "research item", "color": "purple"},
                    {"name": "general", "color": "default"}
                ]}}),
            ),
            ("created_date", date()),
            ("source", rt()),
        ],
    );
    let journal = fake.add_database(
        parent,
        "Journal",
        &[("title", t()), ("date", date()), ("processed", check())],
    );
    [todos, notes, journal]
}

#[test]
fn secrets_moving_from_the_original_astra_processes_only_new_memos() {
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let [todos, notes, journal] = original_databases(&fake, &parent);
    let t = Test::new()
        .memo("20260110 080000-OLD1.wav", "Todo buy the train tickets.")
        .memo(
            "20260111 090000-OLD2.wav",
            "Note: general, the garden needs a fence.",
        )
        .memo(
            "20260112 100000-OLD3.wav",
            "Todo this one failed in the original.",
        )
        .memo("20260114 080000-NEW1.wav", "Todo renew the passport.")
        .memo(
            "20260114 083000-NEW2.wav",
            "Note: research item, read about the history of the printing press.",
        );
    // The original's folder: its .env (0644, as Bun writes it; the database ids it
    // created appended at the end, no final newline) and ~/.astra/state.json.
    let original = t.dir.path().join("astra-original");
    fs::create_dir_all(&original).unwrap();
    let archive = t.dir.path().join("original-archive");
    let env = original.join(".env");
    fs::write(
        &env,
        format!(
            "# Astra\nNOTION_API_KEY={TOKEN}\nPARENT_PAGE_ID={parent}\nVOICE_MEMOS_DIR={inbox}\nARCHIVE_DIR={archive}\nMAX_RETRIES=3\nVOICE_MEMO_JOB_ENABLED=true\nVOICE_MEMO_JOB_INTERVAL_MINUTES=10\nNOTION_TODO_DATABASE_ID={todos}\nNOTION_NOTES_DATABASE_ID={notes}\nNOTION_JOURNAL_DATABASE_ID={journal}",
            inbox = t.inbox.display(),
            archive = archive.display(),
        ),
    )
    .unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o644)).unwrap();
    let dot_astra = t.dir.path().join(".astra");
    fs::create_dir_all(&dot_astra).unwrap();
    fs::write(
        dot_astra.join("state.json"),
        r#"{"jobs":{"voiceMemo":{"20260110 080000-OLD1.wav":"completed","20260111 090000-OLD2.wav":"completed","failed":["20260112 100000-OLD3.wav"]},"journalProcessing":{"lastRun":"2026-01-12T21:00:00Z"}}}"#,
    )
    .unwrap();
    let before: Vec<_> = [&todos, &notes, &journal]
        .iter()
        .map(|d| fake.schema(d))
        .collect();

    // 1. astra init --from-env
    let t = t.own_config("");
    fs::remove_file(t.home.join("config.toml")).unwrap();
    let init = t.run("astra", &["init", "--from-env", env.to_str().unwrap()]);
    init.success();
    let out = init.stdout();
    assert!(out.contains("NOTION_TODO_DATABASE_ID"), "{out}");
    assert!(
        out.contains("next: astra notion setup, then astra schedule install"),
        "{out}"
    );
    assert!(
        out.contains("made") && out.contains("private (chmod 600)"),
        "{out}"
    );
    assert!(!out.contains(TOKEN), "{out}");
    assert_eq!(mode(&env), 0o600);
    let config_path = t.home.join("config.toml");
    let config = fs::read_to_string(&config_path).unwrap();
    assert!(!config.contains(TOKEN), "{config}");
    assert!(
        config.contains("token_env = \"NOTION_API_KEY\""),
        "{config}"
    );
    assert!(config.contains("schedule = \"*/10 * * * *\""), "{config}");
    assert!(config.contains("max_attempts = 3"), "{config}");
    assert!(config.contains(&format!("env_file = \"{}\"", env.display())));
    assert!(
        t.home.join("state.json").exists(),
        "the original's state carried over"
    );
    // The test server's address and no settling wait: what the test adds.
    let config = config
        .replace(
            "[sync.notion]\n",
            &format!("[sync.notion]\nbase_url = \"{}\"\n", fake.url),
        )
        .replace("[voice_memo]\n", "[voice_memo]\nsettle_seconds = 0\n");
    fs::write(&config_path, &config).unwrap();

    // 2. astra notion setup: adds only what astra needs, changes nothing else.
    let setup = t.run("astra", &["notion", "setup", "--json"]);
    setup.success();
    let dbs = setup.json()["data"]["databases"].clone();
    assert_eq!(dbs[0]["added"], json!(["due"]), "{dbs}");
    assert_eq!(dbs[1]["added"], json!(["tags"]), "{dbs}");
    assert_eq!(dbs[2]["added"], json!(["mood", "themes"]), "{dbs}");
    for (k, (db, old)) in [&todos, &notes, &journal].iter().zip(&before).enumerate() {
        let now = fake.schema(db);
        for (name, prop) in old {
            assert_eq!(now.get(name), Some(prop), "database {k}: {name} changed");
        }
        assert_eq!(
            dbs[k]["database_id"].as_str().unwrap().replace('-', ""),
            db.replace('-', "")
        );
    }
    assert_eq!(
        fake.databases_under(&parent).len(),
        3,
        "no database created"
    );
    assert_eq!(
        fs::read_to_string(&config_path).unwrap(),
        config,
        "the ids were already right"
    );

    // 3. voice-memo: only the new memos, into the original's databases.
    let run = t.voice_memo();
    run.success();
    let result = run.json();
    assert_eq!(result["stats"]["found"], 2, "{result}");
    assert_eq!(result["stats"]["processed"], 2, "{result}");
    for old in [
        "20260110 080000-OLD1.wav",
        "20260111 090000-OLD2.wav",
        "20260112 100000-OLD3.wav",
    ] {
        assert!(
            fake.pages_with_source(old).is_empty(),
            "{old} processed again"
        );
    }
    let todo_pages = fake.pages_in(&todos);
    assert_eq!(todo_pages.len(), 1, "{todo_pages:?}");
    assert_eq!(
        prop_text(&todo_pages[0], "source"),
        "20260114 080000-NEW1.wav"
    );
    let note_pages = fake.pages_in(&notes);
    assert_eq!(note_pages.len(), 1, "{note_pages:?}");
    assert!(
        archive.join("20260114 080000-NEW1.wav").exists(),
        "archived where the original did"
    );
    assert_eq!(t.item("20260110 080000-OLD1.wav")["status"], "completed");
    assert_eq!(
        t.state()["jobs"]["voiceMemo"]["failed"],
        json!(["20260112 100000-OLD3.wav"])
    );

    // Again: nothing to do, nothing written twice.
    let again = t.voice_memo();
    again.success();
    assert_eq!(again.json()["stats"]["found"], 0);
    assert_eq!(fake.pages_in(&todos).len(), 1);
    assert_eq!(fake.pages_in(&notes).len(), 1);
}

/// Whether `program` is on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// A real Secret Service: GNOME Keyring in a private D-Bus session (CI installs it;
/// elsewhere the test says why it did nothing). `astra secrets set` stores the token
/// in it, a run finds it there, and no file under ASTRA_HOME holds it.
#[cfg(target_os = "linux")]
#[test]
fn secrets_the_secret_service_holds_the_token_for_a_run() {
    if !on_path("gnome-keyring-daemon") || !on_path("dbus-run-session") {
        eprintln!(
            "skipped: no gnome-keyring-daemon or dbus-run-session (apt install gnome-keyring dbus-daemon)"
        );
        return;
    }
    let fake = FakeNotion::start();
    let parent = fake.add_page("Astra", true);
    let keys = crate::notion::databases(&fake, &parent);
    let t = Test::new()
        .config(&fake.config(&keys))
        .memo("20260114 080000-K1.wav", "Todo renew the passport.");
    t.write_config();
    let run_dir = t.dir.path().join("run");
    fs::create_dir(&run_dir).unwrap();
    fs::set_permissions(&run_dir, fs::Permissions::from_mode(0o700)).unwrap();
    let out = t.dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let script = r#"set -e
printf 'keyring-password' | gnome-keyring-daemon --unlock --components=secrets > "$OUT/daemon" 2>&1
printf '%s' "$TOKEN_VALUE" | "$ASTRA" --json secrets set NOTION_TOKEN > "$OUT/set.json"
unset TOKEN_VALUE
"$ASTRA" --json secrets list > "$OUT/list.json"
"$VOICE_MEMO" --json > "$OUT/run.json" 2> "$OUT/run.err"
"$ASTRA" --json doctor > "$OUT/doctor.json" || true
"$ASTRA" secrets rm NOTION_TOKEN > "$OUT/rm.txt"
"$ASTRA" --json secrets list > "$OUT/after.json"
"#;
    let status = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", t.dir.path())
        .env("ASTRA_HOME", &t.home)
        .env("XDG_RUNTIME_DIR", &run_dir)
        .env("TZ", "Europe/Paris")
        .env("OUT", &out)
        .env("ASTRA", bin("astra"))
        .env("VOICE_MEMO", bin("voice-memo"))
        .env("TOKEN_VALUE", TOKEN)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let read = |f: &str| fs::read_to_string(out.join(f)).unwrap_or_default();
    let json = |f: &str| -> Value {
        serde_json::from_str(&read(f)).unwrap_or_else(|e| {
            panic!(
                "{f}: {e}: {}\ndaemon: {}\nrun.err: {}",
                read(f),
                read("daemon"),
                read("run.err")
            )
        })
    };
    assert!(
        status.success(),
        "daemon: {}\nrun.err: {}",
        read("daemon"),
        read("run.err")
    );
    assert_eq!(
        json("set.json")["data"]["stored_in"],
        "keychain",
        "{}",
        read("set.json")
    );
    let list = json("list.json")["data"].clone();
    assert_eq!(
        row(&list, "NOTION_TOKEN").unwrap()["stored_in"],
        json!(["keychain"])
    );
    assert_eq!(
        json("run.json")["stats"]["processed"],
        1,
        "{}",
        read("run.err")
    );
    assert_eq!(fake.pages_with_source("20260114 080000-K1.wav").len(), 1);
    let doctor = json("doctor.json");
    let check = doctor["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "key NOTION_TOKEN")
        .cloned()
        .unwrap();
    assert!(
        check["detail"].as_str().unwrap().contains("the keychain"),
        "{check}"
    );
    assert!(read("rm.txt").contains("removed NOTION_TOKEN from keychain"));
    let after = json("after.json")["data"].clone();
    assert_eq!(row(&after, "NOTION_TOKEN").unwrap()["stored_in"], json!([]));
    assert!(
        !t.home.join("secrets.env").exists(),
        "the file store was not used"
    );
    for rel in Test::tree(&t.home) {
        let text = String::from_utf8_lossy(&fs::read(t.home.join(&rel)).unwrap()).into_owned();
        assert!(!text.contains(TOKEN), "{rel} holds the token");
    }
    for f in Test::tree(&out) {
        assert!(!read(&f).contains(TOKEN), "output {f} holds the token");
    }
}
