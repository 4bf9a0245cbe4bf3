//! The "Confirm it's you" dialog: asks for the password (or a security key) when the server wants a recent
//! sign-in (see [`crate::reauth`]), then lets the waiting action go on. The native modal
//! `<dialog>` keeps the focus inside and Escape cancels. A hook that gives the dialog's markup
//! to the signed-in frame ([`crate::components::layout`]), which shows it after the page: a
//! component of its own costs more of the app's download.

use crate::api;
use crate::element::{el, field, maybe};
use crate::hooks::{use_mount, use_submit};
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
    // A callback (one `Rc`), so that the closures keeping it hold one count rather than
    // three handles each (a smaller download).
    let close = {
        let (open, password, submit) = (open.clone(), password.clone(), submit.clone());
        Callback::from(move |confirmed: bool| {
            open.set(false);
            password.set(String::new());
            submit.clear_error();
            crate::reauth::settle(confirmed);
        })
    };
    let on_cancel_event = close.reform(|e: Event| {
        e.prevent_default();
        false
    });
    let cancel = close.reform(|_: MouseEvent| false);
    let on_submit = {
        let (password, submit, close) = (password.clone(), submit.clone(), close.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if password.is_empty() {
                submit.fail("Enter your password.");
                return;
            }
            let typed = (*password).clone();
            let close = close.clone();
            submit.run(api::reauthenticate(&typed), move |()| close.emit(true));
        })
    };
    let with_key = {
        let (submit, close) = (submit.clone(), close.clone());
        Callback::from(move |_: MouseEvent| {
            let close = close.clone();
            let call = api::with_key(
                api::key_proof(),
                "security_key",
                api::reauthenticate_with_key,
            );
            submit.run(call, move |()| close.emit(true));
        })
    };
    let error = submit.error().map(|f| f.message().to_owned());
    el("dialog")
        .node_ref(dialog)
        .class("dialog")
        .attr("aria-labelledby", "reauth-title")
        .attr("aria-describedby", "reauth-text")
        .on_cancel(on_cancel_event)
        .child(
            el("form")
                .on_submit(on_submit)
                .flag("novalidate", true)
                .child(el("h2").id("reauth-title").text("Confirm it's you"))
                .child(
                    el("p").id("reauth-text").text(
                        "This change needs a recent sign-in. Enter your password to continue.",
                    ),
                )
                .child(field(
                    "reauth-password",
                    "Password",
                    el("input")
                        .id("reauth-password")
                        .attr("type", "password")
                        .attr("autocomplete", "current-password")
                        .value((*password).clone())
                        .bind_text(&password)
                        .attr_opt("aria-invalid", error.is_some().then_some("true"))
                        .attr_opt(
                            "aria-describedby",
                            error.is_some().then_some("reauth-error"),
                        ),
                ))
                .child(maybe(error.map(|error| {
                    el("p")
                        .id("reauth-error")
                        .class("message error")
                        .attr("role", "alert")
                        .text(error)
                })))
                .child(
                    el("div")
                        .class("actions")
                        .child(
                            el("button")
                                .attr("type", "submit")
                                .class("primary")
                                .flag("disabled", submit.busy())
                                .text("Confirm"),
                        )
                        .child(
                            el("button")
                                .attr("type", "button")
                                .on_click(with_key)
                                .flag("disabled", submit.busy())
                                .text("Use a security key"),
                        )
                        .child(
                            el("button")
                                .attr("type", "button")
                                .on_click(cancel)
                                .text("Cancel"),
                        ),
                ),
        )
        .into()
}
