//! Building blocks of the pages.

pub mod add_user;
pub mod admin_actions;
pub mod code_input;
pub mod confirm_dialog;
pub mod email;
pub mod layout;
pub mod message;
pub mod pager;
pub mod password_form;
pub mod qr;
pub mod reauth_dialog;
pub mod security_keys;
pub mod sessions;
pub mod toolbar;
pub mod two_step;
