//! The start page after sign-in.

use crate::route::{Navigator, Route, link};
use twostep_shared::api::User;
use yew::prelude::*;

/// A function, not a component: it keeps no state (and a component costs download size).
pub fn home(user: &User, navigator: &Navigator) -> Html {
    html! {
        <>
            <h1>{ format!("Welcome, {}", user.username) }</h1>
            <p>
                { "Manage your profile and 2-step verification from the profile menu, or see the " }
                { link(navigator, Route::Users, "users".into()) }
                { " of this Team Server." }
            </p>
        </>
    }
}
