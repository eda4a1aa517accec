//! What makes a refetched article a new version, in one testable place (docs/history.md).
//!
//! Two fetches of a URL are the same version when their **version hash** is equal: SHA-256 over the title,
//! the author list and the paragraphs of the text, each normalised:
//!
//! - whitespace: runs collapse to one space, paragraphs are trimmed, empty ones dropped (a change of layout
//!   is not an edit);
//! - authors: trimmed and sorted, case-insensitively (a byline reordered is not an edit);
//! - live times: clock times (`14:32`, `2:05 pm GMT`), relative times (`5 minutes ago`, `just now`) and ISO
//!   date-times (`2026-12-02T14:32:00Z`) are masked, and a short dateline paragraph (at most 12 words,
//!   beginning `Updated`, `Last updated`, `Published`, `Posted` or `Modified`) is left out whole: a page
//!   whose only change is its "updated 3 minutes ago" is not edited. Calendar dates in sentences are kept:
//!   "the vote on 5 March" becoming "6 March" is an edit;
//! - links are not in the text, so tracking parameters in them change nothing.
//!
//! Everything else (a word, a punctuation mark, the case of a letter) makes a new version. The article's
//! `content_hash` (text only, lower-cased, for duplicates across URLs) is a different thing and stays.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// Masks the times that a page shows as "live" (see the module documentation).
static LIVE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // An ISO date-time: its time only (the date stays: a date that changes is an edit).
        r"(?i)(?-u:\b)([0-9]{4}-[0-9]{2}-[0-9]{2})[t ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:z|[+-][0-9]{2}:?[0-9]{2})?",
        r"|(?-u:\b)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\s*(?:am|pm|a\.m\.|p\.m\.))?(?:\s*(?:gmt|utc|bst|cet|cest|est|edt|pst|pdt|et|pt)(?-u:\b))?",
        // A British "14.32 GMT" or "2.05pm" (a dot needs a zone or am/pm to be a time, not a number).
        r"|(?-u:\b)[0-9]{1,2}\.[0-9]{2}\s*(?:am|pm|a\.m\.|p\.m\.|gmt|utc|bst|cet|cest)(?-u:\b)",
        r"|(?-u:\b)(?:[0-9]+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+",
        r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago(?-u:\b)",
        r"|(?-u:\b)just now(?-u:\b)",
    ))
    .expect("the live-time pattern is valid")
});

/// How a dateline paragraph begins.
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:last\s+)?(?:updated|published|posted|modified)(?-u:\b)")
        .expect("the dateline pattern is valid")
});

/// The words of dates and times, besides the live times: what a dateline is made of.
static DATE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?-u:\b)(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?",
        r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?",
        r"|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?",
        r"|today|yesterday|at|on|gmt|utc|bst|cet|cest|est|edt|pst|pdt|et|pt|[0-9]+(?:st|nd|rd|th)?)(?-u:\b)",
    ))
    .expect("the date-word pattern is valid")
});

/// Most words a dateline paragraph has.
const DATELINE_WORDS: usize = 16;

/// Most words a dateline keeps besides its dates and times (a byline: "by Ana Lima").
const DATELINE_OTHER_WORDS: usize = 3;

/// The paragraphs of a text as versions compare them: split on blank lines, whitespace collapsed, empty
/// ones dropped. Also what the history's diffs are made of.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|p| {
            let mut paragraph = String::with_capacity(p.len());
            for word in p.split_whitespace() {
                if !paragraph.is_empty() {
                    paragraph.push(' ');
                }
                paragraph.push_str(word);
            }
            (!paragraph.is_empty()).then_some(paragraph)
        })
        .collect()
}

/// A paragraph as the version hash sees it: `None` when it is a dateline, else with live times masked. Two
/// paragraphs with the same comparable form are the same paragraph (the history's diffs say so too).
pub fn comparable(paragraph: &str) -> Option<String> {
    // Most paragraphs hold no digit and no "ago" or "just now": no live time to look for (the search is most
    // of the hash's cost otherwise).
    let lower_may_match = || {
        let bytes = paragraph.as_bytes();
        bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"ago") || w.eq_ignore_ascii_case(b"now"))
    };
    let masked = if paragraph.bytes().any(|b| b.is_ascii_digit()) || lower_may_match() {
        LIVE_TIME.replace_all(paragraph, "${1}\u{1}")
    } else {
        std::borrow::Cow::Borrowed(paragraph)
    };
    if is_dateline(&masked) {
        return None;
    }
    Some(masked.into_owned())
}

/// A paragraph (live times masked) that only says when the article was updated: its cue, dates and times,
/// and at most a few other words. "Updated: this article was amended to correct the date of the vote" is
/// not one: it says what changed.
fn is_dateline(masked: &str) -> bool {
    let Some(cue) = DATELINE.find(masked) else { return false };
    if masked.split_whitespace().count() > DATELINE_WORDS {
        return false;
    }
    let rest = DATE_WORD.replace_all(&masked[cue.end()..], " ");
    let other_words = rest
        .split(|c: char| c.is_whitespace() || c == '\u{1}' || c.is_ascii_punctuation())
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("by"))
        .count();
    other_words <= DATELINE_OTHER_WORDS
}

/// The version hash of an article's title, authors and text: hex SHA-256 (see the module documentation).
pub fn version_hash(title: Option<&str>, authors: &[String], text: &str) -> String {
    let mut hasher = Sha256::new();
    let title = title.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default();
    hasher.update(title.as_bytes());
    hasher.update([0]);
    let mut authors: Vec<String> =
        authors.iter().map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    authors.sort_by_key(|a| a.to_lowercase());
    for author in &authors {
        hasher.update(author.as_bytes());
        hasher.update([0x1f]);
    }
    hasher.update([0]);
    for paragraph in paragraphs(text).iter().filter_map(|p| comparable(p)) {
        hasher.update(paragraph.as_bytes());
        hasher.update([0x1e]);
    }
    let digest = hasher.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(title: &str, text: &str) -> String {
        version_hash(Some(title), &["Ana Lima".to_string()], text)
    }

    #[test]
    fn whitespace_and_layout_are_not_an_edit() {
        assert_eq!(
            hash("A title", "First  paragraph.\n\nSecond\nparagraph."),
            hash(" A  title ", "\n\nFirst paragraph.\n\n\n\n  Second paragraph.  \n\n")
        );
    }

    #[test]
    fn a_live_timestamp_is_not_an_edit() {
        let body = "The council voted on Tuesday.\n\nMore follows.";
        assert_eq!(
            hash("T", &format!("Updated 14:32 GMT\n\n{body}")),
            hash("T", &format!("Updated 15:07 GMT\n\n{body}"))
        );
        assert_eq!(
            hash("T", &format!("Last updated 3 minutes ago\n\n{body}")),
            hash("T", &format!("Last updated 2 hours ago\n\n{body}"))
        );
        assert_eq!(
            hash("T", "Live: the count stood at 14:02 at 2026-12-02T14:02:00Z, 5 mins ago."),
            hash("T", "Live: the count stood at 16:40 at 2026-12-02T16:40:13+01:00, just now.")
        );
    }

    /// Regressions (review): a date inside an ISO date-time, an editor's note that starts like a dateline.
    #[test]
    fn a_date_in_a_date_time_and_an_update_note_that_says_what_changed_are_edits() {
        assert_ne!(
            hash("T", "Polls close at 2026-12-05 20:00."),
            hash("T", "Polls close at 2026-12-06 20:00.")
        );
        assert_ne!(
            hash("T", "The vote is on Friday."),
            hash(
                "T",
                "The vote is on Friday.\n\nUpdated: This article was amended to correct the date of the vote."
            )
        );
        assert_ne!(
            hash("T", "The vote is on Friday."),
            hash("T", "The vote is on Friday.\n\nUpdated at 3:40 p.m. to include comments from the mayor.")
        );
        // A dateline with a byline or a weekday is still a dateline.
        let body = "The vote is on Friday.";
        assert_eq!(
            hash("T", body),
            hash("T", &format!("Updated Tuesday 3 December 2026, 10:42 GMT by Ana Lima\n\n{body}"))
        );
    }

    #[test]
    fn more_live_times_are_masked() {
        let body = "The count goes on.";
        assert_eq!(
            hash("T", &format!("{body} Posted two days ago.")),
            hash("T", &format!("{body} Posted 3 weeks ago."))
        );
        assert_eq!(
            hash("T", &format!("{body} At 14.32 GMT the doors closed.")),
            hash("T", &format!("{body} At 15.07 GMT the doors closed."))
        );
        assert_ne!(
            hash("T", "Inflation rose 2.05 points."),
            hash("T", "Inflation rose 3.10 points."),
            "a number is not a time"
        );
    }

    #[test]
    fn every_real_edit_is_a_new_version() {
        let base = hash("Mayor resigns", "She left on 5 March.\n\nThe council meets today.");
        // A rewritten headline.
        assert_ne!(
            base,
            hash("Mayor resigns amid inquiry", "She left on 5 March.\n\nThe council meets today.")
        );
        // A date in a sentence.
        assert_ne!(base, hash("Mayor resigns", "She left on 6 March.\n\nThe council meets today."));
        // An added paragraph, a correction note, a removed paragraph.
        assert_ne!(base, hash("Mayor resigns", "She left on 5 March.\n\nThe council meets today.\n\nMore."));
        assert_ne!(
            base,
            hash(
                "Mayor resigns",
                "She left on 5 March.\n\nThe council meets today.\n\nCorrection: an earlier version misspelled her name."
            )
        );
        assert_ne!(base, hash("Mayor resigns", "She left on 5 March."));
        // A case change, and a long paragraph that starts with "Updated".
        assert_ne!(base, hash("Mayor Resigns", "She left on 5 March.\n\nThe council meets today."));
        assert_ne!(
            hash("T", "Updated guidance says schools must close on every Friday until the end of the year."),
            hash("T", "Updated guidance says schools must close on every Monday until the end of the year.")
        );
    }

    #[test]
    fn authors_count_but_not_their_order() {
        let text = "Body.";
        let one = version_hash(Some("T"), &["Ana Lima".into(), "Bo Chen".into()], text);
        assert_eq!(one, version_hash(Some("T"), &["Bo Chen".into(), " Ana  Lima".into()], text));
        assert_ne!(one, version_hash(Some("T"), &["Ana Lima".into()], text));
    }
}
