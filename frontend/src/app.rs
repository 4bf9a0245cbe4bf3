//! The root component: session context, router, and the signed-in layout.

use crate::api;
use crate::components::layout::Layout;
use crate::components::two_step::{keep_setup, sets_up_at_once};
use crate::element::el;
use crate::hooks::use_mount;
use crate::pages::{
    activity::Activity, audit::AuditLog, manage_user::ManageUser, not_found::not_found,
    sign_in::SignIn, users::Users,
};
use crate::route::{self, Navigator, Route, RouterContext, use_router};
use crate::session::SessionState;
use twostep_shared::api::User;
use yew::prelude::*;

#[function_component(App)]
pub fn app() -> Html {
    let session = use_state(|| SessionState::Loading);
    {
        // Is the cookie still good? The answer goes to the session (sign-in also sets it).
        let session = session.clone();
        use_mount(Box::new(move || {
            let me = api::me();
            wasm_bindgen_futures::spawn_local(async move {
                session.set(match me.await {
                    Ok(user) => {
                        // The holder's own 2-Step verification page, which would ask for a
                        // setup as it opens: asked now, so the page is drawn once, with the QR
                        // code (docs/development.md, the QR code's budget).
                        if route::current_route() == (Route::TwoStep { id: user.id })
                            && !user.password_change_required
                            && sets_up_at_once(&user)
                            && let Ok(setup) = api::start_setup().await
                        {
                            keep_setup(setup);
                        }
                        SessionState::SignedIn(user)
                    }
                    Err(_) => SessionState::SignedOut,
                });
            });
            None
        }));
    }
    crate::session::keep(&session);
    let router = use_router();
    let page = main_view(&session, &router);
    route::provide(session, router, page)
}

/// Sign in, or the signed-in layout with the page of `route`.
fn main_view(session: &UseStateHandle<SessionState>, router: &RouterContext) -> Html {
    match &**session {
        SessionState::Loading => el("p")
            .class("loading")
            .attr("role", "status")
            .text("Loading…")
            .into(),
        SessionState::SignedOut => html! { <SignIn /> },
        // A one-time password: nothing else until the holder chooses their own.
        SessionState::SignedIn(user) if user.password_change_required => html! {
            <Layout><ManageUser id={user.id} two_step={false} new_password={true} /></Layout>
        },
        SessionState::SignedIn(user) => html! {
            <Layout>
                { switch(router.route, user, &router.navigator) }
            </Layout>
        },
    }
}

fn switch(route: Route, user: &User, navigator: &Navigator) -> Html {
    match route {
        Route::Home => html! { <Activity id={user.id} home={true} /> },
        Route::Users => html! { <Users /> },
        Route::ManageUser { id } => html! { <ManageUser {id} two_step={false} /> },
        Route::TwoStep { id } => html! { <ManageUser {id} two_step={true} /> },
        Route::Audit => html! { <AuditLog /> },
        Route::Activity { id } => html! { <Activity {id} /> },
        Route::NotFound => not_found(navigator),
    }
}
