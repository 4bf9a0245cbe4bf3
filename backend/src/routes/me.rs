//! The signed-in user's own account: `GET /api/me`, 2-step verification setup, and new
//! recovery codes.

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ClientAddr, SignedIn};
use crate::two_step;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use twostep_shared::api::{
    ConfirmRequest, NewRecoveryCodesRequest, RecoveryCodes, SetupResponse, User,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/me/two-step/setup", post(setup))
        .route("/me/two-step/confirm", post(confirm))
        .route("/me/two-step/recovery-codes", post(new_recovery_codes))
}

async fn me(
    State(state): State<AppState>,
    SignedIn { user, .. }: SignedIn,
) -> ApiResult<Json<User>> {
    let status = two_step::status(&state.db, user.id).await?;
    Ok(Json(user.to_api(Some(status))))
}

/// The body is ignored but must be JSON (e.g. `{}`): like every state-changing request, this
/// one needs a JSON content type, which a cross-site form cannot send.
async fn setup(
    State(state): State<AppState>,
    SignedIn { user, .. }: SignedIn,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<SetupResponse>> {
    two_step::start_setup(&state, &user).await.map(Json)
}

async fn confirm(
    State(state): State<AppState>,
    SignedIn { user, .. }: SignedIn,
    addr: ClientAddr,
    ApiJson(request): ApiJson<ConfirmRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    two_step::confirm(&state, &user, request, addr.as_deref())
        .await
        .map(Json)
}

async fn new_recovery_codes(
    State(state): State<AppState>,
    SignedIn { user, .. }: SignedIn,
    addr: ClientAddr,
    ApiJson(request): ApiJson<NewRecoveryCodesRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    two_step::regenerate_recovery_codes(&state, &user, &request.code, addr.as_deref())
        .await
        .map(Json)
}
