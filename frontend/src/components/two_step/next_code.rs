//! How many seconds until the authenticator app shows its next code (codes change every 30
//! seconds, on the clock), ticking once a second.

use crate::hooks::use_mount;
use gloo_timers::callback::Interval;
use yew::prelude::*;

/// Seconds in one code's time step (`period=30` in the `otpauth://` URI).
const PERIOD_SECONDS: u64 = 30;

fn seconds_to_next_code() -> u32 {
    let now_seconds = (js_sys::Date::now() / 1000.0) as u64;
    (PERIOD_SECONDS - now_seconds % PERIOD_SECONDS) as u32
}

/// The seconds until the next code, kept current while the component is mounted. A `u32`
/// in `use_state`, as elsewhere in the app, not a state type of its own (download size).
#[hook]
pub fn use_seconds_to_next_code() -> u32 {
    let seconds = use_state(seconds_to_next_code);
    {
        let seconds = seconds.clone();
        use_mount(Box::new(move || {
            let interval = Interval::new(1000, move || seconds.set(seconds_to_next_code()));
            Some(Box::new(move || drop(interval)))
        }));
    }
    *seconds
}
