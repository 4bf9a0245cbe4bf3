//! One module per screen.

pub mod activity;
pub mod audit;
pub mod home;
pub mod manage_user;
pub mod not_found;
pub mod sign_in;
pub mod users;
