//! The signed-in frame: toolbar on top, sidebar menu, and the page.

use crate::components::toolbar::Toolbar;
use crate::route::Route;
use yew::prelude::*;
use yew_router::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LayoutProps {
    #[prop_or_default]
    pub children: Html,
}

#[function_component(Layout)]
pub fn layout(props: &LayoutProps) -> Html {
    let route = use_route::<Route>();
    let session = crate::session::use_session();
    let is_admin = matches!(&*session, crate::session::SessionState::SignedIn(me) if me.role == twostep_shared::api::Role::Administrator);
    let users_current = matches!(route, Some(Route::Users));
    let audit_current = matches!(route, Some(Route::Audit));
    let (user_menu, id) = match route {
        Some(Route::ManageUser { id }) => (Some(false), id),
        Some(Route::TwoStep { id }) => (Some(true), id),
        _ => (None, 0),
    };
    let current = |on: bool| if on { Some("page") } else { None };
    html! {
        <>
            <Toolbar />
            <div class="frame">
                <nav class="sidebar" aria-label="Sidebar menu">
                    <ul>
                        <li><Link<Route> to={Route::Home}>{ "Home" }</Link<Route>></li>
                        <li aria-current={current(users_current)}>
                            <Link<Route> to={Route::Users}>{ "Users" }</Link<Route>>
                        </li>
                        if is_admin {
                            <li aria-current={current(audit_current)}>
                                <Link<Route> to={Route::Audit}>{ "Audit log" }</Link<Route>>
                            </li>
                        }
                    </ul>
                    if let Some(two_step) = user_menu {
                        <h2 class="sidebar-heading">{ "User" }</h2>
                        <ul>
                            <li aria-current={current(!two_step)}>
                                <Link<Route> to={Route::ManageUser { id }}>{ "Manage" }</Link<Route>>
                            </li>
                            <li aria-current={current(two_step)}>
                                <Link<Route> to={Route::TwoStep { id }}>{ "2-Step verification" }</Link<Route>>
                            </li>
                        </ul>
                    }
                </nav>
                <main id="main" class="content">{ props.children.clone() }</main>
            </div>
        </>
    }
}
