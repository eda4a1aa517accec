//! How an article row is read back into the shared [`Article`] record.

use chrono::{DateTime, Utc};
use newspipe_models::Article;

/// The columns an [`ArticleRow`] reads, in the order of the table.
pub(crate) const ARTICLE_COLUMNS: &str = "url, canonical_url, title, authors, published_at, modified_at, language, site_name, \
     description, image, tags, section, text, markdown, word_count, content_hash, simhash, paywalled, fetched_at, \
     warc_file, warc_offset, warc_record_id, taken_down_at, rendered";

/// An `articles` row as PostgreSQL types it; [`Article`] is what the rest of newspipe sees.
#[derive(sqlx::FromRow)]
pub(crate) struct ArticleRow {
    url: String,
    canonical_url: Option<String>,
    title: Option<String>,
    authors: Vec<String>,
    published_at: Option<DateTime<Utc>>,
    modified_at: Option<DateTime<Utc>>,
    language: Option<String>,
    site_name: Option<String>,
    description: Option<String>,
    image: Option<String>,
    tags: Vec<String>,
    section: Option<String>,
    text: String,
    markdown: Option<String>,
    word_count: i32,
    content_hash: String,
    simhash: Option<i64>,
    paywalled: bool,
    fetched_at: Option<DateTime<Utc>>,
    warc_file: Option<String>,
    warc_offset: Option<i64>,
    warc_record_id: Option<String>,
    taken_down_at: Option<DateTime<Utc>>,
    rendered: bool,
}

impl From<ArticleRow> for Article {
    fn from(row: ArticleRow) -> Article {
        Article {
            url: row.url,
            canonical_url: row.canonical_url,
            title: row.title,
            authors: row.authors,
            published_at: row.published_at,
            modified_at: row.modified_at,
            language: row.language,
            site_name: row.site_name,
            description: row.description,
            image: row.image,
            tags: row.tags,
            section: row.section,
            text: row.text,
            markdown: row.markdown,
            word_count: row.word_count.max(0) as u32,
            content_hash: row.content_hash,
            // Stored as the same 64 bits in a signed column.
            simhash: row.simhash.map(|h| h as u64),
            paywalled: row.paywalled,
            fetched_at: row.fetched_at,
            warc_file: row.warc_file,
            warc_offset: row.warc_offset.and_then(|o| u64::try_from(o).ok()),
            warc_record_id: row.warc_record_id,
            taken_down_at: row.taken_down_at,
            rendered: row.rendered,
        }
    }
}
