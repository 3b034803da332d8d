//! Herald's domain: what a status page is made of and the rules that govern it.
//!
//! Nothing here does I/O; storage, HTTP and time sources live in other crates and hand values in.

pub mod access;
pub mod audience;
pub mod commands;
pub mod datafile;
pub mod history;
pub mod id;
pub mod indicator;
pub mod model;
pub mod monitor;
pub mod notify;
pub mod secret;
pub mod status;
pub mod text;
pub mod timefmt;
pub mod transitions;
pub mod uptime;

pub use id::Id;
pub use model::*;
pub use status::*;
