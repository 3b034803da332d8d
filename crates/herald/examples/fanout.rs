//! Fan-out benchmark driver (run by `bench/fanout.sh`): N subscribers on one incident, told by
//! a `herald serve` process through webhooks to a local HTTP sink, then (on a fresh database)
//! through email to a local SMTP sink. Prints the time from the incident's creation to the last
//! delivery, deliveries per second, the server's CPU time and peak RSS, and one RESULT line.
//!
//!     fanout --herald target/release/herald --subscribers 100000

#[path = "../tests/it/common/fanout.rs"]
mod fanout;
#[path = "../tests/it/common/process.rs"]
mod process;
#[path = "../tests/it/common/sinks.rs"]
mod sinks;

use fanout::Channel;
use std::time::{Duration, Instant};

struct Figures {
    seconds: f64,
    delivered: usize,
    duplicates: u64,
    cpu_seconds: f64,
    rss_mb: f64,
}

fn proc_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn proc_peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn run(
    binary: &std::path::Path,
    n: usize,
    channel: Channel,
    env: &[(&str, &str)],
    count: impl Fn() -> (usize, u64),
    limit: Duration,
) -> Figures {
    let mut herald = fanout::prepare(binary, n, &channel, env).await;
    herald.start();
    herald.wait_ready().await;
    let pid = herald.pid().expect("pid");
    let cpu0 = proc_cpu_seconds(pid);
    let t0 = Instant::now();
    herald.open_incident("Fan-out benchmark").await;
    loop {
        let (delivered, _) = count();
        if delivered >= n {
            break;
        }
        if t0.elapsed() > limit {
            eprintln!("gave up after {:?}: {delivered} of {n} delivered", limit);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = t0.elapsed().as_secs_f64();
    // Late repeats would show as duplicates.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (delivered, duplicates) = count();
    let figures = Figures {
        seconds,
        delivered,
        duplicates,
        cpu_seconds: proc_cpu_seconds(pid) - cpu0,
        rss_mb: proc_peak_rss_mb(pid),
    };
    herald.kill();
    figures
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let binary =
        std::path::PathBuf::from(arg("--herald").unwrap_or_else(|| "target/release/herald".into()));
    let n: usize = arg("--subscribers")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let limit = Duration::from_secs(
        arg("--limit-seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    );

    let (base, hooks) = sinks::http_sink(sinks::Behaviour::default()).await;
    let h = hooks.clone();
    let web = run(
        &binary,
        n,
        Channel::Webhook(format!("{base}/hook")),
        &[("HERALD_NOTIFY_ALLOW_TARGETS", "127.0.0.1")],
        move || (h.distinct(), h.duplicates()),
        limit,
    )
    .await;
    report("webhook", n, &web);

    let (port, mail) = sinks::smtp_sink(false).await;
    let port = port.to_string();
    let m = mail.clone();
    let email = run(
        &binary,
        n,
        Channel::Email,
        &[
            ("HERALD_SMTP_HOST", "127.0.0.1"),
            ("HERALD_SMTP_PORT", port.as_str()),
            ("HERALD_SMTP_SECURITY", "none"),
            ("HERALD_SMTP_FROM", "Status <status@fanout.test>"),
        ],
        move || (m.distinct(), m.duplicates()),
        limit,
    )
    .await;
    report("email", n, &email);

    let lost = (n - web.delivered.min(n)) + (n - email.delivered.min(n));
    println!(
        "RESULT subscribers={n} webhook_s={:.1} email_s={:.1} lost={lost} duplicates={} rss_mb={:.0}",
        web.seconds,
        email.seconds,
        web.duplicates + email.duplicates,
        web.rss_mb.max(email.rss_mb)
    );
}

fn report(what: &str, n: usize, f: &Figures) {
    println!(
        "{what:8} {}/{n} delivered in {:.2} s ({:.0}/s), duplicates {}, server CPU {:.1} s ({:.0} % of one core), peak RSS {:.0} MB",
        f.delivered,
        f.seconds,
        f.delivered as f64 / f.seconds.max(0.001),
        f.duplicates,
        f.cpu_seconds,
        100.0 * f.cpu_seconds / f.seconds.max(0.001),
        f.rss_mb
    );
}
