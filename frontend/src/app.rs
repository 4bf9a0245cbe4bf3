//! The root component: session context, router, and the signed-in layout.

use crate::api;
use crate::components::layout::Layout;
use crate::components::reauth_dialog::ReauthDialog;
use crate::hooks::use_load;
use crate::pages::{
    activity::Activity, audit::AuditLog, home::Home, manage_user::ManageUser, not_found::NotFound,
    sign_in::SignIn, users::Users,
};
use crate::route::{Route, Router, use_route};
use crate::session::SessionState;
use yew::prelude::*;

#[function_component(App)]
pub fn app() -> Html {
    let session = use_state(|| SessionState::Loading);
    {
        // Is the cookie still good? The answer goes to the session (sign-in also sets it).
        let session = session.clone();
        use_load((), move |()| {
            let session = session.clone();
            async move {
                session.set(match api::me().await {
                    Ok(user) => SessionState::SignedIn(user),
                    Err(_) => SessionState::SignedOut,
                });
                Ok(())
            }
        });
    }
    html! {
        <ContextProvider<UseStateHandle<SessionState>> context={session.clone()}>
            <Router>
                <Main />
            </Router>
        </ContextProvider<UseStateHandle<SessionState>>>
    }
}

#[function_component(Main)]
fn main_view() -> Html {
    let session = crate::session::use_session();
    let route = use_route();
    match &*session {
        SessionState::Loading => html! { <p class="loading" role="status">{ "Loading…" }</p> },
        SessionState::SignedOut => html! { <SignIn /> },
        SessionState::SignedIn(_) => html! {
            <>
                <Layout>
                    { switch(route) }
                </Layout>
                <ReauthDialog />
            </>
        },
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::Users => html! { <Users /> },
        Route::ManageUser { id } => html! { <ManageUser {id} two_step={false} /> },
        Route::TwoStep { id } => html! { <ManageUser {id} two_step={true} /> },
        Route::Audit => html! { <AuditLog /> },
        Route::Activity { id } => html! { <Activity {id} /> },
        Route::NotFound => html! { <NotFound /> },
    }
}
