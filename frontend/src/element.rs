//! Elements built by calls, `el("p").class("hint").text("…")`, instead of `html!`.
//!
//! Hand-written on purpose, for the download's size. `html!` builds every element inline
//! where it is written (Yew's `VTag::__new_other` says so: it trades size for speed), which
//! made the app's views about 90 kB of its 350 kB of WebAssembly. Here each step is one call
//! of a function compiled once, so an element costs a few instructions at the place it is
//! written. The elements, attributes, listeners and texts are the same as `html!` makes, so
//! the page is the same. `html!` stays for components, and for `route::link`, where the
//! builder came out 142 bytes larger.

use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew::virtual_dom::{Listener, ListenerKind, VList, VTag, VText};

/// An element being built; turn it into [`Html`] with `.into()` or pass it where `Html` goes.
pub struct El(Box<VTag>);

/// Starts an element with the tag `tag` (lowercase, as in HTML).
pub fn el(tag: &'static str) -> El {
    El(Box::new(VTag::new(tag)))
}

/// Several nodes side by side, as `<>…</>` in `html!`.
pub fn fragment(nodes: Vec<Html>) -> Html {
    VList::with_children(nodes, None).into()
}

/// `node()` when `on`, and nothing otherwise (`if on { … }` in `html!`).
pub fn when<H: Into<Html>>(on: bool, node: impl FnOnce() -> H) -> Html {
    maybe(on.then(node))
}

/// The node if there is one, and nothing otherwise (`if let Some(…)` in `html!`).
pub fn maybe(node: Option<impl Into<Html>>) -> Html {
    node.map_or_else(Html::default, Into::into)
}

/// A form field: `<div class="field"><label for=ID>LABEL</label>INPUT</div>` (one call
/// instead of three elements at each form's field).
pub fn field(id: &'static str, label: &'static str, input: El) -> El {
    el("div")
        .class("field")
        .child(el("label").attr("for", id).text(label))
        .child(input)
}

/// A fixed piece of markup, such as an icon's SVG: one string instead of an element per
/// shape. Only for literals written here, never for text from the server or the user.
pub fn icon(markup: &'static str) -> Html {
    Html::from_html_unchecked(AttrValue::Static(markup))
}

impl El {
    /// Sets the attribute `key` to `value`.
    pub fn attr(self, key: &'static str, value: impl Into<AttrValue>) -> Self {
        self.set(key, value.into())
    }

    fn set(mut self, key: &'static str, value: AttrValue) -> Self {
        self.0.add_attribute(key, value);
        self
    }

    /// Sets the attribute `key` when `value` is some (`aria-describedby` that may be absent).
    pub fn attr_opt(self, key: &'static str, value: Option<impl Into<AttrValue>>) -> Self {
        match value {
            Some(value) => self.set(key, value.into()),
            None => self,
        }
    }

    /// Sets the `class` attribute.
    pub fn class(self, class: &'static str) -> Self {
        self.set("class", AttrValue::Static(class))
    }

    /// Sets the `id` attribute.
    pub fn id(self, id: &'static str) -> Self {
        self.set("id", AttrValue::Static(id))
    }

    /// A boolean attribute such as `disabled`: present (`disabled="disabled"`, as `html!`
    /// writes it) when `on`, absent otherwise.
    pub fn flag(self, key: &'static str, on: bool) -> Self {
        if on {
            self.set(key, AttrValue::Static(key))
        } else {
            self
        }
    }

    /// The `value` of an `input` (the live property, as `html!` sets it; on other elements
    /// Yew keeps none, so an `option` takes `.attr("value", …)`).
    pub fn value(mut self, value: impl Into<AttrValue>) -> Self {
        self.0.set_value(value.into());
        self
    }

    /// Lets the caller reach the DOM element (focus, dialogs).
    pub fn node_ref(mut self, node_ref: NodeRef) -> Self {
        self.0.node_ref = node_ref;
        self
    }

    /// Identifies the element among its siblings in a list.
    pub fn key(mut self, key: impl Into<yew::virtual_dom::Key>) -> Self {
        self.0.key = Some(key.into());
        self
    }

    /// Adds a child: an element, a text, a component or any other [`Html`].
    pub fn child(mut self, child: impl Into<Html>) -> Self {
        self.0.add_child(child.into());
        self
    }

    /// Adds each of `children`.
    pub fn children(mut self, children: impl IntoIterator<Item = Html>) -> Self {
        self.0.add_children(children);
        self
    }

    /// Adds a text child.
    pub fn text(self, text: impl Into<AttrValue>) -> Self {
        self.child(VText::new(text))
    }

    pub fn on_click(self, callback: Callback<MouseEvent>) -> Self {
        self.on(Kind::Click, callback.reform(cast))
    }

    pub fn on_submit(self, callback: Callback<SubmitEvent>) -> Self {
        self.on(Kind::Submit, callback.reform(cast))
    }

    /// On each change to an `input`'s text, `callback` gets the whole text: one listener
    /// for every text field, rather than one closure each.
    pub fn on_text(self, callback: Callback<String>) -> Self {
        self.on(
            Kind::Input,
            callback
                .reform(|event: Event| event.target_unchecked_into::<HtmlInputElement>().value()),
        )
    }

    /// `on_text` that keeps the text in `state`.
    pub fn bind_text(self, state: &UseStateHandle<String>) -> Self {
        let state = state.clone();
        self.on_text(Callback::from(move |text| state.set(text)))
    }

    pub fn on_change(self, callback: Callback<Event>) -> Self {
        self.on(Kind::Change, callback)
    }

    pub fn on_keydown(self, callback: Callback<KeyboardEvent>) -> Self {
        self.on(Kind::Keydown, callback.reform(cast))
    }

    pub fn on_cancel(self, callback: Callback<Event>) -> Self {
        self.on(Kind::Cancel, callback)
    }

    fn on(mut self, kind: Kind, callback: Callback<Event>) -> Self {
        self.0.add_listener(Rc::new(On { kind, callback }));
        self
    }
}

impl From<El> for Html {
    fn from(element: El) -> Html {
        Html::VTag(Rc::new(*element.0))
    }
}

/// The DOM event as the type its listener is for (Yew does the same unchecked cast).
fn cast<E: JsCast>(event: Event) -> E {
    event.unchecked_into()
}

/// The events the app listens to.
#[derive(Clone, Copy)]
enum Kind {
    Click,
    Submit,
    Input,
    Change,
    Keydown,
    Cancel,
}

/// One listener type for every event: the kind, and a callback taking the DOM's event.
struct On {
    kind: Kind,
    callback: Callback<Event>,
}

impl Listener for On {
    fn kind(&self) -> ListenerKind {
        match self.kind {
            Kind::Click => ListenerKind::onclick,
            Kind::Submit => ListenerKind::onsubmit,
            Kind::Input => ListenerKind::oninput,
            Kind::Change => ListenerKind::onchange,
            Kind::Keydown => ListenerKind::onkeydown,
            Kind::Cancel => ListenerKind::oncancel,
        }
    }

    fn handle(&self, event: Event) {
        self.callback.emit(event);
    }

    fn passive(&self) -> bool {
        false
    }
}
