//! Times as the app shows them.

/// `2026-11-28 09:15:02 UTC` from Unix seconds.
pub fn utc(unix: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    let iso: String = date.to_iso_string().into();
    format!("{} UTC", iso.get(..19).unwrap_or(&iso).replace('T', " "))
}
