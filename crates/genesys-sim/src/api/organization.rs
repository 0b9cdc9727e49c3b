//! Who the caller is: `GET /api/v2/tokens/me` (`TokenInfo` of the bearer token: its org and OAuth
//! client) and `GET /api/v2/organizations/me` (`Organization`). A service may call them once at
//! start-up to check its credentials and show which org it serves.
//!
//! It is not org administration: there is one org, fixed, with one OAuth client.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::config::{DEMO_ORGANIZATION_ID, DEMO_ORGANIZATION_NAME};
use crate::state::SimState;

/// When the simulated OAuth client was created: a fixed moment, like the queues' dates.
const CLIENT_CREATED: &str = "2024-01-15T09:00:00.000Z";

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/api/v2/tokens/me", get(token_info))
        .route("/api/v2/organizations/me", get(organization))
}

fn org_ref() -> Value {
    json!({"id": DEMO_ORGANIZATION_ID, "name": DEMO_ORGANIZATION_NAME})
}

/// The bearer check has already passed; every token belongs to the org's one OAuth client.
async fn token_info(State(state): State<SimState>) -> Json<Value> {
    let client_id = &state.config.org.client_id;
    Json(json!({
        "organization": org_ref(),
        "homeOrganization": org_ref(),
        // A client-credentials grant acts through its roles; it is granted no OAuth scopes.
        "authorizedScope": [],
        "OAuthClient": {
            "id": client_id,
            "name": "Public Stats",
            "dateCreated": CLIENT_CREATED,
            "authorizedGrantType": "CLIENT-CREDENTIALS",
            "state": "active",
            "organization": org_ref(),
        },
    }))
}

async fn organization() -> Json<Value> {
    Json(json!({
        "id": DEMO_ORGANIZATION_ID,
        "name": DEMO_ORGANIZATION_NAME,
        "defaultLanguage": "en",
        "defaultCountryCode": "US",
        "thirdPartyOrgName": "genesys-sim",
        "domain": "genesys-sim",
        "version": 1,
        "state": "active",
        "voicemailEnabled": false,
        "productPlatform": "GenesysCloud",
        "selfUri": format!("/api/v2/organizations/{DEMO_ORGANIZATION_ID}"),
    }))
}
