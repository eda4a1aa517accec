//! Dates as pages write them: ISO 8601/RFC 3339, RFC 2822, "October 6, 2020", "6 Oct, 2020 12:47",
//! "06.10.2020", epoch seconds, and dates in URL paths. A date without a zone is taken as UTC.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Dates before this are not news publication dates (they are usually parse accidents).
const MIN_YEAR: i32 = 1995;
const MAX_YEAR: i32 = 2100;

pub fn parse_date(input: &str) -> Option<DateTime<Utc>> {
    parse_date_local(input).map(|d| d.with_timezone(&Utc))
}

/// The date with the offset the page wrote (UTC where it wrote none): its own calendar day.
pub(crate) fn parse_date_local(input: &str) -> Option<DateTime<FixedOffset>> {
    let s = input.trim();
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    let parsed = parse_iso(s)
        .or_else(|| DateTime::parse_from_rfc2822(s).ok())
        .or_else(|| parse_epoch(s).map(|d| d.fixed_offset()))
        .or_else(|| parse_textual(s).map(|d| d.fixed_offset()))
        .or_else(|| parse_numeric(s).map(|d| d.fixed_offset()))?;
    let year = chrono::Datelike::year(&parsed);
    (MIN_YEAR..=MAX_YEAR).contains(&year).then_some(parsed)
}

fn parse_epoch(s: &str) -> Option<DateTime<Utc>> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = s.parse().ok()?;
    match s.len() {
        10 => Utc.timestamp_opt(n, 0).single(),
        13 => Utc.timestamp_millis_opt(n).single(),
        _ => None,
    }
}

/// `YYYY-MM-DD`, optionally followed by `[T ]HH:MM[:SS[.fff]]` and a zone (`Z`, `±HH[:MM]`, `UTC`, `GMT`).
fn parse_iso(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (date, rest) = if b.len() >= 10 && (b[4] == b'-' || b[4] == b'/' || b[4] == b'.') && b[7] == b[4] {
        let date = NaiveDate::parse_from_str(s.get(..10)?, &format!("%Y{0}%m{0}%d", b[4] as char)).ok()?;
        (date, s.get(10..)?)
    } else if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) && (b.len() == 8 || b[8] == b'T') {
        (NaiveDate::parse_from_str(&s[..8], "%Y%m%d").ok()?, &s[8..])
    } else {
        return None;
    };
    let rest = rest.trim_start_matches(['T', 't', ' ']);
    if rest.is_empty() {
        return Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)).fixed_offset());
    }
    // The time: digits and colons, then an optional fraction.
    let time_end = rest.find(|c: char| !(c.is_ascii_digit() || c == ':')).unwrap_or(rest.len());
    let time_str = &rest[..time_end];
    let time = match time_str.len() {
        5 => NaiveTime::parse_from_str(time_str, "%H:%M").ok(),
        8 => NaiveTime::parse_from_str(time_str, "%H:%M:%S").ok(),
        6 => NaiveTime::parse_from_str(time_str, "%H%M%S").ok(),
        4 => NaiveTime::parse_from_str(time_str, "%H%M").ok(),
        _ => None,
    };
    let Some(time) = time else {
        // A date followed by something we cannot read: the day is still right.
        return Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)).fixed_offset());
    };
    let mut zone = &rest[time_end..];
    if let Some(frac) = zone.strip_prefix(['.', ',']) {
        zone = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let naive = NaiveDateTime::new(date, time);
    let offset = parse_zone(zone.trim()).unwrap_or(FixedOffset::east_opt(0)?);
    offset.from_local_datetime(&naive).single()
}

fn parse_zone(zone: &str) -> Option<FixedOffset> {
    if zone.is_empty() {
        return None;
    }
    let upper = zone.to_ascii_uppercase();
    if upper == "Z" || upper.starts_with("UTC") && upper.len() == 3 || upper == "GMT" {
        return FixedOffset::east_opt(0);
    }
    let upper = upper.trim_start_matches("UTC").trim_start_matches("GMT");
    let sign = match upper.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = upper[1..].chars().filter(char::is_ascii_digit).take(4).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (digits[..1].parse::<i32>().ok()?, digits[1..].parse::<i32>().ok()?),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

fn month_from_word(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    const MONTHS: [(&[&str], u32); 12] = [
        (
            &[
                "jan",
                "january",
                "januar",
                "janvier",
                "enero",
                "gennaio",
                "janeiro",
                "januari",
                "января",
                "январь",
            ],
            1,
        ),
        (
            &[
                "feb",
                "february",
                "februar",
                "février",
                "fevrier",
                "febrero",
                "febbraio",
                "fevereiro",
                "februari",
                "февраля",
                "февраль",
            ],
            2,
        ),
        (&["mar", "march", "märz", "maerz", "mars", "marzo", "março", "maret", "maart", "марта", "март"], 3),
        (&["apr", "april", "avril", "abril", "aprile", "апреля", "апрель"], 4),
        (&["may", "mai", "mayo", "maggio", "maio", "mei", "мая", "май"], 5),
        (&["jun", "june", "juni", "juin", "junio", "giugno", "junho", "июня", "июнь"], 6),
        (&["jul", "july", "juli", "juillet", "julio", "luglio", "julho", "июля", "июль"], 7),
        (&["aug", "august", "août", "aout", "agosto", "agustus", "augustus", "августа", "август"], 8),
        (
            &[
                "sep",
                "sept",
                "september",
                "septembre",
                "septiembre",
                "settembre",
                "setembro",
                "сентября",
                "сентябрь",
            ],
            9,
        ),
        (
            &["oct", "october", "oktober", "octobre", "octubre", "ottobre", "outubro", "октября", "октябрь"],
            10,
        ),
        (&["nov", "november", "novembre", "noviembre", "novembro", "ноября", "ноябрь"], 11),
        (
            &[
                "dec",
                "december",
                "dezember",
                "décembre",
                "decembre",
                "diciembre",
                "dicembre",
                "dezembro",
                "desember",
                "декабря",
                "декабрь",
            ],
            12,
        ),
    ];
    MONTHS.iter().find(|(names, _)| names.contains(&w)).map(|(_, m)| *m)
}

/// "October 6, 2020", "6 Oct, 2020 12:47", "Tuesday 6th October 2020", "Oct. 6 2020".
fn parse_textual(s: &str) -> Option<DateTime<Utc>> {
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '-' || c == '|')
        .filter(|w| !w.is_empty())
        .collect();
    let (month_at, month) = words.iter().enumerate().find_map(|(i, w)| month_from_word(w).map(|m| (i, m)))?;
    let number = |w: &str| -> Option<u32> {
        let digits = w.trim_end_matches(['.', ',']).trim_end_matches(|c: char| c.is_alphabetic());
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let mut day = None;
    let mut year = None;
    let window = month_at.saturating_sub(2)..(month_at + 4).min(words.len());
    for i in window {
        if i == month_at {
            continue;
        }
        if let Some(n) = number(words[i]) {
            if words[i].trim_end_matches(['.', ',']).len() == 4 && year.is_none() {
                year = Some(n as i32);
            } else if (1..=31).contains(&n) && day.is_none() && !words[i].contains(':') {
                day = Some(n);
            }
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month, day?)?;
    let time = s.split_whitespace().find_map(|w| {
        let w = w.trim_end_matches([',', '.']);
        if w.len() == 5 && w.as_bytes()[2] == b':' {
            NaiveTime::parse_from_str(w, "%H:%M").ok()
        } else {
            None
        }
    });
    Some(Utc.from_utc_datetime(&date.and_time(time.unwrap_or(NaiveTime::MIN))))
}

/// "06.10.2020" (day first), "10/06/2020" (month first unless the first number cannot be a month), as the
/// first such word of a short text ("Published: 27/05/2024").
fn parse_numeric(s: &str) -> Option<DateTime<Utc>> {
    s.split_whitespace().take(6).find_map(numeric_word)
}

fn numeric_word(word: &str) -> Option<DateTime<Utc>> {
    let token = word.trim_matches(|c: char| !c.is_ascii_digit());
    let sep = if token.contains('.') {
        '.'
    } else if token.contains('/') {
        '/'
    } else {
        return None;
    };
    let parts: Vec<&str> = token.split(sep).collect();
    if parts.len() != 3 || parts[2].len() != 4 || parts[..2].iter().any(|p| p.is_empty() || p.len() > 2) {
        return None;
    }
    let a: u32 = parts[0].parse().ok()?;
    let b: u32 = parts[1].parse().ok()?;
    let y: i32 = parts[2].parse().ok()?;
    let (day, month) = if sep == '.' || a > 12 { (a, b) } else { (b, a) };
    let date = NaiveDate::from_ymd_opt(y, month, day)?;
    Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)))
}

/// A date in a URL path: `/2020/10/06/`, `/2020-10-06-`, `/20201006/`.
pub(crate) fn date_from_url(url: &str) -> Option<DateTime<Utc>> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let b = path.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in 0..b.len() {
        if !(b[i] == b'/' || b[i] == b'-' || b[i] == b'_') || !(1..=4).all(|k| digit(i + k)) {
            continue;
        }
        let year: i32 = path[i + 1..i + 5].parse().ok()?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            continue;
        }
        let sep = b.get(i + 5).copied();
        if let Some((month, day)) = month_name_in_url(&path[i + 5..]) {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
                return Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
            }
            continue;
        }
        let (month, day) = if matches!(sep, Some(b'/') | Some(b'-') | Some(b'_')) {
            let month_len = (i + 6..b.len().min(i + 8)).take_while(|&k| digit(k)).count();
            if month_len == 0 {
                continue;
            }
            let month: u32 = path[i + 6..i + 6 + month_len].parse().ok()?;
            let after = i + 6 + month_len;
            let day_len = if matches!(b.get(after), Some(b'/') | Some(b'-') | Some(b'_')) {
                (after + 1..b.len().min(after + 3)).take_while(|&k| digit(k)).count()
            } else {
                0
            };
            if day_len == 0 || digit(after + 1 + day_len) {
                continue;
            }
            (month, path[after + 1..after + 1 + day_len].parse().ok()?)
        } else if (5..=8).all(|k| digit(i + k)) && !digit(i + 9) {
            (path[i + 5..i + 7].parse().ok()?, path[i + 7..i + 9].parse().ok()?)
        } else {
            continue;
        };
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
            return Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
        }
    }
    None
}

/// `/october/03/` after a year in a URL path: the month as a word, then the day.
fn month_name_in_url(rest: &str) -> Option<(u32, u32)> {
    let rest = rest.strip_prefix('/')?;
    let word_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    if !(3..=9).contains(&word_len) {
        return None;
    }
    let month = month_from_word(&rest[..word_len])?;
    let after = rest[word_len..].strip_prefix('/')?;
    let day_len = after.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&day_len) || !matches!(after.as_bytes().get(day_len), None | Some(b'/')) {
        return None;
    }
    Some((month, after[..day_len].parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: Option<DateTime<Utc>>) -> Option<String> {
        d.map(|d| d.format("%Y-%m-%d").to_string())
    }

    #[test]
    fn rfc3339_with_an_offset_is_converted_to_utc() {
        let d = parse_date("2020-10-06T12:47:05+03:00").unwrap();
        assert_eq!(d.to_rfc3339(), "2020-10-06T09:47:05+00:00");
    }

    #[test]
    fn iso_variants_without_colon_in_zone_or_with_fractions_parse() {
        assert_eq!(
            parse_date("2020-10-06T12:47:05.123+0000").unwrap().to_rfc3339(),
            "2020-10-06T12:47:05.123+00:00".replace(".123", "")
        );
        assert_eq!(day(parse_date("2020-10-06 12:47")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("2020-10-06")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("2020/10/06")), Some("2020-10-06".into()));
    }

    #[test]
    fn textual_dates_in_several_orders_parse() {
        assert_eq!(day(parse_date("October 6, 2020")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("6 Oct, 2020 12:47")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("Tuesday 6th October 2020")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("Published: Oct. 6 2020")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("6. März 2020")), Some("2020-03-06".into()));
    }

    #[test]
    fn rfc2822_and_epoch_dates_parse() {
        assert_eq!(day(parse_date("Tue, 06 Oct 2020 12:47:05 GMT")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("1601988425")), Some("2020-10-06".into()));
    }

    #[test]
    fn numeric_dates_are_day_first_with_dots() {
        assert_eq!(day(parse_date("06.10.2020")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("10/06/2020")), Some("2020-10-06".into()));
        assert_eq!(day(parse_date("25/12/2020")), Some("2020-12-25".into()));
    }

    #[test]
    fn a_numeric_date_after_a_label_parses() {
        assert_eq!(day(parse_date("Published: 27/05/2024")), Some("2024-05-27".into()));
        assert_eq!(day(parse_date("Updated: 10/31/2024")), Some("2024-10-31".into()));
        assert_eq!(day(parse_date("Stand: 06.10.2020, 12:47 Uhr")), Some("2020-10-06".into()));
        assert_eq!(parse_date("Version 1.2.3 of 2020"), None);
    }

    #[test]
    fn the_local_date_keeps_the_pages_offset_and_its_calendar_day() {
        let d = parse_date_local("2020-10-06T22:30:00-05:00").unwrap();
        assert_eq!(d.format("%Y-%m-%d").to_string(), "2020-10-06");
        assert_eq!(
            parse_date("2020-10-06T22:30:00-05:00").unwrap().format("%Y-%m-%d").to_string(),
            "2020-10-07"
        );
        assert_eq!(parse_date_local("October 6, 2020").unwrap().offset().local_minus_utc(), 0);
    }

    #[test]
    fn nonsense_is_not_a_date() {
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("0001-01-01"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn url_paths_with_dates_give_the_day() {
        assert_eq!(day(date_from_url("https://x.com/2020/10/06/some-story/")), Some("2020-10-06".into()));
        assert_eq!(day(date_from_url("https://x.com/news/2020-10-06-some-story")), Some("2020-10-06".into()));
        assert_eq!(day(date_from_url("https://x.com/a/20201006/story")), Some("2020-10-06".into()));
        assert_eq!(date_from_url("https://x.com/news/502466-kyrgyzstan/"), None);
        assert_eq!(date_from_url("https://x.com/2020/10/story"), None);
    }

    #[test]
    fn url_paths_with_the_month_as_a_word_give_the_day() {
        assert_eq!(
            day(date_from_url("https://x.org/blog/2023/october/03/wine-styles/")),
            Some("2023-10-03".into())
        );
        assert_eq!(day(date_from_url("https://x.org/news/2021/Mar/7")), Some("2021-03-07".into()));
        assert_eq!(date_from_url("https://x.org/blog/2023/october/wine-styles/"), None);
        assert_eq!(date_from_url("https://x.org/blog/2023/marching/03/"), None);
    }
}
