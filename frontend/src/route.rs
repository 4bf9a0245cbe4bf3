//! The app's routes, and a small router on the browser's History API: [`use_router`] keeps
//! the current route (and follows Back and Forward), [`provide`] shares it (with the session,
//! in one context), [`use_route`] reads it, [`use_navigator`] moves to another one, and
//! [`link`] is a link that does so without reloading the page.
//!
//! The app used yew-router for this; its general route matcher and history layer came to about
//! 30 kB of the app's WebAssembly, for six fixed routes, and the app has a size budget.

use crate::hooks::use_mount;
use crate::session::SessionHandle;
use gloo_events::EventListener;
use yew::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/`
    Home,
    /// `/users`
    Users,
    /// `/users/{id}`
    ManageUser { id: i64 },
    /// `/users/{id}/two-step`
    TwoStep { id: i64 },
    /// `/users/{id}/activity`: the holder's own security activity.
    Activity { id: i64 },
    /// `/audit`
    Audit,
    /// Any other path.
    NotFound,
}

impl Route {
    /// The route a path names. An empty segment (`//`, a trailing `/`) is ignored; an id is
    /// a whole number written with digits only.
    pub fn recognize(path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let id = |text: &str| -> Option<i64> {
            if text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse().ok()
            } else {
                None
            }
        };
        match segments.as_slice() {
            [] => Self::Home,
            ["users"] => Self::Users,
            ["users", text] => id(text).map_or(Self::NotFound, |id| Self::ManageUser { id }),
            ["users", text, "two-step"] => {
                id(text).map_or(Self::NotFound, |id| Self::TwoStep { id })
            }
            ["users", text, "activity"] => {
                id(text).map_or(Self::NotFound, |id| Self::Activity { id })
            }
            ["audit"] => Self::Audit,
            _ => Self::NotFound,
        }
    }

    /// The path of this route (`NotFound` has none of its own: `/404`).
    pub fn path(&self) -> String {
        match self {
            Self::Home => "/".to_owned(),
            Self::Users => "/users".to_owned(),
            Self::ManageUser { id } => format!("/users/{id}"),
            Self::TwoStep { id } => format!("/users/{id}/two-step"),
            Self::Activity { id } => format!("/users/{id}/activity"),
            Self::Audit => "/audit".to_owned(),
            Self::NotFound => "/404".to_owned(),
        }
    }
}

/// The route of the page's current address.
pub fn current_route() -> Route {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    Route::recognize(&path)
}

/// Moves the app to another route, adding a history entry (`push`) or not (`replace`).
#[derive(Clone, PartialEq)]
pub struct Navigator {
    set_route: Callback<Route>,
}

impl Navigator {
    pub fn push(&self, route: &Route) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ =
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.path()));
        }
        self.set_route.emit(*route);
    }

    pub fn replace(&self, route: &Route) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&route.path()),
            );
        }
        self.set_route.emit(*route);
    }
}

/// The current route and the way to move to another, shared through a context.
#[derive(Clone, PartialEq)]
pub struct RouterContext {
    pub route: Route,
    pub navigator: Navigator,
}

/// Keeps the current route (and follows Back and Forward); the app's root calls it and hands
/// the result to [`provide`]. A hook and a function rather than a router component, which
/// would cost more of the app's download.
#[hook]
pub fn use_router() -> RouterContext {
    let route = use_state(current_route);
    {
        let route = route.clone();
        use_mount(Box::new(move || {
            let listener = web_sys::window().map(|window| {
                EventListener::new(&window, "popstate", move |_| route.set(current_route()))
            });
            Some(Box::new(move || drop(listener)))
        }));
    }
    let navigator = {
        let route = route.clone();
        Navigator {
            set_route: Callback::from(move |next| route.set(next)),
        }
    };
    RouterContext {
        route: *route,
        navigator,
    }
}

/// What the app shares with every screen: who is signed in and the router. One context
/// rather than two: each context provider is a component, which costs download size.
#[derive(Clone, PartialEq)]
pub struct Shared {
    pub session: SessionHandle,
    pub router: RouterContext,
}

/// Provides `session` and `router` (from [`use_router`]) to everything in `children`.
pub fn provide(session: SessionHandle, router: RouterContext, children: Html) -> Html {
    html! {
        <ContextProvider<Shared> context={Shared { session, router }}>
            { children }
        </ContextProvider<Shared>>
    }
}

/// The current route (`NotFound` outside [`provide`]).
#[hook]
pub fn use_route() -> Route {
    use_context::<Shared>().map_or(Route::NotFound, |c| c.router.route)
}

/// Moves to another route; does nothing outside [`provide`].
#[hook]
pub fn use_navigator() -> Navigator {
    use_context::<Shared>().map_or_else(
        || Navigator {
            set_route: Callback::noop(),
        },
        |c| c.router.navigator,
    )
}

/// A link to a route: a real `<a href>` (so it can be opened in a new tab, copied, read out),
/// which a plain click follows inside the app instead of loading the page again. A function
/// rather than a component (which costs more of the app's download); `navigator` comes from
/// [`use_navigator`] or [`use_router`].
pub fn link(navigator: &Navigator, to: Route, text: AttrValue) -> Html {
    let navigator = navigator.clone();
    let onclick = Callback::from(move |event: MouseEvent| {
        let new_tab_or_window =
            event.button() != 0 || event.ctrl_key() || event.meta_key() || event.shift_key();
        if !new_tab_or_window {
            event.prevent_default();
            navigator.push(&to);
        }
    });
    html! { <a href={to.path()} {onclick}>{ text }</a> }
}
