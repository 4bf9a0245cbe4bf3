//! A modal confirmation dialog (the native `<dialog>`, so focus stays inside and Escape
//! cancels) with OK and Cancel, and optionally a field for a fresh proof.

use web_sys::{HtmlDialogElement, HtmlInputElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ConfirmDialogProps {
    pub open: bool,
    pub title: AttrValue,
    pub text: AttrValue,
    /// Label of the proof field; no field when `None`.
    #[prop_or_default]
    pub proof_label: Option<AttrValue>,
    #[prop_or_default]
    pub proof: AttrValue,
    #[prop_or_default]
    pub on_proof: Callback<String>,
    #[prop_or_default]
    pub error: Option<AttrValue>,
    #[prop_or_default]
    pub busy: bool,
    pub on_ok: Callback<()>,
    pub on_cancel: Callback<()>,
}

#[function_component(ConfirmDialog)]
pub fn confirm_dialog(props: &ConfirmDialogProps) -> Html {
    let dialog = use_node_ref();
    {
        let dialog = dialog.clone();
        use_effect_with(props.open, move |open| {
            if let Some(d) = dialog.cast::<HtmlDialogElement>() {
                if *open && !d.open() {
                    let _ = d.show_modal();
                } else if !*open && d.open() {
                    d.close();
                }
            }
        });
    }
    let on_cancel_event = {
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |e: Event| {
            e.prevent_default();
            on_cancel.emit(());
        })
    };
    let on_submit = {
        let on_ok = props.on_ok.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            on_ok.emit(());
        })
    };
    let cancel = {
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    let on_input = {
        let on_proof = props.on_proof.clone();
        Callback::from(move |e: InputEvent| {
            on_proof.emit(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    html! {
        <dialog ref={dialog} class="dialog" aria-labelledby="dialog-title" aria-describedby="dialog-text"
                oncancel={on_cancel_event}>
            <form onsubmit={on_submit} novalidate=true>
                <h2 id="dialog-title">{ props.title.clone() }</h2>
                <p id="dialog-text">{ props.text.clone() }</p>
                if let Some(label) = &props.proof_label {
                    <div class="field">
                        <label for="dialog-proof">{ label.clone() }</label>
                        <input id="dialog-proof" type="password" autocomplete="off" autofocus=true
                               value={props.proof.clone()} oninput={on_input} />
                    </div>
                }
                if let Some(error) = &props.error {
                    <p class="message error" role="alert">{ error.clone() }</p>
                }
                <div class="actions">
                    <button type="submit" class="primary" disabled={props.busy}>{ "OK" }</button>
                    <button type="button" onclick={cancel}>{ "Cancel" }</button>
                </div>
            </form>
        </dialog>
    }
}
