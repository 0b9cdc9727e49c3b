//! Clustered mode over TLS with real parts: the real service binary against a redis-server that
//! speaks only TLS, with a certificate from a private authority. Trusting that authority through
//! `SSL_CERT_FILE` is all an operator needs; without it the service refuses to start instead of
//! running on a link it could not verify.

use std::ffi::OsStr;
use std::time::Duration;

use serde_json::Value;
use test_redis::RedisServer;
use tokio::time::Instant;

use crate::cluster_live::{Client, Deployment, Instance, sales_at};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_trusting_the_private_ca_leads_and_pushes_changes_over_rediss() {
    let redis = RedisServer::start_tls();
    let url = redis.url();
    assert!(url.starts_with("rediss://localhost:"), "{url}");
    let ca = redis.ca_file().unwrap().to_path_buf();
    let deployment = Deployment::start_on(redis, 1, &[("SSL_CERT_FILE", ca.as_os_str())]).await;
    deployment.until_settled(Duration::from_secs(45)).await;
    let response = deployment
        .http
        .get(format!("http://{}/readyz", deployment.instances[0].base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["leader"], true, "{body}");
    assert_eq!(body["redis"]["reachable"], true, "{body}");
    assert_eq!(body["degraded"], false, "{body}");

    let client = Client::connect(&deployment.instances[0]).await;
    let changed = Instant::now();
    deployment.set_sales(4, 7).await;
    client
        .first(changed, Duration::from_secs(10), sales_at(4, 7))
        .await
        .unwrap_or_else(|| {
            panic!(
                "the client never saw the change; last: {:?}\n{}",
                client.last(),
                deployment.logs()
            )
        });
}

/// Starts one instance against `redis` with `env` and expects it to stop at start, saying why.
async fn refuses_to_start(sim_url: &str, redis: &RedisServer, env: &[(&str, &OsStr)]) {
    let mut instance = Instance::start_with(sim_url, &redis.url(), env);
    let status = instance
        .exited_within(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("still running on an unverified link:\n{}", instance.log()));
    let log = instance.log();
    assert!(!status.success(), "{status}\n{log}");
    assert!(
        log.contains("REDIS_URL"),
        "the error names the setting:\n{log}"
    );
    assert!(log.contains(&redis.url()), "and where it tried:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_does_not_trust_the_servers_ca_refuses_to_start() {
    let sim = genesys_sim::spawn(genesys_sim::SimConfig::for_tests())
        .await
        .unwrap();
    let redis = RedisServer::start_tls();
    // The system's roots only.
    refuses_to_start(&sim.base_url(), &redis, &[]).await;
    // Some other private authority.
    let other = RedisServer::start_tls();
    let wrong_ca = other.ca_file().unwrap();
    refuses_to_start(
        &sim.base_url(),
        &redis,
        &[("SSL_CERT_FILE", wrong_ca.as_os_str())],
    )
    .await;
    // Nothing was written: the service never got as far as talking to Redis.
    assert_eq!(redis.cli(&["DBSIZE"]), "0");
}
