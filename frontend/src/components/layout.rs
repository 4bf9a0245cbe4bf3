//! The signed-in frame: toolbar on top, sidebar menu, the page, and the (closed) "Confirm it's
//! you" dialog. On narrow screens the sidebar folds behind a Menu button, which closes again
//! when the page changes or on Escape.

use crate::components::reauth_dialog::use_reauth_dialog;
use crate::components::toolbar::use_toolbar;
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
    html! {
        <>
            { toolbar }
            <div class="frame">
                <nav class="sidebar" aria-label="Sidebar menu" onkeydown={close_on_escape}>
                    <button ref={menu_button} class="menu-button" aria-expanded={menu_open.to_string()}
                            aria-controls="sidebar-links" onclick={toggle}>
                        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                            <path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2" />
                        </svg>
                        { "Menu" }
                    </button>
                    // The class as plain text, not `classes!` (an ordered hash set: with its
                    // hashing, about 1 kB more of the app's download).
                    <div id="sidebar-links" class={if *menu_open { "sidebar-links open" } else { "sidebar-links" }}>
                    <ul>
                        { item(&navigator, Route::Home, "Home", false) }
                        { item(&navigator, Route::Users, "Users", users_current) }
                        if is_admin {
                            { item(&navigator, Route::Audit, "Audit log", audit_current) }
                        }
                    </ul>
                    if let Some(open) = user_menu {
                        <h2 class="sidebar-heading">{ "User" }</h2>
                        <ul>
                            { item(&navigator, Route::ManageUser { id }, "Manage", open == 0) }
                            { item(&navigator, Route::TwoStep { id }, "2-Step verification", open == 1) }
                            if id == my_id {
                                { item(&navigator, Route::Activity { id }, "Security activity", open == 2) }
                            }
                        </ul>
                    }
                    </div>
                </nav>
                <main id="main" class="content">{ props.children.clone() }</main>
            </div>
            { reauth_dialog }
        </>
    }
}

/// One entry of the sidebar menu, `aria-current` when it is the page shown. One function
/// rather than an `html!` at every entry (a smaller download).
fn item(navigator: &Navigator, to: Route, text: &'static str, current: bool) -> Html {
    html! {
        <li aria-current={current.then_some("page")}>{ link(navigator, to, text.into()) }</li>
    }
}
