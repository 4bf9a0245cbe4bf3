//! The account's 2-step status in a sentence, and the news about it (removed, unlocked),
//! which takes the focus when it appears.

use crate::components::message::{Tone, message};
use crate::focus::focus;
use twostep_shared::api::TwoStepStatus;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    pub status: TwoStepStatus,
    #[prop_or_default]
    pub notice: Option<&'static str>,
}

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

#[function_component(Status)]
pub fn status(props: &StatusProps) -> Html {
    let notice_ref = use_node_ref();
    {
        let notice_ref = notice_ref.clone();
        use_effect_with(props.notice, move |notice| {
            if notice.is_some() {
                focus(&notice_ref);
            }
        });
    }
    html! {
        <>
            if let Some(text) = props.notice {
                { message(Tone::Success, text.into(), notice_ref) }
            }
            <p class="two-step-status">{ status_text(&props.status) }</p>
        </>
    }
}
