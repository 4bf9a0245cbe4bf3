//! Manage user → Administration, for an administrator on another user's page: Make or Remove
//! administrator, Reset password (a one-time password, shown once), Disable or Enable, and
//! Delete (after OK). Each asks the server, which may first ask to confirm it's you.

use crate::api;
use crate::components::confirm_dialog::{ConfirmDialog, use_dialog};
use crate::components::message::{self, success};
use crate::element::{el, maybe};
use crate::hooks::{SubmitHandle, use_submit};
use crate::route::{Navigator, Route, use_navigator};
use twostep_shared::api::{AccountKind, Role, User};
use yew::prelude::*;

/// The section's state, kept by the Manage user page: [`use_admin_actions`] and [`view`] are
/// a hook and a function rather than a component (each component costs about 0.4 kB of the
/// app's download).
pub struct AdminActionsState {
    submit: SubmitHandle,
    notice: UseStateHandle<Option<String>>,
    deleting: UseStateHandle<bool>,
    dialog: NodeRef,
    navigator: Navigator,
}

#[hook]
pub fn use_admin_actions() -> AdminActionsState {
    let deleting = use_state(|| false);
    AdminActionsState {
        submit: use_submit(),
        notice: use_state(|| None::<String>),
        dialog: use_dialog(*deleting),
        deleting,
        navigator: use_navigator(),
    }
}

/// The Administration section for `user`; `on_changed` reads the user again.
pub fn view(state: &AdminActionsState, user: &User, on_changed: &Callback<()>) -> Html {
    let AdminActionsState {
        submit,
        notice,
        deleting,
        dialog,
        navigator,
    } = state;
    let (id, name) = (user.id, user.username.clone());
    // Runs `call`; on success shows `done` and reads the user again.
    let act = |call: fn(i64, bool) -> api::Call<()>, flag: bool, done: String| {
        let (submit, notice, on_changed) = (submit.clone(), notice.clone(), on_changed.clone());
        Callback::from(move |_: MouseEvent| {
            let (notice, on_changed, done) = (notice.clone(), on_changed.clone(), done.clone());
            notice.set(None);
            submit.run(call(id, flag), move |()| {
                notice.set(Some(done));
                on_changed.emit(());
            });
        })
    };
    let admin = user.role == Role::Administrator;
    let role = act(
        api::set_role,
        !admin,
        if admin {
            format!("{name} is now a User.")
        } else {
            format!("{name} is now an Administrator.")
        },
    );
    let disabled = user.disabled;
    let able = act(
        api::set_disabled,
        !disabled,
        if disabled {
            format!("{name} is enabled and can sign in again.")
        } else {
            format!("{name} is disabled and was signed out everywhere.")
        },
    );
    let reset = {
        let (submit, notice, on_changed, name) = (
            submit.clone(),
            notice.clone(),
            on_changed.clone(),
            name.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (notice, on_changed, name) = (notice.clone(), on_changed.clone(), name.clone());
            notice.set(None);
            submit.run(api::reset_password(id), move |reset| {
                notice.set(Some(format!(
                    "{name} was signed out everywhere. One-time password: {} — give it to {name}, who must choose a new one at the next sign-in. It is shown only now.",
                    reset.one_time_password.unwrap_or_default()
                )));
                on_changed.emit(());
            });
        })
    };
    let open = {
        let deleting = deleting.clone();
        Callback::from(move |_: MouseEvent| deleting.set(true))
    };
    let confirm = {
        let (submit, navigator) = (submit.clone(), navigator.clone());
        Callback::from(move |()| {
            let navigator = navigator.clone();
            submit.run(api::delete_user(id), move |()| {
                navigator.push(&Route::Users)
            });
        })
    };
    let cancel = {
        let deleting = deleting.clone();
        Callback::from(move |()| deleting.set(false))
    };
    let error = submit
        .error()
        .map(|f| AttrValue::from(f.message().to_owned()));
    let button = |text: &'static str, on_click: Callback<MouseEvent>| {
        el("button")
            .flag("disabled", submit.busy())
            .on_click(on_click)
            .text(text)
    };
    el("section")
        .attr("aria-labelledby", "admin-heading")
        .child(el("h2").id("admin-heading").text("Administration"))
        .child(
            el("div")
                .class("actions")
                .child(button(
                    if admin { "Remove administrator" } else { "Make administrator" },
                    role,
                ))
                .child(maybe((user.account == AccountKind::TeamServer).then(|| {
                    button("Reset password", reset)
                })))
                .child(button(if disabled { "Enable" } else { "Disable" }, able))
                .child(button("Delete", open)),
        )
        .child(maybe(
            (**notice)
                .clone()
                .map(|text| success(text.into())),
        ))
        .child(maybe(
            error
                .clone()
                .filter(|_| !**deleting)
                .map(message::error),
        ))
        .child(
            ConfirmDialog {
                dialog: dialog.clone(),
                title: "Delete user",
                text: format!(
                    "Delete {name}? The account and its sessions end now; the audit log keeps its events."
                )
                .into(),
                proof_label: None,
                proof: AttrValue::default(),
                on_proof: Callback::noop(),
                error,
                busy: submit.busy(),
                on_ok: confirm,
                on_cancel: cancel,
            }
            .view(),
        )
        .into()
}
