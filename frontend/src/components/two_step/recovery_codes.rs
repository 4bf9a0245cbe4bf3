//! The recovery codes, shown once after set-up or after making new ones, with Copy,
//! Download (.txt) and Done. The message saying why takes the focus.

use crate::clipboard;
use crate::components::message::{Tone, message};
use crate::element::{el, fragment};
use crate::focus::focus;
use crate::hooks::use_change;
use yew::prelude::*;

/// The view's state, kept by the section: [`use_recovery_codes`] and [`view`] are a hook and
/// a function rather than a component, which costs more of the app's download.
pub struct CodesState {
    message_ref: NodeRef,
    feedback: UseStateHandle<String>,
}

/// The state; `shown`: the section shows codes. When codes appear, the message takes the
/// focus and the Copy feedback starts empty. (Codes only ever follow another view, never
/// other codes, so whether they show is what the effect watches: a `bool`, whose compiled
/// `use_change` the app has anyway.)
#[hook]
pub fn use_recovery_codes(shown: bool) -> CodesState {
    let message_ref = use_node_ref();
    let feedback = use_state(String::new);
    {
        let (message_ref, feedback) = (message_ref.clone(), feedback.clone());
        use_change(
            shown,
            Box::new(move || {
                if shown {
                    feedback.set(String::new());
                    focus(&message_ref);
                }
            }),
        );
    }
    CodesState {
        message_ref,
        feedback,
    }
}

/// The codes with the message saying why; `on_done` when the person is done with them.
pub fn view(
    state: &CodesState,
    codes: &[String],
    text: &'static str,
    on_done: &Callback<()>,
) -> Html {
    let CodesState {
        message_ref,
        feedback,
    } = state;
    let all = codes.join("\n");
    let copy = {
        let (all, feedback) = (all.clone(), feedback.clone());
        Callback::from(move |_: MouseEvent| {
            let feedback = feedback.clone();
            clipboard::copy(
                &all,
                Callback::from(move |text: &str| feedback.set(text.to_owned())),
            );
        })
    };
    let download = Callback::from(move |_: MouseEvent| {
        let text = format!("Team Server recovery codes (each works once)\n\n{all}\n");
        let _ = clipboard::download("team-server-recovery-codes.txt", &text);
    });
    let done = on_done.reform(|_: MouseEvent| ());
    fragment(vec![
        message(Tone::Success, text.into(), message_ref.clone()),
        el("h3").text("Recovery codes").into(),
        el("p")
            .text(
                "If you lose your device, each of these codes lets you sign in once instead of a verification code. \
                 Save them somewhere safe now: they are not shown again.",
            )
            .into(),
        el("ul")
            .class("recovery-codes")
            .attr("aria-label", "Recovery codes")
            .children(codes.iter().map(|c| el("li").child(el("code").text(c.clone())).into()))
            .into(),
        el("div")
            .class("actions")
            .child(el("button").on_click(copy).text("Copy"))
            .child(el("button").on_click(download).text("Download (.txt)"))
            .child(el("button").class("primary").on_click(done).text("Done"))
            .into(),
        el("p")
            .class("feedback")
            .attr("role", "status")
            .text((**feedback).clone())
            .into(),
    ])
}
