//! `GET /api/v2/tokens/me` and `GET /api/v2/organizations/me`.

use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_ORGANIZATION_ID};

use crate::helpers::{assert_error, spawn_sim};

#[tokio::test]
async fn the_token_names_its_org_and_oauth_client() {
    let sim = spawn_sim().await;
    let me = sim.get_json("/api/v2/tokens/me").await;
    assert_eq!(me["organization"]["id"], DEMO_ORGANIZATION_ID.to_string());
    assert_eq!(me["homeOrganization"], me["organization"]);
    assert_eq!(me["OAuthClient"]["id"], DEMO_CLIENT_ID);
    assert_eq!(
        me["OAuthClient"]["authorizedGrantType"],
        "CLIENT-CREDENTIALS"
    );
    assert_eq!(me["OAuthClient"]["organization"], me["organization"]);
    assert!(me["authorizedScope"].is_array(), "{me}");
}

#[tokio::test]
async fn the_organization_is_the_tokens_org() {
    let sim = spawn_sim().await;
    let org = sim.get_json("/api/v2/organizations/me").await;
    let me = sim.get_json("/api/v2/tokens/me").await;
    assert_eq!(org["id"], me["organization"]["id"]);
    assert_eq!(org["name"], me["organization"]["name"]);
    assert_eq!(org["state"], "active");
    assert_eq!(
        org["selfUri"],
        format!("/api/v2/organizations/{DEMO_ORGANIZATION_ID}")
    );
}

#[tokio::test]
async fn both_need_a_bearer_token() {
    let sim = spawn_sim().await;
    for path in ["/api/v2/tokens/me", "/api/v2/organizations/me"] {
        let response = sim.plain.get(sim.url(path)).send().await.expect("sent");
        assert_error(response, 401, "authentication.required").await;
    }
}
