//! Sign-in through an OpenID Connect identity provider, against the in-test provider of
//! [`crate::fake_provider`]: an organizational account signs in by its subject or by a verified
//! e-mail; every way it can fail ends on the Sign in page with its own error code, creates
//! nothing and is audited when a sign-in in progress was behind it: unknown identity, forged
//! or replayed `state`, a sign-in started in another browser, expiry, cancellation and other
//! provider errors, an unreachable provider, and ID tokens with a wrong nonce, audience,
//! issuer, expiry, signing key or algorithm. Anonymous callbacks with no sign-in behind them
//! and failed starts, however many, write no audit row (with or without a provider). The
//! flows live in the database, so one instance can finish what another started. The password
//! form refuses organizational accounts and points to their provider. The logs, even at
//! the most detailed level, hold no code, state, nonce or token.

use crate::fake_provider::{self, AuthRequest, FakeProvider, Grant, SignedBy};
use crate::helpers::{TestApp, expect_error, no_redirect_client, see_other, spawn_app_with};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use twostep::accounts::users::IdentityLink;
use twostep::app::Settings;
use twostep_shared::ErrorCode;
use twostep_shared::api::{AccountKind, IdentityProviders, ProviderSignInError, User};

use ProviderSignInError as E;

/// A server that knows the fake provider.
struct World {
    provider: FakeProvider,
    app: TestApp,
}

async fn world() -> World {
    world_with(Settings::default()).await
}

/// A server that knows the fake provider, which links accounts waiting with an e-mail address
/// (`link_by_email = true`).
async fn world_linking_by_email() -> World {
    let provider = FakeProvider::start().await;
    let settings = Settings {
        identity_providers: vec![provider.config_with("link_by_email = true")],
        ..Settings::default()
    };
    let app = spawn_app_with(settings).await;
    World { provider, app }
}

/// A server with these settings that knows the fake provider.
async fn world_with(settings: Settings) -> World {
    let provider = FakeProvider::start().await;
    let settings = Settings {
        identity_providers: vec![provider.config()],
        ..settings
    };
    let app = spawn_app_with(settings).await;
    World { provider, app }
}

/// Where a failed sign-in sends the browser.
fn error_page(error: ProviderSignInError) -> String {
    format!("/?sign_in_error={}", error.as_str())
}

impl World {
    /// The provider's answer arrives at the server (with the browser's cookies).
    async fn callback(&self, client: &Client, query: &str) -> String {
        self.callback_on(&self.app, client, query).await
    }

    async fn callback_on(&self, app: &TestApp, client: &Client, query: &str) -> String {
        let response = client
            .get(app.url(&format!("/api/oidc/callback?{query}")))
            .send()
            .await
            .expect("request");
        see_other(&response)
    }

    /// A whole sign-in in `client`: start, the provider grants what `grant` says, callback.
    /// Returns where the browser ends up.
    async fn sign_in(&self, client: &Client, grant: impl FnOnce(&AuthRequest) -> Grant) -> String {
        let request = fake_provider::start(&self.app, client, &self.provider).await;
        let code = self.provider.grant(&request, grant(&request));
        self.callback(client, &format!("code={code}&state={}", request.state))
            .await
    }

    /// A good ID token about `subject` for `request`.
    fn good(&self, request: &AuthRequest, subject: &str) -> Grant {
        Grant {
            claims: self.provider.claims(request, subject, self.app.now()),
            signed_by: SignedBy::Provider,
            userinfo: None,
        }
    }

    /// A grant whose claims `change` alters.
    fn altered(
        &self,
        request: &AuthRequest,
        subject: &str,
        change: impl FnOnce(&mut Value),
    ) -> Grant {
        let mut grant = self.good(request, subject);
        change(&mut grant.claims);
        grant
    }

    /// The audit log (event, subject, detail), oldest first.
    async fn audit(&self) -> Vec<(String, Option<String>, Option<String>)> {
        sqlx::query("SELECT event, subject_name, detail FROM audit_events ORDER BY id")
            .fetch_all(&self.app.db)
            .await
            .expect("audit events")
            .iter()
            .map(|row| {
                (
                    row.try_get("event").unwrap(),
                    row.try_get("subject_name").unwrap(),
                    row.try_get("detail").unwrap(),
                )
            })
            .collect()
    }

    /// The last audit event's kind and detail.
    async fn last_event(&self) -> (String, String) {
        let (event, _, detail) = self.audit().await.pop().expect("an audit event");
        (event, detail.unwrap_or_default())
    }
}

async fn me(app: &TestApp, client: &Client) -> reqwest::Response {
    client
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn an_organizational_account_signs_in_through_its_provider() {
    let w = world().await;
    let erin = w
        .app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;

    // The Sign in page's list.
    let list: IdentityProviders = crate::helpers::ok_json(
        reqwest::get(w.app.url("/api/oidc/providers"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.providers.len(), 1);
    assert_eq!(list.providers[0].name, "Fake ID");
    assert_eq!(
        list.providers[0].start_url,
        "/api/oidc/start?provider=Fake+ID"
    );

    // The start sends the browser to the provider with PKCE, state and nonce.
    let (client, _jar) = no_redirect_client();
    let response = client
        .get(w.app.url(&list.providers[0].start_url))
        .send()
        .await
        .unwrap();
    let state_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("twostep_oidc_state="))
        .expect("the state cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(state_cookie.contains(part), "{state_cookie}");
    }
    let request = AuthRequest::from_location(&w.provider, &see_other(&response));
    assert_eq!(request.response_type, "code");
    assert_eq!(request.client_id, fake_provider::CLIENT_ID);
    assert_eq!(request.code_challenge_method, "S256");
    assert_eq!(request.redirect_uri, w.app.url("/api/oidc/callback"));
    assert_eq!(request.scope, "openid email");
    assert!(request.state.len() >= 22 && request.nonce.len() >= 22);
    assert_ne!(request.state, request.nonce);
    assert!(state_cookie.starts_with(&format!("twostep_oidc_state={};", request.state)));
    // The flow is in the database; its state, nonce and verifier are not stored in the clear.
    assert_eq!(w.app.count("oidc_flows").await, 1);
    let stored = w.app.stored_bytes().await;
    for secret in [&request.state, &request.nonce] {
        assert!(
            !stored.windows(secret.len()).any(|b| b == secret.as_bytes()),
            "a flow secret is stored in the clear"
        );
    }

    // The person signs in at the provider, which sends the browser back.
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    let response = client
        .get(w.app.url(&format!(
            "/api/oidc/callback?code={code}&state={}",
            request.state
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&response), "/");
    let cookies: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("twostep_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Strict")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("twostep_oidc_state=;")),
        "the state cookie is removed: {cookies:?}"
    );

    let user: User = crate::helpers::ok_json(me(&w.app, &client).await).await;
    assert_eq!(user.id, erin);
    assert_eq!(
        user.account,
        AccountKind::Organizational {
            identity_provider: "Fake ID".to_owned()
        }
    );
    assert_eq!(w.provider.tokens_issued(), 1);
    assert_eq!(w.app.count("oidc_flows").await, 0, "single use");
    assert_eq!(
        w.audit().await,
        [(
            "signed_in".to_owned(),
            Some("erin".to_owned()),
            Some("via Fake ID".to_owned())
        )]
    );
}

#[tokio::test]
async fn a_verified_email_links_the_account_and_records_its_subject() {
    let w = world_linking_by_email().await;
    let frank = w
        .app
        .create_linked_user(
            "frank",
            fake_provider::NAME,
            IdentityLink {
                issuer: None,
                subject: None,
                email: Some("frank@example.test".to_owned()),
            },
        )
        .await;
    let (client, _) = no_redirect_client();
    let to = w
        .sign_in(&client, |r| {
            w.altered(r, "sub-frank", |c| {
                c["email"] = json!("Frank@Example.TEST");
                c["email_verified"] = json!(true);
            })
        })
        .await;
    assert_eq!(to, "/");
    let user: User = crate::helpers::ok_json(me(&w.app, &client).await).await;
    assert_eq!(user.id, frank);
    let link = twostep::accounts::users::identity_link(&w.app.db, frank)
        .await
        .unwrap();
    assert_eq!(
        link.subject.as_deref(),
        Some("sub-frank"),
        "subject recorded"
    );
    let (event, detail) = w.last_event().await;
    assert_eq!(event, "signed_in");
    assert!(detail.contains("linked by verified e-mail"), "{detail}");

    // From now on the subject decides: the same e-mail under another subject is nobody.
    let (other, _) = no_redirect_client();
    let to = w
        .sign_in(&other, |r| {
            w.altered(r, "sub-mallory", |c| {
                c["email"] = json!("frank@example.test");
                c["email_verified"] = json!(true);
            })
        })
        .await;
    assert_eq!(to, error_page(E::UnknownAccount));
    assert_eq!(me(&w.app, &other).await.status(), StatusCode::UNAUTHORIZED);
    // ...and frank's subject signs in without any e-mail.
    let (again, _) = no_redirect_client();
    assert_eq!(w.sign_in(&again, |r| w.good(r, "sub-frank")).await, "/");
}

#[tokio::test]
async fn the_email_may_come_from_userinfo_but_must_be_verified() {
    let w = world_linking_by_email().await;
    let email_link = |email: &str| IdentityLink {
        issuer: None,
        subject: None,
        email: Some(email.to_owned()),
    };
    let grace = w
        .app
        .create_linked_user(
            "grace",
            fake_provider::NAME,
            email_link("grace@example.test"),
        )
        .await;
    w.app
        .create_linked_user(
            "henry",
            fake_provider::NAME,
            email_link("henry@example.test"),
        )
        .await;

    // No e-mail in the ID token: the UserInfo answer (same subject) has a verified one.
    let (client, _) = no_redirect_client();
    let to = w
        .sign_in(&client, |r| Grant {
            userinfo: Some(json!({
                "sub": "sub-grace", "email": "grace@example.test", "email_verified": true
            })),
            ..w.good(r, "sub-grace")
        })
        .await;
    assert_eq!(to, "/");
    let user: User = crate::helpers::ok_json(me(&w.app, &client).await).await;
    assert_eq!(user.id, grace);

    // An e-mail the provider does not call verified links nobody, in the ID token...
    let (client, _) = no_redirect_client();
    let to = w
        .sign_in(&client, |r| {
            w.altered(r, "sub-henry", |c| {
                c["email"] = json!("henry@example.test");
                c["email_verified"] = json!(false);
            })
        })
        .await;
    assert_eq!(to, error_page(E::UnknownAccount));
    // ...or in UserInfo.
    let to = w
        .sign_in(&client, |r| Grant {
            userinfo: Some(json!({"sub": "sub-henry", "email": "henry@example.test"})),
            ..w.good(r, "sub-henry")
        })
        .await;
    assert_eq!(to, error_page(E::UnknownAccount));
    // A UserInfo answer about somebody else is refused outright.
    let to = w
        .sign_in(&client, |r| Grant {
            userinfo: Some(json!({
                "sub": "sub-grace", "email": "henry@example.test", "email_verified": true
            })),
            ..w.good(r, "sub-henry")
        })
        .await;
    assert_eq!(to, error_page(E::TokenInvalid));
    assert_eq!(me(&w.app, &client).await.status(), StatusCode::UNAUTHORIZED);
    let link = twostep::accounts::users::identity_link(&w.app.db, w.app.user_id("henry").await)
        .await
        .unwrap();
    assert_eq!(link.subject, None, "nothing recorded for henry");
}

#[tokio::test]
async fn a_disabled_organizational_account_is_refused_at_its_provider_sign_in() {
    let w = world().await;
    let erin = w
        .app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    w.app.create_user("root", "root password 1", true).await;
    let root = crate::helpers::client();
    w.app.sign_in(&root, "root", "root password 1").await;
    let path = format!("/api/users/{erin}/disable");
    let disabled = w
        .app
        .send_json(&root, reqwest::Method::POST, &path, &json!({}))
        .await;
    assert_eq!(disabled.status(), StatusCode::NO_CONTENT);

    let (client, _) = no_redirect_client();
    let to = w.sign_in(&client, |r| w.good(r, "sub-erin")).await;
    assert_eq!(to, error_page(E::AccountDisabled));
    assert_eq!(me(&w.app, &client).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(w.app.count_for("sessions", erin).await, 0);
    let (event, detail) = w.last_event().await;
    assert_eq!(event, "sign_in_failed_provider");
    assert!(detail.contains("erin is disabled"), "{detail}");
}

#[tokio::test]
async fn an_unknown_identity_is_refused_and_nothing_is_created() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let before = w.app.row_counts().await;
    let (client, _) = no_redirect_client();
    let to = w.sign_in(&client, |r| w.good(r, "sub-nobody")).await;
    assert_eq!(to, error_page(E::UnknownAccount));
    assert_eq!(w.app.row_counts().await, before, "no account, no session");
    assert_eq!(me(&w.app, &client).await.status(), StatusCode::UNAUTHORIZED);
    let (event, subject, detail) = w.audit().await.pop().unwrap();
    assert_eq!(event, "sign_in_failed_provider");
    assert_eq!(subject, None);
    let detail = detail.unwrap();
    assert!(
        detail.starts_with("Fake ID: ") && detail.contains("sub-nobody"),
        "the administrator can see whom to link: {detail}"
    );
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_are_refused() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let now = w.app.now();
    type Change = Box<dyn Fn(&mut Grant)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "wrong nonce",
            Box::new(|g| g.claims["nonce"] = json!("not-the-nonce")),
            "nonce",
        ),
        (
            "no nonce",
            Box::new(|g| {
                g.claims.as_object_mut().unwrap().remove("nonce");
            }),
            "nonce",
        ),
        (
            "another audience",
            Box::new(|g| g.claims["aud"] = json!("another-client")),
            "audience",
        ),
        (
            "an extra audience",
            Box::new(|g| g.claims["aud"] = json!([fake_provider::CLIENT_ID, "another-client"])),
            "audience",
        ),
        (
            "another issuer",
            Box::new(|g| g.claims["iss"] = json!("http://127.0.0.1:1")),
            "issuer",
        ),
        (
            "expired",
            Box::new(move |g| g.claims["exp"] = json!(now - 1)),
            "expired",
        ),
        (
            "another key",
            Box::new(|g| g.signed_by = SignedBy::Stranger),
            "key",
        ),
        (
            "an at_hash of another access token",
            Box::new(|g| g.claims["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA")),
            "at_hash",
        ),
        (
            "not signed",
            Box::new(|g| g.signed_by = SignedBy::Unsigned),
            "not signed",
        ),
        (
            "signed with the client secret (HS256)",
            Box::new(|g| g.signed_by = SignedBy::ClientSecret),
            "algorithm",
        ),
    ];
    for (name, change, reason) in cases {
        let before = w.app.row_counts().await;
        let (client, _) = no_redirect_client();
        let to = w
            .sign_in(&client, |r| {
                let mut grant = w.good(r, "sub-erin");
                change(&mut grant);
                grant
            })
            .await;
        assert_eq!(to, error_page(E::TokenInvalid), "{name}");
        assert_eq!(w.app.row_counts().await, before, "{name}: nothing created");
        assert_eq!(
            me(&w.app, &client).await.status(),
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
        let (event, detail) = w.last_event().await;
        assert_eq!(event, "sign_in_failed_provider", "{name}");
        assert!(detail.contains(reason), "{name}: {detail}");
    }
    // The same good token is accepted (with a right at_hash too): the refusals were about
    // the changes.
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, |r| w.good(r, "sub-erin")).await, "/");
    let (client, _) = no_redirect_client();
    let to = w
        .sign_in(&client, |r| {
            w.altered(r, "sub-erin", |c| {
                c["at_hash"] = json!(fake_provider::AT_HASH_OF_ACCESS_TOKEN)
            })
        })
        .await;
    assert_eq!(to, "/");
}

#[tokio::test]
async fn a_forged_replayed_or_foreign_state_is_refused() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, jar) = no_redirect_client();
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    let good_query = format!("code={code}&state={}", request.state);

    // No state, or one this browser did not start.
    let before = w.app.row_counts().await;
    for query in [
        format!("code={code}"),
        format!("code={code}&state=forged-state-value-1234567890"),
        format!("code={code}&state={}x", request.state),
        // A query that does not parse at all.
        format!("code={code}&code=again&state={}", request.state),
    ] {
        assert_eq!(
            w.callback(&client, &query).await,
            error_page(E::StateMismatch),
            "{query}"
        );
        // The refused answer spent the browser's cookie; put it back for the next case.
        let cookie = format!("twostep_oidc_state={}; Path=/", request.state);
        jar.add_cookie_str(&cookie, &w.app.base.parse().unwrap());
    }
    // The right answer in another browser (login CSRF: an attacker's sign-in finished in
    // the victim's browser) is refused too.
    let (victim, _) = no_redirect_client();
    assert_eq!(
        w.callback(&victim, &good_query).await,
        error_page(E::StateMismatch)
    );
    assert_eq!(w.app.row_counts().await, before, "nothing used or created");
    assert_eq!(w.provider.tokens_issued(), 0, "no code was exchanged");

    // The browser that started it finishes it...
    assert_eq!(w.callback(&client, &good_query).await, "/");
    // ...once: replaying the answer signs nobody in, whether the browser's state cookie is
    // gone (as it is after use) or is sent again by hand; with no flow behind it any more, it
    // is not audited either.
    let sessions = w.app.count("sessions").await;
    let audited = w.app.count("audit_events").await;
    assert_eq!(
        w.callback(&client, &good_query).await,
        error_page(E::StateMismatch)
    );
    let response = crate::helpers::bare_no_redirect_client()
        .get(w.app.url(&format!("/api/oidc/callback?{good_query}")))
        .header(COOKIE, format!("twostep_oidc_state={}", request.state))
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&response), error_page(E::StateMismatch));
    assert_eq!(w.app.count("sessions").await, sessions);
    assert_eq!(w.provider.tokens_issued(), 1);
    assert_eq!(w.app.count("audit_events").await, audited);
    assert_eq!(w.last_event().await.0, "signed_in");
}

#[tokio::test]
async fn a_sign_in_expires_after_ten_minutes() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, _) = no_redirect_client();
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    w.app.clock.advance(10 * 60);
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    assert_eq!(
        w.callback(&client, &format!("code={code}&state={}", request.state))
            .await,
        error_page(E::Expired)
    );
    assert_eq!(w.provider.tokens_issued(), 0);
    assert_eq!(w.app.count("oidc_flows").await, 0, "spent");
    assert_eq!(me(&w.app, &client).await.status(), StatusCode::UNAUTHORIZED);
    // Just inside the ten minutes it works.
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    w.app.clock.advance(10 * 60 - 1);
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    assert_eq!(
        w.callback(&client, &format!("code={code}&state={}", request.state))
            .await,
        "/"
    );
}

#[tokio::test]
async fn cancelling_or_an_error_at_the_provider_ends_the_sign_in() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, _) = no_redirect_client();
    for (error, expected) in [
        ("access_denied", E::Cancelled),
        ("server_error", E::ProviderError),
        ("temporarily_unavailable", E::ProviderError),
    ] {
        let request = fake_provider::start(&w.app, &client, &w.provider).await;
        let query = format!(
            "error={error}&error_description=Call+0800+to+claim+your+prize&state={}",
            request.state
        );
        assert_eq!(w.callback(&client, &query).await, error_page(expected));
        let (event, detail) = w.last_event().await;
        assert_eq!(event, "sign_in_failed_provider");
        assert!(
            detail.contains(error) && !detail.contains("prize"),
            "{detail}"
        );
        // The flow is spent: a code for it afterwards is refused.
        let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
        assert_eq!(
            w.callback(&client, &format!("code={code}&state={}", request.state))
                .await,
            error_page(E::StateMismatch)
        );
    }
    // An answer with neither code nor error.
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    assert_eq!(
        w.callback(&client, &format!("state={}", request.state))
            .await,
        error_page(E::ProviderError)
    );
    // An answer naming another issuer (RFC 9207 mix-up defence).
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    let query = format!(
        "code={code}&state={}&iss=http%3A%2F%2F127.0.0.1%3A1",
        request.state
    );
    assert_eq!(
        w.callback(&client, &query).await,
        error_page(E::TokenInvalid)
    );
    // A code the provider does not know (its token endpoint says invalid_grant).
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    assert_eq!(
        w.callback(&client, &format!("code=made-up&state={}", request.state))
            .await,
        error_page(E::TokenInvalid)
    );
    assert!(w.last_event().await.1.contains("invalid_grant"));
    assert_eq!(me(&w.app, &client).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(w.app.count("sessions").await, 0);
}

#[tokio::test]
async fn an_unreachable_provider_is_reported() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, _) = no_redirect_client();

    // Down while the person is at the provider: the code cannot be exchanged.
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    w.provider.stop();
    assert_eq!(
        w.callback(&client, &format!("code={code}&state={}", request.state))
            .await,
        error_page(E::ProviderUnreachable)
    );
    let (event, detail) = w.last_event().await;
    assert_eq!(event, "sign_in_failed_provider");
    assert!(
        detail.starts_with("Fake ID: ") && detail.contains("connect"),
        "{detail}"
    );
    // Down at the start (once the cached discovery document has expired): no flow is
    // stored, and (anyone can start) no audit row is written.
    w.app
        .clock
        .advance(twostep::oidc::discovery::DISCOVERY_SECONDS);
    let audited = w.app.count("audit_events").await;
    let response = client
        .get(
            w.app
                .url(&twostep::web::routes::start_url(fake_provider::NAME)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&response), error_page(E::ProviderUnreachable));
    assert!(
        response.headers().get(SET_COOKIE).is_none(),
        "no state cookie"
    );
    assert_eq!(w.app.count("oidc_flows").await, 0);
    assert_eq!(w.app.count("sessions").await, 0);
    assert_eq!(w.app.count("audit_events").await, audited);
}

/// Callbacks anyone can send, with no sign-in in progress behind them.
fn callbacks_without_a_flow(i: usize) -> Vec<(String, Option<String>)> {
    let state = format!("made-up-state-{i}-0123456789abcdef");
    vec![
        ("".to_owned(), None),
        (format!("code=c{i}&state={state}"), None),
        // A state cookie that matches, but no flow has that state.
        (format!("code=c{i}&state={state}"), Some(state.clone())),
        (
            format!("error=access_denied&state={state}"),
            Some(state.clone()),
        ),
        (
            format!("state={state}&iss=http%3A%2F%2Fevil.example"),
            Some(state),
        ),
        (format!("code=c{i}&code=twice"), None),
    ]
}

/// Anonymous requests cannot fill the audit log: callbacks with no flow behind them and
/// failed starts are refused as usual and write no row, without a provider configured and
/// with one; a callback with a real flow behind it is still audited, once. (Rounds within
/// the per-address window; what lies beyond it is `…::anonymous_start_and_callback_loops_…`.)
#[tokio::test]
async fn anonymous_callbacks_without_a_flow_write_no_audit_row() {
    const ROUNDS: usize = 4;
    let no_provider = crate::helpers::spawn_app().await;
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let anonymous = crate::helpers::bare_no_redirect_client();
    for app in [&no_provider, &w.app] {
        let before = app.count("audit_events").await;
        for i in 0..ROUNDS {
            for (query, cookie) in callbacks_without_a_flow(i) {
                let mut request = anonymous.get(app.url(&format!("/api/oidc/callback?{query}")));
                if let Some(state) = cookie {
                    request = request.header(COOKIE, format!("twostep_oidc_state={state}"));
                }
                let response = request.send().await.unwrap();
                assert_eq!(
                    see_other(&response),
                    error_page(E::StateMismatch),
                    "{query}"
                );
            }
            for path in [
                format!("/api/oidc/start?provider=Nope{i}"),
                "/api/oidc/start".to_owned(),
            ] {
                let response = anonymous.get(app.url(&path)).send().await.unwrap();
                assert_eq!(see_other(&response), error_page(E::UnknownProvider));
            }
        }
        assert_eq!(app.count("audit_events").await, before, "{}", app.base);
        assert_eq!(app.count("oidc_flows").await, 0);
    }
    // A real flow, refused at the callback (cancelled), is audited once, and its replay is
    // not.
    let (client, _) = no_redirect_client();
    let before = w.app.count("audit_events").await;
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let query = format!("error=access_denied&state={}", request.state);
    assert_eq!(w.callback(&client, &query).await, error_page(E::Cancelled));
    assert_eq!(w.app.count("audit_events").await, before + 1);
    let (event, detail) = w.last_event().await;
    assert_eq!(event, "sign_in_failed_provider");
    assert!(detail.starts_with("Fake ID: "), "{detail}");
    let replay = anonymous
        .get(w.app.url(&format!("/api/oidc/callback?{query}")))
        .header(COOKIE, format!("twostep_oidc_state={}", request.state))
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&replay), error_page(E::StateMismatch));
    assert_eq!(w.app.count("audit_events").await, before + 1);
}

#[tokio::test]
async fn an_unknown_provider_is_reported() {
    let w = world().await;
    let (client, _) = no_redirect_client();
    for path in [
        "/api/oidc/start?provider=Nope".to_owned(),
        "/api/oidc/start".to_owned(),
        "/api/oidc/start?provider=fake+id".to_owned(),
    ] {
        let response = client.get(w.app.url(&path)).send().await.unwrap();
        assert_eq!(
            see_other(&response),
            error_page(E::UnknownProvider),
            "{path}"
        );
    }
    assert_eq!(w.app.count("oidc_flows").await, 0);
}

#[tokio::test]
async fn a_sign_in_started_on_one_instance_finishes_on_another() {
    let w = world().await;
    let erin = w
        .app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let second = w.app.another_instance().await;
    let (client, _) = no_redirect_client();
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    let query = format!("code={code}&state={}", request.state);
    // The provider redirects to the public URL; the load balancer picks the second instance.
    let response = client
        .get(second.url(&format!("/api/oidc/callback?{query}")))
        .header(COOKIE, format!("twostep_oidc_state={}", request.state))
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&response), "/");
    let session = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .find_map(|v| {
            v.to_str()
                .unwrap()
                .strip_prefix("twostep_session=")
                .map(|rest| rest.split(';').next().unwrap().to_owned())
        })
        .expect("a session cookie");
    // The session works on the first instance; the answer cannot be used again there.
    let user: User = crate::helpers::ok_json(
        crate::helpers::bare_client()
            .get(w.app.url("/api/me"))
            .header(COOKIE, format!("twostep_session={session}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(user.id, erin);
    assert_eq!(
        w.callback(&client, &query).await,
        error_page(E::StateMismatch)
    );
}

#[tokio::test]
async fn the_password_form_points_organizational_accounts_to_their_provider() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    w.app
        .create_organizational_user("olga", "Retired IdP")
        .await;
    w.app.create_user("alice", "alice password", false).await;
    let client = crate::helpers::client();

    let error = expect_error(
        w.app.sign_in_raw(&client, "erin", "any password").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::OrganizationalAccount,
    )
    .await;
    assert_eq!(
        error.message,
        "erin is an organizational account: it has no password here. Use \"Sign in with Fake ID\" instead."
    );
    let error = expect_error(
        w.app.sign_in_raw(&client, "olga", "any password").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::OrganizationalAccount,
    )
    .await;
    assert!(
        error.message.contains("not set up on this Team Server"),
        "{}",
        error.message
    );
    // Team Server accounts and unknown names still get the one answer.
    for (name, password) in [("alice", "wrong password"), ("nobody", "any password")] {
        expect_error(
            w.app.sign_in_raw(&client, name, password).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
        )
        .await;
    }
    // It counts as a failed password attempt (throttled like one) and is audited.
    let failures: i64 = sqlx::query("SELECT failures FROM attempt_counters WHERE counter_key = $1")
        .bind(w.app.name_key("erin"))
        .fetch_one(&w.app.db)
        .await
        .unwrap()
        .try_get("failures")
        .unwrap();
    assert_eq!(failures, 1);
    let erin_events: Vec<_> = w
        .audit()
        .await
        .into_iter()
        .filter(|(_, subject, _)| subject.as_deref() == Some("erin"))
        .collect();
    assert_eq!(
        erin_events,
        [(
            "sign_in_failed_password".to_owned(),
            Some("erin".to_owned()),
            Some("organizational account: signs in through Fake ID".to_owned())
        )]
    );
    assert_eq!(w.app.count("sessions").await, 0);
}

/// A `tracing` writer into memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_logs_hold_no_code_state_nonce_or_token() {
    // Everything the servers of this test binary log, at every level. (A subscriber for this
    // thread only would be simpler, but tracing's per-callsite cache makes that unreliable
    // while other tests run on other threads; no other test sets a subscriber.)
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let mut secrets = Vec::new();
    for (subject, nonce_ok) in [
        ("sub-erin", true),
        ("sub-erin", false),
        ("sub-nobody", true),
    ] {
        let (client, _) = no_redirect_client();
        let request = fake_provider::start(&w.app, &client, &w.provider).await;
        let mut grant = w.good(&request, subject);
        if !nonce_ok {
            grant.claims["nonce"] = json!("a-nonce-that-is-wrong");
        }
        let code = w.provider.grant(&request, grant);
        let query = format!("code={code}&state={}", request.state);
        w.callback(&client, &query).await;
        // ...and once more, replayed.
        w.callback(&client, &query).await;
        secrets.extend([code, request.state, request.nonce, request.code_challenge]);
    }
    secrets.extend(w.provider.secrets_issued());
    secrets.push(fake_provider::CLIENT_SECRET.to_owned());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("signed in through an identity provider")
            && logs.contains("/api/oidc/callback"),
        "the capture works: {logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} is in the logs:\n{logs}"
        );
    }
}

/// Over https the state cookie is `__Host-` prefixed like the session cookie, and the callback
/// reads only that name: a cookie without the prefix (which a sibling subdomain or plain http
/// can set) planting the state of the attacker's own sign-in is refused (login CSRF).
#[tokio::test]
async fn a_planted_state_cookie_without_the_prefix_is_refused_over_https() {
    let w = world_with(Settings {
        secure_cookies: true,
        public_url: "https://team.example.com".to_owned(),
        ..Settings::default()
    })
    .await;
    w.app
        .create_organizational_user("mallory", fake_provider::NAME)
        .await;
    // The attacker starts a sign-in and signs in at the provider as themself.
    let attacker = crate::helpers::bare_no_redirect_client();
    let response = attacker
        .get(
            w.app
                .url(&twostep::web::routes::start_url(fake_provider::NAME)),
        )
        .send()
        .await
        .unwrap();
    let state_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.contains("twostep_oidc_state="))
        .expect("the state cookie");
    assert!(
        state_cookie.starts_with("__Host-twostep_oidc_state="),
        "{state_cookie}"
    );
    for part in ["Secure", "HttpOnly", "Path=/;", "SameSite=Lax"] {
        assert!(
            format!("{state_cookie};").contains(part),
            "{part}: {state_cookie}"
        );
    }
    assert!(!state_cookie.contains("Domain"), "{state_cookie}");
    let request = AuthRequest::from_location(&w.provider, &see_other(&response));
    let code = w.provider.grant(&request, w.good(&request, "sub-mallory"));
    let query = format!("code={code}&state={}", request.state);
    let callback = |cookie: String| {
        crate::helpers::bare_no_redirect_client()
            .get(w.app.url(&format!("/api/oidc/callback?{query}")))
            .header(COOKIE, cookie)
            .send()
    };

    // The victim's browser carries the planted cookie without the prefix: refused.
    let planted = callback(format!("twostep_oidc_state={}", request.state))
        .await
        .unwrap();
    assert_eq!(see_other(&planted), error_page(E::StateMismatch));
    assert_eq!(w.app.count("sessions").await, 0, "nobody signed in");
    assert_eq!(w.provider.tokens_issued(), 0, "no code was exchanged");

    // The prefixed cookie, which only this server can have set, finishes it.
    let own = callback(format!("__Host-twostep_oidc_state={}", request.state))
        .await
        .unwrap();
    assert_eq!(see_other(&own), "/");
    assert_eq!(w.app.count("sessions").await, 1);
}

/// One address sends 200 anonymous start + callback pairs, each callback with the state of
/// its own start and a made-up code: the provider's discovery document and keys are read
/// once (cached), and the per-address window stops the pairs long before 200, so the
/// provider sees a bounded number of requests. Callbacks with no sign-in behind them write
/// no audit row.
#[tokio::test]
async fn anonymous_start_and_callback_loops_make_few_requests_to_the_provider() {
    let w = world().await;
    let client = crate::helpers::bare_no_redirect_client();
    let mut flows_answered = 0;
    let mut refused = 0;
    for i in 0..200 {
        let response = client
            .get(
                w.app
                    .url(&twostep::web::routes::start_url(fake_provider::NAME)),
            )
            .send()
            .await
            .unwrap();
        let location = see_other(&response);
        let state = if location.starts_with(&w.provider.issuer) {
            flows_answered += 1;
            AuthRequest::from_location(&w.provider, &location).state
        } else {
            assert_eq!(location, error_page(E::TooMany));
            refused += 1;
            format!("made-up-state-{i:04}-0123456789")
        };
        let response = client
            .get(w.app.url(&format!(
                "/api/oidc/callback?code=made-up-code-{i}&state={state}"
            )))
            .header(COOKIE, format!("twostep_oidc_state={state}"))
            .send()
            .await
            .unwrap();
        see_other(&response);
    }
    let window = twostep::limits::policy::PROVIDER_SIGN_INS.max_failures as usize;
    assert!(
        flows_answered > 0 && refused > 0,
        "{flows_answered} {refused}"
    );
    assert!(flows_answered <= window, "{flows_answered} flows");
    // The discovery document and the keys once, then one token request per flow at most.
    let requests = w.provider.requests();
    assert!(
        requests <= 2 + flows_answered,
        "{requests} requests to the provider for {flows_answered} flows"
    );
    // Only the callbacks that spent a flow are audited.
    let audited = w.app.count("audit_events").await as usize;
    assert_eq!(audited, flows_answered, "audit rows");
}

/// The flows one client address holds are capped in the database, for every instance
/// together; a flow whose time is up gives its place back.
#[tokio::test]
async fn one_address_holds_a_bounded_number_of_flows_on_all_instances() {
    let w = world().await;
    let other = w.app.another_instance().await;
    let cap = twostep::oidc::flows::FLOWS_PER_ADDRESS;
    let client = crate::helpers::bare_no_redirect_client();
    let start = |app: &TestApp| {
        client
            .get(app.url(&twostep::web::routes::start_url(fake_provider::NAME)))
            .send()
    };
    for i in 0..cap {
        let app = if i % 2 == 0 { &w.app } else { &other };
        let location = see_other(&start(app).await.unwrap());
        assert!(location.starts_with(&w.provider.issuer), "{i}: {location}");
    }
    assert_eq!(w.app.count("oidc_flows").await as usize, cap);
    for app in [&w.app, &other] {
        let location = see_other(&start(app).await.unwrap());
        assert_eq!(location, error_page(E::TooMany));
    }
    assert_eq!(w.app.count("oidc_flows").await as usize, cap);
    // Ten minutes on, the flows have expired (kept to say so) and the window is over.
    w.app.clock.advance(10 * 60);
    other.clock.advance(10 * 60);
    let location = see_other(&start(&w.app).await.unwrap());
    assert!(location.starts_with(&w.provider.issuer), "{location}");
}

/// Links follow the issuer: when the providers file gives the provider's name another issuer,
/// its accounts' links (made at the old issuer) sign in to nothing until the operator
/// confirms the new issuer (or links each account again).
#[tokio::test]
async fn a_changed_issuer_refuses_the_old_links() {
    let w = world().await;
    let erin = w
        .app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, |r| w.good(r, "sub-erin")).await, "/");
    let old_issuer = w.provider.config().issuer.as_str().to_owned();
    let link = twostep::accounts::users::identity_link(&w.app.db, erin)
        .await
        .unwrap();
    assert_eq!(
        link.issuer.as_deref(),
        Some(old_issuer.as_str()),
        "recorded"
    );

    // The file now names another issuer under the same name; the server restarts with it.
    let moved = FakeProvider::start().await;
    let new_issuer = moved.config().issuer.as_str().to_owned();
    let app = w
        .app
        .another_instance_with(Settings {
            identity_providers: vec![moved.config()],
            ..Settings::default()
        })
        .await;
    let w = World {
        provider: moved,
        app,
    };
    let sessions = w.app.count("sessions").await;
    let (client, _) = no_redirect_client();
    assert_eq!(
        w.sign_in(&client, |r| w.good(r, "sub-erin")).await,
        error_page(E::LinkStale)
    );
    assert_eq!(w.app.count("sessions").await, sessions, "nobody signed in");
    let (event, detail) = w.last_event().await;
    assert_eq!(event, "sign_in_failed_provider");
    assert!(
        detail.contains(&old_issuer) && detail.contains("confirm-issuer"),
        "{detail}"
    );

    // The operator confirms the new issuer: the link signs in again.
    let moved_links =
        twostep::accounts::users::confirm_issuer(&w.app.db, fake_provider::NAME, &new_issuer)
            .await
            .unwrap();
    assert_eq!(moved_links, 1);
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, |r| w.good(r, "sub-erin")).await, "/");
}

/// RFC 9207: a provider whose discovery document says it sends `iss` with every answer must
/// send it; an answer without it is refused, one with the right issuer is accepted.
#[tokio::test]
async fn iss_is_required_when_the_provider_advertises_it() {
    let w = world().await;
    w.provider.set_sends_iss(true);
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, _) = no_redirect_client();
    assert_eq!(
        w.sign_in(&client, |r| w.good(r, "sub-erin")).await,
        error_page(E::TokenInvalid)
    );
    assert!(w.last_event().await.1.contains("RFC 9207"));
    assert_eq!(w.provider.tokens_issued(), 0, "no code was exchanged");
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    let iss: String =
        openidconnect::url::form_urlencoded::byte_serialize(w.provider.issuer.as_bytes()).collect();
    let query = format!("code={code}&state={}&iss={iss}", request.state);
    assert_eq!(w.callback(&client, &query).await, "/");
}

/// A browser signed in as alice starts a sign-in through the provider; the provider's answer
/// comes from its own site, so the `SameSite=Strict` session cookie stays home and only the
/// state cookie comes along (as in a real browser). alice's session ends all the same: the
/// flow remembers the session it was started from. The new session and its audit row are
/// written together.
#[tokio::test]
async fn the_previous_session_ends_at_a_sign_in_started_from_a_signed_in_browser() {
    let w = world().await;
    w.app.create_user("alice", "alice password", false).await;
    let erin = w
        .app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let (client, jar) = no_redirect_client();
    w.app.sign_in(&client, "alice", "alice password").await;
    let alice_cookie = w.app.cookie_in(&jar);
    assert_eq!(me(&w.app, &client).await.status(), StatusCode::OK);

    // The start is same-site: the browser sends its session cookie with it.
    let request = fake_provider::start(&w.app, &client, &w.provider).await;
    let code = w.provider.grant(&request, w.good(&request, "sub-erin"));
    // The callback, from the provider's site: the state cookie only.
    let response = crate::helpers::bare_no_redirect_client()
        .get(w.app.url(&format!(
            "/api/oidc/callback?code={code}&state={}",
            request.state
        )))
        .header(COOKIE, format!("twostep_oidc_state={}", request.state))
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&response), "/");

    // alice's session is over; erin's is the only one, and it is recorded.
    let alice = crate::helpers::bare_client()
        .get(w.app.url("/api/me"))
        .header(COOKIE, alice_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(alice.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(w.app.count("sessions").await, 1);
    assert_eq!(w.app.count_for("sessions", erin).await, 1);
    let (event, _) = w.last_event().await;
    assert_eq!(event, "signed_in");
}

/// Linking by e-mail is off unless the provider's entry turns it on: a verified e-mail then
/// links nobody.
#[tokio::test]
async fn a_verified_email_links_nobody_unless_the_provider_links_by_email() {
    let w = world().await;
    let frank = w
        .app
        .create_linked_user(
            "frank",
            fake_provider::NAME,
            IdentityLink {
                issuer: None,
                subject: None,
                email: Some("frank@example.test".to_owned()),
            },
        )
        .await;
    let (client, _) = no_redirect_client();
    let to = w
        .sign_in(&client, |r| {
            w.altered(r, "sub-frank", |c| {
                c["email"] = json!("frank@example.test");
                c["email_verified"] = json!(true);
            })
        })
        .await;
    assert_eq!(to, error_page(E::UnknownAccount));
    let link = twostep::accounts::users::identity_link(&w.app.db, frank)
        .await
        .unwrap();
    assert_eq!(link.subject, None, "no subject recorded");
}

/// With linking by e-mail on, the first identity the provider calls verified for the address
/// takes the account (the risk the docs describe). The operator links the account to the
/// right subject: the sessions the first identity holds in it end with the link.
#[tokio::test]
async fn linking_again_ends_the_sessions_of_the_identity_the_account_is_taken_from() {
    let w = world_linking_by_email().await;
    let erin = w
        .app
        .create_linked_user(
            "erin",
            fake_provider::NAME,
            IdentityLink {
                issuer: None,
                subject: None,
                email: Some("erin@example.test".to_owned()),
            },
        )
        .await;
    // Someone else at the provider with that verified address signs in first.
    let (mallory, _) = no_redirect_client();
    let to = w
        .sign_in(&mallory, |r| {
            w.altered(r, "sub-mallory", |c| {
                c["email"] = json!("erin@example.test");
                c["email_verified"] = json!(true);
            })
        })
        .await;
    assert_eq!(to, "/");
    let user: User = crate::helpers::ok_json(me(&w.app, &mallory).await).await;
    assert_eq!(user.id, erin);

    // The operator links erin's account to erin's subject (`twostep user link`).
    let record = twostep::accounts::users::find(&w.app.db, erin)
        .await
        .unwrap()
        .unwrap();
    let link = IdentityLink {
        issuer: Some(w.provider.config().issuer.as_str().to_owned()),
        subject: Some("sub-erin".to_owned()),
        email: None,
    };
    let ended = twostep::accounts::operations::link_identity(
        &w.app.state,
        twostep::accounts::By::Operator,
        &record,
        &link,
    )
    .await
    .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(
        me(&w.app, &mallory).await.status(),
        StatusCode::UNAUTHORIZED,
        "the first identity's session ended"
    );
    // mallory's identity links nobody now; erin's signs in.
    let (again, _) = no_redirect_client();
    assert_eq!(
        w.sign_in(&again, |r| w.good(r, "sub-mallory")).await,
        error_page(E::UnknownAccount)
    );
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, |r| w.good(r, "sub-erin")).await, "/");
}

/// The cached keys follow a key rotation: a token signed with a key the cache does not have
/// makes the JWKS be read again and the token checked again. A key id nobody publishes is
/// refused, and makes the JWKS be read at most once a minute.
#[tokio::test]
async fn the_cached_keys_are_read_again_for_an_unknown_key_at_most_once_a_minute() {
    let w = world().await;
    w.app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let w = &w;
    let signed_by = |signed_by| {
        move |r: &AuthRequest| Grant {
            signed_by,
            ..w.good(r, "sub-erin")
        }
    };
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, signed_by(SignedBy::Provider)).await, "/");
    assert_eq!(w.provider.jwks_requests(), 1);

    // The provider rotates its keys: the new key's token is accepted after one more read.
    w.provider.rotate_keys();
    w.app.clock.advance(twostep::oidc::discovery::KEYS_SECONDS);
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, signed_by(SignedBy::NewKey)).await, "/");
    assert_eq!(w.provider.jwks_requests(), 2);

    // Tokens naming a key nobody publishes: refused; the JWKS is not read again within the
    // minute, however many come.
    for _ in 0..5 {
        let (client, _) = no_redirect_client();
        assert_eq!(
            w.sign_in(&client, signed_by(SignedBy::UnknownKey)).await,
            error_page(E::TokenInvalid)
        );
    }
    assert_eq!(w.provider.jwks_requests(), 2);
    w.app.clock.advance(twostep::oidc::discovery::KEYS_SECONDS);
    let (client, _) = no_redirect_client();
    assert_eq!(
        w.sign_in(&client, signed_by(SignedBy::UnknownKey)).await,
        error_page(E::TokenInvalid)
    );
    assert_eq!(w.provider.jwks_requests(), 3);
}

/// An organizational account's address for security e-mails is the verified one its
/// provider gives, stored at each sign-in (a later one replaces it); an address the provider
/// does not call verified is not stored, and a sign-in without one keeps the stored one. The
/// account cannot set an address itself.
#[tokio::test]
async fn the_providers_verified_email_is_the_address_for_security_emails() {
    let w = world().await;
    let erin = w
        .app
        .create_organizational_user("erin", fake_provider::NAME)
        .await;
    let stored = || async {
        sqlx::query("SELECT email FROM users WHERE id = $1")
            .bind(erin)
            .fetch_one(&w.app.db)
            .await
            .unwrap()
            .try_get::<Option<String>, _>("email")
            .unwrap()
    };
    let sign_in_with = |email: Value, verified: Option<bool>| {
        let w = &w;
        async move {
            let (client, _) = no_redirect_client();
            let to = w
                .sign_in(&client, |r| {
                    w.altered(r, "sub-erin", |c| {
                        c["email"] = email;
                        if let Some(verified) = verified {
                            c["email_verified"] = json!(verified);
                        }
                    })
                })
                .await;
            assert_eq!(to, "/");
            client
        }
    };
    // Not verified (false, or not said): not stored.
    sign_in_with(json!("erin@example.test"), Some(false)).await;
    assert_eq!(stored().await, None);
    sign_in_with(json!("erin@example.test"), None).await;
    assert_eq!(stored().await, None);
    // Verified: stored (as the sign-in reads it: lower case).
    sign_in_with(json!("Erin@Example.TEST"), Some(true)).await;
    assert_eq!(stored().await.as_deref(), Some("erin@example.test"));
    // A later sign-in with another verified address replaces it...
    let client = sign_in_with(json!("erin@new.example.test"), Some(true)).await;
    assert_eq!(stored().await.as_deref(), Some("erin@new.example.test"));
    let user: User = crate::helpers::ok_json(me(&w.app, &client).await).await;
    assert_eq!(user.email.as_deref(), Some("erin@new.example.test"));
    // ...and one without an address keeps it.
    let (client, _) = no_redirect_client();
    assert_eq!(w.sign_in(&client, |r| w.good(r, "sub-erin")).await, "/");
    assert_eq!(stored().await.as_deref(), Some("erin@new.example.test"));
    // The holder cannot set another.
    let path = format!("/api/users/{erin}/email");
    let body = json!({"email": "erin@elsewhere.test"});
    let own = w
        .app
        .send_json(&client, reqwest::Method::PUT, &path, &body)
        .await;
    assert_eq!(own.status(), StatusCode::CONFLICT);
    assert_eq!(stored().await.as_deref(), Some("erin@new.example.test"));
}
