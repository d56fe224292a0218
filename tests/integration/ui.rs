//! `astra ui` over HTTP: every route needs the token, a wrong Host is refused, a POST
//! without its CSRF token is refused, and each action changes config/state as the CLI
//! command it mirrors does.
use crate::dashboard::{Dashboard, form, http};
use crate::harness::Test;
use std::fs;
use std::os::unix::fs::PermissionsExt;

const GETS: &[&str] = &[
    "/",
    "/jobs",
    "/jobs/voice-memo",
    "/history",
    "/history/01JGXNOSUCHRUN",
    "/memos",
    "/memos/abc",
    "/alerts",
    "/launches/x",
    "/api/explain?expr=%40daily",
    "/assets/style.css",
    "/assets/app.js",
];

const POSTS: &[&str] = &[
    "/jobs/voice-memo/enable",
    "/jobs/voice-memo/disable",
    "/jobs/voice-memo/run",
    "/jobs/voice-memo/schedule",
    "/schedule/install",
    "/memos/retry",
    "/memos/abc/retry",
    "/alerts/test",
];

const COMMENTED: &str = "# my settings\n[jobs.voiceMemo]\nenabled = true   # on for now\nschedule = \"*/5 * * * *\" # every five\n";

#[test]
fn every_route_needs_the_token_then_a_strict_cookie() {
    let t = Test::new();
    let d = Dashboard::start(&t);
    for path in GETS {
        let r = http(d.port, "GET", path, &[], "");
        assert_eq!(r.status, 401, "GET {path} without the token: {}", r.body);
        let r = http(
            d.port,
            "GET",
            path,
            &[("Cookie", &format!("astra_ui_{}=wrong", d.port))],
            "",
        );
        assert_eq!(r.status, 401, "GET {path} with a wrong cookie");
        let r = d.get(path);
        assert!(
            r.status == 200 || r.status == 404,
            "GET {path} with the cookie: {}",
            r.status
        );
    }
    for path in POSTS {
        let r = http(d.port, "POST", path, &[], &form(&[("csrf", &d.csrf())]));
        assert_eq!(r.status, 401, "POST {path} without the token");
    }
    assert!(http(d.port, "GET", "/?token=nottheone", &[], "").status == 401);
    // The URL's token becomes the cookie, and leaves the address bar.
    let r = http(
        d.port,
        "GET",
        &format!("/history?job=voice-memo&token={}", d.token),
        &[],
        "",
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/history?job=voice-memo"));
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with(&d.cookie()), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Every answer keeps itself private.
    let r = d.get("/");
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(r.header("referrer-policy"), Some("same-origin"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // The URL printed first is the one that works.
    assert!(d.url.ends_with(&format!("/?token={}", d.token)));
    assert_eq!(d.token.len(), 48);
}

#[test]
fn a_request_naming_another_host_is_refused_even_with_the_token() {
    let t = Test::new();
    let d = Dashboard::start(&t);
    let cookie = d.cookie();
    for host in [
        format!("evil.example:{}", d.port),
        format!("127.0.0.1:{}", d.port + 1),
        "127.0.0.1".to_string(),
        format!("localhost.evil.example:{}", d.port),
    ] {
        for path in ["/", "/jobs", "/assets/style.css"] {
            let r = http(
                d.port,
                "GET",
                path,
                &[("Host", &host), ("Cookie", &cookie)],
                "",
            );
            assert_eq!(r.status, 403, "Host {host} {path}");
            assert!(!r.body.contains("voice-memo"), "{}", r.body);
        }
        let r = http(
            d.port,
            "GET",
            &format!("/?token={}", d.token),
            &[("Host", &host)],
            "",
        );
        assert_eq!(r.status, 403);
        assert!(r.header("set-cookie").is_none());
    }
    for host in [format!("localhost:{}", d.port), format!("[::1]:{}", d.port)] {
        let r = http(
            d.port,
            "GET",
            "/jobs",
            &[("Host", &host), ("Cookie", &cookie)],
            "",
        );
        assert_eq!(r.status, 200, "Host {host}");
    }
}

#[test]
fn a_post_without_its_csrf_token_changes_nothing() {
    let t = Test::new().own_config(COMMENTED);
    let d = Dashboard::start(&t);
    let cookie = d.cookie();
    for path in POSTS {
        for body in [
            form(&[("schedule", "@daily"), ("status", "failed")]),
            form(&[("schedule", "@daily"), ("csrf", "0123")]),
        ] {
            let r = http(d.port, "POST", path, &[("Cookie", &cookie)], &body);
            assert_eq!(r.status, 403, "POST {path} {body}: {}", r.body);
        }
        // With the token but from another site's page.
        let body = form(&[("csrf", &d.csrf())]);
        let r = http(
            d.port,
            "POST",
            path,
            &[("Cookie", &cookie), ("Origin", "http://evil.example")],
            &body,
        );
        assert_eq!(r.status, 403, "POST {path} from another origin");
        // A state change is never a GET.
        let r = d.get(path);
        assert_eq!(r.status, 405, "GET {path}");
    }
    assert_eq!(
        fs::read_to_string(t.home.join("config.toml")).unwrap(),
        COMMENTED
    );
    assert!(!t.home.join("history.jsonl").exists(), "no job was run");
}

#[test]
fn disable_enable_and_the_schedule_editor_write_config_keeping_comments() {
    let t = Test::new().own_config(COMMENTED);
    let d = Dashboard::start(&t);
    let config = || fs::read_to_string(t.home.join("config.toml")).unwrap();
    let r = d.post("/jobs/voice-memo/disable", &[("back", "/jobs")]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/jobs?notice=disabled"));
    assert_eq!(
        config(),
        COMMENTED.replace("enabled = true   # on", "enabled = false   # on")
    );
    // The same effect as the CLI: `astra jobs show` sees it.
    let show = t.run("astra", &["jobs", "show", "voice-memo", "--json"]);
    assert_eq!(show.json()["data"]["enabled"], false);
    d.get("/jobs?notice=disabled")
        .ok()
        .has("Disabled in config.toml")
        .has("Install the schedules")
        .has("Enable voice-memo");
    // An open redirect is not possible through `back`.
    let r = d.post("/jobs/voice-memo/enable", &[("back", "//evil.example/")]);
    assert_eq!(r.header("location"), Some("/jobs?notice=enabled"));
    assert_eq!(config(), COMMENTED);
    // A bad schedule is explained and not saved.
    let r = d.post("/jobs/voice-memo/schedule", &[("schedule", "61 * * * *")]);
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Not saved"), "{}", r.body);
    assert_eq!(config(), COMMENTED);
    // The preview (no script needed) and the JSON behind the live one.
    d.get("/jobs/voice-memo?schedule=30+9+*+*+1-5")
        .ok()
        .has("At 09:30")
        .has("Europe/Paris");
    let api = d.get("/api/explain?expr=%2A%2F10+%2A+%2A+%2A+%2A");
    let j: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(j["ok"], true);
    assert_eq!(j["next_runs"].as_array().unwrap().len(), 5);
    // A good one replaces the old in place, its comment kept.
    let r = d.post("/jobs/voice-memo/schedule", &[("schedule", "*/10 * * * *")]);
    assert_eq!(
        r.header("location"),
        Some("/jobs/voice-memo?notice=schedule-saved")
    );
    assert_eq!(config(), COMMENTED.replace("*/5 * * * *", "*/10 * * * *"));
    d.get("/jobs/voice-memo?notice=schedule-saved")
        .ok()
        .has("Schedule saved")
        .has("Every 10 minutes");
    // The CSRF field of a GET form does not stay in the address bar.
    let r = d.get("/jobs/voice-memo?csrf=abc&schedule=%40daily");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/jobs/voice-memo?schedule=%40daily")
    );
    let list = t.run("astra", &["jobs", "list", "--json"]);
    assert_eq!(list.json()["data"]["jobs"][0]["schedule"], "*/10 * * * *");
}

#[test]
fn run_now_starts_the_job_and_shows_its_result_and_its_logs() {
    let t = Test::new().memo(
        "20260114 093000-AAAA1111.wav",
        "Remind me to call the dentist tomorrow.",
    );
    let d = Dashboard::start(&t);
    let r = d.post("/jobs/voice-memo/run", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with("/launches/"), "{loc}");
    let page = d.wait_launch(&loc);
    page.ok().has("success").has("1 / 1 / 0");
    assert!(t.vault_file("Todos.md").contains("Call the dentist"));
    let history = fs::read_to_string(t.home.join("history.jsonl")).unwrap();
    let run: serde_json::Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    page.has(run_id);
    // History: the charts, the run with its stage timings, its log lines.
    let h = d.get("/history");
    h.ok()
        .has("<svg")
        .has("Runs per day by status")
        .has(&format!("/history/{run_id}"))
        .has("transcribe");
    assert!(
        h.body.matches("<rect").count() >= 2,
        "bars for the run and the memo"
    );
    d.get(&format!("/history/{run_id}"))
        .ok()
        .has("Log lines")
        .has("memo done");
    d.get("/jobs")
        .ok()
        .has("Started from this dashboard")
        .has(&loc);
    d.get("/").ok().has("Healthy").has("memos processed");
}

#[test]
fn run_now_while_another_run_holds_the_lock_is_skipped_and_says_so() {
    let t = Test::new().memo("a.wav", "Note: a held lock.");
    t.write_config();
    fs::create_dir_all(t.home.join("locks")).unwrap();
    let lock = fs::File::create(t.home.join("locks/voice-memo.lock")).unwrap();
    lock.lock().unwrap();
    let d = Dashboard::start(&t);
    let r = d.post("/jobs/voice-memo/run", &[]);
    let page = d.wait_launch(r.header("location").unwrap());
    page.ok().has("skipped").has("holds its lock");
    assert!(!t.vault.join("Notes").exists(), "nothing was done");
    drop(lock);
}

#[test]
fn install_the_schedules_from_the_page_as_astra_schedule_install_does() {
    let t = Test::new();
    let fake = t.dir.path().join("fake");
    let bin = fake.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for (name, script) in [
        (
            "crontab",
            "#!/bin/sh\ncase \"$1\" in -l) cat \"$FAKE_DIR/crontab\" 2>/dev/null || { echo 'no crontab' >&2; exit 1; } ;; -) cat > \"$FAKE_DIR/crontab\" ;; esac\n",
        ),
        ("systemctl", "#!/bin/sh\nexit 1\n"),
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
    let d = Dashboard::start(&t);
    let r = d.post("/schedule/install", &[]);
    r.ok().has("cron: installed");
    let tab = fs::read_to_string(fake.join("crontab")).unwrap();
    assert!(tab.contains("/opt/astra/bin/voice-memo"), "{tab}");
    assert!(tab.contains("*/5 * * * *"), "{tab}");
}

#[test]
fn alerts_name_their_variables_never_their_values_and_a_test_is_sent() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook = format!(
        "http://127.0.0.1:{}/hook-secret-c0ffee",
        server.server_addr().to_ip().unwrap().port()
    );
    let received = std::thread::spawn(move || {
        let mut req = server.recv().unwrap();
        let mut body = String::new();
        req.as_reader().read_to_string(&mut body).unwrap();
        let url = req.url().to_string();
        req.respond(tiny_http::Response::from_string("ok")).unwrap();
        (url, body)
    });
    let t = Test::new()
        .config("[alerts]\nslack_webhook_env = \"ASTRA_TEST_SLACK_URL\"\ndiscord_webhook_env = \"ASTRA_TEST_UNSET\"\n")
        .env("ASTRA_TEST_SLACK_URL", &hook);
    let d = Dashboard::start(&t);
    let page = d.get("/alerts");
    page.ok()
        .has("ASTRA_TEST_SLACK_URL")
        .has("ASTRA_TEST_UNSET")
        .has("Send a test to slack");
    assert!(!page.body.contains("c0ffee"), "the URL is a secret");
    let r = d.post("/alerts/test", &[("channel", "slack")]);
    r.ok().has("sent");
    assert!(!r.body.contains("c0ffee"));
    let (url, body) = received.join().unwrap();
    assert_eq!(url, "/hook-secret-c0ffee");
    assert!(body.contains("test alert"), "{body}");
}

#[test]
fn a_failed_memo_is_retried_from_its_page() {
    let t = Test::new()
        .audio("lonely.wav", &crate::harness::wav_bytes("lonely", 100))
        .memo("heard.wav", "Note: the pelicans gather at the harbour every spring.")
        .vm("max_attempts = 1")
        .config("[transcription]\ncommand = [\"sh\", \"-c\", \"echo 'recognizer crashed: out of memory' >&2; exit 3\"]\n");
    t.voice_memo().code_is(1);
    assert_eq!(t.item("lonely.wav")["status"], "failed");
    let d = Dashboard::start(&t);
    d.get("/memos?status=failed")
        .ok()
        .has("lonely.wav")
        .has("Retry every failed memo");
    let id = t.item("lonely.wav")["id"].as_str().unwrap().to_string();
    d.get(&format!("/memos/{id}"))
        .ok()
        .has("recognizer crashed: out of memory")
        .has("Retry this memo");
    let r = d.post(&format!("/memos/{id}/retry"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("/memos/{id}?notice=queued").as_str())
    );
    let item = t.item("lonely.wav");
    assert_eq!(item["status"], "retrying");
    assert_eq!(item["attempts"], 0);
    assert!(
        t.state()["jobs"]["voiceMemo"]["failed"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    d.get("/memos?status=retrying").ok().has("lonely.wav");
    let hits = d.get("/memos?q=pelicans");
    hits.ok().has("1 found").has("heard.wav");
    // A memo's page: what was heard, and what was written.
    let page = d.get("/memos/heard.wav");
    page.ok()
        .has("the pelicans gather at the harbour")
        .has("Outputs")
        .has("Notes/");
    assert!(
        !page.body.contains("Retry this memo"),
        "a completed memo is not retried"
    );
    // Retry by status: every failed memo again (none is left), as `astra memos retry --status`.
    let r = d.post("/memos/retry", &[("status", "retrying")]);
    assert_eq!(
        r.header("location"),
        Some("/memos?status=retrying&notice=queued&n=1")
    );
    d.get("/memos?status=retrying&notice=queued&n=1")
        .ok()
        .has("1 memo(s) queued");
    let r = d.post("/memos/retry", &[("status", "completed")]);
    assert_eq!(r.status, 400, "completed memos are not retried");
    // The CLI sees the same queue.
    let cli = t.run(
        "astra",
        &["memos", "list", "--status", "retrying", "--json"],
    );
    assert!(cli.stdout().contains("lonely.wav"), "{}", cli.stdout());
}

#[test]
fn sigterm_stops_it_cleanly_and_bind_beyond_loopback_warns() {
    let t = Test::new();
    let d = Dashboard::start(&t);
    d.get("/").ok();
    let (code, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("stopped"), "{err}");
    let d = Dashboard::start_with(&t, &["--bind", "0.0.0.0"]);
    d.get("/").ok();
    let (code, err) = d.stop();
    assert_eq!(code, Some(0));
    assert!(err.contains("warning: listening on 0.0.0.0"), "{err}");
}
