//! The recovery codes, shown once after set-up or after making new ones, with Copy,
//! Download (.txt) and Done. The message saying why takes the focus.

use crate::clipboard;
use crate::components::message::{Tone, message};
use crate::focus::focus;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct RecoveryCodesProps {
    pub codes: Rc<Vec<String>>,
    pub message: &'static str,
    pub on_done: Callback<()>,
}

#[function_component(RecoveryCodes)]
pub fn recovery_codes(props: &RecoveryCodesProps) -> Html {
    let message_ref = use_node_ref();
    let feedback = use_state(|| None::<&'static str>);
    {
        let message_ref = message_ref.clone();
        use_effect_with((), move |_| focus(&message_ref));
    }
    let all = props.codes.join("\n");
    let copy = {
        let (all, feedback) = (all.clone(), feedback.clone());
        Callback::from(move |_: MouseEvent| {
            let feedback = feedback.clone();
            clipboard::copy(&all, Callback::from(move |text| feedback.set(Some(text))));
        })
    };
    let download = Callback::from(move |_: MouseEvent| {
        let text = format!("Team Server recovery codes (each works once)\n\n{all}\n");
        let _ = clipboard::download("team-server-recovery-codes.txt", &text);
    });
    let done = props.on_done.reform(|_: MouseEvent| ());
    html! {
        <>
            { message(Tone::Success, props.message.into(), message_ref) }
            <h3>{ "Recovery codes" }</h3>
            <p>{ "If you lose your device, each of these codes lets you sign in once instead of a verification code. \
                  Save them somewhere safe now: they are not shown again." }</p>
            <ul class="recovery-codes" aria-label="Recovery codes">
                { for props.codes.iter().map(|c| html! { <li><code>{ c }</code></li> }) }
            </ul>
            <div class="actions">
                <button onclick={copy}>{ "Copy" }</button>
                <button onclick={download}>{ "Download (.txt)" }</button>
                <button class="primary" onclick={done}>{ "Done" }</button>
            </div>
            <p class="feedback" role="status">{ feedback.unwrap_or_default() }</p>
        </>
    }
}
