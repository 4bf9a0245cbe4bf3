//! Shown for any address the app does not know.

use crate::route::{Navigator, Route, link};
use yew::prelude::*;

/// A function, not a component: it keeps no state (and a component costs download size).
pub fn not_found(navigator: &Navigator) -> Html {
    html! {
        <>
            <h1>{ "Page not found" }</h1>
            <p>{ "There is no page at this address. " }{ link(navigator, Route::Home, "Go to the start page".into()) }</p>
        </>
    }
}
