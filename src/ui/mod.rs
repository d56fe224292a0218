//! `astra ui`: a local web dashboard over the jobs, their history, the memos and the
//! alerts. One process the user starts when they want to look, and stops.
//!
//! Map: [`security`] (token, cookie, Host, CSRF, headers: one middleware), [`routes`]
//! (thin handlers: gather data on a blocking thread, render), [`pages`] (pure HTML
//! rendering with maud), [`charts`] (server-rendered SVG), [`daily`] (history per
//! day), [`logs`] (a run's log lines), [`launch`] (run now), [`memos`] (the catalogue
//! as the pages see it), [`assets`] (CSS and JS compiled into the binary).
pub mod assets;
pub mod charts;
pub mod daily;
pub mod launch;
pub mod logs;
pub mod memos;
pub mod pages;
pub mod routes;
pub mod security;

use crate::paths::Paths;
use anyhow::{Context, Result};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// 0: any free port.
    pub port: u16,
    /// The address to listen on; loopback unless the user asked for another.
    pub bind: IpAddr,
    /// Open the browser on the URL.
    pub open: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 8765,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            open: true,
        }
    }
}

/// The URL a person opens: the address, the port and the token.
pub fn url(addr: SocketAddr, token: &str) -> String {
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("http://{host}:{}/?token={token}", addr.port())
}

/// Serves until Ctrl-C or SIGTERM; prints the URL as the first line on stdout.
pub fn serve(paths: Paths, opts: Options) -> Result<u8> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the dashboard's runtime")?;
    let code = rt.block_on(serve_async(paths, opts))?;
    // A job started from the page runs in its own process and thread; it is not waited for.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    Ok(code)
}

async fn serve_async(paths: Paths, opts: Options) -> Result<u8> {
    if !opts.bind.is_loopback() {
        eprintln!(
            "astra ui: warning: listening on {}, beyond this machine: anyone who can reach it and learns the token can run your jobs, and the token travels unencrypted (no TLS). Without --bind the dashboard listens on 127.0.0.1 only.",
            opts.bind
        );
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(opts.bind, opts.port))
        .await
        .with_context(|| {
            format!(
                "listening on {}:{} (another program may use the port: try --port 0 for a free one)",
                opts.bind, opts.port
            )
        })?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let state = Arc::new(routes::AppState::new(paths, addr));
    let url = url(addr, &state.security.token);
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{url}");
        let _ = out.flush();
    }
    eprintln!("astra ui: serving the dashboard at the address above; Ctrl-C stops it.");
    if opts.open {
        open_browser(&url);
    }
    let app = routes::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the dashboard")?;
    eprintln!("astra ui: stopped.");
    Ok(crate::exit::OK)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

/// `open` on macOS, `xdg-open` elsewhere; a failure only means the user opens it.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Ok(mut child) = spawned {
        // Reap it in the background so it leaves no zombie.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_loopback_address_and_the_token() {
        let a: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(url(a, "abc"), "http://127.0.0.1:4321/?token=abc");
        let a: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(url(a, "t"), "http://[::1]:80/?token=t");
        let a: SocketAddr = "0.0.0.0:9".parse().unwrap();
        assert_eq!(url(a, "t"), "http://127.0.0.1:9/?token=t");
    }
}
