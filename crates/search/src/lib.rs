//! How text becomes full-text search lexemes, in newspipe rather than in PostgreSQL.
//!
//! The store analyses each article here and writes its `tsvector` with the row; a search analyses its
//! query here the same way and asks PostgreSQL only to match the two. PostgreSQL's own analysis
//! (`to_tsvector`) cost about as much CPU per 12 KB article as extracting the page, almost all of it in its
//! parser, and could not be spread over more processes; this one costs a small fraction of it and runs in
//! every store replica (docs/decisions/0009-search-vectors-made-by-newspipe.md).
//!
//! The analysis, per language (the article's language tag, mapped as `newspipe_regconfig` does):
//! - words are maximal runs of letters and digits (`char::is_alphanumeric`): "e-mail" is "e" and "mail",
//!   "it's" is "it" and "s"; a search for a hyphenated or dotted term looks for its parts as a phrase;
//! - each word is lower-cased; it takes a position whether or not it is kept, as in PostgreSQL;
//! - stop words are dropped where PostgreSQL's configuration drops them (Snowball's lists, as NLTK ships
//!   them);
//! - the rest is stemmed with the language's Snowball stemmer (`rust-stemmers`); a language without one
//!   here (Indonesian, Irish, Lithuanian, Nepali, Serbian, and any other) keeps its lower-cased words, as
//!   PostgreSQL's `simple` configuration does.
//!
//! Vectors keep PostgreSQL's limits so that it accepts every one: positions up to 16,383, at most 256 of
//! them per lexeme, lexemes up to 2,046 bytes and their sum under 1 MB.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// The highest position PostgreSQL keeps (`MAXENTRYPOS - 1`).
const MAX_POSITION: u16 = 16_383;
/// Positions PostgreSQL keeps per lexeme (`MAXNUMPOS`).
const MAX_POSITIONS_PER_LEXEME: usize = 256;
/// The longest lexeme PostgreSQL accepts (`MAXSTRLEN` is 2,047 bytes).
const MAX_LEXEME_BYTES: usize = 2_046;
/// What the lexemes of one vector may add up to (PostgreSQL's `MAXSTRPOS` is 1 MiB - 1), with room to spare.
const MAX_VECTOR_LEXEME_BYTES: usize = 1_000_000;

/// What a part of an article weighs in ranking, as PostgreSQL's `setweight` letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// The title.
    A,
    /// The description.
    B,
    /// The text.
    C,
}

/// The analysis of one language: its stop words and its stemmer.
pub struct Analyzer {
    /// PostgreSQL's name for the configuration this follows (`english`, `simple`...).
    name: &'static str,
    stemmer: Option<Stemmer>,
    /// Sorted, for a binary search.
    stop_words: Vec<&'static str>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Language subtag, PostgreSQL configuration, Snowball stemmer, whether PostgreSQL drops stop words.
const LANGUAGES: &[(&str, &str, Option<Algorithm>, bool)] = &[
    ("ar", "arabic", Some(Algorithm::Arabic), false),
    ("da", "danish", Some(Algorithm::Danish), true),
    ("de", "german", Some(Algorithm::German), true),
    ("el", "greek", Some(Algorithm::Greek), false),
    ("en", "english", Some(Algorithm::English), true),
    ("es", "spanish", Some(Algorithm::Spanish), true),
    ("fi", "finnish", Some(Algorithm::Finnish), true),
    ("fr", "french", Some(Algorithm::French), true),
    ("hu", "hungarian", Some(Algorithm::Hungarian), true),
    ("it", "italian", Some(Algorithm::Italian), true),
    ("nl", "dutch", Some(Algorithm::Dutch), true),
    ("nb", "norwegian", Some(Algorithm::Norwegian), true),
    ("nn", "norwegian", Some(Algorithm::Norwegian), true),
    ("no", "norwegian", Some(Algorithm::Norwegian), true),
    ("pt", "portuguese", Some(Algorithm::Portuguese), true),
    ("ro", "romanian", Some(Algorithm::Romanian), false),
    ("ru", "russian", Some(Algorithm::Russian), true),
    ("sv", "swedish", Some(Algorithm::Swedish), true),
    ("ta", "tamil", Some(Algorithm::Tamil), false),
    ("tr", "turkish", Some(Algorithm::Turkish), true),
];

fn analyzers() -> &'static [Analyzer] {
    static ALL: OnceLock<Vec<Analyzer>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = vec![Analyzer { name: "simple", stemmer: None, stop_words: Vec::new() }];
        for &(tag, name, algorithm, drops_stop_words) in LANGUAGES {
            if all.iter().any(|a| a.name == name) {
                continue;
            }
            let mut stop_words = if drops_stop_words {
                // NLTK names its lists by ISO 639-1 code; Norwegian is "no".
                let code = if name == "norwegian" { "no" } else { tag };
                stop_words::lookup(code).map(<[_]>::to_vec).unwrap_or_default()
            } else {
                Vec::new()
            };
            stop_words.sort_unstable();
            all.push(Analyzer { name, stemmer: algorithm.map(Stemmer::create), stop_words });
        }
        all
    })
}

/// The analyzer for a BCP 47 language tag ("en", "en-GB", "pt_BR", "DE"...): its primary subtag, as
/// `newspipe_regconfig` maps it; `simple` for anything else or none.
pub fn analyzer(language: Option<&str>) -> &'static Analyzer {
    let all = analyzers();
    let primary = language.unwrap_or("").split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|(tag, ..)| *tag == primary)
        .and_then(|(_, name, ..)| all.iter().find(|a| a.name == *name))
        .unwrap_or(&all[0])
}

impl Analyzer {
    /// PostgreSQL's name for the configuration this analysis follows.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn is_stop_word(&self, word: &str) -> bool {
        !self.stop_words.is_empty() && self.stop_words.binary_search(&word).is_ok()
    }

    /// The lexeme of one lower-cased word; None for a stop word or a word too long to index.
    fn lexeme(&self, lower: &str) -> Option<String> {
        if lower.len() > MAX_LEXEME_BYTES || self.is_stop_word(lower) {
            return None;
        }
        let lexeme = match &self.stemmer {
            Some(stemmer) => stemmer.stem(lower).into_owned(),
            None => lower.to_string(),
        };
        (!lexeme.is_empty() && lexeme.len() <= MAX_LEXEME_BYTES).then_some(lexeme)
    }
}

/// The words of a text, in order: maximal runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

fn lower_into(word: &str, buffer: &mut String) {
    buffer.clear();
    if word.is_ascii() {
        buffer.push_str(word);
        buffer.make_ascii_lowercase();
    } else {
        buffer.extend(word.chars().flat_map(char::to_lowercase));
    }
}

/// Words already analysed on this thread by one analyzer: each lower-cased word's lexeme (an index into
/// `lexemes`), or None for a word not kept. News vocabularies repeat from one article to the next, so most
/// words are found here and stemmed once per thread, not once per article.
struct Words {
    analyzer: &'static str,
    lexeme_of: HashMap<Box<str>, Option<u32>, foldhash::fast::RandomState>,
    /// Each lexeme's id, so that two words with one stem share it.
    id_of: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    lexemes: Vec<Box<str>>,
}

/// Words remembered on one thread, all analyzers together: past it they are forgotten, so memory stays
/// bounded whatever the texts.
const MAX_WORDS_REMEMBERED: usize = 200_000;

thread_local! {
    /// One [`Words`] per analyzer used on this thread, so that a batch mixing languages keeps each one's.
    static WORDS: std::cell::RefCell<Vec<Words>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's words of `analyzer`.
fn with_words<R>(analyzer: &'static Analyzer, f: impl FnOnce(&mut Words) -> R) -> R {
    WORDS.with_borrow_mut(|all| {
        if all.iter().map(|w| w.lexeme_of.len()).sum::<usize>() > MAX_WORDS_REMEMBERED {
            all.clear();
        }
        let index = match all.iter().position(|w| w.analyzer == analyzer.name) {
            Some(index) => index,
            None => {
                all.push(Words {
                    analyzer: analyzer.name,
                    lexeme_of: HashMap::default(),
                    id_of: HashMap::default(),
                    lexemes: Vec::new(),
                });
                all.len() - 1
            }
        };
        f(&mut all[index])
    })
}

impl Words {
    fn lexeme(&mut self, analyzer: &Analyzer, lower: &str) -> Option<u32> {
        if let Some(known) = self.lexeme_of.get(lower) {
            return *known;
        }
        let id = analyzer.lexeme(lower).map(|lexeme| match self.id_of.get(lexeme.as_str()) {
            Some(&id) => id,
            None => {
                let id = self.lexemes.len() as u32;
                let lexeme = lexeme.into_boxed_str();
                self.id_of.insert(lexeme.clone(), id);
                self.lexemes.push(lexeme);
                id
            }
        });
        self.lexeme_of.insert(lower.into(), id);
        id
    }
}

/// Builds the `tsvector` of one article, part by part: (lexeme, position with its weight) pairs.
struct VectorBuilder<'a> {
    analyzer: &'a Analyzer,
    /// Lexeme ids with positions (weight in the top two bits, as PostgreSQL keeps them), in text order.
    entries: Vec<(u32, u16)>,
    max_position: u16,
    buffer: String,
}

impl<'a> VectorBuilder<'a> {
    fn new(analyzer: &'a Analyzer) -> Self {
        VectorBuilder { analyzer, entries: Vec::new(), max_position: 0, buffer: String::new() }
    }

    /// Adds one part: its positions follow the highest of the parts before, as PostgreSQL's `||` of two
    /// vectors shifts the second.
    fn add(&mut self, words_seen: &mut Words, text: &str, weight: Weight) {
        let offset = u32::from(self.max_position);
        let weight_bits: u16 = match weight {
            Weight::A => 3 << 14,
            Weight::B => 2 << 14,
            Weight::C => 1 << 14,
        };
        for (n, word) in words(text).enumerate() {
            let position = (offset + n as u32 + 1).min(u32::from(MAX_POSITION)) as u16;
            lower_into(word, &mut self.buffer);
            if let Some(id) = words_seen.lexeme(self.analyzer, &self.buffer) {
                self.entries.push((id, weight_bits | position));
                self.max_position = self.max_position.max(position);
            }
        }
    }

    /// The vector in PostgreSQL's text form: `'lexeme':1A,7C 'other':3B`, lexemes in byte order.
    fn finish(mut self, words_seen: &Words) -> String {
        // Stable: each lexeme's positions stay in text order.
        self.entries.sort_by_key(|&(id, _)| id);
        let mut groups: Vec<(&str, &[(u32, u16)])> = Vec::new();
        let mut lexeme_bytes = 0;
        for group in self.entries.chunk_by(|a, b| a.0 == b.0) {
            let lexeme = &*words_seen.lexemes[group[0].0 as usize];
            if lexeme_bytes + lexeme.len() > MAX_VECTOR_LEXEME_BYTES {
                continue;
            }
            lexeme_bytes += lexeme.len();
            groups.push((lexeme, group));
        }
        groups.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut out = String::with_capacity(lexeme_bytes * 2 + self.entries.len() * 7);
        for (lexeme, positions) in groups {
            if !out.is_empty() {
                out.push(' ');
            }
            quote_into(lexeme, &mut out);
            let mut last = None;
            let mut kept = 0;
            for &(_, p) in positions {
                let position = p & 0x3fff;
                if last == Some(position) || kept == MAX_POSITIONS_PER_LEXEME {
                    continue;
                }
                out.push(if kept == 0 { ':' } else { ',' });
                push_number(position, &mut out);
                out.push(match p >> 14 {
                    3 => 'A',
                    2 => 'B',
                    _ => 'C',
                });
                last = Some(position);
                kept += 1;
            }
        }
        out
    }
}

fn push_number(n: u16, out: &mut String) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| d as char));
}

/// A lexeme quoted for a `tsvector` or `tsquery` literal: in single quotes, a quote doubled and a
/// backslash escaped.
fn quote_into(lexeme: &str, out: &mut String) {
    out.push('\'');
    for c in lexeme.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// The search vector of an article in PostgreSQL's `tsvector` text form: the title weighs A, the
/// description B, the text C, each analysed in the article's language.
/// Each part is capped as `newspipe_search_vector` caps it in SQL (title 2,000 characters, description
/// 20,000, text 500,000), so a page with a huge title is still indexed.
pub fn article_vector(
    language: Option<&str>,
    title: Option<&str>,
    description: Option<&str>,
    text: &str,
) -> String {
    let analyzer = analyzer(language);
    with_words(analyzer, |words_seen| {
        let mut builder = VectorBuilder::new(analyzer);
        if let Some(title) = title {
            builder.add(words_seen, first_chars(title, 2_000), Weight::A);
        }
        if let Some(description) = description {
            builder.add(words_seen, first_chars(description, 20_000), Weight::B);
        }
        builder.add(words_seen, first_chars(text, 500_000), Weight::C);
        builder.finish(words_seen)
    })
}

/// The first `n` characters of a text (PostgreSQL's `left`).
fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// One part of a query as written: a word or a quoted phrase, perhaps negated, or the operator `or`.
#[derive(Debug, PartialEq)]
enum Part<'q> {
    Terms { text: &'q str, negated: bool },
    Or,
}

/// Splits a query as PostgreSQL's `websearch_to_tsquery` reads one: words, `"quoted phrases"`, `-word` for
/// not, and `or` between two parts.
fn parts(query: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut i = 0;
    while let Some(c) = query[i..].chars().next() {
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        // `-` right before a word or a phrase negates it; alone it is nothing.
        let negated = c == '-' && query[i + 1..].starts_with(|c: char| !c.is_whitespace());
        let start = if negated { i + 1 } else { i };
        if let Some(inner) = query[start..].strip_prefix('"') {
            let from = start + 1;
            let end = inner.find('"').map_or(query.len(), |e| from + e);
            parts.push(Part::Terms { text: &query[from..end], negated });
            i = (end + 1).min(query.len());
        } else {
            let end = query[start..]
                .find(|c: char| c.is_whitespace() || c == '"')
                .map_or(query.len(), |e| start + e);
            let word = &query[start..end];
            parts.push(if !negated && word.eq_ignore_ascii_case("or") {
                Part::Or
            } else {
                Part::Terms { text: word, negated }
            });
            i = end.max(i + 1);
        }
    }
    parts
}

impl Analyzer {
    /// One part of a query as a `tsquery` expression: its lexemes as a phrase, a dropped stop word leaving
    /// its gap (`'a' <2> 'b'`); None when nothing in it is kept.
    fn phrase(&self, text: &str) -> Option<String> {
        let mut buffer = String::new();
        let mut out = String::new();
        let (mut count, mut last_position) = (0, 0usize);
        for (n, word) in words(text).enumerate() {
            lower_into(word, &mut buffer);
            let Some(lexeme) = self.lexeme(&buffer) else { continue };
            if count > 0 {
                match n - last_position {
                    1 => out.push_str(" <-> "),
                    gap => {
                        let _ = write!(out, " <{gap}> ");
                    }
                }
            }
            quote_into(&lexeme, &mut out);
            count += 1;
            last_position = n;
        }
        match count {
            0 => None,
            1 => Some(out),
            _ => Some(format!("( {out} )")),
        }
    }

    /// A query in this analysis, as a `tsquery` literal; empty when no word in it is kept.
    pub fn query(&self, query: &str) -> String {
        let mut out = String::new();
        let mut or_pending = false;
        for part in parts(query) {
            match part {
                Part::Or => or_pending = !out.is_empty(),
                Part::Terms { text, negated } => {
                    let Some(expression) = self.phrase(text) else { continue };
                    if !out.is_empty() {
                        out.push_str(if or_pending { " | " } else { " & " });
                    }
                    if negated {
                        out.push('!');
                    }
                    out.push_str(&expression);
                    or_pending = false;
                }
            }
        }
        out
    }
}

/// A search's query as a `tsquery` literal: analysed in the given language, or, with none, in every
/// language's analysis, OR-ed (an English article matches its stemmed words and a German one its own).
/// Empty when no word of it is kept in any.
pub fn search_query(query: &str, language: Option<&str>) -> String {
    if language.is_some() {
        return analyzer(language).query(query);
    }
    let mut seen: Vec<String> = Vec::new();
    for analyzer in analyzers() {
        let one = analyzer.query(query);
        if !one.is_empty() && !seen.contains(&one) {
            seen.push(one);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => seen.iter().map(|q| format!("( {q} )")).collect::<Vec<_>>().join(" | "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_english_article_is_stemmed_without_its_stop_words_and_weighted_by_part() {
        let vector = article_vector(Some("en-GB"), Some("Running dogs"), Some("The dogs ran"), "A dog runs.");
        assert_eq!(vector, "'dog':2A,4B,7C 'ran':5B 'run':1A,8C");
    }

    #[test]
    fn a_language_without_a_stemmer_keeps_lower_cased_words() {
        assert_eq!(
            article_vector(Some("sr"), None, None, "Beograd BEOGRAD grad"),
            "'beograd':1C,2C 'grad':3C"
        );
        assert_eq!(article_vector(None, None, None, "The Dogs"), "'dogs':2C 'the':1C");
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_and_punctuation_splits_words() {
        // Punctuation is never part of a word, so no lexeme holds a quote; the escaping is for the literal.
        let mut out = String::new();
        quote_into("it's\\", &mut out);
        assert_eq!(out, "'it''s\\\\'");
        assert_eq!(article_vector(None, None, None, "e-mail it's"), "'e':1C 'it':3C 'mail':2C 's':4C");
    }

    #[test]
    fn positions_and_sizes_stay_within_what_postgresql_accepts() {
        let text = "word ".repeat(20_000);
        let vector = article_vector(None, None, None, &text);
        assert_eq!(vector.matches(',').count(), MAX_POSITIONS_PER_LEXEME - 1);
        let long = "x".repeat(3000);
        assert_eq!(article_vector(None, None, None, &format!("{long} short")), "'short':2C");
        let late = format!("{} late", "a ".repeat(20_000));
        assert_eq!(first_chars("héllo", 2), "hé");
        assert!(article_vector(None, None, None, &late).contains("'late':16383C"));
    }

    #[test]
    fn a_query_reads_like_websearch_to_tsquery() {
        let english = analyzer(Some("en"));
        assert_eq!(english.query("running dogs"), "'run' & 'dog'");
        assert_eq!(english.query("\"the running of dogs\""), "( 'run' <2> 'dog' )");
        assert_eq!(english.query("cats or dogs -birds"), "'cat' | 'dog' & !'bird'");
        assert_eq!(english.query("e-mail"), "( 'e' <-> 'mail' )");
        assert_eq!(english.query("the of"), "");
        assert_eq!(english.query("or dogs or"), "'dog'");
        assert_eq!(english.query("-\"big dogs\" cats"), "!( 'big' <-> 'dog' ) & 'cat'");
        assert_eq!(english.query("'; DROP TABLE articles; --"), "'drop' & 'tabl' & 'articl'");
    }

    #[test]
    fn a_query_without_a_language_ors_every_analysis() {
        let query = search_query("Häuser", None);
        assert!(query.contains("'häuser'"), "{query}");
        assert!(query.contains("'haus'"), "{query}");
        assert_eq!(search_query("Häuser", Some("de")), "'haus'");
        assert_eq!(search_query("", None), "");
    }

    #[test]
    fn articles_of_several_languages_in_turn_keep_each_analysis() {
        let english = article_vector(Some("en"), None, None, "Häuser and houses");
        let german = article_vector(Some("de"), None, None, "Häuser and houses");
        assert_ne!(english, german);
        assert_eq!(article_vector(Some("en"), None, None, "Häuser and houses"), english);
        assert_eq!(article_vector(Some("de"), None, None, "Häuser and houses"), german);
    }

    #[test]
    fn unknown_and_odd_tags_fall_back_to_simple() {
        assert_eq!(analyzer(Some("xx")).name(), "simple");
        assert_eq!(analyzer(Some("PT_br")).name(), "portuguese");
        assert_eq!(analyzer(Some("nn-NO")).name(), "norwegian");
        assert_eq!(analyzer(None).name(), "simple");
    }
}
