//! `newspipe search`: full-text search over the stored articles, ranked, with highlighted snippets.

use std::io::IsTerminal;

use newspipe_db::{ArticleFilter, Database};

use crate::Settings;
use crate::common::{parse_since, positive};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe search 'climate summit'\n  \
    newspipe search '\"interest rates\" -mortgage' --lang en --since 7d --limit 5\n  \
    newspipe search election --site example.com --json\n\n\
    QUERY uses web-search syntax: words are ANDed, \"quoted phrases\", `or`, and -excluded words. Each article is \
    matched and highlighted in its own language (stemming: `running` finds `run`); --lang searches one \
    language only.")]
pub struct SearchArgs {
    /// What to look for, in web-search syntax.
    query: String,
    /// Only this site: its name or its host (example.com also matches www.example.com).
    #[arg(long)]
    site: Option<String>,
    /// Only articles in this language (a BCP 47 tag: en, de, pt-BR...).
    #[arg(long)]
    lang: Option<String>,
    /// Only articles published since: a date (2026-11-01), an RFC 3339 time, or an age (36h, 7d).
    #[arg(long, value_parser = parse_since)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many results.
    #[arg(long, default_value = "10", value_parser = positive)]
    limit: i64,
    /// Print JSON (one array) instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(settings: &Settings, args: SearchArgs) -> anyhow::Result<()> {
    if args.query.trim().is_empty() {
        return Err(crate::common::usage("the search query is empty"));
    }
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let filter = ArticleFilter { site: args.site, language: args.lang, since: args.since };
    let color = !args.json && std::io::stdout().is_terminal();
    let markers = if color { ("\x1b[1;33m", "\x1b[0m") } else { ("[", "]") };
    let hits = database.search(&args.query, &filter, None, args.limit, markers).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        eprintln!("no article matches `{}`", args.query);
        return Ok(());
    }
    for (i, hit) in hits.iter().enumerate() {
        let date = hit.published_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into());
        println!("{}. {}", i + 1, hit.title.as_deref().unwrap_or("(no title)"));
        println!(
            "   {}  {}  {}  id {}  rank {:.3}",
            hit.url,
            date,
            hit.language.as_deref().unwrap_or("?"),
            hit.id,
            hit.rank
        );
        println!("   {}", hit.snippet.split_whitespace().collect::<Vec<_>>().join(" "));
        println!();
    }
    Ok(())
}
