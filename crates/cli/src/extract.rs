//! `newspipe extract`: one local page to an article, without any service.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use newspipe_extract::{Extraction, Options, Page, extract};

use crate::Exit;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Text,
    Markdown,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe extract --url https://example.com/news/1 page.html\n  \
    curl -s https://example.com/news/1 | newspipe extract --format text -")]
pub struct ExtractArgs {
    /// The page's original URL (resolves relative links, and dates in the URL).
    #[arg(long, default_value = "http://localhost/")]
    url: String,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// An HTML file (`.html.gz` is decompressed), or `-` for standard input.
    file: PathBuf,
}

pub fn run(args: ExtractArgs) -> anyhow::Result<()> {
    let body = read_page(&args.file)?;
    let page = Page::new(&body, &args.url);
    match extract(&page, &Options::default())
        .with_context(|| format!("extracting {}", args.file.display()))?
    {
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

fn read_page(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut body).context("reading standard input")?;
        return Ok(body);
    }
    let file =
        std::fs::File::open(path).map_err(|e| Exit::usage(format!("cannot read {}: {e}", path.display())))?;
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_end(&mut body)
    } else {
        std::io::BufReader::new(file).read_to_end(&mut body)
    }
    .with_context(|| format!("reading {}", path.display()))?;
    Ok(body)
}
