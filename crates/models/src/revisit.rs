//! When a stored article is fetched again to see whether it changed: a list of offsets from its first
//! fetch (`1h,6h,24h,72h,7d`), or `off`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Offsets from an article's first fetch, ascending; empty: never revisited (`off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisitSchedule(Vec<Duration>);

/// The schedule an article gets unless its site or feed says otherwise.
pub const DEFAULT_REVISIT_SCHEDULE: &str = "1h,6h,24h,72h,7d";

/// Most steps a schedule has: it is kept per article, so it stays small.
pub const MAX_REVISIT_STEPS: usize = 32;

/// The longest offset a schedule may have: ten years.
pub const MAX_REVISIT_OFFSET: Duration = Duration::from_secs(3650 * 86_400);

impl RevisitSchedule {
    pub fn off() -> RevisitSchedule {
        RevisitSchedule(Vec::new())
    }

    pub fn is_off(&self) -> bool {
        self.0.is_empty()
    }

    pub fn offsets(&self) -> &[Duration] {
        &self.0
    }

    /// The offset of step `step` (from 0); `None` after the last one.
    pub fn offset(&self, step: usize) -> Option<Duration> {
        self.0.get(step).copied()
    }
}

impl Default for RevisitSchedule {
    fn default() -> Self {
        DEFAULT_REVISIT_SCHEDULE.parse().expect("the default revisit schedule parses")
    }
}

impl std::str::FromStr for RevisitSchedule {
    type Err = String;

    /// `off` (or `none`, or nothing), or offsets separated by commas, each a duration such as `90m`, `6h`,
    /// `7d`; they are sorted, and a repeated one counts once.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("off") || value.eq_ignore_ascii_case("none") {
            return Ok(RevisitSchedule::off());
        }
        let mut offsets = Vec::new();
        for part in value.split(',') {
            let part = part.trim();
            let offset = humantime::parse_duration(part).map_err(|e| {
                format!("revisit offset {part:?} in {value:?}: {e} (e.g. 1h,6h,24h,72h,7d or off)")
            })?;
            if offset.is_zero() {
                return Err(format!("revisit offset {part:?} in {value:?}: must be more than 0"));
            }
            if offset > MAX_REVISIT_OFFSET {
                return Err(format!("revisit offset {part:?} in {value:?}: at most 3650d (ten years)"));
            }
            offsets.push(offset);
        }
        offsets.sort();
        offsets.dedup();
        if offsets.len() > MAX_REVISIT_STEPS {
            return Err(format!("revisit schedule {value:?}: at most {MAX_REVISIT_STEPS} offsets"));
        }
        Ok(RevisitSchedule(offsets))
    }
}

impl fmt::Display for RevisitSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() {
            return f.write_str("off");
        }
        let parts: Vec<String> = self.0.iter().map(|d| humantime::format_duration(*d).to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for RevisitSchedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From a string (`"1h,6h"`, as the environment gives it) or a list of strings (`["1h", "6h"]` in TOML).
impl<'de> Deserialize<'de> for RevisitSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(String),
            List(Vec<String>),
        }
        let text = match Written::deserialize(deserializer)? {
            Written::One(text) => text,
            Written::List(list) if list.is_empty() => "off".to_string(),
            Written::List(list) => list.join(","),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for RevisitSchedule {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RevisitSchedule".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`off`, or offsets from the first fetch separated by commas: `1h,6h,24h,72h,7d`",
            "examples": ["1h,6h,24h,72h,7d", "off"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_reads_from_a_comma_list_and_writes_back_the_same() {
        let schedule: RevisitSchedule = "6h, 1h,7d,1h".parse().unwrap();
        assert_eq!(
            schedule.offsets(),
            &[Duration::from_secs(3600), Duration::from_secs(6 * 3600), Duration::from_secs(7 * 86400)]
        );
        assert_eq!(schedule.to_string(), "1h,6h,7days");
        assert_eq!(schedule.to_string().parse::<RevisitSchedule>().unwrap(), schedule);
        assert_eq!(RevisitSchedule::default().offsets().len(), 5);
        assert!("off".parse::<RevisitSchedule>().unwrap().is_off());
    }

    #[test]
    fn a_bad_offset_says_which_and_why() {
        let error = "1h,soon".parse::<RevisitSchedule>().unwrap_err();
        assert!(error.contains("\"soon\""), "{error}");
        let error = "1h,300000y".parse::<RevisitSchedule>().unwrap_err();
        assert!(error.contains("ten years"), "{error}");
        assert!("0s".parse::<RevisitSchedule>().unwrap_err().contains("more than 0"));
    }

    #[test]
    fn a_schedule_deserializes_from_a_string_or_a_list() {
        let from_list: RevisitSchedule = serde_json::from_str(r#"["1h", "2h"]"#).unwrap();
        let from_text: RevisitSchedule = serde_json::from_str(r#""1h,2h""#).unwrap();
        assert_eq!(from_list, from_text);
        assert!(serde_json::from_str::<RevisitSchedule>(r#""1x""#).is_err());
    }
}
