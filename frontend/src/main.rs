//! The twostep browser app (Yew, WebAssembly): sign-in with a verification code step, the
//! Users list, and the Manage user page with its 2-Step verification section, where the QR
//! code is drawn in the browser from the `otpauth://` URI the server issued.

mod api;
mod app;
mod components;
mod pages;
mod route;
mod session;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
