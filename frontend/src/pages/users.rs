//! The Users page: every account with its type and role; administrators also see each
//! user's 2-step status. The open button leads to the Manage user page.

use crate::api;
use crate::components::message::{Message, Tone};
use crate::hooks::{Load, use_load};
use crate::route::{Link, Route, use_navigator};
use crate::session::{SessionState, use_session};
use twostep_shared::api::{AccountKind, Role, User, UserList};
use yew::prelude::*;

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
    let list = use_load((), |()| api::users());
    let status_filter = use_state(|| "all".to_owned());
    let locked_only = use_state(|| false);
    let SessionState::SignedIn(me) = &*session else {
        return html! {};
    };
    let is_admin = me.role == Role::Administrator;
    let keep = |user: &User| -> bool {
        let Some(status) = &user.two_step else {
            return true;
        };
        let by_status = match status_filter.as_str() {
            "on" => status.enabled,
            "off" => !status.enabled,
            _ => true,
        };
        by_status && (!*locked_only || status.locked)
    };
    let on_status = {
        let status_filter = status_filter.clone();
        Callback::from(move |e: Event| {
            status_filter.set(
                e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value(),
            )
        })
    };
    let on_locked = {
        let locked_only = locked_only.clone();
        Callback::from(move |e: Event| {
            locked_only.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .checked(),
            )
        })
    };
    let filters = if is_admin {
        html! {
            <div class="filters">
                <div class="field">
                    <label for="filter-two-step">{ "2-Step verification" }</label>
                    <select id="filter-two-step" onchange={on_status}>
                        <option value="all" selected={*status_filter == "all"}>{ "All users" }</option>
                        <option value="on" selected={*status_filter == "on"}>{ "On" }</option>
                        <option value="off" selected={*status_filter == "off"}>{ "Off" }</option>
                    </select>
                </div>
                <div class="field checkbox">
                    <input id="filter-locked" type="checkbox" checked={*locked_only} onchange={on_locked} />
                    <label for="filter-locked">{ "Locked only" }</label>
                </div>
            </div>
        }
    } else {
        html! {}
    };
    let body = match list.state() {
        Load::Loading => html! { <p role="status">{ "Loading users…" }</p> },
        Load::Error(failure) => {
            html! { <Message tone={Tone::Error} text={failure.message().to_owned()} /> }
        }
        Load::Ready(UserList { users }) => html! {
            <div class="table-scroll" role="region" aria-label="Users" tabindex="0">
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
                        { for users.iter().filter(|u| keep(u)).map(|user| {
                            let can_open = is_admin || user.id == me.id;
                            let open = {
                                let navigator = navigator.clone();
                                let id = user.id;
                                Callback::from(move |_: MouseEvent| {
                                    navigator.push(&Route::ManageUser { id });
                                })
                            };
                            html! {
                                <tr key={user.id}>
                                    <th scope="row">
                                        if can_open {
                                            <Link to={Route::ManageUser { id: user.id }}>{ &user.username }</Link>
                                        } else {
                                            { &user.username }
                                        }
                                    </th>
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
            </div>
        },
    };
    html! {
        <>
            <h1>{ "Users" }</h1>
            { filters }
            { body }
        </>
    }
}
