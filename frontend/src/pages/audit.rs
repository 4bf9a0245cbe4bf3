//! The audit log page for administrators: events newest first, 50 a page, filtered on the
//! server by part of a user name and by event kind, and a CSV download of every event the
//! filter keeps.

use crate::api;
use crate::api::AuditFilter;
use crate::components::message::error;
use crate::components::pager::{column_headers, pager};
use crate::element::{el, field, fragment};
use crate::hooks::{Load, use_load};
use twostep_shared::api::AuditEventKind;
use twostep_shared::input::USERNAME_MAX;
use web_sys::HtmlSelectElement;
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
        Load::Loading => el("p")
            .attr("role", "status")
            .text("Loading the audit log…")
            .into(),
        Load::Error(failure) => error(failure.message().to_owned().into()),
        Load::Ready(p) if p.entries.is_empty() => el("p").text("No events.").into(),
        Load::Ready(p) => el("div")
            .class("table-scroll")
            .attr("role", "region")
            .attr("aria-label", "Audit events")
            .attr("tabindex", "0")
            .child(
                el("table")
                    .class("users audit")
                    .child(
                        el("caption")
                            .text(format!("Events, newest first: page {} of {pages}", p.page)),
                    )
                    .child(el("thead").child(el("tr").child(column_headers(&[
                        "Time", "Event", "By", "User", "Address", "Detail",
                    ]))))
                    .child(el("tbody").children(p.entries.iter().map(|e| {
                        el("tr")
                            .key(e.id)
                            .child(el("td").text(crate::time_text::utc(e.at)))
                            .child(el("td").text(e.event.describe()))
                            .child(el("td").text(e.actor.clone().unwrap_or_else(|| "—".to_owned())))
                            .child(el("td").text(e.subject.clone().unwrap_or_default()))
                            .child(el("td").text(e.client_address.clone().unwrap_or_default()))
                            .child(el("td").text(e.detail.clone().unwrap_or_default()))
                            .into()
                    }))),
            )
            .into(),
    };
    fragment(vec![
        el("h1").text("Audit log").into(),
        el("form")
            .class("filters")
            .attr("role", "search")
            .on_submit(on_search)
            .child(field(
                "audit-name",
                "User name",
                el("input")
                    .id("audit-name")
                    .attr("type", "search")
                    .attr("maxlength", USERNAME_MAX.to_string())
                    .value((*typed).clone())
                    .bind_text(&typed),
            ))
            .child(field(
                "audit-event",
                "Event",
                el("select")
                    .id("audit-event")
                    .on_change(on_event)
                    .child(
                        el("option")
                            .attr("value", "")
                            .flag("selected", filter.event.is_none())
                            .text("All events"),
                    )
                    .children(AuditEventKind::ALL.iter().map(|kind| {
                        el("option")
                            .attr("value", kind.as_str())
                            .flag("selected", filter.event == Some(*kind))
                            .text(kind.describe())
                            .into()
                    })),
            ))
            .child(
                el("div")
                    .class("field")
                    .child(el("button").attr("type", "submit").text("Search")),
            )
            .into(),
        el("p")
            .attr("role", "status")
            .text(found.unwrap_or_default())
            .into(),
        el("p")
            .child(
                el("a")
                    .class("button")
                    .attr("href", filter.csv_url())
                    .attr("download", "audit-log.csv")
                    .text("Download CSV"),
            )
            .child(
                el("span")
                    .class("hint")
                    .text(" Every event found, not only this page."),
            )
            .into(),
        table,
        pager(*page, pages, "Audit log pages", &on_page),
    ])
}
