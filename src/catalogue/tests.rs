use super::*;
use crate::state::{Item, ItemStatus, Stage, StateStore};

fn paths(dir: &Path) -> Paths {
    Paths {
        home: dir.to_path_buf(),
        config: dir.join("config.toml"),
        state: dir.join("state.json"),
        log_file: None,
        logs: dir.join("logs"),
        history: dir.join("history.jsonl"),
        locks: dir.join("locks"),
        cache: dir.join("cache"),
        failed: dir.join("failed"),
        invalid: dir.join("invalid"),
        config_named: false,
    }
}

fn done(id: &str, recorded: &str) -> Item {
    Item {
        status: ItemStatus::Completed,
        stage: Some(Stage::Archived),
        attempts: 1,
        id: Some(id.into()),
        recorded_at: Some(recorded.into()),
        outputs: Outputs {
            todos: vec!["Todos.md: - [ ] call the dentist".into()],
            ..Outputs::default()
        },
        ..Item::new_pending()
    }
}

#[test]
fn fts5_is_compiled_in() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE VIRTUAL TABLE t USING fts5(x)")
        .expect("the bundled SQLite has FTS5");
}

#[test]
fn records_list_get_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalogue::open(&paths(dir.path())).unwrap();
    cat.save_item("a.m4a", &Item::new_pending(), Durability::Mirror)
        .unwrap();
    cat.begin_attempt("a.m4a", 1).unwrap();
    cat.set_transcript(
        "a.m4a",
        &TranscriptRecord {
            text: "Remember to call the dentist about the crown".into(),
            provider: "sidecar".into(),
            ..TranscriptRecord::default()
        },
    )
    .unwrap();
    cat.set_organization("a.m4a", "Dentist", &serde_json::json!({"title": "Dentist"}))
        .unwrap();
    cat.save_item(
        "a.m4a",
        &done("aaaaaaaaaaaa", "2026-01-05T09:30:00+01:00"),
        Durability::Durable,
    )
    .unwrap();
    let mut failing = Item::new_pending();
    failing.status = ItemStatus::Retrying;
    failing.attempts = 2;
    failing.last_error = Some("b.m4a: connection refused\nsecond line".into());
    failing.recorded_at = Some("2026-02-01T10:00:00Z".into());
    cat.save_item("b.m4a", &failing, Durability::Mirror)
        .unwrap();

    let all = cat.list(&ListFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].file, "b.m4a", "newest recording first");
    assert_eq!(
        all[0].reason.as_deref(),
        Some("b.m4a: connection refused second line")
    );
    let retrying = cat
        .list(&ListFilter {
            status: Some("retrying".into()),
            ..ListFilter::default()
        })
        .unwrap();
    assert_eq!(retrying.len(), 1);
    let since = cat
        .list(&ListFilter {
            since: Some("2026-01-10T00:00:00Z".parse().unwrap()),
            ..ListFilter::default()
        })
        .unwrap();
    assert_eq!(since.len(), 1);
    assert!(
        cat.list(&ListFilter {
            status: Some("nope".into()),
            ..ListFilter::default()
        })
        .is_err()
    );

    let rec = cat.get("aaaaaaaaaaaa").unwrap().expect("by id");
    assert_eq!(rec.file, "a.m4a");
    assert_eq!(rec.title.as_deref(), Some("Dentist"));
    assert_eq!(rec.transcript.as_ref().unwrap().provider, "sidecar");
    assert_eq!(rec.history.len(), 1);
    assert_eq!(rec.history[0].outcome, "completed");
    assert!(rec.history[0].finished_at.is_some());
    assert_eq!(
        cat.get("aaaaaa").unwrap().unwrap().file,
        "a.m4a",
        "by id prefix"
    );
    assert!(cat.get("a.m4a").unwrap().is_some());
    assert!(cat.get("zzz.m4a").unwrap().is_none());

    let hits = cat.search("dentist", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        hits[0].snippet.contains("[dentist]") || hits[0].snippet.contains("[Dentist]"),
        "{:?}",
        hits[0]
    );
    assert!(cat.search("giraffe", 10).unwrap().is_empty());
    assert_eq!(
        cat.search("crown \"dentist", 10).unwrap().len(),
        1,
        "quotes are not syntax"
    );
    assert_eq!(cat.search("dent*", 10).unwrap().len(), 1);
    assert_eq!(cat.done_files().unwrap(), vec!["a.m4a".to_string()]);

    let ro = Catalogue::open_read_only(&paths(dir.path()))
        .unwrap()
        .unwrap();
    assert_eq!(ro.list(&ListFilter::default()).unwrap().len(), 2);
    let empty = tempfile::tempdir().unwrap();
    assert!(
        Catalogue::open_read_only(&paths(empty.path()))
            .unwrap()
            .is_none()
    );
}

#[test]
fn reconcile_migrates_a_full_state_and_repairs_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    std::fs::write(
        &p.state,
        r#"{"jobs":{"voiceMemo":{"old.m4a":"completed","failed":["dead.m4a"],
            "items":{"new.m4a":{"status":"completed","stage":"archived","attempts":1,"id":"0123456789ab"},
                     "half.m4a":{"status":"pending","stage":"synced","attempts":1},
                     "crashed.m4a":{"status":"pending","stage":"synced","attempts":1}}}}}"#,
    )
    .unwrap();
    let cat = Catalogue::open(&p).unwrap();
    // A memo finished in the catalogue just before a kill -9 (state not saved yet).
    cat.save_item(
        "crashed.m4a",
        &done("cccccccccccc", "2026-01-01T00:00:00Z"),
        Durability::Durable,
    )
    .unwrap();
    let store = StateStore::new(&p.state);
    let vm = reconcile(&cat, &store).unwrap();
    let mut left: Vec<_> = vm.items.keys().cloned().collect();
    left.sort();
    assert_eq!(
        left,
        vec!["dead.m4a", "half.m4a"],
        "only what is in flight stays"
    );
    assert_eq!(vm.failed, vec!["dead.m4a"]);
    let mut done = cat.done_files().unwrap();
    done.sort();
    assert_eq!(done, vec!["crashed.m4a", "new.m4a", "old.m4a"]);
    assert_eq!(
        cat.status_of("half.m4a").unwrap().as_deref(),
        Some("pending")
    );
    assert_eq!(
        cat.status_of("dead.m4a").unwrap().as_deref(),
        Some("failed")
    );
    // Idempotent.
    let again = reconcile(&cat, &store).unwrap();
    assert_eq!(again.items.len(), 2);
    assert_eq!(cat.list(&ListFilter::default()).unwrap().len(), 5);
}

#[test]
fn retry_requeues_any_status_but_completed() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let cat = Catalogue::open(&p).unwrap();
    cat.save_item(
        "ok.m4a",
        &done("aaaaaaaaaaaa", "2026-01-01T00:00:00Z"),
        Durability::Durable,
    )
    .unwrap();
    let mut discarded = done("bbbbbbbbbbbb", "2026-01-02T00:00:00Z");
    discarded.status = ItemStatus::Discarded;
    discarded.last_error = Some("the transcript is empty (silence or noise)".into());
    cat.save_item("noise.m4a", &discarded, Durability::Durable)
        .unwrap();
    let store = StateStore::new(&p.state);
    store
        .update_job("voiceMemo", |vm: &mut VoiceMemoState| {
            let mut w = Item::new_pending();
            w.status = ItemStatus::Waiting;
            vm.items.insert("wait.m4a".into(), w);
        })
        .unwrap();
    drop(cat);
    let ids = retry(&p, &RetrySelector::Ids(vec!["ok.m4a".into()])).unwrap();
    assert!(ids.is_empty(), "completed memos are not retried");
    let ids = retry(&p, &RetrySelector::Status("discarded".into())).unwrap();
    assert_eq!(ids, vec!["bbbbbbbbbbbb"]);
    let vm: VoiceMemoState = store.load_job("voiceMemo").unwrap();
    let item = &vm.items["noise.m4a"];
    assert_eq!(item.status, ItemStatus::Retrying);
    assert_eq!(item.stage, None, "a discarded memo starts again");
    assert_eq!(item.id.as_deref(), Some("bbbbbbbbbbbb"));
    let ids = retry(&p, &RetrySelector::All).unwrap();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let cat = Catalogue::open(&p).unwrap();
    assert_eq!(
        cat.status_of("wait.m4a").unwrap().as_deref(),
        Some("retrying")
    );
    assert_eq!(
        cat.status_of("ok.m4a").unwrap().as_deref(),
        Some("completed")
    );
    assert!(retry(&p, &RetrySelector::Status("completed".into())).is_err());
}
