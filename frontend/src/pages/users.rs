//! The Users page: every account with its type and role; administrators also see each
//! user's 2-step status. The open button leads to the Manage user page.

use crate::api;
use crate::components::message::{Message, Tone};
use crate::route::Route;
use crate::session::{SessionState, use_session};
use twostep_shared::api::{AccountKind, Role, User};
use yew::prelude::*;
use yew_router::prelude::*;

pub fn account_text(account: &AccountKind) -> String {
    match account {
        AccountKind::TeamServer => "Team Server account".to_owned(),
        AccountKind::Organizational { identity_provider } => {
            format!("Organizational account ({identity_provider})")
        }
    }
}

pub fn role_text(role: Role) -> &'static str {
    match role {
        Role::Administrator => "Administrator",
        Role::User => "User",
    }
}

fn two_step_text(user: &User) -> &'static str {
    match &user.two_step {
        None => "",
        Some(s) if s.locked => "On (locked)",
        Some(s) if s.enabled => "On",
        Some(_) => "Off",
    }
}

#[function_component(Users)]
pub fn users() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let list = use_state(|| None::<Result<Vec<User>, String>>);
    {
        let list = list.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::users()
                    .await
                    .map(|l| l.users)
                    .map_err(|f| f.message().to_owned());
                list.set(Some(result));
            });
        });
    }
    let SessionState::SignedIn(me) = &*session else {
        return html! {};
    };
    let is_admin = me.role == Role::Administrator;
    let body = match &*list {
        None => html! { <p role="status">{ "Loading users…" }</p> },
        Some(Err(message)) => html! { <Message tone={Tone::Error} text={message.clone()} /> },
        Some(Ok(users)) => html! {
            <table class="users">
                <caption>{ "Users of this Team Server" }</caption>
                <thead>
                    <tr>
                        <th scope="col">{ "Name" }</th>
                        <th scope="col">{ "Account" }</th>
                        <th scope="col">{ "Role" }</th>
                        if is_admin { <th scope="col">{ "2-Step verification" }</th> }
                        <th scope="col"><span class="visually-hidden">{ "Actions" }</span></th>
                    </tr>
                </thead>
                <tbody>
                    { for users.iter().map(|user| {
                        let can_open = is_admin || user.id == me.id;
                        let open = {
                            let navigator = navigator.clone();
                            let id = user.id;
                            Callback::from(move |_: MouseEvent| {
                                if let Some(nav) = &navigator { nav.push(&Route::ManageUser { id }); }
                            })
                        };
                        html! {
                            <tr key={user.id}>
                                <th scope="row">{ &user.username }</th>
                                <td>{ account_text(&user.account) }</td>
                                <td>{ role_text(user.role) }</td>
                                if is_admin { <td>{ two_step_text(user) }</td> }
                                <td>
                                    if can_open {
                                        <button aria-label={format!("Open {}", user.username)} onclick={open}>{ "Open" }</button>
                                    }
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        },
    };
    html! {
        <>
            <h1>{ "Users" }</h1>
            { body }
        </>
    }
}
