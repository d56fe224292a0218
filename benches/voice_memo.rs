//! Criterion benchmarks of the voice-memo hot paths: the seen-index load (the whole of
//! a run with nothing to do), the full state parse, listing a big inbox, the rules
//! organizer and the Markdown sync of one memo. `cargo bench -- --quick` for a fast look;
//! `scripts/bench.sh` measures whole processes.
use astra::state::{Item, ItemStatus, Outputs, Stage, StateStore, VoiceMemoState};
use astra::voice_memo::organize::rules::organize_rules;
use astra::voice_memo::organize::{DEFAULT_CATEGORIES, OrganizeInput};
use astra::voice_memo::sync::SyncTarget;
use astra::voice_memo::sync::markdown::MarkdownTarget;
use astra::voice_memo::{Memo, seen, watch};
use chrono::DateTime;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::collections::HashSet;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// Apple-style names, as `scripts/make-state.py` writes them.
fn name(i: usize) -> String {
    format!(
        "2024{:02}{:02} {:02}{:02}00-{i:08X}.m4a",
        (i / 28) % 12 + 1,
        i % 28 + 1,
        i % 24,
        i % 60
    )
}

/// A state.json with `n` completed memos.
fn write_state(path: &Path, n: usize) {
    StateStore::new(path)
        .update_job("voiceMemo", |vm: &mut VoiceMemoState| {
            for i in 0..n {
                let name = name(i);
                let id = format!("{i:012x}");
                vm.items.insert(
                    name.clone(),
                    Item {
                        status: ItemStatus::Completed,
                        stage: Some(Stage::Archived),
                        attempts: 1,
                        digest: Some(format!("sha256:{i:064x}")),
                        recorded_at: Some("2024-01-05T09:30:00+01:00".into()),
                        outputs: Outputs {
                            todos: vec![format!("Todos.md#astra-{id}-t0")],
                            ..Outputs::default()
                        },
                        archived_to: Some(format!("/Users/you/.astra/archive/{name}")),
                        id: Some(id),
                        ..Item::new_pending()
                    },
                );
            }
        })
        .unwrap();
}

fn state(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for n in [10_000, 100_000] {
        let path = dir.path().join(format!("state-{n}.json"));
        write_state(&path, n);
        let index = dir.path().join(format!("seen-{n}"));
        // No catalogue here: these done memos are a state.json not migrated yet.
        let db = dir.path().join("memos.db");
        seen::load(&path, &index, &db, false, None).unwrap();
        c.bench_function(
            &format!("seen-index load, {n} completed, every name"),
            |b| {
                b.iter(|| {
                    let (seen, parsed) = seen::load(&path, &index, &db, true, None).unwrap();
                    assert!(parsed.is_none());
                    black_box(seen.names.len())
                })
            },
        );
        // What a run does: keep only the names the inbox holds (here 20 of them).
        let inbox_names: Vec<String> = (0..20).map(|i| name(i * 7)).collect();
        let wanted: HashSet<&str> = inbox_names.iter().map(String::as_str).collect();
        c.bench_function(
            &format!("seen-index load, {n} completed, 20 in the inbox"),
            |b| {
                b.iter(|| {
                    let (seen, _) = seen::load(&path, &index, &db, true, Some(&wanted)).unwrap();
                    black_box(seen.names.len())
                })
            },
        );
        c.bench_function(&format!("seen-index header only, {n} completed"), |b| {
            b.iter(|| black_box(seen::pending_if_current(&path, &index)))
        });
        if n == 10_000 {
            let store = StateStore::new(&path);
            c.bench_function("state.json full parse, 10000 completed", |b| {
                b.iter(|| black_box(store.load_job::<VoiceMemoState>("voiceMemo").unwrap()))
            });
        }
    }
}

fn inbox(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20_000 {
        std::fs::File::create(dir.path().join(name(i))).unwrap();
    }
    let rules = watch::WatchRules {
        extensions: ["m4a", "wav", "mp3"].map(String::from).to_vec(),
        settle: Duration::from_secs(10),
        retry_now: false,
        transcription_hash: String::new(),
    };
    c.bench_function("watch::list, 20000-file inbox", |b| {
        b.iter(|| black_box(watch::list(dir.path(), &rules).unwrap().len()))
    });
}

const TRANSCRIPT: &str = "Okay so um remind me to call the dentist tomorrow morning about \
the crown. I need to buy milk and eggs on the way home. Also I should send Sarah the \
quarterly numbers by Friday, that's important. Today I went for a long walk by the river \
and I feel a lot calmer than yesterday, I'm grateful for the sunshine. Idea for the app: \
a weekly digest that groups notes by project so nothing gets lost. Next week pick up the \
dry cleaning.";

fn organize_and_sync(c: &mut Criterion) {
    let categories: Vec<String> = DEFAULT_CATEGORIES.iter().map(|s| s.to_string()).collect();
    let recorded_at = DateTime::parse_from_rfc3339("2026-01-14T13:54:31+01:00").unwrap();
    let input = OrganizeInput {
        transcript: TRANSCRIPT,
        recorded_at,
        categories: &categories,
    };
    c.bench_function("rules organizer, 90-word transcript", |b| {
        b.iter(|| black_box(organize_rules(black_box(&input))))
    });
    let org = organize_rules(&input);
    c.bench_function("markdown sync, one memo into an empty vault", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |vault| {
                let target = MarkdownTarget::new(vault.path().to_path_buf());
                let memo = Memo {
                    name: "20260114 135431-AB12.m4a".into(),
                    path: vault.path().join("x.m4a"),
                    id: "0123456789ab".into(),
                    recorded_at,
                    transcript: String::new(),
                    title: None,
                };
                let out = target
                    .sync(&memo, &org, &Outputs::default(), &mut |_| Ok(()))
                    .unwrap();
                black_box(out);
                vault
            },
            BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = state, inbox, organize_and_sync
}
criterion_main!(benches);
