//! Beyond one machine, for real: a three-node RabbitMQ cluster, a PostgreSQL server and two worker hosts,
//! each host a network namespace of `deploy/cluster.sh` with its own address on one bridge, so that a host cut
//! off is a real network fault. The workers (a fetcher, an extractor and a store on each worker host) get the
//! three nodes' URLs and choose one; the web stands in on the bridge.
//!
//! One run, two scenarios, because the rig takes a minute to boot:
//! 1. faults: while N URLs go through, one broker node is killed (`kill -9`), worker host w1 is cut off the
//!    network for 20 s, and the PostgreSQL server is restarted; the killed node comes back afterwards. It
//!    prints `urls=N node_kills=1 host_partitions=1 db_restarts=1 lost=0 duplicated=0 seconds=S`.
//! 2. a rolling restart of the three nodes, one at a time, under load; it prints
//!    `rolling_restart urls=M nodes_restarted=3 lost=0 duplicated=0 seconds=S`.
//!
//! Each ends with the chaos test's audit: every URL has exactly one outcome, the expected one; nothing is
//! stored twice; no queue holds anything unexplained. `newspipe status --json` is checked to show the three
//! nodes, each queue's leader and members, and a killed node as down.
//!
//! Network namespaces need root: without it the test says so and skips; CI runs as root and runs it.
//! `NEWSPIPE_CLUSTER_URLS` sets N (300 by default, what CI runs; the docs give the 10,000-URL run),
//! `NEWSPIPE_CLUSTER_ROLLING_URLS` sets M (300), `NEWSPIPE_CHAOS_SEED` replays the random choices.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::chaos::{Rng, workload};
use crate::support::audit::{self, Expected};
use crate::support::{Services, TestApp, TestWeb, Worker, spawn_app_on};

/// The rig's bridge address in the root namespace (deploy/cluster.sh's default subnet): the web listens here.
const BRIDGE: [u8; 4] = [10, 250, 77, 1];
/// How long worker host w1 stays cut off.
const PARTITION: Duration = Duration::from_secs(20);
/// The fetch rate is paced so that each scenario's URLs take at least this long: the faults must hit a
/// pipeline at work, however fast the machine.
const FAULTS_RUN: Duration = Duration::from_secs(45);
const ROLLING_RUN: Duration = Duration::from_secs(75);
/// `deploy/cluster.sh up` exits with this when the machine cannot make network namespaces (not root).
const CANNOT_MAKE_HOSTS: i32 = 77;

/// The rig of `deploy/cluster.sh`, in a folder of its own; torn down when dropped, also on failure.
struct Rig {
    dir: PathBuf,
    /// Held while the rig exists: two runs (two checkouts, a retry) take turns on its namespaces.
    _lock: File,
}

impl Rig {
    /// The rig, up; `None` (after saying why) where this machine cannot make network namespaces.
    fn up() -> Option<Rig> {
        let lock =
            File::create(std::env::temp_dir().join("newspipe-cluster.lock")).expect("create the lock file");
        lock.lock().expect("lock the cluster rig");
        let rig = Rig { dir: std::env::temp_dir().join("newspipe-cluster-test"), _lock: lock };
        // A run killed before its clean-up (a test runner's timeout) leaves its rig behind.
        rig.script(&["down"]).expect("remove a leftover rig");
        let output = rig.command(&["up"]).output().expect("run deploy/cluster.sh up");
        if output.status.code() == Some(CANNOT_MAKE_HOSTS) {
            eprintln!(
                "skipped: the cluster rig needs network namespaces, which this machine refuses: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return None;
        }
        assert!(
            output.status.success(),
            "deploy/cluster.sh up failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Some(rig)
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/cluster.sh");
        let mut command = std::process::Command::new(script);
        command.args(args).env("NEWSPIPE_CLUSTER_DIR", &self.dir).stdin(std::process::Stdio::null());
        command
    }

    fn script(&self, args: &[&str]) -> Result<String, String> {
        let output = self.command(args).output().map_err(|e| format!("run cluster.sh {args:?}: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "cluster.sh {args:?} failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// `cluster.sh ARGS`, off the async threads.
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut command = tokio::process::Command::from(self.command(args));
        let output = command.output().await.map_err(|e| format!("run cluster.sh {args:?}: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "cluster.sh {args:?} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// The rig's `env` file: the three nodes' URLs, the management URLs, the database.
    fn env(&self) -> HashMap<String, String> {
        std::fs::read_to_string(self.dir.join("env"))
            .expect("the rig's env file")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn netns(&self, host: &str) -> String {
        self.script(&["netns", host]).unwrap_or_else(|e| panic!("{e}")).trim().to_string()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Err(error) = self.script(&["down"]) {
            eprintln!("{error}");
        }
    }
}

/// What happened when, for the failure message.
struct Log {
    started: Instant,
    lines: Vec<String>,
}

impl Log {
    fn note(&mut self, what: impl Into<String>) {
        self.lines.push(format!("{:>6.1}s {}", self.started.elapsed().as_secs_f64(), what.into()));
    }
}

/// `newspipe status --json`, parsed.
async fn status(app: &TestApp) -> Result<serde_json::Value, String> {
    let output = app.cli_async(&["status", "--json"]).await;
    if !output.status.success() {
        return Err(format!("status --json failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("status --json printed no JSON: {e}"))
}

/// The names of the nodes `status` shows running, and of those it shows down.
fn nodes(status: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let mut running = Vec::new();
    let mut down = Vec::new();
    for node in status["cluster"]["nodes"].as_array().into_iter().flatten() {
        let name = node["name"].as_str().unwrap_or_default().to_string();
        if node["running"].as_bool() == Some(true) { running.push(name) } else { down.push(name) }
    }
    (running, down)
}

/// Kills every worker (what one held unacked goes back to its queue), then counts the run's end.
async fn stop_and_audit(app: &mut TestApp, expected: &Expected) -> audit::Audit {
    for worker in &mut app.workers {
        newspipe_testkit::kill_and_reap(&mut worker.child);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let audit = audit::audit(app, &channel, expected).await;
    let _ = connection.close(200, "bye".into()).await;
    audit
}

/// Waits for `expected` outcomes and a quiet pipeline; a worker that exits by itself fails the wait (no
/// fault here should take one down: they reconnect).
async fn settle(app: &mut TestApp, expected: i64, started: Instant) -> Result<Option<Duration>, String> {
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(180) + Duration::from_millis(30) * expected as u32;
    let settled = audit::settle(app, &channel, expected, started, deadline, |app| {
        app.workers.iter_mut().try_for_each(|worker| worker.still_running())
    })
    .await;
    let _ = connection.close(200, "bye".into()).await;
    settled
}

/// One fetcher, extractor and store on each worker host.
fn start_workers(app: &mut TestApp, rig: &Rig) {
    for host in ["w1", "w2"] {
        let netns = rig.netns(host);
        for kind in Worker::ALL {
            app.start_worker_in(kind, &netns);
        }
    }
}

/// Submits the URLs `range` of the chaos workload, noting what each must end with.
fn submit(app: &TestApp, range: std::ops::RangeInclusive<u32>, expected: &mut Expected) {
    let mut input = String::new();
    for i in range {
        let (path, outcome, reason) = workload(i);
        let url = app.web.url(&path);
        input.push_str(&url);
        input.push('\n');
        expected.insert(url, (outcome, reason));
    }
    let submitted = tokio::task::block_in_place(|| app.cli(&["submit", "-"], Some(&input)));
    assert!(submitted.status.success(), "submit failed: {}", String::from_utf8_lossy(&submitted.stderr));
}

fn number(variable: &str, default: u32) -> u32 {
    std::env::var(variable)
        .ok()
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{variable}={v} is not a number of URLs")))
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_three_node_cluster_every_url_survives_a_node_kill_a_host_cut_off_a_database_restart_and_a_rolling_restart()
 {
    if !is_root() {
        eprintln!(
            "skipped: the cluster rig makes network namespaces (ip netns), which needs root; CI runs as root"
        );
        return;
    }
    let n = number("NEWSPIPE_CLUSTER_URLS", 300);
    let m = number("NEWSPIPE_CLUSTER_ROLLING_URLS", 300);
    assert!(n >= 20 && m >= 20, "at least 20 URLs per scenario, so that every kind of URL is there");
    let seed = std::env::var("NEWSPIPE_CHAOS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    let mut rng = Rng(seed);

    // Declared first, dropped last: the app's clean-up still reaches the rig's services.
    let Some(rig) = Rig::up() else { return };
    let rig_env = rig.env();
    let services =
        Services { amqp_url: rig_env["AMQP_URL"].clone(), database_url: rig_env["DATABASE_URL"].clone() };
    assert_eq!(services.amqp_url.split(',').count(), 3, "the rig gives three nodes: {}", rig_env.len());
    let mut app = spawn_app_on(&services).await;
    app.web = TestWeb::start_on(std::net::IpAddr::from(BRIDGE)).await;
    app.env.extend(
        [
            ("NEWSPIPE__BROKER__MANAGEMENT_URL", rig_env["NEWSPIPE__BROKER__MANAGEMENT_URL"].clone()),
            ("NEWSPIPE__POLITENESS__INTERVAL_MS", ((FAULTS_RUN.as_millis() as u32).div_ceil(n)).to_string()),
            // A cut-off fetcher's leases last until they expire; with the default of 2 per host (every URL is
            // on one host) they would stall the others for that long.
            ("NEWSPIPE__POLITENESS__MAX_CONCURRENT_PER_HOST", "64".to_string()),
            // A node that never answers (one cut off) is given up quickly for the next.
            ("NEWSPIPE__BROKER__CONNECT_TIMEOUT_SECS", "3".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let mut log = Log { started: Instant::now(), lines: Vec::new() };
    let fail = |log: &Log, app: &TestApp, why: String| -> ! {
        let rig_status = rig.script(&["status"]).unwrap_or_else(|e| e);
        panic!(
            "{why}\nseed {seed}; what happened:\n{}\nrig:\n{rig_status}\n{}",
            log.lines.join("\n"),
            app.logs()
        )
    };

    start_workers(&mut app, &rig);
    let mut expected = Expected::new();
    let started = Instant::now();
    submit(&app, 1..=n, &mut expected);
    log.note(format!("submitted {n} URLs"));

    // The status screen sees the cluster: three nodes up, each work queue with a leader and three members.
    let before = status(&app).await.unwrap_or_else(|e| fail(&log, &app, e));
    let (running, down) = nodes(&before);
    if running.len() != 3 || !down.is_empty() {
        fail(&log, &app, format!("status shows nodes {running:?} running and {down:?} down: {before:#}"));
    }
    let fetch_queue = format!("{}.fetch", app.prefix);
    let queue =
        before["queues"].as_array().unwrap().iter().find(|q| q["name"] == fetch_queue.as_str()).cloned();
    let members = queue.as_ref().and_then(|q| q["members"].as_array()).map_or(0, Vec::len);
    let leader = queue.as_ref().and_then(|q| q["leader"].as_str()).unwrap_or_default().to_string();
    if members != 3 || !running.contains(&leader) {
        fail(&log, &app, format!("{fetch_queue} shows leader {leader:?} and {members} members: {queue:?}"));
    }

    // Scenario 1: a node killed, a worker host cut off, the database restarted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let victim = 1 + rng.below(3);
    rig.run(&["kill-node", &victim.to_string()]).await.unwrap_or_else(|e| fail(&log, &app, e));
    log.note(format!("kill -9 of RabbitMQ node {victim}"));
    // The status still answers (through another node's management API) and shows the node down.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = status(&app).await.unwrap_or_else(|e| fail(&log, &app, e));
        let (running, down) = nodes(&now);
        if running.len() == 2 && down.len() == 1 {
            log.note(format!("status shows {down:?} down"));
            break;
        }
        if Instant::now() > deadline {
            fail(&log, &app, format!("30 s after the kill status shows {running:?} running, {down:?} down"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    rig.run(&["partition", "w1"]).await.unwrap_or_else(|e| fail(&log, &app, e));
    let cut_at = Instant::now();
    log.note("worker host w1 cut off the network");

    tokio::time::sleep(Duration::from_secs(4)).await;
    let t = Instant::now();
    rig.run(&["restart-db"]).await.unwrap_or_else(|e| fail(&log, &app, e));
    log.note(format!("PostgreSQL restarted (down and up in {:.1}s)", t.elapsed().as_secs_f64()));

    tokio::time::sleep(PARTITION.saturating_sub(cut_at.elapsed())).await;
    rig.run(&["heal", "w1"]).await.unwrap_or_else(|e| fail(&log, &app, e));
    log.note(format!("worker host w1 back after {:.1}s", cut_at.elapsed().as_secs_f64()));
    let t = Instant::now();
    rig.run(&["start-node", &victim.to_string()]).await.unwrap_or_else(|e| fail(&log, &app, e));
    log.note(format!("RabbitMQ node {victim} started again ({:.1}s)", t.elapsed().as_secs_f64()));

    let done_during_faults = app.outcome_count().await;
    log.note(format!("faults over with {done_during_faults}/{n} outcomes recorded"));
    if done_during_faults >= i64::from(n) {
        fail(&log, &app, "the run was over before the last fault: nothing was tested".into());
    }
    let finished = settle(&mut app, i64::from(n), started).await.unwrap_or_else(|e| fail(&log, &app, e));
    let seconds = finished.unwrap_or_else(|| started.elapsed()).as_secs_f64();
    let audit = stop_and_audit(&mut app, &expected).await;
    println!(
        "urls={n} node_kills=1 host_partitions=1 db_restarts=1 lost={} duplicated={} seconds={seconds:.0}",
        audit.lost.len(),
        audit.duplicated()
    );
    let failures = audit.failures();
    if !failures.is_empty() {
        fail(&log, &app, failures.join("\n"));
    }
    log.note(format!(
        "scenario 1 audited: {} dead letters, all of jobs with their outcome",
        audit.dead_lettered
    ));

    // Scenario 2: a rolling restart of the three nodes under load (fresh workers, paced for it).
    app.workers.clear();
    app.env.retain(|(k, _)| k != "NEWSPIPE__POLITENESS__INTERVAL_MS");
    app.env.push((
        "NEWSPIPE__POLITENESS__INTERVAL_MS".into(),
        ((ROLLING_RUN.as_millis() as u32).div_ceil(m)).to_string(),
    ));
    start_workers(&mut app, &rig);
    let started = Instant::now();
    submit(&app, n + 1..=n + m, &mut expected);
    log.note(format!("submitted {m} more URLs for the rolling restart"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    for node in 1..=3 {
        if node == 3 {
            let done = app.outcome_count().await - i64::from(n);
            if done >= i64::from(m) {
                fail(
                    &log,
                    &app,
                    "the run was over before the last node's restart: nothing was tested".into(),
                );
            }
        }
        let t = Instant::now();
        rig.run(&["restart-node", &node.to_string()]).await.unwrap_or_else(|e| fail(&log, &app, e));
        log.note(format!("RabbitMQ node {node} restarted ({:.1}s)", t.elapsed().as_secs_f64()));
    }
    let finished = settle(&mut app, i64::from(n + m), started).await.unwrap_or_else(|e| fail(&log, &app, e));
    let seconds = finished.unwrap_or_else(|| started.elapsed()).as_secs_f64();
    let audit = stop_and_audit(&mut app, &expected).await;
    println!(
        "rolling_restart urls={m} nodes_restarted=3 lost={} duplicated={} seconds={seconds:.0}",
        audit.lost.len(),
        audit.duplicated()
    );
    let failures = audit.failures();
    if !failures.is_empty() {
        fail(&log, &app, failures.join("\n"));
    }
}
