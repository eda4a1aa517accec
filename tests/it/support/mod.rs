//! `spawn_app`: a pipeline of its own for each test: a fresh database, its own queue names on the shared
//! broker, the real worker binaries, and a local web server.

pub mod ops;
pub mod proxy;
pub mod web;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use newspipe_broker::{BrokerSettings, Topology};
use sqlx::{Connection as _, PgConnection, PgPool};
use uuid::Uuid;

pub use web::TestWeb;

/// Where the test services are: `AMQP_URL`/`DATABASE_URL`, else the file `deploy/services.sh` writes.
pub struct Services {
    pub amqp_url: String,
    pub database_url: String,
}

pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let dir = std::env::var("NEWSPIPE_SERVICES_DIR").unwrap_or_else(|_| "/tmp/newspipe-services".into());
        let file: HashMap<String, String> = std::fs::read_to_string(format!("{dir}/env"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let get = |key: &str| {
            std::env::var(key).ok().or_else(|| file.get(key).cloned()).unwrap_or_else(|| {
                panic!("{key} is not set and {dir}/env has none: start the services with `deploy/services.sh start`")
            })
        };
        Services { amqp_url: get("AMQP_URL"), database_url: get("DATABASE_URL") }
    })
}

pub fn bin(name: &str) -> PathBuf {
    match name {
        "newspipe" => env!("CARGO_BIN_EXE_newspipe").into(),
        "newspipe-fetcher" => env!("CARGO_BIN_EXE_newspipe-fetcher").into(),
        "newspipe-extractor" => env!("CARGO_BIN_EXE_newspipe-extractor").into(),
        "newspipe-store" => env!("CARGO_BIN_EXE_newspipe-store").into(),
        other => panic!("no binary {other}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    Fetcher,
    Extractor,
    Store,
}

impl Worker {
    pub const ALL: [Worker; 3] = [Worker::Fetcher, Worker::Extractor, Worker::Store];

    pub fn binary(self) -> &'static str {
        match self {
            Worker::Fetcher => "newspipe-fetcher",
            Worker::Extractor => "newspipe-extractor",
            Worker::Store => "newspipe-store",
        }
    }
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
        let status =
            Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().unwrap();
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TestApp {
    pub prefix: String,
    pub database_name: String,
    pub database_url: String,
    pub amqp_url: String,
    pub db: PgPool,
    pub web: TestWeb,
    pub dir: PathBuf,
    pub workers: Vec<WorkerProcess>,
    /// The services' own database URL, to create and drop this app's database.
    admin_url: String,
    /// Extra environment for every process this app starts.
    pub env: Vec<(String, String)>,
}

/// A fresh database and queue prefix, a web server, and no workers yet.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(services()).await
}

/// [`spawn_app`] on other services than the shared ones (the chaos test's private instance).
pub async fn spawn_app_on(services: &Services) -> TestApp {
    let id = Uuid::new_v4().simple().to_string();
    let prefix = format!("t{}", &id[..12]);
    let database_name = format!("newspipe_test_{}", &id[..16]);
    let mut admin =
        PgConnection::connect(&services.database_url).await.expect("connect to the test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{database_name}\"")))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    let mut url = url::Url::parse(&services.database_url).unwrap();
    url.set_path(&format!("/{database_name}"));
    let database_url = url.to_string();
    let db = PgPool::connect(&database_url).await.expect("connect to the test database");
    let dir = std::env::temp_dir().join(format!("newspipe-it-{prefix}"));
    std::fs::create_dir_all(&dir).unwrap();
    TestApp {
        prefix,
        database_name,
        database_url,
        amqp_url: services.amqp_url.clone(),
        db,
        web: TestWeb::start().await,
        dir,
        workers: Vec::new(),
        admin_url: services.database_url.clone(),
        env: Vec::new(),
    }
}

impl TestApp {
    /// The environment every process of this app gets.
    pub fn base_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AMQP_URL", self.amqp_url.as_str()),
            ("DATABASE_URL", self.database_url.as_str()),
            ("NEWSPIPE__BROKER__PREFIX", self.prefix.as_str()),
            ("NEWSPIPE__BROKER__RETRY__BASE_DELAY_MS", "200"),
            ("NEWSPIPE__BROKER__RETRY__MAX_ATTEMPTS", "3"),
            ("NEWSPIPE__BROKER__SHUTDOWN_GRACE_SECS", "5"),
            ("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "true"),
            ("NEWSPIPE__FETCHER__TIMEOUT_MS", "5000"),
            // Every test page is on one host; tests of politeness set their own interval.
            ("NEWSPIPE__POLITENESS__INTERVAL_MS", "0"),
            ("NEWSPIPE__POLITENESS__SLACK_MS", "0"),
            ("NEWSPIPE__METRICS__PORT", "0"),
            ("RUST_LOG", "info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(self.env.iter().cloned());
        env
    }

    pub fn broker_settings(&self) -> BrokerSettings {
        BrokerSettings {
            url: self.amqp_url.clone(),
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
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(bin(kind.binary()));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(env);
        command.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        let child = command.spawn().unwrap_or_else(|e| panic!("start {}: {e}", kind.binary()));
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
        command.args(args).stdin(Stdio::null());
        command.output().await.expect("run newspipe")
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

    pub async fn outcome_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outcomes").fetch_one(&self.db).await.unwrap_or(0)
    }

    /// url -> (outcome, reason)
    pub async fn outcomes(&self) -> HashMap<String, (String, Option<String>)> {
        let rows: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT url, outcome, reason FROM outcomes").fetch_all(&self.db).await.unwrap();
        rows.into_iter().map(|(url, outcome, reason)| (url, (outcome, reason))).collect()
    }

    pub fn logs(&self) -> String {
        self.workers
            .iter()
            .map(|w| format!("--- {} ({})\n{}", w.kind.binary(), w.log.display(), tail(&w.log_text(), 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn amqp(&self) -> Connection {
        Connection::connect(&self.amqp_url, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ")
    }

    /// Publishes raw bytes onto a work queue, as a foreign or broken producer would.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) {
        self.publish_raw_with(routing_key, body, BasicProperties::default()).await;
    }

    /// Publishes bytes as a producer outside newspipe would, with the properties given (persistent).
    pub async fn publish_raw_with(&self, routing_key: &str, body: &[u8], properties: BasicProperties) {
        let connection = self.amqp().await;
        let channel = connection.create_channel().await.unwrap();
        self.topology().declare(&channel).await.unwrap();
        channel.confirm_select(Default::default()).await.unwrap();
        let confirm = channel
            .basic_publish(
                self.prefix.as_str().into(),
                routing_key.into(),
                BasicPublishOptions { mandatory: true, ..Default::default() },
                body,
                properties.with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(
            confirm.is_ack() && confirm.take_message().is_none(),
            "raw publish to {routing_key} not routed"
        );
        let _ = connection.close(200, "bye".into()).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        }
        // Best effort: leave the shared broker and database as we found them.
        let topology = self.topology();
        let amqp_url = self.amqp_url.clone();
        let admin_url = self.admin_url.clone();
        let database_name = self.database_name.clone();
        let db = self.db.clone();
        let dir = self.dir.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                db.close().await;
                if let Ok(connection) = Connection::connect(&amqp_url, ConnectionProperties::default()).await
                {
                    if let Ok(channel) = connection.create_channel().await {
                        let _ = topology.delete(&channel).await;
                    }
                    let _ = connection.close(200, "bye".into()).await;
                }
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{database_name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
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
