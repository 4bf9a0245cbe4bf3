//! The account's 2-step status in a sentence, and the news about it (removed, unlocked),
//! which takes the focus when it appears.

use crate::components::message::{Tone, message};
use crate::element::{el, fragment, maybe};
use crate::focus::focus;
use crate::hooks::use_change;
use twostep_shared::api::TwoStepStatus;
use yew::prelude::*;

/// The sentence for a status.
pub fn status_text(status: &TwoStepStatus) -> String {
    if !status.enabled {
        return "2-Step verification is off: no authentication device is associated.".to_owned();
    }
    let mut text = format!(
        "2-Step verification is on: an authentication device is associated. Recovery codes left: {}.",
        status.recovery_codes_left
    );
    if status.locked {
        text.push_str(" Verification with the app is locked after too many wrong codes.");
    }
    text
}

/// The notice's element, which takes the focus when a notice appears. The section keeps it (a
/// hook and a function rather than a component, which costs more of the app's download).
#[hook]
pub fn use_notice_focus(notice: Option<&'static str>) -> NodeRef {
    let notice_ref = use_node_ref();
    {
        let notice_ref = notice_ref.clone();
        use_change(
            notice,
            Box::new(move || {
                if notice.is_some() {
                    focus(&notice_ref);
                }
            }),
        );
    }
    notice_ref
}

/// The status sentence, after the notice if there is one (`notice_ref` from
/// [`use_notice_focus`]).
pub fn view(status: &TwoStepStatus, notice: Option<&'static str>, notice_ref: NodeRef) -> Html {
    fragment(vec![
        maybe(notice.map(|text| message(Tone::Success, text.into(), notice_ref))),
        el("p")
            .class("two-step-status")
            .text(status_text(status))
            .into(),
    ])
}
