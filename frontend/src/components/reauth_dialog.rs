//! The "Confirm it's you" dialog: asks for the password when the server wants a recent
//! sign-in (see [`crate::reauth`]), then lets the waiting action go on. The native modal
//! `<dialog>` keeps the focus inside and Escape cancels. A hook that gives the dialog's markup
//! to the signed-in frame ([`crate::components::layout`]), which shows it after the page: a
//! component of its own costs more of the app's download.

use crate::api;
use crate::hooks::{use_mount, use_submit};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The dialog (closed until the server asks to confirm it's you).
#[hook]
pub fn use_reauth_dialog() -> Html {
    let open = use_state(|| false);
    let password = use_state(String::new);
    let submit = use_submit();
    let dialog = crate::components::confirm_dialog::use_dialog(*open);
    {
        let open = open.clone();
        use_mount(Box::new(move || {
            crate::reauth::register(Some(Callback::from(move |()| open.set(true))));
            Some(Box::new(|| crate::reauth::register(None)))
        }));
    }
    let close = {
        let (open, password, submit) = (open.clone(), password.clone(), submit.clone());
        move |confirmed: bool| {
            open.set(false);
            password.set(String::new());
            submit.clear_error();
            crate::reauth::settle(confirmed);
        }
    };
    let on_cancel_event = {
        let close = close.clone();
        Callback::from(move |e: Event| {
            e.prevent_default();
            close(false);
        })
    };
    let cancel = {
        let close = close.clone();
        Callback::from(move |_: MouseEvent| close(false))
    };
    let on_submit = {
        let (password, submit) = (password.clone(), submit.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if password.is_empty() {
                submit.fail("Enter your password.");
                return;
            }
            let typed = (*password).clone();
            let close = close.clone();
            submit.run(api::reauthenticate(&typed), move |()| close(true));
        })
    };
    let on_input = {
        let password = password.clone();
        Callback::from(move |e: InputEvent| {
            password.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let error = submit.error().map(|f| f.message().to_owned());
    html! {
        <dialog ref={dialog} class="dialog" aria-labelledby="reauth-title"
                aria-describedby="reauth-text" oncancel={on_cancel_event}>
            <form onsubmit={on_submit} novalidate=true>
                <h2 id="reauth-title">{ "Confirm it's you" }</h2>
                <p id="reauth-text">
                    { "This change needs a recent sign-in. Enter your password to continue." }
                </p>
                <div class="field">
                    <label for="reauth-password">{ "Password" }</label>
                    <input id="reauth-password" type="password" autocomplete="current-password"
                           value={(*password).clone()} oninput={on_input}
                           aria-invalid={error.is_some().then_some("true")}
                           aria-describedby={error.is_some().then_some("reauth-error")} />
                </div>
                if let Some(error) = error {
                    <p id="reauth-error" class="message error" role="alert">{ error }</p>
                }
                <div class="actions">
                    <button type="submit" class="primary" disabled={submit.busy()}>
                        { "Confirm" }
                    </button>
                    <button type="button" onclick={cancel}>{ "Cancel" }</button>
                </div>
            </form>
        </dialog>
    }
}
