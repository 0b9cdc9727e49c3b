//! The `public-stats` binary: reads the configuration, builds the service (sandbox mode when no
//! credentials are set) and serves until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue};
use clap::{CommandFactory, Parser};
use public_stats::config::Args;
use public_stats::startup::Application;
use public_stats::telemetry;
use public_stats::telemetry::logs::LogFormat;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Args::try_parse() {
        Ok(args) => args.into_settings().map_err(|error| error.to_string()),
        // --help and --version are "errors" to clap; they print and exit 0.
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => Err(explain(&error)),
    };
    let settings = match settings {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("public-stats: configuration error: {message}");
            return ExitCode::from(EX_USAGE);
        }
    };
    let log_format = settings.log_format;
    telemetry::logs::init(log_format);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("public-stats: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = app.local_addr();
    match &app.state().sandbox {
        // In JSON mode stdout is for JSON lines only: the banner goes into one.
        Some(sandbox) if log_format == LogFormat::Json => {
            tracing::info!(%addr, banner = %sandbox.banner(addr), "public-stats listening in sandbox mode");
        }
        Some(sandbox) => println!("{}", sandbox.banner(addr)),
        None => tracing::info!(%addr, tls = app.is_tls(), "public-stats listening"),
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

/// The conventional exit code for a usage/configuration error (sysexits.h).
const EX_USAGE: u8 = 64;

/// clap's message, plus the environment variable behind the flag it names: most users set
/// variables, not flags, and should see the name they set.
fn explain(error: &clap::Error) -> String {
    let message = error.render().to_string();
    let message = message.trim().trim_start_matches("error: ").to_owned();
    let flag = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.clone(),
        _ => return message,
    };
    let env = Args::command().get_arguments().find_map(|arg| {
        let long = arg.get_long()?;
        let named = flag == format!("--{long}") || flag.starts_with(&format!("--{long} "));
        named
            .then(|| arg.get_env())
            .flatten()
            .map(|env| env.to_string_lossy().into_owned())
    });
    match env {
        Some(env) => format!("{env} (or {flag}): {message}"),
        None => message,
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
