//! One headless Chromium: started by the renderer itself (its user, its flags, its pid known), driven over
//! the DevTools protocol by chromiumoxide, killed when it misbehaves.
//!
//! The browser is given a network it cannot use: every context it opens goes through a proxy that does
//! not exist (127.0.0.1:9, loopback included), so a request that escapes the interception of
//! [`crate::render`] (a WebSocket, a service worker, a prefetch, a DNS lookup) fails instead of reaching
//! anything. QUIC, WebRTC's direct UDP, background networking, DNS prefetch, extensions and images are off.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chromiumoxide::Browser;
use chromiumoxide::handler::HandlerConfig;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::config::RendererSettings;

/// Where every request the browser makes on its own is sent: nothing listens there (the discard port).
pub(crate) const DEAD_PROXY: &str = "http://127.0.0.1:9";
/// `<-loopback>` removes Chromium's implicit bypass of the proxy for loopback addresses.
pub(crate) const PROXY_BYPASS: &str = "<-loopback>";

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("start {path}: {source}")]
    Spawn { path: String, source: std::io::Error },
    #[error("{path} did not print its DevTools address within {secs} s; it said: {said}")]
    NoDevTools { path: String, secs: u64, said: String },
    #[error("connect to Chromium's DevTools at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("renderer.user {user:?}: {detail}")]
    User { user: String, detail: String },
    #[error("the browser's folder {path}: {source}")]
    Folder { path: String, source: std::io::Error },
}

/// A running browser: its process, its DevTools connection and the task that drives the connection.
pub(crate) struct BrowserProcess {
    pub browser: Browser,
    child: Child,
    driver: JoinHandle<()>,
    folder: PathBuf,
    pub pages: u32,
    /// Which browser of this process it is (0, 1, ...): a page that failed kills the browser it used, never
    /// the one started since for the other tabs.
    pub serial: u64,
}

impl BrowserProcess {
    pub async fn launch(settings: &RendererSettings) -> Result<BrowserProcess, LaunchError> {
        // One folder per browser ever started by this process (several renderers may share a process).
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let folder = std::env::temp_dir().join(format!("newspipe-renderer-{}-{serial}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder)
            .map_err(|source| LaunchError::Folder { path: folder.display().to_string(), source })?;
        let path = settings.chromium.display().to_string();
        let mut command = Command::new(&settings.chromium);
        command
            .args(arguments(settings, &folder))
            .env("HOME", &folder)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if is_root() {
            // Chromium's sandbox refuses to run as root, and a browser should not anyway.
            let (uid, gid) = user_ids(&settings.user)?;
            if uid == 0 {
                return Err(LaunchError::User {
                    user: settings.user.clone(),
                    detail: "is root: name an unprivileged user for Chromium".into(),
                });
            }
            std::os::unix::fs::chown(&folder, Some(uid), Some(gid))
                .map_err(|source| LaunchError::Folder { path: folder.display().to_string(), source })?;
            command.uid(uid).gid(gid);
        }
        let mut child =
            command.spawn().map_err(|source| LaunchError::Spawn { path: path.clone(), source })?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let secs = 30;
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let found = tokio::time::timeout(Duration::from_secs(secs), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Some(url.trim().to_string());
                }
                if said.len() < 20 {
                    said.push(line);
                }
            }
            None
        })
        .await;
        let Ok(Some(ws_url)) = found else {
            let _ = child.start_kill();
            return Err(LaunchError::NoDevTools { path, secs, said: said.join(" | ") });
        };
        // Chromium's later messages are drained and dropped: a full pipe would stall it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let config = HandlerConfig {
            request_intercept: true,
            cache_enabled: false,
            ignore_https_errors: false,
            request_timeout: settings.page_timeout() + Duration::from_secs(10),
            viewport: None,
            ..HandlerConfig::default()
        };
        let (browser, mut handler) = Browser::connect_with_config(ws_url.clone(), config)
            .await
            .map_err(|e| LaunchError::Connect { url: ws_url, detail: e.to_string() })?;
        let driver = tokio::spawn(async move {
            // Errors here are single messages chromiumoxide could not read; the stream ends when the
            // connection does (the browser exited).
            while handler.next().await.is_some() {}
        });
        Ok(BrowserProcess { browser, child, driver, folder, pages: 0, serial })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the browser process has exited (crashed, or killed).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Memory of the browser and every process it started, in MB.
    pub fn rss_mb(&self) -> u64 {
        self.pid().map_or(0, |pid| tree_rss_kb(pid) / 1024)
    }

    /// Kills the browser (all its processes die with it: they watch their parent's pipe) and removes its
    /// folder (profile, caches: nothing survives a browser).
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        self.driver.abort();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn arguments(settings: &RendererSettings, folder: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-breakpad",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-quic",
        "--dns-prefetch-disable",
        "--no-pings",
        "--mute-audio",
        "--hide-scrollbars",
        "--blink-settings=imagesEnabled=false",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,InterestFeedContentSuggestions",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--proxy-server={DEAD_PROXY}"));
    args.push(format!("--proxy-bypass-list={PROXY_BYPASS}"));
    args.push(format!("--js-flags=--max-old-space-size={}", settings.max_js_heap_mb));
    args.push(format!("--user-data-dir={}", folder.join("profile").display()));
    if !settings.sandbox {
        args.push("--no-sandbox".into());
    }
    args.push("about:blank".into());
    args
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The uid and gid of `user` (a name in /etc/passwd, or a number).
fn user_ids(user: &str) -> Result<(u32, u32), LaunchError> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| LaunchError::User { user: user.into(), detail: format!("read /etc/passwd: {e}") })?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && (f[0] == user || f[2] == user))
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| LaunchError::User { user: user.into(), detail: "not in /etc/passwd".into() })
}

/// The resident memory of `root` and its descendants, in KB, from /proc.
fn tree_rss_kb(root: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let mut parents = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The command may hold spaces and parentheses: the fields start after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(ppid), Some(rss_pages)) = (
            fields.get(1).and_then(|p| p.parse::<u32>().ok()),
            fields.get(21).and_then(|r| r.parse::<u64>().ok()),
        ) else {
            continue;
        };
        parents.push((pid, ppid, rss_pages * 4));
    }
    let mut inside = vec![root];
    let mut total = 0;
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, _) in &parents {
            if inside.contains(ppid) && !inside.contains(pid) {
                inside.push(*pid);
                grew = true;
            }
        }
    }
    for (pid, _, kb) in &parents {
        if inside.contains(pid) {
            total += kb;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_is_given_a_dead_proxy_for_every_address_and_no_quic() {
        let args = arguments(&RendererSettings::default(), Path::new("/tmp/x"));
        assert!(args.contains(&"--proxy-server=http://127.0.0.1:9".to_string()));
        assert!(args.contains(&"--proxy-bypass-list=<-loopback>".to_string()));
        assert!(args.contains(&"--disable-quic".to_string()));
        assert!(!args.contains(&"--no-sandbox".to_string()), "the sandbox is on by default");
        let off =
            arguments(&RendererSettings { sandbox: false, ..RendererSettings::default() }, Path::new("/x"));
        assert!(off.contains(&"--no-sandbox".to_string()));
    }

    #[test]
    fn users_are_found_by_name_or_number_and_unknown_ones_named() {
        assert_eq!(user_ids("root").unwrap(), (0, 0));
        assert_eq!(user_ids("0").unwrap().0, 0);
        assert!(user_ids("no-such-user-here").unwrap_err().to_string().contains("no-such-user-here"));
    }

    #[test]
    fn the_memory_of_this_process_tree_is_counted() {
        assert!(tree_rss_kb(std::process::id()) > 1000, "this test process uses more than 1 MB");
    }
}
