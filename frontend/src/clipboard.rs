//! Copying text to the clipboard and saving it as a `.txt` file, with the sentence to show.

use wasm_bindgen::JsCast;
use yew::Callback;

/// The sentence after a copy worked.
pub const COPIED: &str = "Copied to the clipboard.";

/// The sentence after the browser refused to copy.
pub const NOT_COPIED: &str = "Copying is not allowed here; select the text and copy it yourself.";

/// Copies `text`; `feedback` gets [`COPIED`] or [`NOT_COPIED`].
pub fn copy(text: &str, feedback: Callback<&'static str>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::spawn_local(async move {
        let done = wasm_bindgen_futures::JsFuture::from(promise).await;
        feedback.emit(if done.is_ok() { COPIED } else { NOT_COPIED });
    });
}

/// Offers `text` as a download named `file_name`.
pub fn download(file_name: &str, text: &str) -> Option<()> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let document = web_sys::window()?.document()?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a").ok()?.dyn_into().ok()?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).ok()
}
