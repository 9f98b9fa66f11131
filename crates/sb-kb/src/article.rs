//! Articles as the caller hands them in, and their chunks: an article's Markdown body is cut at
//! its headings, so a search result can point at the passage that answers, under its heading,
//! rather than at a whole page.
//!
//! Chunking is pure and deterministic: the same article always gives the same chunks, which is
//! what lets an index built on one replica be compared with (or rebuilt from) the database.

use std::fmt;
use std::str::FromStr;

use sb_domain::Intent;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Chunks hold at most about this many words; longer sections are split at paragraph
/// boundaries (or, for one huge paragraph, at sentence ends). MiniLM reads 256 word pieces, so
/// about 180 words is what it sees of a chunk at most; smaller passages also make a quoted
/// answer short enough for a chat reply.
pub const MAX_CHUNK_WORDS: usize = 160;

/// Publication state. Only [`ArticleStatus::Published`] articles are searchable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    Published,
    Archived,
}

impl ArticleStatus {
    pub const ALL: [ArticleStatus; 3] = [ArticleStatus::Draft, ArticleStatus::Published, ArticleStatus::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
            ArticleStatus::Archived => "archived",
        }
    }
}

impl fmt::Display for ArticleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArticleStatus {
    type Err = String;
    fn from_str(label: &str) -> Result<ArticleStatus, String> {
        ArticleStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(label.trim()))
            .ok_or_else(|| format!("unknown status `{label}` (expected draft, published or archived)"))
    }
}

/// One knowledge-base article, as stored by the caller (database row or Markdown file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Stable identifier, e.g. `returns-window`: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// Increases on every edit; results and decision records cite it.
    pub version: u32,
    pub title: String,
    /// Markdown. `#` headings cut it into chunks.
    pub body: String,
    pub tags: Vec<String>,
    /// The intent this article answers, when it is specific to one.
    pub intent: Option<Intent>,
    /// ISO 639-1 code of the text (`en`, `de`, ...); picks the stemmer.
    pub language: String,
    pub status: ArticleStatus,
}

impl Article {
    /// Checks what indexing relies on: a usable id and a language code.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| Error::InvalidArticle { article_id: self.id.clone(), reason: reason.to_string() };
        if !is_valid_article_id(&self.id) {
            return Err(invalid("ids are 1 to 100 characters of a-z, 0-9, `-` and `_`"));
        }
        if self.title.trim().is_empty() {
            return Err(invalid("the title is empty"));
        }
        let is_language_code = self.language.len() == 2 && self.language.bytes().all(|byte| byte.is_ascii_lowercase());
        if !is_language_code {
            return Err(invalid("the language must be an ISO 639-1 code such as `en`"));
        }
        Ok(())
    }

    pub fn is_searchable(&self) -> bool {
        self.status == ArticleStatus::Published
    }
}

/// Ids appear in URLs, file names and index terms: keep them to a boring alphabet.
pub fn is_valid_article_id(id: &str) -> bool {
    (1..=100).contains(&id.len()) && id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_')
}

/// A searchable passage of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub article_id: String,
    pub article_version: u32,
    /// Position in the article, from 0.
    pub chunk_idx: u32,
    /// Headings above the passage, outermost first; empty for text before the first heading.
    /// An H1 that repeats the article title is left out.
    pub heading_path: Vec<String>,
    /// The passage as plain text (Markdown emphasis, links and list markers removed).
    pub text: String,
    pub language: String,
}

impl Chunk {
    /// Headings joined for display: `Returns › Shoes`.
    pub fn heading(&self) -> String {
        self.heading_path.join(" › ")
    }
}

/// Cuts an article into chunks at its headings (see [`MAX_CHUNK_WORDS`] for long sections).
/// Sections with no text (a heading directly followed by a sub-heading) give no chunk; an
/// article with no text at all gives one chunk holding its title, so it can still be found.
pub fn chunk_article(article: &Article) -> Vec<Chunk> {
    let mut sections: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut heading_stack: Vec<(usize, String)> = Vec::new();
    let mut paragraphs: Vec<String> = Vec::new();
    let mut paragraph = String::new();
    let mut in_code_fence = false;

    let flush_paragraph = |paragraph: &mut String, paragraphs: &mut Vec<String>| {
        if !paragraph.trim().is_empty() {
            paragraphs.push(std::mem::take(paragraph).trim().to_string());
        }
        paragraph.clear();
    };

    for line in article.body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code_fence = !in_code_fence;
            continue;
        }
        if !in_code_fence {
            if let Some((level, heading)) = parse_heading(trimmed) {
                flush_paragraph(&mut paragraph, &mut paragraphs);
                let path: Vec<String> = heading_stack.iter().map(|(_, text)| text.clone()).collect();
                sections.push((path, std::mem::take(&mut paragraphs)));
                heading_stack.retain(|(stack_level, _)| *stack_level < level);
                let repeats_title = level == 1 && heading.eq_ignore_ascii_case(article.title.trim());
                if !repeats_title {
                    heading_stack.push((level, heading));
                }
                continue;
            }
        }
        if trimmed.is_empty() {
            flush_paragraph(&mut paragraph, &mut paragraphs);
            continue;
        }
        let plain_line = if in_code_fence { trimmed.to_string() } else { markdown_line_to_text(trimmed) };
        // A list item is a paragraph of its own: items are often separate answers.
        let is_list_item = !in_code_fence && plain_line.len() != trimmed.len() && is_list_marker(trimmed);
        if is_list_item {
            flush_paragraph(&mut paragraph, &mut paragraphs);
        }
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        paragraph.push_str(&plain_line);
    }
    flush_paragraph(&mut paragraph, &mut paragraphs);
    let path: Vec<String> = heading_stack.iter().map(|(_, text)| text.clone()).collect();
    sections.push((path, paragraphs));

    let mut chunks = Vec::new();
    for (heading_path, section_paragraphs) in sections {
        for text in pack_paragraphs(&section_paragraphs, MAX_CHUNK_WORDS) {
            chunks.push(Chunk {
                article_id: article.id.clone(),
                article_version: article.version,
                chunk_idx: chunks.len() as u32,
                heading_path: heading_path.clone(),
                text,
                language: article.language.clone(),
            });
        }
    }
    if chunks.is_empty() {
        chunks.push(Chunk {
            article_id: article.id.clone(),
            article_version: article.version,
            chunk_idx: 0,
            heading_path: Vec::new(),
            text: article.title.trim().to_string(),
            language: article.language.clone(),
        });
    }
    chunks
}

/// `## Shipping costs` → `(2, "Shipping costs")`; a `#` not followed by a space is text
/// (`#A10493` is an order number).
fn parse_heading(line: &str) -> Option<(usize, String)> {
    let level = line.bytes().take_while(|byte| *byte == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let heading = rest.trim().trim_end_matches('#').trim();
    (!heading.is_empty()).then(|| (level, markdown_line_to_text(heading)))
}

fn is_list_marker(line: &str) -> bool {
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("+ ") {
        return true;
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

/// Plain text of one Markdown line: list markers, block quotes, emphasis and link targets go;
/// link text stays. Only what our articles use is handled; anything else passes through.
fn markdown_line_to_text(line: &str) -> String {
    let mut rest = line.trim_start_matches('>').trim_start();
    if is_list_marker(rest) {
        let marker_end = rest.find(' ').unwrap_or(0);
        rest = rest[marker_end..].trim_start();
    }
    let mut text = String::with_capacity(rest.len());
    let mut chars = rest.char_indices().peekable();
    while let Some((byte_idx, character)) = chars.next() {
        match character {
            '*' | '_' if is_emphasis_marker(rest, byte_idx) => {}
            '`' => {}
            '[' => {
                // `[text](target)` → `text`; a bracket that is not a link stays.
                if let Some(link) = parse_link(&rest[byte_idx..]) {
                    text.push_str(link.text);
                    let skip_to = byte_idx + link.len;
                    while chars.peek().is_some_and(|(next_idx, _)| *next_idx < skip_to) {
                        chars.next();
                    }
                } else {
                    text.push('[');
                }
            }
            _ => text.push(character),
        }
    }
    text
}

/// `*` and `_` are emphasis unless they sit inside a word (`snake_case`, `2*3`).
fn is_emphasis_marker(line: &str, byte_idx: usize) -> bool {
    let before = line[..byte_idx].chars().next_back();
    let after = line[byte_idx + 1..].chars().next();
    let is_word = |character: Option<char>| character.is_some_and(char::is_alphanumeric);
    !(is_word(before) && is_word(after))
}

struct Link<'a> {
    text: &'a str,
    len: usize,
}

fn parse_link(text: &str) -> Option<Link<'_>> {
    let close_bracket = text.find("](")?;
    let close_paren = text[close_bracket..].find(')')? + close_bracket;
    Some(Link { text: &text[1..close_bracket], len: close_paren + 1 })
}

/// Groups paragraphs into passages of at most `max_words` words; a paragraph longer than that
/// is split at sentence ends.
fn pack_paragraphs(paragraphs: &[String], max_words: usize) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    for paragraph in paragraphs {
        if paragraph.split_whitespace().count() <= max_words {
            pieces.push(paragraph.clone());
        } else {
            pieces.extend(split_sentences(paragraph, max_words));
        }
    }
    let mut passages = Vec::new();
    let mut passage = String::new();
    let mut passage_words = 0;
    for piece in pieces {
        let piece_words = piece.split_whitespace().count();
        if passage_words > 0 && passage_words + piece_words > max_words {
            passages.push(std::mem::take(&mut passage));
            passage_words = 0;
        }
        if !passage.is_empty() {
            passage.push('\n');
        }
        passage.push_str(&piece);
        passage_words += piece_words;
    }
    if !passage.is_empty() {
        passages.push(passage);
    }
    passages
}

fn split_sentences(paragraph: &str, max_words: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut piece_words = 0;
    for word in paragraph.split_whitespace() {
        if !piece.is_empty() {
            piece.push(' ');
        }
        piece.push_str(word);
        piece_words += 1;
        let ends_sentence = word.ends_with(['.', '!', '?']);
        if piece_words >= max_words || (ends_sentence && piece_words >= max_words / 2) {
            pieces.push(std::mem::take(&mut piece));
            piece_words = 0;
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn article(body: &str) -> Article {
        Article {
            id: "returns-window".into(),
            version: 3,
            title: "Returning an item".into(),
            body: body.into(),
            tags: vec![],
            intent: None,
            language: "en".into(),
            status: ArticleStatus::Published,
        }
    }

    fn check(body: &str, expect: Expect) {
        let rendered: Vec<String> = chunk_article(&article(body))
            .iter()
            .map(|chunk| format!("{} [{}] {}", chunk.chunk_idx, chunk.heading(), chunk.text.replace('\n', " / ")))
            .collect();
        expect.assert_eq(&rendered.join("\n"));
    }

    #[test]
    fn chunks_follow_headings() {
        check(
            "# Returning an item\n\nYou have **30 days**.\n\n## Shoes\nUnworn, in the [box](https://x.example/box).\n\n### Outlet shoes\nFinal sale.\n\n## Electronics\n- sealed: 30 days\n- opened: 14 days\n",
            expect![[r#"
                0 [] You have 30 days.
                1 [Shoes] Unworn, in the box.
                2 [Shoes › Outlet shoes] Final sale.
                3 [Electronics] sealed: 30 days / opened: 14 days"#]],
        );
    }

    #[test]
    fn empty_sections_and_non_headings() {
        check(
            "## Orders\n### Where is #A10493?\nsnake_case and 2*3 stay; _this_ goes.\n```\n# not a heading\n```\n",
            expect!["0 [Orders › Where is #A10493?] snake_case and 2*3 stay; this goes. # not a heading"],
        );
        check("", expect![[r#"0 [] Returning an item"#]]);
    }

    #[test]
    fn long_sections_are_split_under_the_limit() {
        let sentence = "This sentence has exactly eight words in it. ";
        let body = format!("## Long\n{}", sentence.repeat(60));
        let chunks = chunk_article(&article(&body));
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        for chunk in &chunks {
            let n_words = chunk.text.split_whitespace().count();
            assert!(n_words <= MAX_CHUNK_WORDS, "{n_words} words");
            assert_eq!(chunk.heading_path, vec!["Long".to_string()]);
        }
        let total_words: usize = chunks.iter().map(|chunk| chunk.text.split_whitespace().count()).sum();
        assert_eq!(total_words, 480);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut bad = article("x");
        bad.id = "Returns Window".into();
        assert!(bad.validate().unwrap_err().to_string().contains("ids are"));
        let mut bad = article("x");
        bad.language = "english".into();
        assert!(bad.validate().unwrap_err().to_string().contains("ISO 639-1"));
        assert!(article("x").validate().is_ok());
    }
}
