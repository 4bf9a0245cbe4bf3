//! Sign in: the password step, then (for accounts with 2-step verification) the
//! verification code step, with a switch to a recovery code. Organizational accounts use a
//! "Sign in with …" link per identity provider instead; a sign-in through a provider that
//! failed comes back here as `/?sign_in_error=<code>`, and the page says what happened.

use crate::api::{self, ApiFailure};
use crate::components::message::{Message, Tone};
use crate::route::{Route, use_navigator};
use crate::session::{SessionState, use_session};
use twostep_shared::ErrorCode;
use twostep_shared::api::{
    IdentityProviderInfo, ProviderSignInError, SIGN_IN_ERROR_PARAM, SignInRequest, SignInResponse,
    VerifyRequest,
};
use twostep_shared::input::{Password, RecoveryCode, TotpCode, Username};
use web_sys::{HtmlElement, HtmlInputElement};
use yew::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Password,
    Code,
    RecoveryCode,
}

fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
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

/// The failed provider sign-in this page was opened for, if any (`?sign_in_error=…`). Only
/// the known codes count, and the text shown is the app's own.
fn provider_error_in_url() -> Option<ProviderSignInError> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    ProviderSignInError::parse(&params.get(SIGN_IN_ERROR_PARAM)?)
}

#[function_component(SignIn)]
pub fn sign_in() -> Html {
    let session = use_session();
    let step = use_state(|| Step::Password);
    let username = use_state(String::new);
    let password = use_state(String::new);
    let code = use_state(String::new);
    let provider_error = use_state(provider_error_in_url);
    let error = {
        let provider_error = *provider_error;
        use_state(move || provider_error.map(|e| e.message().to_owned()))
    };
    let busy = use_state(|| false);
    let providers = use_state(Vec::<IdentityProviderInfo>::new);
    let first_input = use_node_ref();
    let navigator = use_navigator();
    {
        // Load the providers; drop `?sign_in_error=` from the address so a reload does not
        // show the message again.
        let (providers, shown) = (providers.clone(), provider_error.is_some());
        use_effect_with((), move |_| {
            if shown {
                navigator.replace(&Route::Home);
            }
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(list) = api::identity_providers().await {
                    providers.set(list.providers);
                }
            });
        });
    }
    {
        let first_input = first_input.clone();
        use_effect_with(*step, move |_| {
            if let Some(input) = first_input.cast::<HtmlElement>() {
                let _ = input.focus();
            }
        });
    }

    let on_password_submit = {
        let (session, step, username, password, error, busy, code) = (
            session.clone(),
            step.clone(),
            username.clone(),
            password.clone(),
            error.clone(),
            busy.clone(),
            code.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Err(message) = Username::parse(&username)
                .map_err(|e| e.to_string())
                .and_then(|_| Password::parse(&password).map_err(|e| e.to_string()))
            {
                error.set(Some(message));
                return;
            }
            let request = SignInRequest {
                username: (*username).clone(),
                password: (*password).clone(),
            };
            let (session, step, error, busy, password, code) = (
                session.clone(),
                step.clone(),
                error.clone(),
                busy.clone(),
                password.clone(),
                code.clone(),
            );
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::sign_in(&request).await;
                busy.set(false);
                match result {
                    Ok(SignInResponse::SignedIn { user }) => {
                        session.set(SessionState::SignedIn(user))
                    }
                    Ok(SignInResponse::VerificationRequired { .. }) => {
                        error.set(None);
                        password.set(String::new());
                        code.set(String::new());
                        step.set(Step::Code);
                    }
                    Err(failure) => error.set(Some(failure.message().to_owned())),
                }
            });
        })
    };

    let on_code_submit = {
        let (session, step, code, error, busy) = (
            session.clone(),
            step.clone(),
            code.clone(),
            error.clone(),
            busy.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let checked = match *step {
                Step::RecoveryCode => RecoveryCode::parse(&code)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                _ => TotpCode::parse(&code)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            if let Err(message) = checked {
                error.set(Some(message));
                return;
            }
            let request = VerifyRequest {
                code: (*code).clone(),
            };
            let (session, step, error, busy, code) = (
                session.clone(),
                step.clone(),
                error.clone(),
                busy.clone(),
                code.clone(),
            );
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::verify(&request).await;
                busy.set(false);
                match result {
                    Ok(SignInResponse::SignedIn { user }) => {
                        session.set(SessionState::SignedIn(user))
                    }
                    Ok(SignInResponse::VerificationRequired { .. }) => {}
                    Err(failure) if failure.code() == ErrorCode::VerificationExpired => {
                        step.set(Step::Password);
                        error.set(Some(failure.message().to_owned()));
                    }
                    Err(failure) => {
                        code.set(String::new());
                        error.set(Some(code_failure_text(&failure)));
                    }
                }
            });
        })
    };

    let switch_code_kind = {
        let (step, code, error) = (step.clone(), code.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            code.set(String::new());
            error.set(None);
            step.set(if *step == Step::RecoveryCode {
                Step::Code
            } else {
                Step::RecoveryCode
            });
        })
    };

    let error_view = match &*error {
        Some(text) => html! { <Message tone={Tone::Error} text={text.clone()} /> },
        None => html! {},
    };

    let form = match *step {
        Step::Password => {
            let on_username = {
                let username = username.clone();
                Callback::from(move |e: InputEvent| username.set(input_value(&e)))
            };
            let on_password = {
                let password = password.clone();
                Callback::from(move |e: InputEvent| password.set(input_value(&e)))
            };
            html! {
                <form onsubmit={on_password_submit} novalidate=true>
                    <h1>{ "Sign in to the Team Server" }</h1>
                    { error_view }
                    <div class="field">
                        <label for="username">{ "Username" }</label>
                        <input ref={first_input.clone()} id="username" type="text" autocomplete="username"
                               value={(*username).clone()} oninput={on_username} />
                    </div>
                    <div class="field">
                        <label for="password">{ "Password" }</label>
                        <input id="password" type="password" autocomplete="current-password"
                               value={(*password).clone()} oninput={on_password} />
                    </div>
                    <button type="submit" class="primary" disabled={*busy}>{ "Sign in" }</button>
                </form>
            }
        }
        Step::Code | Step::RecoveryCode => {
            let recovery = *step == Step::RecoveryCode;
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
            let on_code = {
                let code = code.clone();
                Callback::from(move |e: InputEvent| code.set(input_value(&e)))
            };
            html! {
                <form onsubmit={on_code_submit} novalidate=true>
                    <h1>{ "2-step verification" }</h1>
                    { error_view }
                    <div class="field">
                        <label for={id}>{ label }</label>
                        <p id="code-hint" class="hint">{ hint }</p>
                        <input ref={first_input.clone()} {id} type="text" aria-describedby="code-hint"
                               inputmode={if recovery { "text" } else { "numeric" }}
                               autocomplete="one-time-code" value={(*code).clone()} oninput={on_code} />
                    </div>
                    <button type="submit" class="primary" disabled={*busy}>{ "Verify" }</button>
                    <button type="button" class="link" onclick={switch_code_kind}>{ switch_text }</button>
                </form>
            }
        }
    };
    let provider_links = if *step == Step::Password && !providers.is_empty() {
        html! {
            <section class="providers" aria-labelledby="providers-heading">
                <h2 id="providers-heading">{ "Organizational account" }</h2>
                <p class="hint">{ "Sign in through your organization's identity provider:" }</p>
                <ul>
                    { for providers.iter().map(|p| html! {
                        <li>
                            <a class="button" href={p.start_url.clone()}>
                                { format!("Sign in with {}", p.name) }
                            </a>
                        </li>
                    }) }
                </ul>
            </section>
        }
    } else {
        html! {}
    };
    html! {
        <main id="main" class="sign-in">
            <p class="product">{ "Team Server" }</p>
            { form }
            { provider_links }
        </main>
    }
}
