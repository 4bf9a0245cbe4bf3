//! Security keys, in the holder's 2-Step verification section: Add a security key (the
//! browser's own prompt, then a name), the list (name, added, last used) and Remove with OK.
//! With 2-step verification on, a change is proved with one of the keys (a second prompt) or,
//! for an account with only the app, a code.

use crate::api;
use crate::components::confirm_dialog::{ConfirmDialog, use_dialog};
use crate::components::message::error;
use crate::element::{el, field, fragment, maybe, when};
use crate::hooks::{LoadHandle, SubmitHandle, use_load, use_submit};
use crate::time_text::utc;
use crate::webauthn::body;
use twostep_shared::api::TwoStepStatus;
use twostep_shared::security_keys::{KeyAdded, KeyName, SecurityKeys};
use wasm_bindgen::JsValue;
use yew::prelude::*;

/// The section's state, kept by the 2-step section: [`use_security_keys`] and [`view`] are a
/// hook and a function rather than a component (each component costs download size).
pub struct KeysState {
    /// Counts the changes, to load the list again.
    version: UseStateHandle<u32>,
    keys: LoadHandle<SecurityKeys>,
    submit: SubmitHandle,
    /// The new key's answer (as JSON text: a state type the app has anyway), waiting for its
    /// name.
    added: UseStateHandle<Option<String>>,
    name: UseStateHandle<String>,
    code: UseStateHandle<String>,
    codes: UseStateHandle<Vec<String>>,
    /// The key being removed, by its id as text (a state type the app has anyway).
    removing: UseStateHandle<Option<String>>,
    dialog: NodeRef,
}

/// The state; `shown`: the section shows, with the number of keys the account's status
/// counts (`None`: nothing is asked of the server). The list loads again after each change
/// made here and whenever that number changes (removing 2-step verification removes the
/// keys too).
#[hook]
pub fn use_security_keys(shown: Option<u32>) -> KeysState {
    let version = use_state(|| 0u32);
    let keys = use_load(shown.map(|count| (*version, count)), |deps| {
        deps.map(|_| api::security_keys())
    });
    let removing = use_state(|| None::<String>);
    KeysState {
        keys,
        submit: use_submit(),
        added: use_state(|| None::<String>),
        name: use_state(String::new),
        code: use_state(String::new),
        codes: use_state(Vec::<String>::new),
        dialog: use_dialog(removing.is_some()),
        removing,
        version,
    }
}

/// The Security keys section, for the holder whose 2-step verification is `status`;
/// `on_changed`: it changed.
pub fn view(state: &KeysState, status: &TwoStepStatus, on_changed: &Callback<()>) -> Html {
    let KeysState {
        version,
        keys,
        submit,
        added,
        name,
        code,
        codes,
        removing,
        dialog,
    } = state;
    let changed = {
        let (version, on_changed) = (version.clone(), on_changed.clone());
        Callback::from(move |()| {
            version.set(*version + 1);
            on_changed.emit(());
        })
    };

    let add = {
        let (submit, added, name) = (submit.clone(), added.clone(), name.clone());
        Callback::from(move |_: MouseEvent| {
            let added = added.clone();
            name.set(String::new());
            let call = api::steps::<JsValue>(api::key_answer(api::start_key(), true));
            submit.run(call, move |answer| {
                added.set(
                    js_sys::JSON::stringify(&answer)
                        .ok()
                        .and_then(|t| t.as_string()),
                )
            });
        })
    };
    let save = {
        let (submit, added, name, code, codes, changed) = (
            submit.clone(),
            added.clone(),
            name.clone(),
            code.clone(),
            codes.clone(),
            changed.clone(),
        );
        // Proved with a key when there is one, else with a code of the app.
        let (with_key, with_code) = (status.security_keys > 0, status.enabled);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(credential) = added.as_deref().and_then(|t| js_sys::JSON::parse(t).ok())
            else {
                return;
            };
            if let Err(e) = KeyName::parse(&name) {
                submit.fail(e.to_string());
                return;
            }
            if with_code && !with_key && code.trim().is_empty() {
                submit.fail("Enter a current verification code or a recovery code.");
                return;
            }
            let name_value = JsValue::from_str(&name);
            let code_value = if with_code && !with_key {
                JsValue::from_str(&code)
            } else {
                JsValue::UNDEFINED
            };
            let call = api::steps::<KeyAdded>(async move {
                let proof = if with_key {
                    api::key_answer(api::key_proof(), false).await?
                } else {
                    JsValue::UNDEFINED
                };
                let request = body(&[
                    ("credential", &credential),
                    ("name", &name_value),
                    ("proof", &code_value),
                    ("security_key", &proof),
                ]);
                api::finish_key(request).into_parts().0.await
            });
            let (added, codes, changed, code) =
                (added.clone(), codes.clone(), changed.clone(), code.clone());
            submit.run(call, move |done| {
                added.set(None);
                code.set(String::new());
                codes.set(done.recovery_codes);
                changed.emit(());
            });
        })
    };
    let confirm_remove = {
        let (submit, removing, changed) = (submit.clone(), removing.clone(), changed.clone());
        Callback::from(move |()| {
            let Some(id) = (*removing).clone() else {
                return;
            };
            let (removing, changed) = (removing.clone(), changed.clone());
            let call = api::steps::<()>(async move {
                let proof = api::key_answer(api::key_proof(), false).await?;
                let request = body(&[("security_key", &proof)]);
                api::remove_key(&id, request).into_parts().0.await
            });
            submit.run(call, move |()| {
                removing.set(None);
                changed.emit(());
            });
        })
    };

    let list = keys.ready().map(|list| {
        if list.keys.is_empty() {
            return el("p").text("No security keys yet.");
        }
        el("ul").class("keys").children(list.keys.iter().map(|key| {
            let id = key.id;
            let open = {
                let (removing, submit) = (removing.clone(), submit.clone());
                Callback::from(move |_: MouseEvent| {
                    submit.clear_error();
                    removing.set(Some(id.to_string()));
                })
            };
            let used = key.last_used_at.map_or("never".to_owned(), utc);
            el("li")
                .key(id)
                .text(format!(
                    "{} — added {}, last used {used} ",
                    key.name,
                    utc(key.added_at)
                ))
                .child(
                    el("button")
                        .attr("aria-label", format!("Remove {}", key.name))
                        .on_click(open)
                        .text("Remove"),
                )
                .into()
        }))
    });

    let naming = (*added).is_some();
    fragment(vec![
        el("h3").id("security-keys-heading").text("Security keys").into(),
        el("p")
            .class("hint")
            .text(
                "A security key signs you in with a touch, and never answers a look-alike site. \
                 A key with a PIN or fingerprint (a passkey) can sign you in without your password.",
            )
            .into(),
        maybe(list),
        when(!codes.is_empty(), || {
            fragment(vec![
                el("p")
                    .attr("role", "status")
                    .text("2-step verification is on. Save these recovery codes: each works once, and they are shown only now.")
                    .into(),
                el("ul")
                    .class("recovery-codes")
                    .children(codes.iter().map(|c| el("li").text(c.clone()).into()))
                    .into(),
            ])
        }),
        maybe(submit.error().filter(|_| removing.is_none()).map(|f| error(f.message().to_owned().into()))),
        if naming {
            el("form")
                .on_submit(save)
                .flag("novalidate", true)
                .child(field(
                    "key-name",
                    "Name of the key",
                    el("input")
                        .id("key-name")
                        .attr("type", "text")
                        .attr("placeholder", "YubiKey on my keyring")
                        .flag("autofocus", true)
                        .value((**name).clone())
                        .bind_text(name),
                ))
                .child(when(status.enabled && status.security_keys == 0, || {
                    field(
                        "key-proof",
                        "Verification code or recovery code",
                        el("input")
                            .id("key-proof")
                            .attr("type", "text")
                            .attr("autocomplete", "one-time-code")
                            .value((**code).clone())
                            .bind_text(code),
                    )
                }))
                .child(
                    el("button")
                        .attr("type", "submit")
                        .class("primary")
                        .flag("disabled", submit.busy())
                        .text("Save"),
                )
                .into()
        } else {
            el("button")
                .on_click(add)
                .flag("disabled", submit.busy())
                .text("Add a security key")
                .into()
        },
        // Drawn only while open: the 2-step section's own dialog uses the same ids.
        when(removing.is_some(), || ConfirmDialog {
            dialog: dialog.clone(),
            title: "Remove security key",
            text: "Remove this security key from your account? It will no longer sign you in. Confirm with one of your security keys.".into(),
            proof_label: None,
            proof: AttrValue::default(),
            on_proof: Callback::noop(),
            error: submit
                .error()
                .filter(|_| removing.is_some())
                .map(|f| AttrValue::from(f.message().to_owned())),
            busy: submit.busy(),
            on_ok: confirm_remove,
            on_cancel: {
                let removing = removing.clone();
                Callback::from(move |()| removing.set(None))
            },
        }
        .view()),
    ])
}
