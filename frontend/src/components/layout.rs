//! The signed-in frame: toolbar on top, sidebar menu, the page, and the (closed) "Confirm it's
//! you" dialog. On narrow screens the sidebar folds behind a Menu button, which closes again
//! when the page changes or on Escape.

use crate::components::reauth_dialog::use_reauth_dialog;
use crate::components::toolbar::use_toolbar;
use crate::element::{el, fragment, icon, maybe, when};
use crate::focus::focus;
use crate::hooks::use_change;
use crate::route::{Navigator, Route, link, use_navigator, use_route};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LayoutProps {
    #[prop_or_default]
    pub children: Html,
}

#[function_component(Layout)]
pub fn layout(props: &LayoutProps) -> Html {
    let toolbar = use_toolbar();
    let reauth_dialog = use_reauth_dialog();
    let route = use_route();
    let navigator = use_navigator();
    let menu_open = use_state(|| false);
    let menu_button = use_node_ref();
    {
        let menu_open = menu_open.clone();
        use_change(route, Box::new(move || menu_open.set(false)));
    }
    let session = crate::session::use_session();
    let is_admin = matches!(&*session, crate::session::SessionState::SignedIn(me) if me.role == twostep_shared::api::Role::Administrator);
    let users_current = matches!(route, Route::Users);
    let audit_current = matches!(route, Route::Audit);
    let my_id = match &*session {
        crate::session::SessionState::SignedIn(me) => me.id,
        _ => 0,
    };
    // Which entry of the user's menu is open: Manage, 2-Step verification, Security activity.
    let (user_menu, id) = match route {
        Route::ManageUser { id } => (Some(0), id),
        Route::TwoStep { id } => (Some(1), id),
        Route::Activity { id } => (Some(2), id),
        _ => (None, 0),
    };
    let toggle = {
        let menu_open = menu_open.clone();
        Callback::from(move |_: MouseEvent| menu_open.set(!*menu_open))
    };
    let close_on_escape = {
        let (menu_open, menu_button) = (menu_open.clone(), menu_button.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" && *menu_open {
                menu_open.set(false);
                focus(&menu_button);
            }
        })
    };
    fragment(vec![
        toolbar,
        el("div")
            .class("frame")
            .child(
                el("nav")
                    .class("sidebar")
                    .attr("aria-label", "Sidebar menu")
                    .on_keydown(close_on_escape)
                    .child(
                        el("button")
                            .node_ref(menu_button)
                            .class("menu-button")
                            .attr("aria-expanded", menu_open.to_string())
                            .attr("aria-controls", "sidebar-links")
                            .on_click(toggle)
                            .child(icon(
                                r#"<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2"></path></svg>"#,
                            ))
                            .text("Menu"),
                    )
                    .child(
                        el("div")
                            .id("sidebar-links")
                            .attr(
                                "class",
                                if *menu_open { "sidebar-links open" } else { "sidebar-links" },
                            )
                            .child(
                                el("ul")
                                    .child(item(&navigator, Route::Home, "Home", false))
                                    .child(item(&navigator, Route::Users, "Users", users_current))
                                    .child(when(is_admin, || {
                                        item(&navigator, Route::Audit, "Audit log", audit_current)
                                    })),
                            )
                            .child(maybe(user_menu.map(|open| {
                                fragment(vec![
                                    el("h2").class("sidebar-heading").text("User").into(),
                                    el("ul")
                                        .child(item(&navigator, Route::ManageUser { id }, "Manage", open == 0))
                                        .child(item(&navigator, Route::TwoStep { id }, "2-Step verification", open == 1))
                                        .child(when(id == my_id, || {
                                            item(&navigator, Route::Activity { id }, "Security activity", open == 2)
                                        }))
                                        .into(),
                                ])
                            }))),
                    ),
            )
            .child(el("main").id("main").class("content").child(props.children.clone()))
            .into(),
        reauth_dialog,
    ])
}

/// One entry of the sidebar menu, `aria-current` when it is the page shown.
fn item(navigator: &Navigator, to: Route, text: &'static str, current: bool) -> Html {
    el("li")
        .attr_opt("aria-current", current.then_some("page"))
        .child(link(navigator, to, text.into()))
        .into()
}
