//! Security headers on every response, including a Content-Security-Policy that allows the
//! app's one inline loader script by its SHA-256 hash (no `unsafe-inline`).

use axum::http::Response;
use axum::http::{HeaderName, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// `'sha256-…'` sources for each inline `<script>` in `index_html` (Trunk writes one that
/// loads the wasm module).
pub fn inline_script_hashes(index_html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = index_html;
    while let Some(open) = rest.find("<script") {
        let after_open = &rest[open..];
        let Some(tag_end) = after_open.find('>') else {
            break;
        };
        let tag = &after_open[..tag_end];
        let body_start = &after_open[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains("src=") {
            let digest = Sha256::digest(&body_start.as_bytes()[..close]);
            hashes.push(format!("'sha256-{}'", B64.encode(digest)));
        }
        rest = &body_start[close..];
    }
    hashes
}

/// The Content-Security-Policy for the app.
pub fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push(' ');
        script_src.push_str(hash);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `Strict-Transport-Security` when people reach the server over https (`--public-url
/// https://…`): browsers then use https only, for a year.
pub const HSTS: &str = "max-age=31536000";

/// The headers every response carries unless its handler set them: the security headers
/// (with `Strict-Transport-Security` when `https`) and `Cache-Control: no-store` (API answers
/// are about one person at one moment; the app's files set their own caching).
#[derive(Clone)]
pub struct DefaultHeaders(Arc<[(HeaderName, HeaderValue)]>);

impl DefaultHeaders {
    pub fn new(csp: &str, https: bool) -> Self {
        let csp = HeaderValue::from_str(csp).expect("the CSP is ASCII");
        let mut pairs: Vec<(HeaderName, HeaderValue)> = vec![
            (header::CONTENT_SECURITY_POLICY, csp),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ];
        if https {
            pairs.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            ));
        }
        Self(pairs.into())
    }

    /// Adds each header the response does not have yet. (One pass for all of them, where a
    /// `SetResponseHeaderLayer` each would wrap the service once per header.)
    /// Room is made for all of them at once, and each is looked up once (`entry`): this runs
    /// on every answer.
    pub fn add_to<B>(&self, mut response: Response<B>) -> Response<B> {
        let headers = response.headers_mut();
        headers.reserve(self.0.len());
        for (name, value) in self.0.iter() {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html =
            r#"<html><script src="/a.js"></script><script type="module">init();</script></html>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let expected = B64.encode(Sha256::digest(b"init();"));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
        let csp = content_security_policy(&hashes);
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
