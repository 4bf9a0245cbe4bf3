//! Shown for any address the app does not know.

use crate::route::{Link, Route};
use yew::prelude::*;

#[function_component(NotFound)]
pub fn not_found() -> Html {
    html! {
        <>
            <h1>{ "Page not found" }</h1>
            <p>{ "There is no page at this address. " }<Link to={Route::Home}>{ "Go to the start page" }</Link></p>
        </>
    }
}
