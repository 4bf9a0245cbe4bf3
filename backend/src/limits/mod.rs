//! Limits on attempts: the pure rules ([`policy`]) and how they hold for simultaneous requests
//! on several instances ([`guards`]).

pub mod guards;
pub mod policy;
