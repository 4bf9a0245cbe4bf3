//! Users → Add user, for administrators: a Team Server account (the server makes a one-time
//! password, shown here once, which its holder must change at the first sign-in; optionally
//! its address for security e-mails) or an
//! organizational account (its provider and the e-mail it signs in with). The username is
//! checked as it is typed, by the same rules the server applies.

use crate::api;
use crate::components::message::{Tone, message};
use crate::element::{el, maybe, when};
use crate::hooks::{SubmitHandle, use_submit};
use twostep_shared::input::Username;
use yew::prelude::*;

/// The form's state, kept by the Users page: [`use_add_user`] and [`view`] are a hook and a
/// function rather than a component (each component costs about 0.4 kB of the app's
/// download).
pub struct AddUserState {
    name: UseStateHandle<String>,
    admin: UseStateHandle<bool>,
    organizational: UseStateHandle<bool>,
    provider: UseStateHandle<String>,
    email: UseStateHandle<String>,
    submit: SubmitHandle,
    done: UseStateHandle<Option<String>>,
}

#[hook]
pub fn use_add_user() -> AddUserState {
    AddUserState {
        name: use_state(String::new),
        admin: use_state(|| false),
        organizational: use_state(|| false),
        provider: use_state(String::new),
        email: use_state(String::new),
        submit: use_submit(),
        done: use_state(|| None::<String>),
    }
}

/// A labelled field: `label` above `input`.
pub fn field(
    id: &'static str,
    label: &'static str,
    input: crate::element::El,
) -> crate::element::El {
    el("div")
        .class("field")
        .child(el("label").attr("for", id).text(label))
        .child(input.id(id))
}

/// The Add user section; `on_added` is called for each account added.
pub fn view(state: &AddUserState, on_added: Callback<()>) -> Html {
    let AddUserState {
        name,
        admin,
        organizational,
        provider,
        email,
        submit,
        done,
    } = state;
    // Live: what the rules say about the name typed so far (nothing for an empty box).
    let name_error = (!name.is_empty())
        .then(|| Username::parse(name).err())
        .flatten()
        .map(|e| e.to_string());
    let on_submit = {
        let (name, admin, organizational, provider, email) = (
            name.clone(),
            admin.clone(),
            organizational.clone(),
            provider.clone(),
            email.clone(),
        );
        let (submit, done) = (submit.clone(), done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            done.set(None);
            if let Err(error) = Username::parse(&name) {
                submit.fail(error.to_string());
                return;
            }
            let organization = organizational.then_some(provider.as_str());
            let (done, on_added, name) = (done.clone(), on_added.clone(), name.clone());
            let call = api::create_user(&name, *admin, organization, email.trim());
            let email = email.clone();
            submit.run(call, move |created| {
                let who = created.user.username;
                done.set(Some(match created.one_time_password {
                    Some(password) => format!(
                        "Added {who}. One-time password: {password} — give it to {who}, who must choose a new one at the first sign-in. It is shown only now."
                    ),
                    None => format!("Added {who}."),
                }));
                name.set(String::new());
                email.set(String::new());
                on_added.emit(());
            });
        })
    };
    let select = |id: &'static str, state: &UseStateHandle<bool>, options: [&'static str; 2]| {
        let state2 = state.clone();
        el("select")
            .id(id)
            .on_change(Callback::from(move |e: Event| {
                let value = e
                    .target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value();
                state2.set(value == "1");
            }))
            .child(
                el("option")
                    .attr("value", "0")
                    .flag("selected", !**state)
                    .text(options[0]),
            )
            .child(
                el("option")
                    .attr("value", "1")
                    .flag("selected", **state)
                    .text(options[1]),
            )
    };
    el("section")
        .attr("aria-labelledby", "add-user-heading")
        .child(el("h2").id("add-user-heading").text("Add user"))
        .child(
            el("form")
                .class("add-user")
                .flag("novalidate", true)
                .on_submit(on_submit)
                .child(
                    field(
                        "new-username",
                        "Username",
                        el("input")
                            .attr("autocomplete", "off")
                            .attr("aria-describedby", "new-username-hint")
                            .attr(
                                "aria-invalid",
                                if name_error.is_some() {
                                    "true"
                                } else {
                                    "false"
                                },
                            )
                            .value((**name).clone())
                            .bind_text(name),
                    )
                    .child(el("p").id("new-username-hint").class("hint").text(
                        name_error.unwrap_or_else(|| "Letters a–z, digits and . _ - @".to_owned()),
                    )),
                )
                .child(
                    el("div")
                        .class("field")
                        .child(el("label").attr("for", "new-role").text("Role"))
                        .child(select("new-role", admin, ["User", "Administrator"])),
                )
                .child(
                    el("div")
                        .class("field")
                        .child(el("label").attr("for", "new-kind").text("Account"))
                        .child(select(
                            "new-kind",
                            organizational,
                            ["Team Server account", "Organizational account"],
                        )),
                )
                .child(when(**organizational, || {
                    field(
                        "new-provider",
                        "Identity provider",
                        el("input").value((**provider).clone()).bind_text(provider),
                    )
                }))
                .child(field(
                    "new-email",
                    if **organizational {
                        "E-mail it signs in with"
                    } else {
                        "Address for security e-mails (optional)"
                    },
                    el("input")
                        .attr("type", "email")
                        .value((**email).clone())
                        .bind_text(email),
                ))
                .child(maybe(submit.error().map(|f| {
                    message(
                        Tone::Error,
                        AttrValue::from(f.message().to_owned()),
                        NodeRef::default(),
                    )
                })))
                .child(maybe((**done).clone().map(|text| {
                    message(Tone::Success, text.into(), NodeRef::default())
                })))
                .child(
                    el("div").class("actions").child(
                        el("button")
                            .attr("type", "submit")
                            .class("primary")
                            .flag("disabled", submit.busy())
                            .text("Add"),
                    ),
                ),
        )
        .into()
}
