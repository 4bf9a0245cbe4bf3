//! The 2-Step verification section's state as a reducer: the view it shows and the actions
//! that move it from one view to the next.

use std::rc::Rc;
use twostep_shared::api::SetupResponse;
use yew::prelude::*;

/// The success text after Remove → OK.
pub const REMOVED_MESSAGE: &str = "The authentication device has been removed.";

/// The success text after Unlock.
pub const UNLOCKED_MESSAGE: &str = "The code step has been unlocked.";

/// The success text after new recovery codes were made.
pub const NEW_CODES_MESSAGE: &str =
    "New recovery codes have been made. The old ones no longer work.";

/// The success text after Apply on a new phone.
pub const REPLACED_MESSAGE: &str = "Your new phone is set up: sign-in now asks for its codes, and the old phone's codes no longer work. Your recovery codes are unchanged.";

/// The success text after Apply when the app joined security keys (the recovery codes stay).
pub const APP_ADDED_MESSAGE: &str = "The authenticator app has been set up.";

/// The success text after Apply.
pub const SET_UP_MESSAGE: &str = "2-Step verification has been set up. The next time you sign in to the Team Server you need to use a verification code.";

#[derive(Debug, Clone, PartialEq)]
pub enum View {
    /// The status and what may be done about it.
    Status,
    /// Asking the server for a new secret.
    Starting,
    /// The QR code, the key and the two code fields; `true` for a new phone replacing the
    /// device (Move to a new phone).
    Setup(Rc<SetupResponse>, bool),
    /// Recovery codes shown once, with the message that says why.
    Codes(Rc<Vec<String>>, &'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub view: View,
    /// News about the status view (removed, unlocked); gone when the view changes.
    pub notice: Option<&'static str>,
    /// The New recovery codes form is open.
    pub new_codes_open: bool,
    /// The Remove dialog is open.
    pub remove_open: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            view: View::Status,
            notice: None,
            new_codes_open: false,
            remove_open: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    StartSetup,
    SetupReady(SetupResponse),
    /// Move to a new phone: asking for the replacement's key.
    StartReplacement,
    ReplacementReady(SetupResponse),
    /// The new phone replaced the old one.
    Replaced,
    SetupFailed,
    Confirmed(Vec<String>),
    OpenNewCodes,
    NewCodesMade(Vec<String>),
    OpenRemove,
    CloseRemove,
    Removed,
    Unlocked,
    /// Done, after the recovery codes.
    Finish,
}

impl Action {
    /// The account's 2-step status changed on the server: the page should load it again.
    pub fn changes_status(&self) -> bool {
        match self {
            // The app joined security keys: no new recovery codes to show first.
            Self::Confirmed(codes) => codes.is_empty(),
            _ => matches!(
                self,
                Self::NewCodesMade(_)
                    | Self::Removed
                    | Self::Unlocked
                    | Self::Finish
                    | Self::Replaced
            ),
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let status = |notice| State {
            view: View::Status,
            notice,
            ..State::default()
        };
        Rc::new(match action {
            Action::StartSetup | Action::StartReplacement => State {
                view: View::Starting,
                ..State::default()
            },
            Action::SetupReady(setup) => State {
                view: View::Setup(Rc::new(setup), false),
                ..State::default()
            },
            Action::ReplacementReady(setup) => State {
                view: View::Setup(Rc::new(setup), true),
                ..State::default()
            },
            Action::Replaced => status(Some(REPLACED_MESSAGE)),
            Action::SetupFailed | Action::Finish => status(None),
            Action::Confirmed(codes) if codes.is_empty() => status(Some(APP_ADDED_MESSAGE)),
            Action::Confirmed(codes) => State {
                view: View::Codes(Rc::new(codes), SET_UP_MESSAGE),
                ..State::default()
            },
            Action::NewCodesMade(codes) => State {
                view: View::Codes(Rc::new(codes), NEW_CODES_MESSAGE),
                ..State::default()
            },
            Action::OpenNewCodes => State {
                new_codes_open: true,
                notice: None,
                ..(*self).clone()
            },
            Action::OpenRemove => State {
                remove_open: true,
                ..(*self).clone()
            },
            Action::CloseRemove => State {
                remove_open: false,
                ..(*self).clone()
            },
            Action::Removed => status(Some(REMOVED_MESSAGE)),
            Action::Unlocked => status(Some(UNLOCKED_MESSAGE)),
        })
    }
}
