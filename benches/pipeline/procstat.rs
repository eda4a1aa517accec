//! CPU time and peak memory of processes, read from `/proc`.

use std::process::Command;

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `/proc/<pid>/stat` fields after the command name: state is [0], ppid [1], utime [11], stime [12], cutime
/// [13], cstime [14].
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// User plus system CPU seconds of a process (all its threads).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let f = stat_fields(pid)?;
    Some((f[11] + f[12]) as f64 / clock_ticks())
}

pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(&format!("{key}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn memory_total() -> String {
    status_like("/proc/meminfo", "MemTotal")
        .map(|kb| format!("{:.1} GiB", kb as f64 / 1048576.0))
        .unwrap_or_default()
}

fn status_like(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds so far of RabbitMQ (its `beam.smp`) and PostgreSQL (the postmaster, the children it reaped,
/// and its live children), as started by `deploy/services.sh`.
pub fn services_cpu() -> Option<(f64, f64)> {
    let dir = newspipe_testkit::services_dir();
    let mut rabbit = None;
    let mut postgres = None;
    let postmaster: Option<u32> = std::fs::read_to_string(dir.join("postgres/data/postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()));
    let mut pg_children = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let Some(f) = stat_fields(pid) else { continue };
        if comm.trim() == "beam.smp" {
            let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.contains(dir.to_string_lossy().as_ref()) || rabbit.is_none() {
                rabbit = Some((f[11] + f[12]) as f64 / clock_ticks());
            }
        }
        if Some(pid) == postmaster {
            postgres = Some((f[11] + f[12] + f[13] + f[14]) as f64 / clock_ticks());
        } else if postmaster.is_some_and(|pm| f[1] as u32 == pm) {
            pg_children += (f[11] + f[12]) as f64 / clock_ticks();
        }
    }
    Some((rabbit?, postgres? + pg_children))
}
