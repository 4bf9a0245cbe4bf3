//! "Confirm it's you": the API layer awaits [`confirm`] when the server answers
//! `reauthentication_required`; the one [`crate::components::reauth_dialog::ReauthDialog`]
//! on screen asks for the password and settles every waiting request with [`settle`]
//! (confirmed: they are sent again; cancelled: they fail with the server's message).
//!
//! Hand-written instead of a channel crate: a few lines of shared state on the one browser
//! thread, and the app has a download budget.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use yew::Callback;

/// One waiting request's answer slot.
#[derive(Default)]
struct Slot {
    answer: Option<bool>,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Gate {
    /// Opens the dialog (set by the mounted dialog).
    open: Option<Callback<()>>,
    waiting: Vec<Rc<RefCell<Slot>>>,
}

thread_local! {
    static GATE: RefCell<Gate> = RefCell::default();
}

/// The mounted dialog registers how to open it (`None` when it goes away: requests waiting
/// then fail).
pub fn register(open: Option<Callback<()>>) {
    let dropped = GATE.with(|gate| {
        let mut gate = gate.borrow_mut();
        gate.open = open;
        if gate.open.is_none() {
            std::mem::take(&mut gate.waiting)
        } else {
            Vec::new()
        }
    });
    answer(dropped, false);
}

/// Waits until the person confirmed it's them (`true`) or cancelled (`false`).
pub fn confirm() -> impl Future<Output = bool> {
    let slot = Rc::new(RefCell::new(Slot::default()));
    let open = GATE.with(|gate| {
        let mut gate = gate.borrow_mut();
        let open = gate.open.clone();
        if open.is_some() {
            gate.waiting.push(slot.clone());
        } else {
            slot.borrow_mut().answer = Some(false);
        }
        open
    });
    if let Some(open) = open {
        open.emit(());
    }
    Waiting(slot)
}

/// Answers every request waiting for the dialog.
pub fn settle(confirmed: bool) {
    let waiting = GATE.with(|gate| std::mem::take(&mut gate.borrow_mut().waiting));
    answer(waiting, confirmed);
}

fn answer(slots: Vec<Rc<RefCell<Slot>>>, confirmed: bool) {
    for slot in slots {
        let waker = {
            let mut slot = slot.borrow_mut();
            slot.answer = Some(confirmed);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Waiting(Rc<RefCell<Slot>>);

impl Future for Waiting {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut slot = self.0.borrow_mut();
        match slot.answer {
            Some(answer) => Poll::Ready(answer),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
