//! Tests with real `twostep` processes: several instances sharing one PostgreSQL database,
//! a database outage, a crash (SIGKILL) in the middle of enrollments and sign-ins on
//! SQLite, a graceful shutdown on SIGTERM, slow and oversized clients, the password step
//! under 10x the load Argon2 can serve, and a start that answers nothing until migrated.
//!
//! The PostgreSQL tests need `TWOSTEP_TEST_POSTGRES_URL` (`cargo xtask test` starts a
//! throwaway cluster and sets it); without it they fail rather than skip.

mod client;
mod crash;
mod load;
mod outage;
#[path = "../common/process.rs"]
mod process;
mod several;
mod slow;
mod starting;
#[path = "../common/totp.rs"]
mod totp;
