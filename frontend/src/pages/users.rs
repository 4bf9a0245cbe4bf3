//! The Users page: the accounts with their type and role, searched by name on the server
//! and 50 a page; administrators also see each user's 2-step status, filter by it, and how
//! many people use 2-step verification. The open button leads to the Manage user page.

use crate::api;
use crate::components::message::error;
use crate::components::pager::{column_headers, pager};
use crate::hooks::{Load, use_load};
use crate::route::{Route, link, use_navigator};
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
    // The applied search, page and status filter ("" for all); the box holds what is typed.
    let search = use_state(String::new);
    let typed = use_state(String::new);
    let page = use_state(|| 1u32);
    let status_filter = use_state(String::new);
    let list = use_load(
        ((*search).clone(), *page, (*status_filter).clone()),
        |(search, page, status)| {
            let status = (!status.is_empty()).then_some(status.as_str());
            api::users(&search, page, status)
        },
    );
    let SessionState::SignedIn(me) = &*session else {
        return html! {};
    };
    let is_admin = me.role == Role::Administrator;
    let on_typed = {
        let typed = typed.clone();
        Callback::from(move |e: InputEvent| {
            typed.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let on_search = {
        let (search, typed, page) = (search.clone(), typed.clone(), page.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            search.set(typed.trim().to_owned());
            page.set(1);
        })
    };
    let on_status = {
        let (status_filter, page) = (status_filter.clone(), page.clone());
        Callback::from(move |e: Event| {
            status_filter.set(
                e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value(),
            );
            page.set(1);
        })
    };
    let filters = html! {
        <form class="filters" role="search" onsubmit={on_search}>
            <div class="field">
                <label for="user-search">{ "Search by name" }</label>
                <input id="user-search" type="search" value={(*typed).clone()} oninput={on_typed} />
            </div>
            if is_admin {
                <div class="field">
                    <label for="filter-two-step">{ "2-Step verification" }</label>
                    <select id="filter-two-step" onchange={on_status}>
                        <option value="" selected={status_filter.is_empty()}>{ "All users" }</option>
                        <option value="on" selected={*status_filter == "on"}>{ "On" }</option>
                        <option value="off" selected={*status_filter == "off"}>{ "Off" }</option>
                        <option value="locked" selected={*status_filter == "locked"}>{ "Locked" }</option>
                    </select>
                </div>
            }
            <div class="field">
                <button type="submit">{ "Search" }</button>
            </div>
        </form>
    };
    let pages = list.ready().map_or(1, |l| {
        (l.total.div_ceil(u64::from(l.per_page.max(1)))).max(1) as u32
    });
    let on_page = {
        let page = page.clone();
        Callback::from(move |to: u32| page.set(to))
    };
    let summary = list.ready().and_then(|l| l.two_step_summary).map(|s| {
        let people = if s.users == 1 { "person uses" } else { "people use" };
        html! {
            <p class="summary">{ format!("{} of {} {people} 2-step verification.", s.using_two_step, s.users) }</p>
        }
    });
    let found = list.ready().map(|l| {
        let users = if l.total == 1 { "user" } else { "users" };
        format!("{} {users} found. Page {} of {pages}.", l.total, l.page)
    });
    let body = match list.state() {
        Load::Loading => html! { <p role="status">{ "Loading users…" }</p> },
        Load::Error(failure) => {
            html! { { error(failure.message().to_owned().into()) } }
        }
        Load::Ready(UserList { users, .. }) => html! {
            <div class="table-scroll" role="region" aria-label="Users" tabindex="0">
                <table class="users">
                    <caption>{ "Users of this Team Server" }</caption>
                    <thead>
                        <tr>
                            { column_headers(if is_admin {
                                &["Name", "Account", "Role", "2-Step verification"]
                            } else {
                                &["Name", "Account", "Role"]
                            }) }
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
                                    navigator.push(&Route::ManageUser { id });
                                })
                            };
                            html! {
                                <tr key={user.id}>
                                    <th scope="row">
                                        if can_open {
                                            { link(&navigator, Route::ManageUser { id: user.id }, user.username.clone().into()) }
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
            { for summary }
            { filters }
            <p role="status">{ found.unwrap_or_default() }</p>
            { body }
            if pages > 1 {
                { pager(*page, pages, "Users pages", &on_page) }
            }
        </>
    }
}
