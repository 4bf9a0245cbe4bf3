//! The 2-Step verification section of the Manage user page, as a reducer over its views
//! ([`state`]) and small components: the status, the set-up form, the recovery codes,
//! Remove, Unlock, New recovery codes and Move to a new phone. For the holder of a Team Server account without
//! a device it asks for a secret at once, so the QR code shows without a click.

mod new_codes;
mod next_code;
mod recovery_codes;
mod remove;
mod setup_form;
pub mod state;
mod status;
mod unlock;

use crate::api;
use crate::components::message::error;
use crate::components::security_keys::{self, use_security_keys};
use crate::element::{el, fragment, maybe, when};
use crate::hooks::{use_change, use_submit};
use remove::{Remove, use_remove};
use setup_form::SetupForm;
use state::{Action, State, View};
use status::use_notice_focus;
use twostep_shared::api::{AccountKind, SetupResponse, TwoStepStatus, User};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TwoStepProps {
    pub user: User,
    /// The signed-in user is looking at their own page (only they can set it up).
    pub is_self: bool,
    /// The signed-in user is an Administrator (may remove any device and unlock).
    pub viewer_is_admin: bool,
    /// Called when the status changed on the server.
    pub on_changed: Callback<()>,
}

/// The holder's own section asks for a setup at once for such an account: a Team Server
/// account without 2-step verification.
pub fn sets_up_at_once(user: &User) -> bool {
    user.account == AccountKind::TeamServer && !user.two_step.as_ref().is_some_and(|s| s.enabled)
}

thread_local! {
    /// A setup the app asked for before drawing this section ([`keep_setup`]).
    static EARLY_SETUP: std::cell::Cell<Option<SetupResponse>> = const { std::cell::Cell::new(None) };
}

/// Keeps a setup for the section about to open, which shows it instead of asking again.
pub fn keep_setup(setup: SetupResponse) {
    EARLY_SETUP.with(|early| early.set(Some(setup)));
}

#[function_component(TwoStepSection)]
pub fn two_step_section(props: &TwoStepProps) -> Html {
    let state = use_reducer(State::default);
    let start = use_submit();
    // The hooks of the parts below, kept here whether or not they show.
    let notice_ref = use_notice_focus(state.notice);
    let remove = use_remove(state.remove_open);
    let unlock = use_submit();
    let new_codes = new_codes::use_new_codes();
    let key_state = use_security_keys(
        (props.is_self && props.user.account == AccountKind::TeamServer).then(|| {
            props
                .user
                .two_step
                .as_ref()
                .map_or(0, |status| status.security_keys)
        }),
    );
    let codes = recovery_codes::use_recovery_codes(matches!(state.view, View::Codes(..)));
    let user = &props.user;
    let status = user.two_step.clone().unwrap_or(TwoStepStatus {
        enabled: false,
        recovery_codes_left: 0,
        locked: false,
        app: false,
        security_keys: 0,
    });
    let team_server = user.account == AccountKind::TeamServer;
    let can_set_up = props.is_self && sets_up_at_once(user);
    // Security keys alone: the app may be added next to them (with a key as proof).
    let can_add_app = props.is_self && team_server && status.enabled && !status.app;
    // Every change goes through here; one that changed the account reloads it.
    let act = {
        let (dispatcher, on_changed) = (state.dispatcher(), props.on_changed.clone());
        Callback::from(move |action: Action| {
            let changed = action.changes_status();
            dispatcher.dispatch(action);
            if changed {
                on_changed.emit(());
            }
        })
    };
    let start_setup = {
        let (start, act) = (start.clone(), act.clone());
        Callback::from(move |()| {
            if let Some(setup) = EARLY_SETUP.with(std::cell::Cell::take) {
                act.emit(Action::SetupReady(setup));
                return;
            }
            act.emit(Action::StartSetup);
            let (ready, failed) = (act.clone(), act.clone());
            start.run_or(
                api::start_setup(),
                move |setup| ready.emit(Action::SetupReady(setup)),
                move |_| failed.emit(Action::SetupFailed),
            );
        })
    };
    let start_replacement = {
        let (start, act) = (start.clone(), act.clone());
        Callback::from(move |_: MouseEvent| {
            act.emit(Action::StartReplacement);
            let (ready, failed) = (act.clone(), act.clone());
            start.run_or(
                api::start_replacement(),
                move |setup| ready.emit(Action::ReplacementReady(setup)),
                move |_| failed.emit(Action::SetupFailed),
            );
        })
    };
    {
        // Straight to the QR code when there is nothing else to do here.
        let start_setup = start_setup.clone();
        use_change(
            user.id,
            Box::new(move || {
                if can_set_up {
                    start_setup.emit(());
                }
            }),
        );
    }
    let heading = || el("h2").id("two-step-heading").text("2-Step verification");
    let section = |body: Html| -> Html {
        el("section")
            .attr("aria-labelledby", "two-step-heading")
            .child(heading())
            .child(body)
            .into()
    };

    if let AccountKind::Organizational { identity_provider } = &user.account {
        return section(
            el("p")
                .class("explanation")
                .text(format!(
                    "2-step verification cannot be set up for this account: it is an organizational account, \
                     which signs in through {identity_provider}. Your organization's identity provider decides \
                     how you verify who you are."
                ))
                .into(),
        );
    }

    let body: Html = match &state.view {
        View::Codes(list, message) => {
            recovery_codes::view(&codes, list, message, &act.reform(|()| Action::Finish))
        }
        View::Starting => fragment(vec![
            status::view(&status, None, NodeRef::default()),
            el("p")
                .attr("role", "status")
                .text("Getting a new key for your authenticator app…")
                .into(),
        ]),
        View::Setup(setup, replacement) => fragment(vec![
            status::view(&status, None, NodeRef::default()),
            when(*replacement, || el("h3").text("Move to a new phone")),
            html! {
                <SetupForm setup={setup.clone()} replacement={*replacement}
                    with_key={!*replacement && status.enabled}
                    on_confirmed={act.reform(Action::Confirmed)}
                    on_replaced={act.reform(|()| Action::Replaced)}
                    on_cancel={act.reform(|()| Action::Finish)} />
            },
        ]),
        View::Status => {
            let can_remove = status.enabled && (props.is_self || props.viewer_is_admin);
            fragment(vec![
                maybe(
                    start
                        .error()
                        .map(|failure| error(failure.message().to_owned().into())),
                ),
                status::view(&status, state.notice, notice_ref),
                when(can_remove, || {
                    el("div")
                        .class("actions")
                        .child(
                            Remove {
                                user_id: user.id,
                                username: user.username.clone().into(),
                                is_self: props.is_self,
                                has_keys: status.security_keys > 0,
                                on_open: act.reform(|()| Action::OpenRemove),
                                on_close: act.reform(|()| Action::CloseRemove),
                                on_removed: act.reform(|()| Action::Removed),
                            }
                            .view(&remove),
                        )
                        .child(when(status.locked && props.viewer_is_admin, || {
                            unlock::view(&unlock, user.id, act.reform(|()| Action::Unlocked))
                        }))
                }),
                when(status.enabled && props.is_self, || {
                    new_codes::view(
                        &new_codes,
                        state.new_codes_open,
                        !status.app,
                        act.reform(|()| Action::OpenNewCodes),
                        act.reform(Action::NewCodesMade),
                    )
                }),
                when(can_add_app, || {
                    el("button")
                        .on_click(start_setup.reform(|_: MouseEvent| ()))
                        .flag("disabled", start.busy())
                        .text("Set up the authenticator app")
                }),
                when(status.app && props.is_self, || {
                    fragment(vec![
                            el("h3").text("New phone").into(),
                            el("p").text("Got a new phone? Set it up here; your current phone keeps working until the new one is confirmed.").into(),
                            el("button")
                                .on_click(start_replacement)
                                .flag("disabled", start.busy())
                                .text("Move to a new phone")
                                .into(),
                        ])
                }),
                when(can_set_up, || {
                    fragment(vec![
                            el("p").text("With 2-step verification, signing in asks for a code from an authenticator app on your phone as well as your password.").into(),
                            el("button")
                                .class("primary")
                                .on_click(start_setup.reform(|_: MouseEvent| ()))
                                .flag("disabled", start.busy())
                                .text("Set up 2-step verification")
                                .into(),
                        ])
                }),
                when(!status.enabled && !props.is_self, || {
                    el("p").text("Only the user themself can set up 2-step verification.")
                }),
            ])
        }
    };
    let keys = when(
        props.is_self && !matches!(state.view, View::Codes(..)),
        || security_keys::view(&key_state, &status, &props.on_changed),
    );
    section(fragment(vec![body, keys]))
}
