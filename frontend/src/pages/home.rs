//! The start page after sign-in.

use crate::route::{Link, Route};
use crate::session::{SessionState, use_session};
use yew::prelude::*;

#[function_component(Home)]
pub fn home() -> Html {
    let session = use_session();
    let SessionState::SignedIn(user) = &*session else {
        return html! {};
    };
    html! {
        <>
            <h1>{ format!("Welcome, {}", user.username) }</h1>
            <p>
                { "Manage your profile and 2-step verification from the profile menu, or see the " }
                <Link to={Route::Users}>{ "users" }</Link>
                { " of this Team Server." }
            </p>
        </>
    }
}
