//! What a WARC file's name and a listing's lines say: the time a file was written (CC-NEWS names carry it:
//! `CC-NEWS-20240101123456-00001.warc.gz`), and where a listed path lives.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The time in a WARC file's name: the first run of 14 digits that reads as `YYYYMMDDhhmmss`, else the
/// first run of 8 that reads as `YYYYMMDD` (midnight UTC). Only the name counts, not the folders.
pub fn date_in_name(path: &str) -> Option<DateTime<Utc>> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let runs: Vec<&str> = name.split(|c: char| !c.is_ascii_digit()).filter(|run| !run.is_empty()).collect();
    let full = runs
        .iter()
        .filter(|run| run.len() == 14)
        .find_map(|run| NaiveDateTime::parse_from_str(run, "%Y%m%d%H%M%S").ok().map(|t| t.and_utc()));
    full.or_else(|| {
        runs.iter().filter(|run| run.len() == 8).find_map(|run| {
            NaiveDate::parse_from_str(run, "%Y%m%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
    })
}

/// The source a listing line names: an absolute URL or path as it is, a relative path joined to `base`.
/// `None` for a blank line or a comment (`#`); an error for a relative path without a base.
pub fn resolve_listing_line(line: &str, base: Option<&str>) -> Result<Option<String>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.starts_with("http://") || line.starts_with("https://") || line.starts_with('/') {
        return Ok(Some(line.to_string()));
    }
    match base {
        Some(base) => Ok(Some(format!("{}/{}", base.trim_end_matches('/'), line.trim_start_matches('/')))),
        None => Err(format!(
            "`{line}` is a relative path: give --warc-base (Common Crawl's is https://data.commoncrawl.org/)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cc_news_name_dates_its_file_to_the_second() {
        let date = date_in_name("crawl-data/CC-NEWS/2024/01/CC-NEWS-20240101123456-00001.warc.gz").unwrap();
        assert_eq!(date.to_rfc3339(), "2024-01-01T12:34:56+00:00");
    }

    #[test]
    fn a_name_with_a_day_only_dates_it_to_midnight_and_a_name_without_digits_not_at_all() {
        assert_eq!(
            date_in_name("/data/news-20231130.warc").unwrap().to_rfc3339(),
            "2023-11-30T00:00:00+00:00"
        );
        assert_eq!(date_in_name("/data/2024/pages.warc.gz"), None, "folders do not date a file");
        assert_eq!(date_in_name("pages-99999999999999.warc"), None, "not a time");
    }

    #[test]
    fn listing_lines_resolve_against_the_base_and_a_relative_one_needs_it() {
        let base = Some("https://data.commoncrawl.org/");
        assert_eq!(
            resolve_listing_line("crawl-data/CC-NEWS/x.warc.gz\n", base).unwrap().as_deref(),
            Some("https://data.commoncrawl.org/crawl-data/CC-NEWS/x.warc.gz")
        );
        assert_eq!(resolve_listing_line("  # a comment", None).unwrap(), None);
        assert_eq!(resolve_listing_line("/abs/x.warc", None).unwrap().as_deref(), Some("/abs/x.warc"));
        assert!(resolve_listing_line("x.warc", None).unwrap_err().contains("--warc-base"));
    }
}
