//! `newspipe export`: the stored articles (all, or filtered by site, language and time) as JSON lines, CSV
//! or Parquet files, streamed from the database: memory bounded whatever the archive's size (one article at
//! a time; a batch of them for Parquet, see `parquet`).

mod parquet;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use newspipe_db::{ArticleFilter, Database};
use newspipe_models::Article;

use crate::common::parse_since;
use crate::{Exit, Settings};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line, every field.
    Jsonl,
    /// One row an article, every field (see `CSV_HEADER`).
    Csv,
    /// For people: a line an article with its title, authors, publish date and words.
    Table,
    /// Parquet files in the --output directory (`part-00000.parquet`, ...), a column per JSON field.
    Parquet,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe export --format jsonl > articles.jsonl\n  \
    newspipe export --format csv --output articles.csv\n  \
    newspipe export --since 7d --site example.com --lang en --output recent.jsonl\n  \
    newspipe export --format parquet --output archive/ --rows-per-file 500000\n  \
    newspipe export --versions --site example.com > versions.jsonl\n\n\
    --since takes a date (2026-11-01), an RFC 3339 time or an age (36h, 7d) and selects articles stored or \
    updated since then. A progress bar is shown on a terminal when writing to a file.")]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Write here instead of standard output. With --format parquet (where it is required): a directory,
    /// created if missing, that must be empty.
    #[arg(long, required_if_eq("format", "parquet"))]
    output: Option<PathBuf>,
    /// With --format parquet: rows in each file, at most.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rows_per_file: Option<u64>,
    /// Only articles stored or updated since this time.
    #[arg(long, value_parser = parse_since)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only this site: its name or its host (example.com also matches www.example.com).
    #[arg(long)]
    site: Option<String>,
    /// Only articles in this language (a BCP 47 tag; `en` matches en-GB too).
    #[arg(long)]
    lang: Option<String>,
    /// Every version of each article instead of its current content: a line (or row) per version, with
    /// `version` (from 1, in fetch order), `version_fetched_at`, `version_hash` and `current`, the version's
    /// title, authors, text and word count, and the article's identity (JSON Lines or CSV).
    #[arg(long)]
    versions: bool,
}

/// CSV columns of `--versions`, in order (the fields of each JSON line).
const VERSIONS_CSV_HEADER: [&str; 15] = [
    "url",
    "article_id",
    "version",
    "version_fetched_at",
    "version_hash",
    "current",
    "title",
    "authors",
    "word_count",
    "canonical_url",
    "published_at",
    "language",
    "site_name",
    "taken_down_at",
    "text",
];

/// CSV columns, in order; list fields are joined with `; `. Each is also a field of every JSON line.
pub const CSV_HEADER: [&str; 23] = [
    "url",
    "canonical_url",
    "title",
    "authors",
    "published_at",
    "modified_at",
    "language",
    "site_name",
    "description",
    "image",
    "tags",
    "section",
    "word_count",
    "content_hash",
    "simhash",
    "paywalled",
    "fetched_at",
    "warc_file",
    "warc_offset",
    "warc_record_id",
    "taken_down_at",
    "text",
    "markdown",
];

/// `--rows-per-file` unless given.
const ROWS_PER_FILE: u64 = 1_000_000;

pub async fn run(settings: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    let parquet_dir = match (args.format, &args.output) {
        (Format::Parquet, Some(dir)) => {
            // Refused before anything is read: a usage error, not an export that fails half-way.
            parquet::prepare_dir(dir)?;
            Some(dir.clone())
        }
        // clap requires --output with parquet; this says so again should that ever change.
        (Format::Parquet, None) => return Err(Exit::usage("--format parquet needs --output DIR").into()),
        _ if args.rows_per_file.is_some() => {
            return Err(Exit::usage("--rows-per-file is for --format parquet").into());
        }
        _ => None,
    };
    if args.versions && !matches!(args.format, Format::Jsonl | Format::Csv) {
        return Err(Exit::usage("--versions writes JSON Lines or CSV (--format jsonl or csv)").into());
    }
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let filter = ArticleFilter { site: args.site.clone(), language: args.lang.clone(), since: args.since };
    if args.versions {
        return export_versions(&database, &filter, &args).await;
    }
    // A progress bar only where a person watches it: on a terminal, and not mixed into the output itself.
    let bar =
        if std::io::stderr().is_terminal() && (args.output.is_some() || !std::io::stdout().is_terminal()) {
            let bar = ProgressBar::new(database.count_articles(&filter).await?.max(0) as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} articles ({elapsed}, eta {eta})")
                    .expect("static template"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
    let mut articles = std::pin::pin!(database.articles_matching(&filter));
    if let Some(dir) = parquet_dir {
        let mut export = parquet::ParquetExport::new(&dir, args.rows_per_file.unwrap_or(ROWS_PER_FILE));
        let mut count = 0u64;
        while let Some(article) = articles.next().await {
            export.write(article?)?;
            count += 1;
            bar.inc(1);
        }
        let parts = export.finish()?;
        bar.finish_and_clear();
        eprintln!("exported {count} article(s) to {parts} Parquet file(s) in {}", dir.display());
        return Ok(());
    }
    let mut sink = open_sink(args.output.as_deref())?;
    let mut count = 0u64;
    match args.format {
        Format::Jsonl => {
            while let Some(article) = articles.next().await {
                serde_json::to_writer(&mut sink, &article?)?;
                sink.write_all(b"\n")?;
                count += 1;
                bar.inc(1);
            }
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut sink);
            writer.write_record(CSV_HEADER)?;
            while let Some(article) = articles.next().await {
                writer.write_record(csv_record(&article?))?;
                count += 1;
                bar.inc(1);
            }
            writer.flush()?;
        }
        Format::Parquet => unreachable!("written above"),
        Format::Table => {
            writeln!(sink, "{}", table_row("TITLE", "AUTHORS", "PUBLISHED", "WORDS"))?;
            while let Some(article) = articles.next().await {
                let article = article?;
                let published = article.published_at.map(|t| t.format("%Y-%m-%d").to_string());
                writeln!(
                    sink,
                    "{}",
                    table_row(
                        article.title.as_deref().unwrap_or("(no title)"),
                        &article.authors.join(", "),
                        published.as_deref().unwrap_or("-"),
                        &article.word_count.to_string(),
                    )
                )?;
                count += 1;
                bar.inc(1);
            }
        }
    }
    sink.flush()?;
    bar.finish_and_clear();
    if args.output.is_some() {
        eprintln!("exported {count} article(s)");
    }
    Ok(())
}

/// Where an export writes: `--output` (created) or standard output, buffered.
fn open_sink(output: Option<&std::path::Path>) -> anyhow::Result<std::io::BufWriter<Box<dyn Write>>> {
    let sink: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(std::io::BufWriter::new(sink))
}

/// `export --versions`: a line or row per version, streamed.
async fn export_versions(
    database: &Database,
    filter: &ArticleFilter,
    args: &ExportArgs,
) -> anyhow::Result<()> {
    let mut sink = open_sink(args.output.as_deref())?;
    let mut versions = std::pin::pin!(database.versions_matching(filter));
    let mut count = 0u64;
    if matches!(args.format, Format::Csv) {
        let mut writer = csv::Writer::from_writer(&mut sink);
        writer.write_record(VERSIONS_CSV_HEADER)?;
        while let Some(v) = versions.next().await {
            let v = v?;
            let time =
                |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
            writer.write_record([
                v.url,
                v.article_id.to_string(),
                v.version.to_string(),
                v.version_fetched_at.to_rfc3339(),
                v.version_hash,
                v.current.to_string(),
                v.title.unwrap_or_default(),
                v.authors.join("; "),
                v.word_count.to_string(),
                v.canonical_url.unwrap_or_default(),
                time(&v.published_at),
                v.language.unwrap_or_default(),
                v.site_name.unwrap_or_default(),
                time(&v.taken_down_at),
                v.text,
            ])?;
            count += 1;
        }
        writer.flush()?;
    } else {
        while let Some(v) = versions.next().await {
            serde_json::to_writer(&mut sink, &v?)?;
            sink.write_all(b"\n")?;
            count += 1;
        }
    }
    sink.flush()?;
    if args.output.is_some() {
        eprintln!("exported {count} version(s)");
    }
    Ok(())
}

/// A row of `--format table`: the title and authors cut to their columns (with `…`), on one line.
fn table_row(title: &str, authors: &str, published: &str, words: &str) -> String {
    fn fit(text: &str, width: usize) -> String {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() <= width {
            format!("{text:<width$}")
        } else {
            let cut: String = text.chars().take(width - 1).collect();
            format!("{cut}…")
        }
    }
    format!("{}  {}  {published:<10}  {words:>6}", fit(title, 56), fit(authors, 28))
}

fn csv_record(a: &Article) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    vec![
        a.url.clone(),
        opt(&a.canonical_url),
        opt(&a.title),
        a.authors.join("; "),
        time(&a.published_at),
        time(&a.modified_at),
        opt(&a.language),
        opt(&a.site_name),
        opt(&a.description),
        opt(&a.image),
        a.tags.join("; "),
        opt(&a.section),
        a.word_count.to_string(),
        a.content_hash.clone(),
        a.simhash.map(|h| format!("{h:016x}")).unwrap_or_default(),
        a.paywalled.to_string(),
        time(&a.fetched_at),
        opt(&a.warc_file),
        a.warc_offset.map(|o| o.to_string()).unwrap_or_default(),
        opt(&a.warc_record_id),
        time(&a.taken_down_at),
        a.text.clone(),
        opt(&a.markdown),
    ]
}

#[cfg(test)]
mod tests {
    use super::table_row;

    #[test]
    fn a_table_row_keeps_its_columns_whatever_the_title() {
        let short = table_row("A headline", "Ada Lovelace", "2026-11-30", "812");
        let long = table_row(
            &"A very long headline\nover lines ".repeat(10),
            "Ada Lovelace, Charles Babbage, Alan Turing",
            "-",
            "12",
        );
        assert_eq!(short.chars().count(), long.chars().count(), "{short}\n{long}");
        assert!(long.contains('…') && !long.contains('\n'), "{long}");
        assert!(short.starts_with("A headline ") && short.ends_with("   812"), "{short}");
    }
}
