//! Organizational sign-in end to end: headless Chromium, the real `twostep` binary, and a real
//! OpenID Connect provider, `oidc-provider` (a certified implementation) run by Node.js from
//! `xtask/oidc-provider/provider.mjs` on the loopback interface.
//!
//! The provider answers at `http://localhost:PORT` and the app at `http://127.0.0.1:PORT`: two
//! different sites to the browser, as in real life, so the cookies' `SameSite` rules are what
//! they will be in production.
//!
//! `cargo xtask test` installs the provider (`npm ci`); without it this test fails and says so.

use crate::harness::{self, Browser, Server, free_port};
use fantoccini::{Client, Locator};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const PROVIDER_NAME: &str = "Contoso ID";
const CLIENT_ID: &str = "twostep-e2e";
const CLIENT_SECRET: &str = "twostep-e2e-client-secret";

/// `node provider.mjs` on a port; killed when dropped.
struct TestIdentityProvider {
    child: Child,
    issuer: String,
    /// Requests it has received (it prints a line for each).
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TestIdentityProvider {
    fn dir() -> PathBuf {
        harness::backend_dir().join("../xtask/oidc-provider")
    }

    /// Starts the provider on `port` for a client redirecting to `redirect_uri`; accounts get
    /// the e-mail `LOGIN@email_domain`. Waits until it listens.
    async fn start(port: u16, redirect_uri: &str, email_domain: &str) -> Self {
        let dir = Self::dir();
        assert!(
            dir.join("node_modules/oidc-provider/package.json")
                .is_file(),
            "the test identity provider is not installed in {}: run the tests with `cargo xtask test`, \
             which installs it (npm ci), or run `npm ci` there",
            dir.display()
        );
        let issuer = format!("http://localhost:{port}");
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_ISSUER", &issuer)
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", redirect_uri)
            .env("OIDC_EMAIL_DOMAIN", email_domain)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start `node provider.mjs` (Node.js is needed for the tests)");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = requests.clone();
        let listening = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let found =
                lines.any(|line| line.is_ok_and(|l| l.starts_with("oidc-provider listening on ")));
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    if line.starts_with("request ") {
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
            found
        })
        .await
        .expect("reader task");
        if !listening {
            let mut errors = String::new();
            let _ = stderr.read_to_string(&mut errors);
            panic!("the test identity provider did not start:\n{errors}");
        }
        // Keep draining its warnings so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Self {
            child,
            issuer,
            requests,
        }
    }

    /// How many requests it has received so far.
    fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for TestIdentityProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The providers file for `twostep serve`, with the client secret in a file beside it.
fn providers_file(dir: &std::path::Path, issuer: &str) -> PathBuf {
    let secret = dir.join("contoso-client-secret");
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
    let file = dir.join("identity-providers.toml");
    std::fs::write(
        &file,
        format!(
            "[[provider]]\nname = \"{PROVIDER_NAME}\"\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = \"{}\"\nlink_by_email = true\n",
            secret.display()
        ),
    )
    .unwrap();
    file
}

/// On the provider's development pages: sign in as `login`, then allow the app its scopes.
async fn sign_in_at_provider(c: &Client, login: &str) {
    let field = c
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's login page");
    field.send_keys(login).await.unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any password: the development pages take any")
        .await
        .unwrap();
    harness::click(c, "Sign-in").await;
    harness::click(c, "Continue").await;
}

async fn sign_in_with_provider(c: &Client) {
    harness::link(c, &format!("Sign in with {PROVIDER_NAME}"))
        .await
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn organizational_account_signs_in_through_a_real_openid_connect_provider() {
    let provider_port = free_port();
    let config = tempfile::tempdir().unwrap();
    let file = providers_file(config.path(), &format!("http://localhost:{provider_port}"));
    let file = file.to_str().unwrap();
    let server = Server::start_with(
        &[("alice", "alice-password", false)],
        &[&[
            "erin",
            "--organizational",
            PROVIDER_NAME,
            "--email",
            "erin@contoso.test",
        ]],
        &["--identity-providers", file],
    )
    .await;
    let provider = TestIdentityProvider::start(
        provider_port,
        &server.url("/api/oidc/callback"),
        "contoso.test",
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // The Sign in page offers the provider beside the password form.
    c.goto(&server.url("/")).await.unwrap();
    harness::field(c, "Username").await;
    harness::snapshot(c, "sign-in-with-provider").await;

    // Cancelling at the provider brings the person back with a message.
    sign_in_with_provider(c).await;
    c.wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's login page");
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&provider.issuer),
        "at the provider"
    );
    harness::link(c, "[ Cancel ]").await.click().await.unwrap();
    harness::wait_text(c, "[role=alert]", "Sign-in was cancelled").await;
    assert_eq!(
        c.current_url().await.unwrap().as_str(),
        server.url("/"),
        "the error code is taken out of the address"
    );

    // Someone the provider knows but no account is linked to is told so.
    sign_in_with_provider(c).await;
    sign_in_at_provider(c, "mallory").await;
    harness::wait_text(c, "[role=alert]", "no Team Server account is linked").await;
    harness::field(c, "Username").await;
    // Sign out at the provider (its cookies), as another person would be a fresh session.
    c.goto(&format!(
        "{}/.well-known/openid-configuration",
        provider.issuer
    ))
    .await
    .unwrap();
    c.delete_all_cookies().await.unwrap();

    // erin's organizational account is linked by her verified e-mail.
    c.goto(&server.url("/")).await.unwrap();
    sign_in_with_provider(c).await;
    sign_in_at_provider(c, "erin").await;
    harness::wait_text(c, "h1", "Welcome, erin").await;
    // Her subject at the provider is recorded: from now on it decides.
    let db = server.database().await;
    let erin = twostep::accounts::users::find_by_name(&db, "erin")
        .await
        .unwrap()
        .expect("erin");
    let link = twostep::accounts::users::identity_link(&db, erin.id)
        .await
        .unwrap();
    assert_eq!(link.subject.as_deref(), Some("erin"));

    // Manage profile → 2-Step verification: the explanation, no QR code.
    harness::open_own_profile(c).await;
    harness::wait_text(c, ".profile-facts", PROVIDER_NAME).await;
    harness::link(c, "2-Step verification")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "section", "cannot be set up for this account").await;
    harness::wait_text(c, "section", PROVIDER_NAME).await;
    harness::snapshot(c, "organizational-two-step").await;
    assert!(
        c.find(Locator::Css("[aria-label='QR code']"))
            .await
            .is_err(),
        "no QR code"
    );
    assert!(
        c.find(Locator::XPath(
            "//button[normalize-space()='Set up 2-step verification']"
        ))
        .await
        .is_err(),
        "no setup button"
    );

    // The password form points erin to her provider.
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    harness::click(c, "Sign out").await;
    crate::sign_in(c, &server, "erin", "some password").await;
    harness::wait_text(
        c,
        "[role=alert]",
        "erin is an organizational account: it has no password here. Use \"Sign in with Contoso ID\" instead.",
    )
    .await;
    browser.close().await;
}

/// A browser signed in as alice goes to the provider's sign-in (a same-site start) and signs
/// in there as erin; the provider's redirect back comes from its own site, so the browser
/// does not send the `SameSite=Strict` session cookie with it. alice's session ends all the
/// same: the start recorded it in the flow.
#[tokio::test]
async fn an_organizational_sign_in_ends_the_session_the_browser_had() {
    let provider_port = free_port();
    let config = tempfile::tempdir().unwrap();
    let file = providers_file(config.path(), &format!("http://localhost:{provider_port}"));
    let file = file.to_str().unwrap();
    let server = Server::start_with(
        &[("alice", "alice-password", false)],
        &[&[
            "erin",
            "--organizational",
            PROVIDER_NAME,
            "--subject",
            "erin",
        ]],
        &["--identity-providers", file],
    )
    .await;
    let _provider = TestIdentityProvider::start(
        provider_port,
        &server.url("/api/oidc/callback"),
        "contoso.test",
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;

    crate::sign_in(c, &server, "alice", "alice-password").await;
    harness::wait_text(c, "h1", "Welcome, alice").await;
    let alice = c
        .get_named_cookie("twostep_session")
        .await
        .expect("alice's session cookie")
        .value()
        .to_owned();
    let me = |token: String| {
        reqwest::Client::new()
            .get(server.url("/api/me"))
            .header("Cookie", format!("twostep_session={token}"))
            .send()
    };
    assert_eq!(me(alice.clone()).await.unwrap().status(), 200);

    // Straight to the provider's sign-in from the signed-in app.
    c.goto(&server.url(&twostep::web::routes::start_url(PROVIDER_NAME)))
        .await
        .unwrap();
    sign_in_at_provider(c, "erin").await;
    harness::wait_text(c, "h1", "Welcome, erin").await;

    assert_eq!(
        me(alice).await.unwrap().status(),
        401,
        "alice's session ended"
    );
    browser.close().await;
}

/// 200 anonymous start + callback pairs from one address against the real `twostep` binary
/// and the real provider, each callback with the state of its own start (cookie and query),
/// the provider's `iss` and a made-up code. The provider counts what reaches it: the discovery document and keys
/// once, then at most one token request per flow the per-address limits let through. Only
/// callbacks with a flow behind them are audited.
#[tokio::test]
async fn anonymous_start_and_callback_loops_put_a_bounded_load_on_the_real_provider() {
    let provider_port = free_port();
    let config = tempfile::tempdir().unwrap();
    let file = providers_file(config.path(), &format!("http://localhost:{provider_port}"));
    let file = file.to_str().unwrap();
    let server = Server::start_with(&[], &[], &["--identity-providers", file]).await;
    let provider = TestIdentityProvider::start(
        provider_port,
        &server.url("/api/oidc/callback"),
        "contoso.test",
    )
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |response: &reqwest::Response| {
        assert_eq!(response.status(), 303, "{response:?}");
        response.headers()["location"].to_str().unwrap().to_owned()
    };
    let iss: String =
        openidconnect::url::form_urlencoded::byte_serialize(provider.issuer.as_bytes()).collect();
    let mut flows = 0;
    for i in 0..200 {
        let start = client
            .get(server.url(&twostep::web::routes::start_url(PROVIDER_NAME)))
            .send()
            .await
            .unwrap();
        let to = location(&start);
        let state = if to.starts_with(&provider.issuer) {
            flows += 1;
            reqwest::Url::parse(&to)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .expect("a state")
                .1
                .into_owned()
        } else {
            assert_eq!(to, "/?sign_in_error=too_many");
            format!("made-up-state-{i:04}-0123456789")
        };
        // With the issuer, as the provider says it always sends it (RFC 9207).
        let callback = client
            .get(server.url(&format!(
                "/api/oidc/callback?code=made-up-code-{i}&state={state}&iss={iss}"
            )))
            .header("Cookie", format!("twostep_oidc_state={state}"))
            .send()
            .await
            .unwrap();
        location(&callback);
    }
    let window = twostep::limits::policy::PROVIDER_SIGN_INS.max_failures as usize;
    let requests = provider.requests();
    assert!(requests >= 2, "the provider counts: {requests}");
    assert!(
        requests <= 2 + flows && flows <= window,
        "{requests} requests reached the provider for {flows} flows"
    );
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&server.database().await)
        .await
        .unwrap();
    assert_eq!(audited as usize, flows, "audit rows");
}
