//! The README's screenshot, made by the harness rather than by hand. `cargo xtask screenshots`
//! runs this test with `TWOSTEP_README_SCREENSHOTS` set to the repository's `docs/`, where it
//! writes `screenshot-two-step.png`; without that variable the test still makes the picture
//! and checks it (so the screenshot task cannot rot unseen), then throws it away.

use crate::harness::{self, Browser, Server};
use crate::sign_in;

/// The file the README shows.
const TWO_STEP: &str = "screenshot-two-step.png";

#[tokio::test]
async fn the_readme_screenshot_shows_the_two_step_setup_with_its_qr_code() {
    let server = Server::start(&[("alice", "alice-password", false)]).await;
    let browser = Browser::start_sized(1000, 1140).await;
    let c = &browser.client;

    sign_in(c, &server, "alice", "alice-password").await;
    harness::wait_text(c, "h1", "Welcome, alice").await;
    harness::open_own_two_step(c).await;
    c.wait()
        .for_element(fantoccini::Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    harness::wait_text(c, "label", "Code 2").await;
    // Nothing has focus, so no focus ring lands in the picture.
    c.execute(
        "document.activeElement && document.activeElement.blur()",
        vec![],
    )
    .await
    .unwrap();

    let png = c.screenshot().await.unwrap();
    // The whole page, with the QR code a phone could scan from it.
    let uri = harness::decode_qr(&png);
    assert!(
        uri.starts_with("otpauth://totp/Team%20Server:alice?secret="),
        "{uri}"
    );
    let image = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(image.dimensions(), (1000, 1140), "the viewport asked for");

    if let Some(dir) = std::env::var_os("TWOSTEP_README_SCREENSHOTS") {
        let path = std::path::PathBuf::from(dir).join(TWO_STEP);
        std::fs::write(&path, &png).unwrap();
        eprintln!("wrote {}", path.display());
    }
    browser.close().await;
}
