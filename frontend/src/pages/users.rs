//! The Users page: the accounts with their type and role, searched by the beginning of a name
//! on the server and 50 a page; administrators also see each user's 2-step status, filter by
//! it, see how many people use 2-step verification, and add users. The open button leads to
//! the Manage user page.

use crate::api;
use crate::components::add_user::AddUser;
use crate::components::message::error;
use crate::components::pager::{column_headers, pager};
use crate::element::{el, fragment, when};
use crate::hooks::{Load, use_load};
use crate::route::{Route, link, use_navigator};
use crate::session::{SessionState, use_session};
use twostep_shared::api::{AccountKind, Role, User, UserList};
use yew::prelude::*;
use yew::virtual_dom::VText;

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
        Some(s) if s.security_keys > 0 => "On (security keys)",
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
        return Html::default();
    };
    let is_admin = me.role == Role::Administrator;
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
    let filters = el("form")
        .class("filters")
        .attr("role", "search")
        .on_submit(on_search)
        .child(
            el("div")
                .class("field")
                .child(
                    el("label")
                        .attr("for", "user-search")
                        .text("Search by name"),
                )
                .child(
                    el("input")
                        .id("user-search")
                        .attr("type", "search")
                        .value((*typed).clone())
                        .bind_text(&typed),
                ),
        )
        .child(when(is_admin, || {
            el("div")
                .class("field")
                .child(
                    el("label")
                        .attr("for", "filter-two-step")
                        .text("2-Step verification"),
                )
                .child(
                    el("select")
                        .id("filter-two-step")
                        .on_change(on_status)
                        .child(
                            el("option")
                                .attr("value", "")
                                .flag("selected", status_filter.is_empty())
                                .text("All users"),
                        )
                        .child(
                            el("option")
                                .attr("value", "on")
                                .flag("selected", *status_filter == "on")
                                .text("On"),
                        )
                        .child(
                            el("option")
                                .attr("value", "off")
                                .flag("selected", *status_filter == "off")
                                .text("Off"),
                        )
                        .child(
                            el("option")
                                .attr("value", "locked")
                                .flag("selected", *status_filter == "locked")
                                .text("Locked"),
                        )
                        .child(
                            el("option")
                                .attr("value", "security_keys")
                                .flag("selected", *status_filter == "security_keys")
                                .text("Security keys"),
                        ),
                )
        }))
        .child(
            el("div")
                .class("field")
                .child(el("button").attr("type", "submit").text("Search")),
        );
    let pages = list.ready().map_or(1, |l| {
        (l.total.div_ceil(u64::from(l.per_page.max(1)))).max(1) as u32
    });
    let on_page = {
        let page = page.clone();
        Callback::from(move |to: u32| page.set(to))
    };
    let summary = list.ready().and_then(|l| l.two_step_summary).map(|s| {
        let people = if s.users == 1 {
            "person uses"
        } else {
            "people use"
        };
        el("p")
            .class("summary")
            .text(format!(
                "{} of {} {people} 2-step verification.",
                s.using_two_step, s.users
            ))
            .into()
    });
    let found = list.ready().map(|l| {
        let users = if l.total == 1 { "user" } else { "users" };
        format!("{} {users} found. Page {} of {pages}.", l.total, l.page)
    });
    let body = match list.state() {
        Load::Loading => el("p").attr("role", "status").text("Loading users…").into(),
        Load::Error(failure) => error(failure.message().to_owned().into()),
        Load::Ready(UserList { users, .. }) => el("div")
            .class("table-scroll")
            .attr("role", "region")
            .attr("aria-label", "Users")
            .attr("tabindex", "0")
            .child(
                el("table")
                    .class("users")
                    .child(el("caption").text("Users of this Team Server"))
                    .child(
                        el("thead").child(
                            el("tr")
                                .child(column_headers(if is_admin {
                                    &["Name", "Account", "Role", "2-Step verification", "E-mail"]
                                } else {
                                    &["Name", "Account", "Role"]
                                }))
                                .child(
                                    el("th")
                                        .attr("scope", "col")
                                        .child(el("span").class("visually-hidden").text("Actions")),
                                ),
                        ),
                    )
                    .child(el("tbody").children(users.iter().map(|user| {
                        let can_open = is_admin || user.id == me.id;
                        let open = {
                            let navigator = navigator.clone();
                            let id = user.id;
                            Callback::from(move |_: MouseEvent| {
                                navigator.push(&Route::ManageUser { id });
                            })
                        };
                        el("tr")
                            .key(user.id)
                            .child(el("th").attr("scope", "row").child(if can_open {
                                link(
                                    &navigator,
                                    Route::ManageUser { id: user.id },
                                    user.username.clone().into(),
                                )
                            } else {
                                VText::new(user.username.clone()).into()
                            }))
                            .child(el("td").text(account_text(&user.account)))
                            .child(el("td").text(role_text(user.role)))
                            .child(when(is_admin, || el("td").text(two_step_text(user))))
                            .child(when(is_admin, || {
                                el("td").text(user.email.clone().unwrap_or_default())
                            }))
                            .child(el("td").child(when(can_open, || {
                                el("button")
                                    .attr("aria-label", format!("Open {}", user.username))
                                    .on_click(open)
                                    .text("Open")
                            })))
                            .into()
                    }))),
            )
            .into(),
    };
    // The summary only when there is one (no empty placeholder in its place).
    let mut nodes = vec![el("h1").text("Users").into()];
    nodes.extend(summary);
    nodes.extend([
        filters.into(),
        el("p")
            .attr("role", "status")
            .text(found.unwrap_or_default())
            .into(),
        body,
        when(pages > 1, || pager(*page, pages, "Users pages", &on_page)),
        when(is_admin, || {
            let list = list.clone();
            let on_added = Callback::from(move |()| list.reload());
            html! { <AddUser {on_added} /> }
        }),
    ]);
    fragment(nodes)
}
