//! The Manage user page: the user's profile, or its 2-Step verification section.

use crate::api;
use crate::components::message::{Message, Tone};
use crate::pages::two_step::TwoStepSection;
use crate::pages::users::{account_text, role_text};
use crate::session::{SessionState, use_session};
use twostep_shared::ErrorCode;
use twostep_shared::api::User;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ManageUserProps {
    pub id: i64,
    /// Show the 2-Step verification section instead of the profile.
    pub two_step: bool,
}

#[function_component(ManageUser)]
pub fn manage_user(props: &ManageUserProps) -> Html {
    let session = use_session();
    let user = use_state(|| None::<Result<User, String>>);
    let reload = use_state(|| 0u32);
    {
        let user = user.clone();
        use_effect_with((props.id, *reload), move |(id, _)| {
            let id = *id;
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::user(id).await.map_err(|failure| match failure.code() {
                    ErrorCode::Forbidden => "You can only manage your own profile.".to_owned(),
                    ErrorCode::NotFound => "There is no such user.".to_owned(),
                    _ => failure.message().to_owned(),
                });
                user.set(Some(result));
            });
        });
    }
    let SessionState::SignedIn(me) = &*session else {
        return html! {};
    };
    let on_changed = {
        let reload = reload.clone();
        let session = session.clone();
        let is_self = me.id == props.id;
        Callback::from(move |_| {
            reload.set(*reload + 1);
            if is_self {
                let session = session.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(me) = api::me().await {
                        session.set(SessionState::SignedIn(me));
                    }
                });
            }
        })
    };
    let body = match &*user {
        None => html! { <p role="status">{ "Loading…" }</p> },
        Some(Err(message)) => html! { <Message tone={Tone::Error} text={message.clone()} /> },
        Some(Ok(user)) if props.two_step => html! {
            <TwoStepSection user={user.clone()} is_self={user.id == me.id}
                viewer_is_admin={me.role == twostep_shared::api::Role::Administrator} {on_changed} />
        },
        Some(Ok(user)) => html! {
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
        },
    };
    let title = match &*user {
        Some(Ok(user)) => format!("Manage user: {}", user.username),
        _ => "Manage user".to_owned(),
    };
    html! {
        <>
            <h1>{ title }</h1>
            { body }
        </>
    }
}
