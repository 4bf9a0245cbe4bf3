//! The start page after sign-in, with a notice when there were wrong or replayed codes or a
//! lock since the previous sign-in.

use crate::api;
use crate::element::{el, fragment};
use crate::hooks::use_load;
use crate::route::{Navigator, Route, link, use_navigator};
use twostep_shared::api::User;
use yew::prelude::*;

/// A function, not a component: it keeps no state (and a component costs download size).
pub fn home(user: &User, navigator: &Navigator) -> Html {
    fragment(vec![
        el("h1").text(format!("Welcome, {}", user.username)).into(),
        html! { <WarningsNotice id={user.id} /> },
        el("p")
            .text("Manage your profile and 2-step verification from the profile menu, or see the ")
            .child(link(navigator, Route::Users, "users".into()))
            .text(" of this Team Server.")
            .into(),
    ])
}

#[derive(Properties, PartialEq)]
struct WarningsNoticeProps {
    id: i64,
}

/// Warning signs since the previous sign-in (wrong codes, a code used twice, a lock), with a
/// link to the Security activity; nothing when there were none.
#[function_component(WarningsNotice)]
fn warnings_notice(props: &WarningsNoticeProps) -> Html {
    let navigator = use_navigator();
    let activity = use_load((), |()| api::activity(1));
    let warnings = activity
        .ready()
        .map_or(0, |page| page.warnings_since_previous_sign_in);
    if warnings == 0 {
        return Html::default();
    }
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
                .child(link(&navigator, Route::Activity { id: props.id }, "Review your security activity".into())),
        )
        .into()
}
