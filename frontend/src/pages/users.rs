//! The Users page: the accounts with their type and role, searched by the beginning of a name
//! and filtered by role and kind on the server, 50 a page (paged by name); administrators also
//! see each user's 2-step status, filter by it and by disabled, see how many people use 2-step
//! verification, and add users. The open button leads to the Manage user page.

use crate::api;
use crate::components::add_user::{self, use_add_user};
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

/// The filters' query parameters, in the order of their `<select>`s: role, kind of account,
/// 2-step verification, disabled (the last two for administrators). "" keeps everyone.
/// A filter's query parameter, its `<select>`'s id, its label, and its options (value, text).
type FilterSelect = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const FILTERS: [FilterSelect; 4] = [
    (
        "role",
        "filter-role",
        "Role",
        &[
            ("", "All roles"),
            ("user", "User"),
            ("administrator", "Administrator"),
        ],
    ),
    (
        "kind",
        "filter-kind",
        "Account",
        &[
            ("", "All accounts"),
            ("team_server", "Team Server"),
            ("organizational", "Organizational"),
        ],
    ),
    (
        "two_step",
        "filter-two-step",
        "2-Step verification",
        &[
            ("", "All users"),
            ("on", "On"),
            ("off", "Off"),
            ("locked", "Locked"),
            ("security_keys", "Security keys"),
        ],
    ),
    (
        "disabled",
        "filter-disabled",
        "Disabled",
        &[
            ("", "All users"),
            ("true", "Disabled"),
            ("false", "Not disabled"),
        ],
    ),
];

#[function_component(Users)]
pub fn users() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    // The applied search and filters (each "" for all); the box holds what is typed. The
    // pages before this one are the names they ended with (`after` of the next page), so
    // Next and Previous cost the server the same on any page.
    let search = use_state(String::new);
    let typed = use_state(String::new);
    let after = use_state(Vec::<String>::new);
    let chosen = use_state(|| vec![String::new(); 4]);
    let list = use_load(
        (
            (*search).clone(),
            (*after).last().cloned(),
            (*chosen).clone(),
        ),
        |(search, after, chosen)| {
            let filters: String = FILTERS
                .iter()
                .zip(chosen)
                .filter(|(_, value)| !value.is_empty())
                .map(|((name, ..), value)| format!("&{name}={value}"))
                .collect();
            api::users(&search, after.as_deref(), &filters)
        },
    );
    // Add user's state, kept here (a hook and a function, not a component: smaller download).
    let add_user = use_add_user();
    let SessionState::SignedIn(me) = &*session else {
        return Html::default();
    };
    let is_admin = me.role == Role::Administrator;
    let on_search = {
        let (search, typed, after) = (search.clone(), typed.clone(), after.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            search.set(typed.trim().to_owned());
            after.set(Vec::new());
        })
    };
    let selects = FILTERS
        .iter()
        .enumerate()
        .take(if is_admin { 4 } else { 2 })
        .map(|(i, (_, id, label, options))| {
            let on_change = {
                let (chosen, after) = (chosen.clone(), after.clone());
                Callback::from(move |e: Event| {
                    let mut now = (*chosen).clone();
                    now[i] = e
                        .target_unchecked_into::<web_sys::HtmlSelectElement>()
                        .value();
                    chosen.set(now);
                    after.set(Vec::new());
                })
            };
            el("div")
                .class("field")
                .child(el("label").attr("for", *id).text(*label))
                .child(
                    el("select")
                        .id(id)
                        .on_change(on_change)
                        .children(options.iter().map(|(value, text)| {
                            el("option")
                                .attr("value", *value)
                                .flag("selected", chosen[i] == *value)
                                .text(*text)
                                .into()
                        })),
                )
                .into()
        });
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
        .children(selects)
        .child(
            el("div")
                .class("field")
                .child(el("button").attr("type", "submit").text("Search")),
        );
    let page = after.len() as u32 + 1;
    // Next is there while the server says another page follows.
    let pages = match list.ready() {
        Some(l) if l.next.is_some() => page + 1,
        _ => page,
    };
    let on_page = {
        let (after, list) = (after.clone(), list.clone());
        Callback::from(move |to: u32| {
            let mut now = (*after).clone();
            if to < page {
                now.pop();
            } else if let Some(next) = list.ready().and_then(|l| l.next.clone()) {
                now.push(next);
            }
            after.set(now);
        })
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
        if l.more {
            format!("More than {} {users} found. Page {page}.", l.total)
        } else {
            let of = l.total.div_ceil(u64::from(l.per_page.max(1))).max(1);
            format!("{} {users} found. Page {page} of {of}.", l.total)
        }
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
        when(pages > 1, || pager(page, pages, "Users pages", &on_page)),
        when(is_admin, || {
            let list = list.clone();
            add_user::view(&add_user, Callback::from(move |()| list.reload()))
        }),
    ]);
    fragment(nodes)
}
