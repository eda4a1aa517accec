//! Each extraction rule, pinned with a small authored page.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use newspipe_extract::{Extraction, Options, Page, extract};
use newspipe_models::Article;

const P1: &str = "The president of the country has advised election authorities to investigate the results of \
    a disputed parliament race that has stoked chaotic unrest in the capital, where protesters stormed the \
    government headquarters.";
const P2: &str = "Opposition activists have accused the government of vote-buying and intimidation during last \
    weekend's parliamentary election, taking to the streets to protest over what they have deemed a stolen race.";
const P3: &str = "As violent unrest and clashes continue to grip the city, some 600 have been injured in total, \
    and one has been killed, according to local health authorities, who asked residents to stay at home.";

fn article_at(html: &str, url: &str) -> Article {
    match extract(&Page::new(html.as_bytes(), url), &Options::default()) {
        Ok(Extraction::Article(a)) => *a,
        other => panic!("no article: {other:?}"),
    }
}

fn article(html: &str) -> Article {
    article_at(html, "https://news.example.com/world/kyrgyz-protests")
}

fn skip_reason(html: &str, url: &str) -> String {
    match extract(&Page::new(html.as_bytes(), url), &Options::default()) {
        Ok(Extraction::Skipped(reason)) => reason.to_string(),
        other => panic!("not skipped: {other:?}"),
    }
}

/// A page with the usual furniture around `body` (which goes inside `<article>`).
fn news_page(head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{head}</head><body>\
         <header><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a> <a href=\"/sport\">Sport</a></nav></header>\
         <main><article>{body}</article>\
         <aside class=\"sidebar\"><h3>Trending</h3><ul><li><a href=\"/a\">Oil jumps as hurricane shuts output</a></li>\
         <li><a href=\"/b\">Transfer deadline day: all the biggest deals</a></li></ul></aside></main>\
         <footer><p>© 2020 Example News. All rights reserved.</p><a href=\"/privacy\">Privacy</a></footer>\
         </body></html>"
    )
}

fn body3() -> String {
    format!("<p>{P1}</p><p>{P2}</p><p>{P3}</p>")
}

#[test]
fn the_body_paragraphs_are_kept_in_order_and_navigation_and_footers_are_dropped() {
    let a = article(&news_page("<title>Protests</title>", &body3()));
    assert_eq!(a.text, format!("{P1}\n\n{P2}\n\n{P3}"));
    assert!(!a.text.contains("Transfer deadline"));
    assert!(!a.text.contains("All rights reserved"));
    assert_eq!(a.word_count as usize, a.text.split_whitespace().count());
}

#[test]
fn a_cookie_banner_is_not_part_of_the_text() {
    let body = format!(
        "<div class=\"cookie-banner\">We use cookies to improve your experience. <button>Accept</button></div>{}",
        body3()
    );
    let a = article(&news_page("", &body));
    assert!(!a.text.contains("cookies"), "{}", a.text);
}

#[test]
fn share_prompts_related_teasers_and_comments_are_dropped() {
    let body = format!(
        "<p>{P1}</p><div class=\"read-more\"><div>Also on example.com</div><a href=\"/other\">Fire ravages government HQ</a></div>\
         <p>{P2}</p><div class=\"share-bar\">Think your friends would be interested? Share this story!</div><p>{P3}</p>\
         <section class=\"comments\"><h3>Comments (42)</h3><p>Another colour revolution, same script as before, and \
         nobody learns anything from it, as usual in this part of the world.</p></section>\
         <section class=\"related-stories\"><h2>Related stories</h2><ul><li><a href=\"/x\">Thousands protest in the capital</a></li></ul></section>"
    );
    let a = article(&news_page("", &body));
    for unwanted in [
        "Also on",
        "Fire ravages",
        "Share this story",
        "Comments (42)",
        "colour revolution",
        "Related stories",
    ] {
        assert!(!a.text.contains(unwanted), "{unwanted:?} leaked into {:?}", a.text);
    }
    assert!(a.text.contains(P3));
}

#[test]
fn the_standfirst_headings_lists_and_quotes_are_kept_and_the_headline_is_not_repeated() {
    let body = format!(
        "<h1>Protests grip the capital</h1><div class=\"summary\">{P1}</div>\
         <div class=\"text\"><p>{P2}</p><h2>What happens next</h2><ul><li>A new vote within a month</li>\
         <li>An inquiry into the count</li></ul><blockquote><p>{P3}</p></blockquote></div>"
    );
    let a = article(&news_page("<title>Protests grip the capital - Example News</title>", &body));
    assert_eq!(a.title.as_deref(), Some("Protests grip the capital"));
    assert!(!a.text.contains("Protests grip the capital"), "{}", a.text);
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(
        a.text.contains("What happens next\n\n- A new vote within a month\n\n- An inquiry into the count")
    );
    assert!(a.text.ends_with(P3));
}

#[test]
fn markdown_renders_headings_lists_links_emphasis_quotes_and_tables() {
    let body = format!(
        "<p>{P1} See <a href=\"/report\">the <em>full</em> report</a> and <strong>act</strong>.</p>\
         <h2>Figures</h2><ol><li>One</li><li>Two</li></ol><blockquote>{P2}</blockquote>\
         <table><tr><th>City</th><th>Injured</th></tr><tr><td>Bishkek</td><td>600</td></tr></table><p>{P3}</p>"
    );
    let md = article(&news_page("", &body)).markdown.unwrap();
    assert!(md.contains("[the *full* report](https://news.example.com/report)"), "{md}");
    assert!(md.contains("**act**"), "{md}");
    assert!(md.contains("## Figures\n\n1. One\n2. Two"), "{md}");
    assert!(md.contains(&format!("> {P2}")), "{md}");
    assert!(md.contains("| City | Injured |\n| --- | --- |\n| Bishkek | 600 |"), "{md}");
}

#[test]
fn bylines_and_datelines_are_not_body_text_but_give_the_author_and_date() {
    let body = format!(
        "<p class=\"byline\">By <a rel=\"author\" href=\"/staff/jane\">Jane Doe</a></p>\
         <span class=\"date\">6 Oct, 2020 12:47</span>{}",
        body3()
    );
    let a = article(&news_page("", &body));
    assert!(!a.text.contains("Jane Doe") && !a.text.contains("2020"), "{}", a.text);
    assert_eq!(a.authors, vec!["Jane Doe"]);
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2020-10-06T12:47:00+00:00");
}

#[test]
fn an_article_split_into_many_sections_is_taken_whole() {
    let section = |h: &str, p: &str| {
        format!(
            "<section><div class=\"row\"><div class=\"col\"><h2>{h}</h2><div><p>{p}</p></div></div></div></section>"
        )
    };
    let body = format!("{}{}{}", section("One", P1), section("Two", P2), section("Three", P3));
    let a = article(&news_page("", &body));
    assert!(a.text.contains(P1) && a.text.contains(P2) && a.text.contains(P3), "{}", a.text);
}

#[test]
fn an_article_streamed_into_a_hidden_wrapper_is_still_found() {
    let html =
        format!("<html><body><div hidden id=\"S:0\"><article>{}</article></div></body></html>", body3());
    assert!(article(&html).text.contains(P2));
}

#[test]
fn json_ld_in_a_graph_gives_headline_people_dates_and_section() {
    let head = r##"<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
        {"@type":"WebSite","name":"Example News"},
        {"@type":"Person","@id":"#jane","name":"Jane Doe"},
        {"@type":["NewsArticle"],"headline":"Protests grip the capital","author":[{"@id":"#jane"},{"@type":"Person","name":"John Roe"}],
         "datePublished":"2020-10-06T12:47:05+03:00","dateModified":"2020-10-06T13:10:44Z","articleSection":"World",
         "keywords":["Kyrgyzstan","Protests"],"image":{"@type":"ImageObject","url":"/img/lead.jpg"},"inLanguage":"en-GB"}]}</script>"##;
    let a = article(&news_page(head, &body3()));
    assert_eq!(a.title.as_deref(), Some("Protests grip the capital"));
    assert_eq!(a.authors, vec!["Jane Doe", "John Roe"]);
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2020-10-06T09:47:05+00:00");
    assert_eq!(a.modified_at.unwrap().to_rfc3339(), "2020-10-06T13:10:44+00:00");
    assert_eq!(a.section.as_deref(), Some("World"));
    assert_eq!(a.tags, vec!["Kyrgyzstan", "Protests"]);
    assert_eq!(a.image.as_deref(), Some("https://news.example.com/img/lead.jpg"));
    assert_eq!(a.site_name.as_deref(), Some("Example News"));
}

#[test]
fn an_organisation_is_an_author_only_where_no_person_is_named() {
    let head = r#"<script type="application/ld+json">[{"@type":"NewsArticle","headline":"H",
        "author":[{"@type":"Organization","name":"Example Wire"},{"@type":"Person","name":"Jane Doe"}]}]</script>"#;
    assert_eq!(article(&news_page(head, &body3())).authors, vec!["Jane Doe"]);
    let head = r#"<script type="application/ld+json">{"@type":"NewsArticle","headline":"H",
        "author":{"@type":"Organization","name":"Example Wire"}}</script>"#;
    assert_eq!(article(&news_page(head, &body3())).authors, vec!["Example Wire"]);
}

#[test]
fn open_graph_and_article_meta_fill_the_metadata() {
    let head = r#"<meta property="og:title" content="Protests grip the capital"><meta property="og:site_name" content="Example News">
        <meta property="og:description" content="Unrest after the vote."><meta property="og:image" content="https://cdn.example.com/lead.jpg">
        <meta property="article:published_time" content="2020-10-06T12:47:05+00:00"><meta property="article:tag" content="Kyrgyzstan">
        <meta property="article:tag" content="Protests"><meta property="article:section" content="World">
        <link rel="canonical" href="/world/kyrgyz-protests"><title>Protests grip the capital | Example News</title>"#;
    let a = article(&news_page(head, &body3()));
    assert_eq!(a.title.as_deref(), Some("Protests grip the capital"));
    assert_eq!(a.site_name.as_deref(), Some("Example News"));
    assert_eq!(a.description.as_deref(), Some("Unrest after the vote."));
    assert_eq!(a.image.as_deref(), Some("https://cdn.example.com/lead.jpg"));
    assert_eq!(a.tags, vec!["Kyrgyzstan", "Protests"]);
    assert_eq!(a.section.as_deref(), Some("World"));
    assert_eq!(a.canonical_url.as_deref(), Some("https://news.example.com/world/kyrgyz-protests"));
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2020-10-06T12:47:05+00:00");
}

#[test]
fn author_and_date_meta_variants_are_read() {
    for (head, author) in [
        (r#"<meta name="author" content="By Jane Doe, Staff Writer">"#, "Jane Doe"),
        (r#"<meta name="parsely-author" content="Jane Doe">"#, "Jane Doe"),
        (r#"<meta name="sailthru.author" content="Jane Doe">"#, "Jane Doe"),
        (r#"<meta name="DC.creator" content="Jane Doe">"#, "Jane Doe"),
    ] {
        assert_eq!(article(&news_page(head, &body3())).authors, vec![author], "{head}");
    }
    for head in [
        r#"<meta name="parsely-pub-date" content="2020-10-06T12:47:05Z">"#,
        r#"<meta name="sailthru.date" content="2020-10-06 12:47:05">"#,
        r#"<meta name="DC.date.issued" content="2020-10-06">"#,
        r#"<meta itemprop="datePublished" content="2020-10-06">"#,
    ] {
        let day = article(&news_page(head, &body3())).published_at.unwrap().format("%Y-%m-%d").to_string();
        assert_eq!(day, "2020-10-06", "{head}");
    }
}

#[test]
fn a_time_element_or_the_url_dates_a_page_without_date_metadata() {
    let body = format!("<time datetime=\"2020-10-06T12:47:05Z\" pubdate>6 October</time>{}", body3());
    let a = article(&news_page("", &body));
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2020-10-06T12:47:05+00:00");
    let a = article_at(&news_page("", &body3()), "https://blog.example.com/2019/03/14/a-story/");
    assert_eq!(a.published_at.unwrap().format("%Y-%m-%d").to_string(), "2019-03-14");
    assert_eq!(a.modified_at, None, "a modified date only when the page gives one");
}

#[test]
fn a_logo_is_never_the_lead_image() {
    let head = r#"<meta property="og:image" content="https://example.com/static/logo.png">
        <meta name="twitter:image" content="https://example.com/photos/lead.jpg">"#;
    assert_eq!(
        article(&news_page(head, &body3())).image.as_deref(),
        Some("https://example.com/photos/lead.jpg")
    );
}

#[test]
fn the_language_comes_from_markup_and_is_corrected_by_the_text() {
    assert_eq!(article(&news_page("", &body3())).language.as_deref(), Some("en"));
    let spanish = "<p>El presidente del país ha pedido a las autoridades electorales que investiguen los resultados \
        de una disputada elección parlamentaria que ha provocado disturbios en la capital del país.</p>";
    let html = format!("<html><body><article>{spanish}{spanish}</article></body></html>");
    assert_eq!(article(&html).language.as_deref(), Some("es"));
    let html = format!("<html lang=\"en-US\"><body><article>{spanish}{spanish}</article></body></html>");
    assert_eq!(article(&html).language.as_deref(), Some("es"));
}

#[test]
fn a_page_marked_not_free_is_paywalled() {
    let head = r#"<script type="application/ld+json">{"@type":"NewsArticle","headline":"H","isAccessibleForFree":false}</script>"#;
    assert!(article(&news_page(head, &body3())).paywalled);
    assert!(!article(&news_page("", &body3())).paywalled);
    let body = format!("<p>{P1}</p><div class=\"paywall\">Subscribe to continue reading.</div>");
    assert!(article(&news_page("", &body)).paywalled);
}

#[test]
fn identical_texts_in_different_layouts_share_a_hash_and_simhash() {
    let a = article(&news_page("", &body3()));
    let b = article(&format!("<html><body><div class=\"post\">{}</div></body></html>", body3()));
    assert_eq!(a.content_hash, b.content_hash);
    assert_eq!(a.simhash, b.simhash);
    assert_eq!(a.content_hash.len(), 64);
}

#[test]
fn feed_hints_fill_what_the_page_lacks() {
    let hints = newspipe_models::FeedHints {
        title: Some("From the feed".into()),
        published_at: Some("2021-01-02T03:04:05Z".parse().unwrap()),
        source: None,
    };
    let html = format!("<html><body><div>{}</div></body></html>", body3());
    let page = Page { hints: Some(&hints), ..Page::new(html.as_bytes(), "https://example.com/a") };
    let Ok(Extraction::Article(a)) = extract(&page, &Options::default()) else { panic!("no article") };
    assert_eq!(a.title.as_deref(), Some("From the feed"));
    assert_eq!(a.published_at, hints.published_at);
}

fn listing_html(title: &str) -> String {
    let mut items = String::new();
    for i in 0..60 {
        items.push_str(&format!(
            "<li><a href=\"/news/{i}-story\">Headline number {i} about the news</a></li>"
        ));
    }
    format!(
        "<html><head><title>{title}</title></head><body><nav><a href=\"/\">Home</a></nav><ul>{items}</ul></body></html>"
    )
}

#[test]
fn home_tag_and_search_pages_are_skipped_with_their_kind() {
    assert_eq!(
        skip_reason(&listing_html("Example News"), "https://example.com/"),
        "not an article: home page"
    );
    assert_eq!(
        skip_reason(&listing_html("Protests"), "https://example.com/tag/protests/"),
        "not an article: tag page"
    );
    assert_eq!(
        skip_reason(&listing_html("Search results"), "https://example.com/search?q=protests"),
        "not an article: search page"
    );
    assert_eq!(
        skip_reason(&listing_html("World news"), "https://example.com/world/"),
        "not an article: listing page"
    );
}

#[test]
fn error_and_video_pages_are_skipped_with_their_kind() {
    let html = "<html><head><title>404 Page Not Found</title></head><body><h1>Page not found</h1>\
                <p>Sorry, the page you were looking for does not exist. Try the search box above.</p></body></html>";
    assert_eq!(skip_reason(html, "https://example.com/missing"), "not an article: error page");
    let html = r#"<html><head><script type="application/ld+json">{"@type":"VideoObject","name":"Clip","uploadDate":"2020-10-06"}</script>
        </head><body><video src="/v.mp4"></video><p>Watch the clip.</p></body></html>"#;
    assert_eq!(skip_reason(html, "https://example.com/video/1"), "not an article: video page");
}

#[test]
fn a_paragraph_repeated_by_a_responsive_layout_is_kept_once() {
    let html = format!(
        "<html><body><div class=\"desktop\"><p>{P1}</p><p>{P2}</p></div><div class=\"mobile\"><p>{P1}</p><p>{P2}</p></div>\
         <p>{P3}</p></body></html>"
    );
    assert_eq!(article(&html).text, format!("{P1}\n\n{P2}\n\n{P3}"));
}

#[test]
fn captions_invisible_spacers_and_tables_of_contents_are_not_text() {
    let body = format!(
        "<h2>Table of contents</h2><ul><li><a href=\"#one\">One</a></li><li><a href=\"#two\">Two</a></li></ul>\
         <p>{P1}</p><figure><img src=\"/a.jpg\"><figcaption>Protesters in the square. Photo: Jane Roe</figcaption></figure>\
         <p>\u{200d}</p><p>{P2}</p><p>{P3}</p>"
    );
    let a = article(&news_page("", &body));
    assert_eq!(a.text, format!("{P1}\n\n{P2}\n\n{P3}"));
}

#[test]
fn a_code_block_beside_the_prose_is_part_of_the_body() {
    let html = format!(
        "<html><body><main><div class=\"post\"><p>{P1}</p><p>{P2}</p></div>\
         <copyable-code><button>Copy</button><pre><code>git commit -am \"message\"</code></pre></copyable-code>\
         <div class=\"post\"><p>{P3}</p></div></main></body></html>"
    );
    let a = article(&html);
    assert!(a.text.contains("git commit -am \"message\""), "{}", a.text);
    assert!(a.markdown.unwrap().contains("```\ngit commit -am \"message\"\n```"));
}

#[test]
fn a_paragraph_that_merely_occurs_twice_is_kept_twice() {
    let html =
        format!("<html><body><article><p>{P1}</p><p>{P2}</p><p>{P1}</p><p>{P3}</p></article></body></html>");
    assert_eq!(article(&html).text, format!("{P1}\n\n{P2}\n\n{P1}\n\n{P3}"));
}

#[test]
fn a_date_written_under_the_headline_dates_the_page() {
    let body = format!(
        "<h1>Protests grip the capital</h1><div class=\"x\"><span>By Jane Doe</span> - Mar 27, 2024</div>{}",
        body3()
    );
    let a = article(&news_page("", &body));
    assert_eq!(a.published_at.unwrap().format("%Y-%m-%d").to_string(), "2024-03-27");
    let body = format!("<h1>Protests grip the capital</h1><p><span>23.07.2025</span></p>{}", body3());
    let a = article(&news_page("", &body));
    assert_eq!(a.published_at.unwrap().format("%Y-%m-%d").to_string(), "2025-07-23");
}

#[test]
fn a_date_in_script_data_dates_the_page() {
    let head = r#"<script>window.__STATE__={"post":{"publishedDate":"2019-08-16T00:00:00.000Z"}}</script>"#;
    let a = article(&news_page(head, &body3()));
    assert_eq!(a.published_at.unwrap().format("%Y-%m-%d").to_string(), "2019-08-16");
}

#[test]
fn without_a_description_in_the_markup_the_lead_paragraph_describes_the_article() {
    let a = article(&news_page("", &body3()));
    assert_eq!(a.description.as_deref(), Some(P1));
    let a = article(&news_page("<meta name=\"description\" content=\"Unrest after the vote.\">", &body3()));
    assert_eq!(a.description.as_deref(), Some("Unrest after the vote."));
}

#[test]
fn interface_words_are_not_authors_and_bylines_split_on_and_in_several_languages() {
    let body = format!("<div class=\"author\">Sign In</div>{}", body3());
    assert!(article(&news_page("", &body)).authors.is_empty());
    let head = r#"<meta name="author" content="Alexandre Hervaud et Jérémy Piette">"#;
    assert_eq!(article(&news_page(head, &body3())).authors, vec!["Alexandre Hervaud", "Jérémy Piette"]);
}

#[test]
fn text_inside_anchors_without_a_destination_is_not_link_text() {
    let html =
        format!("<html><body><a href=\"javascript:\"><p>{P1}</p><p>{P2}</p><p>{P3}</p></a></body></html>");
    assert_eq!(article(&html).text, format!("{P1}\n\n{P2}\n\n{P3}"));
    let html = format!(
        "<html><body><article><p>{P1}</p><a name=\"x\"><p>{P2}</p></a><p>{P3}</p></article></body></html>"
    );
    assert_eq!(article(&html).text, format!("{P1}\n\n{P2}\n\n{P3}"));
}

#[test]
fn interface_labels_and_prompts_inside_the_body_are_dropped() {
    let body = format!(
        "<p>{P1}</p><p>Subscribe</p><p>{P2}</p><p>Posted by David at December 16, 2025</p>\
         <p>Join our mailing list for weekly updates</p><h4>Like this:</h4><p>{P3}</p>"
    );
    assert_eq!(article(&news_page("", &body)).text, format!("{P1}\n\n{P2}\n\n{P3}"));
}

#[test]
fn a_name_in_an_author_box_with_a_bio_is_the_author() {
    let body = format!(
        "<div class=\"blog_author-text\"><div class=\"name\">Lauren Vetter</div><div>Head of Content at OptiMantra, \
         writing about clinics, billing and the software that runs them since 2015.</div></div>{}",
        body3()
    );
    assert_eq!(article(&news_page("", &body)).authors, vec!["Lauren Vetter"]);
}

#[test]
fn an_author_in_script_data_names_a_page_without_a_byline() {
    let head = r#"<script>self.__next_f.push({"post":{"author":{"id":21,"name":"Elise Nass","slug":"elise-nass"}}})</script>"#;
    assert_eq!(article(&news_page(head, &body3())).authors, vec!["Elise Nass"]);
}

#[test]
fn quotes_and_affiliations_around_a_name_are_not_part_of_it() {
    let head = r#"<meta name="author" content="&quot;David Kim&quot;">"#;
    assert_eq!(article(&news_page(head, &body3())).authors, vec!["David Kim"]);
    let head = r#"<meta name="author" content="Justin C. Meserole, Trial Attorney at Morgan, Morgan">"#;
    assert_eq!(article(&news_page(head, &body3())).authors, vec!["Justin C. Meserole"]);
}

#[test]
fn a_publication_date_stamped_on_every_save_gives_way_to_an_earlier_one() {
    let head = r#"<script type="application/ld+json">{"@type":"BlogPosting","headline":"H",
        "datePublished":"2025-11-29T12:28:31-05:00","dateModified":"2025-11-29T12:28:31-05:00"}</script>
        <meta property="article:published_time" content="2025-08-08T00:00:00-04:00">"#;
    let a = article(&news_page(head, &body3()));
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2025-08-08T04:00:00+00:00");
    let head = r#"<script type="application/ld+json">{"@type":"BlogPosting","headline":"H",
        "datePublished":"2025-11-29T12:28:31-05:00","dateModified":"2025-11-30T09:00:00-05:00"}</script>
        <meta property="article:published_time" content="2025-08-08T00:00:00-04:00">"#;
    let a = article(&news_page(head, &body3()));
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2025-11-29T17:28:31+00:00");
}

fn published_day(a: &Article) -> Option<String> {
    a.published_at.map(|d| d.format("%Y-%m-%d").to_string())
}

#[test]
fn a_posted_on_label_anywhere_in_the_page_dates_a_page_without_other_dates() {
    let body = format!("<h1>Protests grip the capital</h1>{}<p>Posted on April 13, 2023</p>", body3());
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2023-04-13"));
    let body =
        format!("<h1>Protests grip the capital</h1>{}<p>Essay - Published: 2025.12.17 | </p>", body3());
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2025-12-17"));
    // The label in one element, the date in the next.
    let body = format!(
        "<h1>Protests grip the capital</h1>{}<div><span>Published</span>&ensp;<span>Apr 26, 2023</span></div>",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2023-04-26"));
}

#[test]
fn an_originally_published_note_beats_a_date_element() {
    let body = format!(
        "<h1>Protests grip the capital</h1><p class=\"post-date\">30 Sep 2022, 11:07am</p>{}\
         <p>This article was originally published on 26 Sep 2019 at 4:12pm but has been updated since.</p>",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2019-09-26"));
}

#[test]
fn an_update_date_dates_the_page_only_when_nothing_else_does_and_a_site_update_never() {
    let body = format!("<h1>Protests grip the capital</h1>{}<p>Last updated: November 13, 2025</p>", body3());
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2025-11-13"));
    let body = format!("<h1>Protests grip the capital</h1>{}<p>Updated: 10/31/2024</p>", body3());
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2024-10-31"));
    let body = format!(
        "<h1>Protests grip the capital</h1>{}<p>Updated: 10/31/2024</p><p>Posted on April 13, 2023</p>",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2023-04-13"));
    let body =
        format!("<h1>Protests grip the capital</h1>{}<p>Site Last Updated: December 20, 2025</p>", body3());
    assert_eq!(published_day(&article(&news_page("", &body))), None);
}

#[test]
fn a_todays_date_widget_does_not_date_the_page() {
    let body = format!(
        "<div class=\"block-date\"><div><p id=\"todays-date\"><strong>Friday</strong>, December 19, 2025</p></div></div>\
         <h1>Protests grip the capital</h1><div>12.12.2025</div>{}",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2025-12-12"));
}

#[test]
fn a_date_element_is_read_text_by_text_before_its_pieces_run_together() {
    let body = format!(
        "<div class=\"article-dateline-wrapper\"><a href=\"/c\">Mental Health</a><span>DECEMBER 22, 2022</span>\
         <span>Updated: JANUARY 02, 2026</span></div><h1>Protests grip the capital</h1>{}",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2022-12-22"));
}

#[test]
fn a_date_beside_the_authors_name_dates_the_page() {
    let body = format!(
        "<h1>Protests grip the capital</h1>{}<div class=\"box\"><a href=\"/blog/author/moses-kim\">Moses Kim</a>\
         <p>April 8, 2024</p></div>",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2024-04-08"));
}

#[test]
fn a_time_element_under_the_headline_beats_one_in_a_list_above_it() {
    let html = format!(
        "<html><body><aside><ul><li><a href=\"/other\">Another story</a> \
         <time datetime=\"2025-01-31T12:00:00Z\">01/31/2025</time></li></ul></aside>\
         <article><h1>Protests grip the capital</h1><div class=\"node__meta\">\
         <time datetime=\"2017-03-01T12:00:00Z\">03/01/2017</time></div>{}</article></body></html>",
        body3()
    );
    assert_eq!(published_day(&article(&html)).as_deref(), Some("2017-03-01"));
}

#[test]
fn a_json_ld_date_stamped_on_save_or_later_than_the_update_gives_way_to_an_earlier_date_the_page_shows() {
    let ld = |published: &str, modified: &str| {
        format!(
            r#"<script type="application/ld+json">{{"@type":"BlogPosting","headline":"H",
            "datePublished":"{published}","dateModified":"{modified}"}}</script>"#
        )
    };
    let shown = |date: &str| {
        format!("<h1>Protests grip the capital</h1><div class=\"text__date\">{date}</div>{}", body3())
    };
    // Equal to the update: the CMS stamps both on each save.
    let a = article(&news_page(&ld("Jun 24, 2025", "Jun 24, 2025"), &shown("August 25, 2024")));
    assert_eq!(published_day(&a).as_deref(), Some("2024-08-25"));
    // Later than the update.
    let a = article(&news_page(&ld("2025-08-21", "2025-08-20"), &shown("Apr 26, 2023")));
    assert_eq!(published_day(&a).as_deref(), Some("2023-04-26"));
    // A shown date that is not earlier leaves the JSON-LD date, even with an older date further down (a
    // teaser of another article).
    let body = format!("{}<p class=\"card-date\">May 8, 2024</p>", shown("September 12, 2025"));
    let a = article(&news_page(&ld("2025-09-12T12:00:00Z", "2025-09-12T12:00:00Z"), &body));
    assert_eq!(published_day(&a).as_deref(), Some("2025-09-12"));
    // A scheduled post, published after its last edit, shown on its publication day.
    let a = article(&news_page(
        &ld("2025-12-18T09:00:04+00:00", "2025-12-17T20:33:55+00:00"),
        &shown("December 18, 2025"),
    ));
    assert_eq!(published_day(&a).as_deref(), Some("2025-12-18"));
}

#[test]
fn a_date_in_script_data_written_with_quote_entities_dates_the_page() {
    let body = format!(
        "<div data-schema=\"{{&quot;dateModified&quot;:&quot;2025-11-17T09:00:00-05:00&quot;,\
         &quot;datePublished&quot;:&quot;2025-11-17T09:00:00-05:00&quot;}}\"></div>{}",
        body3()
    );
    assert_eq!(published_day(&article(&news_page("", &body))).as_deref(), Some("2025-11-17"));
}

#[test]
fn a_url_with_the_month_as_a_word_dates_the_page() {
    let body =
        format!("<h1>Protests grip the capital</h1><div class=\"blog-date\">03/10/2023</div>{}", body3());
    let a = article_at(&news_page("", &body), "https://www.example.org/blog/2023/october/03/wine-styles/");
    assert_eq!(published_day(&a).as_deref(), Some("2023-10-03"));
}
