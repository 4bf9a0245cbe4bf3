//! The users list and one user: `GET /api/users?q=&page=|after=&two_step=on|off|locked|security_keys&role=&kind=&disabled=`
//! (the beginning of a name, filters, 50 a page, all in the database: see
//! [`crate::accounts::listing`]), `GET /api/users/{id}`.
//!
//! Every signed-in user sees the list (name, account type, role); the 2-step status is shown
//! only to administrators and to the user themself. One user's page is for the user
//! themself and administrators. What a change to it needs (removing its 2-step verification,
//! unlocking, ending sessions) is the account-changes table's to say.

use crate::accounts::creation::{self, Kind, NewAccount as NewAccountSpec};
use crate::accounts::listing::{self, Filter, KindFilter, Start, TwoStepFilter};
use crate::accounts::operations;
use crate::factors::security_keys::Offered;
use crate::sessions::list::{self as session_list, Ending};
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{Admin, ApiJson, ApiQuery, ClientAddr, SignedIn};
use crate::{accounts::users, factors::two_step};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use std::num::NonZeroU32;
use twostep_shared::account::{EmailAddress, SessionList, SessionsEnded};
use twostep_shared::api::{
    AccountCreated, CreateUserRequest, NewAccount, RemoveDeviceRequest, Role, SetRoleRequest,
    USERS_PER_PAGE, User, UserList,
};
use twostep_shared::input::USERNAME_MAX;
use twostep_shared::input::Username;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(create))
        .route("/api/users/{id}/password", post(reset_password))
        .route("/api/users/{id}", get(one).delete(delete_user))
        .route("/api/users/{id}/role", put(set_role))
        .route("/api/users/{id}/disable", post(disable))
        .route("/api/users/{id}/enable", post(enable))
        .route("/api/users/{id}/two-step", delete(remove_device))
        .route("/api/users/{id}/two-step/unlock", post(unlock))
        .route("/api/users/{id}/email", get(email).put(set_email))
        .route(
            "/api/users/{id}/sessions",
            get(sessions).delete(end_sessions),
        )
        .route("/api/users/{id}/sessions/{session_id}", delete(end_session))
}

/// Which accounts `GET /api/users` lists.
#[derive(Debug, Deserialize)]
struct UsersQuery {
    /// The beginning of the username, any case.
    q: Option<String>,
    /// 1-based page number (`0` is refused like any other bad query).
    page: Option<NonZeroU32>,
    /// The page just after this name (the `next` of the page before; not with `page`).
    after: Option<String>,
    /// Only accounts with 2-step verification on, off, locked, or with security keys
    /// (administrators only: others
    /// do not see anyone else's status).
    two_step: Option<TwoStepFilter>,
    role: Option<Role>,
    kind: Option<KindFilter>,
    /// Only disabled accounts (`true`) or only the others (administrators only).
    disabled: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    ApiQuery(query): ApiQuery<UsersQuery>,
) -> ApiResult<Json<UserList>> {
    let name = query.q.as_deref().map(str::trim).unwrap_or_default();
    if name.chars().count() > USERNAME_MAX {
        return Err(ApiError::invalid(
            "q",
            format!("Search for at most {USERNAME_MAX} characters of a name."),
        ));
    }
    if !me.is_admin() && (query.two_step.is_some() || query.disabled.is_some()) {
        return Err(ApiError::forbidden());
    }
    let filter = Filter {
        name: (!name.is_empty()).then(|| name.to_owned()),
        role: query.role,
        two_step: query.two_step,
        disabled: query.disabled,
        kind: query.kind,
    };
    let (start, page) = match (query.after, query.page) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "after",
                "Ask for a page by its number or by the name before it, not both.",
            ));
        }
        (Some(name), None) => (Start::After(name), 0),
        (None, page) => {
            let page = page.map_or(1, NonZeroU32::get);
            (Start::Page(page), page)
        }
    };
    let found = listing::page(&state.db, &filter, &start, USERS_PER_PAGE).await?;
    let (total, more) = listing::count(&state.db, &filter).await?;
    // Administrators see everyone's status; others only their own.
    let users = found
        .listed
        .into_iter()
        .map(|l| {
            let shown = me.is_admin() || l.user.id == me.id;
            let mut user = l.user.to_api(shown.then_some(l.two_step));
            user.email = l.email.filter(|_| shown);
            user
        })
        .collect();
    let two_step_summary = if me.is_admin() {
        Some(listing::summary(&state.db).await?)
    } else {
        None
    };
    Ok(Json(UserList {
        users,
        total,
        more,
        page,
        next: found.next,
        per_page: USERS_PER_PAGE,
        two_step_summary,
    }))
}

/// Parses a user id from the path; anything but a number is "not found".
pub fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

async fn one(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<User>> {
    let user = target(&state, &me, &raw_id).await?;
    let status = two_step::status(&state.db, user.id).await?;
    let mut answer = user.to_api(Some(status));
    answer.email = crate::accounts::email::of(&state.db, user.id).await?;
    Ok(Json(answer))
}

/// The user a path names, for a caller who may act on it (themself or an administrator).
async fn target(
    state: &AppState,
    me: &users::UserRecord,
    raw_id: &str,
) -> ApiResult<users::UserRecord> {
    let id = parse_id(raw_id)?;
    if !me.is_admin() && me.id != id {
        return Err(ApiError::forbidden());
    }
    users::find(&state.db, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The holder (with a proof of the second factor) or an administrator.
async fn remove_device(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<RemoveDeviceRequest>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let offered = Offered::new(request.proof.as_deref(), request.security_key.as_ref());
    two_step::remove_device(&state, me.by(&state), &subject, offered, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator's view of a user's sessions (Manage user).
async fn sessions(
    State(state): State<AppState>,
    Admin(SignedIn {
        user: me, session, ..
    }): Admin,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<SessionList>> {
    let subject = target(&state, &me, &raw_id).await?;
    let asking = (subject.id == me.id).then_some(&session);
    Ok(Json(session_list::list(&state, &subject, asking).await?))
}

/// An administrator ends every session of a user (but their own asking session).
async fn end_sessions(
    State(state): State<AppState>,
    Admin(me): Admin,
    client: ClientAddr,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<SessionsEnded>> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let ending = Ending {
        by: me.by(&state),
        subject: &subject,
        client_addr: client.as_deref(),
    };
    let ended = session_list::end_others(&state, ending).await?;
    Ok(Json(SessionsEnded {
        sessions_ended: ended,
    }))
}

async fn end_session(
    State(state): State<AppState>,
    Admin(me): Admin,
    client: ClientAddr,
    Path((raw_id, session_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let ending = Ending {
        by: me.by(&state),
        subject: &subject,
        client_addr: client.as_deref(),
    };
    session_list::end_one(&state, ending, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unlock(
    State(state): State<AppState>,
    Admin(me): Admin,
    addr: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    two_step::unlock(&state, me.by(&state), &subject, addr.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The address security e-mails go to (the holder or an administrator).
async fn email(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<EmailAddress>> {
    let subject = target(&state, &me, &raw_id).await?;
    let email = crate::accounts::email::of(&state.db, subject.id).await?;
    Ok(Json(EmailAddress { email }))
}

/// Sets it (the holder after "Confirm it's you", or an administrator); the previous address
/// is told.
async fn set_email(
    State(state): State<AppState>,
    me: SignedIn,
    addr: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<EmailAddress>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let by = me.by(&state);
    let email = request.email.as_deref();
    crate::accounts::email::set(&state, by, &subject, email, addr.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator makes another account an administrator, or a user again.
async fn set_role(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<SetRoleRequest>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    operations::set_role(&state, me.by(&state), &subject, request.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator disables another account: it signs in by no path, its sessions end.
async fn disable(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(raw_id): Path<String>,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    operations::set_disabled(&state, me.by(&state), &subject, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(raw_id): Path<String>,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    operations::set_disabled(&state, me.by(&state), &subject, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator deletes another account (its audit events stay).
async fn delete_user(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(raw_id): Path<String>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    operations::delete(&state, me.by(&state), &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator adds an account: a Team Server account (with a one-time password, shown
/// once in the answer) or an organizational one.
async fn create(
    State(state): State<AppState>,
    Admin(me): Admin,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let username =
        Username::parse(&request.username).map_err(|e| ApiError::invalid("username", e))?;
    let kind = match &request.account {
        NewAccount::TeamServer => Kind::TeamServer,
        NewAccount::Organizational {
            identity_provider,
            email,
            subject,
        } => Kind::organizational(identity_provider, email.as_deref(), subject.as_deref())?,
    };
    let account = NewAccountSpec {
        username,
        role: request.role,
        kind,
        email: crate::accounts::email::parse(request.email.as_deref())?,
    };
    let known = |name: &str| state.settings.identity_provider(name).is_some();
    let mut created = creation::create_accounts(&state, me.by(&state), &[account], &known)
        .await
        .map_err(|(_, e)| e)?;
    let created = created
        .pop()
        .ok_or_else(|| ApiError::internal("no account created"))?;
    let status = two_step::status(&state.db, created.user.id).await?;
    let mut user = created.user.to_api(Some(status));
    user.email = crate::accounts::email::of(&state.db, user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            user,
            one_time_password: created.one_time_password.map(|p| p.into_inner()),
        }),
    ))
}

/// An administrator resets another account's password: a one-time password (shown once) the
/// holder must change; every session and known browser of the account ends.
async fn reset_password(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(raw_id): Path<String>,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<AccountCreated>> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let reset = operations::reset_password(
        &state,
        me.by(&state),
        &subject,
        operations::NewPassword::OneTime,
    )
    .await?;
    let user = users::find(&state.db, subject.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = two_step::status(&state.db, user.id).await?;
    Ok(Json(AccountCreated {
        user: user.to_api(Some(status)),
        one_time_password: reset.one_time_password.map(|p| p.into_inner()),
    }))
}
