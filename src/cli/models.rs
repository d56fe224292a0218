//! `astra models`: the speech models of the built-in recognizer — list the catalogue
//! and what is installed, download one (sha256-checked, resumable), remove one.
use super::Ctx;
use super::output::{self, Artifact};
use crate::models::{self, catalogue, download};
use anyhow::Result;
use serde_json::json;

#[derive(clap::Subcommand, Debug)]
pub enum ModelsCommand {
    /// The catalogue: name, size, installed or not (and other .bin files in models/).
    List,
    /// Download a catalogue model into $ASTRA_HOME/models (resumes a partial download;
    /// checks its sha256 before it is used).
    #[command(
        after_help = "Examples:\n  astra models pull base.en\n  ASTRA_MODEL_BASE_URL=http://mirror.local astra models pull small.en\n\nThe URL is <base>/ggerganov/whisper.cpp/resolve/<pinned revision>/ggml-<name>.bin;\nASTRA_MODEL_BASE_URL replaces the base (https://huggingface.co)."
    )]
    Pull {
        /// A catalogue name: tiny.en, tiny, base.en, base, small.en, small, large-v3-turbo.
        name: String,
    },
    /// Delete an installed model (and any partial download of it).
    Rm {
        /// A catalogue name.
        name: String,
    },
}

pub fn run(ctx: &Ctx, cmd: ModelsCommand) -> Result<u8> {
    let dir = models::dir(&ctx.paths.home);
    match cmd {
        ModelsCommand::List => list(ctx, &dir),
        ModelsCommand::Pull { name } => pull(ctx, &dir, &name),
        ModelsCommand::Rm { name } => rm(ctx, &dir, &name),
    }
}

fn find(name: &str) -> Result<&'static models::Model> {
    catalogue::find(name).ok_or_else(|| {
        crate::exit::usage(format!(
            "\"{name}\" is not in the catalogue ({}). For any other ggml model, set [transcription] whisper_model to its path",
            catalogue::names()
        ))
    })
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / 1048576.0)
}

fn list(ctx: &Ctx, dir: &std::path::Path) -> Result<u8> {
    let rows = models::list(dir)?;
    let configured = ctx
        .config()
        .ok()
        .map(|c| c.transcription.whisper_model)
        .unwrap_or_default();
    if ctx.json {
        output::json(
            &json!({
                "models": rows,
                "dir": dir.display().to_string(),
                "configured": configured,
                "revision": catalogue::REVISION,
                "built_in": crate::voice_memo::transcribe::whisper::BUILT_IN,
            }),
            Artifact::Table,
            "Speech Models",
        );
        return Ok(crate::exit::OK);
    }
    let table = output::table(
        &["name", "size", "installed", "notes"],
        rows.iter()
            .map(|r| {
                let installed = if r.installed {
                    "yes".to_string()
                } else if let Some(p) = r.partial_bytes {
                    format!("partial ({})", mib(p))
                } else {
                    "-".to_string()
                };
                let mark = if r.name == configured {
                    " (configured)"
                } else {
                    ""
                };
                vec![
                    format!("{}{mark}", r.name),
                    r.size.map(mib).unwrap_or_default(),
                    installed,
                    r.note.clone(),
                ]
            })
            .collect(),
    );
    println!("{table}");
    println!(
        "Models live in {}. Download one with `astra models pull NAME`.",
        dir.display()
    );
    Ok(crate::exit::OK)
}

fn pull(ctx: &Ctx, dir: &std::path::Path, name: &str) -> Result<u8> {
    let model = find(name)?;
    let progress = if ctx.json {
        download::Progress::Quiet
    } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        download::Progress::Bar
    } else {
        download::Progress::Lines
    };
    crate::run::stop::install_signal_handlers();
    let pulled = download::pull(model, dir, &models::base_url(), progress)?;
    let (path, status, resumed_from, reconnects) = match &pulled {
        download::Pulled::Present(p) => (p.clone(), "present", 0, 0),
        download::Pulled::Downloaded {
            path,
            resumed_from,
            reconnects,
        } => (path.clone(), "downloaded", *resumed_from, *reconnects),
    };
    if ctx.json {
        output::json(
            &json!({
                "name": model.name,
                "status": status,
                "path": path.display().to_string(),
                "size": model.size,
                "sha256": model.sha256,
                "resumed_from": resumed_from,
                "reconnects": reconnects,
            }),
            Artifact::PresentationCard,
            "Model Pulled",
        );
    } else if status == "present" {
        println!(
            "{} is already installed and checked: {}",
            model.name,
            path.display()
        );
    } else {
        println!("{} installed: {}", model.name, path.display());
    }
    Ok(crate::exit::OK)
}

fn rm(ctx: &Ctx, dir: &std::path::Path, name: &str) -> Result<u8> {
    let model = find(name)?;
    let removed = models::remove(model, dir)?;
    if ctx.json {
        output::json(
            &json!({
                "name": model.name,
                "removed": removed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            }),
            Artifact::PresentationCard,
            "Model Removed",
        );
    } else if removed.is_empty() {
        println!("{} is not installed.", model.name);
    } else {
        for p in &removed {
            println!("removed {}", p.display());
        }
    }
    Ok(crate::exit::OK)
}
