//! Articles as Parquet: one column per field of the JSON export (same names, same order; timestamps
//! `timestamp[us, UTC]`, `authors` and `tags` `list<string>`), readable by pandas, polars, DuckDB and
//! pyarrow. Used by `newspipe export --format parquet` and by the WARC reader's Parquet sink.
//!
//! Memory stays bounded whatever a file's size: articles are gathered into batches of at most
//! [`BATCH_ROWS`] rows (fewer where their text is long, see [`BATCH_BYTES`]) and each batch is written as one
//! row group. A file is written under a hidden temporary name beside its own and renamed when complete, so
//! a reader listing `*.parquet` never sees half a file, and a file written again replaces the old one whole.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use newspipe_models::Article;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Rows of one batch (and so of one row group), at most.
pub const BATCH_ROWS: usize = 8192;
/// A batch is also written once its articles' text and Markdown reach this size: pages with long bodies
/// would otherwise hold hundreds of megabytes in memory per batch.
pub const BATCH_BYTES: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("cannot build a batch of articles for {path}: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow_schema::ArrowError,
    },
}

/// The columns: the fields of [`Article`] as the JSON export names them, in its order.
pub fn schema() -> SchemaRef {
    let text = |name, nullable| Field::new(name, DataType::Utf8, nullable);
    let time = |name| Field::new(name, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true);
    // The item field is the one `ListBuilder` makes (`item`, nullable), so batches match the schema.
    let list = |name| Field::new_list(name, Field::new_list_field(DataType::Utf8, true), false);
    Arc::new(Schema::new(vec![
        text("url", false),
        text("canonical_url", true),
        text("title", true),
        list("authors"),
        time("published_at"),
        time("modified_at"),
        text("language", true),
        text("site_name", true),
        text("description", true),
        text("image", true),
        list("tags"),
        text("section", true),
        text("text", false),
        text("markdown", true),
        Field::new("word_count", DataType::UInt32, false),
        text("content_hash", false),
        Field::new("simhash", DataType::UInt64, true),
        Field::new("paywalled", DataType::Boolean, false),
        time("fetched_at"),
        text("warc_file", true),
        Field::new("warc_offset", DataType::UInt64, true),
        text("warc_record_id", true),
        time("taken_down_at"),
        Field::new("rendered", DataType::Boolean, false),
    ]))
}

/// One Parquet file of articles being written.
pub struct ParquetFile {
    writer: Option<ArrowWriter<File>>,
    schema: SchemaRef,
    temporary: PathBuf,
    name: PathBuf,
    batch: Vec<Article>,
    batch_bytes: usize,
    rows: u64,
}

impl Drop for ParquetFile {
    /// A file not finished (a failure, a process stopping) leaves no temporary file behind.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

impl ParquetFile {
    /// Starts the file that will be `name` once [`ParquetFile::finish`]ed; until then it is
    /// `.NAME.tmp` beside it (hidden, and not ending in `.parquet`: no reader of the folder picks it up).
    pub fn create(name: &Path) -> Result<ParquetFile, ParquetError> {
        let file_name = name.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = name.with_file_name(format!(".{file_name}.tmp"));
        let file = File::create(&temporary).map_err(|source| ParquetError::Io {
            what: "create",
            path: temporary.clone(),
            source,
        })?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(BATCH_ROWS))
            .build();
        let schema = schema();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .map_err(|source| ParquetError::Parquet { path: temporary.clone(), source })?;
        Ok(ParquetFile {
            writer: Some(writer),
            schema,
            temporary,
            name: name.to_path_buf(),
            batch: Vec::new(),
            batch_bytes: 0,
            rows: 0,
        })
    }

    /// Rows written so far (batched ones too).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn write(&mut self, article: Article) -> Result<(), ParquetError> {
        self.batch_bytes += article.text.len() + article.markdown.as_ref().map_or(0, String::len);
        self.batch.push(article);
        self.rows += 1;
        if self.batch.len() >= BATCH_ROWS || self.batch_bytes >= BATCH_BYTES {
            self.flush_batch()?;
        }
        Ok(())
    }

    /// Writes the batch as one row group.
    fn flush_batch(&mut self) -> Result<(), ParquetError> {
        let Some(writer) = self.writer.as_mut() else { return Ok(()) };
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = record_batch(&self.schema, &self.batch)
            .map_err(|source| ParquetError::Arrow { path: self.temporary.clone(), source })?;
        let parquet = |source| ParquetError::Parquet { path: self.temporary.clone(), source };
        writer.write(&batch).map_err(parquet)?;
        // One row group per batch, whatever its row count: the writer then holds no rows between batches.
        writer.flush().map_err(|source| ParquetError::Parquet { path: self.temporary.clone(), source })?;
        self.batch.clear();
        self.batch_bytes = 0;
        Ok(())
    }

    /// Writes the footer, syncs the file and renames it to its name (replacing a file of that name).
    pub fn finish(mut self) -> Result<u64, ParquetError> {
        self.flush_batch()?;
        let writer = self.writer.take().expect("a file is finished once");
        let result = (|| {
            let file = writer
                .into_inner()
                .map_err(|source| ParquetError::Parquet { path: self.temporary.clone(), source })?;
            file.sync_all().map_err(|source| ParquetError::Io {
                what: "sync",
                path: self.temporary.clone(),
                source,
            })?;
            std::fs::rename(&self.temporary, &self.name).map_err(|source| ParquetError::Io {
                what: "rename into place",
                path: self.name.clone(),
                source,
            })
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temporary);
        }
        result?;
        Ok(self.rows)
    }
}

/// One batch of articles as columns of [`schema`].
fn record_batch(schema: &SchemaRef, articles: &[Article]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let text = |f: fn(&Article) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(articles.iter().map(f)))
    };
    let optional = |f: fn(&Article) -> Option<&str>| -> ArrayRef {
        Arc::new(articles.iter().map(f).collect::<StringArray>())
    };
    let time = |f: fn(&Article) -> Option<DateTime<Utc>>| -> ArrayRef {
        let micros = articles.iter().map(|a| f(a).map(|t| t.timestamp_micros()));
        Arc::new(micros.collect::<TimestampMicrosecondArray>().with_timezone("UTC"))
    };
    let list = |f: fn(&Article) -> &[String]| -> ArrayRef {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for article in articles {
            builder.append_value(f(article).iter().map(Some));
        }
        Arc::new(builder.finish())
    };
    let columns = vec![
        text(|a| &a.url),
        optional(|a| a.canonical_url.as_deref()),
        optional(|a| a.title.as_deref()),
        list(|a| &a.authors),
        time(|a| a.published_at),
        time(|a| a.modified_at),
        optional(|a| a.language.as_deref()),
        optional(|a| a.site_name.as_deref()),
        optional(|a| a.description.as_deref()),
        optional(|a| a.image.as_deref()),
        list(|a| &a.tags),
        optional(|a| a.section.as_deref()),
        text(|a| &a.text),
        optional(|a| a.markdown.as_deref()),
        Arc::new(articles.iter().map(|a| a.word_count).collect::<UInt32Array>()),
        text(|a| &a.content_hash),
        Arc::new(articles.iter().map(|a| a.simhash).collect::<UInt64Array>()),
        Arc::new(articles.iter().map(|a| Some(a.paywalled)).collect::<BooleanArray>()),
        time(|a| a.fetched_at),
        optional(|a| a.warc_file.as_deref()),
        Arc::new(articles.iter().map(|a| a.warc_offset).collect::<UInt64Array>()),
        optional(|a| a.warc_record_id.as_deref()),
        time(|a| a.taken_down_at),
        Arc::new(articles.iter().map(|a| Some(a.rendered)).collect::<BooleanArray>()),
    ];
    RecordBatch::try_new(schema.clone(), columns)
}

#[cfg(test)]
mod tests {
    use newspipe_models::Article;

    /// The columns are the JSON export's fields: the same names in the same order (a field added to
    /// `Article` fails this until it has its column).
    #[test]
    fn the_columns_are_the_json_fields_in_their_order() {
        let json = serde_json::to_string(&Article::default()).unwrap();
        let fields: Vec<&str> = json
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(|pair| pair.split(':').next().unwrap().trim_matches('"'))
            .collect();
        let schema = super::schema();
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(columns, fields);
    }
}
