//! A modal confirmation dialog (the native `<dialog>`, so focus stays inside and Escape
//! cancels) with OK and Cancel, and optionally a field for a fresh proof.

use crate::element::{el, maybe};
use crate::hooks::use_change;
use web_sys::HtmlDialogElement;
use yew::prelude::*;

/// What the dialog shows. [`use_dialog`] opens and closes it, [`ConfirmDialog::view`] draws it:
/// a hook and a function rather than a component, which costs more of the app's download.
pub struct ConfirmDialog {
    /// From [`use_dialog`].
    pub dialog: NodeRef,
    pub title: &'static str,
    pub text: AttrValue,
    /// Label of the proof field; no field when `None`.
    pub proof_label: Option<&'static str>,
    pub proof: AttrValue,
    pub on_proof: Callback<String>,
    pub error: Option<AttrValue>,
    pub busy: bool,
    pub on_ok: Callback<()>,
    pub on_cancel: Callback<()>,
}

/// The dialog element, shown as a modal while `open`.
#[hook]
pub fn use_dialog(open: bool) -> NodeRef {
    let dialog = use_node_ref();
    {
        let dialog = dialog.clone();
        use_change(
            open,
            Box::new(move || {
                if let Some(d) = dialog.cast::<HtmlDialogElement>() {
                    if open && !d.open() {
                        let _ = d.show_modal();
                    } else if !open && d.open() {
                        d.close();
                    }
                }
            }),
        );
    }
    dialog
}

impl ConfirmDialog {
    pub fn view(self) -> Html {
        let on_cancel_event = {
            let on_cancel = self.on_cancel.clone();
            Callback::from(move |e: Event| {
                e.prevent_default();
                on_cancel.emit(());
            })
        };
        let on_submit = {
            let on_ok = self.on_ok;
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                on_ok.emit(());
            })
        };
        let cancel = {
            let on_cancel = self.on_cancel;
            Callback::from(move |_: MouseEvent| on_cancel.emit(()))
        };
        el("dialog")
            .node_ref(self.dialog)
            .class("dialog")
            .attr("aria-labelledby", "dialog-title")
            .attr("aria-describedby", "dialog-text")
            .on_cancel(on_cancel_event)
            .child(
                el("form")
                    .on_submit(on_submit)
                    .flag("novalidate", true)
                    .child(el("h2").id("dialog-title").text(self.title))
                    .child(el("p").id("dialog-text").text(self.text))
                    .child(maybe(self.proof_label.map(|label| {
                        el("div")
                            .class("field")
                            .child(el("label").attr("for", "dialog-proof").text(label))
                            .child(
                                el("input")
                                    .id("dialog-proof")
                                    .attr("type", "password")
                                    .attr("autocomplete", "off")
                                    .flag("autofocus", true)
                                    .value(self.proof)
                                    .on_text(self.on_proof),
                            )
                    })))
                    .child(maybe(self.error.map(|error| {
                        el("p")
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
                                    .flag("disabled", self.busy)
                                    .text("OK"),
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
}
