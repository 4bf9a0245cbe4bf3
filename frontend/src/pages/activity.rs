//! Security activity: the holder's own events, newest first (sign-ins, wrong and replayed
//! codes, locks, device changes and by whom, recovery codes, password and session changes),
//! 50 a page.

use crate::api;
use crate::components::message::error;
use crate::element::{el, fragment, maybe, when};
use crate::hooks::{Load, use_load};
use crate::route::use_navigator;
use crate::session::{SessionState, use_session};
use crate::time_text;
use twostep_shared::api::{AuditEntry, AuditEventKind};
use yew::prelude::*;
use yew::virtual_dom::VText;

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
    /// The start page instead ([`crate::pages::home`]), with the count of warning signs the
    /// first page of the activity brings.
    #[prop_or_default]
    pub home: bool,
}

#[function_component(Activity)]
pub fn activity(props: &ActivityProps) -> Html {
    let session = use_session();
    let page = use_state(|| 1u32);
    let loaded = use_load(*page, api::activity);
    let navigator = use_navigator();
    let SessionState::SignedIn(me) = &*session else {
        return Html::default();
    };
    if props.home {
        let warnings = loaded
            .ready()
            .map_or(0, |page| page.warnings_since_previous_sign_in);
        return crate::pages::home::home(me, &navigator, warnings);
    }
    if me.id != props.id {
        return fragment(vec![
            el("h1").text("Security activity").into(),
            error(AttrValue::from(
                "You can only see your own security activity.",
            )),
        ]);
    }
    let body = match loaded.state() {
        Load::Loading => el("p").attr("role", "status").text("Loading…").into(),
        Load::Error(failure) => error(AttrValue::from(failure.message().to_owned())),
        Load::Ready(data) => {
            let pages = data.total.div_ceil(u64::from(data.per_page.max(1))).max(1) as u32;
            let to = |n: u32| {
                let page = page.clone();
                Callback::from(move |_: MouseEvent| page.set(n))
            };
            fragment(vec![
                el("ul")
                    .class("activity")
                    .children(data.entries.iter().map(|entry| {
                        let by = entry.actor.as_deref().filter(|actor| *actor != me.username);
                        let warning = matches!(
                            entry.event,
                            AuditEventKind::ReplayedCodeRefused
                                | AuditEventKind::SignInFailedCode
                                | AuditEventKind::CodeStepLocked
                        );
                        el("li")
                            .key(entry.id)
                            // Plain text rather than `classes!` (smaller download).
                            .class(if warning {
                                "activity-entry warning"
                            } else {
                                "activity-entry"
                            })
                            .child(el("p").child(el("strong").text(describe(entry))))
                            .child(
                                el("p")
                                    .class("session-facts")
                                    .text(time_text::utc(entry.at))
                                    .child(maybe(entry.client_address.as_ref().map(|address| {
                                        fragment(vec![
                                            VText::new(" · from ").into(),
                                            VText::new(address.clone()).into(),
                                        ])
                                    })))
                                    .child(maybe(by.map(|by| {
                                        fragment(vec![
                                            VText::new(" · by ").into(),
                                            VText::new(if by == "cli" {
                                                "the server's command line".to_owned()
                                            } else {
                                                by.to_owned()
                                            })
                                            .into(),
                                        ])
                                    }))),
                            )
                            .into()
                    }))
                    .into(),
                el("p")
                    .text(format!("Page {} of {pages}", data.page))
                    .into(),
                el("div")
                    .class("actions")
                    .child(when(data.page > 1, || {
                        el("button").on_click(to(data.page - 1)).text("Newer")
                    }))
                    .child(when(data.page < pages, || {
                        el("button").on_click(to(data.page + 1)).text("Older")
                    }))
                    .into(),
            ])
        }
    };
    fragment(vec![
        el("h1").text("Security activity").into(),
        el("p")
            .text("What happened on your account, newest first.")
            .into(),
        body,
    ])
}
