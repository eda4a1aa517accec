//! The workspace's tokenizer ([`newspipe_html::Tokenizer`]) against html5ever's, tokenizing only, over the
//! pages of `../shared/corpus/wcxb-dev-articles` (decoded to text first, outside the measurement). Both
//! sinks do the same minimal work: count start tags, end tags and bytes of text. A third line gives
//! extraction's whole parse (tokenizer and tree builder, `dom::parse`) for scale.
//!
//! `cargo bench -p newspipe-extract --bench tokenizer -- --measurement-time 5`
//!
//! Without `../shared` (or `NEWSPIPE_SHARED`) it says so and measures nothing.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer,
    TokenizerOpts,
};

/// The decoded pages of the wcxb corpus, or `None` when it is absent.
fn pages() -> Option<Vec<String>> {
    let shared = std::env::var_os("NEWSPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("corpus/wcxb-dev-articles/html");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut pages = Vec::new();
    for path in paths {
        let mut bytes = Vec::new();
        let Ok(file) = std::fs::File::open(&path) else { continue };
        if flate2::read::GzDecoder::new(file).read_to_end(&mut bytes).is_ok() {
            pages.push(newspipe_extract::charset::decode(&bytes, None, "").0.into_owned());
        }
    }
    (!pages.is_empty()).then_some(pages)
}

#[derive(Default, Debug, PartialEq)]
struct Counts {
    start_tags: usize,
    end_tags: usize,
    text_bytes: usize,
}

fn own(html: &str) -> Counts {
    let mut counts = Counts::default();
    let mut tokens = newspipe_html::Tokenizer::new(html);
    while let Some(token) = tokens.next_token() {
        match token {
            newspipe_html::Token::StartTag(_) => counts.start_tags += 1,
            newspipe_html::Token::EndTag(_) => counts.end_tags += 1,
            newspipe_html::Token::Text(t) | newspipe_html::Token::ElementText { text: t, .. } => {
                counts.text_bytes += t.len()
            }
        }
    }
    counts
}

#[derive(Default)]
struct CountingSink {
    start_tags: Cell<usize>,
    end_tags: Cell<usize>,
    text_bytes: Cell<usize>,
}

impl TokenSink for CountingSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            TagToken(tag) if tag.kind == StartTag => {
                self.start_tags.set(self.start_tags.get() + 1);
                // html5ever's tokenizer alone does not know the raw-text elements: the tree builder (here,
                // the sink) switches it, as discover's sink did.
                use html5ever::tokenizer::states::RawKind;
                match &*tag.name {
                    "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                        return TokenSinkResult::RawData(RawKind::Rawtext);
                    }
                    "title" | "textarea" => return TokenSinkResult::RawData(RawKind::Rcdata),
                    "plaintext" => return TokenSinkResult::Plaintext,
                    _ => {}
                }
            }
            TagToken(tag) if tag.kind == EndTag => self.end_tags.set(self.end_tags.get() + 1),
            CharacterTokens(text) => self.text_bytes.set(self.text_bytes.get() + text.len()),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn html5ever(html: &StrTendril) -> Counts {
    let tokenizer = Tokenizer::new(CountingSink::default(), TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(html.clone());
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let sink = &tokenizer.sink;
    Counts {
        start_tags: sink.start_tags.get(),
        end_tags: sink.end_tags.get(),
        text_bytes: sink.text_bytes.get(),
    }
}

fn tokenizers(c: &mut Criterion) {
    let Some(pages) = pages() else {
        println!("tokenizer bench: ../shared/corpus/wcxb-dev-articles is absent; nothing to measure");
        return;
    };
    let tendrils: Vec<StrTendril> = pages.iter().map(|p| StrTendril::from_slice(p)).collect();
    let bytes: usize = pages.iter().map(String::len).sum();
    let (ours, theirs) = (
        pages.iter().map(|p| own(p).start_tags).sum::<usize>(),
        tendrils.iter().map(|t| html5ever(t).start_tags).sum::<usize>(),
    );
    println!(
        "{} pages, {:.1} MB of text; start tags: own {ours}, html5ever {theirs}",
        pages.len(),
        bytes as f64 / 1e6
    );
    let mut group = c.benchmark_group("tokenize wcxb-dev-articles");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("newspipe-html", |b| {
        b.iter(|| pages.iter().map(|p| own(std::hint::black_box(p)).text_bytes).sum::<usize>())
    });
    group.bench_function("html5ever", |b| {
        b.iter(|| tendrils.iter().map(|t| html5ever(std::hint::black_box(t)).text_bytes).sum::<usize>())
    });
    group.bench_function("dom::parse (tokenizer and tree)", |b| {
        b.iter(|| {
            pages
                .iter()
                .map(|p| newspipe_extract::dom::parse(std::hint::black_box(p), None).nodes.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, tokenizers);
criterion_main!(benches);
