//! The browser rows of `cargo xtask bench`: headless Chromium, driven over WebDriver
//! (chromedriver, with fantoccini, as the browser tests drive it), opens pages of the release
//! server with a warm cache and reads the times the page itself recorded.
//!
//! Before each page starts, a script (Chrome DevTools' `Page.addScriptToEvaluateOnNewDocument`,
//! sent through chromedriver) watches the document with a `MutationObserver` and notes
//! `performance.now()` (milliseconds since the navigation started) when the QR code's `<svg>`
//! and the Sign in form's Username field are first in the document with a size on screen.
//! First contentful paint is the browser's own entry (`performance.getEntriesByType('paint')`).
//! The QR code's loads are also split into steps by the browser's resource timing
//! ([`QR_STEPS`]).

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Measured page loads per row; the median is reported. One more before them warms the cache.
pub const RUNS: usize = 7;
/// How long one page may take to show what is measured.
const WAIT: Duration = Duration::from_secs(20);

/// Runs in every new document before the page's own scripts: see the module comment.
const MARKS_SCRIPT: &str = r#"(() => {
  const marks = (window.__benchMarks = {});
  const shown = (el) => {
    if (!el) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const check = () => {
    if (marks.qr === undefined && shown(document.querySelector(".qr svg"))) {
      marks.qr = performance.now();
    }
    if (marks.signIn === undefined && shown(document.getElementById("username"))) {
      marks.signIn = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();"#;

/// The steps of the navigation to the QR code, each ending when the one after it starts:
/// the resource timing's `responseEnd` of the page, of the app's WebAssembly, of the first
/// `GET /api/me` and of `POST /api/me/two-step/setup`, then the QR code shown.
pub const QR_STEPS: [&str; 5] = [
    "the page's HTML",
    "the app's files (until the WebAssembly is read from the cache)",
    "the app starts, `GET /api/me`",
    "`POST /api/me/two-step/setup` (sent when `GET /api/me` answers)",
    "the page with the QR code drawn",
];

/// When each step of [`QR_STEPS`] but the last ended, in milliseconds from the start of the
/// navigation (`null` when one is missing).
const QR_MILESTONES_SCRIPT: &str = r#"const entries = performance.getEntriesByType("resource");
const end = (test) => entries.find((e) => test(new URL(e.name).pathname))?.responseEnd ?? null;
return [
  performance.getEntriesByType("navigation")[0]?.responseEnd ?? null,
  end((path) => path.endsWith(".wasm")),
  end((path) => path === "/api/me"),
  end((path) => path === "/api/me/two-step/setup"),
];"#;

/// The times of [`RUNS`] page loads each, in milliseconds from the start of the navigation.
pub struct Timings {
    /// The holder (2-step off) opens their 2-Step verification page until the QR code shows.
    pub qr: Vec<f64>,
    /// The same loads, each as the length of its [`QR_STEPS`] (a load whose page did not
    /// note every end is left out: these steps explain the total, they are not a target).
    pub qr_steps: Vec<[f64; 5]>,
    /// Signed out, the Sign in page: first contentful paint.
    pub first_paint: Vec<f64>,
    /// Signed out, the Sign in page: until the Username field shows.
    pub sign_in_form: Vec<f64>,
}

/// Signs in as `username` on the server at `base` (with 2-step verification off) and measures.
pub fn measure(
    base: &str,
    username: &str,
    password: &str,
    profile: &Path,
) -> Result<Timings, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    runtime.block_on(async {
        let browser = Browser::start(profile).await?;
        let result = measure_with(&browser.client, base, username, password).await;
        browser.client.clone().close().await.ok();
        result
    })
}

async fn measure_with(
    c: &Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<Timings, String> {
    cdp(
        c,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": MARKS_SCRIPT }),
    )
    .await?;

    // Signed out first: the Sign in page (the first load fills the cache).
    let home = format!("{base}/");
    let mut first_paint = Vec::new();
    let mut sign_in_form = Vec::new();
    for run in 0..=RUNS {
        c.goto(&home)
            .await
            .map_err(|e| format!("open {home}: {e}"))?;
        let form = wait_for_mark(c, "signIn").await?;
        let paint = wait_for_value(
            c,
            "return performance.getEntriesByType('paint')\
               .find((e) => e.name === 'first-contentful-paint')?.startTime ?? null;",
            "first contentful paint",
        )
        .await?;
        if run > 0 {
            first_paint.push(paint);
            sign_in_form.push(form);
        }
    }

    sign_in(c, username, password).await?;
    let id = wait_for_value(
        c,
        "return fetch('/api/me').then((r) => r.json()).then((me) => me.id);",
        "the signed-in user's id",
    )
    .await?;
    let two_step = format!("{base}/users/{id}/two-step");
    let mut qr = Vec::new();
    let mut qr_steps = Vec::new();
    for run in 0..=RUNS {
        c.goto(&two_step)
            .await
            .map_err(|e| format!("open {two_step}: {e}"))?;
        let shown = wait_for_mark(c, "qr").await?;
        let milestones = c
            .execute(QR_MILESTONES_SCRIPT, Vec::new())
            .await
            .map_err(|e| format!("the QR code's steps: {e}"))?;
        if run > 0 {
            qr.push(shown);
            qr_steps.extend(steps(&milestones, shown));
        }
    }
    Ok(Timings {
        qr,
        qr_steps,
        first_paint,
        sign_in_form,
    })
}

/// The length of each of [`QR_STEPS`], from the ends the page noted (`milestones`, from
/// [`QR_MILESTONES_SCRIPT`]) and the time the QR code showed; `None` when one is missing.
fn steps(milestones: &Value, shown: f64) -> Option<[f64; 5]> {
    let mut ends = [0.0; 5];
    for (i, end) in ends.iter_mut().take(4).enumerate() {
        *end = milestones.get(i).and_then(Value::as_f64)?;
    }
    ends[4] = shown;
    let mut lengths = [0.0; 5];
    let mut start = 0.0;
    for (length, end) in lengths.iter_mut().zip(ends) {
        *length = end - start;
        start = end;
    }
    Some(lengths)
}

/// Fills in and sends the Sign in form, then waits for the signed-in toolbar.
async fn sign_in(c: &Client, username: &str, password: &str) -> Result<(), String> {
    let failed = |what: &str, e: fantoccini::error::CmdError| format!("sign in ({what}): {e}");
    c.find(Locator::Css("#username"))
        .await
        .map_err(|e| failed("username field", e))?
        .send_keys(username)
        .await
        .map_err(|e| failed("type the username", e))?;
    c.find(Locator::Css("#password"))
        .await
        .map_err(|e| failed("password field", e))?
        .send_keys(password)
        .await
        .map_err(|e| failed("type the password", e))?;
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .map_err(|e| failed("Sign in button", e))?
        .click()
        .await
        .map_err(|e| failed("click Sign in", e))?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("header.toolbar"))
        .await
        .map_err(|e| failed("wait for the toolbar", e))?;
    Ok(())
}

/// The time the marks script noted as `name`, once it has.
async fn wait_for_mark(c: &Client, name: &str) -> Result<f64, String> {
    wait_for_value(
        c,
        &format!("return (window.__benchMarks || {{}}).{name} ?? null;"),
        name,
    )
    .await
}

/// Runs `script` until it returns a number; that number.
async fn wait_for_value(c: &Client, script: &str, what: &str) -> Result<f64, String> {
    let started = Instant::now();
    loop {
        let value = c
            .execute(script, Vec::new())
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if let Some(number) = value.as_f64() {
            return Ok(number);
        }
        if started.elapsed() > WAIT {
            return Err(format!("{what}: nothing after {} s", WAIT.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Chrome DevTools command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    body: String,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}

async fn cdp(c: &Client, cmd: &str, params: Value) -> Result<Value, String> {
    let body = json!({ "cmd": cmd, "params": params }).to_string();
    c.issue_cmd(Cdp { body })
        .await
        .map_err(|e| format!("DevTools {cmd}: {e}"))
}

/// chromedriver and a headless Chromium session.
struct Browser {
    client: Client,
    _driver: Driver,
}

/// The chromedriver process, stopped when dropped (also when no session could be made).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    async fn start(profile: &Path) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let driver = Driver(
            Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start chromedriver: {e}"))?,
        );
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > WAIT {
                return Err("chromedriver did not start".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The flags of the browser tests (backend/tests/browser/harness.rs).
        let options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--window-size=1200,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| format!("no WebDriver session in headless Chromium: {e}"))?;
        Ok(Self {
            client,
            _driver: driver,
        })
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::{median, steps};
    use serde_json::json;

    #[test]
    fn qr_steps_are_the_times_between_the_ends() {
        assert_eq!(
            steps(&json!([10.5, 60.0, 80.0, 100.0]), 130.0).unwrap(),
            [10.5, 49.5, 20.0, 20.0, 30.0]
        );
        assert!(steps(&json!([10.5, 60.0, null, 100.0]), 130.0).is_none());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[30.0, 10.0, 20.0]), 20.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
