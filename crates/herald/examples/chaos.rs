//! Fault benchmark driver (run by `bench/chaos.sh`); the run itself is in
//! `tests/it/common/chaos.rs`, shared with `tests/it/chaos.rs`. Exits non-zero when anything
//! acknowledged was lost or the instances disagree.
//!
//!     chaos --herald target/release/herald --seconds 60 --instances 3 --subscribers 50

#[path = "../tests/it/common/chaos.rs"]
mod chaos;
#[path = "../tests/it/common/process.rs"]
mod process;
#[path = "../tests/it/common/sinks.rs"]
mod sinks;

use std::path::PathBuf;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() {
    let binary = PathBuf::from(arg("--herald", "target/release/herald"));
    let seconds: u64 = arg("--seconds", "60").parse().expect("--seconds");
    let count: usize = arg("--instances", "3").parse().expect("--instances");
    let subscribers: usize = arg("--subscribers", "50").parse().expect("--subscribers");
    let found = chaos::run(binary, seconds, count, subscribers).await;
    if found.writes_lost > 0 || found.notifications_lost > 0 || !found.snapshots_agree {
        std::process::exit(1);
    }
}
