//! Installing schedules: writes the crontab block, launchd agents or systemd units and
//! tells the scheduler (`crontab -`, `launchctl`, `systemctl --user`). Idempotent.
use super::{Entry, crontab, launchd, systemd};
use crate::jobs;
use crate::paths::user_home;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scheduler astra can install into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cron,
    Launchd,
    Systemd,
}

impl Backend {
    /// launchd on macOS, systemd where a user manager runs, cron otherwise.
    pub fn detect() -> Backend {
        if cfg!(target_os = "macos") {
            return Backend::Launchd;
        }
        if systemd_user_manager_runs() {
            return Backend::Systemd;
        }
        Backend::Cron
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Cron => "cron",
            Backend::Launchd => "launchd",
            Backend::Systemd => "systemd",
        }
    }
}

fn systemd_user_manager_runs() -> bool {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    if runtime.is_some_and(|d| Path::new(&d).join("systemd").is_dir()) {
        return true;
    }
    Command::new("systemctl")
        .args(["--user", "is-system-running"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A file install would write (for cron: the block, under the name `crontab`).
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFile {
    pub path: String,
    pub content: String,
}

/// What install or uninstall did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Files (or `crontab`) written.
    pub written: Vec<String>,
    /// Files (or `crontab`'s block) removed.
    pub removed: Vec<String>,
    /// Scheduler commands run, as typed.
    pub commands: Vec<String>,
}

/// What `install` would write for these entries, without writing it.
pub fn plan(backend: Backend, entries: &[Entry]) -> Result<Vec<PlannedFile>> {
    let mut out = Vec::new();
    match backend {
        Backend::Cron => out.push(PlannedFile {
            path: "crontab".into(),
            content: crontab::block(entries)?,
        }),
        Backend::Launchd => {
            for e in entries {
                out.push(file(launchd_plist(&e.program)?, launchd::render(e)?));
            }
        }
        Backend::Systemd => {
            let dir = systemd_dir()?;
            for e in entries {
                let unit = systemd::unit_name(&e.program);
                out.push(file(
                    dir.join(format!("{unit}.service")),
                    systemd::service(e),
                ));
                out.push(file(dir.join(format!("{unit}.timer")), systemd::timer(e)?));
            }
        }
    }
    Ok(out)
}

fn file(path: PathBuf, content: String) -> PlannedFile {
    PlannedFile {
        path: path.display().to_string(),
        content,
    }
}

/// Installs `entries` (the enabled jobs) and removes the agents or units of the others.
pub fn install(backend: Backend, entries: &[Entry], logs: &Path) -> Result<Report> {
    let planned = plan(backend, entries)?;
    match backend {
        Backend::Cron => install_cron(&planned[0].content),
        Backend::Launchd => install_launchd(entries, &planned, logs),
        Backend::Systemd => install_systemd(entries, &planned),
    }
}

/// Removes everything astra installed into `backend`; other entries stay.
pub fn uninstall(backend: Backend) -> Result<Report> {
    match backend {
        Backend::Cron => uninstall_cron(),
        Backend::Launchd => uninstall_launchd(&all_programs()),
        Backend::Systemd => uninstall_systemd(&all_programs()),
    }
}

fn all_programs() -> Vec<&'static str> {
    jobs::JOBS.iter().map(|j| j.program).collect()
}

fn not_installed<'a>(entries: &[Entry]) -> Vec<&'a str> {
    all_programs()
        .into_iter()
        .filter(|p| !entries.iter().any(|e| e.program == *p))
        .collect()
}

// --- cron ---

fn install_cron(block: &str) -> Result<Report> {
    let mut report = Report::default();
    let current = crontab_list(&mut report)?;
    let updated = crontab::with_block(&current, block)?;
    if updated != current {
        crontab_write(&updated, &mut report)?;
        report.written.push("crontab".into());
    }
    Ok(report)
}

fn uninstall_cron() -> Result<Report> {
    let mut report = Report::default();
    let current = crontab_list(&mut report)?;
    if crontab::has_block(&current) {
        crontab_write(&crontab::without_block(&current)?, &mut report)?;
        report.removed.push("crontab".into());
    }
    Ok(report)
}

/// The `PATH` the installed schedule gives `program` (cron: from astra's block;
/// launchd: the agent's plist, or launchd's default; systemd: the service unit), or
/// None when nothing is installed or the scheduler's PATH is not known here (a unit
/// that sets none gets the user manager's).
pub fn scheduled_path(backend: Backend, program: &str) -> Option<String> {
    match backend {
        Backend::Cron => {
            let text = crontab_list(&mut Report::default()).ok()?;
            crontab::path_in_block(&text, program)
                .or_else(|| crontab::has_block(&text).then(|| "/usr/bin:/bin".to_string()))
        }
        Backend::Launchd => {
            launchd::path_in_plist(&std::fs::read(launchd_plist(program).ok()?).ok()?)
        }
        Backend::Systemd => {
            let unit = systemd_dir()
                .ok()?
                .join(format!("{}.service", systemd::unit_name(program)));
            systemd::path_in_service(&std::fs::read_to_string(unit).ok()?)
        }
    }
}

/// The user's crontab (`crontab -l`); empty when there is none.
fn crontab_list(report: &mut Report) -> Result<String> {
    report.commands.push("crontab -l".into());
    let out = command("crontab", &["-l"], None)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.to_lowercase().contains("no crontab") {
        return Ok(String::new());
    }
    bail!("`crontab -l` failed: {}", stderr.trim())
}

fn crontab_write(text: &str, report: &mut Report) -> Result<()> {
    report.commands.push("crontab -".into());
    let out = command("crontab", &["-"], Some(text))?;
    if !out.status.success() {
        bail!(
            "`crontab -` refused the new crontab: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

// --- launchd ---

fn launch_agents() -> Result<PathBuf> {
    let home = user_home().context("cannot find your home directory: set HOME")?;
    Ok(home.join("Library/LaunchAgents"))
}

fn launchd_plist(program: &str) -> Result<PathBuf> {
    Ok(launch_agents()?.join(format!("{}.plist", launchd::label(program))))
}

fn gui_domain() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    format!("gui/{uid}")
}

fn install_launchd(entries: &[Entry], planned: &[PlannedFile], logs: &Path) -> Result<Report> {
    let mut report = uninstall_launchd(&not_installed(entries))?;
    crate::fsutil::create_dir(&launch_agents()?)?;
    crate::fsutil::create_private_dir(logs)?;
    let domain = gui_domain();
    for (e, f) in entries.iter().zip(planned) {
        let path = Path::new(&f.path);
        crate::fsutil::atomic_write(path, f.content.as_bytes(), 0o644)?;
        report.written.push(f.path.clone());
        let target = format!("{domain}/{}", launchd::label(&e.program));
        // Not loaded yet is fine: bootout only makes a reinstall take the new plist.
        run_logged(&mut report, "launchctl", &["bootout", &target], false)?;
        run_logged(
            &mut report,
            "launchctl",
            &["bootstrap", &domain, &f.path],
            true,
        )?;
    }
    Ok(report)
}

fn uninstall_launchd(programs: &[&str]) -> Result<Report> {
    let mut report = Report::default();
    let domain = gui_domain();
    for program in programs {
        let path = launchd_plist(program)?;
        if !path.exists() {
            continue;
        }
        let target = format!("{domain}/{}", launchd::label(program));
        run_logged(&mut report, "launchctl", &["bootout", &target], false)?;
        remove(&path, &mut report)?;
    }
    Ok(report)
}

// --- systemd ---

fn systemd_dir() -> Result<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => user_home()
            .context("cannot find your home directory: set HOME")?
            .join(".config"),
    };
    Ok(config.join("systemd/user"))
}

fn install_systemd(entries: &[Entry], planned: &[PlannedFile]) -> Result<Report> {
    let mut report = uninstall_systemd(&not_installed(entries))?;
    crate::fsutil::create_dir(&systemd_dir()?)?;
    for f in planned {
        crate::fsutil::atomic_write(Path::new(&f.path), f.content.as_bytes(), 0o644)?;
        report.written.push(f.path.clone());
    }
    run_logged(&mut report, "systemctl", &["--user", "daemon-reload"], true)?;
    for e in entries {
        let timer = format!("{}.timer", systemd::unit_name(&e.program));
        run_logged(
            &mut report,
            "systemctl",
            &["--user", "enable", "--now", &timer],
            true,
        )?;
    }
    Ok(report)
}

fn uninstall_systemd(programs: &[&str]) -> Result<Report> {
    let mut report = Report::default();
    let dir = systemd_dir()?;
    let mut changed = false;
    for program in programs {
        let unit = systemd::unit_name(program);
        let files = [
            dir.join(format!("{unit}.timer")),
            dir.join(format!("{unit}.service")),
        ];
        if !files.iter().any(|f| f.exists()) {
            continue;
        }
        let timer = format!("{unit}.timer");
        run_logged(
            &mut report,
            "systemctl",
            &["--user", "disable", "--now", &timer],
            false,
        )?;
        for f in files.iter().filter(|f| f.exists()) {
            remove(f, &mut report)?;
        }
        changed = true;
    }
    if changed {
        run_logged(&mut report, "systemctl", &["--user", "daemon-reload"], true)?;
    }
    Ok(report)
}

// --- running things ---

fn remove(path: &Path, report: &mut Report) -> Result<()> {
    std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    report.removed.push(path.display().to_string());
    Ok(())
}

/// Runs a scheduler command; when `must_succeed`, a failure is an error with its stderr.
fn run_logged(report: &mut Report, program: &str, args: &[&str], must_succeed: bool) -> Result<()> {
    report
        .commands
        .push(format!("{program} {}", args.join(" ")));
    let out = command(program, args, None)?;
    if must_succeed && !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn command(program: &str, args: &[&str], stdin: Option<&str>) -> Result<std::process::Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{program}`: is it installed and on PATH?"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .with_context(|| format!("writing to `{program}`"))?;
    }
    child
        .wait_with_output()
        .with_context(|| format!("waiting for `{program}`"))
}

/// Whether a job's schedule is installed in a scheduler, and loaded where that can
/// be asked.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub program: String,
    pub installed: bool,
    /// launchd: `launchctl print` knows it; systemd: the timer is active; cron: `None`.
    pub loaded: Option<bool>,
}

/// The install status of `programs` in `backend` (read-only: runs `crontab -l`,
/// `launchctl print`, `systemctl --user is-active`).
pub fn status(backend: Backend, programs: &[&str]) -> Result<Vec<Installed>> {
    let mut out = Vec::new();
    match backend {
        Backend::Cron => {
            let text = crontab_list(&mut Report::default())?;
            let block = crontab::has_block(&text).then(|| {
                text.lines()
                    .skip_while(|l| !l.starts_with("# BEGIN astra"))
                    .take_while(|l| !l.starts_with("# END astra"))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            for p in programs {
                let installed = block.as_ref().is_some_and(|b| {
                    b.lines()
                        .any(|l| !l.starts_with('#') && l.contains(&format!("/{p}")))
                });
                out.push(Installed {
                    program: p.to_string(),
                    installed,
                    loaded: None,
                });
            }
        }
        Backend::Launchd => {
            for p in programs {
                let installed = launchd_plist(p)?.exists();
                let target = format!("{}/{}", gui_domain(), launchd::label(p));
                let loaded = installed
                    && command("launchctl", &["print", &target], None)
                        .is_ok_and(|o| o.status.success());
                out.push(Installed {
                    program: p.to_string(),
                    installed,
                    loaded: Some(loaded),
                });
            }
        }
        Backend::Systemd => {
            let dir = systemd_dir()?;
            for p in programs {
                let unit = systemd::unit_name(p);
                let installed = dir.join(format!("{unit}.timer")).exists();
                let timer = format!("{unit}.timer");
                let loaded = installed
                    && command("systemctl", &["--user", "is-active", &timer], None)
                        .is_ok_and(|o| o.status.success());
                out.push(Installed {
                    program: p.to_string(),
                    installed,
                    loaded: Some(loaded),
                });
            }
        }
    }
    Ok(out)
}
