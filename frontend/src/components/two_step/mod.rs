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
use crate::hooks::{use_change, use_submit};
use remove::{Remove, use_remove};
use setup_form::SetupForm;
use state::{Action, State, View};
use status::use_notice_focus;
use twostep_shared::api::{AccountKind, TwoStepStatus, User};
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

#[function_component(TwoStepSection)]
pub fn two_step_section(props: &TwoStepProps) -> Html {
    let state = use_reducer(State::default);
    let start = use_submit();
    // The hooks of the parts below, kept here whether or not they show.
    let notice_ref = use_notice_focus(state.notice);
    let remove = use_remove(state.remove_open);
    let unlock = use_submit();
    let new_codes = new_codes::use_new_codes();
    let codes = recovery_codes::use_recovery_codes(match &state.view {
        View::Codes(codes, _) => Some(codes.clone()),
        _ => None,
    });
    let user = &props.user;
    let status = user.two_step.clone().unwrap_or(TwoStepStatus {
        enabled: false,
        recovery_codes_left: 0,
        locked: false,
    });
    let team_server = user.account == AccountKind::TeamServer;
    let can_set_up = props.is_self && team_server && !status.enabled;
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
    let heading = html! { <h2 id="two-step-heading">{ "2-Step verification" }</h2> };

    if let AccountKind::Organizational { identity_provider } = &user.account {
        return html! {
            <section aria-labelledby="two-step-heading">
                { heading }
                <p class="explanation">
                    { format!(
                        "2-step verification cannot be set up for this account: it is an organizational account, \
                         which signs in through {identity_provider}. Your organization's identity provider decides \
                         how you verify who you are."
                    ) }
                </p>
            </section>
        };
    }

    let body = match &state.view {
        View::Codes(list, message) => {
            recovery_codes::view(&codes, list, message, &act.reform(|()| Action::Finish))
        }
        View::Starting => html! {
            <>
                { status::view(&status, None, NodeRef::default()) }
                <p role="status">{ "Getting a new key for your authenticator app…" }</p>
            </>
        },
        View::Setup(setup, replacement) => html! {
            <>
                { status::view(&status, None, NodeRef::default()) }
                if *replacement {
                    <h3>{ "Move to a new phone" }</h3>
                }
                <SetupForm setup={setup.clone()} replacement={*replacement}
                    on_confirmed={act.reform(Action::Confirmed)}
                    on_replaced={act.reform(|()| Action::Replaced)}
                    on_cancel={act.reform(|()| Action::Finish)} />
            </>
        },
        View::Status => {
            let can_remove = status.enabled && (props.is_self || props.viewer_is_admin);
            html! {
                <>
                    if let Some(failure) = start.error() {
                        { error(failure.message().to_owned().into()) }
                    }
                    { status::view(&status, state.notice, notice_ref) }
                    if can_remove {
                        <div class="actions">
                            { Remove {
                                user_id: user.id,
                                username: user.username.clone().into(),
                                is_self: props.is_self,
                                on_open: act.reform(|()| Action::OpenRemove),
                                on_close: act.reform(|()| Action::CloseRemove),
                                on_removed: act.reform(|()| Action::Removed),
                            }.view(&remove) }
                            if status.locked && props.viewer_is_admin {
                                { unlock::view(&unlock, user.id, act.reform(|()| Action::Unlocked)) }
                            }
                        </div>
                    }
                    if status.enabled && props.is_self {
                        { new_codes::view(&new_codes, state.new_codes_open,
                            act.reform(|()| Action::OpenNewCodes), act.reform(Action::NewCodesMade)) }
                        <h3>{ "New phone" }</h3>
                        <p>{ "Got a new phone? Set it up here; your current phone keeps working until the new one is confirmed." }</p>
                        <button onclick={start_replacement} disabled={start.busy()}>{ "Move to a new phone" }</button>
                    }
                    if can_set_up {
                        <p>{ "With 2-step verification, signing in asks for a code from an authenticator app on your phone as well as your password." }</p>
                        <button class="primary" onclick={start_setup.reform(|_: MouseEvent| ())} disabled={start.busy()}>
                            { "Set up 2-step verification" }
                        </button>
                    }
                    if !status.enabled && !props.is_self {
                        <p>{ "Only the user themself can set up 2-step verification." }</p>
                    }
                </>
            }
        }
    };
    html! {
        <section aria-labelledby="two-step-heading">
            { heading }
            { body }
        </section>
    }
}
