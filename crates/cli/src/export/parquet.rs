//! `newspipe export --format parquet --output DIR`: the articles as Parquet files `part-00000.parquet`,
//! `part-00001.parquet`, ... of at most `--rows-per-file` rows each, one column per field of the JSON export
//! (the columns and the writing are `newspipe-parquet`'s).

use std::path::{Path, PathBuf};

use anyhow::Context;
use newspipe_models::Article;
use newspipe_parquet::ParquetFile;

use crate::Exit;

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

/// Writes the parts of one export into `dir` (checked by [`prepare_dir`]).
pub struct ParquetExport {
    dir: PathBuf,
    rows_per_file: u64,
    part: Option<ParquetFile>,
    /// Parts completed (and so the number of the next one).
    parts: u32,
}

impl ParquetExport {
    pub fn new(dir: &Path, rows_per_file: u64) -> ParquetExport {
        ParquetExport { dir: dir.to_path_buf(), rows_per_file, part: None, parts: 0 }
    }

    pub fn write(&mut self, article: Article) -> anyhow::Result<()> {
        if self.part.is_none() {
            self.part = Some(self.open_part()?);
        }
        let part = self.part.as_mut().expect("opened above");
        part.write(article)?;
        if part.rows() >= self.rows_per_file {
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
        self.close_part()?;
        Ok(self.parts)
    }

    fn open_part(&self) -> anyhow::Result<ParquetFile> {
        let name = self.dir.join(format!("part-{:05}.parquet", self.parts));
        ParquetFile::create(&name).with_context(|| format!("starting part {}", self.parts))
    }

    fn close_part(&mut self) -> anyhow::Result<()> {
        if let Some(part) = self.part.take() {
            part.finish()?;
            self.parts += 1;
        }
        Ok(())
    }
}
