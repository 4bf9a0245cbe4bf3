//! A labelled input for a 6-digit code, checked as it is typed with the same `shared` parser
//! the server uses.

use crate::element::{el, maybe};
use twostep_shared::input::TotpCode;
use yew::prelude::*;

/// The input's parts. Drawn by [`CodeInput::view`], a function rather than a component: it
/// keeps no state, and each component costs more of the app's download than this one input.
pub struct CodeInput {
    pub id: &'static str,
    pub label: &'static str,
    pub value: AttrValue,
    pub on_change: Callback<String>,
    /// An error from the server about this field.
    pub server_error: Option<AttrValue>,
    pub node_ref: NodeRef,
    pub hint: Option<AttrValue>,
}

impl CodeInput {
    pub fn view(self) -> Html {
        let props = self;
        let local_error = if props.value.is_empty() {
            None
        } else {
            TotpCode::parse(&props.value).err().map(|e| e.to_string())
        };
        let error = local_error
            .map(AttrValue::from)
            .or_else(|| props.server_error.clone());
        let error_id = format!("{}-error", props.id);
        let hint_id = format!("{}-hint", props.id);
        // The hint's and the error's ids, those that show, separated by a space.
        let mut described = String::new();
        if props.hint.is_some() {
            described.push_str(&hint_id);
        }
        if error.is_some() {
            if !described.is_empty() {
                described.push(' ');
            }
            described.push_str(&error_id);
        }

        el("div")
            .class("field")
            .child(el("label").attr("for", props.id).text(props.label))
            .child(maybe(props.hint.map(|hint| {
                el("p").attr("id", hint_id).class("hint").text(hint)
            })))
            .child(
                el("input")
                    .node_ref(props.node_ref)
                    .attr("id", props.id)
                    .attr("type", "text")
                    .attr("inputmode", "numeric")
                    .attr("autocomplete", "one-time-code")
                    .attr("maxlength", "9")
                    .value(props.value)
                    .on_text(props.on_change)
                    .attr("aria-invalid", error.is_some().to_string())
                    .attr_opt(
                        "aria-describedby",
                        (!described.is_empty()).then_some(described),
                    ),
            )
            .child(maybe(error.map(|error| {
                el("p")
                    .attr("id", error_id)
                    .class("field-error")
                    .text(error)
            })))
            .into()
    }
}
