//! The Manage user page: the user's profile (with, for the holder, the Password and
//! Sessions sections; for an administrator, the user's Sessions), or its 2-Step verification
//! section. For the signed-in user's own page the session's copy shows at once while a fresh
//! one loads.

use crate::api;
use crate::components::message::error;
use crate::components::password_form::PasswordForm;
use crate::components::sessions::Sessions;
use crate::components::two_step::TwoStepSection;
use crate::hooks::{Load, use_load};
use crate::pages::users::{account_text, role_text};
use crate::session::{SessionState, use_session};
use twostep_shared::ErrorCode;
use twostep_shared::api::{AccountKind, Role, User};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ManageUserProps {
    pub id: i64,
    /// Show the 2-Step verification section instead of the profile.
    pub two_step: bool,
}

fn failure_text(failure: &api::ApiFailure) -> String {
    match failure.code() {
        ErrorCode::Forbidden => "You can only manage your own profile.".to_owned(),
        ErrorCode::NotFound => "There is no such user.".to_owned(),
        _ => failure.message().to_owned(),
    }
}

#[function_component(ManageUser)]
pub fn manage_user(props: &ManageUserProps) -> Html {
    let session = use_session();
    let my_id = match &*session {
        SessionState::SignedIn(me) => me.id,
        _ => 0,
    };
    // One's own record comes from GET /api/me, which also refreshes the session.
    let loaded = {
        let session = session.clone();
        use_load((props.id, my_id), move |(id, my_id)| {
            if id != my_id {
                return api::user(id);
            }
            let session = session.clone();
            api::me().map(move |me| {
                if !matches!(&*session, SessionState::SignedIn(old) if *old == me) {
                    session.set(SessionState::SignedIn(me.clone()));
                }
                me
            })
        })
    };
    let SessionState::SignedIn(me) = &*session else {
        return html! {};
    };
    let is_self = me.id == props.id;
    let on_changed = {
        let loaded = loaded.clone();
        Callback::from(move |()| loaded.reload())
    };
    let user: Result<Option<&User>, &api::ApiFailure> = match loaded.state() {
        Load::Ready(user) => Ok(Some(user)),
        Load::Error(failure) => Err(failure),
        Load::Loading if is_self => Ok(Some(me)),
        Load::Loading => Ok(None),
    };
    let body = match user {
        Ok(None) => html! { <p role="status">{ "Loading…" }</p> },
        Err(failure) => error(failure_text(failure).into()),
        Ok(Some(user)) if props.two_step => html! {
            <TwoStepSection key={user.id} user={user.clone()} {is_self}
                viewer_is_admin={me.role == Role::Administrator} {on_changed} />
        },
        Ok(Some(user)) => html! { <>
            <section aria-labelledby="profile-heading">
                <h2 id="profile-heading">{ "Profile" }</h2>
                <dl class="profile-facts">
                    <dt>{ "Username" }</dt><dd>{ &user.username }</dd>
                    <dt>{ "Account" }</dt><dd>{ account_text(&user.account) }</dd>
                    <dt>{ "Role" }</dt><dd>{ role_text(user.role) }</dd>
                    <dt>{ "2-Step verification" }</dt>
                    <dd>{ match &user.two_step { Some(s) if s.enabled => "On", _ => "Off" } }</dd>
                </dl>
            </section>
            if is_self && user.account == AccountKind::TeamServer {
                <PasswordForm />
            }
            if is_self {
                <Sessions user={None::<i64>} />
            } else if me.role == Role::Administrator {
                <Sessions user={Some(user.id)} />
            }
        </> },
    };
    let title = match user {
        Ok(Some(user)) => format!("Manage user: {}", user.username),
        _ => "Manage user".to_owned(),
    };
    html! {
        <>
            <h1>{ title }</h1>
            { body }
        </>
    }
}
