//! The 2-Step verification section of the Manage user page: status, setup with a QR code
//! drawn in the browser and two consecutive codes, and the recovery codes shown once.

use crate::api::{self, ApiFailure};
use crate::components::code_input::CodeInput;
use crate::components::confirm_dialog::ConfirmDialog;
use crate::components::message::{Message, Tone};
use crate::components::qr::Qr;
use twostep_shared::api::{AccountKind, ConfirmRequest, RemoveDeviceRequest, SetupResponse, User};
use twostep_shared::input::TotpCode;
use twostep_shared::otpauth::group_key;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

/// The success text after Remove → OK.
pub const REMOVED_MESSAGE: &str = "The authentication device has been removed.";

/// The success text after new recovery codes were made.
pub const NEW_CODES_MESSAGE: &str =
    "New recovery codes have been made. The old ones no longer work.";

/// The success text after Apply.
pub const SET_UP_MESSAGE: &str = "2-Step verification has been set up. The next time you sign in to the Team Server you need to use a verification code.";

#[derive(Properties, PartialEq)]
pub struct TwoStepProps {
    pub user: User,
    /// The signed-in user is looking at their own page (only they can set it up).
    pub is_self: bool,
    /// The signed-in user is an Administrator (may remove any device and unlock).
    pub viewer_is_admin: bool,
    /// Called when the status changed (set up).
    pub on_changed: Callback<()>,
}

#[derive(Clone, PartialEq)]
enum Phase {
    Status,
    Setup(SetupResponse),
    /// Recovery codes to show once, with the message that says why.
    Done(Vec<String>, &'static str),
}

fn focus(node: &NodeRef) {
    if let Some(element) = node.cast::<HtmlElement>() {
        let _ = element.focus();
    }
}

fn copy_to_clipboard(text: String, feedback: UseStateHandle<Option<String>>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(&text);
    wasm_bindgen_futures::spawn_local(async move {
        let done = wasm_bindgen_futures::JsFuture::from(promise).await;
        feedback.set(Some(match done {
            Ok(_) => "Copied to the clipboard.".to_owned(),
            Err(_) => {
                "Copying is not allowed here; select the text and copy it yourself.".to_owned()
            }
        }));
    });
}

fn download_text(file_name: &str, text: &str) -> Option<()> {
    let parts = js_sys_array(text);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let document = web_sys::window()?.document()?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a").ok()?.dyn_into().ok()?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).ok()
}

fn js_sys_array(text: &str) -> wasm_bindgen::JsValue {
    let array = js_sys::Array::new();
    array.push(&wasm_bindgen::JsValue::from_str(text));
    array.into()
}

#[function_component(TwoStepSection)]
pub fn two_step_section(props: &TwoStepProps) -> Html {
    let phase = use_state(|| Phase::Status);
    let code1 = use_state(String::new);
    let code2 = use_state(String::new);
    let error = use_state(|| None::<ApiFailure>);
    let busy = use_state(|| false);
    let feedback = use_state(|| None::<String>);
    let code1_ref = use_node_ref();
    let message_ref = use_node_ref();
    let dialog_open = use_state(|| false);
    let proof = use_state(String::new);
    let dialog_error = use_state(|| None::<String>);
    let notice = use_state(|| None::<String>);
    let notice_ref = use_node_ref();
    let regenerating = use_state(|| false);
    let regen_code = use_state(String::new);
    {
        let notice_ref = notice_ref.clone();
        use_effect_with((*notice).clone(), move |notice| {
            if notice.is_some() {
                focus(&notice_ref);
            }
        });
    }
    {
        // A new view: messages about the one before (copied, removed, unlocked) no longer hold.
        let (code1_ref, message_ref) = (code1_ref.clone(), message_ref.clone());
        let (feedback, notice) = (feedback.clone(), notice.clone());
        use_effect_with((*phase).clone(), move |phase| {
            feedback.set(None);
            notice.set(None);
            match phase {
                Phase::Setup(_) => focus(&code1_ref),
                Phase::Done(..) => focus(&message_ref),
                Phase::Status => {}
            }
        });
    }

    let user = &props.user;
    let status = user
        .two_step
        .clone()
        .unwrap_or(twostep_shared::api::TwoStepStatus {
            enabled: false,
            recovery_codes_left: 0,
            locked: false,
        });
    let heading = html! { <h2 id="two-step-heading">{ "2-Step verification" }</h2> };
    let error_view = match &*error {
        Some(failure) if failure.body.field.is_none() => {
            html! { <Message tone={Tone::Error} text={failure.message().to_owned()} /> }
        }
        _ => html! {},
    };

    if let AccountKind::Organizational { identity_provider } = &user.account {
        return html! {
            <section aria-labelledby="two-step-heading">
                { heading }
                <p class="explanation">
                    { format!(
                        "2-step verification cannot be set up for this account: it is an organizational account, \
                         which signs in through {identity_provider}. Your organization's identity provider decides \
                         how you verify who you are."
                    ) }
                </p>
            </section>
        };
    }

    let body = match &*phase {
        Phase::Done(codes, message) => {
            let all = codes.join("\n");
            let copy = {
                let (all, feedback) = (all.clone(), feedback.clone());
                Callback::from(move |_: MouseEvent| {
                    copy_to_clipboard(all.clone(), feedback.clone())
                })
            };
            let download = {
                let all = all.clone();
                Callback::from(move |_: MouseEvent| {
                    let text = format!("Team Server recovery codes (each works once)\n\n{all}\n");
                    let _ = download_text("team-server-recovery-codes.txt", &text);
                })
            };
            let finish = {
                let (phase, on_changed) = (phase.clone(), props.on_changed.clone());
                Callback::from(move |_: MouseEvent| {
                    phase.set(Phase::Status);
                    on_changed.emit(());
                })
            };
            html! {
                <>
                    <Message tone={Tone::Success} text={*message} node_ref={message_ref.clone()} />
                    <h3>{ "Recovery codes" }</h3>
                    <p>{ "If you lose your device, each of these codes lets you sign in once instead of a verification code. \
                          Save them somewhere safe now: they are not shown again." }</p>
                    <ul class="recovery-codes" aria-label="Recovery codes">
                        { for codes.iter().map(|c| html! { <li><code>{ c }</code></li> }) }
                    </ul>
                    <div class="actions">
                        <button onclick={copy}>{ "Copy" }</button>
                        <button onclick={download}>{ "Download (.txt)" }</button>
                        <button class="primary" onclick={finish}>{ "Done" }</button>
                    </div>
                    if let Some(text) = &*feedback { <p role="status">{ text }</p> }
                </>
            }
        }
        Phase::Setup(setup) => {
            let field_error = |field: &str| {
                (*error)
                    .as_ref()
                    .filter(|f| f.body.field.as_deref() == Some(field))
                    .map(|f| AttrValue::from(f.message().to_owned()))
            };
            let on_code1 = {
                let (code1, error) = (code1.clone(), error.clone());
                Callback::from(move |v: String| {
                    code1.set(v);
                    error.set(None);
                })
            };
            let on_code2 = {
                let (code2, error) = (code2.clone(), error.clone());
                Callback::from(move |v: String| {
                    code2.set(v);
                    error.set(None);
                })
            };
            let can_apply =
                TotpCode::parse(&code1).is_ok() && TotpCode::parse(&code2).is_ok() && !*busy;
            let apply = {
                let (code1, code2, error, busy, phase) = (
                    code1.clone(),
                    code2.clone(),
                    error.clone(),
                    busy.clone(),
                    phase.clone(),
                );
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    let request = ConfirmRequest {
                        code1: (*code1).clone(),
                        code2: (*code2).clone(),
                    };
                    let (error, busy, phase) = (error.clone(), busy.clone(), phase.clone());
                    busy.set(true);
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = api::confirm(&request).await;
                        busy.set(false);
                        match result {
                            Ok(codes) => {
                                error.set(None);
                                phase.set(Phase::Done(codes.recovery_codes, SET_UP_MESSAGE));
                            }
                            Err(failure) => error.set(Some(failure)),
                        }
                    });
                })
            };
            let copy_key = {
                let (key, feedback) = (setup.secret.clone(), feedback.clone());
                Callback::from(move |_: MouseEvent| {
                    copy_to_clipboard(key.clone(), feedback.clone())
                })
            };
            html! {
                <>
                    <ol class="steps">
                        <li>{ "Open the authenticator app on your phone and add an account." }</li>
                        <li>{ "Scan this QR code, or type the key shown below it." }</li>
                        <li>{ "Enter the code the app shows in Code 1. Wait for the app to show the next code (up to 30 seconds), enter it in Code 2, and select Apply." }</li>
                    </ol>
                    <Qr data={setup.otpauth_uri.clone()} />
                    <div class="key">
                        <p id="key-label">{ "Key for manual entry (time-based):" }</p>
                        <p class="key-text" aria-labelledby="key-label"><code>{ group_key(&setup.secret) }</code></p>
                        <button onclick={copy_key}>{ "Copy key" }</button>
                        if let Some(text) = &*feedback { <p role="status">{ text }</p> }
                    </div>
                    <form onsubmit={apply} novalidate=true>
                        { error_view }
                        <CodeInput id="code1" label="Code 1" value={(*code1).clone()} on_change={on_code1}
                                   node_ref={code1_ref.clone()} server_error={field_error("code1")} />
                        <CodeInput id="code2" label="Code 2" value={(*code2).clone()} on_change={on_code2}
                                   hint="Wait for the next code to appear in the app, then type it here."
                                   server_error={field_error("code2")} />
                        <button type="submit" class="primary" disabled={!can_apply}>{ "Apply" }</button>
                    </form>
                </>
            }
        }
        Phase::Status => {
            let start = {
                let (phase, error, busy, code1, code2) = (
                    phase.clone(),
                    error.clone(),
                    busy.clone(),
                    code1.clone(),
                    code2.clone(),
                );
                Callback::from(move |_: MouseEvent| {
                    let (phase, error, busy, code1, code2) = (
                        phase.clone(),
                        error.clone(),
                        busy.clone(),
                        code1.clone(),
                        code2.clone(),
                    );
                    busy.set(true);
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = api::start_setup().await;
                        busy.set(false);
                        match result {
                            Ok(setup) => {
                                code1.set(String::new());
                                code2.set(String::new());
                                error.set(None);
                                phase.set(Phase::Setup(setup));
                            }
                            Err(failure) => error.set(Some(failure)),
                        }
                    });
                })
            };
            let state_text = if status.enabled {
                let mut text = format!(
                    "2-Step verification is on: an authentication device is associated. Recovery codes left: {}.",
                    status.recovery_codes_left
                );
                if status.locked {
                    text.push_str(
                        " Verification with the app is locked after too many wrong codes.",
                    );
                }
                text
            } else {
                "2-Step verification is off: no authentication device is associated.".to_owned()
            };
            let can_remove = status.enabled && (props.is_self || props.viewer_is_admin);
            let open_dialog = {
                let (dialog_open, proof, dialog_error) =
                    (dialog_open.clone(), proof.clone(), dialog_error.clone());
                Callback::from(move |_: MouseEvent| {
                    proof.set(String::new());
                    dialog_error.set(None);
                    dialog_open.set(true);
                })
            };
            let cancel = {
                let dialog_open = dialog_open.clone();
                Callback::from(move |()| dialog_open.set(false))
            };
            let confirm_removal = {
                let (dialog_open, proof, dialog_error, busy, notice, on_changed) = (
                    dialog_open.clone(),
                    proof.clone(),
                    dialog_error.clone(),
                    busy.clone(),
                    notice.clone(),
                    props.on_changed.clone(),
                );
                let (id, is_self) = (user.id, props.is_self);
                Callback::from(move |()| {
                    if is_self && proof.trim().is_empty() {
                        dialog_error.set(Some(
                            "Enter a current verification code or your password.".to_owned(),
                        ));
                        return;
                    }
                    let request = RemoveDeviceRequest {
                        proof: is_self.then(|| (*proof).clone()),
                    };
                    let (dialog_open, dialog_error, busy, notice, on_changed) = (
                        dialog_open.clone(),
                        dialog_error.clone(),
                        busy.clone(),
                        notice.clone(),
                        on_changed.clone(),
                    );
                    busy.set(true);
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = api::remove_device(id, &request).await;
                        busy.set(false);
                        match result {
                            Ok(()) => {
                                dialog_open.set(false);
                                notice.set(Some(REMOVED_MESSAGE.to_owned()));
                                on_changed.emit(());
                            }
                            Err(failure) => dialog_error.set(Some(failure.message().to_owned())),
                        }
                    });
                })
            };
            let unlock = {
                let (notice, error, on_changed) =
                    (notice.clone(), error.clone(), props.on_changed.clone());
                let id = user.id;
                Callback::from(move |_: MouseEvent| {
                    let (notice, error, on_changed) =
                        (notice.clone(), error.clone(), on_changed.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match api::unlock(id).await {
                            Ok(()) => {
                                notice.set(Some("The code step has been unlocked.".to_owned()));
                                on_changed.emit(());
                            }
                            Err(failure) => error.set(Some(failure)),
                        }
                    });
                })
            };
            let on_proof = {
                let proof = proof.clone();
                Callback::from(move |v: String| proof.set(v))
            };
            let regenerate_view = {
                let open = {
                    let (regenerating, regen_code) = (regenerating.clone(), regen_code.clone());
                    Callback::from(move |_: MouseEvent| {
                        regen_code.set(String::new());
                        regenerating.set(true);
                    })
                };
                let on_code = {
                    let (regen_code, error) = (regen_code.clone(), error.clone());
                    Callback::from(move |v: String| {
                        regen_code.set(v);
                        error.set(None);
                    })
                };
                let submit = {
                    let (regen_code, error, busy, phase, regenerating, on_changed) = (
                        regen_code.clone(),
                        error.clone(),
                        busy.clone(),
                        phase.clone(),
                        regenerating.clone(),
                        props.on_changed.clone(),
                    );
                    Callback::from(move |e: SubmitEvent| {
                        e.prevent_default();
                        let code = (*regen_code).clone();
                        let (error, busy, phase, regenerating, on_changed) = (
                            error.clone(),
                            busy.clone(),
                            phase.clone(),
                            regenerating.clone(),
                            on_changed.clone(),
                        );
                        busy.set(true);
                        wasm_bindgen_futures::spawn_local(async move {
                            let result = api::new_recovery_codes(&code).await;
                            busy.set(false);
                            match result {
                                Ok(codes) => {
                                    error.set(None);
                                    regenerating.set(false);
                                    phase.set(Phase::Done(codes.recovery_codes, NEW_CODES_MESSAGE));
                                    on_changed.emit(());
                                }
                                Err(failure) => error.set(Some(failure)),
                            }
                        });
                    })
                };
                let server_error = (*error)
                    .as_ref()
                    .filter(|f| f.body.field.as_deref() == Some("code"))
                    .map(|f| AttrValue::from(f.message().to_owned()));
                let can_generate = TotpCode::parse(&regen_code).is_ok() && !*busy;
                if *regenerating {
                    html! {
                        <form class="regenerate" onsubmit={submit} novalidate=true>
                            <h3>{ "New recovery codes" }</h3>
                            <CodeInput id="regenerate-code" label="Verification code" value={(*regen_code).clone()}
                                       on_change={on_code} server_error={server_error}
                                       hint="Enter the current code from your authenticator app. Your old recovery codes stop working." />
                            <button type="submit" class="primary" disabled={!can_generate}>{ "Make new recovery codes" }</button>
                        </form>
                    }
                } else {
                    html! { <button onclick={open}>{ "New recovery codes" }</button> }
                }
            };
            let dialog_text = if props.is_self {
                "Remove the authentication device from your account? Sign-in will no longer ask for a verification code, and your recovery codes stop working. Confirm with a current verification code or your password.".to_owned()
            } else {
                format!(
                    "Remove the authentication device of {}? Their sign-in will no longer ask for a verification code, their recovery codes stop working, and they are signed out everywhere.",
                    user.username
                )
            };
            html! {
                <>
                    { error_view }
                    if let Some(text) = &*notice {
                        <Message tone={Tone::Success} text={text.clone()} node_ref={notice_ref.clone()} />
                    }
                    <p>{ state_text }</p>
                    if can_remove {
                        <div class="actions">
                            <button onclick={open_dialog}>{ "Remove" }</button>
                            if status.locked && props.viewer_is_admin {
                                <button onclick={unlock}>{ "Unlock" }</button>
                            }
                        </div>
                        <ConfirmDialog open={*dialog_open} title="Remove authentication device"
                            text={dialog_text}
                            proof_label={props.is_self.then_some(AttrValue::from("Verification code or password"))}
                            proof={(*proof).clone()} {on_proof}
                            error={(*dialog_error).clone().map(AttrValue::from)}
                            busy={*busy} on_ok={confirm_removal} on_cancel={cancel} />
                    }
                    if status.enabled && props.is_self {
                        { regenerate_view }
                    }
                    if !status.enabled && props.is_self {
                        <p>{ "With 2-step verification, signing in asks for a code from an authenticator app on your phone as well as your password." }</p>
                        <button class="primary" onclick={start} disabled={*busy}>{ "Set up 2-step verification" }</button>
                    }
                    if !status.enabled && !props.is_self {
                        <p>{ "Only the user themself can set up 2-step verification." }</p>
                    }
                </>
            }
        }
    };
    html! {
        <section aria-labelledby="two-step-heading">
            { heading }
            { body }
        </section>
    }
}
