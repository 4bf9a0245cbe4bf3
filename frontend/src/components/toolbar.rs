//! The toolbar: product name and the profile menu (Manage profile, Sign out).

use crate::api;
use crate::element::{el, icon, when};
use crate::hooks::{use_change, use_submit};
use crate::route::{Route, use_navigator};
use crate::session::{SessionState, use_session};
use web_sys::HtmlElement;
use yew::prelude::*;

/// The toolbar's markup, with its state kept in the calling component (the layout): a hook
/// rather than a component of its own, which would cost more of the app's download.
#[hook]
pub fn use_toolbar() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let open = use_state(|| false);
    let first_item = use_node_ref();
    let button = use_node_ref();
    let submit = use_submit();
    {
        let first_item = first_item.clone();
        let open = *open;
        use_change(
            open,
            Box::new(move || {
                if let Some(item) = first_item.cast::<HtmlElement>().filter(|_| open) {
                    let _ = item.focus();
                }
            }),
        );
    }
    // After every hook: Yew needs the same hooks in the same order on each render.
    let SessionState::SignedIn(user) = &*session else {
        return Html::default();
    };
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let close_on_escape = {
        let open = open.clone();
        let button = button.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                open.set(false);
                if let Some(b) = button.cast::<HtmlElement>() {
                    let _ = b.focus();
                }
            }
        })
    };
    let manage_profile = {
        let open = open.clone();
        let navigator = navigator.clone();
        let id = user.id;
        Callback::from(move |_: MouseEvent| {
            open.set(false);
            navigator.push(&Route::ManageUser { id });
        })
    };
    let sign_out = {
        let (session, navigator, submit) = (session.clone(), navigator.clone(), submit.clone());
        // A callback (one `Rc` to keep) rather than a closure holding both handles.
        let done = Callback::from(move |()| {
            navigator.push(&Route::Home);
            session.set(SessionState::SignedOut);
        });
        Callback::from(move |_: MouseEvent| {
            // Signed out here whatever the server said.
            let (done, also) = (done.clone(), done.clone());
            submit.run_or(
                api::sign_out(),
                move |()| done.emit(()),
                move |_| also.emit(()),
            );
        })
    };
    el("header")
        .class("toolbar")
        .child(el("a").class("skip-link").attr("href", "#main").text("Skip to content"))
        .child(el("span").class("product").text("Team Server"))
        .child(
            el("div")
                .class("profile")
                .on_keydown(close_on_escape)
                .child(el("span").class("who").text(user.username.clone()))
                .child(
                    el("button")
                        .node_ref(button)
                        .class("profile-button")
                        .attr("aria-label", "Profile")
                        .attr("aria-haspopup", "menu")
                        .attr("aria-expanded", open.to_string())
                        .attr_opt("aria-controls", open.then_some("profile-menu"))
                        .on_click(toggle)
                        .child(icon(
                            r#"<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"><circle cx="12" cy="8" r="4" fill="currentColor"></circle><path d="M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7z" fill="currentColor"></path></svg>"#,
                        )),
                )
                .child(when(*open, || {
                    el("ul")
                        .id("profile-menu")
                        .class("menu")
                        .attr("role", "menu")
                        .attr("aria-label", "Profile")
                        .child(
                            el("li").attr("role", "none").child(
                                el("button")
                                    .node_ref(first_item)
                                    .attr("role", "menuitem")
                                    .on_click(manage_profile)
                                    .text("Manage profile"),
                            ),
                        )
                        .child(
                            el("li").attr("role", "none").child(
                                el("button")
                                    .attr("role", "menuitem")
                                    .on_click(sign_out)
                                    .text("Sign out"),
                            ),
                        )
                })),
        )
        .into()
}
