//! The `public-stats` binary: reads the configuration, builds the service (sandbox mode when no
//! credentials are set) and serves until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use public_stats::config::Args;
use public_stats::startup::Application;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,memory_serve=warn")),
        )
        .init();
    let settings = match Args::parse().into_settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("public-stats: configuration error: {error}");
            return ExitCode::from(64);
        }
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("public-stats: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = app.local_addr();
    match &app.state().sandbox {
        Some(sandbox) => println!("{}", sandbox.banner(addr)),
        None => tracing::info!(%addr, "public-stats listening"),
    }
    let stop = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(stop.clone()));
    match app.run_until(stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("public-stats: server error: {error}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_on_signal(stop: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    stop.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    stop.cancel();
}
