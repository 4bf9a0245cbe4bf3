//! The HTTP edge: the routes (one module per API area), the extractors that say who may call,
//! the one place a domain error becomes a status, the client's address, security headers and
//! connections.

pub mod client_addr;
pub mod error;
pub mod extract;
pub mod headers;
pub mod routes;
pub mod serve;
