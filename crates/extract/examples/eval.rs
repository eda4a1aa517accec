//! Scores the extractor on the shared corpora and prints a table.
//!
//! `CARGO_TARGET_DIR=/work/target-extract cargo run --release -p newspipe-extract --example eval`
//!
//! - `wcxb-dev-articles`: word-level bag-of-words F1 of `text` against `main_content`, averaged over pages;
//!   the share of `with` snippets found and of `without` snippets leaked; title (NFKC, lower-cased, word
//!   characters only), author (same set of names after splitting on `;` `,` `and` `&` `|`) and date (same
//!   calendar day, in UTC) accuracy over the pages whose ground truth has the field (a missing value is
//!   wrong); and pages per second on one core with the pages in memory.
//! - `readability-test-pages`: title, byline, excerpt, site name and published-time agreement, and word F1
//!   of the text against the text of `expected.html`.
//! - `fixtures/seed`: every paragraph present and in order, no forbidden string, every metadata field exact.
//!
//! Set `NEWSPIPE_SHARED` to use another `shared/` folder; `EVAL_VERBOSE=1` lists the worst pages.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use newspipe_extract::{Extraction, Options, Page, extract};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

fn shared_dir() -> PathBuf {
    std::env::var_os("NEWSPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn words(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s.split_whitespace() {
        *m.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    m
}

/// Bag-of-words F1 as WCXB defines it (lower-cased, split on whitespace). Both empty counts as 1.
fn f1(predicted: &str, truth: &str) -> f64 {
    let p = words(predicted);
    let t = words(truth);
    let np: usize = p.values().sum();
    let nt: usize = t.values().sum();
    if np == 0 && nt == 0 {
        return 1.0;
    }
    if np == 0 || nt == 0 {
        return 0.0;
    }
    let common: usize = p.iter().map(|(w, c)| (*c).min(*t.get(w).unwrap_or(&0))).sum();
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / np as f64;
    let recall = common as f64 / nt as f64;
    2.0 * precision * recall / (precision + recall)
}

fn precision_recall(predicted: &str, truth: &str) -> (f64, f64) {
    let p = words(predicted);
    let t = words(truth);
    let np: usize = p.values().sum();
    let nt: usize = t.values().sum();
    let common: usize = p.iter().map(|(w, c)| (*c).min(*t.get(w).unwrap_or(&0))).sum();
    (common as f64 / np.max(1) as f64, common as f64 / nt.max(1) as f64)
}

fn words_only(s: &str) -> String {
    s.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).collect::<Vec<_>>().join(" ")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn title_norm(s: &str) -> String {
    s.nfkc().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric() || *c == '_').collect()
}

fn author_set(s: &str) -> Vec<String> {
    let mut out: Vec<String> = s
        .split([';', ',', '&', '|'])
        .flat_map(|p| p.split(" and "))
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn read_gz(path: &Path) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).ok()?).read_to_end(&mut out).ok()?;
    Some(out)
}

struct Row {
    name: String,
    value: String,
}

fn wcxb(dir: &Path, verbose: bool, rows: &mut Vec<Row>) {
    let mut ids: Vec<String> = match std::fs::read_dir(dir.join("ground-truth")) {
        Ok(rd) => rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .collect(),
        Err(_) => {
            println!("wcxb: {} is absent, skipped", dir.display());
            return;
        }
    };
    ids.sort();
    let mut pages = Vec::new();
    for id in &ids {
        let truth: Value = match std::fs::read_to_string(dir.join(format!("ground-truth/{id}.json"))) {
            Ok(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
            Err(_) => continue,
        };
        let Some(html) = read_gz(&dir.join(format!("html/{id}.html.gz"))) else { continue };
        pages.push((id.clone(), truth, html));
    }
    let options = Options::default();
    let (mut f1_sum, mut with_found, mut with_total, mut without_leaked, mut without_total) =
        (0.0, 0, 0, 0, 0);
    let (mut title_ok, mut title_n, mut author_ok, mut author_n, mut date_ok, mut date_n) =
        (0, 0, 0, 0, 0, 0);
    let mut skipped = 0;
    // EVAL_DUMP=FILE writes each page's extracted text as a JSON line, for looking at what leaks.
    let mut dump = std::env::var_os("EVAL_DUMP").and_then(|p| std::fs::File::create(p).ok());
    let mut date_either_ok = 0;
    let mut date_local_ok = 0;
    let mut worst = Vec::new();
    let mut misses: Vec<String> = Vec::new();
    for (id, truth, html) in &pages {
        let url = truth["url"].as_str().unwrap_or("");
        let gt = &truth["ground_truth"];
        let article = match extract(&Page::new(html, url), &options) {
            Ok(Extraction::Article(a)) => Some(a),
            Ok(Extraction::Skipped(reason)) => {
                skipped += 1;
                if verbose {
                    println!("skipped {id}: {reason}");
                }
                None
            }
            Err(e) => {
                skipped += 1;
                if verbose {
                    println!("error {id}: {e}");
                }
                None
            }
        };
        let text = article.as_ref().map(|a| a.text.as_str()).unwrap_or("");
        let score = f1(text, gt["main_content"].as_str().unwrap_or(""));
        f1_sum += score;
        let (np, nt) = (
            text.split_whitespace().count(),
            gt["main_content"].as_str().unwrap_or("").split_whitespace().count(),
        );
        worst.push((score, format!("{id} words {np} vs truth {nt}")));
        if let Some(dump) = dump.as_mut() {
            use std::io::Write;
            let line = serde_json::json!({"id": id, "text": text});
            let _ = writeln!(dump, "{line}");
        }
        if verbose {
            let (p, r) = precision_recall(text, gt["main_content"].as_str().unwrap_or(""));
            println!("pr {id} {p:.3} {r:.3} {score:.3}");
        }
        let norm_text = collapse(text);
        for s in gt["with"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            with_total += 1;
            if norm_text.contains(&collapse(s)) {
                with_found += 1;
            } else if verbose {
                misses.push(format!("with-missing {id}: {s:.100}"));
            }
        }
        for s in gt["without"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            without_total += 1;
            if norm_text.contains(&collapse(s)) {
                without_leaked += 1;
                if verbose {
                    misses.push(format!("without-leaked {id}: {s:.100}"));
                }
            }
        }
        if let Some(t) = gt["title"].as_str().filter(|t| !t.is_empty()) {
            title_n += 1;
            let got = article.as_ref().and_then(|a| a.title.clone()).unwrap_or_default();
            if title_norm(&got) == title_norm(t) {
                title_ok += 1;
            } else if verbose {
                misses.push(format!("title {id}: got {got:?} want {t:?}"));
            }
        }
        if let Some(t) = gt["author"].as_str().filter(|t| !t.is_empty()) {
            author_n += 1;
            let got = article.as_ref().map(|a| a.authors.join(", ")).unwrap_or_default();
            if author_set(&got) == author_set(t) {
                author_ok += 1;
            } else if verbose {
                misses.push(format!("author {id}: got {got:?} want {t:?}"));
            }
        }
        if let Some(t) = gt["publish_date"].as_str().filter(|t| !t.is_empty()) {
            date_n += 1;
            let day = |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| d.format("%Y-%m-%d").to_string());
            let got = day(article.as_ref().and_then(|a| a.published_at));
            let want = Some(&t[..t.len().min(10)]);
            let modified = day(article.as_ref().and_then(|a| a.modified_at));
            if got.as_deref() == want || modified.as_deref() == want {
                date_either_ok += 1;
            }
            // The same page's publication date on its own calendar (the offset it wrote), from the library's
            // metadata step; the article keeps only the UTC instant.
            let (decoded, _, _) = newspipe_extract::charset::decode(html, None, url);
            let doc = newspipe_extract::dom::parse(&decoded, None);
            let local = newspipe_extract::extract_metadata(&doc, &decoded, url, None)
                .published_local
                .map(|d| d.format("%Y-%m-%d").to_string());
            if article.as_ref().is_some_and(|a| a.published_at.is_some()) && local.as_deref() == want {
                date_local_ok += 1;
            }
            if got.as_deref() == want {
                date_ok += 1;
            } else if verbose {
                misses.push(format!("date {id}: got {got:?} want {t:?}"));
            }
        }
    }
    // Throughput: one core, pages already in memory, the whole corpus twice (the first pass warms caches).
    let mut elapsed = 0.0;
    let mut cpu = None;
    for pass in 0..2 {
        let start = Instant::now();
        let cpu_start = thread_cpu_time();
        for (_, truth, html) in &pages {
            let url = truth["url"].as_str().unwrap_or("");
            let _ = std::hint::black_box(extract(&Page::new(html, url), &options));
        }
        if pass == 1 {
            elapsed = start.elapsed().as_secs_f64();
            cpu = thread_cpu_time().zip(cpu_start).map(|(end, start)| end - start);
        }
    }
    let n = pages.len().max(1) as f64;
    if verbose {
        worst.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (s, id) in worst.iter().take(40) {
            println!("low F1 {id}: {s:.3}");
        }
        for m in &misses {
            println!("{m}");
        }
    }
    let pct = |a: usize, b: usize| {
        if b == 0 { "n/a".to_string() } else { format!("{:.3} ({a}/{b})", a as f64 / b as f64) }
    };
    rows.push(Row {
        name: "wcxb pages (skipped or failed)".to_string(),
        value: format!("{} ({skipped})", pages.len()),
    });
    rows.push(Row { name: "wcxb body F1 (mean)".into(), value: format!("{:.3}", f1_sum / n) });
    rows.push(Row { name: "wcxb `with` snippets found".into(), value: pct(with_found, with_total) });
    rows.push(Row {
        name: "wcxb `without` snippets leaked".into(),
        value: pct(without_leaked, without_total),
    });
    rows.push(Row { name: "wcxb title accuracy".into(), value: pct(title_ok, title_n) });
    rows.push(Row { name: "wcxb author accuracy".into(), value: pct(author_ok, author_n) });
    rows.push(Row { name: "wcxb date accuracy (published_at)".into(), value: pct(date_ok, date_n) });
    rows.push(Row {
        name: "wcxb date accuracy (published_at, the page's own day)".into(),
        value: pct(date_local_ok, date_n),
    });
    rows.push(Row {
        name: "wcxb date accuracy (published_at or modified_at)".into(),
        value: pct(date_either_ok, date_n),
    });
    rows.push(Row {
        name: "wcxb pages/s (one core, in memory, wall clock)".into(),
        value: format!("{:.0}", n / elapsed),
    });
    if let Some(cpu) = cpu {
        rows.push(Row {
            name: "wcxb pages per CPU-second (one core)".into(),
            value: format!("{:.0}", n / cpu),
        });
    }
}

fn readability(dir: &Path, verbose: bool, rows: &mut Vec<Row>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        println!("readability: {} is absent, skipped", dir.display());
        return;
    };
    let mut names: Vec<PathBuf> =
        rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    names.sort();
    let options = Options::default();
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut f1_sum = 0.0;
    let mut pages = 0;
    let mut not_articles = 0;
    for page_dir in &names {
        let (Ok(source), Ok(expected), Ok(meta)) = (
            std::fs::read(page_dir.join("source.html")),
            std::fs::read_to_string(page_dir.join("expected.html")),
            std::fs::read_to_string(page_dir.join("expected-metadata.json")),
        ) else {
            continue;
        };
        let meta: Value = serde_json::from_str(&meta).unwrap_or(Value::Null);
        pages += 1;
        let url = "http://fakehost/test/page.html";
        let article = match extract(&Page::new(&source, url), &options) {
            Ok(Extraction::Article(a)) => Some(a),
            other => {
                not_articles += 1;
                if verbose {
                    println!("readability {}: {other:?}", page_dir.display());
                }
                None
            }
        };
        let expected_doc = newspipe_extract::dom::parse(&expected, None);
        let expected_text = expected_doc.text(0);
        let text = article.as_ref().map(|a| a.text.as_str()).unwrap_or("");
        // expected.html is HTML: list bullets and numbers are markup there, words here. Tokens without a
        // letter or digit are left out on both sides so that rendering choices do not count as content.
        let page_f1 = f1(&words_only(text), &words_only(&expected_text));
        f1_sum += page_f1;
        if verbose {
            println!("readability-f1 {} {page_f1:.3}", page_dir.display());
        }
        let name = page_dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let mut check = |field: &'static str, want: &Value, got: Option<String>, exact: bool| {
            let Some(want) = want.as_str() else { return };
            let entry = counts.entry(field).or_insert((0, 0));
            entry.1 += 1;
            let got = got.unwrap_or_default();
            let ok =
                if exact { collapse(&got) == collapse(want) } else { title_norm(&got) == title_norm(want) };
            if ok {
                entry.0 += 1;
            } else if verbose {
                println!("readability {name} {field}: got {got:?} want {want:?}");
            }
        };
        let a = article.as_deref();
        check("title", &meta["title"], a.and_then(|a| a.title.clone()), true);
        check("byline", &meta["byline"], a.map(|a| a.authors.join(", ")).filter(|s| !s.is_empty()), false);
        check("excerpt", &meta["excerpt"], a.and_then(|a| a.description.clone()), true);
        check("siteName", &meta["siteName"], a.and_then(|a| a.site_name.clone()), true);
        check("lang", &meta["lang"], a.and_then(|a| a.language.clone()), true);
        let published = a.and_then(|a| a.published_at).map(|d| d.format("%Y-%m-%d").to_string());
        let want_day = meta["publishedTime"]
            .as_str()
            .and_then(newspipe_extract::parse_date)
            .map(|d| d.format("%Y-%m-%d").to_string());
        check("publishedTime (day)", &want_day.map(Value::String).unwrap_or(Value::Null), published, true);
    }
    if pages == 0 {
        return;
    }
    rows.push(Row {
        name: "readability pages (skipped or failed)".into(),
        value: format!("{pages} ({not_articles})"),
    });
    rows.push(Row {
        name: "readability text F1 vs expected.html".into(),
        value: format!("{:.3}", f1_sum / pages as f64),
    });
    let mut fields: Vec<_> = counts.into_iter().collect();
    fields.sort();
    for (field, (ok, n)) in fields {
        rows.push(Row {
            name: format!("readability {field} (of non-null)"),
            value: format!("{:.3} ({ok}/{n})", ok as f64 / n.max(1) as f64),
        });
    }
}

fn seed(dir: &Path, rows: &mut Vec<Row>) {
    let (Ok(html), Ok(expected)) =
        (std::fs::read(dir.join("article.html")), std::fs::read_to_string(dir.join("expected.json")))
    else {
        println!("seed: {} is absent, skipped", dir.display());
        return;
    };
    let expected: Value = serde_json::from_str(&expected).unwrap_or(Value::Null);
    let failures = newspipe_extract_seed::check(&html, &expected);
    for f in &failures {
        println!("seed failure: {f}");
    }
    rows.push(Row {
        name: "seed fixture".into(),
        value: if failures.is_empty() {
            "pass".into()
        } else {
            format!("FAIL ({} problems)", failures.len())
        },
    });
}

#[path = "../tests/support/seed_check.rs"]
mod newspipe_extract_seed;

/// This thread's on-CPU time in seconds (Linux `schedstat`): on a shared machine the wall clock also
/// counts the time spent waiting for a core.
fn thread_cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

fn main() {
    let shared = shared_dir();
    if !shared.is_dir() {
        println!(
            "eval: {} is absent; nothing to score (set NEWSPIPE_SHARED to point at a shared/ folder)",
            shared.display()
        );
        return;
    }
    let verbose = std::env::var_os("EVAL_VERBOSE").is_some();
    let mut rows = Vec::new();
    seed(&shared.join("fixtures/seed"), &mut rows);
    wcxb(&shared.join("corpus/wcxb-dev-articles"), verbose, &mut rows);
    readability(&shared.join("corpus/readability-test-pages"), verbose, &mut rows);
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(10);
    println!("| {:width$} | value |", "measure");
    println!("|{}|-------|", "-".repeat(width + 2));
    for r in rows {
        println!("| {:width$} | {} |", r.name, r.value);
    }
}
