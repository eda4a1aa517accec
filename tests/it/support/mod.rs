//! `spawn_app`: a pipeline of its own for each test: a fresh database, its own queue names on the shared
//! broker, the real worker binaries, and a local web server.

pub mod api;
pub mod audit;
pub mod ops;
pub mod proxy;
pub mod web;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Connection};
use newspipe_broker::{BrokerSettings, Topology};
use newspipe_db::{Database, DatabaseSettings};
use newspipe_testkit::{Binaries, Scratch, ScratchKind};
use sqlx::PgPool;

pub use newspipe_testkit::{Services, Worker};
pub use web::TestWeb;

/// The shared services (see [`newspipe_testkit::services`]); panics when there are none.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| Services::find().unwrap_or_else(|e| panic!("{e}")))
}

fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| newspipe_testkit::binaries!())
}

/// A binary of the root package by its name: `newspipe`, `newspipe-fetcher`...
pub fn bin(name: &str) -> PathBuf {
    binaries().by_name(name).to_path_buf()
}

/// A worker process; killed when dropped.
pub struct WorkerProcess {
    pub kind: Worker,
    pub child: Child,
    pub log: PathBuf,
}

impl WorkerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = newspipe_testkit::signal(self.pid(), signal).unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Waits for the process to exit; `None` if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// `Ok` while the process runs; once it has exited, what it exited with and the end of its log (a worker
    /// that exits without being killed is a bug: no fault in the tests should take one down).
    pub fn still_running(&mut self) -> Result<(), String> {
        match self.child.try_wait().unwrap() {
            None => Ok(()),
            Some(status) => Err(format!(
                "{} (pid {}) exited by itself with {status}; its log:\n{}",
                self.kind.binary(),
                self.pid(),
                tail(&self.log_text(), 60)
            )),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The address of its `/healthz` and `/metrics` endpoint, read from its log.
    pub async fn ops_address(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log_text();
            if let Some(line) = log.lines().find(|l| l.contains("serving /healthz and /metrics")) {
                // Text logs say `address=IP:PORT`, JSON logs `"address":"IP:PORT"`.
                let value = line.split("address=").nth(1).or_else(|| line.split("\"address\":\"").nth(1));
                let address = value.unwrap_or_else(|| panic!("no address in {line}"));
                return address.split(['"', ' ']).next().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "{} never served /healthz; log:\n{log}", self.kind.binary());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        newspipe_testkit::kill_and_reap(&mut self.child);
    }
}

pub struct TestApp {
    pub prefix: String,
    pub database_name: String,
    pub database_url: String,
    pub amqp_url: String,
    /// This app's database, for the tests' own queries on its tables.
    pub db: PgPool,
    /// The same connections, for the queries `newspipe_db` has.
    pub database: Database,
    pub web: TestWeb,
    pub dir: PathBuf,
    pub workers: Vec<WorkerProcess>,
    /// This app's database and queue prefix on the services, removed when it is dropped.
    scratch: Scratch,
    /// Extra environment for every process this app starts.
    pub env: Vec<(String, String)>,
}

/// A fresh database and queue prefix, a web server, and no workers yet.
/// The longest a command line run by a test may take ([`TestApp::cli_async`]).
const CLI_TIMEOUT: Duration = Duration::from_secs(150);

pub async fn spawn_app() -> TestApp {
    spawn_app_on(services()).await
}

/// [`spawn_app`] on other services than the shared ones (the chaos test's private instance).
pub async fn spawn_app_on(services: &Services) -> TestApp {
    // Regression: dropping a TestApp closes its pool from a thread of its own while the test's runtime
    // waits for it; on a current-thread runtime nothing then drives the pool's connections and the test
    // hangs until nextest ends it.
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread,
        "a test that spawns the app runs on #[tokio::test(flavor = \"multi_thread\")]"
    );
    let scratch = Scratch::create(services, ScratchKind::Test).await.expect("create the test database");
    // As many connections, and as long a wait for one, as a `PgPool::connect` pool.
    let settings = DatabaseSettings {
        url: scratch.database_url.clone().into(),
        max_connections: 10,
        acquire_timeout_secs: 30,
        ..DatabaseSettings::default()
    };
    let database = Database::connect(&settings).await.expect("connect to the test database");
    let dir = std::env::temp_dir().join(format!("newspipe-it-{}", scratch.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    TestApp {
        prefix: scratch.prefix.clone(),
        database_name: scratch.database_name.clone(),
        database_url: scratch.database_url.clone(),
        amqp_url: scratch.amqp_url.clone(),
        db: database.pool().clone(),
        database,
        web: TestWeb::start().await,
        dir,
        workers: Vec::new(),
        scratch,
        env: Vec::new(),
    }
}

impl TestApp {
    /// The environment every process of this app gets.
    pub fn base_env(&self) -> Vec<(String, String)> {
        let mut env = self.scratch.worker_env();
        env.extend(
            [
                ("NEWSPIPE__BROKER__RETRY__BASE_DELAY_MS", "200"),
                ("NEWSPIPE__BROKER__RETRY__MAX_ATTEMPTS", "3"),
                ("NEWSPIPE__BROKER__SHUTDOWN_GRACE_SECS", "5"),
                ("NEWSPIPE__FETCHER__TIMEOUT_MS", "5000"),
                // Every test page is on one host; tests of politeness set their own interval.
                ("NEWSPIPE__POLITENESS__INTERVAL_MS", "0"),
                ("RUST_LOG", "info"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env.extend(self.env.iter().cloned());
        env
    }

    pub fn broker_settings(&self) -> BrokerSettings {
        BrokerSettings {
            url: self.amqp_url.clone().into(),
            prefix: self.prefix.clone(),
            retry: newspipe_broker::RetrySettings {
                base_delay_ms: 200,
                max_attempts: 3,
                max_delay_ms: 600_000,
            },
            ..BrokerSettings::default()
        }
    }

    pub fn topology(&self) -> Topology {
        Topology::new(&self.broker_settings())
    }

    /// Starts a worker with this app's environment plus `extra`.
    pub fn start_worker_with(&mut self, kind: Worker, extra: &[(&str, &str)]) -> usize {
        let mut env = self.base_env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.spawn_worker(kind, env)
    }

    /// Starts a worker with exactly the broker and database URLs `environment` gives it (none of the app's),
    /// plus the app's test settings (queue prefix, private addresses...).
    pub fn start_worker_from_compose(&mut self, kind: Worker, environment: &[(String, String)]) -> usize {
        let mut env: Vec<(String, String)> =
            self.base_env().into_iter().filter(|(k, _)| k != "AMQP_URL" && k != "DATABASE_URL").collect();
        env.extend(environment.iter().cloned());
        self.spawn_worker(kind, env)
    }

    /// Runs a worker binary with only `env` (and PATH), its output in a log file of the app's folder.
    fn spawn_worker(&mut self, kind: Worker, env: Vec<(String, String)>) -> usize {
        let n = self.workers.len();
        let log = self.dir.join(format!("{}-{n}.log", kind.binary()));
        let child = newspipe_testkit::spawn_logged(binaries().worker(kind), env, &log)
            .unwrap_or_else(|e| panic!("start {}: {e}", kind.binary()));
        self.workers.push(WorkerProcess { kind, child, log });
        n
    }

    /// Starts a worker with this app's environment inside the network namespace `netns` (a host of the
    /// cluster rig). `ip netns exec` execs the binary, so the process's pid is the worker's own.
    pub fn start_worker_in(&mut self, kind: Worker, netns: &str) -> usize {
        let n = self.workers.len();
        let log = self.dir.join(format!("{}-{n}-{netns}.log", kind.binary()));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new("ip");
        command.args(["netns", "exec", netns]).arg(binaries().worker(kind));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(self.base_env());
        command.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        let child = command.spawn().unwrap_or_else(|e| panic!("start {} in {netns}: {e}", kind.binary()));
        self.workers.push(WorkerProcess { kind, child, log });
        n
    }

    pub fn start_worker(&mut self, kind: Worker) -> usize {
        self.start_worker_with(kind, &[])
    }

    pub fn start_pipeline(&mut self) {
        for kind in Worker::ALL {
            self.start_worker(kind);
        }
    }

    /// Runs the `newspipe` command line with this app's environment.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut command = Command::new(bin("newspipe"));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(self.base_env());
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("run newspipe");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Runs the command line off the async threads (it may block for a long time with --wait).
    pub async fn cli_async(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(bin("newspipe"));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(self.base_env());
        command.args(args).stdin(Stdio::null()).kill_on_drop(true);
        // A command that hangs fails its test saying which, instead of the test hanging until nextest's
        // limit with nothing to show (every command with --wait here has a --timeout well below this).
        match tokio::time::timeout(CLI_TIMEOUT, command.output()).await {
            Ok(output) => output.expect("run newspipe"),
            Err(_) => {
                panic!("`newspipe {}` did not finish within {CLI_TIMEOUT:?}\n{}", args.join(" "), self.logs())
            }
        }
    }

    /// `newspipe submit URL...` and asserts it succeeded.
    pub fn submit(&self, urls: &[String]) {
        let mut args = vec!["submit"];
        args.extend(urls.iter().map(String::as_str));
        let output = self.cli(&args, None);
        assert!(output.status.success(), "submit failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Waits until `expected` outcomes are recorded; panics with the workers' logs on timeout.
    pub async fn wait_for_outcomes(&self, expected: i64, timeout: Duration) -> i64 {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.outcome_count().await;
            if count >= expected {
                return count;
            }
            if Instant::now() > deadline {
                panic!("only {count} of {expected} outcomes after {timeout:?}\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many outcomes are recorded; 0 while the database is unreachable (or not migrated yet).
    pub async fn outcome_count(&self) -> i64 {
        self.database.outcome_count().await.unwrap_or(0)
    }

    /// url -> (outcome, reason)
    pub async fn outcomes(&self) -> HashMap<String, (String, Option<String>)> {
        let rows = self.database.all_outcomes().await.unwrap();
        rows.into_iter().map(|row| (row.url, (row.outcome, row.reason))).collect()
    }

    pub fn logs(&self) -> String {
        self.workers
            .iter()
            .map(|w| format!("--- {} ({})\n{}", w.kind.binary(), w.log.display(), tail(&w.log_text(), 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn amqp(&self) -> Connection {
        // Through newspipe's own connect: the URL may be a cluster's list of nodes.
        newspipe_broker::connect(&self.amqp_url.as_str().into(), "newspipe-test")
            .await
            .expect("connect to RabbitMQ")
    }

    /// Publishes raw bytes onto a work queue, as a foreign or broken producer would.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) {
        self.publish_raw_with(routing_key, body, BasicProperties::default()).await;
    }

    /// Publishes bytes as a producer outside newspipe would, with the properties given (persistent).
    pub async fn publish_raw_with(&self, routing_key: &str, body: &[u8], properties: BasicProperties) {
        let routed = self.publish_confirmed(&self.prefix, routing_key, body, properties).await;
        assert!(routed, "raw publish to {routing_key} not routed");
    }

    /// Publishes bytes, persistent, to an exchange of this app's topology (declared first) and waits for the
    /// broker's confirm; true if it was confirmed and routed to a queue.
    pub async fn publish_confirmed(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> bool {
        let connection = self.amqp().await;
        let channel = connection.create_channel().await.unwrap();
        self.topology().declare(&channel).await.unwrap();
        channel.confirm_select(Default::default()).await.unwrap();
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions { mandatory: true, ..Default::default() },
                body,
                properties.with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        let _ = connection.close(200, "bye".into()).await;
        confirm.is_ack() && confirm.take_message().is_none()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            newspipe_testkit::kill_and_reap(&mut worker.child);
        }
        // Best effort: leave the shared broker and database as we found them.
        let topology = self.topology();
        let scratch = self.scratch.clone();
        let db = self.db.clone();
        let dir = self.dir.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                db.close().await;
                scratch.remove(&topology).await;
            });
        });
        let _ = cleanup.join();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `../shared` beside the checkout, when present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}
