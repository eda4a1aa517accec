//! The tool a user would run instead: trafilatura's command line on the same URL list, from the same local
//! hosts, in the same run (issue 17): `trafilatura --config-file F -i URLS --parallel 2 --json -o DIR`, F its
//! settings with `SLEEP_TIME = 0` and `SSRF_PROTECTION = off`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// What the peer did: articles written, seconds, CPU seconds of it and its children.
pub struct PeerRun {
    pub version: String,
    pub articles: usize,
    pub seconds: f64,
    pub cpu_seconds: f64,
}

/// trafilatura's version, when its command line is installed.
pub fn trafilatura_version() -> Option<String> {
    let output = Command::new("trafilatura").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    output.status.success().then(|| text.trim().to_string())
}

pub fn run_trafilatura(urls: &[String], dir: &Path, parallel: usize) -> anyhow::Result<PeerRun> {
    let version = trafilatura_version().unwrap_or_default();
    std::fs::create_dir_all(dir)?;
    let config = dir.join("settings.cfg");
    std::fs::write(
        &config,
        "[DEFAULT]\nDOWNLOAD_TIMEOUT = 30\nMAX_FILE_SIZE = 20000000\nMIN_FILE_SIZE = 10\nSLEEP_TIME = 0\n\
         USER_AGENTS =\nCOOKIE =\nMAX_REDIRECTS = 2\nSSRF_PROTECTION = off\nINSECURE_SSL_FALLBACK = on\n\
         MIN_EXTRACTED_SIZE = 250\nMIN_OUTPUT_SIZE = 1\nMIN_OUTPUT_COMM_SIZE = 1\nMAX_TREE_SIZE =\n\
         EXTRACTION_TIMEOUT = 30\nMIN_DUPLCHECK_SIZE = 100\nMAX_REPETITIONS = 2\nEXTENSIVE_DATE_SEARCH = on\n\
         EXTERNAL_URLS = off\n",
    )?;
    let list = dir.join("urls.txt");
    std::fs::write(&list, urls.join("\n") + "\n")?;
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%U %S", "-o"])
        .arg(dir.join("cpu"))
        .arg("trafilatura")
        .arg("--config-file")
        .arg(&config)
        .arg("-i")
        .arg(&list)
        .args(["--parallel", &parallel.to_string(), "--json", "-o"])
        .arg(&out)
        .stdout(std::fs::File::create(dir.join("stdout"))?)
        .stderr(std::fs::File::create(dir.join("stderr"))?)
        .status()?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        anyhow::bail!("trafilatura exited with {status}; its output is in {}", dir.display());
    }
    let cpu_seconds = std::fs::read_to_string(dir.join("cpu"))
        .unwrap_or_default()
        .lines()
        .last()
        .map(|l| l.split_whitespace().filter_map(|f| f.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    let articles = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    Ok(PeerRun { version, articles, seconds, cpu_seconds })
}
