//! The app's routes.

use yew_router::Routable;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    #[at("/")]
    Home,
    #[at("/users")]
    Users,
    #[at("/users/:id")]
    ManageUser { id: i64 },
    #[at("/users/:id/two-step")]
    TwoStep { id: i64 },
    #[at("/audit")]
    Audit,
    #[not_found]
    #[at("/404")]
    NotFound,
}
