//! Manage profile → Password: the current password and the new one twice. The browser
//! checks the rules for new passwords (shared with the server) before sending; the server
//! also refuses common passwords. Every other session of the account ends.

use crate::api;
use crate::components::message::{Tone, message};
use crate::hooks::use_submit;
use twostep_shared::input::Password;
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn on_text(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| {
        state.set(e.target_unchecked_into::<HtmlInputElement>().value())
    })
}

#[function_component(PasswordForm)]
pub fn password_form() -> Html {
    let current = use_state(String::new);
    let new = use_state(String::new);
    let again = use_state(String::new);
    let submit = use_submit();
    let done = use_state(|| None::<String>);
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
            let (current, new, again, done) =
                (current.clone(), new.clone(), again.clone(), done.clone());
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
                },
            );
        })
    };
    let error = submit.error().map(|f| f.message().to_owned());
    html! {
        <section aria-labelledby="password-heading">
            <h2 id="password-heading">{ "Password" }</h2>
            <form onsubmit={on_submit} novalidate=true class="password-form">
                <div class="field">
                    <label for="current-password">{ "Current password" }</label>
                    <input id="current-password" type="password" autocomplete="current-password"
                           value={(*current).clone()} oninput={on_text(&current)} />
                </div>
                <div class="field">
                    <label for="new-password">{ "New password" }</label>
                    <input id="new-password" type="password" autocomplete="new-password"
                           aria-describedby="new-password-hint"
                           value={(*new).clone()} oninput={on_text(&new)} />
                    <p id="new-password-hint" class="hint">
                        { "At least 8 characters; a long phrase is best. Common passwords are refused." }
                    </p>
                </div>
                <div class="field">
                    <label for="new-password-again">{ "New password again" }</label>
                    <input id="new-password-again" type="password" autocomplete="new-password"
                           value={(*again).clone()} oninput={on_text(&again)} />
                </div>
                if let Some(error) = error {
                    { message(Tone::Error, AttrValue::from(error), NodeRef::default()) }
                }
                if let Some(text) = &*done {
                    { message(Tone::Success, AttrValue::from(text.clone()), NodeRef::default()) }
                }
                <div class="actions">
                    <button type="submit" class="primary" disabled={submit.busy()}>
                        { "Change password" }
                    </button>
                </div>
            </form>
        </section>
    }
}
