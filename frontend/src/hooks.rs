//! One way to load and one way to submit: [`use_load`] fetches when a screen mounts and when
//! its inputs change (Loading, Error, Ready), [`use_submit`] sends one request at a time (a
//! double click sends one request) and keeps its error for the form to show.

use crate::api::{ApiFailure, Call, Pending};
use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;
use twostep_shared::{ErrorBody, ErrorCode};
use wasm_bindgen::JsValue;
use yew::prelude::*;

/// What a [`use_load`] has so far.
#[derive(Debug, PartialEq)]
pub enum Load<'a, T> {
    Loading,
    Error(&'a ApiFailure),
    Ready(&'a T),
}

/// [`Load`] as kept: the data behind `dyn Any`, so that the state hook is compiled once
/// rather than once per data type (smaller download).
enum Stored {
    Loading,
    Error(ApiFailure),
    Ready(Rc<dyn Any>),
}

/// The state of a [`use_load`], and a way to fetch again. Behind one `Rc`, so that a copy
/// kept by a callback costs one count (a smaller download than two handles).
pub struct LoadHandle<T> {
    handles: Rc<(UseStateHandle<Stored>, UseStateHandle<u32>)>,
    data: PhantomData<T>,
}

impl<T> Clone for LoadHandle<T> {
    fn clone(&self) -> Self {
        Self {
            handles: self.handles.clone(),
            data: PhantomData,
        }
    }
}

impl<T: 'static> LoadHandle<T> {
    pub fn state(&self) -> Load<'_, T> {
        match &*self.handles.0 {
            Stored::Loading => Load::Loading,
            Stored::Error(failure) => Load::Error(failure),
            Stored::Ready(data) => data.downcast_ref().map_or(Load::Loading, Load::Ready),
        }
    }

    /// The data, once it has come.
    pub fn ready(&self) -> Option<&T> {
        match &*self.handles.0 {
            Stored::Ready(data) => data.downcast_ref(),
            _ => None,
        }
    }

    /// Fetches again; what was there stays on screen until the answer comes.
    pub fn reload(&self) {
        let again = &self.handles.1;
        again.set(again.wrapping_add(1));
    }
}

/// Calls `fetch(deps)` when the component mounts and whenever `deps` changes (showing
/// Loading meanwhile). An answer to an older request than the latest is dropped. For a part
/// that is not always shown, `fetch` may give an `Option<Call>`: `None` asks the server
/// nothing (the state stays Loading, and an older answer is dropped).
#[hook]
pub fn use_load<T, D, F, C>(deps: D, fetch: F) -> LoadHandle<T>
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: Fn(D) -> C + 'static,
    C: Into<Option<Call<T>>>,
{
    // Only this part knows the types; the state and the effect are in `use_loader`, compiled
    // once for every use (a smaller download).
    let last_deps = use_mut_ref(|| None::<D>);
    let changed = last_deps.borrow().as_ref() != Some(&deps);
    if changed {
        *last_deps.borrow_mut() = Some(deps.clone());
    }
    let (state, again) = use_loader(
        changed,
        Box::new(move || {
            let (pending, read) = fetch(deps).into()?.into_parts();
            let read: Reader =
                Box::new(move |value| read(value).map(|data| Rc::new(data) as Rc<dyn Any>));
            Some((pending, read))
        }),
    );
    LoadHandle {
        handles: Rc::new((state, again)),
        data: PhantomData,
    }
}

/// Reads a loaded answer as the data a [`use_load`] keeps.
type Reader = Box<dyn FnOnce(&JsValue) -> Option<Rc<dyn Any>>>;

/// The state of a [`use_load`], and the effect that sends its request: after a render where
/// the inputs `changed` (showing Loading meanwhile) or a reload was asked for, it calls
/// `start` and keeps the answer (`start` giving `None`: nothing is sent, and an answer still
/// on its way is dropped).
#[hook]
fn use_loader(
    changed: bool,
    start: Box<dyn FnOnce() -> Option<(Pending, Reader)>>,
) -> (UseStateHandle<Stored>, UseStateHandle<u32>) {
    let state = use_state(|| Stored::Loading);
    let again = use_state(|| 0u32);
    let changes = use_memo((), |_| Cell::new(0u32));
    let generation = use_memo((), |_| Cell::new(0u32));
    if changed {
        changes.set(changes.get().wrapping_add(1));
    }
    {
        let state = state.clone();
        use_effect_with((changes.get(), *again), move |_| {
            if changed {
                state.set(Stored::Loading);
            }
            match start() {
                Some((pending, read)) => spawn_latest(generation, state, pending, read),
                None => generation.set(generation.get().wrapping_add(1)),
            }
        });
    }
    (state, again)
}

/// What an effect leaves to undo when the component goes away (`None`: nothing).
pub type Teardown = Option<Box<dyn FnOnce()>>;

/// Runs `effect` once, after the first render; its teardown when the component goes away.
/// Like `use_effect_with((), …)`, but yew's effect code is compiled once for every use
/// rather than once per closure (a smaller download).
#[hook]
pub fn use_mount(effect: Box<dyn FnOnce() -> Teardown>) {
    use_effect_with((), move |()| {
        let teardown = effect();
        move || {
            if let Some(teardown) = teardown {
                teardown();
            }
        }
    });
}

/// Runs `effect` after the first render and after each render where `deps` changed. Like
/// `use_effect_with(deps, …)` (without a teardown), with yew's effect code compiled once:
/// only the comparison of `deps` is per type.
#[hook]
pub fn use_change<T: PartialEq + 'static>(deps: T, effect: Box<dyn FnOnce()>) {
    let last = use_mut_ref(|| None::<T>);
    let changed = last.borrow().as_ref() != Some(&deps);
    if changed {
        *last.borrow_mut() = Some(deps);
    }
    use_changed(changed, effect);
}

/// [`use_change`]'s effect: a count of the renders that changed its inputs is what yew
/// compares.
#[hook]
fn use_changed(changed: bool, effect: Box<dyn FnOnce()>) {
    let changes = use_memo((), |_| Cell::new(0u32));
    if changed {
        changes.set(changes.get().wrapping_add(1));
    }
    use_effect_with(changes.get(), move |_| effect());
}

/// Waits for `pending`, reads the answer with `read` and keeps it in `state`, unless a newer
/// request was started meanwhile. Not generic: compiled once for every type of data.
fn spawn_latest(
    generation: Rc<Cell<u32>>,
    state: UseStateHandle<Stored>,
    pending: Pending,
    read: Reader,
) {
    let mine = generation.get().wrapping_add(1);
    generation.set(mine);
    wasm_bindgen_futures::spawn_local(async move {
        let answer = pending
            .await
            .and_then(|value| read(&value).ok_or_else(ApiFailure::unreachable));
        if generation.get() == mine {
            state.set(match answer {
                Ok(data) => Stored::Ready(data),
                Err(failure) => Stored::Error(failure),
            });
        }
    });
}

/// A form's sending state: busy while a request is out, and the last error. Behind one `Rc`,
/// so that a copy kept by a callback costs one count (a smaller download than three handles).
#[derive(Clone)]
pub struct SubmitHandle(Rc<SubmitState>);

struct SubmitState {
    busy: UseStateHandle<bool>,
    /// Set at once (not at the next render), so a second click is refused in between.
    guard: Rc<Cell<bool>>,
    error: UseStateHandle<Option<ApiFailure>>,
}

impl SubmitHandle {
    pub fn busy(&self) -> bool {
        *self.0.busy
    }

    /// The last request's error (or one set by [`Self::fail`]).
    pub fn error(&self) -> Option<&ApiFailure> {
        (*self.0.error).as_ref()
    }

    /// The error's message when it is about `field`.
    pub fn field_error(&self, field: &str) -> Option<AttrValue> {
        self.error()
            .filter(|f| f.body.field.as_deref() == Some(field))
            .map(|f| AttrValue::from(f.message().to_owned()))
    }

    /// The error's message when it is about no one field.
    pub fn form_error(&self) -> Option<AttrValue> {
        self.error()
            .filter(|f| f.body.field.is_none())
            .map(|f| AttrValue::from(f.message().to_owned()))
    }

    pub fn clear_error(&self) {
        if self.0.error.is_some() {
            self.0.error.set(None);
        }
    }

    /// Shows a message found before sending (a field typed wrong).
    pub fn fail(&self, message: impl Into<String>) {
        self.0.error.set(Some(ApiFailure {
            status: 0,
            body: ErrorBody::new(ErrorCode::InvalidInput, message),
        }));
    }

    /// Sends `call` unless one is out; `on_ok` gets the answer.
    pub fn run<T: 'static>(&self, call: Call<T>, on_ok: impl FnOnce(T) + 'static) {
        self.run_or(call, on_ok, |_| {});
    }

    /// Like [`Self::run`]; `on_error` also sees a failure (after it is kept as the error).
    pub fn run_or<T: 'static>(
        &self,
        call: Call<T>,
        on_ok: impl FnOnce(T) + 'static,
        on_error: impl FnOnce(&ApiFailure) + 'static,
    ) {
        let (pending, read) = call.into_parts();
        let apply = Box::new(move |value: &JsValue| match read(value) {
            Some(answer) => {
                on_ok(answer);
                true
            }
            None => false,
        });
        self.start(pending, apply, Box::new(on_error));
    }

    /// Not generic: compiled once for every call. `apply` reads the answer and uses it; it
    /// says `false` when the answer could not be read.
    fn start(
        &self,
        pending: Pending,
        apply: Box<dyn FnOnce(&JsValue) -> bool>,
        on_error: Box<dyn FnOnce(&ApiFailure)>,
    ) {
        if self.0.guard.replace(true) {
            return;
        }
        self.0.busy.set(true);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = pending.await;
            this.0.guard.set(false);
            this.0.busy.set(false);
            let failure = match answer {
                Ok(value) => {
                    this.0.error.set(None);
                    if apply(&value) {
                        return;
                    }
                    ApiFailure::unreachable()
                }
                Err(failure) => failure,
            };
            on_error(&failure);
            this.0.error.set(Some(failure));
        });
    }
}

/// One form's submit: see [`SubmitHandle`].
#[hook]
pub fn use_submit() -> SubmitHandle {
    let busy = use_state(|| false);
    let guard = use_memo((), |_| Cell::new(false));
    let error = use_state(|| None::<ApiFailure>);
    SubmitHandle(Rc::new(SubmitState { busy, guard, error }))
}
