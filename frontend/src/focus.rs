//! Moving the keyboard focus to an element a [`NodeRef`] points at.

use web_sys::HtmlElement;
use yew::NodeRef;

/// Focuses the element, if it is there.
pub fn focus(node: &NodeRef) {
    if let Some(element) = node.cast::<HtmlElement>() {
        let _ = element.focus();
    }
}
