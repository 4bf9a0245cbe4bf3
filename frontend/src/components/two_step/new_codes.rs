//! New recovery codes: a button that opens a form asking for a current code from the app;
//! the old recovery codes stop working.

use crate::api;
use crate::components::code_input::CodeInput;
use crate::components::message::error;
use crate::element::{el, fragment, maybe};
use crate::hooks::{SubmitHandle, use_submit};
use twostep_shared::input::TotpCode;
use yew::prelude::*;

/// The form's state, kept by the section: [`use_new_codes`] and [`view`] are a hook and a
/// function rather than a component, which costs more of the app's download.
pub struct NewCodesState {
    code: UseStateHandle<String>,
    submit: SubmitHandle,
}

#[hook]
pub fn use_new_codes() -> NewCodesState {
    NewCodesState {
        code: use_state(String::new),
        submit: use_submit(),
    }
}

/// The button, or (`open`) the form; `on_made` gets the new codes. `with_key`: an account
/// with security keys alone, whose button asks one of the keys instead of opening the form.
pub fn view(
    state: &NewCodesState,
    open: bool,
    with_key: bool,
    on_open: Callback<()>,
    on_made: Callback<Vec<String>>,
) -> Html {
    let NewCodesState { code, submit } = state;
    if with_key || !open {
        let (code, running, on_made) = (code.clone(), submit.clone(), on_made.clone());
        let open = Callback::from(move |_: MouseEvent| {
            if with_key {
                // The key's prompt, then the codes: no form to fill.
                let on_made = on_made.clone();
                let call = api::with_key(
                    api::key_proof(),
                    "security_key",
                    api::new_recovery_codes_with,
                );
                running.run(call, move |codes| on_made.emit(codes.recovery_codes));
            } else {
                code.set(String::new());
                on_open.emit(());
            }
        });
        return fragment(vec![
            maybe(submit.form_error().map(error)),
            el("button")
                .on_click(open)
                .text("New recovery codes")
                .into(),
        ]);
    }
    let on_code = {
        let (code, submit) = (code.clone(), submit.clone());
        Callback::from(move |v: String| {
            code.set(v);
            submit.clear_error();
        })
    };
    let make = {
        let (code, submit) = (code.clone(), submit.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (code, on_made) = ((*code).clone(), on_made.clone());
            submit.run(api::new_recovery_codes(&code), move |codes| {
                on_made.emit(codes.recovery_codes)
            });
        })
    };
    let can_make = TotpCode::parse(code).is_ok() && !submit.busy();
    el("form")
        .class("regenerate")
        .on_submit(make)
        .flag("novalidate", true)
        .child(el("h3").text("New recovery codes"))
        .child(maybe(submit.form_error().map(error)))
        .child(
            CodeInput {
                id: "regenerate-code",
                label: "Verification code",
                value: (**code).clone().into(),
                on_change: on_code,
                server_error: submit.field_error("code"),
                node_ref: NodeRef::default(),
                hint: Some("Enter the current code from your authenticator app. Your old recovery codes stop working.".into()),
            }
            .view(),
        )
        .child(
            el("button")
                .attr("type", "submit")
                .class("primary")
                .flag("disabled", !can_make)
                .text("Make new recovery codes"),
        )
        .into()
}
