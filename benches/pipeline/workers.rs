//! A fresh database and queue prefix on the shared services (see `newspipe_testkit`), and the worker
//! processes started on them.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newspipe_broker::{BrokerSettings, Topology};
use newspipe_testkit::{Binaries, Scratch, ScratchKind, Services};

use crate::Stage;
use crate::args::Args;
use crate::procstat::cpu_seconds;

/// A worker process, killed when dropped.
pub struct Worker {
    pub stage: Stage,
    pub child: Child,
    pub cpu_start: f64,
}

impl Drop for Worker {
    fn drop(&mut self) {
        newspipe_testkit::kill_and_reap(&mut self.child);
    }
}

/// A fresh database and queue prefix on the shared services.
pub struct Bench {
    pub scratch: Scratch,
    pub dir: PathBuf,
    binaries: Binaries,
}

impl Bench {
    pub async fn create(args: &Args) -> anyhow::Result<Bench> {
        let services = Services::find()?;
        let scratch =
            Scratch::create(&services, ScratchKind::Bench).await.context("create the benchmark database")?;
        let dir = std::env::temp_dir().join(format!("newspipe-bench-{}", scratch.prefix));
        std::fs::create_dir_all(&dir)?;
        if args.keep_logs {
            println!("worker logs: {}", dir.display());
        }
        Ok(Bench { scratch, dir, binaries: newspipe_testkit::binaries!() })
    }

    pub fn broker_settings(&self) -> BrokerSettings {
        BrokerSettings {
            url: self.scratch.amqp_url.clone().into(),
            prefix: self.scratch.prefix.clone(),
            ..BrokerSettings::default()
        }
    }

    pub fn start(&self, args: &Args, stage: Stage, n: usize) -> anyhow::Result<Worker> {
        let log = self.dir.join(format!("{}-{n}.log", stage.name()));
        let mut env = self.scratch.worker_env();
        env.push(("NEWSPIPE__POLITENESS__INTERVAL_MS".into(), args.interval_ms.to_string()));
        env.push(("RUST_LOG".into(), args.log_level.clone()));
        env.extend(args.env.iter().cloned());
        let binary = self.binaries.worker(stage);
        let child = newspipe_testkit::spawn_logged(binary, env, &log)
            .with_context(|| format!("start {}", binary.display()))?;
        let cpu_start = cpu_seconds(child.id()).unwrap_or(0.0);
        Ok(Worker { stage, child, cpu_start })
    }

    pub async fn cleanup(&self, args: &Args) {
        self.scratch.remove(&Topology::new(&self.broker_settings())).await;
        if !args.keep_logs {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Asks each worker to stop (SIGTERM).
pub fn terminate(workers: &[Worker]) {
    for worker in workers {
        let _ = newspipe_testkit::signal(worker.child.id(), "TERM");
    }
}

/// Waits until each stage's queue has as many consumers as processes started.
pub async fn wait_consumers(
    topology: &Topology,
    channel: &lapin::Channel,
    stages: &[(Stage, usize)],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = topology.stats(channel).await?;
        let ready = stages.iter().all(|(stage, count)| {
            stats
                .iter()
                .find(|s| s.name == topology.queue_name(stage.queue()))
                .is_some_and(|s| s.consumers as usize >= *count)
        });
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the workers did not all consume within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
