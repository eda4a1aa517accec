//! `newspipe extract`: local pages to articles, without any service. One page prints one article; `--jsonl`
//! walks files and folders (or a `--manifest`) on every core and prints one JSON line per page.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use newspipe_extract::files::{extract_file, page_files};
use newspipe_extract::{Extraction, Options, Page, extract};
use serde::Deserialize;

use crate::Exit;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Text,
    Markdown,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe extract --url https://example.com/news/1 page.html\n  \
    curl -s https://example.com/news/1 | newspipe extract --format text -\n  \
    newspipe extract --jsonl --jobs 4 pages/ > articles.jsonl\n  \
    newspipe extract --jsonl --manifest pages.jsonl   # lines {\"path\": ..., \"url\": ...}")]
pub struct ExtractArgs {
    /// The page's original URL (resolves relative links, and dates in the URL).
    #[arg(long)]
    url: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// One JSON line per page (with a `path` field; `skipped` or `error` instead of the article when so).
    #[arg(long)]
    jsonl: bool,
    /// With --jsonl: pages extracted at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// With --jsonl: read `{"path": ..., "url": ...}` lines from this file instead of walking PATHs.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// HTML files (`.html`, `.htm`, `.html.gz`), folders (with --jsonl), or `-` for standard input.
    paths: Vec<PathBuf>,
}

pub fn run(args: ExtractArgs) -> anyhow::Result<()> {
    let options = Options::default();
    if args.jsonl || args.manifest.is_some() {
        return run_jsonl(&args, &options);
    }
    let [path] = args.paths.as_slice() else {
        return Err(Exit::usage("give one FILE (or `-`), or use --jsonl for several").into());
    };
    let extraction = if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .take(options.max_bytes as u64 + 1)
            .read_to_end(&mut body)
            .context("reading standard input")?;
        let url = args.url.as_deref().unwrap_or("http://localhost/");
        extract(&Page::new(&body, url), &options).context("extracting standard input")?
    } else {
        extract_file(path, args.url.as_deref(), &options).map_err(|e| Exit::usage(e.to_string()))?
    };
    match extraction {
        Extraction::Article(article) => {
            match args.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&article)?),
                Format::Text => println!("{}", article.text),
                Format::Markdown => println!("{}", article.markdown.as_deref().unwrap_or(&article.text)),
            }
            Ok(())
        }
        Extraction::Skipped(reason) => Err(Exit { code: 3, message: format!("skipped: {reason}") }.into()),
    }
}

#[derive(Deserialize)]
struct ManifestLine {
    path: PathBuf,
    url: Option<String>,
}

fn run_jsonl(args: &ExtractArgs, options: &Options) -> anyhow::Result<()> {
    let pages: Vec<(PathBuf, Option<String>)> = match &args.manifest {
        Some(manifest) => read_manifest(manifest)?,
        None => {
            if args.paths.is_empty() {
                return Err(Exit::usage("give files or folders to extract, or --manifest FILE").into());
            }
            page_files(&args.paths)
                .map_err(|e| Exit::usage(format!("cannot walk the paths: {e}")))?
                .into_iter()
                .map(|path| (path, None))
                .collect()
        }
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let jobs = args.jobs.unwrap_or(cores).max(1);
    let next = AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(usize, String)>(jobs * 4);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (pages, next) = (&pages, &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, url)) = pages.get(i) else { break };
                    if sender.send((i, json_line(path, url.as_deref(), options))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Lines come out in input order, whichever thread finished first.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut waiting = BTreeMap::new();
        let mut printed = 0;
        for (i, line) in receiver {
            waiting.insert(i, line);
            while let Some(line) = waiting.remove(&printed) {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
                printed += 1;
            }
        }
        out.flush()?;
        Ok(())
    })
}

/// One page's line: the article with its `path`, or `skipped`/`error` with the reason. Never fails the run.
fn json_line(path: &Path, url: Option<&str>, options: &Options) -> String {
    let path_text = path.display().to_string();
    let value = match extract_file(path, url, options) {
        Ok(Extraction::Article(article)) => {
            let mut value = serde_json::to_value(&article).unwrap_or_default();
            value["path"] = path_text.into();
            value
        }
        Ok(Extraction::Skipped(reason)) => {
            serde_json::json!({ "path": path_text, "skipped": reason, "reason_code": reason.code() })
        }
        Err(error) => serde_json::json!({ "path": path_text, "error": error.to_string() }),
    };
    value.to_string()
}

fn read_manifest(manifest: &Path) -> anyhow::Result<Vec<(PathBuf, Option<String>)>> {
    let file = std::fs::File::open(manifest)
        .map_err(|e| Exit::usage(format!("cannot read manifest {}: {e}", manifest.display())))?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    let mut pages = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {} line {}", manifest.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: ManifestLine = serde_json::from_str(&line)
            .map_err(|e| Exit::usage(format!("{} line {}: {e}", manifest.display(), n + 1)))?;
        // Relative paths are relative to the manifest, so a manifest travels with its pages.
        let path = if entry.path.is_relative() { base.join(entry.path) } else { entry.path };
        pages.push((path, entry.url));
    }
    Ok(pages)
}
