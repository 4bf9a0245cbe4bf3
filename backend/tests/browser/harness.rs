//! The real `twostep` binary on a free port with a fresh data folder, and headless Chromium
//! driven over WebDriver (chromedriver), both stopped when dropped.

use crate::process::{self, ServerProcess};
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// The `backend/` folder of the checkout being tested: `cargo test` says so at run time (the
/// compile-time value may name another checkout that shares the target folder).
pub fn backend_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("TWOSTEP_E2E_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| backend_dir().join("../dist"));
    assert!(
        dir.join("index.html").is_file(),
        "the built frontend is missing at {}: run the tests with `cargo xtask test`, which builds it",
        dir.display()
    );
    dir
}

pub struct Server {
    process: ServerProcess,
    data: tempfile::TempDir,
}

impl Server {
    /// Creates the users (name, password, admin) with the CLI, then starts the server. A
    /// "password" of `organizational:IDP` makes an organizational account of IDP linked to
    /// the subject NAME.
    pub async fn start(users: &[(&str, &str, bool)]) -> Self {
        Self::start_with(users, &[], &[]).await
    }

    /// Like [`Server::start`], then also runs `twostep user create ARGS…` for each of
    /// `accounts` (organizational accounts: no password is read) and passes `serve_args` to
    /// `twostep serve`.
    pub async fn start_with(
        users: &[(&str, &str, bool)],
        accounts: &[&[&str]],
        serve_args: &[&str],
    ) -> Self {
        let data = tempfile::tempdir().unwrap();
        for (name, password, admin) in users {
            let mut extra = Vec::new();
            if *admin {
                extra.push("--admin");
            }
            if let Some(idp) = password.strip_prefix("organizational:") {
                extra.extend(["--organizational", idp, "--subject", name]);
            }
            process::create_user(data.path(), &[], name, password, &extra);
        }
        for args in accounts {
            let (name, extra) = args.split_first().expect("a name");
            process::create_user(data.path(), &[], name, "", extra);
        }
        let dist = dist_dir();
        let dist = dist.to_str().expect("a UTF-8 path");
        let mut args = vec!["--dist-dir", dist];
        args.extend_from_slice(serve_args);
        let process = ServerProcess::start(data.path(), &[], &args).await;
        Self { process, data }
    }

    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// The server's own database, for test set-up the UI cannot do yet.
    pub async fn database(&self) -> sqlx::AnyPool {
        let url = format!(
            "sqlite://{}?mode=rw",
            self.data.path().join("twostep.db").display()
        );
        twostep::storage::db::connect(&url).await.unwrap()
    }

    /// Sets the account's last accepted step (for every account: the tests have one with a
    /// device), so that the codes after it are unused again, and tells the running server.
    pub async fn set_last_step(&self, step: u64) {
        sqlx::query("UPDATE two_step_devices SET last_step = $1")
            .bind(step as i64)
            .execute(&self.database().await)
            .await
            .unwrap();
        self.revoked();
    }

    /// After changing sessions, roles or devices through [`Server::database`]: tells the
    /// server, as every writer must (its session cache forgets what it held).
    pub fn revoked(&self) {
        let database = self.data.path().join("twostep.db");
        twostep::sessions::revocation::open_counter(&database)
            .unwrap()
            .bump();
    }
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_port: u16,
    profile: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    pub async fn start() -> Self {
        Self::launch(1200, 1000, None, &[]).await
    }

    /// A browser whose system asks for dark mode (`prefers-color-scheme: dark`).
    pub async fn start_dark() -> Self {
        Self::launch(1200, 1000, None, &["--force-dark-mode"]).await
    }

    /// A browser whose viewport is `width` × `height` CSS pixels, like a phone's (Chromium's
    /// device emulation: a headless window is at least 500 px wide).
    pub async fn start_sized(width: u32, height: u32) -> Self {
        let metrics = serde_json::json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "touch": false }
        });
        Self::launch(width.max(500), height, Some(metrics), &[]).await
    }

    /// [`Browser::start_sized`] with the system set to dark mode.
    pub async fn start_sized_dark(width: u32, height: u32) -> Self {
        let metrics = serde_json::json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "touch": false }
        });
        Self::launch(
            width.max(500),
            height,
            Some(metrics),
            &["--force-dark-mode"],
        )
        .await
    }

    /// Starts chromedriver and a browser session; tries again (three times in all) when the
    /// session cannot be made. Its port is picked free and then released, so another process
    /// of the test run may take it first: chromedriver then exits and the session's connection
    /// is refused.
    async fn launch(
        width: u32,
        height: u32,
        mobile_emulation: Option<serde_json::Value>,
        extra_args: &[&str],
    ) -> Self {
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_launch(width, height, mobile_emulation.clone(), extra_args).await {
                Ok(browser) => return browser,
                Err(error) => last_error = error,
            }
        }
        panic!("a WebDriver session in headless Chromium: {last_error}");
    }

    async fn try_launch(
        width: u32,
        height: u32,
        mobile_emulation: Option<serde_json::Value>,
        extra_args: &[&str],
    ) -> Result<Self, String> {
        assert!(
            std::path::Path::new("/usr/bin/chromedriver").exists(),
            "chromedriver is missing: `cargo xtask test` installs Debian's chromium and chromium-driver"
        );
        let port = free_port();
        let mut driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > WAIT {
                let _ = driver.kill();
                let _ = driver.wait();
                return Err("chromedriver did not start".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = serde_json::json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        let mut args = args;
        for arg in extra_args {
            args.as_array_mut().unwrap().push((*arg).into());
        }
        // Downloads go to a folder of the profile without asking, so tests can read them.
        let prefs = serde_json::json!({
            "download.default_directory": profile.path().join("Downloads"),
            "download.prompt_for_download": false,
        });
        let mut options = serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": args,
            "prefs": prefs,
        });
        if let Some(metrics) = mobile_emulation {
            options["mobileEmulation"] = metrics;
        }
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => client,
            Err(error) => {
                let _ = driver.kill();
                let _ = driver.wait();
                return Err(error.to_string());
            }
        };
        Ok(Self {
            client,
            driver,
            driver_port: port,
            profile,
        })
    }

    /// The folder this browser saves downloads in.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("Downloads")
    }

    /// Waits until the download named `file_name` is complete; returns its content.
    pub async fn downloaded(&self, file_name: &str) -> String {
        let path = self.downloads().join(file_name);
        let started = Instant::now();
        // Chromium may first create NAME empty (to hold the name), writes `NAME.crdownload`,
        // and renames that to NAME when it is complete.
        let partial = self.downloads().join(format!("{file_name}.crdownload"));
        let complete = || {
            std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() > 0) && !partial.exists()
        };
        while !complete() {
            assert!(
                started.elapsed() < WAIT,
                "no download {file_name} in {}",
                self.downloads().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::read_to_string(&path).unwrap()
    }

    /// Grants the current page's origin a permission, e.g. `clipboard-read`, through
    /// WebDriver's Permissions extension (`POST /session/{id}/permissions`), which
    /// chromedriver implements and fantoccini has no method for.
    pub async fn grant_permission(&self, name: &str) {
        let session = self.client.session_id().await.unwrap().expect("a session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/permissions",
            self.driver_port
        );
        let answer = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({ "descriptor": { "name": name }, "state": "granted" }))
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "chromedriver refused the {name} permission: {}",
            answer.text().await.unwrap()
        );
    }

    /// Adds a WebDriver virtual authenticator (chromedriver's `/webauthn/authenticator`, for
    /// which fantoccini has no method): a USB CTAP2 key that keeps discoverable credentials,
    /// with user verification (a PIN) when `verifies_user`; else a plain key that keeps no
    /// credentials (as most security keys without a PIN); returns its id.
    pub async fn add_virtual_authenticator(&self, verifies_user: bool) -> String {
        let answer = self
            .webdriver(
                reqwest::Method::POST,
                "webauthn/authenticator",
                serde_json::json!({
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": verifies_user,
                    "hasUserVerification": verifies_user,
                    "isUserConsenting": true,
                    "isUserVerified": verifies_user,
                }),
            )
            .await;
        answer["value"]
            .as_str()
            .expect("an authenticator id")
            .to_owned()
    }

    /// A WebDriver command of this session that fantoccini does not offer.
    async fn webdriver(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let session = self.client.session_id().await.unwrap().expect("a session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/{path}",
            self.driver_port
        );
        let mut request = reqwest::Client::new().request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let ok = answer.status().is_success();
        let json: serde_json::Value = answer.json().await.unwrap_or_default();
        assert!(ok, "chromedriver refused {path}: {json}");
        json
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn xpath_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', ""))
}

/// The input whose visible label is `label`.
pub async fn field(c: &Client, label: &str) -> fantoccini::elements::Element {
    let xpath = format!(
        "//input[@id=//label[normalize-space()={}]/@for]",
        xpath_literal(label)
    );
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no input labelled {label:?}: {e}"))
}

/// The button whose text is `name`.
pub async fn button(c: &Client, name: &str) -> fantoccini::elements::Element {
    let xpath = format!("//button[normalize-space()={}]", xpath_literal(name));
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button {name:?}: {e}"))
}

/// Types `text` into the input labelled `label`.
pub async fn type_into(c: &Client, label: &str, text: &str) {
    field(c, label).await.send_keys(text).await.unwrap();
}

/// Clicks the button whose text is `name`.
pub async fn click(c: &Client, name: &str) {
    button(c, name).await.click().await.unwrap();
}

/// The button whose accessible name comes from `aria-label`.
pub async fn button_labelled(c: &Client, name: &str) -> fantoccini::elements::Element {
    let xpath = format!("//button[@aria-label={}]", xpath_literal(name));
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button labelled {name:?}: {e}"))
}

/// The link whose text is `name`.
pub async fn link(c: &Client, name: &str) -> fantoccini::elements::Element {
    let xpath = format!("//a[normalize-space()={}]", xpath_literal(name));
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no link {name:?}: {e}"))
}

/// Profile icon → Manage profile, as a signed-in person goes there.
pub async fn open_own_profile(c: &Client) {
    button_labelled(c, "Profile").await.click().await.unwrap();
    button(c, "Manage profile").await.click().await.unwrap();
}

/// Profile icon → Manage profile → 2-Step verification, as a signed-in person goes there.
pub async fn open_own_two_step(c: &Client) {
    open_own_profile(c).await;
    link(c, "2-Step verification").await.click().await.unwrap();
}

/// Waits until an element matching `css` contains `text`.
pub async fn wait_text(c: &Client, css: &str, text: &str) {
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < WAIT {
        seen.clear();
        if let Ok(elements) = c.find_all(Locator::Css(css)).await {
            for element in elements {
                if let Ok(t) = element.text().await {
                    if t.contains(text) {
                        return;
                    }
                    seen.push(t);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {css} containing {text:?}; saw {seen:?}");
}

/// Decodes the QR code in a PNG screenshot.
pub fn decode_qr(png: &[u8]) -> String {
    let image = image::load_from_memory(png)
        .expect("a PNG screenshot")
        .to_luma8();
    let (width, height) = image.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code in the screenshot");
    grids[0].decode().expect("a readable QR code").1
}

/// A query parameter of a URI (values here are base32, so no decoding is needed).
pub fn query_param(uri: &str, name: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

/// Saves a screenshot as `NAME.png` in `TWOSTEP_E2E_SCREENSHOTS`, when that is set (for
/// looking at the pages; the tests do not depend on it).
pub async fn snapshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("TWOSTEP_E2E_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// The WCAG rule sets axe-core checks: WCAG 2.0, 2.1 and 2.2, levels A and AA.
const AXE_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// axe-core's `axe.min.js`, from `TWOSTEP_AXE_JS` (set by `cargo xtask test`, which installs it).
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var_os("TWOSTEP_AXE_JS").expect(
            "TWOSTEP_AXE_JS is not set: run the tests with `cargo xtask test`, which installs axe-core",
        );
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", PathBuf::from(&path).display()))
    })
}

/// What axe-core finds on the page as it is now, against the WCAG 2.x A and AA rules: one
/// line per rule, naming the elements it flags; the rules it could not decide ("needs
/// review", e.g. an ARIA reference to nothing) count too. The checker is injected over
/// WebDriver: the page's Content-Security-Policy does not apply to scripts the driver runs.
pub async fn axe_violations(c: &Client) -> Vec<String> {
    axe_findings(c, "html").await
}

/// [`axe_violations`] within the element `css` (e.g. a menu open over the page, whose covered
/// content axe-core cannot judge).
pub async fn axe_findings(c: &Client, css: &str) -> Vec<String> {
    let injected = c
        .execute("return typeof window.axe === 'object'", vec![])
        .await
        .unwrap();
    if injected != serde_json::json!(true) {
        c.execute(axe_source(), vec![]).await.unwrap();
    }
    // A cell of a table wider than a phone is clipped by its scroll region, so axe-core
    // cannot tell its background ("needs review"): such a cell is scrolled into view and
    // checked again on its own, and counts only if it still fails or is still undecided.
    let found = c
        .execute_async(
            "const [tags, context, done] = arguments;
             const why = n => [...n.any, ...n.all, ...n.none].map(c => c.message).filter(Boolean);
             const lines = (results, what) => results.map(v =>
               what + v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
               v.nodes.map(n => n.target.join(' ') + (what ? ' (' + why(n).join('; ') + ')' : ''))
                 .join(', '));
             const types = { resultTypes: ['violations', 'incomplete'] };
             (async () => {
               const r = await axe.run(document.querySelector(context), { runOnly: { type: 'tag', values: tags }, ...types });
               const incomplete = [];
               for (const v of r.incomplete) {
                 const left = [];
                 for (const n of v.nodes) {
                   const el = n.target.length === 1 && document.querySelector(n.target[0]);
                   if (v.id === 'color-contrast' && el && el.closest('.table-scroll')) {
                     el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
                     const again = await axe.run(el,
                       { runOnly: { type: 'rule', values: ['color-contrast'] }, ...types });
                     if (again.violations.length + again.incomplete.length === 0) continue;
                   }
                   left.push(n);
                 }
                 if (left.length) incomplete.push({ ...v, nodes: left });
               }
               done(lines(r.violations, '').concat(lines(incomplete, 'needs review: ')));
             })().catch(e => done(['axe-core failed: ' + e]));",
            vec![serde_json::json!(AXE_TAGS), css.into()],
        )
        .await
        .unwrap();
    serde_json::from_value(found).expect("a list")
}

/// Fails, listing each rule and the elements it flags, if axe-core finds any WCAG 2.x A or AA
/// violation on the page as it is now.
pub async fn assert_accessible(c: &Client, screen: &str) {
    assert_accessible_in(c, screen, "html").await;
}

/// [`assert_accessible`] within the element `css`.
pub async fn assert_accessible_in(c: &Client, screen: &str, css: &str) {
    let violations = axe_findings(c, css).await;
    assert!(
        violations.is_empty(),
        "axe-core on {screen}: {} finding(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}
