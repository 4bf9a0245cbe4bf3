//! Manage profile → Password: the current password and the new one twice. The browser
//! checks the rules for new passwords (shared with the server) before sending; the server
//! also refuses common passwords. Every other session of the account ends.

use crate::api;
use crate::components::message::{self, success};
use crate::element::{el, field, maybe};
use crate::hooks::{SubmitHandle, use_submit};
use twostep_shared::input::Password;
use yew::prelude::*;

/// The form's state, kept by the Manage user page: [`use_password_form`] and [`view`] are a
/// hook and a function rather than a component (each component costs about 0.4 kB of the
/// app's download).
pub struct PasswordFormState {
    current: UseStateHandle<String>,
    new: UseStateHandle<String>,
    again: UseStateHandle<String>,
    submit: SubmitHandle,
    done: UseStateHandle<Option<String>>,
}

#[hook]
pub fn use_password_form() -> PasswordFormState {
    PasswordFormState {
        current: use_state(String::new),
        new: use_state(String::new),
        again: use_state(String::new),
        submit: use_submit(),
        done: use_state(|| None::<String>),
    }
}

/// The only page of a session whose password is a one-time password (a new account, or a
/// reset by an administrator): once the holder chooses their own (`on_changed` then reads
/// the account again), the app is theirs again.
pub fn new_password(state: &PasswordFormState, on_changed: Callback<()>) -> Html {
    crate::element::fragment(vec![
        el("h1").text("Choose a new password").into(),
        el("p")
            .text("You signed in with a one-time password. Choose your own password to continue; the one-time password then stops working.")
            .into(),
        view(state, on_changed),
    ])
}

/// The Password section; `on_changed` is called once the password was changed.
pub fn view(state: &PasswordFormState, on_changed: Callback<()>) -> Html {
    let PasswordFormState {
        current,
        new,
        again,
        submit,
        done,
    } = state;
    let on_submit = {
        let (current, new, again) = (current.clone(), new.clone(), again.clone());
        let (submit, done) = (submit.clone(), done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            done.set(None);
            if current.is_empty() {
                submit.fail("Enter your current password.");
                return;
            }
            if let Err(error) = Password::parse_new(&new) {
                submit.fail(error.to_string());
                return;
            }
            if *new != *again {
                submit.fail("The new passwords differ. Type the same new password twice.");
                return;
            }
            let (typed_current, typed_new) = ((*current).clone(), (*new).clone());
            let (current, new, again, done, on_changed) = (
                current.clone(),
                new.clone(),
                again.clone(),
                done.clone(),
                on_changed.clone(),
            );
            submit.run(
                api::change_password(&typed_current, &typed_new),
                move |ended| {
                    for field in [&current, &new, &again] {
                        field.set(String::new());
                    }
                    done.set(Some(format!(
                        "Password changed. {} other session{} signed out.",
                        ended.sessions_ended,
                        if ended.sessions_ended == 1 {
                            " was"
                        } else {
                            "s were"
                        }
                    )));
                    on_changed.emit(());
                },
            );
        })
    };
    let error = submit.error().map(|f| f.message().to_owned());
    el("section")
        .attr("aria-labelledby", "password-heading")
        .child(el("h2").id("password-heading").text("Password"))
        .child(
            el("form")
                .on_submit(on_submit)
                .flag("novalidate", true)
                .class("password-form")
                .child(field(
                    "current-password",
                    "Current password",
                    el("input")
                        .id("current-password")
                        .attr("type", "password")
                        .attr("autocomplete", "current-password")
                        .value((**current).clone())
                        .bind_text(current),
                ))
                .child(
                    field(
                        "new-password",
                        "New password",
                        el("input")
                            .id("new-password")
                            .attr("type", "password")
                            .attr("autocomplete", "new-password")
                            .attr("aria-describedby", "new-password-hint")
                            .value((**new).clone())
                            .bind_text(new),
                    )
                    .child(el("p").id("new-password-hint").class("hint").text(
                            "At least 8 characters; a long phrase is best. Common passwords are refused.",
                        )),
                )
                .child(field(
                    "new-password-again",
                    "New password again",
                    el("input")
                        .id("new-password-again")
                        .attr("type", "password")
                        .attr("autocomplete", "new-password")
                        .value((**again).clone())
                        .bind_text(again),
                ))
                .child(maybe(error.map(|text| {
                    message::error(AttrValue::from(text))
                })))
                .child(maybe(done.as_ref().map(|text| {
                    success(AttrValue::from(text.clone()))
                })))
                .child(
                    el("div").class("actions").child(
                        el("button")
                            .attr("type", "submit")
                            .class("primary")
                            .flag("disabled", submit.busy())
                            .text("Change password"),
                    ),
                ),
        )
        .into()
}
