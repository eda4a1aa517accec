//! `newspipe history` (an article's versions and events, or a diff of two versions) and `newspipe changes`
//! (the articles edited in a window, largest change first). docs/history.md says what a version is.

use std::io::IsTerminal;

use chrono::{DateTime, Utc};
use newspipe_db::{Database, EventRow, VersionRow};
use newspipe_history::{Change, VersionText, compare, render_diff};
use serde::Serialize;

use crate::common::{parse_since, time};
use crate::{Exit, Settings};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe history https://example.com/news/some-article\n  \
    newspipe history 42 --json | jq '.versions[].summary'\n  \
    newspipe history 42 --diff            (each version against the next)\n  \
    newspipe history 42 --diff 1 3        (version 1 against version 3)\n\n\
    Checks, 304s, flips back to an earlier version and take-downs are events, not versions. \
    Exits 1 when no article is stored under that URL or id.")]
pub struct HistoryArgs {
    /// The article: its URL (as submitted, fetched or canonical), its id, or the id of a job that stored it.
    key: String,
    /// Print JSON: {url, article_id, taken_down_at, versions: [...], events: [...]}.
    #[arg(long, conflicts_with = "diff")]
    json: bool,
    /// Show what changed: between versions V1 and V2, or (no versions given) from each version to the next.
    #[arg(long, num_args = 0..=2, value_names = ["V1", "V2"])]
    diff: Option<Vec<usize>>,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe changes --since 24h\n  \
    newspipe changes --since 2026-12-01 --site example.com --json\n\n\
    --since takes a date (2026-11-01), an RFC 3339 time or an age (90m, 36h, 7d). An article is listed when a \
    version after its first was made (fetched) since then; words added and removed count those versions only.")]
pub struct ChangesArgs {
    /// Versions made since this time.
    #[arg(long, value_parser = parse_since)]
    since: DateTime<Utc>,
    /// Only this site: its name or its host (example.com also matches www.example.com).
    #[arg(long)]
    site: Option<String>,
    /// Print a JSON array of {url, article_id, versions, words_added, words_removed, last_changed_at}.
    #[arg(long)]
    json: bool,
    /// At most this many articles (the largest changes).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
}

#[derive(Serialize)]
struct HistoryJson<'a> {
    url: &'a str,
    article_id: i64,
    taken_down_at: Option<DateTime<Utc>>,
    versions: Vec<VersionJson<'a>>,
    events: Vec<EventJson<'a>>,
}

#[derive(Serialize)]
struct VersionJson<'a> {
    version: i64,
    fetched_at: DateTime<Utc>,
    hash: &'a str,
    title: Option<&'a str>,
    word_count: i32,
    summary: String,
    /// The article's content now.
    current: bool,
}

#[derive(Serialize)]
struct EventJson<'a> {
    kind: &'a str,
    at: DateTime<Utc>,
    http_status: Option<i16>,
    /// For `reverted`: the version the page went back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
}

#[derive(Serialize)]
struct ChangedJson {
    url: String,
    article_id: i64,
    /// Versions the article has in all.
    versions: usize,
    words_added: usize,
    words_removed: usize,
    last_changed_at: DateTime<Utc>,
}

fn text_of(version: &VersionRow) -> VersionText<'_> {
    VersionText { title: version.title.as_deref(), authors: &version.authors, text: &version.text }
}

/// What changed from the version before `index` (the first one: nothing before it).
fn change_at(versions: &[VersionRow], index: usize) -> Option<Change> {
    let before = index.checked_sub(1).and_then(|i| versions.get(i))?;
    Some(compare(&text_of(before), &text_of(&versions[index])))
}

fn summary_at(versions: &[VersionRow], index: usize) -> String {
    change_at(versions, index).map_or_else(|| Change::first_summary().to_string(), |c| c.summary())
}

pub async fn history(settings: &Settings, args: HistoryArgs) -> anyhow::Result<()> {
    if args.diff.as_ref().is_some_and(|d| d.len() == 1) {
        return Err(Exit::usage("--diff takes two versions (--diff 1 3) or none (each to the next)").into());
    }
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let Some(article) = database.find_article(&args.key).await? else {
        return Err(Exit {
            code: 1,
            message: format!(
                "no article is stored under `{}` (a URL, an article id or a job id; see `newspipe show`)",
                args.key
            ),
        }
        .into());
    };
    let history = database
        .article_history(article.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("article {} went away while its history was read", article.id))?;
    let versions = &history.versions;

    if let Some(diff) = &args.diff {
        let pairs: Vec<(usize, usize)> = match diff.as_slice() {
            [] => (1..versions.len()).map(|i| (i - 1, i)).collect(),
            [a, b] => {
                let index = |n: usize| {
                    (1..=versions.len()).contains(&n).then(|| n - 1).ok_or_else(|| {
                        Exit::usage(format!(
                            "article {} has versions 1 to {}; there is no version {n}",
                            history.article_id,
                            versions.len()
                        ))
                    })
                };
                vec![(index(*a)?, index(*b)?)]
            }
            _ => unreachable!("clap takes at most two"),
        };
        if pairs.is_empty() {
            eprintln!("{} has one version: nothing to compare", history.url);
            return Ok(());
        }
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        for (n, (a, b)) in pairs.into_iter().enumerate() {
            if n > 0 {
                println!();
            }
            let (old, new) = (&versions[a], &versions[b]);
            println!("--- version {} ({})", old.version, time(&old.fetched_at));
            println!("+++ version {} ({})", new.version, time(&new.fetched_at));
            print!("{}", render_diff(&text_of(old), &text_of(new), colour));
        }
        return Ok(());
    }

    let number_of = |hash: &str| versions.iter().find(|v| v.version_hash == hash).map(|v| v.version);
    if args.json {
        let json = HistoryJson {
            url: &history.url,
            article_id: history.article_id,
            taken_down_at: history.taken_down_at,
            versions: versions
                .iter()
                .enumerate()
                .map(|(i, v)| VersionJson {
                    version: v.version,
                    fetched_at: v.fetched_at,
                    hash: &v.version_hash,
                    title: v.title.as_deref(),
                    word_count: v.word_count,
                    summary: summary_at(versions, i),
                    current: v.current,
                })
                .collect(),
            events: history.events.iter().map(|e| event_json(e, &number_of)).collect(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }

    println!("{}", article.article.title.as_deref().unwrap_or("(no title)"));
    println!("{}  (article {})", history.url, history.article_id);
    if let Some(down) = &history.taken_down_at {
        println!("taken down {} (it answered 404 or 410; its last content is kept)", time(down));
    }
    println!();
    println!("{:>7}  {:<23}  {:<12}  {:>6}  CHANGE", "VERSION", "FETCHED", "HASH", "WORDS");
    for (i, v) in versions.iter().enumerate() {
        println!(
            "{:>7}  {:<23}  {:<12}  {:>6}  {}{}",
            v.version,
            time(&v.fetched_at),
            v.version_hash.get(..12).unwrap_or(&v.version_hash),
            v.word_count,
            summary_at(versions, i),
            if v.current { " (current)" } else { "" }
        );
        println!("{:>7}  {}", "", v.title.as_deref().unwrap_or("(no title)"));
    }
    if !history.events.is_empty() {
        println!();
        println!("{:<23}  EVENT", "AT");
        for event in &history.events {
            let status = event.http_status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
            let back = event
                .version_hash
                .as_deref()
                .and_then(number_of)
                .map(|n| format!(": back to version {n}"))
                .unwrap_or_default();
            println!("{:<23}  {}{status}{back}", time(&event.at), event_words(&event.kind));
        }
    }
    Ok(())
}

fn event_json<'a>(event: &'a EventRow, number_of: &impl Fn(&str) -> Option<i64>) -> EventJson<'a> {
    EventJson {
        kind: &event.kind,
        at: event.at,
        http_status: event.http_status,
        version: event.version_hash.as_deref().and_then(number_of),
    }
}

fn event_words(kind: &str) -> &str {
    match kind {
        "checked" => "checked: unchanged",
        "not_modified" => "checked: not modified",
        "reverted" => "flipped back to an earlier version",
        "taken_down" => "taken down",
        "restored" => "back online",
        other => other,
    }
}

/// Ids read per query when adding up the changes of many articles.
const CHUNK: usize = 200;

pub async fn changes(settings: &Settings, args: ChangesArgs) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let changed = database.articles_changed_since(args.since, args.site.as_deref()).await?;
    let mut rows: Vec<ChangedJson> = Vec::with_capacity(changed.len());
    for chunk in changed.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let versions = database.versions_of(&ids).await?;
        for (id, url) in chunk {
            let mine: Vec<VersionRow> = versions.iter().filter(|v| v.article_id == *id).cloned().collect();
            let (mut added, mut removed, mut last) = (0, 0, None);
            for (i, version) in mine.iter().enumerate() {
                if version.fetched_at < args.since {
                    continue;
                }
                if let Some(change) = change_at(&mine, i) {
                    added += change.words_added;
                    removed += change.words_removed;
                    last = Some(version.fetched_at);
                }
            }
            let Some(last_changed_at) = last else { continue };
            rows.push(ChangedJson {
                url: url.clone(),
                article_id: *id,
                versions: mine.len(),
                words_added: added,
                words_removed: removed,
                last_changed_at,
            });
        }
    }
    rows.sort_by(|a, b| {
        (b.words_added + b.words_removed)
            .cmp(&(a.words_added + a.words_removed))
            .then(b.last_changed_at.cmp(&a.last_changed_at))
            .then(a.article_id.cmp(&b.article_id))
    });
    rows.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("no article changed since {}", time(&args.since));
        return Ok(());
    }
    println!("{:>7} {:>7}  {:>8}  {:<23}  URL", "ADDED", "REMOVED", "VERSIONS", "LAST CHANGED");
    for row in &rows {
        println!(
            "{:>7} {:>7}  {:>8}  {:<23}  {}",
            format!("+{}", row.words_added),
            format!("-{}", row.words_removed),
            row.versions,
            time(&row.last_changed_at),
            row.url
        );
    }
    eprintln!("{} article(s) changed since {} (newspipe history URL --diff)", rows.len(), time(&args.since));
    Ok(())
}
