//! The start page after sign-in, with a notice when there were wrong or replayed codes or a
//! lock since the previous sign-in.

use crate::api;
use crate::hooks::use_load;
use crate::route::{Link, Route};
use crate::session::{SessionState, use_session};
use yew::prelude::*;

#[function_component(Home)]
pub fn home() -> Html {
    let session = use_session();
    // Warning signs since the previous sign-in (wrong codes, a code used twice, a lock).
    let activity = use_load((), |()| api::activity(1));
    let SessionState::SignedIn(user) = &*session else {
        return html! {};
    };
    let warnings = activity
        .ready()
        .map_or(0, |page| page.warnings_since_previous_sign_in);
    html! {
        <>
            <h1>{ format!("Welcome, {}", user.username) }</h1>
            if warnings > 0 {
                <div class="message error notice" role="alert">
                    <p>
                        { format!(
                            "Since you last signed in, there {} {warnings} failed or suspicious verification attempt{} on your account. ",
                            if warnings == 1 { "was" } else { "were" },
                            if warnings == 1 { "" } else { "s" },
                        ) }
                        <Link to={Route::Activity { id: user.id }}>{ "Review your security activity" }</Link>
                    </p>
                </div>
            }
            <p>
                { "Manage your profile and 2-step verification from the profile menu, or see the " }
                <Link to={Route::Users}>{ "users" }</Link>
                { " of this Team Server." }
            </p>
        </>
    }
}
