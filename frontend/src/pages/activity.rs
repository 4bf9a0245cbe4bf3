//! Security activity: the holder's own events, newest first (sign-ins, wrong and replayed
//! codes, locks, device changes and by whom, recovery codes, password and session changes),
//! 50 a page.

use crate::api;
use crate::components::message::{Tone, message};
use crate::hooks::{Load, use_load};
use crate::session::{SessionState, use_session};
use crate::time_text;
use twostep_shared::api::{AuditEntry, AuditEventKind};
use yew::prelude::*;

/// What happened, in the holder's words.
pub fn describe(entry: &AuditEntry) -> String {
    let what = match entry.event {
        AuditEventKind::ReplayedCodeRefused => {
            return "Someone used a code that was already used: if this was not you, change your password.".to_owned();
        }
        AuditEventKind::SignedIn => "Signed in",
        AuditEventKind::SignInFailedPassword => "Sign-in refused: wrong password",
        AuditEventKind::SignInFailedCode => "Sign-in refused: wrong verification code",
        AuditEventKind::CodeStepLocked => "Verification locked after too many wrong codes",
        other => other.describe(),
    };
    match &entry.detail {
        Some(detail) if !detail.is_empty() => format!("{what} ({detail})"),
        _ => what.to_owned(),
    }
}

#[derive(Properties, PartialEq)]
pub struct ActivityProps {
    pub id: i64,
}

#[function_component(Activity)]
pub fn activity(props: &ActivityProps) -> Html {
    let session = use_session();
    let page = use_state(|| 1u32);
    let loaded = use_load(*page, api::activity);
    let SessionState::SignedIn(me) = &*session else {
        return html! {};
    };
    if me.id != props.id {
        return html! {
            <>
                <h1>{ "Security activity" }</h1>
                { message(Tone::Error, AttrValue::from("You can only see your own security activity."), NodeRef::default()) }
            </>
        };
    }
    let body = match loaded.state() {
        Load::Loading => html! { <p role="status">{ "Loading…" }</p> },
        Load::Error(failure) => {
            html! { { message(Tone::Error, AttrValue::from(failure.message().to_owned()), NodeRef::default()) } }
        }
        Load::Ready(data) => {
            let pages = data.total.div_ceil(u64::from(data.per_page.max(1))).max(1) as u32;
            let to = |n: u32| {
                let page = page.clone();
                Callback::from(move |_: MouseEvent| page.set(n))
            };
            html! {
                <>
                    <ul class="activity">
                        { for data.entries.iter().map(|entry| {
                            let by = entry.actor.as_deref().filter(|actor| *actor != me.username);
                            let warning = matches!(entry.event, AuditEventKind::ReplayedCodeRefused
                                | AuditEventKind::SignInFailedCode | AuditEventKind::CodeStepLocked);
                            html! {
                                // Plain text rather than `classes!` (smaller download).
                                <li key={entry.id} class={if warning { "activity-entry warning" } else { "activity-entry" }}>
                                    <p><strong>{ describe(entry) }</strong></p>
                                    <p class="session-facts">
                                        { time_text::utc(entry.at) }
                                        if let Some(address) = &entry.client_address {
                                            { " · from " }{ address }
                                        }
                                        if let Some(by) = by {
                                            { " · by " }{ if by == "cli" { "the server's command line" } else { by } }
                                        }
                                    </p>
                                </li>
                            }
                        }) }
                    </ul>
                    <p>{ format!("Page {} of {pages}", data.page) }</p>
                    <div class="actions">
                        if data.page > 1 {
                            <button onclick={to(data.page - 1)}>{ "Newer" }</button>
                        }
                        if data.page < pages {
                            <button onclick={to(data.page + 1)}>{ "Older" }</button>
                        }
                    </div>
                </>
            }
        }
    };
    html! {
        <>
            <h1>{ "Security activity" }</h1>
            <p>{ "What happened on your account, newest first." }</p>
            { body }
        </>
    }
}
