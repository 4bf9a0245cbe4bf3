//! The audit log page for administrators: events newest first, with paging and a filter by
//! user.

use crate::api;
use crate::components::message::error;
use crate::components::pager::{column_headers, pager};
use crate::hooks::{Load, use_load};
use twostep_shared::api::User;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// `2026-11-28 09:15:02 UTC` from Unix seconds.
fn format_time(unix: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    let iso: String = date.to_iso_string().into();
    format!("{} UTC", iso.get(..19).unwrap_or(&iso).replace('T', " "))
}

#[function_component(AuditLog)]
pub fn audit_log() -> Html {
    let page = use_state(|| 1u32);
    let user = use_state(|| None::<i64>);
    let data = use_load((*page, *user), |(page, user)| api::audit(page, user));
    let users = use_load((), |()| api::all_users());
    let users: &[User] = users.ready().map_or(&[], Vec::as_slice);
    let on_user = {
        let (user, page) = (user.clone(), page.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            user.set(value.parse().ok());
            page.set(1);
        })
    };
    let pages = data.ready().map_or(1, |p| {
        (p.total.div_ceil(u64::from(p.per_page))).max(1) as u32
    });
    let on_page = {
        let page = page.clone();
        Callback::from(move |to: u32| page.set(to))
    };
    let table = match data.state() {
        Load::Loading => html! { <p role="status">{ "Loading the audit log…" }</p> },
        Load::Error(failure) => {
            html! { { error(failure.message().to_owned().into()) } }
        }
        Load::Ready(p) if p.entries.is_empty() => html! { <p>{ "No events." }</p> },
        Load::Ready(p) => html! {
            <div class="table-scroll" role="region" aria-label="Audit events" tabindex="0">
                <table class="users audit">
                    <caption>{ format!("Events, newest first: page {} of {pages}", p.page) }</caption>
                    <thead>
                        <tr>
                            { column_headers(&["Time", "Event", "By", "User", "Address", "Detail"]) }
                        </tr>
                    </thead>
                    <tbody>
                        { for p.entries.iter().map(|e| html! {
                            <tr key={e.id}>
                                <td>{ format_time(e.at) }</td>
                                <td>{ e.event.describe() }</td>
                                <td>{ e.actor.clone().unwrap_or_else(|| "—".to_owned()) }</td>
                                <td>{ e.subject.clone().unwrap_or_default() }</td>
                                <td>{ e.client_address.clone().unwrap_or_default() }</td>
                                <td>{ e.detail.clone().unwrap_or_default() }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        },
    };
    html! {
        <>
            <h1>{ "Audit log" }</h1>
            <div class="filters">
                <div class="field">
                    <label for="audit-user">{ "User" }</label>
                    <select id="audit-user" onchange={on_user}>
                        <option value="" selected={user.is_none()}>{ "All users" }</option>
                        { for users.iter().map(|u| html! {
                            <option value={u.id.to_string()} selected={*user == Some(u.id)}>{ &u.username }</option>
                        }) }
                    </select>
                </div>
            </div>
            { table }
            { pager(*page, pages, "Audit log pages", &on_page) }
        </>
    }
}
