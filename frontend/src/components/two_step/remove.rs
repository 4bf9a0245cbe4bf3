//! Remove: the button and its confirmation dialog. The holder confirms with a current code
//! or a recovery code (not the password alone); an administrator removing someone else's device just confirms.

use crate::api;
use crate::components::confirm_dialog::{ConfirmDialog, use_dialog};
use crate::element::{el, fragment};
use crate::hooks::{SubmitHandle, use_submit};
use yew::prelude::*;

/// Remove's state, kept by the section: [`use_remove`] and [`Remove::view`] are a hook and a
/// function rather than a component, which costs more of the app's download.
pub struct RemoveState {
    proof: UseStateHandle<String>,
    submit: SubmitHandle,
    dialog: NodeRef,
}

/// The state; the dialog is shown while `open`.
#[hook]
pub fn use_remove(open: bool) -> RemoveState {
    RemoveState {
        proof: use_state(String::new),
        submit: use_submit(),
        dialog: use_dialog(open),
    }
}

pub struct Remove {
    pub user_id: i64,
    pub username: AttrValue,
    /// The holder is removing their own device (a proof is needed).
    pub is_self: bool,
    /// The account has security keys: with the box left empty, one of them is the proof.
    pub has_keys: bool,
    pub on_open: Callback<()>,
    pub on_close: Callback<()>,
    pub on_removed: Callback<()>,
}

impl Remove {
    pub fn view(self, state: &RemoveState) -> Html {
        let props = self;
        let RemoveState {
            proof,
            submit,
            dialog,
        } = state;
        let open = {
            let (proof, submit, on_open) = (proof.clone(), submit.clone(), props.on_open.clone());
            Callback::from(move |_: MouseEvent| {
                proof.set(String::new());
                submit.clear_error();
                on_open.emit(());
            })
        };
        let confirm = {
            let (proof, submit) = (proof.clone(), submit.clone());
            let (id, is_self, has_keys, on_removed) = (
                props.user_id,
                props.is_self,
                props.has_keys,
                props.on_removed.clone(),
            );
            Callback::from(move |()| {
                let on_removed = on_removed.clone();
                let done = move |()| on_removed.emit(());
                let typed = proof.trim();
                if is_self && typed.is_empty() {
                    if !has_keys {
                        submit.fail("Enter a current verification code or a recovery code.");
                        return;
                    }
                    // The box left empty: one of the holder's keys proves it.
                    let call = api::steps::<()>(async move {
                        let key = api::key_answer(api::key_proof(), false).await?;
                        let request = crate::webauthn::body(&[("security_key", &key)]);
                        api::remove_device(id, request).into_parts().0.await
                    });
                    submit.run(call, done);
                    return;
                }
                let request = crate::wire::object(&[("proof", is_self.then_some(typed))]);
                submit.run(api::remove_device(id, request), done);
            })
        };
        let on_proof = {
            let proof = proof.clone();
            Callback::from(move |v: String| proof.set(v))
        };
        let text = if props.is_self {
            format!(
                "Remove the authentication device from your account? Sign-in will no longer ask for a verification code, and your recovery codes stop working. Confirm with a current verification code or a recovery code{}.",
                if props.has_keys {
                    ", or leave the box empty and use one of your security keys"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "Remove the authentication device of {}? Their sign-in will no longer ask for a verification code, their recovery codes stop working, and they are signed out everywhere.",
                props.username
            )
        };
        fragment(vec![
            el("button").on_click(open).text("Remove").into(),
            ConfirmDialog {
                dialog: dialog.clone(),
                title: "Remove authentication device",
                text: text.into(),
                proof_label: props
                    .is_self
                    .then_some("Verification code or recovery code"),
                proof: (**proof).clone().into(),
                on_proof,
                error: submit
                    .error()
                    .map(|f| AttrValue::from(f.message().to_owned())),
                busy: submit.busy(),
                on_ok: confirm,
                on_cancel: props.on_close,
            }
            .view(),
        ])
    }
}
