//! Messages announced to screen readers: `role="status"` for news, `role="alert"` for errors.

use yew::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tone {
    Success,
    Error,
}

#[derive(Properties, PartialEq)]
pub struct MessageProps {
    pub tone: Tone,
    pub text: AttrValue,
    #[prop_or_default]
    pub node_ref: NodeRef,
}

#[function_component(Message)]
pub fn message(props: &MessageProps) -> Html {
    let (role, class) = match props.tone {
        Tone::Success => ("status", "message success"),
        Tone::Error => ("alert", "message error"),
    };
    html! {
        <p ref={props.node_ref.clone()} {role} {class} tabindex="-1">{ props.text.clone() }</p>
    }
}
