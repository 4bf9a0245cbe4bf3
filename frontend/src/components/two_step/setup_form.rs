//! Setting up: the steps, the QR code drawn from the `otpauth://` URI, the key for manual
//! entry, and the form with Code 1 and Code 2. Code 1 takes the focus.

use super::next_code::use_seconds_to_next_code;
use crate::api;
use crate::clipboard;
use crate::components::code_input::CodeInput;
use crate::components::message::error;
use crate::components::qr;
use crate::element::{el, fragment, maybe, when};
use crate::focus::focus;
use crate::hooks::{use_mount, use_submit};
use std::rc::Rc;
use twostep_shared::api::{ConfirmRequest, SetupResponse};
use twostep_shared::input::TotpCode;
use twostep_shared::otpauth::group_key;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SetupFormProps {
    pub setup: Rc<SetupResponse>,
    /// The device is associated: the recovery codes to show.
    pub on_confirmed: Callback<Vec<String>>,
    /// A new phone replacing the device (Move to a new phone): Apply replaces it, keeps the
    /// recovery codes, and calls `on_replaced`; Cancel calls `on_cancel`.
    #[prop_or_default]
    pub replacement: bool,
    #[prop_or_default]
    pub on_replaced: Callback<()>,
    #[prop_or_default]
    pub on_cancel: Callback<()>,
    /// Adding the app to security keys: Apply first asks for one of the keys as proof.
    #[prop_or_default]
    pub with_key: bool,
}

/// The hint under Code 2, with the seconds until the app shows its next code.
fn next_code_hint(seconds: u32) -> String {
    let unit = if seconds == 1 { "second" } else { "seconds" };
    format!("Wait for the next code to appear in the app (in {seconds} {unit}), then type it here.")
}

#[function_component(SetupForm)]
pub fn setup_form(props: &SetupFormProps) -> Html {
    let code1 = use_state(String::new);
    let code2 = use_state(String::new);
    // Moving to a new phone: a code of the current phone (or a recovery code) proves it.
    let proof = use_state(String::new);
    let feedback = use_state(String::new);
    let code1_ref = use_node_ref();
    let submit = use_submit();
    let next_code_in = use_seconds_to_next_code();
    let qr = use_memo(props.setup.clone(), |setup| qr::view(&setup.otpauth_uri));
    {
        let code1_ref = code1_ref.clone();
        use_mount(Box::new(move || {
            focus(&code1_ref);
            None
        }));
    }
    let on_code = |code: &UseStateHandle<String>| {
        let (code, submit) = (code.clone(), submit.clone());
        Callback::from(move |value: String| {
            code.set(value);
            submit.clear_error();
        })
    };
    let can_apply = TotpCode::parse(&code1).is_ok()
        && TotpCode::parse(&code2).is_ok()
        && !(props.replacement && proof.trim().is_empty())
        && !submit.busy();
    let apply = {
        let (code1, code2, submit) = (code1.clone(), code2.clone(), submit.clone());
        let proof = proof.clone();
        let on_confirmed = props.on_confirmed.clone();
        let (replacement, on_replaced) = (props.replacement, props.on_replaced.clone());
        let with_key = props.with_key;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let request = ConfirmRequest {
                code1: (*code1).clone(),
                code2: (*code2).clone(),
                proof: replacement.then(|| (*proof).clone()),
                security_key: None,
            };
            if replacement {
                let on_replaced = on_replaced.clone();
                submit.run(api::confirm_replacement(&request), move |()| {
                    on_replaced.emit(())
                });
                return;
            }
            let on_confirmed = on_confirmed.clone();
            submit.run(api::confirm(&request, with_key), move |codes| {
                on_confirmed.emit(codes.recovery_codes)
            });
        })
    };
    let copy_key = {
        let (key, feedback) = (props.setup.secret.clone(), feedback.clone());
        Callback::from(move |_: MouseEvent| {
            let feedback = feedback.clone();
            clipboard::copy(
                &key,
                Callback::from(move |text: &str| feedback.set(text.to_owned())),
            );
        })
    };
    fragment(vec![
        when(props.replacement, || {
            el("p").text("Your current phone keeps working until you select Apply; after that only the new phone's codes work. To show it's you, Apply also asks for a code from your current phone (or a recovery code).")
        }),
        el("ol")
            .class("steps")
            .child(el("li").text(if props.replacement {
                "Open the authenticator app on your new phone and add an account."
            } else {
                "Open the authenticator app on your phone and add an account."
            }))
            .child(el("li").text("On this phone, select Open in authenticator app. On another device, scan the QR code with the phone, or type the key."))
            .child(el("li").text("Enter the code the app shows in Code 1. Wait for the app to show the next code (up to 30 seconds), enter it in Code 2, and select Apply."))
            .into(),
        el("div")
            .class("setup-methods")
            .child((*qr).clone())
            .child(
                el("div")
                    .class("key")
                    .child(
                        el("a")
                            .class("button primary open-app")
                            .attr("href", props.setup.otpauth_uri.clone())
                            .text("Open in authenticator app"),
                    )
                    .child(el("p").text("Key for manual entry (time-based):"))
                    .child(el("p").class("key-text").child(el("code").text(group_key(&props.setup.secret))))
                    .child(el("button").on_click(copy_key).text("Copy key"))
                    .child(el("p").class("feedback").attr("role", "status").text((*feedback).clone())),
            )
            .into(),
        el("form")
            .on_submit(apply)
            .flag("novalidate", true)
            .child(maybe(submit.form_error().map(error)))
            .child(
                CodeInput {
                    id: "code1",
                    label: "Code 1",
                    value: (*code1).clone().into(),
                    on_change: on_code(&code1),
                    server_error: submit.field_error("code1"),
                    node_ref: code1_ref,
                    hint: None,
                }
                .view(),
            )
            .child(
                CodeInput {
                    id: "code2",
                    label: "Code 2",
                    value: (*code2).clone().into(),
                    on_change: on_code(&code2),
                    server_error: submit.field_error("code2"),
                    node_ref: NodeRef::default(),
                    hint: Some(next_code_hint(next_code_in).into()),
                }
                .view(),
            )
            .child(when(props.replacement, || {
                let proof_error = submit.field_error("proof");
                el("div")
                    .class("field")
                    .child(el("label").attr("for", "proof").text("Code from your current phone, or a recovery code"))
                    .child(
                        el("input")
                            .id("proof")
                            .attr("autocomplete", "one-time-code")
                            .attr("aria-invalid", proof_error.is_some().to_string())
                            .attr_opt("aria-describedby", proof_error.is_some().then_some("proof-error"))
                            .value((*proof).clone())
                            .bind_text(&proof),
                    )
                    .child(maybe(proof_error.map(|e| el("p").id("proof-error").class("field-error").text(e))))
            }))
            .child(
                el("div")
                    .class("actions")
                    .child(el("button").attr("type", "submit").class("primary").flag("disabled", !can_apply).text("Apply"))
                    .child(when(props.replacement, || {
                        el("button")
                            .attr("type", "button")
                            .on_click(props.on_cancel.reform(|_: MouseEvent| ()))
                            .text("Cancel")
                    })),
            )
            .into(),
    ])
}
