//! The signed-in frame: toolbar on top, sidebar menu, and the page.

use crate::components::toolbar::Toolbar;
use crate::route::{Link, Route, use_route};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LayoutProps {
    #[prop_or_default]
    pub children: Html,
}

#[function_component(Layout)]
pub fn layout(props: &LayoutProps) -> Html {
    let route = use_route();
    let session = crate::session::use_session();
    let is_admin = matches!(&*session, crate::session::SessionState::SignedIn(me) if me.role == twostep_shared::api::Role::Administrator);
    let users_current = matches!(route, Route::Users);
    let audit_current = matches!(route, Route::Audit);
    let (user_menu, id) = match route {
        Route::ManageUser { id } => (Some(false), id),
        Route::TwoStep { id } => (Some(true), id),
        _ => (None, 0),
    };
    let current = |on: bool| if on { Some("page") } else { None };
    html! {
        <>
            <Toolbar />
            <div class="frame">
                <nav class="sidebar" aria-label="Sidebar menu">
                    <ul>
                        <li><Link to={Route::Home}>{ "Home" }</Link></li>
                        <li aria-current={current(users_current)}>
                            <Link to={Route::Users}>{ "Users" }</Link>
                        </li>
                        if is_admin {
                            <li aria-current={current(audit_current)}>
                                <Link to={Route::Audit}>{ "Audit log" }</Link>
                            </li>
                        }
                    </ul>
                    if let Some(two_step) = user_menu {
                        <h2 class="sidebar-heading">{ "User" }</h2>
                        <ul>
                            <li aria-current={current(!two_step)}>
                                <Link to={Route::ManageUser { id }}>{ "Manage" }</Link>
                            </li>
                            <li aria-current={current(two_step)}>
                                <Link to={Route::TwoStep { id }}>{ "2-Step verification" }</Link>
                            </li>
                        </ul>
                    }
                </nav>
                <main id="main" class="content">{ props.children.clone() }</main>
            </div>
        </>
    }
}
