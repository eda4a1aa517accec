//! What several commands share: reading `--since`, opening the broker, printing times.

use chrono::{DateTime, NaiveDate, Utc};
use lapin::Connection;
use newspipe_broker::Topology;

use crate::{Exit, Settings};

/// Parses `--since`: an RFC 3339 time (`2026-11-27T08:00:00Z`), a date (`2026-11-27`, midnight UTC), or a
/// duration back from now (`90m`, `36h`, `7d`, `2w`).
pub fn parse_since(value: &str) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && !number.is_empty() => Ok(Utc::now() - chrono::Duration::seconds(n * seconds)),
        _ => Err(format!(
            "`{value}` is not a time: use a date (2026-11-27), an RFC 3339 time (2026-11-27T08:00:00Z) or an age \
             (90m, 36h, 7d, 2w)"
        )),
    }
}

/// Opens a connection to the broker and declares the topology (idempotent), so commands work on a fresh
/// broker too.
pub async fn broker(settings: &Settings, name: &str) -> anyhow::Result<(Connection, Topology)> {
    let topology = Topology::new(&settings.broker);
    let connection = settings.broker.connect(name).await?;
    let channel = connection.create_channel().await.map_err(|e| anyhow::anyhow!("opening a channel: {e}"))?;
    topology.declare(&channel).await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok((connection, topology))
}

/// A unix time as `2026-11-27 08:00:00Z`.
pub fn unix_time(seconds: Option<u64>) -> String {
    seconds
        .and_then(|s| DateTime::<Utc>::from_timestamp(s as i64, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// `--limit` must be positive.
pub fn positive(value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{value}` is not a positive number")),
    }
}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Exit::usage(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_dates_times_and_ages() {
        assert_eq!(parse_since("2026-11-27").unwrap().to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(
            parse_since("2026-11-27T08:30:00+01:00").unwrap().to_rfc3339(),
            "2026-11-27T07:30:00+00:00"
        );
        let age = Utc::now() - parse_since("36h").unwrap();
        assert!((age.num_minutes() - 36 * 60).abs() <= 1, "{age}");
        assert!(parse_since("7d").is_ok() && parse_since("2w").is_ok() && parse_since("90m").is_ok());
        for bad in ["yesterday", "7", "d", "2026-13-01"] {
            assert!(parse_since(bad).unwrap_err().contains("is not a time"), "{bad}");
        }
    }
}
