//! The password step, the session cookie, sign-out, and who may see which user.

use crate::helpers::{bare_client, client, expect_error, ok_json, spawn_app};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use twostep_shared::ErrorCode;
use twostep_shared::api::{AccountKind, Health, Role, SignInResponse, User, UserList};

/// The `twostep_session=…` pair and the attributes of the session cookie a response sets.
fn session_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("twostep_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", response.headers()))
        .to_owned();
    let pair = header
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    (pair, header)
}

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let health: Health = ok_json(app.get(&client(), "/api/health").await).await;
    assert_eq!(health.status, "ok");
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_me_returns_the_user() {
    let app = spawn_app().await;
    let id = app.create_user("alice", "correct horse", false).await;
    let client = client();

    // The username is compared without regard to case and surrounding spaces.
    let response = app.sign_in_raw(&client, " Alice ", "correct horse").await;
    let (pair, header) = session_cookie(&response);
    assert!(pair.len() > "twostep_session=".len() + 40, "{pair}");
    let attributes: Vec<String> = header
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"httponly".to_owned()), "{header}");
    assert!(
        attributes.contains(&"samesite=strict".to_owned()),
        "{header}"
    );
    assert!(attributes.contains(&"path=/".to_owned()), "{header}");
    match ok_json(response).await {
        SignInResponse::SignedIn { user } => {
            assert_eq!(user.username, "alice");
            assert_eq!(user.id, id);
        }
        other => panic!("expected signed_in, got {other:?}"),
    }

    let me = app.me(&client).await;
    assert_eq!(me.id, id);
    assert_eq!(me.username, "alice");
    assert_eq!(me.role, Role::User);
    assert_eq!(me.account, AccountKind::TeamServer);
    let status = me.two_step.expect("own 2-step status");
    assert!(!status.enabled);
    assert_eq!(status.recovery_codes_left, 0);
    assert_eq!(app.count("sessions").await, 1);
}

/// An unknown name costs the server one Argon2 check, as a known one does: counted over HTTP
/// by the hashing threads' own count of jobs run.
#[tokio::test]
async fn an_unknown_name_costs_one_hash_like_a_known_one() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    for (round, (name, password)) in [
        ("alice", "wrong horse"),
        ("mallory", "correct horse"),
        ("alice", "correct horse"),
        ("trudy", "wrong horse"),
    ]
    .into_iter()
    .enumerate()
    {
        let before = app.hasher.jobs_run();
        let answer = app.sign_in_raw(&client(), name, password).await;
        assert!(
            [StatusCode::OK, StatusCode::UNAUTHORIZED].contains(&answer.status()),
            "{name}: {}",
            answer.status()
        );
        assert_eq!(
            app.hasher.jobs_run(),
            before + 1,
            "round {round}: {name} did not cost exactly one hash"
        );
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    let client = client();

    let wrong_password = app.sign_in_raw(&client, "alice", "wrong horse").await;
    assert!(wrong_password.headers().get(SET_COOKIE).is_none());
    let wrong_password = expect_error(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;

    let unknown_user = app.sign_in_raw(&client, "mallory", "correct horse").await;
    assert!(unknown_user.headers().get(SET_COOKIE).is_none());
    let unknown_user = expect_error(
        unknown_user,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;

    assert_eq!(
        wrong_password, unknown_user,
        "the answer must not tell which"
    );
    assert_eq!(wrong_password.field, None);
    expect_error(
        app.get(&client, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test]
async fn sign_out_ends_the_session_for_good() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    // No cookie store: the cookie is sent by hand, as a thief who copied it would.
    let client = bare_client();
    let response = app.sign_in_raw(&client, "alice", "correct horse").await;
    let (cookie, _) = session_cookie(&response);
    assert_eq!(response.status(), StatusCode::OK);

    let me = client
        .get(app.url("/api/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let me: User = ok_json(me).await;
    assert_eq!(me.username, "alice");

    let out = client
        .delete(app.url("/api/session"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (cleared, _) = session_cookie(&out);
    assert_eq!(
        cleared, "twostep_session=",
        "the browser is told to drop it"
    );
    assert_eq!(app.count("sessions").await, 0);

    let again = client
        .get(app.url("/api/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    expect_error(again, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;

    // Signing out without a session is harmless.
    let out = client.delete(app.url("/api/session")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_made_up_cookie_is_not_a_session() {
    let app = spawn_app().await;
    let response = bare_client()
        .get(app.url("/api/me"))
        .header(
            COOKIE,
            "twostep_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
}

#[tokio::test]
async fn user_pages_are_for_the_user_themself_and_administrators() {
    let app = spawn_app().await;
    let alice = app.create_user("alice", "alice password", false).await;
    let bob = app.create_user("bob", "bob password", false).await;
    app.create_user("root", "root password", true).await;

    // Anonymous: nothing.
    let anonymous = client();
    for path in ["/api/me", "/api/users", &format!("/api/users/{bob}")] {
        expect_error(
            app.get(&anonymous, path).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
        )
        .await;
    }

    // A user: their own page, not someone else's.
    let as_alice = client();
    app.sign_in(&as_alice, "alice", "alice password").await;
    let own: User = ok_json(app.get(&as_alice, &format!("/api/users/{alice}")).await).await;
    assert_eq!(own.username, "alice");
    assert!(own.two_step.is_some());
    expect_error(
        app.get(&as_alice, &format!("/api/users/{bob}")).await,
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
    )
    .await;
    for path in ["/api/users/abc", "/api/users/1.5", "/api/users/%20"] {
        expect_error(
            app.get(&as_alice, path).await,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;
    }
    // The list shows everyone, but the 2-step status only of herself.
    let list: UserList = ok_json(app.get(&as_alice, "/api/users").await).await;
    let names: Vec<&str> = list.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "root"]);
    for user in &list.users {
        assert_eq!(user.two_step.is_some(), user.id == alice, "{user:?}");
    }

    // An administrator: any user, with the status.
    let as_root = client();
    app.sign_in(&as_root, "root", "root password").await;
    let seen: User = ok_json(app.get(&as_root, &format!("/api/users/{bob}")).await).await;
    assert_eq!(seen.username, "bob");
    assert_eq!(seen.role, Role::User);
    assert!(seen.two_step.is_some());
    expect_error(
        app.get(&as_root, "/api/users/999999").await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    expect_error(
        app.get(&as_root, "/api/users/abc").await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    let list: UserList = ok_json(app.get(&as_root, "/api/users").await).await;
    assert!(list.users.iter().all(|u| u.two_step.is_some()));
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", response.headers()))
}

fn has_attribute(header: &str, attribute: &str) -> bool {
    header
        .split(';')
        .any(|a| a.trim().eq_ignore_ascii_case(attribute))
}

#[tokio::test]
async fn the_session_token_is_stored_only_as_its_sha256() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    let response = app.sign_in_raw(&client(), "alice", "correct horse").await;
    let (pair, _) = session_cookie(&response);
    let token = pair.trim_start_matches("twostep_session=").to_owned();
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(token.as_bytes()));
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, [expected]);
    let everything = String::from_utf8_lossy(&app.stored_bytes().await).into_owned();
    assert!(!everything.contains(&token), "the token itself is stored");
}

#[tokio::test]
async fn a_signed_in_session_lasts_twelve_hours() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    let client = client();
    app.sign_in(&client, "alice", "correct horse").await;
    // In use every hour (within the idle limit), it still ends at twelve hours.
    for _ in 0..11 {
        app.clock.advance(60 * 60);
        assert_eq!(app.get(&client, "/api/me").await.status(), StatusCode::OK);
    }
    app.clock.advance(60 * 60 - 1);
    assert_eq!(app.get(&client, "/api/me").await.status(), StatusCode::OK);
    app.clock.advance(1);
    expect_error(
        app.get(&client, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
}

#[tokio::test]
async fn secure_cookies_are_marked_secure_only_when_configured() {
    for secure in [false, true] {
        let settings = twostep::app::Settings {
            secure_cookies: secure,
            ..Default::default()
        };
        let app = crate::helpers::spawn_app_with(settings).await;
        app.create_user("alice", "correct horse", false).await;
        let response = app.sign_in_raw(&client(), "alice", "correct horse").await;
        assert_eq!(response.status(), StatusCode::OK);
        // Secure cookies carry the `__Host-` prefix, which needs `Path=/`.
        let prefix = if secure { "__Host-" } else { "" };
        for name in ["twostep_session", "twostep_browser"] {
            let header = set_cookie(&response, &format!("{prefix}{name}"));
            assert_eq!(has_attribute(header, "Secure"), secure, "{header}");
            assert!(has_attribute(header, "HttpOnly"), "{header}");
            assert!(!header.contains("Domain="), "{header}");
            if secure {
                assert!(has_attribute(header, "Path=/"), "{header}");
            }
        }
    }
}

#[tokio::test]
async fn a_setup_started_on_one_instance_is_confirmed_on_another() {
    use crate::helpers::{base32_decode, totp};
    let a = spawn_app().await;
    let b = a.another_instance().await;
    a.create_user("alice", "correct horse", false).await;
    let browser = client();
    a.sign_in(&browser, "alice", "correct horse").await;
    let setup = a.setup(&browser).await;
    let secret = base32_decode(&setup.secret);
    let t = b.now_step();
    let response = b
        .confirm(&browser, &totp(&secret, t - 1), &totp(&secret, t))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(a.me(&browser).await.two_step.expect("status").enabled);
}
