//! The simulator serving HTTPS and WSS, as Genesys does: a certificate made at start, trusted
//! through the CA it reports; HTTP/2 by ALPN; `connectUri`s that say `wss://`.

use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use reqwest::{Certificate, Client, Version};
use serde_json::{Value, json};

#[tokio::test]
async fn https_with_http2_and_wss_connect_uris() {
    let sim = genesys_sim::spawn(SimConfig {
        tls: true,
        ..SimConfig::for_tests()
    })
    .await
    .expect("simulator starts");
    let base = sim.base_url();
    assert!(base.starts_with("https://"), "{base}");
    let ca = Certificate::from_pem(sim.ca_pem().expect("a CA").as_bytes()).expect("PEM");
    let client = Client::builder()
        .tls_certs_only([ca])
        .no_proxy()
        .build()
        .expect("client");
    let token: Value = client
        .post(format!("{base}/oauth/token"))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("login over https")
        .json()
        .await
        .expect("token JSON");
    let bearer = token["access_token"].as_str().expect("token");
    let queues = client
        .get(format!("{base}/api/v2/routing/queues"))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("sent");
    assert_eq!(queues.version(), Version::HTTP_2, "ALPN picks HTTP/2");
    assert_eq!(queues.status(), 200);
    let channel: Value = client
        .post(format!("{base}/api/v2/notifications/channels"))
        .bearer_auth(bearer)
        .json(&json!({}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("channel JSON");
    let uri = channel["connectUri"].as_str().expect("connectUri");
    assert!(
        uri.starts_with(&format!("wss://{}/channels/", sim.addr())),
        "{uri}"
    );
}

#[tokio::test]
async fn plain_http_and_untrusted_clients_get_nothing() {
    let sim = genesys_sim::spawn(SimConfig {
        tls: true,
        ..SimConfig::for_tests()
    })
    .await
    .expect("simulator starts");
    let plain = Client::builder().no_proxy().build().expect("client");
    let http = format!("http://{}/__sim/org", sim.addr());
    assert!(plain.get(http).send().await.is_err(), "no plain HTTP");
    let https = format!("{}/__sim/org", sim.base_url());
    assert!(
        plain.get(https).send().await.is_err(),
        "a certificate nobody trusts is refused"
    );
}
