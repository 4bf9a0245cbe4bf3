//! The built app is served with the security headers, compressed when the browser accepts
//! it, with `index.html` for the browser's own routes; API answers are never compressed.

use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY};

#[tokio::test]
async fn app_files_are_compressed_and_the_csp_allows_the_loader_script_by_hash() {
    let dist = tempfile::tempdir().unwrap();
    let loader = "import init from '/app.js'; await init();";
    std::fs::write(
        dist.path().join("index.html"),
        format!(
            "<!doctype html><html lang=\"en\"><script type=\"module\">{loader}</script></html>"
        ),
    )
    .unwrap();
    std::fs::write(dist.path().join("app.wasm"), vec![b'a'; 64 * 1024]).unwrap();
    let (base, server, _data) = crate::helpers::serve_with_frontend(dist.path()).await;
    let client = reqwest::Client::new();

    let wasm = client
        .get(format!("{base}/app.wasm"))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.headers()[CONTENT_ENCODING], "br");
    let compressed = wasm.bytes().await.unwrap();
    assert!(
        compressed.len() < 1024,
        "64 KiB of one byte compresses: {}",
        compressed.len()
    );

    // A route of the browser app gets index.html, and its CSP names the loader's hash.
    let page = client
        .get(format!("{base}/users/1/two-step"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader.as_bytes()));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(page.text().await.unwrap().contains(loader));

    let health = client
        .get(format!("{base}/api/health"))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert!(
        health.headers().get(CONTENT_ENCODING).is_none(),
        "API answers are not compressed"
    );
    server.abort();
}

#[tokio::test]
async fn hashed_app_files_are_cached_for_a_year_and_index_html_is_always_checked() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    for name in [
        "twostep-frontend-0123456789abcdef_bg.wasm",
        "twostep-frontend-0123456789abcdef.js",
        "style-fedcba9876543210.css",
        // Trunk leaves out a hash's leading zeros.
        "style-eaab7d0acdf3991.css",
        "notes.txt",
    ] {
        std::fs::write(dist.path().join(name), b"x").unwrap();
    }
    let (base, server, _data) = crate::helpers::serve_with_frontend(dist.path()).await;
    let client = reqwest::Client::new();
    let cache_control = async |path: &str| {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .to_owned()
    };
    for path in [
        "/twostep-frontend-0123456789abcdef_bg.wasm",
        "/twostep-frontend-0123456789abcdef.js",
        "/style-fedcba9876543210.css",
        "/style-eaab7d0acdf3991.css",
    ] {
        assert_eq!(
            cache_control(path).await,
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }
    // index.html, the app's own routes (index.html too), a hashed-looking name that is not
    // there (index.html again), and a file without a hash.
    for path in [
        "/",
        "/index.html",
        "/users/1/two-step",
        "/style-0000000000000000.css",
        "/notes.txt",
    ] {
        assert_eq!(cache_control(path).await, "no-cache", "{path}");
    }
    server.abort();
}
