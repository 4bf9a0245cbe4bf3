//! Sign in: the password step (or a passkey alone), then (for accounts with 2-step
//! verification) "Use your security key" for an account with keys, or the verification code
//! step, with a switch to a recovery code. Organizational accounts use a
//! "Sign in with …" link per identity provider instead; a sign-in through a provider that
//! failed comes back here as `/?sign_in_error=<code>`, and the page says what happened.

use crate::api::{self, ApiFailure};
use crate::components::message;
use crate::element::{el, when};
use crate::focus::focus;
use crate::hooks::{SubmitHandle, use_change, use_load, use_mount, use_submit};
use crate::route::{Route, use_navigator};
use crate::session::{SessionHandle, SessionState, use_session};
use std::rc::Rc;
use twostep_shared::ErrorCode;
use twostep_shared::api::{
    ProviderSignInError, SIGN_IN_ERROR_PARAM, SignInRequest, SignInResponse, User, VerifyRequest,
};
use twostep_shared::input::{Password, RecoveryCode, TotpCode, Username};
use yew::prelude::*;

/// Kept in `use_state` as its number (`as u32`, back with [`Step::of`]): a state type the
/// app has anyway costs less download than one of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Password,
    /// "Use your security key" (an account with keys).
    Key,
    Code,
    RecoveryCode,
}

impl Step {
    fn of(number: u32) -> Self {
        match number {
            1 => Self::Key,
            2 => Self::Code,
            3 => Self::RecoveryCode,
            _ => Self::Password,
        }
    }
}

/// The message for a failed code step.
fn code_failure_text(failure: &ApiFailure) -> String {
    match failure.code() {
        ErrorCode::TooManyAttempts => {
            let wait = failure.body.retry_after_seconds.unwrap_or(30);
            format!("Too many wrong codes. Wait {wait} seconds before you try again.")
        }
        _ => failure.message().to_owned(),
    }
}

/// The message of the failed provider sign-in this page was opened for, if any
/// (`?sign_in_error=…`). Only the known codes count, and the text shown is the app's own.
fn provider_error_in_url() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let error = ProviderSignInError::parse(&params.get(SIGN_IN_ERROR_PARAM)?)?;
    Some(error.message().to_owned())
}

/// The page's state, as its callbacks keep it.
struct Page {
    session: SessionHandle,
    step: UseStateHandle<u32>,
    username: UseStateHandle<String>,
    password: UseStateHandle<String>,
    code: UseStateHandle<String>,
    provider_error: UseStateHandle<Option<String>>,
    /// The second factors of the account waiting for its second step, as the password
    /// step's answer told: 1 the app, 2 security keys (a number, not a pair: a state type of
    /// its own costs download).
    factors: UseStateHandle<u32>,
    submit: SubmitHandle,
}

impl Page {
    fn signed_in(&self, user: User) {
        self.session.set(SessionState::SignedIn(user));
    }

    /// A second step's answer: signed in (anything else leaves the page as it is).
    fn answered(&self, answer: SignInResponse) {
        if let SignInResponse::SignedIn { user } = answer {
            self.signed_in(user);
        }
    }

    /// To another way of doing the second step, with an empty code and no error.
    fn go_to(&self, step: Step) {
        self.code.set(String::new());
        self.submit.clear_error();
        self.step.set(step as u32);
    }
}

#[function_component(SignIn)]
pub fn sign_in() -> Html {
    let session = use_session();
    let step = use_state(|| Step::Password as u32);
    let username = use_state(String::new);
    let password = use_state(String::new);
    let code = use_state(String::new);
    let provider_error = use_state(provider_error_in_url);
    let factors = use_state(|| 1u32);
    let submit = use_submit();
    let providers = use_load((), |()| api::identity_providers());
    let first_input = use_node_ref();
    let navigator = use_navigator();
    {
        // Drop `?sign_in_error=` from the address so a reload does not show the message again.
        let shown = provider_error.is_some();
        use_mount(Box::new(move || {
            if shown {
                navigator.replace(&Route::Home);
            }
            None
        }));
    }
    {
        let first_input = first_input.clone();
        // As an i64, like the 2-step section's: one compiled `use_change` for both.
        use_change(i64::from(*step), Box::new(move || focus(&first_input)));
    }

    // Every callback below keeps the page's handles through one `Rc` (one count to keep and
    // to drop, not one per handle: smaller download).
    let page = Rc::new(Page {
        session,
        step: step.clone(),
        username: username.clone(),
        password: password.clone(),
        code: code.clone(),
        provider_error: provider_error.clone(),
        factors: factors.clone(),
        submit: submit.clone(),
    });
    let on_password_submit = {
        let p = page.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            p.provider_error.set(None);
            if let Err(message) = Username::parse(&p.username)
                .map_err(|e| e.to_string())
                .and_then(|_| Password::parse(&p.password).map_err(|e| e.to_string()))
            {
                p.submit.fail(message);
                return;
            }
            let request = SignInRequest {
                username: (*p.username).clone(),
                password: (*p.password).clone(),
            };
            let after = p.clone();
            p.submit
                .run(api::sign_in(&request), move |answer| match answer {
                    SignInResponse::SignedIn { user } => after.signed_in(user),
                    SignInResponse::VerificationRequired {
                        app, security_keys, ..
                    } => {
                        after.password.set(String::new());
                        after.code.set(String::new());
                        // An account with keys is asked for one first; a code of the app is
                        // offered only to an account that has the app.
                        after
                            .factors
                            .set(u32::from(app) | u32::from(security_keys) << 1);
                        after
                            .step
                            .set(if security_keys { Step::Key } else { Step::Code } as u32);
                    }
                });
        })
    };

    let on_code_submit = {
        let p = page.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let checked = match Step::of(*p.step) {
                Step::RecoveryCode => RecoveryCode::parse(&p.code)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                _ => TotpCode::parse(&p.code)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            if let Err(message) = checked {
                p.submit.fail(message);
                return;
            }
            let request = VerifyRequest {
                code: (*p.code).clone(),
            };
            let (answered, failed) = (p.clone(), p.clone());
            p.submit.run_or(
                api::verify(&request),
                move |answer| answered.answered(answer),
                move |failure| {
                    if failure.code() == ErrorCode::VerificationExpired {
                        failed.step.set(Step::Password as u32);
                    } else {
                        failed.code.set(String::new());
                    }
                },
            );
        })
    };

    let use_key = {
        let p = page.clone();
        Callback::from(move |_: MouseEvent| {
            let call = api::with_key(api::second_step_options(), "credential", api::second_step);
            let after = p.clone();
            p.submit.run(call, move |answer| after.answered(answer));
        })
    };
    let use_passkey = {
        let p = page.clone();
        Callback::from(move |_: MouseEvent| {
            p.provider_error.set(None);
            let call = api::with_key(api::passkey_options(), "credential", api::passkey);
            let after = p.clone();
            p.submit.run(call, move |answer| after.answered(answer));
        })
    };
    let go_to = |target: Step| {
        let p = page.clone();
        Callback::from(move |_: MouseEvent| p.go_to(target))
    };
    let (has_app, has_keys) = (*factors & 1 != 0, *factors & 2 != 0);
    let key_link = when(has_keys, || {
        el("button")
            .attr("type", "button")
            .class("link")
            .on_click(go_to(Step::Key))
            .text("Use your security key")
    });

    let switch_code_kind = {
        let p = page.clone();
        Callback::from(move |_: MouseEvent| {
            p.go_to(if Step::of(*p.step) == Step::RecoveryCode {
                Step::Code
            } else {
                Step::RecoveryCode
            })
        })
    };

    let current = Step::of(*step);
    let error = match (submit.error(), &*provider_error) {
        (Some(failure), _) if current == Step::Password => Some(failure.message().to_owned()),
        (Some(failure), _) => Some(code_failure_text(failure)),
        (None, Some(text)) => Some(text.clone()),
        (None, None) => None,
    };
    let error_view = match error {
        Some(text) => message::error(text.into()),
        None => Html::default(),
    };

    let form = match current {
        Step::Password => el("form")
            .on_submit(on_password_submit)
            .flag("novalidate", true)
            .child(el("h1").text("Sign in to the Team Server"))
            .child(error_view)
            .child(
                el("div")
                    .class("field")
                    .child(el("label").attr("for", "username").text("Username"))
                    .child(
                        el("input")
                            .node_ref(first_input.clone())
                            .id("username")
                            .attr("type", "text")
                            .attr("autocomplete", "username")
                            .value((*username).clone())
                            .bind_text(&username),
                    ),
            )
            .child(
                el("div")
                    .class("field")
                    .child(el("label").attr("for", "password").text("Password"))
                    .child(
                        el("input")
                            .id("password")
                            .attr("type", "password")
                            .attr("autocomplete", "current-password")
                            .value((*password).clone())
                            .bind_text(&password),
                    ),
            )
            .child(
                el("button")
                    .attr("type", "submit")
                    .class("primary")
                    .flag("disabled", submit.busy())
                    .text("Sign in"),
            )
            .child(
                el("button")
                    .attr("type", "button")
                    .id("passkey")
                    .on_click(use_passkey)
                    .flag("disabled", submit.busy())
                    .text("Sign in with a passkey"),
            ),
        Step::Key => el("form")
            .on_submit(Callback::from(|e: SubmitEvent| e.prevent_default()))
            .child(el("h1").text("2-step verification"))
            .child(error_view)
            .child(
                el("p")
                    .class("hint")
                    .text("Insert or touch your security key when the browser asks for it."),
            )
            .child(
                el("button")
                    .attr("type", "button")
                    .node_ref(first_input.clone())
                    .class("primary")
                    .on_click(use_key)
                    .flag("disabled", submit.busy())
                    .text("Use your security key"),
            )
            .child(when(has_app, || {
                el("button")
                    .attr("type", "button")
                    .class("link")
                    .on_click(go_to(Step::Code))
                    .text("Use a code instead")
            }))
            .child(
                el("button")
                    .attr("type", "button")
                    .class("link")
                    .on_click(go_to(Step::RecoveryCode))
                    .text("Use a recovery code"),
            ),
        Step::Code | Step::RecoveryCode => {
            let recovery = current == Step::RecoveryCode;
            let (label, id, hint, switch_text) = if recovery {
                (
                    "Recovery code",
                    "recovery-code",
                    "Enter one of the recovery codes you saved when you set up 2-step verification. Each works once.",
                    "Use the authenticator app instead",
                )
            } else {
                (
                    "Verification code",
                    "verification-code",
                    "Open your authenticator app and enter the 6-digit code it shows for the Team Server.",
                    "Use a recovery code instead",
                )
            };
            el("form")
                .on_submit(on_code_submit)
                .flag("novalidate", true)
                .child(el("h1").text("2-step verification"))
                .child(error_view)
                .child(
                    el("div")
                        .class("field")
                        .child(el("label").attr("for", id).text(label))
                        .child(el("p").id("code-hint").class("hint").text(hint))
                        .child(
                            el("input")
                                .node_ref(first_input.clone())
                                .attr("id", id)
                                .attr("type", "text")
                                .attr("aria-describedby", "code-hint")
                                .attr("inputmode", if recovery { "text" } else { "numeric" })
                                .attr("autocomplete", "one-time-code")
                                .value((*code).clone())
                                .bind_text(&code),
                        ),
                )
                .child(
                    el("button")
                        .attr("type", "submit")
                        .class("primary")
                        .flag("disabled", submit.busy())
                        .text("Verify"),
                )
                .child(when(has_app || !recovery, || {
                    el("button")
                        .attr("type", "button")
                        .class("link")
                        .on_click(switch_code_kind)
                        .text(switch_text)
                }))
                .child(key_link)
        }
    };
    let providers = providers.ready().map_or(&[][..], |list| &list.providers);
    let provider_links = when(current == Step::Password && !providers.is_empty(), || {
        el("section")
            .class("providers")
            .attr("aria-labelledby", "providers-heading")
            .child(
                el("h2")
                    .id("providers-heading")
                    .text("Organizational account"),
            )
            .child(
                el("p")
                    .class("hint")
                    .text("Sign in through your organization's identity provider:"),
            )
            .child(el("ul").children(providers.iter().map(|p| {
                el("li")
                    .child(
                        el("a")
                            .class("button")
                            .attr("href", p.start_url.clone())
                            .text(format!("Sign in with {}", p.name)),
                    )
                    .into()
            })))
    });
    el("main")
        .id("main")
        .class("sign-in")
        .child(el("p").class("product").text("Team Server"))
        .child(form)
        .child(provider_links)
        .into()
}
