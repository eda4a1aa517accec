//! Reading saved pages for `newspipe extract`: `.html`, `.htm` and gzip-compressed `.html.gz` files.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{ExtractError, Extraction, Options, Page, extract};

/// Why a saved page could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Extract(#[from] ExtractError),
}

/// Reads a saved page and extracts it. Without `url` the page's address is its `file://` URL (relative
/// links then resolve next to the file); pass the original URL (from a manifest) where it is known.
pub fn extract_file(path: &Path, url: Option<&str>, options: &Options) -> Result<Extraction, FileError> {
    let bytes = read_page(path, options.max_bytes)
        .map_err(|source| FileError::Read { path: path.to_path_buf(), source })?;
    let file_url;
    let url = match url {
        Some(url) => url,
        None => {
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            file_url = url::Url::from_file_path(&absolute).map(String::from).unwrap_or_default();
            &file_url
        }
    };
    Ok(extract(&Page::new(&bytes, url), options)?)
}

/// Whether `path` names a page file this module reads.
pub fn is_page_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    name.ends_with(".html")
        || name.ends_with(".htm")
        || name.ends_with(".html.gz")
        || name.ends_with(".htm.gz")
}

/// The page bytes of a file, decompressed when the name ends in `.gz`. At most `max_bytes` (after
/// decompression) are read; a larger page is an error, so a gzip bomb cannot exhaust memory.
pub fn read_page(path: &Path, max_bytes: usize) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let reader: Box<dyn Read> =
        if gz { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    let mut bytes = Vec::new();
    reader.take(max_bytes as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > max_bytes {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is larger than {max_bytes} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// Page files under each path (a file is taken as it is, a folder is walked), sorted within each folder.
pub fn page_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<PathBuf> =
                    std::fs::read_dir(&dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
                entries.sort();
                for entry in entries.into_iter().rev() {
                    if entry.is_dir() {
                        stack.push(entry);
                    } else if is_page_file(&entry) {
                        out.push(entry);
                    }
                }
            }
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_and_plain_pages_read_to_the_same_bytes() {
        let dir = std::env::temp_dir().join(format!("newspipe-extract-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let page = b"<html><body><p>Hello</p></body></html>";
        std::fs::write(dir.join("a.html"), page).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(page).unwrap();
        std::fs::write(dir.join("sub/b.html.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.join("notes.txt"), b"not a page").unwrap();
        let files = page_files(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        for f in &files {
            assert_eq!(read_page(f, 1024).unwrap(), page);
        }
        assert!(read_page(&dir.join("a.html"), 10).is_err());
        let article = format!(
            "<html><body><article><p>{}</p></article></body></html>",
            "Words of the article. ".repeat(20)
        );
        std::fs::write(dir.join("story.htm"), article).unwrap();
        match extract_file(&dir.join("story.htm"), None, &Options::default()).unwrap() {
            Extraction::Article(a) => {
                assert!(a.url.starts_with("file:///") && a.url.ends_with("story.htm"), "{}", a.url);
                assert!(a.text.starts_with("Words of the article."));
            }
            other => panic!("no article: {other:?}"),
        }
        assert!(matches!(
            extract_file(&dir.join("missing.html"), None, &Options::default()),
            Err(FileError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
