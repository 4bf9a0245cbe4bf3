//! The twostep browser app (Yew, WebAssembly): sign-in with a verification code step, the
//! Users list, and the Manage user page with its 2-Step verification section, where the QR
//! code is drawn in the browser from the `otpauth://` URI the server issued.

mod api;
mod app;
mod clipboard;
mod components;
mod element;
mod focus;
mod hooks;
mod pages;
mod reauth;
mod route;
mod session;
mod time_text;
mod webauthn;
mod wire;

/// Talc instead of Rust's default WebAssembly allocator (dlmalloc): the same job in fewer
/// bytes of the app's download.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    yew::Renderer::<app::App>::new().render();
}
