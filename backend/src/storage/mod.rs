//! Where data lives: the database and its migrations, backup and restore, the data folder's
//! files, the server key (sealing, keyed hashes) and the daily sweep.

pub mod backup;
pub mod db;
pub mod in_use;
pub mod macs;
pub mod private_files;
pub mod query;
pub mod seal;
pub mod sweep;
