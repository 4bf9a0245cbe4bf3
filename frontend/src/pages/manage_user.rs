//! The Manage user page: the user's profile and address for security e-mails (with, for the
//! holder, the Password and Sessions sections; for an administrator, the user's Sessions), or
//! its 2-Step verification section. For the signed-in user's own page the session's copy shows at once while a fresh
//! one loads.

use crate::api;
use crate::components::admin_actions::{self, use_admin_actions};
use crate::components::email::EmailSection;
use crate::components::message::error;
use crate::components::password_form::{self, use_password_form};
use crate::components::sessions::{self, use_sessions};
use crate::components::two_step::TwoStepSection;
use crate::element::{el, fragment, maybe, when};
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
    /// Show only "Choose a new password" (the holder signed in with a one-time password).
    #[prop_or_default]
    pub new_password: bool,
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
    // The parts' state, kept here whether or not they show (a hook and a function each, not
    // a component: smaller download).
    let password = use_password_form();
    let admin_actions = use_admin_actions();
    // Whose sessions the profile shows: one's own, or (an administrator) the user's.
    let whose = match &*session {
        SessionState::SignedIn(_) if props.two_step || props.new_password => None,
        SessionState::SignedIn(me) if me.id == props.id => Some(None),
        SessionState::SignedIn(me) if me.role == Role::Administrator => Some(Some(props.id)),
        _ => None,
    };
    let sessions = use_sessions(whose);
    let SessionState::SignedIn(me) = &*session else {
        return Html::default();
    };
    let is_self = me.id == props.id;
    let on_changed = {
        let loaded = loaded.clone();
        Callback::from(move |()| loaded.reload())
    };
    if props.new_password {
        // Reading one's own record again sets the session: the app is the holder's again.
        return password_form::new_password(&password, on_changed);
    }
    let user: Result<Option<&User>, &api::ApiFailure> = match loaded.state() {
        Load::Ready(user) => Ok(Some(user)),
        Load::Error(failure) => Err(failure),
        Load::Loading if is_self => Ok(Some(me)),
        Load::Loading => Ok(None),
    };
    let body = match user {
        Ok(None) => el("p").attr("role", "status").text("Loading…").into(),
        Err(failure) => error(failure_text(failure).into()),
        Ok(Some(user)) if props.two_step => html! {
            <TwoStepSection key={user.id} user={user.clone()} {is_self}
                viewer_is_admin={me.role == Role::Administrator} {on_changed} />
        },
        Ok(Some(user)) => fragment(vec![
            el("section")
                .attr("aria-labelledby", "profile-heading")
                .child(el("h2").id("profile-heading").text("Profile"))
                .child(
                    el("dl")
                        .class("profile-facts")
                        .child(el("dt").text("Username"))
                        .child(el("dd").text(user.username.clone()))
                        .child(el("dt").text("Account"))
                        .child(el("dd").text(account_text(&user.account)))
                        .child(el("dt").text("Role"))
                        .child(el("dd").text(role_text(user.role)))
                        .child(el("dt").text("2-Step verification"))
                        .child(el("dd").text(match &user.two_step {
                            Some(s) if s.enabled => "On",
                            _ => "Off",
                        }))
                        .child(el("dt").text("Status"))
                        .child(el("dd").text(if user.disabled {
                            "Disabled: cannot sign in"
                        } else {
                            "Active"
                        })),
                )
                .into(),
            when(!is_self && me.role == Role::Administrator, || {
                admin_actions::view(&admin_actions, user, &on_changed)
            }),
            // Once the fresh record came: the session's copy may not have the address.
            when(
                loaded.ready().is_some() && (is_self || me.role == Role::Administrator),
                || {
                    let test = is_self && me.role == Role::Administrator;
                    html! {
                        <EmailSection key={user.id} user={user.clone()} {test}
                            on_changed={on_changed.clone()} />
                    }
                },
            ),
            when(is_self && user.account == AccountKind::TeamServer, || {
                password_form::view(&password, Callback::noop())
            }),
            maybe(whose.map(|user| sessions::view(&sessions, user))),
        ]),
    };
    let title = match user {
        Ok(Some(user)) => format!("Manage user: {}", user.username),
        _ => "Manage user".to_owned(),
    };
    fragment(vec![el("h1").text(title).into(), body])
}
