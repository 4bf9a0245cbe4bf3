//! The start page after sign-in, with a notice when there were wrong or replayed codes or a
//! lock since the previous sign-in.

use crate::element::{el, fragment, when};
use crate::route::{Navigator, Route, link};
use twostep_shared::api::User;
use yew::prelude::*;

/// The page, with the notice of `warnings` (warning signs since the previous sign-in: wrong
/// codes, a code used twice, a lock) and a link to the Security activity when there were
/// any. A function, not a component (each component costs download size): the Activity
/// component shows it, having loaded the count with the activity's first page.
pub fn home(user: &User, navigator: &Navigator, warnings: u64) -> Html {
    fragment(vec![
        el("h1").text(format!("Welcome, {}", user.username)).into(),
        when(warnings > 0, || {
            el("div")
                .class("message error notice")
                .attr("role", "alert")
                .child(
                    el("p")
                        .text(format!(
                            "Since you last signed in, there {} {warnings} failed or suspicious verification attempt{} on your account. ",
                            if warnings == 1 { "was" } else { "were" },
                            if warnings == 1 { "" } else { "s" },
                        ))
                        .child(link(navigator, Route::Activity { id: user.id }, "Review your security activity".into())),
                )
        }),
        el("p")
            .text("Manage your profile and 2-step verification from the profile menu, or see the ")
            .child(link(navigator, Route::Users, "users".into()))
            .text(" of this Team Server.")
            .into(),
    ])
}
