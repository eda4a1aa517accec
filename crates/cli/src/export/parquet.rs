//! `newspipe export --format parquet --output DIR`: the articles as Parquet files `part-00000.parquet`,
//! `part-00001.parquet`, ... of at most `--rows-per-file` rows each, one column per field of the JSON export.
//!
//! Memory stays bounded whatever the export's size: articles are gathered into batches of at most
//! [`BATCH_ROWS`] rows (fewer where their text is long, see [`BATCH_BYTES`]) and each batch is written as one
//! row group. A part is written under a hidden temporary name and renamed when it is complete, so a reader
//! listing `DIR/*.parquet` never sees half a file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
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

use crate::Exit;

/// Rows of one batch (and so of one row group), at most.
const BATCH_ROWS: usize = 8192;
/// A batch is also written once its articles' text and Markdown reach this size: pages with long bodies
/// would otherwise hold hundreds of megabytes in memory per batch.
const BATCH_BYTES: usize = 64 << 20;

/// Checks `--output` before anything is read: a directory that is missing (it is created) or empty.
/// Anything else is refused, so that an export never mixes its parts with another's files.
pub fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Exit::usage(format!(
                    "{} is not empty: a Parquet export needs a new or empty directory",
                    dir.display()
                ))
                .into());
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(Exit::usage(format!("{} is not a directory", dir.display())).into())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read directory {}", dir.display())),
    }
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
    ]))
}

/// Writes the parts of one export into `dir` (checked by [`prepare_dir`]).
pub struct ParquetExport {
    dir: PathBuf,
    rows_per_file: u64,
    schema: SchemaRef,
    properties: WriterProperties,
    batch: Vec<Article>,
    batch_bytes: usize,
    part: Option<Part>,
    /// Parts completed (and so the number of the next one).
    parts: u32,
}

/// The part being written: its writer, the temporary file it writes, and its rows so far (batched ones too).
struct Part {
    writer: ArrowWriter<File>,
    temporary: PathBuf,
    name: PathBuf,
    rows: u64,
}

impl Drop for ParquetExport {
    /// A part not completed (an export that failed) leaves no temporary file behind.
    fn drop(&mut self) {
        if let Some(part) = &self.part {
            let _ = std::fs::remove_file(&part.temporary);
        }
    }
}

impl ParquetExport {
    pub fn new(dir: &Path, rows_per_file: u64) -> ParquetExport {
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(BATCH_ROWS))
            .build();
        ParquetExport {
            dir: dir.to_path_buf(),
            rows_per_file,
            schema: schema(),
            properties,
            batch: Vec::new(),
            batch_bytes: 0,
            part: None,
            parts: 0,
        }
    }

    pub fn write(&mut self, article: Article) -> anyhow::Result<()> {
        if self.part.is_none() {
            self.part = Some(self.open_part()?);
        }
        self.batch_bytes += article.text.len() + article.markdown.as_ref().map_or(0, String::len);
        self.batch.push(article);
        let part = self.part.as_mut().expect("opened above");
        part.rows += 1;
        let part_full = part.rows >= self.rows_per_file;
        if part_full || self.batch.len() >= BATCH_ROWS || self.batch_bytes >= BATCH_BYTES {
            self.flush_batch()?;
        }
        if part_full {
            self.close_part()?;
        }
        Ok(())
    }

    /// Completes the last part. An export of no articles still writes one (empty) part: the directory then
    /// says what its columns are, and a reader of it finds a table with no rows rather than nothing.
    pub fn finish(mut self) -> anyhow::Result<u32> {
        if self.part.is_none() && self.parts == 0 {
            self.part = Some(self.open_part()?);
        }
        self.flush_batch()?;
        self.close_part()?;
        Ok(self.parts)
    }

    fn open_part(&self) -> anyhow::Result<Part> {
        let file_name = format!("part-{:05}.parquet", self.parts);
        let name = self.dir.join(&file_name);
        // Hidden, and not ending in .parquet: no reader of the directory picks it up.
        let temporary = self.dir.join(format!(".{file_name}.tmp"));
        let file =
            File::create(&temporary).with_context(|| format!("cannot create {}", temporary.display()))?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))
            .with_context(|| format!("cannot start {}", temporary.display()))?;
        Ok(Part { writer, temporary, name, rows: 0 })
    }

    /// Writes the batch as one row group of the current part.
    fn flush_batch(&mut self) -> anyhow::Result<()> {
        let (Some(part), false) = (self.part.as_mut(), self.batch.is_empty()) else {
            return Ok(());
        };
        let batch = record_batch(&self.schema, &self.batch).context("cannot build a batch of articles")?;
        part.writer.write(&batch).with_context(|| format!("cannot write {}", part.temporary.display()))?;
        // One row group per batch, whatever its row count: the writer then holds no rows between batches.
        part.writer.flush().with_context(|| format!("cannot write {}", part.temporary.display()))?;
        self.batch.clear();
        self.batch_bytes = 0;
        Ok(())
    }

    /// Writes the footer, syncs the file and gives it its name.
    fn close_part(&mut self) -> anyhow::Result<()> {
        let Some(Part { writer, temporary, name, .. }) = self.part.take() else {
            return Ok(());
        };
        let result = (|| {
            let file =
                writer.into_inner().with_context(|| format!("cannot complete {}", temporary.display()))?;
            file.sync_all().with_context(|| format!("cannot sync {}", temporary.display()))?;
            std::fs::rename(&temporary, &name)
                .with_context(|| format!("cannot rename {} to {}", temporary.display(), name.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result?;
        self.parts += 1;
        Ok(())
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
