//! The rules of article history, without I/O: given what is stored of one article and what a batch of
//! store requests says about its URL, what to write (docs/history.md).
//!
//! - A page whose **version hash** (`newspipe_models::version`) is new for the article, fetched after
//!   everything seen of it so far, is a new version and becomes the article's content.
//! - One whose hash is a version seen before is a **revert** (a page flipping between two states): an event,
//!   and the content goes back to that version; it adds no version, so a flipping page cannot make an
//!   endless stream of them.
//! - One with the current hash is a **check**: an event; the article row is not written.
//! - One fetched *before* the latest thing seen (a late, older fetch) never replaces the content: a new
//!   hash is inserted in its place in the history (versions are ordered by fetch time), a known one moves
//!   its first sighting earlier if it must.
//! - The **same fetch** again (a redelivery, `reextract`) replaces the content of the version that fetch
//!   made, without adding one: a version is one fetch (its first), and a fetch is at most one version.
//! - A 304 is a `not_modified` event; a 404 or 410 a `taken_down` event that also marks the article taken
//!   down (if nothing later was seen), until a later fetch finds it again (`restored`).
//!
//! Every rule depends on fetch times only, never on the order requests arrive in: a batch's observations
//! are applied in fetch-time order, and a redelivered request finds its effects already there.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use newspipe_models::{Article, JobId, RevisitSchedule};

/// What is stored of one article when a batch touches it (its rows locked).
#[derive(Debug, Clone)]
pub(crate) struct StoredArticle {
    pub id: i64,
    /// When the current content was fetched (the article row's `fetched_at`).
    pub fetched_at: DateTime<Utc>,
    /// The current content's version hash.
    pub version_hash: String,
    /// False for an article stored before history existed: it has no version rows yet.
    pub has_versions: bool,
    pub taken_down_at: Option<DateTime<Utc>>,
    /// The latest check or 304 recorded (what a page fetched before it may not replace).
    pub last_seen: Option<DateTime<Utc>>,
    /// Its versions: hash and first fetch.
    pub versions: Vec<(String, DateTime<Utc>)>,
}

/// What one store request says about an article's URL.
#[derive(Debug, Clone)]
pub(crate) enum Observation<'a> {
    Page {
        job_id: JobId,
        article: &'a Article,
        fetched_at: DateTime<Utc>,
        hash: String,
        /// The request's revisit schedule (a watched feed's), for a new article.
        revisit: Option<&'a RevisitSchedule>,
    },
    NotModified {
        job_id: JobId,
        at: DateTime<Utc>,
    },
    Gone {
        job_id: JobId,
        at: DateTime<Utc>,
        status: u16,
    },
}

impl Observation<'_> {
    fn at(&self) -> DateTime<Utc> {
        match self {
            Observation::Page { fetched_at, .. } => *fetched_at,
            Observation::NotModified { at, .. } | Observation::Gone { at, .. } => *at,
        }
    }
}

/// The kinds of `article_events`, as the column spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Checked,
    NotModified,
    Reverted,
    TakenDown,
    Restored,
}

impl EventKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Checked => "checked",
            EventKind::NotModified => "not_modified",
            EventKind::Reverted => "reverted",
            EventKind::TakenDown => "taken_down",
            EventKind::Restored => "restored",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub version_hash: Option<String>,
    pub job_id: JobId,
}

/// The article row to write: the content of this page, fetched at `fetched_at`.
#[derive(Debug, Clone)]
pub(crate) struct ArticleWrite<'a> {
    pub job_id: JobId,
    pub article: &'a Article,
    pub fetched_at: DateTime<Utc>,
    pub hash: String,
}

/// A version row to insert or update. `content: None` keeps the row's content (only its first fetch
/// changes); `text: None` in it means the article row holds the text (the current version).
#[derive(Debug, Clone)]
pub(crate) struct VersionWrite<'a> {
    pub hash: String,
    pub fetched_at: DateTime<Utc>,
    pub job_id: JobId,
    pub content: Option<VersionContent<'a>>,
}

#[derive(Debug, Clone)]
pub(crate) struct VersionContent<'a> {
    pub title: Option<&'a str>,
    pub authors: &'a [String],
    pub word_count: u32,
    pub text: Option<&'a str>,
}

/// What to write for one article, in this order: adopt, retire, deletes, versions, the article, events,
/// the take-down mark.
#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    /// The article is new: insert its row.
    pub is_new: bool,
    /// An article stored before history: its current content gets its version row first (from the row).
    pub adopt: Option<String>,
    /// The stored current version (this hash) is replaced: copy the article row's text into its row
    /// before the row is written.
    pub retire: Option<String>,
    pub delete_versions: Vec<String>,
    pub versions: Vec<VersionWrite<'a>>,
    pub article: Option<ArticleWrite<'a>>,
    pub events: Vec<Event>,
    /// `Some(value)`: set `taken_down_at` to it.
    pub taken_down_at: Option<Option<DateTime<Utc>>>,
    /// Versions after the first that this plan adds.
    pub versions_created: usize,
    /// A new article's revisit schedule, when its request had one.
    pub revisit: Option<&'a RevisitSchedule>,
    /// A new article's first fetch (its revisits count from it), whatever else the batch brought.
    pub first_fetched_at: Option<DateTime<Utc>>,
}

/// An article as the plan has it after the observations applied so far.
struct ArticleState {
    /// When the current content was fetched.
    content_at: DateTime<Utc>,
    /// The current content's version hash.
    current: String,
    /// The latest check or 304.
    last_seen: Option<DateTime<Utc>>,
    taken_down: Option<DateTime<Utc>>,
}

/// A version as the plan is building it.
#[derive(Debug, Clone)]
struct Version<'a> {
    fetched_at: DateTime<Utc>,
    job_id: Option<JobId>,
    /// `None`: the stored row's content; `Some`: this page's.
    page: Option<&'a Article>,
    /// It has a row (or gets one from `adopt`).
    in_db: bool,
    changed: bool,
}

impl<'a> Version<'a> {
    /// A version the database has, as it is.
    fn stored(fetched_at: DateTime<Utc>) -> Version<'a> {
        Version { fetched_at, job_id: None, page: None, in_db: true, changed: false }
    }

    /// A version this page brings, first fetched at `fetched_at`.
    fn page(fetched_at: DateTime<Utc>, job_id: JobId, article: &'a Article) -> Version<'a> {
        Version { fetched_at, job_id: Some(job_id), page: Some(article), in_db: false, changed: true }
    }
}

/// A page at `fetched_at` whose content becomes the current one: back to a version seen before (a flip: an
/// event, no version), or a new version.
fn new_content<'a>(
    versions: &mut BTreeMap<String, Version<'a>>,
    plan: &mut Plan<'a>,
    hash: &str,
    fetched_at: DateTime<Utc>,
    job_id: JobId,
    article: &'a Article,
) {
    if versions.contains_key(hash) {
        plan.events.push(event(EventKind::Reverted, fetched_at, Some(200), Some(hash), job_id));
    } else {
        versions.insert(hash.to_string(), Version::page(fetched_at, job_id, article));
        plan.versions_created += 1;
    }
}

/// Applies the observations about one article (in fetch-time order) to what is stored of it.
pub(crate) fn plan<'a>(stored: Option<&StoredArticle>, mut observations: Vec<Observation<'a>>) -> Plan<'a> {
    observations.sort_by_key(|o| o.at());
    let mut plan = Plan::default();
    let mut versions: BTreeMap<String, Version<'a>> = BTreeMap::new();
    // What the article is at this point of the observations, once it exists.
    let mut state: Option<ArticleState> = None;
    if let Some(stored) = stored {
        for (hash, fetched_at) in &stored.versions {
            versions.insert(hash.clone(), Version::stored(*fetched_at));
        }
        if !stored.has_versions || !versions.contains_key(&stored.version_hash) {
            plan.adopt = Some(stored.version_hash.clone());
            versions.insert(stored.version_hash.clone(), Version::stored(stored.fetched_at));
        }
        state = Some(ArticleState {
            content_at: stored.fetched_at,
            current: stored.version_hash.clone(),
            last_seen: stored.last_seen,
            taken_down: stored.taken_down_at,
        });
    }
    let original_taken_down = stored.and_then(|s| s.taken_down_at);

    for observation in observations {
        let Some(ArticleState { content_at, current, last_seen, taken_down }) = state.as_mut() else {
            // Nothing stored yet: only a page makes the article.
            if let Observation::Page { job_id, article, fetched_at, hash, revisit } = observation {
                plan.is_new = true;
                plan.revisit = revisit;
                plan.first_fetched_at = Some(fetched_at);
                versions.insert(hash.clone(), Version::page(fetched_at, job_id, article));
                plan.article = Some(ArticleWrite { job_id, article, fetched_at, hash: hash.clone() });
                state = Some(ArticleState {
                    content_at: fetched_at,
                    current: hash,
                    last_seen: None,
                    taken_down: None,
                });
            }
            continue;
        };
        let latest = (*last_seen).map_or(*content_at, |seen| seen.max(*content_at));
        match observation {
            Observation::Page { job_id, article, fetched_at, hash, .. } => {
                let made_current = versions.get(current.as_str()).is_some_and(|v| v.fetched_at == fetched_at);
                if fetched_at == *content_at && !made_current && hash != *current {
                    // The fetch the current content came from, again, but one that flipped back to an
                    // earlier version (its first fetch is older): extracted differently now, it is content of
                    // its own at that time, and the version it flipped back to keeps its first fetch.
                    new_content(&mut versions, &mut plan, &hash, fetched_at, job_id, article);
                    *current = hash.clone();
                    plan.article = Some(ArticleWrite { job_id, article, fetched_at, hash });
                } else if fetched_at == *content_at {
                    // The fetch the current content came from, again: its content is replaced.
                    if hash != *current {
                        rekey(&mut versions, &mut plan, current, &hash, job_id, article);
                        *current = hash.clone();
                    }
                    // Otherwise a redelivery, or a re-extraction that hashes the same: the version row stays.
                    plan.article = Some(ArticleWrite { job_id, article, fetched_at, hash });
                } else if fetched_at > latest {
                    if let Some(down) = *taken_down
                        && fetched_at > down
                    {
                        plan.events.push(event(EventKind::Restored, fetched_at, None, None, job_id));
                        *taken_down = None;
                    }
                    if hash == *current {
                        plan.events.push(event(EventKind::Checked, fetched_at, Some(200), None, job_id));
                        *last_seen = Some(fetched_at);
                        continue;
                    }
                    new_content(&mut versions, &mut plan, &hash, fetched_at, job_id, article);
                    *content_at = fetched_at;
                    *current = hash.clone();
                    plan.article = Some(ArticleWrite { job_id, article, fetched_at, hash });
                } else {
                    // Fetched before the latest thing seen: it never replaces the content.
                    let same_fetch =
                        versions.iter().find(|(_, v)| v.fetched_at == fetched_at).map(|(h, _)| h.clone());
                    match same_fetch {
                        // The fetch that made an older version, re-extracted: that version's content is replaced.
                        Some(old) if old != hash => {
                            let was_current = old == *current;
                            rekey(&mut versions, &mut plan, &old, &hash, job_id, article);
                            if was_current {
                                *current = hash.clone();
                                plan.article = Some(ArticleWrite {
                                    job_id,
                                    article,
                                    fetched_at: *content_at,
                                    hash: hash.clone(),
                                });
                            }
                        }
                        Some(_) => {}
                        None => {
                            if hash == *current {
                                plan.events.push(event(
                                    EventKind::Checked,
                                    fetched_at,
                                    Some(200),
                                    None,
                                    job_id,
                                ));
                            }
                            match versions.get_mut(&hash) {
                                Some(version) if fetched_at < version.fetched_at => {
                                    version.fetched_at = fetched_at;
                                    version.job_id = Some(job_id);
                                    version.changed = true;
                                }
                                Some(_) => {}
                                None => {
                                    versions.insert(hash.clone(), Version::page(fetched_at, job_id, article));
                                    plan.versions_created += 1;
                                }
                            }
                        }
                    }
                }
            }
            Observation::NotModified { job_id, at } => {
                plan.events.push(event(EventKind::NotModified, at, Some(304), None, job_id));
                if at > latest {
                    if let Some(down) = *taken_down
                        && at > down
                    {
                        plan.events.push(event(EventKind::Restored, at, None, None, job_id));
                        *taken_down = None;
                    }
                    *last_seen = Some(at);
                }
            }
            Observation::Gone { job_id, at, status } => {
                plan.events.push(event(EventKind::TakenDown, at, Some(status), None, job_id));
                // A take-down says nothing about content: a page fetched before it but stored after it
                // still becomes the content (and the article stays taken down).
                if at > latest && taken_down.is_none() {
                    *taken_down = Some(at);
                }
            }
        }
    }

    let Some(ArticleState { current, taken_down, .. }) = state else { return plan };
    if taken_down != original_taken_down {
        plan.taken_down_at = Some(taken_down);
    }
    if let Some(stored) = stored
        && stored.version_hash != current
        && versions.get(&stored.version_hash).is_some_and(|v| v.page.is_none())
    {
        plan.retire = Some(stored.version_hash.clone());
    }
    for (hash, version) in versions {
        if !version.changed {
            continue;
        }
        let content = version.page.map(|article| VersionContent {
            title: article.title.as_deref(),
            authors: &article.authors,
            word_count: article.word_count,
            text: (hash != current).then_some(article.text.as_str()),
        });
        let job_id = version.job_id.unwrap_or_default();
        plan.versions.push(VersionWrite { hash, fetched_at: version.fetched_at, job_id, content });
    }
    plan
}

/// The version `old` is now `new` (the same fetch extracted again): `old` goes; `new` keeps the earlier of
/// the two first fetches, with this page's content unless it was a version already.
fn rekey<'a>(
    versions: &mut BTreeMap<String, Version<'a>>,
    plan: &mut Plan<'a>,
    old: &str,
    new: &str,
    job_id: JobId,
    article: &'a Article,
) {
    let removed = versions.remove(old);
    let first = removed.as_ref().map(|v| v.fetched_at);
    if plan.adopt.as_deref() == Some(old) {
        // Adopted and re-keyed at once: no row to adopt, none to delete.
        plan.adopt = None;
    } else if removed.is_some_and(|v| v.in_db) {
        plan.delete_versions.push(old.to_string());
    }
    match versions.get_mut(new) {
        Some(version) => {
            if let Some(first) = first
                && first < version.fetched_at
            {
                version.fetched_at = first;
                version.changed = true;
            }
        }
        None => {
            versions.insert(new.to_string(), Version::page(first.unwrap_or_else(Utc::now), job_id, article));
        }
    }
}

fn event(
    kind: EventKind,
    at: DateTime<Utc>,
    http_status: Option<u16>,
    hash: Option<&str>,
    job_id: JobId,
) -> Event {
    Event { kind, at, http_status, version_hash: hash.map(str::to_string), job_id }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, minute, 0).unwrap()
    }

    fn article(text: &str) -> Article {
        Article {
            url: "https://news.example/a".into(),
            title: Some("T".into()),
            text: text.into(),
            word_count: 1,
            ..Article::default()
        }
    }

    fn page<'a>(article: &'a Article, minute: u32) -> Observation<'a> {
        Observation::Page {
            job_id: JobId::new(),
            article,
            fetched_at: at(minute),
            hash: article.text.clone(),
            revisit: None,
        }
    }

    fn stored(versions: &[(&str, u32)], current: &str, content_minute: u32) -> StoredArticle {
        StoredArticle {
            id: 1,
            fetched_at: at(content_minute),
            version_hash: current.into(),
            has_versions: true,
            taken_down_at: None,
            last_seen: None,
            versions: versions.iter().map(|(h, m)| (h.to_string(), at(*m))).collect(),
        }
    }

    fn written(plan: &Plan<'_>) -> Vec<(String, DateTime<Utc>, Option<bool>)> {
        plan.versions
            .iter()
            .map(|v| (v.hash.clone(), v.fetched_at, v.content.as_ref().map(|c| c.text.is_some())))
            .collect()
    }

    #[test]
    fn a_new_article_is_its_first_version_and_no_edit() {
        let a = article("A");
        let plan = plan(None, vec![page(&a, 0)]);
        assert!(plan.is_new);
        assert_eq!(plan.versions_created, 0);
        assert_eq!(written(&plan), vec![("A".into(), at(0), Some(false))]);
        assert_eq!(plan.article.unwrap().hash, "A");
    }

    #[test]
    fn a_newer_fetch_with_other_content_is_a_new_version_and_the_old_text_is_kept() {
        let b = article("B");
        let plan = plan(Some(&stored(&[("A", 0)], "A", 0)), vec![page(&b, 5)]);
        assert_eq!(plan.versions_created, 1);
        assert_eq!(plan.retire.as_deref(), Some("A"), "the old content is copied into its version");
        assert_eq!(written(&plan), vec![("B".into(), at(5), Some(false))]);
        assert_eq!(plan.article.unwrap().hash, "B");
    }

    #[test]
    fn an_unchanged_fetch_is_a_check_and_writes_no_article() {
        let a = article("A");
        let plan = plan(Some(&stored(&[("A", 0)], "A", 0)), vec![page(&a, 5)]);
        assert!(plan.article.is_none());
        assert!(plan.versions.is_empty());
        assert_eq!(plan.events.len(), 1);
        assert_eq!(plan.events[0].kind, EventKind::Checked);
    }

    #[test]
    fn a_page_flipping_back_is_a_revert_not_a_version() {
        let a = article("A");
        let plan = plan(Some(&stored(&[("A", 0), ("B", 5)], "B", 5)), vec![page(&a, 10)]);
        assert_eq!(plan.versions_created, 0);
        assert_eq!(plan.events[0].kind, EventKind::Reverted);
        assert_eq!(plan.events[0].version_hash.as_deref(), Some("A"));
        assert_eq!(plan.retire.as_deref(), Some("B"));
        assert_eq!(plan.article.unwrap().hash, "A");
    }

    #[test]
    fn a_late_older_fetch_takes_its_place_and_never_replaces_the_content() {
        let b = article("B");
        let plan = plan(Some(&stored(&[("A", 0), ("C", 10)], "C", 10)), vec![page(&b, 5)]);
        assert!(plan.article.is_none());
        assert!(plan.retire.is_none());
        assert_eq!(plan.versions_created, 1);
        assert_eq!(
            written(&plan),
            vec![("B".into(), at(5), Some(true))],
            "an old version keeps its own text"
        );
    }

    #[test]
    fn a_fetch_older_than_a_later_check_does_not_become_current() {
        let b = article("B");
        let mut article = stored(&[("A", 0)], "A", 0);
        article.last_seen = Some(at(10));
        let plan = plan(Some(&article), vec![page(&b, 5)]);
        assert!(plan.article.is_none(), "the check at 10 saw A");
        assert_eq!(plan.versions_created, 1);
    }

    #[test]
    fn the_same_fetch_again_replaces_its_version_without_adding_one() {
        let a2 = article("A2");
        let plan = plan(Some(&stored(&[("A", 0)], "A", 0)), vec![page(&a2, 0)]);
        assert_eq!(plan.versions_created, 0);
        assert_eq!(plan.delete_versions, vec!["A".to_string()]);
        assert_eq!(written(&plan), vec![("A2".into(), at(0), Some(false))]);
        assert_eq!(plan.article.unwrap().hash, "A2");
        // Re-extracting an older version's fetch replaces that version, and not the article.
        let b2 = article("B2");
        let plan2 = plan_of(&stored(&[("A", 0), ("B", 5), ("C", 10)], "C", 10), vec![page(&b2, 5)]);
        assert!(plan2.article.is_none());
        assert_eq!(plan2.delete_versions, vec!["B".to_string()]);
        assert_eq!(written(&plan2), vec![("B2".into(), at(5), Some(true))]);
    }

    fn plan_of<'a>(stored: &StoredArticle, observations: Vec<Observation<'a>>) -> Plan<'a> {
        plan(Some(stored), observations)
    }

    #[test]
    fn a_redelivered_batch_changes_nothing_more() {
        let b = article("B");
        let after_first = stored(&[("A", 0), ("B", 5)], "B", 5);
        let plan = plan(Some(&after_first), vec![page(&b, 5)]);
        assert_eq!(plan.versions_created, 0);
        assert!(plan.delete_versions.is_empty());
        assert!(plan.retire.is_none());
    }

    #[test]
    fn two_versions_in_one_batch_keep_the_middle_one_with_its_text() {
        let (b, c) = (article("B"), article("C"));
        // Arrival order reversed: the rules go by fetch time.
        let plan = plan(Some(&stored(&[("A", 0)], "A", 0)), vec![page(&c, 10), page(&b, 5)]);
        assert_eq!(plan.versions_created, 2);
        assert_eq!(plan.retire.as_deref(), Some("A"));
        assert_eq!(written(&plan), vec![("B".into(), at(5), Some(true)), ("C".into(), at(10), Some(false))]);
        assert_eq!(plan.article.unwrap().hash, "C");
    }

    #[test]
    fn a_take_down_is_an_event_and_a_mark_until_the_page_is_back() {
        let a = article("A");
        let job_id = JobId::new();
        let down = plan(
            Some(&stored(&[("A", 0)], "A", 0)),
            vec![Observation::Gone { job_id, at: at(5), status: 410 }],
        );
        assert_eq!(down.taken_down_at, Some(Some(at(5))));
        assert!(down.article.is_none() && down.versions.is_empty(), "the last content stays");
        let mut gone = stored(&[("A", 0)], "A", 0);
        gone.taken_down_at = Some(at(5));
        let back = plan(Some(&gone), vec![page(&a, 9)]);
        assert_eq!(back.taken_down_at, Some(None));
        assert_eq!(
            back.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [EventKind::Restored, EventKind::Checked]
        );
    }

    /// Regression (review): a 410 stored before a page fetched earlier kept that page from becoming the
    /// content, so the result depended on which arrived first.
    #[test]
    fn a_page_fetched_before_a_take_down_becomes_the_content_whichever_arrives_first() {
        let b = article("B");
        let job_id = JobId::new();
        let mut down = stored(&[("A", 0)], "A", 0);
        down.taken_down_at = Some(at(10));
        let late = plan(Some(&down), vec![page(&b, 5)]);
        assert_eq!(late.article.as_ref().map(|a| a.hash.as_str()), Some("B"));
        assert_eq!(late.taken_down_at, None, "still taken down: the 410 came after");
        let together = plan(
            Some(&stored(&[("A", 0)], "A", 0)),
            vec![Observation::Gone { job_id, at: at(10), status: 410 }, page(&b, 5)],
        );
        assert_eq!(together.article.as_ref().map(|a| a.hash.as_str()), Some("B"));
        assert_eq!(together.taken_down_at, Some(Some(at(10))));
    }

    /// Regression (review): re-extracting the fetch that flipped back to A deleted A's version.
    #[test]
    fn re_extracting_a_fetch_that_flipped_back_keeps_the_version_it_flipped_back_to() {
        let x = article("X");
        // A first fetched at 0, B at 5, the page back to A at 10 (the row's fetch time).
        let flipped = stored(&[("A", 0), ("B", 5)], "A", 10);
        let plan = plan(Some(&flipped), vec![page(&x, 10)]);
        assert!(plan.delete_versions.is_empty(), "A stays: {:?}", plan.delete_versions);
        assert_eq!(plan.versions_created, 1);
        assert_eq!(plan.article.as_ref().map(|a| a.hash.as_str()), Some("X"));
        assert_eq!(plan.retire.as_deref(), Some("A"));
        assert_eq!(written(&plan), vec![("X".into(), at(10), Some(false))]);
    }

    #[test]
    fn an_article_stored_before_history_is_adopted() {
        let b = article("B");
        let mut old = stored(&[], "A", 0);
        old.has_versions = false;
        let plan = plan(Some(&old), vec![page(&b, 5)]);
        assert_eq!(plan.adopt.as_deref(), Some("A"));
        assert_eq!(plan.retire.as_deref(), Some("A"));
        assert_eq!(plan.versions_created, 1);
    }
}
