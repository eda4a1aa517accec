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

/// CPU seconds of a process and of the children it has reaped (their own reaped children included).
pub fn cpu_seconds_with_children(pid: u32) -> Option<f64> {
    let f = stat_fields(pid)?;
    Some((f[11] + f[12] + f[13] + f[14]) as f64 / clock_ticks())
}

/// Every live descendant of `pid` (children, their children...).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if let Some(f) = stat_fields(child) {
            parents.push((child, f[1] as u32));
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// CPU seconds of `pid`'s live descendants and of what each of them reaped.
pub fn descendants_cpu(pid: u32) -> f64 {
    descendants(pid).into_iter().filter_map(cpu_seconds_with_children).sum()
}

/// The memory of `pid` and all its descendants now, in kB: (PSS summed, RSS summed).
pub fn tree_memory_kb(pid: u32) -> (u64, u64) {
    let mut pss = 0;
    let mut rss = 0;
    for p in std::iter::once(pid).chain(descendants(pid)) {
        pss += status_like(&format!("/proc/{p}/smaps_rollup"), "Pss").unwrap_or(0);
        rss += status_kb(p, "VmRSS").unwrap_or(0);
    }
    (pss, rss)
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
