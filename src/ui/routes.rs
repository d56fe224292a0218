//! The routes: thin handlers that read or change things on a blocking thread (config,
//! state, history and the catalogue are files) and hand the data to [`super::pages`].
//! Every change is a POST behind the guard's CSRF check, answered with a redirect.
use super::launch::Launches;
use super::memos::{MemoSource, RetryWhat};
use super::pages::{self, layout::View};
use super::security::{self, Security};
use crate::cli::Ctx;
use crate::jobs::{self, JobInfo};
use crate::paths::Paths;
use crate::run::history;
use anyhow::Result;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// Everything the handlers share.
pub struct AppState {
    pub paths: Paths,
    pub security: Arc<Security>,
    pub launches: Launches,
}

impl AppState {
    pub fn new(paths: Paths, addr: SocketAddr) -> AppState {
        AppState {
            paths,
            security: Arc::new(Security::new(addr)),
            launches: Launches::default(),
        }
    }

    pub fn view(&self) -> View {
        View {
            csrf: self.security.csrf.clone(),
        }
    }

    pub fn ctx(&self) -> Ctx {
        Ctx {
            paths: self.paths.clone(),
            json: false,
        }
    }

    pub fn memos(&self) -> Result<Box<dyn MemoSource>> {
        super::memos::open(&self.paths)
    }
}

type S = State<Arc<AppState>>;

/// The router with the guard in front of every route, assets included.
pub fn router(state: Arc<AppState>) -> Router {
    let sec = state.security.clone();
    Router::new()
        .route("/", get(overview))
        .route("/jobs", get(jobs_page))
        .route("/jobs/{name}", get(job_page))
        .route("/jobs/{name}/enable", post(enable))
        .route("/jobs/{name}/disable", post(disable))
        .route("/jobs/{name}/run", post(run_now))
        .route("/jobs/{name}/schedule", post(save_schedule))
        .route("/schedule/install", post(install_schedules))
        .route("/launches/{id}", get(launch_page))
        .route("/api/explain", get(explain_api))
        .route("/history", get(history_page))
        .route("/history/{run_id}", get(run_page))
        .route("/memos", get(memos_page))
        .route("/memos/retry", post(retry_status))
        .route("/memos/{id}", get(memo_page))
        .route("/memos/{id}/retry", post(retry_one))
        .route("/alerts", get(alerts_page))
        .route("/alerts/test", post(alert_test))
        .route("/assets/{file}", get(asset))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(sec, security::guard))
        .with_state(state)
}

/// Runs `f` on a blocking thread; an error becomes the error page.
async fn blocking(
    s: Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<Response> + Send + 'static,
) -> Response {
    let view = s.view();
    match tokio::task::spawn_blocking(move || f(&s)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => error_page(&view, StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
        Err(_) => error_page(
            &view,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request's worker died",
        ),
    }
}

fn error_page(view: &View, status: StatusCode, msg: &str) -> Response {
    (status, pages::error(view, status, msg)).into_response()
}

async fn not_found(State(s): S) -> Response {
    error_page(
        &s.view(),
        StatusCode::NOT_FOUND,
        "There is no such page here.",
    )
}

fn find_job(name: &str) -> Option<&'static JobInfo> {
    jobs::find(name)
}

/// A local path to go back to (never another site).
fn local(back: Option<&str>, default: &str) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_string(),
        _ => default.to_string(),
    }
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
    /// The schedule form's field, sent by its Preview button.
    schedule: Option<String>,
}

async fn overview(State(s): S) -> Response {
    blocking(s, |s| {
        let ctx = s.ctx();
        let statuses = job_statuses(&ctx)?;
        let runs = history::read(&s.paths.history)?;
        let attention = s
            .memos()
            .and_then(|m| {
                let mut v = m.list(Some("failed"), 20)?;
                v.extend(m.list(Some("retrying"), 20)?);
                v.extend(m.list(Some("waiting"), 20)?);
                Ok(v)
            })
            .unwrap_or_default();
        Ok(
            pages::overview::page(&s.view(), &statuses, &runs, &attention, chrono::Utc::now())
                .into_response(),
        )
    })
    .await
}

fn job_statuses(ctx: &Ctx) -> Result<Vec<serde_json::Value>> {
    jobs::JOBS
        .iter()
        .map(|j| crate::cli::jobs::job_status(ctx, j))
        .collect()
}

async fn jobs_page(State(s): S, Query(q): Query<NoticeQuery>) -> Response {
    blocking(s, move |s| {
        let statuses = job_statuses(&s.ctx())?;
        let launches = s.launches.recent();
        Ok(pages::jobs::list(&s.view(), &statuses, &launches, q.notice.as_deref()).into_response())
    })
    .await
}

async fn job_page(State(s): S, Path(name): Path<String>, Query(q): Query<NoticeQuery>) -> Response {
    blocking(s, move |s| {
        let Some(job) = find_job(&name) else {
            return Ok(error_page(
                &s.view(),
                StatusCode::NOT_FOUND,
                &format!("There is no job named {name}."),
            ));
        };
        let status = crate::cli::jobs::job_status(&s.ctx(), job)?;
        let runs: Vec<_> = history::read(&s.paths.history)?
            .into_iter()
            .filter(|r| r.job_name == job.name)
            .rev()
            .take(10)
            .collect();
        let preview = q.schedule.as_deref().map(pages::jobs::Explained::of);
        Ok(pages::jobs::detail(
            &s.view(),
            job,
            &status,
            &runs,
            q.notice.as_deref(),
            preview.as_ref(),
            None,
        )
        .into_response())
    })
    .await
}

#[derive(Deserialize)]
struct BackForm {
    back: Option<String>,
}

async fn set_enabled(
    s: Arc<AppState>,
    name: String,
    back: Option<String>,
    enabled: bool,
) -> Response {
    blocking(s, move |s| {
        let Some(job) = find_job(&name) else {
            return Ok(error_page(
                &s.view(),
                StatusCode::NOT_FOUND,
                &format!("There is no job named {name}."),
            ));
        };
        s.ctx().config()?;
        let changed = crate::config_edit::set_job_enabled(&s.paths.config, job, enabled)?;
        let notice = match (changed, enabled) {
            (false, _) => "unchanged",
            (true, true) => "enabled",
            (true, false) => "disabled",
        };
        let back = local(back.as_deref(), "/jobs");
        let sep = if back.contains('?') { '&' } else { '?' };
        Ok(Redirect::to(&format!("{back}{sep}notice={notice}")).into_response())
    })
    .await
}

async fn enable(State(s): S, Path(name): Path<String>, Form(f): Form<BackForm>) -> Response {
    set_enabled(s, name, f.back, true).await
}

async fn disable(State(s): S, Path(name): Path<String>, Form(f): Form<BackForm>) -> Response {
    set_enabled(s, name, f.back, false).await
}

async fn run_now(State(s): S, Path(name): Path<String>) -> Response {
    let Some(job) = find_job(&name) else {
        return error_page(
            &s.view(),
            StatusCode::NOT_FOUND,
            &format!("There is no job named {name}."),
        );
    };
    let id = s.launches.start(&s.paths, job);
    Redirect::to(&format!("/launches/{id}")).into_response()
}

async fn launch_page(State(s): S, Path(id): Path<String>) -> Response {
    match s.launches.get(&id) {
        Some(l) => pages::jobs::launch(&s.view(), &l).into_response(),
        None => error_page(
            &s.view(),
            StatusCode::NOT_FOUND,
            "No run with this id was started from this dashboard (it may have been started by an earlier one).",
        ),
    }
}

#[derive(Deserialize)]
struct ScheduleForm {
    schedule: String,
}

async fn save_schedule(
    State(s): S,
    Path(name): Path<String>,
    Form(f): Form<ScheduleForm>,
) -> Response {
    blocking(s, move |s| {
        let Some(job) = find_job(&name) else {
            return Ok(error_page(
                &s.view(),
                StatusCode::NOT_FOUND,
                &format!("There is no job named {name}."),
            ));
        };
        let expr = f.schedule.trim().to_string();
        if let Err(e) = crate::schedule::CronSchedule::parse(&expr) {
            let status = crate::cli::jobs::job_status(&s.ctx(), job)?;
            let preview = pages::jobs::Explained::of(&expr);
            let page = pages::jobs::detail(
                &s.view(),
                job,
                &status,
                &[],
                None,
                Some(&preview),
                Some(&format!("{e:#}")),
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        s.ctx().config()?;
        let changed = crate::config_edit::set_job_schedule(&s.paths.config, job, &expr)?;
        let notice = if changed {
            "schedule-saved"
        } else {
            "unchanged"
        };
        Ok(Redirect::to(&format!("/jobs/{}?notice={notice}", job.program)).into_response())
    })
    .await
}

async fn install_schedules(State(s): S) -> Response {
    blocking(s, |s| {
        let config = s.ctx().config()?;
        let backend = crate::schedule::install::Backend::detect();
        let outcome = crate::schedule::entry::bin_dir()
            .and_then(|dir| crate::schedule::entry::enabled_entries(&config, &s.paths, &dir))
            .and_then(|entries| {
                let report = crate::schedule::install::install(backend, &entries, &s.paths.logs)?;
                Ok((entries, report))
            });
        Ok(
            pages::jobs::installed(&s.view(), backend, outcome.map_err(|e| format!("{e:#}")))
                .into_response(),
        )
    })
    .await
}

#[derive(Deserialize)]
struct ExplainQuery {
    expr: String,
}

async fn explain_api(Query(q): Query<ExplainQuery>) -> Response {
    let e = pages::jobs::Explained::of(&q.expr);
    Json(serde_json::json!({
        "ok": e.error.is_none(),
        "description": e.description,
        "next_runs": e.next_runs,
        "next_runs_text": e.next_runs.iter().map(|t| pages::jobs::readable(t)).collect::<Vec<_>>(),
        "time_zone": e.zone,
        "error": e.error,
    }))
    .into_response()
}

#[derive(Deserialize, Default)]
struct HistoryQuery {
    job: Option<String>,
    status: Option<String>,
    days: Option<usize>,
    n: Option<usize>,
}

async fn history_page(State(s): S, Query(q): Query<HistoryQuery>) -> Response {
    blocking(s, move |s| {
        let job = q
            .job
            .as_deref()
            .filter(|j| !j.is_empty())
            .and_then(find_job);
        let status = q.status.filter(|st| !st.is_empty());
        let days = q.days.unwrap_or(14).clamp(1, 366);
        let all: Vec<_> = history::read(&s.paths.history)?
            .into_iter()
            .filter(|r| job.is_none_or(|j| r.job_name == j.name))
            .collect();
        let filter = pages::history::Filter {
            job,
            status,
            days,
            limit: q.n.unwrap_or(50).clamp(1, 1000),
        };
        Ok(pages::history::page(&s.view(), &all, &filter, chrono::Utc::now()).into_response())
    })
    .await
}

async fn run_page(State(s): S, Path(run_id): Path<String>) -> Response {
    blocking(s, move |s| {
        let runs = history::read(&s.paths.history)?;
        let Some(run) = runs.into_iter().rev().find(|r| r.run_id == run_id) else {
            return Ok(error_page(&s.view(), StatusCode::NOT_FOUND, "No run with this id is in history.jsonl (old runs are pruned after [logs] keep_days)."));
        };
        let lines = super::logs::for_run(&s.paths, &run);
        Ok(pages::history::run(&s.view(), &run, &lines).into_response())
    })
    .await
}

#[derive(Deserialize, Default)]
struct MemosQuery {
    status: Option<String>,
    q: Option<String>,
    notice: Option<String>,
    n: Option<usize>,
}

async fn memos_page(State(s): S, Query(q): Query<MemosQuery>) -> Response {
    blocking(s, move |s| {
        let source = s.memos()?;
        let status = q.status.filter(|x| !x.is_empty());
        let text = q.q.filter(|x| !x.trim().is_empty());
        let listing = match &text {
            Some(t) => pages::memos::Listing::Hits(source.search(t, 100)?),
            None => pages::memos::Listing::Rows(source.list(status.as_deref(), 500)?),
        };
        let notice = q.notice.as_deref().map(|k| (k, q.n.unwrap_or(0)));
        Ok(pages::memos::list(
            &s.view(),
            &listing,
            status.as_deref(),
            text.as_deref(),
            notice,
            &source.describe(),
        )
        .into_response())
    })
    .await
}

async fn memo_page(State(s): S, Path(id): Path<String>, Query(q): Query<NoticeQuery>) -> Response {
    blocking(s, move |s| {
        let config = s.ctx().config()?;
        let vault = (config.sync.target == crate::config::SyncTarget::Markdown)
            .then_some(config.sync.markdown.dir.as_path());
        match s.memos()?.get(&id)? {
            Some(m) => {
                Ok(pages::memos::detail(&s.view(), &m, q.notice.as_deref(), vault).into_response())
            }
            None => Ok(error_page(
                &s.view(),
                StatusCode::NOT_FOUND,
                "No memo with this id or file name is known.",
            )),
        }
    })
    .await
}

async fn retry_one(State(s): S, Path(id): Path<String>) -> Response {
    blocking(s, move |s| {
        let source = s.memos()?;
        let Some(m) = source.get(&id)? else {
            return Ok(error_page(
                &s.view(),
                StatusCode::NOT_FOUND,
                "No memo with this id or file name is known.",
            ));
        };
        let queued = source.retry(&RetryWhat::Ids(vec![m.row.id.clone()]))?;
        let notice = if queued.is_empty() {
            "not-queued"
        } else {
            "queued"
        };
        Ok(
            Redirect::to(&format!("/memos/{}?notice={notice}", urlencode(&m.row.id)))
                .into_response(),
        )
    })
    .await
}

#[derive(Deserialize)]
struct RetryStatusForm {
    status: String,
}

async fn retry_status(State(s): S, Form(f): Form<RetryStatusForm>) -> Response {
    blocking(s, move |s| {
        if f.status == "completed" || !super::memos::STATUSES.contains(&f.status.as_str()) {
            return Ok(error_page(
                &s.view(),
                StatusCode::BAD_REQUEST,
                "Only memos that are not completed can be retried.",
            ));
        }
        let queued = s.memos()?.retry(&RetryWhat::Status(f.status.clone()))?;
        Ok(Redirect::to(&format!(
            "/memos?status={}&notice=queued&n={}",
            urlencode(&f.status),
            queued.len()
        ))
        .into_response())
    })
    .await
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|x| x.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

async fn alerts_page(State(s): S) -> Response {
    blocking(s, |s| {
        let config = s.ctx().config()?;
        Ok(pages::alerts::page(&s.view(), &config.alerts, None).into_response())
    })
    .await
}

#[derive(Deserialize)]
struct AlertForm {
    channel: Option<String>,
}

async fn alert_test(State(s): S, Form(f): Form<AlertForm>) -> Response {
    blocking(s, move |s| {
        let config = s.ctx().config()?;
        let channel = f.channel.filter(|c| !c.is_empty());
        let outcome =
            crate::cli::alert::send_test(&config, channel.as_deref()).map_err(|e| format!("{e:#}"));
        Ok(pages::alerts::page(&s.view(), &config.alerts, Some(&outcome)).into_response())
    })
    .await
}

async fn asset(Path(file): Path<String>) -> Response {
    let mut r = super::assets::get(&file);
    r.headers_mut().remove(header::CACHE_CONTROL);
    r
}
