//! Error pages are told by their title: "404", "not found"... as words, not inside a number or a word.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use newspipe_extract::{Extraction, Options, Page, extract};

/// A short article titled `title` (its `<title>` adds " - The Test Gazette"): under the 1,200 characters
/// below which an error title makes a page an error page.
fn short_article(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>{title} - The Test Gazette</title>\
         <meta property=\"og:title\" content=\"{title}\"></head><body><article><h1>{title}</h1>\
         <p>The city council approved the plan on Tuesday evening, ending a debate that had run for most of \
         the year and divided residents of the river district.</p>\
         <p>Supporters said the plan would bring new housing and a park to the riverbank, while opponents \
         warned about traffic and the cost of flood defences along the water.</p></article></body></html>"
    )
}

fn outcome(html: &str) -> Result<String, String> {
    match extract(&Page::new(html.as_bytes(), "https://news.example.com/articles/1"), &Options::default()) {
        Ok(Extraction::Article(article)) => Ok(article.title.unwrap_or_default()),
        Ok(Extraction::Skipped(reason)) => Err(reason.to_string()),
        Err(error) => Err(error.to_string()),
    }
}

#[test]
fn a_short_article_with_404_inside_a_number_in_its_title_is_an_article() {
    // Found by the chaos test: with 10,000 URLs, "plan number 8404" (and 404, 4049...) made articles error pages.
    for title in [
        "Council approves plan number 8404 for the river district",
        "Council approves plan number 4049 for the river district",
        "Council approves plan number 404404 for the river district",
        "Council approves plan number 404 for the river district",
        "Route 404 reopens after repairs",
        "Lost dog found after three days",
    ] {
        assert_eq!(outcome(&short_article(title)), Ok(title.to_string()), "{title}");
    }
}

#[test]
fn a_short_page_titled_404_or_not_found_is_still_an_error_page() {
    for title in
        ["404", "Error 404", "404 - Page Not Found", "Page not found (404)", "Server error", "Oops! 404"]
    {
        assert_eq!(outcome(&short_article(title)), Err("not an article: error page".to_string()), "{title}");
    }
}
