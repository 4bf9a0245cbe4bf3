//! Manage user → Security e-mails: the address an account's security e-mails go to. The
//! holder changes it (the server first asks to confirm it's you; the previous address is
//! told), an administrator on another user's page; an organizational account shows the
//! address its provider gives. An administrator on their own page sends a test message.

use crate::api;
use crate::components::add_user::field;
use crate::components::message::{Tone, message};
use crate::element::{el, maybe, when};
use crate::hooks::use_submit;
use twostep_shared::api::{AccountKind, User};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EmailProps {
    pub user: User,
    /// An administrator's own page: offer the test message.
    pub test: bool,
    /// The address changed: read the user again.
    pub on_changed: Callback<()>,
}

#[function_component(EmailSection)]
pub fn email_section(props: &EmailProps) -> Html {
    let typed = use_state(|| props.user.email.clone().unwrap_or_default());
    let submit = use_submit();
    let done = use_state(|| None::<String>);
    let id = props.user.id;
    let on_submit = {
        let (typed, submit, done) = (typed.clone(), submit.clone(), done.clone());
        let on_changed = props.on_changed.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            done.set(None);
            let address = typed.trim().to_owned();
            let (done, on_changed) = (done.clone(), on_changed.clone());
            submit.run(api::set_email(id, &address), move |()| {
                done.set(Some(if address.is_empty() {
                    "Address removed: no security e-mails are sent.".to_owned()
                } else {
                    format!("Security e-mails now go to {address}.")
                }));
                on_changed.emit(());
            });
        })
    };
    let on_test = {
        let (submit, done) = (submit.clone(), done.clone());
        Callback::from(move |_: MouseEvent| {
            let done = done.clone();
            done.set(None);
            submit.run(api::test_email(), move |()| {
                done.set(Some("A test message is on its way.".to_owned()))
            });
        })
    };
    let body = if props.user.account == AccountKind::TeamServer {
        el("form")
            .flag("novalidate", true)
            .on_submit(on_submit)
            .child(field(
                "email",
                "Address for security e-mails",
                el("input")
                    .attr("type", "email")
                    .attr("autocomplete", "email")
                    .value((*typed).clone())
                    .bind_text(&typed),
            ))
            .child(
                el("div").class("actions").child(
                    el("button")
                        .attr("type", "submit")
                        .class("primary")
                        .flag("disabled", submit.busy())
                        .text("Save address"),
                ),
            )
    } else {
        el("p").text(match &props.user.email {
            Some(address) => format!("Sent to {address}, the address the identity provider gives."),
            None => "The identity provider gives no verified address: none are sent.".to_owned(),
        })
    };
    el("section")
        .attr("aria-labelledby", "email-heading")
        .child(el("h2").id("email-heading").text("Security e-mails"))
        .child(body)
        .child(when(props.test, || {
            el("div").class("actions").child(
                el("button")
                    .flag("disabled", submit.busy())
                    .on_click(on_test)
                    .text("Send a test message"),
            )
        }))
        .child(maybe(submit.error().map(|f| {
            message(
                Tone::Error,
                AttrValue::from(f.message().to_owned()),
                NodeRef::default(),
            )
        })))
        .child(maybe((*done).clone().map(|text| {
            message(Tone::Success, text.into(), NodeRef::default())
        })))
        .into()
}
