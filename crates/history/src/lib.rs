//! What changed between two versions of an article, as numbers and as a readable diff.
//!
//! A version is its title, its authors and its text. The text is compared paragraph by paragraph, with the
//! paragraphs that decide whether a refetch is a new version at all
//! ([`newspipe_models::version::paragraphs`]: split on blank lines, whitespace collapsed, empty ones
//! dropped), so that a diff never shows a change of layout that the version hash ignored.
//!
//! - [`compare`] counts the change: paragraphs added, removed and changed, words added and removed, whether
//!   the title or the byline changed, and whether the edit brought a correction note. [`Change::summary`]
//!   says it in one line for a history listing.
//! - [`render_diff`] shows it: the paragraph lists are diffed (patience), and within a run of differing
//!   paragraphs an old and a new one that are still mostly the same words are shown as one changed
//!   paragraph (`~ `) with a word diff inside, as `git diff --word-diff=plain` marks it
//!   (`[-removed-]{+added+}`), rather than as a removal and an addition that the reader has to compare by
//!   eye.

use std::ops::Range;

use similar::{Algorithm, DiffOp, DiffTag};

/// One version's content as stored.
#[derive(Debug, Clone, Copy)]
pub struct VersionText<'a> {
    pub title: Option<&'a str>,
    pub authors: &'a [String],
    pub text: &'a str,
}

/// What changed from one version to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub title_changed: bool,
    pub authors_changed: bool,
    /// Paragraphs in the new version with no counterpart in the old one.
    pub paragraphs_added: usize,
    /// Paragraphs in the old version with no counterpart in the new one.
    pub paragraphs_removed: usize,
    /// Paragraphs edited in place: an old and a new paragraph, in the same run of differences, that still
    /// share at least half their words.
    pub paragraphs_changed: usize,
    /// Words (not characters) inserted, over the title and the text.
    pub words_added: usize,
    /// Words (not characters) deleted, over the title and the text.
    pub words_removed: usize,
    /// An added or changed paragraph reads as a correction note ("Correction: …", "An earlier version of
    /// this article …").
    pub correction: bool,
}

impl Change {
    /// The change in one line, e.g. `title changed; 3 paragraphs added; 1 removed; 2 changed; a correction
    /// note`, or `no visible change` when nothing differs.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.title_changed {
            parts.push("title changed".to_string());
        }
        if self.authors_changed {
            parts.push("authors changed".to_string());
        }
        let paragraph_counts = [
            (self.paragraphs_added, "added"),
            (self.paragraphs_removed, "removed"),
            (self.paragraphs_changed, "changed"),
        ];
        let mut named_paragraphs = false;
        for (count, what) in paragraph_counts {
            if count == 0 {
                continue;
            }
            // "3 paragraphs added; 1 removed": the noun once is enough.
            if named_paragraphs {
                parts.push(format!("{count} {what}"));
            } else {
                let noun = if count == 1 { "paragraph" } else { "paragraphs" };
                parts.push(format!("{count} {noun} {what}"));
                named_paragraphs = true;
            }
        }
        if self.correction {
            parts.push("a correction note".to_string());
        }
        if parts.is_empty() { "no visible change".to_string() } else { parts.join("; ") }
    }

    /// The summary of a first version, which has nothing to compare with.
    pub fn first_summary() -> &'static str {
        "first version"
    }
}

/// Counts what changed from `old` to `new` (see [`Change`]).
pub fn compare(old: &VersionText, new: &VersionText) -> Change {
    let diff = VersionDiff::new(old, new);
    let mut change = Change {
        title_changed: diff.title_changed(),
        authors_changed: diff.authors_changed(),
        ..Change::default()
    };
    let (added, removed) = diff.title.word_counts();
    change.words_added += added;
    change.words_removed += removed;
    for block in &diff.blocks {
        match *block {
            Block::Same(_) => {}
            Block::Added(j) => {
                change.paragraphs_added += 1;
                change.words_added += Words::new(&diff.new_paragraphs[j]).len();
                change.correction |= reads_as_correction(&diff.new_paragraphs[j]);
            }
            Block::Removed(i) => {
                change.paragraphs_removed += 1;
                change.words_removed += Words::new(&diff.old_paragraphs[i]).len();
            }
            Block::Changed(i, j) => {
                let words =
                    WordDiff::new(Words::new(&diff.old_paragraphs[i]), Words::new(&diff.new_paragraphs[j]));
                let (added, removed) = words.word_counts();
                change.paragraphs_changed += 1;
                change.words_added += added;
                change.words_removed += removed;
                change.correction |= reads_as_correction(&diff.new_paragraphs[j]);
            }
        }
    }
    change
}

/// A readable diff from `old` to `new`, one line per entry, each ending in a newline; empty when nothing
/// differs.
///
/// First `title: …` and `authors: …` when they changed, then the paragraphs: `+ ` added, `- ` removed,
/// `~ ` changed (with `[-removed words-]{+added words+}` inside), and at most one unchanged paragraph of
/// context (`  ` + paragraph) on each side of a change, with `  …` where unchanged paragraphs are left
/// out. With `colour`, ANSI red and green take the place of the markers inside a line, and added and
/// removed paragraphs are wholly green and red.
pub fn render_diff(old: &VersionText, new: &VersionText, colour: bool) -> String {
    let style = if colour { Style::Colour } else { Style::Plain };
    let diff = VersionDiff::new(old, new);
    let mut lines = Vec::new();
    if diff.title_changed() {
        lines.push(format!("title: {}", diff.title.render(style)));
    }
    if diff.authors_changed() {
        lines.push(format!("authors: {}", diff.authors.render(style)));
    }
    lines.extend(diff.paragraph_lines(style));
    lines.into_iter().map(|line| line + "\n").collect()
}

/// The phrases that mark a paragraph as a correction note, lower-case.
const CORRECTION_PHRASES: &[&str] = &[
    "correction:",
    "corrected",
    "an earlier version of this article",
    "this article has been updated",
    "clarification:",
    "editor's note",
    "this story has been corrected",
];

fn reads_as_correction(paragraph: &str) -> bool {
    // Publishers write "Editor’s note" with a typographic apostrophe as often as with a straight one.
    let paragraph = paragraph.to_lowercase().replace('\u{2019}', "'");
    CORRECTION_PHRASES.iter().any(|phrase| paragraph.contains(phrase))
}

/// The least share of words an old and a new paragraph must have in common to be one changed paragraph
/// rather than a removal and an addition.
const PAIRING_RATIO: f32 = 0.5;

/// How the differences inside a line are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Colour,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

impl Style {
    fn removed(self, text: &str) -> String {
        match self {
            Style::Plain => format!("[-{text}-]"),
            Style::Colour => format!("{RED}{text}{RESET}"),
        }
    }

    fn added(self, text: &str) -> String {
        match self {
            Style::Plain => format!("{{+{text}+}}"),
            Style::Colour => format!("{GREEN}{text}{RESET}"),
        }
    }
}

/// One paragraph of the diff: indices into the old and the new paragraph lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Unchanged; the index is the new paragraph's.
    Same(usize),
    Added(usize),
    Removed(usize),
    Changed(usize, usize),
}

/// Two versions, normalised and diffed, from which both [`compare`] and [`render_diff`] read.
struct VersionDiff<'a> {
    title: WordDiff<'a>,
    authors: WordDiff<'static>,
    old_authors: Vec<String>,
    new_authors: Vec<String>,
    old_paragraphs: Vec<String>,
    new_paragraphs: Vec<String>,
    blocks: Vec<Block>,
}

impl<'a> VersionDiff<'a> {
    fn new(old: &VersionText<'a>, new: &VersionText<'a>) -> VersionDiff<'a> {
        let old_authors = normalised_authors(old.authors);
        let new_authors = normalised_authors(new.authors);
        let (old_paragraphs, old_keys) = comparable_paragraphs(old.text);
        let (new_paragraphs, new_keys) = comparable_paragraphs(new.text);
        let blocks = paragraph_blocks(&old_keys, &new_keys);
        VersionDiff {
            title: WordDiff::new(
                Words::new(old.title.unwrap_or("").trim()),
                Words::new(new.title.unwrap_or("").trim()),
            ),
            authors: WordDiff::new(Words::list(&old_authors), Words::list(&new_authors)),
            old_authors,
            new_authors,
            old_paragraphs,
            new_paragraphs,
            blocks,
        }
    }

    /// Whitespace is not an edit (as for the version hash); a word, a mark or a letter's case is.
    fn title_changed(&self) -> bool {
        self.title.old.tokens() != self.title.new.tokens()
    }

    /// A byline reordered is not an edit (as for the version hash).
    fn authors_changed(&self) -> bool {
        let sorted = |authors: &[String]| {
            let mut authors = authors.to_vec();
            authors.sort_by_cached_key(|a| (a.to_lowercase(), a.clone()));
            authors
        };
        sorted(&self.old_authors) != sorted(&self.new_authors)
    }

    fn paragraph_lines(&self, style: Style) -> Vec<String> {
        let is_change = |k: usize| self.blocks.get(k).is_some_and(|b| !matches!(b, Block::Same(_)));
        if !(0..self.blocks.len()).any(is_change) {
            return Vec::new();
        }
        let mut lines = Vec::new();
        let mut skipped = false;
        for (k, block) in self.blocks.iter().enumerate() {
            let line = match *block {
                Block::Same(j) => {
                    let next_to_change = is_change(k + 1) || (k > 0 && is_change(k - 1));
                    if !next_to_change {
                        skipped = true;
                        continue;
                    }
                    format!("  {}", self.new_paragraphs[j])
                }
                Block::Added(j) => match style {
                    Style::Plain => format!("+ {}", self.new_paragraphs[j]),
                    Style::Colour => format!("{GREEN}+ {}{RESET}", self.new_paragraphs[j]),
                },
                Block::Removed(i) => match style {
                    Style::Plain => format!("- {}", self.old_paragraphs[i]),
                    Style::Colour => format!("{RED}- {}{RESET}", self.old_paragraphs[i]),
                },
                Block::Changed(i, j) => {
                    let words = WordDiff::new(
                        Words::new(&self.old_paragraphs[i]),
                        Words::new(&self.new_paragraphs[j]),
                    );
                    format!("~ {}", words.render(style))
                }
            };
            if skipped {
                lines.push("  …".to_string());
                skipped = false;
            }
            lines.push(line);
        }
        if skipped {
            lines.push("  …".to_string());
        }
        lines
    }
}

/// The paragraphs of a text as shown, and as compared: datelines left out, live times masked
/// ([`newspipe_models::version::comparable`]), so that a diff shows no change the version hash ignores.
fn comparable_paragraphs(text: &str) -> (Vec<String>, Vec<String>) {
    newspipe_models::version::paragraphs(text)
        .into_iter()
        .filter_map(|p| {
            let key = newspipe_models::version::comparable(&p)?;
            Some((p, key))
        })
        .unzip()
}

/// Authors with whitespace collapsed and empty ones dropped, in their byline order.
fn normalised_authors(authors: &[String]) -> Vec<String> {
    authors
        .iter()
        .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|a| !a.is_empty())
        .collect()
}

/// Diffs the paragraph lists and, inside each run of differences, pairs old and new paragraphs that are
/// similar enough into changed ones.
fn paragraph_blocks(old: &[String], new: &[String]) -> Vec<Block> {
    let ops = similar::capture_diff_slices(Algorithm::Patience, old, new);
    let mut blocks = Vec::new();
    for hunk in hunks(&ops) {
        match hunk {
            Hunk::Same(_, new_range) => blocks.extend(new_range.map(Block::Same)),
            Hunk::Differ(old_range, new_range) => {
                pair_paragraphs(old, new, old_range, new_range, &mut blocks)
            }
        }
    }
    blocks
}

/// Pairs, in order, each old paragraph of a run of differences with the most similar new paragraph still
/// unpaired after the last pair, when it is similar enough; what stays unpaired is removed or added.
fn pair_paragraphs(
    old: &[String],
    new: &[String],
    old_range: Range<usize>,
    new_range: Range<usize>,
    blocks: &mut Vec<Block>,
) {
    let new_words: Vec<Words> = new[new_range.clone()].iter().map(|p| Words::new(p)).collect();
    let mut next_new = new_range.start;
    for i in old_range {
        let old_words = Words::new(&old[i]);
        let mut best: Option<(usize, f32)> = None;
        for j in next_new..new_range.end {
            let ratio = WordDiff::new(old_words.clone(), new_words[j - new_range.start].clone()).ratio();
            if ratio >= PAIRING_RATIO && best.is_none_or(|(_, best_ratio)| ratio > best_ratio) {
                best = Some((j, ratio));
            }
        }
        match best {
            Some((j, _)) => {
                blocks.extend((next_new..j).map(Block::Added));
                blocks.push(Block::Changed(i, j));
                next_new = j + 1;
            }
            None => blocks.push(Block::Removed(i)),
        }
    }
    blocks.extend((next_new..new_range.end).map(Block::Added));
}

/// A stretch of a diff: equal on both sides, or different (deletions, insertions or both, merged).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hunk {
    Same(Range<usize>, Range<usize>),
    Differ(Range<usize>, Range<usize>),
}

/// The diff's operations as alternating stretches, adjacent deletions and insertions merged into one
/// [`Hunk::Differ`] so that a run of changes is marked once, as `git diff --word-diff` does.
fn hunks(ops: &[DiffOp]) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    let mut pending: Option<(Range<usize>, Range<usize>)> = None;
    for op in ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            if let Some((old, new)) = pending.take() {
                hunks.push(Hunk::Differ(old, new));
            }
            hunks.push(Hunk::Same(old_range, new_range));
            continue;
        }
        pending = Some(match pending {
            None => (old_range, new_range),
            Some((old, new)) => (old.start..old_range.end, new.start..new_range.end),
        });
    }
    if let Some((old, new)) = pending {
        hunks.push(Hunk::Differ(old, new));
    }
    hunks
}

/// A text and the byte ranges of its tokens, so that a diff of the tokens can be shown with the text
/// between them (whitespace, or the ", " of a byline) as it was.
#[derive(Debug, Clone)]
struct Words<'a> {
    text: std::borrow::Cow<'a, str>,
    spans: Vec<Range<usize>>,
}

impl<'a> Words<'a> {
    /// The words of a text: its runs of non-whitespace.
    fn new(text: &'a str) -> Words<'a> {
        let mut spans = Vec::new();
        let mut start = None;
        for (at, c) in text.char_indices() {
            match (c.is_whitespace(), start) {
                (false, None) => start = Some(at),
                (true, Some(from)) => {
                    spans.push(from..at);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(from) = start {
            spans.push(from..text.len());
        }
        Words { text: text.into(), spans }
    }

    /// A list (a byline) as one text, each item one token: an author added is one change, not two words.
    fn list(items: &[String]) -> Words<'static> {
        let mut text = String::new();
        let mut spans = Vec::new();
        for item in items {
            if !text.is_empty() {
                text.push_str(", ");
            }
            spans.push(text.len()..text.len() + item.len());
            text.push_str(item);
        }
        Words { text: text.into(), spans }
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn tokens(&self) -> Vec<&str> {
        self.spans.iter().map(|span| &self.text[span.clone()]).collect()
    }

    /// The text of tokens `range` (not empty) and what lies between them.
    fn run(&self, range: Range<usize>) -> &str {
        &self.text[self.spans[range.start].start..self.spans[range.end - 1].end]
    }

    /// The text between token `k - 1` (or the start) and token `k` (or the end).
    fn gap_before(&self, k: usize) -> &str {
        let from = if k == 0 { 0 } else { self.spans[k - 1].end };
        let to = self.spans.get(k).map_or(self.text.len(), |span| span.start);
        &self.text[from..to]
    }
}

/// A token-level diff of two texts.
struct WordDiff<'a> {
    old: Words<'a>,
    new: Words<'a>,
    ops: Vec<DiffOp>,
}

impl<'a> WordDiff<'a> {
    fn new(old: Words<'a>, new: Words<'a>) -> WordDiff<'a> {
        let ops = similar::capture_diff_slices(Algorithm::Myers, &old.tokens(), &new.tokens());
        WordDiff { old, new, ops }
    }

    /// How much of the two texts is the same words, from 0 to 1.
    fn ratio(&self) -> f32 {
        similar::get_diff_ratio(&self.ops, self.old.len(), self.new.len())
    }

    /// Tokens inserted and deleted.
    fn word_counts(&self) -> (usize, usize) {
        self.ops.iter().fold((0, 0), |(added, removed), op| match op.tag() {
            DiffTag::Equal => (added, removed),
            _ => (added + op.new_range().len(), removed + op.old_range().len()),
        })
    }

    /// The new text with the changes marked, each run of deletions and of insertions as one span, and the
    /// text between tokens kept: from the new text, or from the old one around what only it had.
    fn render(&self, style: Style) -> String {
        let mut out = String::new();
        for hunk in hunks(&self.ops) {
            match hunk {
                Hunk::Same(_, new) => {
                    out.push_str(self.new.gap_before(new.start));
                    out.push_str(self.new.run(new));
                }
                Hunk::Differ(old, new) if new.is_empty() => {
                    out.push_str(self.old.gap_before(old.start));
                    out.push_str(&style.removed(self.old.run(old.clone())));
                    // Deleted at the very start: the old gap after it separates it from what follows
                    // (an equal run brings only the new text's gap before it, which is empty there).
                    if old.start == 0 && old.end < self.old.len() {
                        out.push_str(self.old.gap_before(old.end));
                    }
                }
                Hunk::Differ(old, new) => {
                    out.push_str(self.new.gap_before(new.start));
                    if !old.is_empty() {
                        out.push_str(&style.removed(self.old.run(old)));
                    }
                    out.push_str(&style.added(self.new.run(new)));
                }
            }
        }
        if !self.new.spans.is_empty() {
            out.push_str(self.new.gap_before(self.new.len()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version<'a>(title: &'a str, authors: &'a [String], text: &'a str) -> VersionText<'a> {
        VersionText { title: Some(title), authors, text }
    }

    fn ana() -> Vec<String> {
        vec!["Ana Lima".to_string()]
    }

    const BODY: &str = "The mayor resigned on Tuesday.\n\nThe council meets today.\n\nA vote is expected.";

    #[test]
    fn a_rewritten_title_alone_is_title_changed_and_marked_in_the_diff() {
        let authors = ana();
        let old = version("Mayor resigns", &authors, BODY);
        let new = version("Mayor resigns amid inquiry", &authors, BODY);
        let change = compare(&old, &new);
        assert_eq!(change, Change { title_changed: true, words_added: 2, ..Change::default() });
        assert_eq!(change.summary(), "title changed");
        assert_eq!(render_diff(&old, &new, false), "title: Mayor resigns {+amid inquiry+}\n");

        let replaced = version("Mayor quits", &authors, BODY);
        assert_eq!(render_diff(&old, &replaced, false), "title: Mayor [-resigns-]{+quits+}\n");
        assert_eq!(compare(&old, &replaced).summary(), "title changed");
    }

    #[test]
    fn a_paragraph_added_in_the_middle_is_one_added_with_context_around_it() {
        let authors = ana();
        let old = version("T", &authors, BODY);
        let new = version(
            "T",
            &authors,
            "The mayor resigned on Tuesday.\n\nShe gave no reason.\n\nThe council meets today.\n\nA vote is expected.",
        );
        let change = compare(&old, &new);
        assert_eq!(change, Change { paragraphs_added: 1, words_added: 4, ..Change::default() });
        assert_eq!(change.summary(), "1 paragraph added");
        assert_eq!(
            render_diff(&old, &new, false),
            "  The mayor resigned on Tuesday.\n+ She gave no reason.\n  The council meets today.\n  …\n"
        );
    }

    #[test]
    fn a_paragraph_removed_is_one_removed_and_its_words_counted() {
        let authors = ana();
        let old = version("T", &authors, BODY);
        let new = version("T", &authors, "The mayor resigned on Tuesday.\n\nA vote is expected.");
        let change = compare(&old, &new);
        assert_eq!(change, Change { paragraphs_removed: 1, words_removed: 4, ..Change::default() });
        assert_eq!(change.summary(), "1 paragraph removed");
        assert_eq!(
            render_diff(&old, &new, false),
            "  The mayor resigned on Tuesday.\n- The council meets today.\n  A vote is expected.\n"
        );
    }

    #[test]
    fn a_paragraph_appended_is_one_added_and_its_words_counted() {
        let authors = ana();
        let old = version("T", &authors, BODY);
        let text = format!("{BODY}\n\nMore follows.");
        let new = version("T", &authors, &text);
        let change = compare(&old, &new);
        assert_eq!(change, Change { paragraphs_added: 1, words_added: 2, ..Change::default() });
        assert_eq!(render_diff(&old, &new, false), "  …\n  A vote is expected.\n+ More follows.\n");
    }

    #[test]
    fn a_correction_note_appended_is_flagged_and_ends_the_summary() {
        let authors = ana();
        let old = version("T", &authors, BODY);
        let text = format!("{BODY}\n\nCorrection: an earlier version of this article misspelled her name.");
        let new = version("T", &authors, &text);
        let change = compare(&old, &new);
        assert!(change.correction);
        assert_eq!(change.summary(), "1 paragraph added; a correction note");
        assert!(change.summary().ends_with("a correction note"));

        let text = format!("{BODY}\n\nEditor\u{2019}s Note: names were changed.");
        let typographic = version("T", &authors, &text);
        assert!(compare(&old, &typographic).correction);
        let text = format!("{BODY}\n\nThe count continues.");
        let ordinary = version("T", &authors, &text);
        assert!(!compare(&old, &ordinary).correction);
    }

    #[test]
    fn one_word_changed_in_a_paragraph_is_a_changed_line_with_one_word_each_way() {
        let authors = ana();
        let old = version("T", &authors, BODY);
        let new = version(
            "T",
            &authors,
            "The mayor resigned on Wednesday.\n\nThe council meets today.\n\nA vote is expected.",
        );
        let change = compare(&old, &new);
        assert_eq!(
            change,
            Change { paragraphs_changed: 1, words_added: 1, words_removed: 1, ..Change::default() }
        );
        assert_eq!(change.summary(), "1 paragraph changed");
        assert_eq!(
            render_diff(&old, &new, false),
            "~ The mayor resigned on [-Tuesday.-]{+Wednesday.+}\n  The council meets today.\n  …\n"
        );
    }

    #[test]
    fn adjacent_changed_words_are_one_span_each_way() {
        let authors = ana();
        let old = version("T", &authors, "The quick brown fox jumps over the dog.");
        let new = version("T", &authors, "The slow red fox jumps over the dog.");
        assert_eq!(
            render_diff(&old, &new, false),
            "~ The [-quick brown-]{+slow red+} fox jumps over the dog.\n"
        );
        let change = compare(&old, &new);
        assert_eq!((change.words_added, change.words_removed), (2, 2));

        let first_word_gone = version("T", &authors, "quick brown fox jumps over the dog.");
        let no_first = version("T", &authors, "brown fox jumps over the dog.");
        assert_eq!(
            render_diff(&first_word_gone, &no_first, false),
            "~ [-quick-] brown fox jumps over the dog.\n"
        );
    }

    #[test]
    fn a_changed_dateline_or_live_time_is_no_visible_change_as_for_the_version_hash() {
        let authors = vec!["Ana Lima".to_string()];
        let old =
            version("T", &authors, "Updated 09:15 GMT\n\nThe count stood at 14:02, 5 mins ago.\n\nMore.");
        let new =
            version("T", &authors, "Last updated just now\n\nThe count stood at 16:40, just now.\n\nMore.");
        assert_eq!(compare(&old, &new), Change::default());
        assert_eq!(render_diff(&old, &new, false), "");
        // A dateline appearing is no paragraph added either.
        let bare = version("T", &authors, "The count stood at 14:02, 5 mins ago.\n\nMore.");
        assert_eq!(compare(&bare, &new).summary(), "no visible change");
    }

    #[test]
    fn identical_versions_are_no_visible_change_and_an_empty_diff() {
        let authors = ana();
        let old = version("T", &authors, BODY);
        let relaid = version(
            " T ",
            &authors,
            "The mayor  resigned on\nTuesday.\n\n\n\nThe council meets today.\n\nA vote is expected.\n",
        );
        let change = compare(&old, &relaid);
        assert_eq!(change, Change::default());
        assert_eq!(change.summary(), "no visible change");
        assert_eq!(render_diff(&old, &relaid, false), "");
        assert_eq!(render_diff(&old, &old, true), "");
    }

    #[test]
    fn colour_output_uses_ansi_escapes_and_no_markers() {
        let authors = ana();
        let old = version("Mayor resigns", &authors, BODY);
        let new = version(
            "Mayor quits",
            &authors,
            "The mayor resigned on Wednesday.\n\nThe council meets today.\n\nMore follows.",
        );
        let diff = render_diff(&old, &new, true);
        assert!(diff.contains("\x1b["));
        assert!(!diff.contains("[-") && !diff.contains("{+"));
        assert_eq!(
            diff,
            concat!(
                "title: Mayor \x1b[31mresigns\x1b[0m\x1b[32mquits\x1b[0m\n",
                "~ The mayor resigned on \x1b[31mTuesday.\x1b[0m\x1b[32mWednesday.\x1b[0m\n",
                "  The council meets today.\n",
                "\x1b[31m- A vote is expected.\x1b[0m\n",
                "\x1b[32m+ More follows.\x1b[0m\n",
            )
        );
    }

    #[test]
    fn an_author_added_is_authors_changed_but_a_reordered_byline_is_not() {
        let one = ana();
        let two = vec!["Ana Lima".to_string(), "Bo Chen".to_string()];
        let reordered = vec!["Bo Chen".to_string(), " Ana  Lima".to_string()];
        let old = version("T", &one, BODY);
        let new = version("T", &two, BODY);
        let change = compare(&old, &new);
        assert_eq!(change, Change { authors_changed: true, ..Change::default() });
        assert_eq!(change.summary(), "authors changed");
        assert_eq!(render_diff(&old, &new, false), "authors: Ana Lima, {+Bo Chen+}\n");
        assert_eq!(render_diff(&new, &old, false), "authors: Ana Lima, [-Bo Chen-]\n");

        let reordered_version = version("T", &reordered, BODY);
        assert_eq!(compare(&new, &reordered_version), Change::default());
        assert_eq!(render_diff(&new, &reordered_version, false), "");
    }

    #[test]
    fn summaries_say_paragraph_or_paragraphs_and_name_the_noun_once() {
        let change = Change {
            title_changed: true,
            paragraphs_added: 3,
            paragraphs_removed: 1,
            paragraphs_changed: 2,
            correction: true,
            ..Change::default()
        };
        assert_eq!(
            change.summary(),
            "title changed; 3 paragraphs added; 1 removed; 2 changed; a correction note"
        );
        let one = Change { paragraphs_added: 1, paragraphs_removed: 2, ..Change::default() };
        assert_eq!(one.summary(), "1 paragraph added; 2 removed");
        let removed = Change { paragraphs_removed: 2, ..Change::default() };
        assert_eq!(removed.summary(), "2 paragraphs removed");
        let both = Change { title_changed: true, authors_changed: true, ..Change::default() };
        assert_eq!(both.summary(), "title changed; authors changed");
        assert_eq!(Change::first_summary(), "first version");
        assert_eq!(Change::default().summary(), "no visible change");
    }

    #[test]
    fn a_rewritten_paragraph_is_a_removal_and_an_addition_not_a_change() {
        let authors = ana();
        let old = version("T", &authors, "One.\n\nThe mayor resigned on Tuesday.\n\nThree.");
        let new = version("T", &authors, "One.\n\nPolice have opened an inquiry into the deal.\n\nThree.");
        let change = compare(&old, &new);
        assert_eq!(
            change,
            Change {
                paragraphs_added: 1,
                paragraphs_removed: 1,
                words_added: 8,
                words_removed: 5,
                ..Change::default()
            }
        );
        assert_eq!(change.summary(), "1 paragraph added; 1 removed");
        assert_eq!(
            render_diff(&old, &new, false),
            "  One.\n- The mayor resigned on Tuesday.\n+ Police have opened an inquiry into the deal.\n  Three.\n"
        );
    }

    #[test]
    fn context_is_one_paragraph_each_side_with_elisions_between_changes() {
        let authors = ana();
        let old = version("T", &authors, "A.\n\nB.\n\nC.\n\nD.\n\nE.\n\nF.\n\nG.");
        let new = version("T", &authors, "A.\n\nC.\n\nD.\n\nE.\n\nF.\n\nG.\n\nH.");
        let change = compare(&old, &new);
        assert_eq!(change.summary(), "1 paragraph added; 1 removed");
        assert_eq!(render_diff(&old, &new, false), "  A.\n- B.\n  C.\n  …\n  G.\n+ H.\n");
    }
}
