//! Unlock, for administrators: clears the code-step lock after too many wrong codes.

use crate::api;
use crate::components::message::error;
use crate::element::{el, fragment, maybe};
use crate::hooks::SubmitHandle;
use yew::prelude::*;

/// The Unlock button and its error; `submit` is kept by the section (a function rather than a
/// component, which costs more of the app's download).
pub fn view(submit: &SubmitHandle, user_id: i64, on_unlocked: Callback<()>) -> Html {
    let onclick = {
        let submit = submit.clone();
        Callback::from(move |_: MouseEvent| {
            let on_unlocked = on_unlocked.clone();
            submit.run(api::unlock(user_id), move |()| on_unlocked.emit(()));
        })
    };
    fragment(vec![
        el("button")
            .on_click(onclick)
            .flag("disabled", submit.busy())
            .text("Unlock")
            .into(),
        maybe(
            submit
                .error()
                .map(|failure| error(failure.message().to_owned().into())),
        ),
    ])
}
