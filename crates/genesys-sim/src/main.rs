//! `genesys-sim`: runs the Genesys Cloud simulator with the demo org until Ctrl-C, for trying the
//! service or the widget by hand. It prints what a client needs (base URL, credentials, queues,
//! deployment id) at start-up.
//!
//! It is not how tests use the simulator: they call `genesys_sim::spawn` in-process.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use genesys_sim::SimConfig;
use tracing_subscriber::EnvFilter;

/// A simulator of the Genesys Cloud APIs public-stats uses, serving the demo org.
#[derive(Debug, Parser)]
#[command(name = "genesys-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
    /// Seed of the simulated traffic, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated seconds per real second (60 = an hour a minute).
    #[arg(long, value_parser = positive_f64)]
    time_scale: Option<f64>,
    /// Lifetime of issued access tokens, in seconds (`expires_in`; Genesys allows 300 to 172800).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=172_800))]
    token_ttl_secs: Option<u64>,
    /// API requests per minute one access token may make before 429s (Genesys: 300); 0 lifts
    /// the limit.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Serve HTTPS and WSS, as Genesys does, with a certificate made at start (its CA is printed:
    /// a client must trust it).
    #[arg(long)]
    tls: bool,
    /// Hold the queues still: no arrivals, no breaks (set state through `/__sim/`).
    #[arg(long)]
    no_traffic: bool,
}

fn positive_f64(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{raw:?} is not a positive number")),
    }
}

impl Args {
    fn config(&self) -> SimConfig {
        let demo = SimConfig::demo();
        SimConfig {
            listen: self.listen,
            seed: self.seed.unwrap_or(demo.seed),
            time_scale: self.time_scale.unwrap_or(demo.time_scale),
            token_ttl: self
                .token_ttl_secs
                .map_or(demo.token_ttl, Duration::from_secs),
            traffic: !self.no_traffic,
            tls: self.tls,
            rate_limit_per_minute: self
                .rate_limit
                .map_or(demo.rate_limit_per_minute, |n| (n > 0).then_some(n)),
            ..demo
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Args::parse().config();
    let sim = genesys_sim::spawn(config.clone()).await?;
    print_banner(&sim, &config);
    tokio::signal::ctrl_c().await?;
    tracing::info!("Ctrl-C: stopping");
    sim.shutdown().await;
    Ok(())
}

/// What a client needs to talk to this instance.
fn print_banner(sim: &genesys_sim::RunningSim, config: &SimConfig) {
    let org = &config.org;
    println!("Genesys Cloud simulator listening on {}", sim.base_url());
    println!("  API and login base URL: {}", sim.base_url());
    println!("  client id:              {}", org.client_id);
    println!("  client secret:          {}", org.client_secret);
    println!("  deployment id:          {}", org.deployment_id);
    println!("  file uploads go to:     {}", sim.upload_base_url());
    println!("  messaging queue id:     {}", org.messaging_queue);
    println!("  queues:");
    for queue in &org.queues {
        println!("    {}  {}", queue.id, queue.name);
    }
    println!(
        "  traffic: {}, time scale: {}, token ttl: {} s, rate limit: {}",
        if config.traffic { "on" } else { "off" },
        config.time_scale,
        config.token_ttl.as_secs(),
        config.rate_limit_per_minute.map_or_else(
            || "none".to_owned(),
            |n| format!("{n} requests/minute per token")
        )
    );
    if let Some(ca) = sim.ca_pem() {
        println!("  TLS: trust this certificate authority (PEM):\n{ca}");
    }
    println!(
        "  control API: {}/__sim/org (see crates/genesys-sim/README.md); Ctrl-C stops",
        sim.base_url()
    );
}
