//! Shown for any address the app does not know.

use crate::element::{el, fragment};
use crate::route::{Navigator, Route, link};
use yew::prelude::*;

/// A function, not a component: it keeps no state (and a component costs download size).
pub fn not_found(navigator: &Navigator) -> Html {
    fragment(vec![
        el("h1").text("Page not found").into(),
        el("p")
            .text("There is no page at this address. ")
            .child(link(navigator, Route::Home, "Go to the start page".into()))
            .into(),
    ])
}
