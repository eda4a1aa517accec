//! `newspipe show`: one article and the history of its URL's outcomes.

use newspipe_db::Database;

use crate::common::time;
use crate::{Exit, Settings};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe show https://example.com/news/some-article\n  \
    newspipe show 42                                     (an article id, as `search` prints)\n  \
    newspipe show 0193a1b2-...                           (a job id)\n  \
    newspipe show https://example.com/news/1 --json | jq .history\n\n\
    Exits 1 when nothing is known about it (no article and no outcome).")]
pub struct ShowArgs {
    /// A URL (as submitted, fetched or canonical), an article id, or a job id.
    key: String,
    /// Print JSON ({article, history}) instead of text.
    #[arg(long)]
    json: bool,
    /// Print the article's full text (text output only prints its first lines).
    #[arg(long)]
    full: bool,
}

pub async fn run(settings: &Settings, args: ShowArgs) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let article = database.find_article(&args.key).await?;
    let mut history = database.outcome_history(&args.key, article.as_ref().map(|a| a.id)).await?;
    if let Some(stored) = &article
        && stored.article.url != args.key
    {
        // Also the outcomes recorded under the article's own URL (a redirect's target, a canonical URL).
        for row in database.outcome_history(&stored.article.url, Some(stored.id)).await? {
            if !history.iter().any(|h| h.job_id == row.job_id) {
                history.push(row);
            }
        }
        history.sort_by_key(|h| h.recorded_at);
    }
    if article.is_none() && history.is_empty() {
        return Err(Exit {
            code: 1,
            message: format!(
                "nothing is known about `{}`: no stored article and no outcome (submit it with `newspipe submit`)",
                args.key
            ),
        }
        .into());
    }
    if args.json {
        let value = serde_json::json!({ "article": article, "history": history });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    match &article {
        Some(stored) => {
            let a = &stored.article;
            println!("{}", a.title.as_deref().unwrap_or("(no title)"));
            println!();
            let field = |name: &str, value: Option<String>| {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    println!("{name:<14}{value}");
                }
            };
            field("id", Some(stored.id.to_string()));
            field("url", Some(a.url.clone()));
            field("canonical", a.canonical_url.clone());
            field("site", a.site_name.clone());
            field("authors", Some(a.authors.join(", ")));
            field("published", a.published_at.as_ref().map(time));
            field("modified", a.modified_at.as_ref().map(time));
            field("language", a.language.clone());
            field("section", a.section.clone());
            field("tags", Some(a.tags.join(", ")));
            field("words", Some(a.word_count.to_string()));
            field("paywalled", a.paywalled.then(|| "yes".to_string()));
            field("fetched", a.fetched_at.as_ref().map(time));
            field("stored", Some(time(&stored.stored_at)));
            field("updated", (stored.updated_at != stored.stored_at).then(|| time(&stored.updated_at)));
            field(
                "taken down",
                a.taken_down_at.as_ref().map(|t| format!("{} (it answered 404 or 410)", time(t))),
            );
            field("description", a.description.clone());
            println!();
            let paragraphs: Vec<&str> = a.text.split("\n\n").collect();
            let shown = if args.full { paragraphs.len() } else { paragraphs.len().min(3) };
            for paragraph in &paragraphs[..shown] {
                println!("{paragraph}");
                println!();
            }
            if shown < paragraphs.len() {
                println!("[... {} more paragraph(s); --full prints them]", paragraphs.len() - shown);
                println!();
            }
        }
        None => println!("no stored article for `{}`", args.key),
    }
    println!("outcome history ({}):", history.len());
    for row in &history {
        println!(
            "  {}  {:<8} {}  job {}{}",
            time(&row.recorded_at),
            row.outcome,
            row.reason.as_deref().unwrap_or(""),
            row.job_id,
            if article.as_ref().is_some_and(|s| s.article.url == row.url) {
                String::new()
            } else {
                format!("  ({})", row.url)
            }
        );
    }
    Ok(())
}
