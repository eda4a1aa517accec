//! No input hangs, crashes or exhausts memory: each bound has a test here.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use newspipe_extract::{ExtractError, Extraction, Options, Page, extract};
use newspipe_models::SkipReason;

const PARAGRAPH: &str = "The president of the country has advised election authorities to investigate the results \
    of a disputed parliament race that has stoked chaotic unrest in the capital, where protesters stormed the \
    government headquarters on Monday night.";

fn run(bytes: &[u8]) -> (Result<Extraction, ExtractError>, Duration) {
    let start = Instant::now();
    let result = extract(&Page::new(bytes, "https://example.com/news/a"), &Options::default());
    (result, start.elapsed())
}

fn article_text(result: Result<Extraction, ExtractError>) -> String {
    match result {
        Ok(Extraction::Article(a)) => a.text,
        other => panic!("no article: {other:?}"),
    }
}

#[test]
fn a_page_over_the_size_limit_is_refused_without_parsing() {
    let body = vec![b'a'; 2048];
    let options = Options { max_bytes: 1024, ..Options::default() };
    let result = extract(&Page::new(&body, "https://example.com/"), &options);
    assert!(matches!(result, Err(ExtractError::TooLarge { size: 2048, limit: 1024 })), "{result:?}");
}

#[test]
fn a_page_that_outlasts_the_time_budget_fails_with_a_time_budget_error() {
    let mut html = String::from("<html><body>");
    for _ in 0..200_000 {
        html.push_str("<span>x</span>");
    }
    let options = Options { time_budget: Duration::ZERO, ..Options::default() };
    let start = Instant::now();
    let result = extract(&Page::new(html.as_bytes(), "https://example.com/"), &options);
    assert!(matches!(result, Err(ExtractError::TimeBudget(_))), "{result:?}");
    assert!(start.elapsed() < Duration::from_secs(2), "stopping took {:?}", start.elapsed());
}

#[test]
fn one_hundred_thousand_nested_elements_neither_overflow_nor_lose_the_text() {
    let depth = 100_000;
    let mut html = String::from("<html><body><article>");
    html.push_str(&"<div>".repeat(depth));
    html.push_str(&format!("<p>{PARAGRAPH}</p><p>{PARAGRAPH}</p>"));
    html.push_str(&"</div>".repeat(depth));
    html.push_str("</article></body></html>");
    let (result, took) = run(html.as_bytes());
    let text = article_text(result);
    assert!(text.contains("stormed the government headquarters"), "{text}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn deeply_nested_inline_elements_and_unclosed_tags_are_bounded() {
    let html = format!("<html><body><p>{PARAGRAPH}{}", "<b><i><span>".repeat(60_000));
    let (result, took) = run(html.as_bytes());
    assert!(article_text(result).contains("stormed the government headquarters"));
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_huge_attribute_is_cut_and_does_not_slow_extraction() {
    let image = "A".repeat(3 * 1024 * 1024);
    let html = format!(
        "<html><head><meta property=\"og:image\" content=\"data:image/png;base64,{image}\"></head>\
         <body><img src=\"data:image/png;base64,{image}\"><article><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></article></body></html>"
    );
    let (result, took) = run(html.as_bytes());
    match result {
        Ok(Extraction::Article(a)) => {
            assert!(a.text.contains("stormed the government headquarters"));
            assert!(a.image.is_none(), "a data URI is not a lead image");
        }
        other => panic!("no article: {other:?}"),
    }
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_huge_run_of_text_without_spaces_or_tags_is_handled() {
    let run_of_text = "x".repeat(7 * 1024 * 1024);
    let html = format!("<html><body><article><p>{PARAGRAPH}</p><p>{run_of_text}</p></article></body></html>");
    let (result, took) = run(html.as_bytes());
    assert!(article_text(result).contains("stormed the government headquarters"));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn binary_garbage_is_skipped_or_extracted_but_never_panics() {
    // A fixed pseudo-random sequence (xorshift) so that the test is reproducible.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for size in [0usize, 1, 7, 512, 65_536, 1 << 20] {
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let (result, took) = run(&bytes);
        assert!(!matches!(result, Err(ExtractError::Internal(_))), "{result:?}");
        assert!(took < Duration::from_secs(3), "{size} bytes took {took:?}");
    }
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(run(png).0.unwrap(), Extraction::Skipped(SkipReason::NotHtml { mime: "image/png".into() }));
}

#[test]
fn a_document_truncated_anywhere_still_extracts_without_panicking() {
    let full = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><title>T</title><script>var a = \"</div>\";</script>\
         <script type=\"application/ld+json\">{{\"@type\":\"NewsArticle\",\"headline\":\"H\"}}</script></head>\
         <body><!-- a comment --><article><h1 class=\"x\">Headline</h1><p>{PARAGRAPH}</p><p>{PARAGRAPH} &amp; \
         more &#8217; text</p><table><tr><td>a<td>b</table></article></body></html>"
    );
    for cut in 0..full.len() {
        if !full.is_char_boundary(cut) {
            continue;
        }
        let (result, _) = run(&full.as_bytes()[..cut]);
        assert!(!matches!(result, Err(ExtractError::Internal(_))), "cut at {cut}: {result:?}");
    }
    // Cut inside the second paragraph: the first one survives.
    let cut = full.rfind("more &#8217;").unwrap();
    let text = article_text(run(&full.as_bytes()[..cut]).0);
    assert!(text.contains("stormed the government headquarters"), "{text}");
}

#[test]
fn a_non_html_content_type_is_skipped_with_its_mime_type() {
    let page =
        Page { content_type: Some("application/pdf"), ..Page::new(b"%PDF-1.7", "https://example.com/a.pdf") };
    assert_eq!(
        extract(&page, &Options::default()).unwrap(),
        Extraction::Skipped(SkipReason::NotHtml { mime: "application/pdf".into() })
    );
}

#[test]
fn an_empty_page_is_skipped_as_empty() {
    for body in [&b""[..], b"   \n", b"<html><body></body></html>"] {
        assert_eq!(run(body).0.unwrap(), Extraction::Skipped(SkipReason::Empty), "{body:?}");
    }
}

#[test]
fn a_long_text_under_deeply_nested_inline_markup_renders_in_bounded_time() {
    let words = "word ".repeat(200_000);
    let html = format!(
        "<html><body><article><p>{PARAGRAPH}</p><p>{}{}{}</p></article></body></html>",
        "<b><i><strong><em>".repeat(100),
        words,
        "</em></strong></i></b>".repeat(100)
    );
    let (result, took) = run(html.as_bytes());
    assert!(article_text(result).contains("stormed the government headquarters"));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
