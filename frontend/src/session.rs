//! Who is signed in, shared through a context. The session itself lives in an HttpOnly
//! cookie the app never sees; on start the app asks `GET /api/me`.

use twostep_shared::api::User;
use yew::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// Asking the server whether the cookie is still good.
    Loading,
    SignedOut,
    SignedIn(User),
}

pub type SessionHandle = UseStateHandle<SessionState>;

/// The session, from the context `App` provides ([`crate::route::provide`]).
#[hook]
pub fn use_session() -> SessionHandle {
    use_context::<crate::route::Shared>()
        .expect("App provides the session context")
        .session
}

thread_local! {
    /// The app's session, for [`ended`].
    static SESSION: std::cell::RefCell<Option<SessionHandle>> = const { std::cell::RefCell::new(None) };
}

/// Keeps the app's session handle for [`ended`] (the App calls this as it renders).
pub fn keep(session: &SessionHandle) {
    SESSION.with(|s| *s.borrow_mut() = Some(session.clone()));
}

/// The server no longer knows this browser's session (signed out elsewhere, ended by an
/// administrator, the account disabled): back to the Sign in page, at this very request.
pub fn ended() {
    SESSION.with(|s| {
        if let Some(session) = &*s.borrow()
            && matches!(**session, SessionState::SignedIn(_))
        {
            session.set(SessionState::SignedOut);
        }
    });
}
