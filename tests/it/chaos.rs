//! Faults, for real: the whole stack (2 fetchers, 2 extractors, 2 stores, the real binaries) fetching N
//! URLs from a local web server (some slow, some 404, some 500 before they answer), while the harness
//! kills workers with SIGKILL and restarts them as a supervisor would, restarts RabbitMQ and PostgreSQL,
//! and freezes a worker with SIGSTOP. In the end every URL has exactly one outcome (the expected one),
//! nothing is stored twice, and no queue holds anything unexplained. It prints one line of figures:
//!
//! `urls=N kills=K broker_restarts=1 db_restarts=1 lost=0 duplicated=0 dead_lettered=D seconds=S`
//!
//! The broker and the database it restarts are a private instance of `deploy/services.sh` (its own folder
//! and ports, started here and destroyed at the end, even on failure), so the tests sharing the usual
//! services never see them go away. `NEWSPIPE_CHAOS_URLS` sets N (300 by default, what CI runs);
//! `NEWSPIPE_CHAOS_SEED` replays a run's random choices (the seed is in every failure message).

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::audit::{self, Expected};
use crate::support::{Services, TestApp, Worker, spawn_app_on};

/// The private instance's ports: clear of the shared services (5692, 25692, 24692, 5492, 15694) and of the ports
/// Debian's RabbitMQ 3.10 CLI tools take for themselves (35672-35682).
const AMQP_PORT: &str = "5792";
const RABBITMQ_DIST_PORT: &str = "25792";
const EPMD_PORT: &str = "24792";
const PG_PORT: &str = "5592";
const MANAGEMENT_PORT: &str = "15794";

/// Time between two faults.
const STEP: Duration = Duration::from_secs(2);
/// How long the frozen worker stays stopped: longer than any message takes (a slow page is 1.5 s) and than
/// the fetch timeout the tests use (5 s), so what it holds times out under it.
const FREEZE: Duration = Duration::from_secs(7);
/// The fetch rate is paced (politeness interval) so that fetching N URLs lasts at least this long: the
/// faults must hit a pipeline at work, however fast the machine.
const MIN_RUN: Duration = Duration::from_secs(30);

/// A RabbitMQ and a PostgreSQL of this test's own, through `deploy/services.sh`; destroyed when dropped.
struct PrivateServices {
    dir: PathBuf,
    services: Services,
    /// Held while the instance exists: two runs of this test (two checkouts, a retry) take turns on its ports.
    _lock: File,
}

impl PrivateServices {
    fn start() -> PrivateServices {
        let lock =
            File::create(std::env::temp_dir().join("newspipe-chaos.lock")).expect("create the lock file");
        lock.lock().expect("lock the chaos services");
        let dir = std::env::temp_dir().join("newspipe-chaos-services");
        let mut this = PrivateServices {
            dir,
            services: Services { amqp_url: String::new(), database_url: String::new() },
            _lock: lock,
        };
        // A run that was killed before its clean-up (a test runner's timeout) leaves its instance running.
        this.script(&["destroy"]).expect("destroy a leftover chaos instance");
        this.script(&["start"]).expect("start the private RabbitMQ and PostgreSQL");
        this.services = Services::in_dir(&this.dir).unwrap_or_else(|e| panic!("{e}"));
        this
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/services.sh");
        let mut command = std::process::Command::new(script);
        command
            .args(args)
            .env("NEWSPIPE_SERVICES_DIR", &self.dir)
            .env("NEWSPIPE_AMQP_PORT", AMQP_PORT)
            .env("NEWSPIPE_RABBITMQ_DIST_PORT", RABBITMQ_DIST_PORT)
            .env("NEWSPIPE_EPMD_PORT", EPMD_PORT)
            .env("NEWSPIPE_PG_PORT", PG_PORT)
            .env("NEWSPIPE_MANAGEMENT_PORT", MANAGEMENT_PORT)
            .stdin(std::process::Stdio::null());
        command
    }

    fn script(&self, args: &[&str]) -> Result<(), String> {
        let output = self.command(args).output().map_err(|e| format!("run services.sh {args:?}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "services.sh {args:?} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// `services.sh restart rabbitmq|postgres`, off the async threads.
    async fn restart(&self, which: &str) -> Result<(), String> {
        let mut command = tokio::process::Command::from(self.command(&["restart", which]));
        let output = command.output().await.map_err(|e| format!("run services.sh restart {which}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("restart {which} failed:\n{}", String::from_utf8_lossy(&output.stderr)))
        }
    }
}

impl Drop for PrivateServices {
    fn drop(&mut self) {
        if let Err(error) = self.script(&["destroy"]) {
            eprintln!("{error}");
        }
    }
}

/// xorshift64*: enough randomness to choose victims, and replayable from its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// What URL `i` is and the outcome (and reason) it must end with.
pub(crate) fn workload(i: u32) -> (String, &'static str, Option<&'static str>) {
    match i % 20 {
        0 => (format!("/slow/{i}"), "stored", None),
        1 => (format!("/missing/{i}"), "failed", Some("http 404")),
        2 | 3 => (format!("/flaky/{i}"), "stored", None),
        _ => (format!("/articles/{i}"), "stored", None),
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill(Option<Worker>),
    RestartBroker,
    RestartDatabase,
    Freeze,
    Thaw,
}

/// The six running workers: which of `app.workers` each one is now (a killed one is replaced).
struct Supervisor {
    slots: Vec<usize>,
    frozen: Option<(usize, Instant)>,
    kills: u32,
    log: Vec<String>,
    started: Instant,
}

impl Supervisor {
    fn note(&mut self, what: String) {
        self.log.push(format!("{:>6.1}s {what}", self.started.elapsed().as_secs_f64()));
    }

    /// Each of the running workers is still running (see `WorkerProcess::still_running`).
    fn check_alive(&mut self, app: &mut TestApp) -> Result<(), String> {
        self.slots.iter().try_for_each(|&index| app.workers[index].still_running())
    }

    fn pick(&self, app: &TestApp, rng: &mut Rng, kind: Option<Worker>) -> usize {
        let frozen = self.frozen.map(|(slot, _)| slot);
        let candidates: Vec<usize> = (0..self.slots.len())
            .filter(|&slot| Some(slot) != frozen)
            .filter(|&slot| kind.is_none_or(|k| app.workers[self.slots[slot]].kind == k))
            .collect();
        candidates[rng.below(candidates.len())]
    }

    fn kill(&mut self, app: &mut TestApp, rng: &mut Rng, kind: Option<Worker>) {
        let slot = self.pick(app, rng, kind);
        let worker = &mut app.workers[self.slots[slot]];
        let (kind, pid) = (worker.kind, worker.pid());
        worker.signal("KILL");
        worker.wait_exit(Duration::from_secs(5)).unwrap_or_else(|| panic!("pid {pid} survived kill -9"));
        self.kills += 1;
        // A supervisor (systemd's Restart=always, Docker's restart policy) starts it again at once.
        std::thread::sleep(Duration::from_millis(200));
        self.slots[slot] = app.start_worker(kind);
        let new_pid = app.workers[self.slots[slot]].pid();
        self.note(format!("kill -9 {} pid {pid}; restarted as pid {new_pid}", kind.binary()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_kills_restarts_and_a_freeze_every_url_ends_with_exactly_one_outcome() {
    let n: u32 = std::env::var("NEWSPIPE_CHAOS_URLS").ok().map_or(300, |v| {
        v.parse().unwrap_or_else(|_| panic!("NEWSPIPE_CHAOS_URLS={v} is not a number of URLs"))
    });
    assert!(n >= 20, "NEWSPIPE_CHAOS_URLS={n}: at least 20, so that every kind of URL is there");
    let seed = std::env::var("NEWSPIPE_CHAOS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    let mut rng = Rng(seed);

    // Declared first, dropped last: the app's clean-up still reaches the private services.
    let private = PrivateServices::start();
    let mut app = spawn_app_on(&private.services).await;
    let pace_ms = (MIN_RUN.as_millis() as u32).div_ceil(n);
    app.env.extend(
        [
            ("NEWSPIPE__POLITENESS__INTERVAL_MS", pace_ms.to_string()),
            // Leases of killed fetchers last until they expire; with the default limit of 2 per host (all the
            // URLs are on one host) two of them would stall every fetch for that long.
            ("NEWSPIPE__POLITENESS__MAX_CONCURRENT_PER_HOST", "64".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let mut supervisor =
        Supervisor { slots: Vec::new(), frozen: None, kills: 0, log: Vec::new(), started: Instant::now() };
    for kind in Worker::ALL {
        for _ in 0..2 {
            supervisor.slots.push(app.start_worker(kind));
        }
    }

    let mut expected = Expected::new();
    let mut input = String::new();
    for i in 1..=n {
        let (path, outcome, reason) = workload(i);
        let url = app.web.url(&path);
        input.push_str(&url);
        input.push('\n');
        expected.insert(url, (outcome, reason));
    }
    let started = Instant::now();
    let submitted = tokio::task::block_in_place(|| app.cli(&["submit", "-"], Some(&input)));
    assert!(submitted.status.success(), "submit failed: {}", String::from_utf8_lossy(&submitted.stderr));
    supervisor.note(format!("submitted {n} URLs (fetch pace {pace_ms} ms, seed {seed})"));

    // Every kind is killed once in the first three kills, in a random order; later victims are random.
    let mut kinds = Worker::ALL.to_vec();
    let mut first_kills = Vec::new();
    while !kinds.is_empty() {
        first_kills.push(kinds.remove(rng.below(kinds.len())));
    }
    let plan = [
        Fault::Kill(Some(first_kills[0])),
        Fault::Kill(Some(first_kills[1])),
        Fault::RestartBroker,
        Fault::Kill(Some(first_kills[2])),
        Fault::Kill(None),
        Fault::RestartDatabase,
        Fault::Freeze,
        Fault::Kill(None),
        Fault::Kill(None),
        Fault::Thaw,
        Fault::Kill(None),
        Fault::Kill(None),
    ];
    let (mut broker_restarts, mut db_restarts) = (0, 0);
    let fail = |supervisor: &Supervisor, app: &TestApp, why: String| -> ! {
        panic!("{why}\nseed {seed}; faults:\n{}\n{}", supervisor.log.join("\n"), app.logs())
    };
    for fault in plan {
        tokio::time::sleep(STEP).await;
        if let Err(why) = supervisor.check_alive(&mut app) {
            fail(&supervisor, &app, why);
        }
        match fault {
            Fault::Kill(kind) => tokio::task::block_in_place(|| supervisor.kill(&mut app, &mut rng, kind)),
            Fault::RestartBroker => {
                let t = Instant::now();
                if let Err(why) = private.restart("rabbitmq").await {
                    fail(&supervisor, &app, why);
                }
                broker_restarts += 1;
                supervisor
                    .note(format!("RabbitMQ restarted (down and up in {:.1}s)", t.elapsed().as_secs_f64()));
            }
            Fault::RestartDatabase => {
                let t = Instant::now();
                if let Err(why) = private.restart("postgres").await {
                    fail(&supervisor, &app, why);
                }
                db_restarts += 1;
                supervisor
                    .note(format!("PostgreSQL restarted (down and up in {:.1}s)", t.elapsed().as_secs_f64()));
            }
            Fault::Freeze => {
                let slot = supervisor.pick(&app, &mut rng, None);
                let worker = &app.workers[supervisor.slots[slot]];
                worker.signal("STOP");
                supervisor.frozen = Some((slot, Instant::now()));
                let what = format!("SIGSTOP {} pid {}", worker.kind.binary(), worker.pid());
                supervisor.note(what);
            }
            Fault::Thaw => {
                let (slot, since) = supervisor.frozen.take().expect("a worker is frozen");
                tokio::time::sleep(FREEZE.saturating_sub(since.elapsed())).await;
                let worker = &app.workers[supervisor.slots[slot]];
                worker.signal("CONT");
                let what = format!(
                    "SIGCONT {} pid {} after {:.1}s",
                    worker.kind.binary(),
                    worker.pid(),
                    since.elapsed().as_secs_f64()
                );
                supervisor.note(what);
            }
        }
    }
    let done_during_faults = app.outcome_count().await;
    supervisor.note(format!("faults over with {done_during_faults}/{n} outcomes recorded"));
    if done_during_faults >= i64::from(n) {
        fail(&supervisor, &app, "the run was over before the last fault: nothing was tested".into());
    }

    // Every outcome, then a quiet pipeline: no message ready in any work or delay queue for three seconds.
    let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_millis(30) * n;
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let settled =
        audit::settle(&mut app, &channel, i64::from(n), started, deadline, |app| supervisor.check_alive(app))
            .await;
    let finished_at = match settled {
        Ok(finished_at) => finished_at,
        Err(why) => fail(&supervisor, &app, why),
    };
    if finished_at.is_none() {
        let count = app.outcome_count().await;
        supervisor.note(format!("gave up waiting: {count}/{n} outcomes"));
    }
    let seconds = finished_at.unwrap_or_else(|| started.elapsed()).as_secs_f64();

    // Stop every worker at once: whatever one still held unacked goes back to its queue and is counted below.
    for worker in &mut app.workers {
        newspipe_testkit::kill_and_reap(&mut worker.child);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let audit = audit::audit(&app, &channel, &expected).await;
    let _ = connection.close(200, "bye".into()).await;

    println!(
        "urls={n} kills={} broker_restarts={broker_restarts} db_restarts={db_restarts} lost={} duplicated={} dead_lettered={} seconds={seconds:.0}",
        supervisor.kills,
        audit.lost.len(),
        audit.duplicated(),
        audit.dead_lettered,
    );
    let mut failed = audit.failures();
    if !(supervisor.kills >= 3 && broker_restarts == 1 && db_restarts == 1) {
        failed.push("not every fault happened".into());
    }
    if !failed.is_empty() {
        fail(&supervisor, &app, failed.join("\n"));
    }
}
