//! Security keys in the browser: `navigator.credentials.create()` / `.get()` through web-sys,
//! with the server's options (JSON, binary fields as base64url) turned into the buffers the
//! browser wants, and the browser's answer turned back into the JSON of
//! `twostep_shared::security_keys`. Written by hand, not with `webauthn-rs-proto`'s `wasm`
//! feature: that one pulls serde and serde-wasm-bindgen into the download, and these few
//! fields are all there is.

use js_sys::{Array, ArrayBuffer, JSON, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// base64url (padding and the standard alphabet's `+/` accepted too).
fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut n) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = match c {
            b'+' => 62,
            b'/' => 63,
            _ => ALPHABET.iter().position(|a| *a == c)? as u32,
        };
        bits = bits << 6 | value;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// Replaces the base64url text at `object[key]` by its bytes.
fn to_buffer(object: &JsValue, key: &str) {
    if let Some(bytes) = get(object, key).as_string().and_then(|t| decode(&t)) {
        set(object, key, &Uint8Array::from(bytes.as_slice()));
    }
}

/// The same for the `id` of every descriptor in `object[key]`.
fn ids_to_buffers(object: &JsValue, key: &str) {
    let list = get(object, key);
    if Array::is_array(&list) {
        for item in Array::from(&list).iter() {
            to_buffer(&item, "id");
        }
    }
}

/// base64url of the buffer at `object[key]` (`None` when absent).
fn buffer_text(object: &JsValue, key: &str) -> Option<JsValue> {
    let value = get(object, key);
    let buffer = value.dyn_ref::<ArrayBuffer>()?;
    Some(JsValue::from_str(&encode(
        &Uint8Array::new(buffer).to_vec(),
    )))
}

/// Why the browser's prompt gave nothing back, for the person.
fn refusal(error: &JsValue) -> String {
    let name = get(error, "name").as_string().unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" => "The security key prompt was closed or timed out. Try again.".into(),
        "InvalidStateError" => "This security key is already registered.".into(),
        "SecurityError" => "Security keys cannot be used from this address.".into(),
        _ => "The browser could not use a security key here.".into(),
    }
}

async fn ask(options: &JsValue, create: bool) -> Result<JsValue, String> {
    let unavailable = || "This browser cannot use security keys.".to_owned();
    let public_key = get(options, "publicKey");
    if public_key.is_undefined() {
        return Err(unavailable());
    }
    to_buffer(&public_key, "challenge");
    if create {
        to_buffer(&get(&public_key, "user"), "id");
        ids_to_buffers(&public_key, "excludeCredentials");
    } else {
        ids_to_buffers(&public_key, "allowCredentials");
    }
    let request = Object::new();
    set(&request, "publicKey", &public_key);
    let credentials = web_sys::window()
        .ok_or_else(unavailable)?
        .navigator()
        .credentials();
    let promise = if create {
        credentials.create_with_options(request.unchecked_ref())
    } else {
        credentials.get_with_options(request.unchecked_ref())
    }
    .map_err(|e| refusal(&e))?;
    let credential = JsFuture::from(promise).await.map_err(|e| refusal(&e))?;
    if credential.is_null() || credential.is_undefined() {
        return Err(unavailable());
    }
    let response = get(&credential, "response");
    let answer = Object::new();
    set(&answer, "id", &get(&credential, "id"));
    set(
        &answer,
        "rawId",
        &buffer_text(&credential, "rawId").ok_or_else(unavailable)?,
    );
    set(&answer, "type", &JsValue::from_str("public-key"));
    let fields: &[&str] = if create {
        &["clientDataJSON", "attestationObject"]
    } else {
        &[
            "clientDataJSON",
            "authenticatorData",
            "signature",
            "userHandle",
        ]
    };
    let out = Object::new();
    for field in fields {
        if let Some(text) = buffer_text(&response, field) {
            set(&out, field, &text);
        }
    }
    set(&answer, "response", &out);
    Ok(answer.into())
}

/// `navigator.credentials.create()` with the server's creation options; the new key's answer.
pub async fn create(options: JsValue) -> Result<JsValue, String> {
    ask(&options, true).await
}

/// `navigator.credentials.get()` with the server's request options; the key's answer.
pub async fn get_assertion(options: JsValue) -> Result<JsValue, String> {
    ask(&options, false).await
}

/// A JSON body `{ key: value, … }` with some values already JSON (`JsValue`s).
pub fn body(fields: &[(&str, &JsValue)]) -> Option<String> {
    let object = Object::new();
    for (key, value) in fields {
        if !value.is_undefined() {
            set(&object, key, value);
        }
    }
    JSON::stringify(&object).ok()?.as_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0xfb, 0xff, 0x00]] {
            assert_eq!(decode(&encode(bytes)).unwrap(), bytes);
        }
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
    }
}
