//! `spawn_api`: `newspipe serve` for a test app (the real binary, on a port of its own), its tokens, and a
//! client for it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{TestApp, bin};

/// A running `newspipe serve`; killed when dropped.
pub struct TestApi {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub child: Child,
    pub log: PathBuf,
    pub client: reqwest::Client,
}

impl Drop for TestApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestApi {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log_text()))
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.log_text()))
    }
}

/// A response's status and its body as JSON (asserting the content type of a problem for an error).
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = response.text().await.unwrap();
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{status}: {text}");
    }
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} not JSON ({e}): {text}"));
    (status, value)
}

/// The address `newspipe serve` says it listens on, read from its log (`http://127.0.0.1:PORT`).
pub fn listening_address(log: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("listening on ").nth(1) {
            return rest.split_whitespace().next().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "newspipe serve did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl TestApp {
    /// Starts `newspipe serve` on this app's database and queues, with generous rate limits (tests of the
    /// limits set their own in `extra`).
    pub fn spawn_api(&self, extra: &[(&str, &str)]) -> TestApi {
        let mut env = self.base_env();
        env.extend(
            [
                ("NEWSPIPE__API__REQUESTS_PER_SECOND", "100000"),
                ("NEWSPIPE__API__BURST", "100000"),
                ("NEWSPIPE__API__AUTH_FAILURES_PER_MINUTE", "100000"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let n = std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0);
        let log = self.dir.join(format!("newspipe-serve-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin("newspipe"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start newspipe serve");
        let address = listening_address(&log);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestApi { address, child, log, client }
    }

    /// `newspipe token create` with this name and scope: the token, the command's only line on standard output.
    pub fn token(&self, name: &str, scope: &str) -> String {
        let output = self.cli(&["token", "create", "--name", name, "--scope", scope], None);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "token create: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout.lines().count(), 1, "the token alone on standard output: {stdout:?}");
        stdout.trim().to_string()
    }
}
