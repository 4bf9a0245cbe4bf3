//! Unlock, for administrators: clears the code-step lock after too many wrong codes.

use crate::api;
use crate::components::message::error;
use crate::hooks::use_submit;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct UnlockProps {
    pub user_id: i64,
    pub on_unlocked: Callback<()>,
}

#[function_component(Unlock)]
pub fn unlock(props: &UnlockProps) -> Html {
    let submit = use_submit();
    let onclick = {
        let (submit, id, on_unlocked) = (submit.clone(), props.user_id, props.on_unlocked.clone());
        Callback::from(move |_: MouseEvent| {
            let on_unlocked = on_unlocked.clone();
            submit.run(api::unlock(id), move |()| on_unlocked.emit(()));
        })
    };
    html! {
        <>
            <button {onclick} disabled={submit.busy()}>{ "Unlock" }</button>
            if let Some(failure) = submit.error() {
                { error(failure.message().to_owned().into()) }
            }
        </>
    }
}
