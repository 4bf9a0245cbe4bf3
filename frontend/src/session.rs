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
