//! Pages built by JavaScript: the article read from the data the page embeds (JSON-LD `articleBody`,
//! Next.js `__NEXT_DATA__`, `window.__INITIAL_STATE__` and the like, Nuxt 3 `__NUXT_DATA__`), the shell
//! rule (`shell_signals`), `amp_url`, and hostile embedded data.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use newspipe_extract::{
    ExtractError, Extraction, Options, Page, ShellCode, THIN_ARTICLE_WORDS, amp_url, extract, shell_signals,
};
use newspipe_models::{Article, SkipReason};
use serde_json::json;

const URL: &str = "https://news.example.com/2024/05/14/harbour-bridge-closure";
const TITLE: &str = "Harbour bridge to close for six months as repairs begin";

const PARAGRAPHS: [&str; 5] = [
    "The city's main harbour bridge will close to all traffic for six months from June, the transport \
     authority said on Tuesday, after inspectors found corrosion in two of the steel cables that hold up \
     its central span.",
    "Engineers first noticed rust on the cables during a routine survey in February. Further tests showed \
     that the damage had spread faster than expected, and the authority decided that repairs could not wait \
     until the scheduled maintenance in 2026.",
    "About 60,000 vehicles cross the bridge every day. The authority said it would run extra ferries across \
     the harbour and add buses on the ring road, but warned commuters that journeys into the centre could \
     take up to forty minutes longer at peak times.",
    "Local businesses on the north shore said the closure would hurt trade. \"We rely on people driving over \
     for lunch,\" said the owner of a waterfront cafe, who has run it for twelve years. \"Six months is a \
     long time for a small place like ours.\"",
    "The repairs are expected to cost about 45 million, paid for by the national infrastructure fund. The \
     authority will publish a detailed timetable next week and has promised to reopen one lane for \
     emergency vehicles as soon as it is safe to do so.",
];

fn paragraphs_html() -> String {
    PARAGRAPHS.iter().map(|p| format!("<p>{}</p>", p.replace('"', "&quot;"))).collect()
}

fn run(html: &str) -> (Result<Extraction, ExtractError>, Duration) {
    let started = Instant::now();
    let result = extract(&Page::new(html.as_bytes(), URL), &Options::default());
    (result, started.elapsed())
}

fn article(html: &str) -> Article {
    match run(html).0 {
        Ok(Extraction::Article(a)) => *a,
        other => panic!("no article: {other:?}"),
    }
}

/// The article must hold all five paragraphs, in order, and be counted and hashed like any article.
fn assert_full_article(a: &Article) {
    let mut at = 0;
    for p in PARAGRAPHS {
        let start: String = p.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
        let found = a.text[at..].find(&start).unwrap_or_else(|| panic!("missing {start:?} in {:?}", a.text));
        at += found;
    }
    assert!(a.word_count >= 150, "{}", a.word_count);
    assert_eq!(a.word_count as usize, a.text.split_whitespace().count());
    assert_eq!(a.content_hash.len(), 64);
    assert!(a.simhash.is_some());
    assert!(a.markdown.as_deref().is_some_and(|m| m.contains("six months from June")));
    assert!(a.description.is_some());
}

/// A page whose body is only the app's mount point and its bundle; `data` goes before the bundle.
fn shell(head: &str, root: &str, data: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{TITLE} | Example News</title>\
         {head}<link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body><noscript>You need to enable JavaScript to run this app.</noscript>{root}{data}\
         <script src=\"/static/js/runtime.3f2a.js\"></script><script src=\"/static/js/main.8c1d.js\"></script>\
         </body></html>"
    )
}

#[test]
fn a_next_js_page_yields_its_article_from_next_data() {
    let data = json!({
        "props": {
            "pageProps": {
                "navigation": [{"title": "World", "href": "/world"}, {"title": "Business", "href": "/business"}],
                "article": {
                    "id": "a-20240514-1",
                    "headline": TITLE,
                    "publishedAt": "2024-05-14T09:30:00Z",
                    "authors": [{"name": "Maria Lopez", "slug": "maria-lopez"}],
                    "bodyHtml": paragraphs_html(),
                },
                "related": [{"title": "Ferries to run every ten minutes", "text": "Short teaser."}]
            }
        },
        "page": "/[section]/[slug]",
        "buildId": "x1y2z3"
    });
    let html = shell(
        "",
        "<div id=\"__next\"></div>",
        &format!("<script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script>"),
    );
    let a = article(&html);
    assert_full_article(&a);
    assert_eq!(a.title.as_deref(), Some(TITLE));
    assert_eq!(a.authors, vec!["Maria Lopez".to_string()]);
    assert_eq!(a.published_at.map(|d| d.to_rfc3339()).as_deref(), Some("2024-05-14T09:30:00+00:00"));
    // The HTML alone is a shell; callers look at extraction first, and this one is a full article.
    assert!(shell_signals(&Page::new(html.as_bytes(), URL)).is_some());
}

#[test]
fn an_initial_state_with_paragraph_blocks_yields_its_article() {
    let mut blocks =
        vec![json!({"type": "image", "url": "/img/bridge.jpg", "caption": "The bridge at dusk"})];
    for (i, p) in PARAGRAPHS.iter().enumerate() {
        blocks.push(json!({"type": "paragraph", "text": p}));
        if i == 1 {
            blocks.push(json!({"type": "heading", "text": "Longer journeys"}));
            blocks.push(json!({"type": "ad", "slot": "mid-article"}));
        }
    }
    let state = json!({
        "user": {"loggedIn": false},
        "story": {"title": TITLE, "firstPublished": 1715679000, "byline": "By Tom Reed", "blocks": blocks}
    });
    let data = format!("<script>window.__INITIAL_STATE__ = {state};\nwindow.__ENV__ = \"prod\";</script>");
    let a = article(&shell("", "<div id=\"root\"></div>", &data));
    assert_full_article(&a);
    assert!(a.markdown.as_deref().unwrap().contains("## Longer journeys"), "{:?}", a.markdown);
    assert!(!a.text.contains("The bridge at dusk"));
    assert_eq!(a.authors, vec!["Tom Reed".to_string()]);
    assert_eq!(a.published_at.map(|d| d.timestamp()), Some(1715679000));
}

/// The devalue array Nuxt 3 writes: element 0 is the root, values are indices of other elements.
fn nuxt_payload() -> serde_json::Value {
    let mut items = vec![
        json!(["ShallowReactive", 1]),
        json!({"data": 2, "state": 3, "once": 4}),
        json!(["ShallowReactive", 5]),
        json!({}),
        json!(["Set"]),
        json!({"article-harbour-bridge": 6}),
        json!({"title": 7, "published_at": 8, "author": 9, "paragraphs": 11}),
        json!(TITLE),
        json!("2024-05-14T09:30:00+02:00"),
        json!({"name": 10}),
        json!("Anna Berg"),
    ];
    let first = items.len() + 1;
    items.push(json!((first..first + PARAGRAPHS.len()).collect::<Vec<_>>()));
    items.extend(PARAGRAPHS.iter().map(|p| json!(p)));
    json!(items)
}

#[test]
fn a_nuxt_3_page_yields_its_article_from_the_flattened_nuxt_data() {
    let data = format!(
        "<script type=\"application/json\" data-nuxt-data=\"nuxt-app\" data-ssr=\"true\" id=\"__NUXT_DATA__\">{}</script>\
         <script>window.__NUXT__={{}};window.__NUXT__.config={{public:{{}},app:{{baseURL:\"/\"}}}}</script>",
        nuxt_payload()
    );
    let a = article(&shell("", "<div id=\"__nuxt\"></div>", &data));
    assert_full_article(&a);
    assert_eq!(a.authors, vec!["Anna Berg".to_string()]);
    assert_eq!(a.published_at.map(|d| d.to_rfc3339()).as_deref(), Some("2024-05-14T07:30:00+00:00"));
}

#[test]
fn json_ld_article_body_fills_an_otherwise_empty_shell() {
    let ld = json!({
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Example News"},
            {"@type": "NewsArticle", "headline": TITLE, "datePublished": "2024-05-14T09:30:00Z",
             "author": {"@type": "Person", "name": "Maria Lopez"}, "articleBody": PARAGRAPHS.join("\n\n")}
        ]
    });
    let head = format!("<script type=\"application/ld+json\">{ld}</script>");
    let a = article(&shell(&head, "<div id=\"app\"></div>", ""));
    assert_full_article(&a);
    assert_eq!(a.title.as_deref(), Some(TITLE));
    assert_eq!(a.authors, vec!["Maria Lopez".to_string()]);
    assert_eq!(a.text.split("\n\n").count(), PARAGRAPHS.len(), "{:?}", a.text);
}

#[test]
fn a_teaser_in_json_ld_gives_way_to_the_full_body_in_the_app_state() {
    let ld = json!({"@type": "NewsArticle", "headline": TITLE, "articleBody": format!("{} {}", PARAGRAPHS[0], PARAGRAPHS[1])});
    let head = format!("<script type=\"application/ld+json\">{ld}</script>");
    let state = json!({"article": {"headline": TITLE, "content": {"rendered": paragraphs_html()}}});
    let data = format!("<script>window.__PRELOADED_STATE__={state}</script>");
    let a = article(&shell(&head, "<div id=\"root\"></div>", &data));
    assert_full_article(&a);
}

#[test]
fn the_longest_body_loses_to_one_whose_title_is_the_pages() {
    // An infinite-scroll page carries the next story too, and it is longer.
    let next: Vec<String> = (0..8)
        .map(|i| {
            format!(
                "Next story paragraph {i} about council budgets and the schools it funds across the district."
            )
        })
        .collect();
    let data = json!({"props": {"pageProps": {"stories": [
        {"title": "Council approves budget", "body": next.join("\n\n")},
        {"title": TITLE, "body": PARAGRAPHS.join("\n\n")},
    ]}}});
    let html = shell(
        "",
        "<div id=\"__next\"></div>",
        &format!("<script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script>"),
    );
    let a = article(&html);
    assert_full_article(&a);
    assert!(!a.text.contains("council budgets"));
}

#[test]
fn the_pages_own_metadata_comes_before_the_embedded_datas() {
    let data = json!({"props": {"pageProps": {"post": {
        "title": "An older draft headline", "published_at": "2020-01-01T00:00:00Z",
        "author": "Someone Else", "html": paragraphs_html()}}}});
    let head = "<meta property=\"og:title\" content=\"Harbour bridge to close for six months as repairs begin\">\
                <meta property=\"article:published_time\" content=\"2024-05-14T09:30:00Z\">\
                <meta name=\"author\" content=\"Maria Lopez\">";
    let html = shell(
        head,
        "<div id=\"__next\"></div>",
        &format!("<script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script>"),
    );
    let a = article(&html);
    assert_full_article(&a);
    assert_eq!(a.title.as_deref(), Some(TITLE));
    assert_eq!(a.published_at.map(|d| d.to_rfc3339()).as_deref(), Some("2024-05-14T09:30:00+00:00"));
    assert_eq!(a.authors, vec!["Maria Lopez".to_string()]);
}

#[test]
fn an_app_shell_with_nothing_embedded_is_empty_and_judged_a_shell() {
    let html = shell("", "<div id=\"root\"></div>", "");
    let (result, _) = run(&html);
    match result {
        Ok(Extraction::Skipped(SkipReason::Empty)) => {}
        Ok(Extraction::Article(a)) => assert!(a.word_count < THIN_ARTICLE_WORDS, "{a:?}"),
        other => panic!("{other:?}"),
    }
    let reason = shell_signals(&Page::new(html.as_bytes(), URL)).unwrap();
    assert_eq!(reason.code, ShellCode::AppRoot);
    assert_eq!(reason.code.as_str(), "app_root");
    assert_eq!(reason.app_root, Some("#root"));
    assert_eq!((reason.scripts, reason.external_scripts), (2, 2));
    assert!(reason.text_chars < 200, "{reason}");
}

#[test]
fn a_shell_without_an_app_root_is_script_heavy_or_textless() {
    let bundle = format!("<script>{}</script>", "var a=function(){return 1};".repeat(400));
    let html = format!(
        "<html><head><title>Loading</title>{bundle}</head><body><div class=\"l\">Loading...</div></body></html>"
    );
    let reason = shell_signals(&Page::new(html.as_bytes(), URL)).unwrap();
    assert_eq!(reason.code, ShellCode::ScriptHeavy, "{reason}");
    let html = "<html><body><script src=\"/a.js\"></script><span>Hi</span></body></html>";
    let reason = shell_signals(&Page::new(html.as_bytes(), URL)).unwrap();
    assert_eq!(reason.code, ShellCode::NoText, "{reason}");
    // No script: nothing a browser could build.
    assert_eq!(shell_signals(&Page::new(b"<html><body><p>Hi</p></body></html>", URL)), None);
    // Not HTML.
    let png = Page { content_type: Some("image/png"), ..Page::new(b"\x89PNG....", URL) };
    assert_eq!(shell_signals(&png), None);
}

#[test]
fn a_normal_article_page_with_scripts_around_it_is_not_a_shell() {
    let scripts = "<script src=\"https://cdn.example.com/analytics.js\" async></script>\
                   <script src=\"/js/vendor.js\"></script><script src=\"/js/app.js\"></script>\
                   <script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}</script>";
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><title>{TITLE}</title>{scripts}</head><body>\
         <div id=\"app\"><header><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav></header>\
         <main><article><h1>{TITLE}</h1><p class=\"byline\">By Maria Lopez</p>{}</article></main>\
         <footer>Copyright Example News</footer></div></body></html>",
        paragraphs_html()
    );
    let page = Page::new(html.as_bytes(), URL);
    assert_eq!(shell_signals(&page), None);
    assert_full_article(&article(&html));
}

#[test]
fn a_thick_page_keeps_its_own_body_whatever_its_data_say() {
    let data = json!({"props": {"pageProps": {"article": {"headline": "Other", "bodyHtml": "<p>Something else entirely, written at length.</p>".repeat(40)}}}});
    let html = format!(
        "<html><head><title>{TITLE}</title></head><body><article>{}</article>\
         <script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script></body></html>",
        paragraphs_html()
    );
    let a = article(&html);
    assert_full_article(&a);
    assert!(!a.text.contains("Something else"));
}

#[test]
fn the_amp_url_resolves_against_the_page_and_only_for_http() {
    let page =
        |href: &str| format!("<html><head><link rel=\"amphtml\" href=\"{href}\"></head><body></body></html>");
    let amp = |html: &str| amp_url(&Page::new(html.as_bytes(), URL));
    assert_eq!(
        amp(&page("/amp/2024/05/14/harbour-bridge-closure")).as_deref(),
        Some("https://news.example.com/amp/2024/05/14/harbour-bridge-closure")
    );
    assert_eq!(
        amp(&page("https://amp.example.com/a?x=1&amp;y=2")).as_deref(),
        Some("https://amp.example.com/a?x=1&y=2")
    );
    assert_eq!(amp(&page("javascript:alert(1)")), None);
    assert_eq!(amp(&page("ftp://example.com/a")), None);
    assert_eq!(amp("<html><head><link rel=\"canonical\" href=\"/a\"></head></html>"), None);
    let rel_upper = "<link REL=\"AmpHtml\" HREF=\"amp.html\">";
    assert_eq!(amp(rel_upper).as_deref(), Some("https://news.example.com/2024/05/14/amp.html"));
}

/// Hostile embedded data: none panics, and each page comes back promptly (an article or a skip).
fn assert_prompt_and_sound(name: &str, html: &str) {
    let (result, took) = run(html);
    assert!(result.is_ok(), "{name}: {result:?}");
    assert!(took < Duration::from_secs(3), "{name} took {took:?}");
    let started = Instant::now();
    let _ = shell_signals(&Page::new(html.as_bytes(), URL));
    let _ = amp_url(&Page::new(html.as_bytes(), URL));
    assert!(started.elapsed() < Duration::from_secs(2), "{name}: shell_signals took {:?}", started.elapsed());
}

fn next_data_page(data: &str) -> String {
    shell(
        "",
        "<div id=\"__next\"></div>",
        &format!("<script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script>"),
    )
}

#[test]
fn deeply_nested_embedded_json_neither_overflows_nor_hangs() {
    let deep = "[".repeat(100_000);
    assert_prompt_and_sound("next data of 100k [", &next_data_page(&deep));
    let deep_closed = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_prompt_and_sound("closed 100k []", &next_data_page(&deep_closed));
    let objects = format!(
        "<script>window.__INITIAL_STATE__ = {}1{};</script>",
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    assert_prompt_and_sound("state of 100k objects", &shell("", "<div id=\"root\"></div>", &objects));
    let nuxt =
        format!("<script id=\"__NUXT_DATA__\" type=\"application/json\">{}</script>", "[".repeat(100_000));
    assert_prompt_and_sound("nuxt data of 100k [", &shell("", "<div id=\"__nuxt\"></div>", &nuxt));
    let ld = format!("<script type=\"application/ld+json\">{}</script>", "[".repeat(100_000));
    assert_prompt_and_sound("json-ld of 100k [", &shell(&ld, "<div id=\"app\"></div>", ""));
}

#[test]
fn truncated_or_false_embedded_json_is_passed_over() {
    let data =
        json!({"props": {"pageProps": {"article": {"headline": TITLE, "bodyHtml": paragraphs_html()}}}})
            .to_string();
    let truncated = &data[..data.len() / 2];
    let html = next_data_page(truncated);
    assert_prompt_and_sound("truncated next data", &html);
    assert!(matches!(run(&html).0, Ok(Extraction::Skipped(SkipReason::Empty))));
    assert_prompt_and_sound(
        "next data not json",
        &next_data_page("self.__next_f.push([1,\"not json\"]); <!-- -->"),
    );
    assert_prompt_and_sound("empty next data", &next_data_page(""));
    let state = format!("<script>window.__INITIAL_STATE__ = {};</script>", &data[..data.len() - 3]);
    assert_prompt_and_sound("truncated state", &shell("", "<div id=\"root\"></div>", &state));
    let nuxt_fn = "<script>window.__NUXT__=(function(a,b,c){return {data:[{body:a}],state:{}}}(\"x\",null,{}));</script>";
    assert_prompt_and_sound("nuxt 2 function", &shell("", "<div id=\"__nuxt\"></div>", nuxt_fn));
    // A devalue payload whose every element points twice at the next: 2^1000 nodes if rebuilt naively.
    let mut items: Vec<serde_json::Value> = (1..1000).map(|i| json!({"title": i, "body": i})).collect();
    items.push(json!("leaf"));
    let nuxt = format!("<script id=\"__NUXT_DATA__\" type=\"application/json\">{}</script>", json!(items));
    assert_prompt_and_sound("exponential nuxt data", &shell("", "<div id=\"__nuxt\"></div>", &nuxt));
}

#[test]
fn a_five_megabyte_blob_of_embedded_data_is_not_parsed_and_returns_promptly() {
    let filler = "x".repeat(5 * 1024 * 1024);
    let data = json!({"props": {"pageProps": {"blob": filler, "article": {"headline": TITLE, "bodyHtml": paragraphs_html()}}}});
    let html = next_data_page(&data.to_string());
    assert_prompt_and_sound("5 MB next data", &html);
    // Over the 4 MB bound the data are not read: the page is an empty shell.
    assert!(matches!(run(&html).0, Ok(Extraction::Skipped(SkipReason::Empty))));
    let state = format!("<script>window.__APOLLO_STATE__ = {data};</script>");
    assert_prompt_and_sound("5 MB state", &shell("", "<div id=\"root\"></div>", &state));
    // A 5 MB blob of many small values: parsed only under the bound, walked within its visit limit.
    let many = json!({"props": {"pageProps": {"items": (0..150_000).map(|i| json!({"i": i, "t": "ab"})).collect::<Vec<_>>()}}});
    assert_prompt_and_sound("many values", &next_data_page(&many.to_string()));
}
