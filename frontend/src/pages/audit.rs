//! The audit log page for administrators: events newest first, 50 a page, filtered on the
//! server by part of a user name and by event kind, and a CSV download of every event the
//! filter keeps.

use crate::api;
use crate::api::AuditFilter;
use crate::components::message::error;
use crate::components::pager::{column_headers, pager};
use crate::hooks::{Load, use_load};
use twostep_shared::api::AuditEventKind;
use twostep_shared::input::USERNAME_MAX;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[function_component(AuditLog)]
pub fn audit_log() -> Html {
    let page = use_state(|| 1u32);
    // The applied filter; the search box holds what is typed until it is sent.
    let filter = use_state(AuditFilter::default);
    let typed = use_state(String::new);
    let data = use_load((*page, (*filter).clone()), |(page, filter)| {
        api::audit(page, &filter)
    });
    let on_typed = {
        let typed = typed.clone();
        Callback::from(move |e: InputEvent| {
            typed.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_search = {
        let (filter, typed, page) = (filter.clone(), typed.clone(), page.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            filter.set(AuditFilter {
                name: typed.trim().to_owned(),
                event: filter.event,
            });
            page.set(1);
        })
    };
    // A kind applies at once, with what is typed.
    let on_event = {
        let (filter, typed, page) = (filter.clone(), typed.clone(), page.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            filter.set(AuditFilter {
                name: typed.trim().to_owned(),
                event: AuditEventKind::parse(&value),
            });
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
    let found = data.ready().map(|p| {
        let events = if p.total == 1 { "event" } else { "events" };
        format!("{} {events} found. Page {} of {pages}.", p.total, p.page)
    });
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
                                <td>{ crate::time_text::utc(e.at) }</td>
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
            <form class="filters" role="search" onsubmit={on_search}>
                <div class="field">
                    <label for="audit-name">{ "User name" }</label>
                    <input id="audit-name" type="search" maxlength={USERNAME_MAX.to_string()}
                           value={(*typed).clone()} oninput={on_typed} />
                </div>
                <div class="field">
                    <label for="audit-event">{ "Event" }</label>
                    <select id="audit-event" onchange={on_event}>
                        <option value="" selected={filter.event.is_none()}>{ "All events" }</option>
                        { for AuditEventKind::ALL.iter().map(|kind| html! {
                            <option value={kind.as_str()} selected={filter.event == Some(*kind)}>{ kind.describe() }</option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <button type="submit">{ "Search" }</button>
                </div>
            </form>
            <p role="status">{ found.unwrap_or_default() }</p>
            <p>
                <a class="button" href={filter.csv_url()} download="audit-log.csv">{ "Download CSV" }</a>
                <span class="hint">{ " Every event found, not only this page." }</span>
            </p>
            { table }
            { pager(*page, pages, "Audit log pages", &on_page) }
        </>
    }
}
