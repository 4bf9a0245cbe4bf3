//! The Previous page / Next page buttons under a paged list (Users, Audit log), and the
//! column headers of a table: each written once, so the pages share their code.

use crate::element::el;
use yew::prelude::*;

/// Previous page and Next page for page `page` of `pages`; `on_page` gets the page to show,
/// `label` names the navigation landmark (`Users pages`). A function, not a component: a
/// component's machinery costs more of the download than these two buttons.
pub fn pager(page: u32, pages: u32, label: &'static str, on_page: &Callback<u32>) -> Html {
    let previous = on_page.reform(move |_: MouseEvent| page.saturating_sub(1).max(1));
    let next = on_page.reform(move |_: MouseEvent| (page + 1).min(pages));
    el("nav")
        .class("actions")
        .attr("aria-label", label)
        .child(
            el("button")
                .on_click(previous)
                .flag("disabled", page <= 1)
                .text("Previous page"),
        )
        .child(
            el("button")
                .on_click(next)
                .flag("disabled", page >= pages)
                .text("Next page"),
        )
        .into()
}

/// `<th scope="col">` for each name.
pub fn column_headers(names: &[&'static str]) -> Html {
    names
        .iter()
        .map(|name| Html::from(el("th").attr("scope", "col").text(*name)))
        .collect()
}
