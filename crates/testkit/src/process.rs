//! The worker binaries: which there are, where cargo built them, and how they are started.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use newspipe_broker::Queue;

/// The worker binaries: the three stages of a URL's path (in order), and the WARC reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Worker {
    Fetcher,
    Extractor,
    Store,
    /// Reads WARC files into outcomes for the store (a path of its own beside the fetcher and extractor).
    WarcReader,
    /// Renders pages built by JavaScript in headless Chromium (needs `/usr/bin/chromium`).
    Renderer,
}

impl Worker {
    /// The live web's pipeline: what [`Worker::ALL`] starts and the chaos tests kill.
    pub const ALL: [Worker; 3] = [Worker::Fetcher, Worker::Extractor, Worker::Store];
    /// Every worker binary.
    pub const EVERY: [Worker; 5] =
        [Worker::Fetcher, Worker::Extractor, Worker::Store, Worker::WarcReader, Worker::Renderer];

    /// The binary's name, `newspipe-fetcher`...
    pub fn binary(self) -> &'static str {
        match self {
            Worker::Fetcher => "newspipe-fetcher",
            Worker::Extractor => "newspipe-extractor",
            Worker::Store => "newspipe-store",
            Worker::WarcReader => "newspipe-warc-reader",
            Worker::Renderer => "newspipe-renderer",
        }
    }

    /// The stage's short name, `fetcher`...
    pub fn name(self) -> &'static str {
        match self {
            Worker::Fetcher => "fetcher",
            Worker::Extractor => "extractor",
            Worker::Store => "store",
            Worker::WarcReader => "warc-reader",
            Worker::Renderer => "renderer",
        }
    }

    /// The queue it consumes.
    pub fn queue(self) -> Queue {
        match self {
            Worker::Fetcher => Queue::Fetch,
            Worker::Extractor => Queue::Extract,
            Worker::Store => Queue::Store,
            Worker::WarcReader => Queue::Warc,
            Worker::Renderer => Queue::Render,
        }
    }
}

/// Where the binaries are. Only the root package's tests and benches know (cargo tells them at build time,
/// `CARGO_BIN_EXE_*`): they make this with [`binaries!`](crate::binaries).
#[derive(Debug, Clone)]
pub struct Binaries {
    pub newspipe: PathBuf,
    pub fetcher: PathBuf,
    pub extractor: PathBuf,
    pub store: PathBuf,
    pub warc_reader: PathBuf,
    pub renderer: PathBuf,
}

impl Binaries {
    pub fn worker(&self, worker: Worker) -> &Path {
        match worker {
            Worker::Fetcher => &self.fetcher,
            Worker::Extractor => &self.extractor,
            Worker::Store => &self.store,
            Worker::WarcReader => &self.warc_reader,
            Worker::Renderer => &self.renderer,
        }
    }

    /// A binary by its name (`newspipe`, `newspipe-fetcher`...); panics for another name.
    pub fn by_name(&self, name: &str) -> &Path {
        match name {
            "newspipe" => &self.newspipe,
            other => Worker::EVERY
                .into_iter()
                .find(|w| w.binary() == other)
                .map(|w| self.worker(w))
                .unwrap_or_else(|| panic!("no binary {other}")),
        }
    }
}

/// The [`Binaries`] cargo built, read where this is expanded: in a test or a bench of the root package.
#[macro_export]
macro_rules! binaries {
    () => {
        $crate::Binaries {
            newspipe: env!("CARGO_BIN_EXE_newspipe").into(),
            fetcher: env!("CARGO_BIN_EXE_newspipe-fetcher").into(),
            extractor: env!("CARGO_BIN_EXE_newspipe-extractor").into(),
            store: env!("CARGO_BIN_EXE_newspipe-store").into(),
            warc_reader: env!("CARGO_BIN_EXE_newspipe-warc-reader").into(),
            renderer: env!("CARGO_BIN_EXE_newspipe-renderer").into(),
        }
    };
}

/// Starts `program` with only `env` (and `PATH`), standard input closed, standard output and error into a new
/// file `log`.
pub fn spawn_logged<K, V>(
    program: &Path,
    env: impl IntoIterator<Item = (K, V)>,
    log: &Path,
) -> std::io::Result<Child>
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let file = std::fs::File::create(log)?;
    let mut command = Command::new(program);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(env);
    command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    command.spawn()
}

/// `kill -SIGNAL pid` (`TERM`, `STOP`, `CONT`...).
pub fn signal(pid: u32, signal: &str) -> std::io::Result<ExitStatus> {
    Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status()
}

/// Kills `child` (SIGKILL) and reaps it, ignoring a child that already exited: what a guard of a worker
/// process does when dropped.
pub fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
