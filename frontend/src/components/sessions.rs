//! "Where you're signed in": the live sessions of an account (the holder's own, or a user's
//! for an administrator), each with its browser, address and times, and Sign out buttons.
//! Ending sessions of one's own account may first ask to confirm it's you.

use crate::api;
use crate::components::message::{error, success};
use crate::element::{el, fragment, maybe, when};
use crate::hooks::{Load, LoadHandle, SubmitHandle, use_load, use_submit};
use crate::time_text;
use twostep_shared::account::{SessionInfo, SessionList};
use yew::prelude::*;

/// The section's state, kept by the Manage user page: [`use_sessions`] and [`view`] are a
/// hook and a function rather than a component (each component costs download size).
pub struct SessionsState {
    loaded: LoadHandle<SessionList>,
    submit: SubmitHandle,
    notice: UseStateHandle<Option<String>>,
}

/// The state of the sessions of `whose`: `Some(None)` the signed-in user's own,
/// `Some(Some(id))` user `id`'s (an administrator), `None` none (the section is not shown,
/// and nothing is asked of the server).
#[hook]
pub fn use_sessions(whose: Option<Option<i64>>) -> SessionsState {
    SessionsState {
        loaded: use_load(whose, |whose| whose.map(api::sessions)),
        submit: use_submit(),
        notice: use_state(|| None::<String>),
    }
}

/// The Sessions section; `user`: whose (`None`: the signed-in user's own).
pub fn view(state: &SessionsState, user: Option<i64>) -> Html {
    let SessionsState {
        loaded,
        submit,
        notice,
    } = state;
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
        Load::Loading => el("p").attr("role", "status").text("Loading…").into(),
        Load::Error(failure) => error(AttrValue::from(failure.message().to_owned())),
        Load::Ready(list) if list.sessions.is_empty() => {
            el("p").text("Not signed in anywhere.").into()
        }
        Load::Ready(list) => {
            let others = list.sessions.iter().filter(|s| !s.current).count();
            fragment(vec![
                el("ul")
                    .class("sessions")
                    .children(list.sessions.iter().map(|session| {
                        let on_click = {
                            let (end_one, session) = (end_one.clone(), session.clone());
                            Callback::from(move |_: MouseEvent| end_one.emit(session.clone()))
                        };
                        let address = session.client_addr.as_deref();
                        el("li")
                            .class("session")
                            .key(session.id.clone())
                            .child(
                                el("p")
                                    .class("session-device")
                                    .child(el("strong").text(session.device.clone()))
                                    .child(when(session.current, || {
                                        fragment(vec![
                                            " · ".into(),
                                            el("span").class("tag").text("This browser").into(),
                                        ])
                                    })),
                            )
                            .child(
                                el("p")
                                    .class("session-facts")
                                    .text(address.unwrap_or("Address unknown").to_owned())
                                    .text(" · signed in ")
                                    .text(time_text::utc(session.started_at))
                                    .text(" · last seen ")
                                    .text(time_text::utc(session.last_seen_at)),
                            )
                            .child(when(!session.current, || {
                                el("button")
                                    .attr("type", "button")
                                    .on_click(on_click)
                                    .flag("disabled", submit.busy())
                                    .attr(
                                        "aria-label",
                                        format!(
                                            "Sign out {} ({})",
                                            session.device,
                                            address.unwrap_or("address unknown")
                                        ),
                                    )
                                    .text("Sign out")
                            }))
                            .into()
                    }))
                    .into(),
                when(others > 0, || {
                    el("button")
                        .attr("type", "button")
                        .on_click(end_others)
                        .flag("disabled", submit.busy())
                        .text(if user.is_some() {
                            "Sign out everywhere"
                        } else {
                            "Sign out all other sessions"
                        })
                }),
            ])
        }
    };
    el("section")
        .attr("aria-labelledby", "sessions-heading")
        .child(el("h2").id("sessions-heading").text("Sessions"))
        .child(el("p").text(if user.is_some() {
            "Where this user is signed in."
        } else {
            "Where you're signed in."
        }))
        .child(maybe(
            submit.form_error().map(|text| error(AttrValue::from(text))),
        ))
        .child(maybe(
            notice
                .as_ref()
                .map(|text| success(AttrValue::from(text.clone()))),
        ))
        .child(body)
        .into()
}
