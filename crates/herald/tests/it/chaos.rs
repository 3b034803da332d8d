//! A short chaos run in the suite (the long one is `bench/chaos.sh`): two instances on one
//! PostgreSQL under a steady write load with webhook subscribers, instances killed with SIGKILL
//! at random moments and restarted, PostgreSQL stopped and restarted halfway. Nothing
//! acknowledged may be lost, every subscriber must be told of every acknowledged incident, and
//! both instances must end up serving the same summary.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kills_and_a_database_outage_lose_nothing_acknowledged() {
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_herald"));
    let found = common::chaos::run(binary, 20, 2, 10).await;
    assert!(found.writes_acked > 10, "the load ran: {found:?}");
    assert_eq!(found.writes_lost, 0, "{found:?}");
    assert_eq!(found.notifications_lost, 0, "{found:?}");
    assert!(
        found.stale_served > 0,
        "the outage was served from memory: {found:?}"
    );
    assert!(found.snapshots_agree, "{found:?}");
}
