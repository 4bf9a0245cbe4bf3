//! "Where you're signed in": the live sessions of an account (the holder's own, or a user's
//! for an administrator), each with its browser, address and times, and Sign out buttons.
//! Ending sessions of one's own account may first ask to confirm it's you.

use crate::api;
use crate::components::message::{Tone, message};
use crate::hooks::{Load, use_load, use_submit};
use crate::time_text;
use twostep_shared::account::SessionInfo;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SessionsProps {
    /// Whose sessions; `None`: the signed-in user's own.
    pub user: Option<i64>,
}

#[function_component(Sessions)]
pub fn sessions(props: &SessionsProps) -> Html {
    let loaded = use_load(props.user, api::sessions);
    let submit = use_submit();
    let notice = use_state(|| None::<String>);
    let user = props.user;
    let end_one = {
        let (loaded, submit, notice) = (loaded.clone(), submit.clone(), notice.clone());
        Callback::from(move |session: SessionInfo| {
            let (loaded, notice) = (loaded.clone(), notice.clone());
            submit.run(api::end_session(user, &session.id), move |()| {
                notice.set(Some(format!("Signed out {}.", session.device)));
                loaded.reload();
            });
        })
    };
    let end_others = {
        let (loaded, submit, notice) = (loaded.clone(), submit.clone(), notice.clone());
        Callback::from(move |_: MouseEvent| {
            let (loaded, notice) = (loaded.clone(), notice.clone());
            submit.run(api::end_other_sessions(user), move |ended| {
                notice.set(Some(format!(
                    "Signed out {} session{}.",
                    ended.sessions_ended,
                    if ended.sessions_ended == 1 { "" } else { "s" }
                )));
                loaded.reload();
            });
        })
    };
    let body = match loaded.state() {
        Load::Loading => html! { <p role="status">{ "Loading…" }</p> },
        Load::Error(failure) => {
            html! { { message(Tone::Error, AttrValue::from(failure.message().to_owned()), NodeRef::default()) } }
        }
        Load::Ready(list) if list.sessions.is_empty() => {
            html! { <p>{ "Not signed in anywhere." }</p> }
        }
        Load::Ready(list) => {
            let others = list.sessions.iter().filter(|s| !s.current).count();
            html! {
                <>
                    <ul class="sessions">
                        { for list.sessions.iter().map(|session| {
                            let on_click = {
                                let (end_one, session) = (end_one.clone(), session.clone());
                                Callback::from(move |_: MouseEvent| end_one.emit(session.clone()))
                            };
                            html! {
                                <li class="session" key={session.id.clone()}>
                                    <p class="session-device">
                                        <strong>{ &session.device }</strong>
                                        if session.current {
                                            { " · " }<span class="tag">{ "This browser" }</span>
                                        }
                                    </p>
                                    <p class="session-facts">
                                        { session.client_addr.as_deref().unwrap_or("Address unknown") }
                                        { " · signed in " }{ time_text::utc(session.started_at) }
                                        { " · last seen " }{ time_text::utc(session.last_seen_at) }
                                    </p>
                                    if !session.current {
                                        <button type="button" onclick={on_click}
                                                disabled={submit.busy()}
                                                aria-label={format!("Sign out {} ({})", session.device,
                                                    session.client_addr.as_deref().unwrap_or("address unknown"))}>
                                            { "Sign out" }
                                        </button>
                                    }
                                </li>
                            }
                        }) }
                    </ul>
                    if others > 0 {
                        <button type="button" onclick={end_others} disabled={submit.busy()}>
                            { if user.is_some() { "Sign out everywhere" } else { "Sign out all other sessions" } }
                        </button>
                    }
                </>
            }
        }
    };
    html! {
        <section aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">{ "Sessions" }</h2>
            <p>{ if user.is_some() { "Where this user is signed in." } else { "Where you're signed in." } }</p>
            if let Some(error) = submit.form_error() {
                { message(Tone::Error, AttrValue::from(error), NodeRef::default()) }
            }
            if let Some(text) = &*notice {
                { message(Tone::Success, AttrValue::from(text.clone()), NodeRef::default()) }
            }
            { body }
        </section>
    }
}
