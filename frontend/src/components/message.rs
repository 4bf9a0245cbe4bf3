//! Messages announced to screen readers: `role="status"` for news, `role="alert"` for errors.

use crate::element::el;
use yew::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tone {
    Success,
    Error,
}

/// A message paragraph; `node_ref` lets the caller move the focus to it. A function, not a
/// component: it has no state, and each component costs more of the download than this.
pub fn message(tone: Tone, text: AttrValue, node_ref: NodeRef) -> Html {
    let (role, class) = match tone {
        Tone::Success => ("status", "message success"),
        Tone::Error => ("alert", "message error"),
    };
    el("p")
        .node_ref(node_ref)
        .attr("role", role)
        .attr("class", class)
        .attr("tabindex", "-1")
        .text(text)
        .into()
}

/// An error message (`role="alert"`).
pub fn error(text: AttrValue) -> Html {
    message(Tone::Error, text, NodeRef::default())
}

/// A message of news (`role="status"`).
pub fn success(text: AttrValue) -> Html {
    message(Tone::Success, text, NodeRef::default())
}
