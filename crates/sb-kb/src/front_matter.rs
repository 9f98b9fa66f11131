//! Markdown files with front matter: what `kb import DIR` reads and `kb export` writes.
//!
//! The front matter is a strict, documented subset of YAML, parsed here rather than with a YAML
//! crate: articles need seven flat keys, and a strict parser gives line-numbered errors for
//! typos (`stauts:`) that a general YAML parser would accept as an unknown key.
//!
//! ```text
//! ---
//! id: returns-window            # optional; defaults to the file name without `.md`
//! title: Returning an item      # required
//! version: 3                    # optional, default 1
//! language: en                  # optional, default en
//! status: published             # draft | published | archived, default published
//! intent: policy_info           # optional; one of the taxonomy's intents
//! tags: [returns, refunds]      # optional; a flow list
//! ---
//! Markdown body…
//! ```
//!
//! Rules: one `key: value` per line; blank lines and lines starting with `#` are ignored; a value
//! is either bare text (to the end of the line, trimmed; ` #` starts a comment) or a
//! double-quoted string with `\"` and `\\` escapes; list items follow the same rule. Unknown
//! and repeated keys are errors. [`to_markdown`] writes this format back so that
//! `from_markdown(to_markdown(a)) == a`.

use sb_domain::Intent;

use crate::article::{is_valid_article_id, Article, ArticleStatus};
use crate::{Error, Result};

const DELIMITER: &str = "---";

/// Parses a Markdown file with front matter. `source_name` names the file in errors, and its
/// stem (without directories and `.md`) is the id when the front matter has none.
pub fn from_markdown(source_name: &str, text: &str) -> Result<Article> {
    let error = |line: usize, reason: String| Error::FrontMatter { source_name: source_name.to_string(), line, reason };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first_line = lines.next().unwrap_or_default();
    if first_line.trim_end() != DELIMITER {
        return Err(error(1, "the file must start with a `---` line".into()));
    }

    let mut id: Option<String> = None;
    let mut title: Option<String> = None;
    let mut version: Option<u32> = None;
    let mut language: Option<String> = None;
    let mut status: Option<ArticleStatus> = None;
    let mut intent: Option<Intent> = None;
    let mut tags: Option<Vec<String>> = None;

    let mut line_no = 1;
    let mut closed = false;
    let mut body_offset = first_line.len();
    for line in lines.by_ref() {
        line_no += 1;
        body_offset += line.len();
        let content = line.trim();
        if content == DELIMITER {
            closed = true;
            break;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let Some((key, raw_value)) = content.split_once(':') else {
            return Err(error(line_no, format!("expected `key: value`, found `{content}`")));
        };
        let key = key.trim();
        let raw_value = raw_value.trim();
        let parse_scalar = |raw: &str| parse_scalar(raw).map_err(|reason| error(line_no, format!("{key}: {reason}")));
        let repeated = || error(line_no, format!("`{key}` appears twice"));
        match key {
            "id" => {
                let value = parse_scalar(raw_value)?;
                if !is_valid_article_id(&value) {
                    return Err(error(line_no, format!("id `{value}` must be 1 to 100 characters of a-z, 0-9, `-` and `_`")));
                }
                if id.replace(value).is_some() {
                    return Err(repeated());
                }
            }
            "title" => {
                if title.replace(parse_scalar(raw_value)?).is_some() {
                    return Err(repeated());
                }
            }
            "version" => {
                let value = parse_scalar(raw_value)?;
                let parsed = value.parse::<u32>().ok().filter(|number| *number >= 1).ok_or_else(|| error(line_no, format!("version `{value}` is not a whole number from 1")))?;
                if version.replace(parsed).is_some() {
                    return Err(repeated());
                }
            }
            "language" => {
                let value = parse_scalar(raw_value)?.to_ascii_lowercase();
                if value.len() != 2 || !value.bytes().all(|byte| byte.is_ascii_lowercase()) {
                    return Err(error(line_no, format!("language `{value}` is not an ISO 639-1 code such as `en`")));
                }
                if language.replace(value).is_some() {
                    return Err(repeated());
                }
            }
            "status" => {
                let parsed = parse_scalar(raw_value)?.parse::<ArticleStatus>().map_err(|reason| error(line_no, reason))?;
                if status.replace(parsed).is_some() {
                    return Err(repeated());
                }
            }
            "intent" => {
                let parsed = parse_scalar(raw_value)?.parse::<Intent>().map_err(|unknown| error(line_no, unknown.to_string()))?;
                if intent.replace(parsed).is_some() {
                    return Err(repeated());
                }
            }
            "tags" => {
                let parsed = parse_list(raw_value).map_err(|reason| error(line_no, format!("tags: {reason}")))?;
                if tags.replace(parsed).is_some() {
                    return Err(repeated());
                }
            }
            _ => return Err(error(line_no, format!("unknown key `{key}` (known: id, title, version, language, status, intent, tags)"))),
        }
    }
    if !closed {
        return Err(error(line_no, "the front matter has no closing `---` line".into()));
    }
    let title = title.filter(|title| !title.trim().is_empty()).ok_or_else(|| error(1, "`title` is required".into()))?;
    let id = match id {
        Some(id) => id,
        None => {
            let file_name = source_name.rsplit(['/', '\\']).next().unwrap_or(source_name);
            let stem = file_name.strip_suffix(".md").unwrap_or(file_name).to_string();
            if !is_valid_article_id(&stem) {
                return Err(error(1, format!("no `id`, and the file name `{stem}` is not a valid id")));
            }
            stem
        }
    };
    // The blank line `to_markdown` writes after the front matter is layout, not body.
    let body = text[body_offset.min(text.len())..].strip_prefix('\n').unwrap_or(&text[body_offset.min(text.len())..]);
    Ok(Article {
        id,
        version: version.unwrap_or(1),
        title,
        body: body.to_string(),
        tags: tags.unwrap_or_default(),
        intent,
        language: language.unwrap_or_else(|| "en".into()),
        status: status.unwrap_or(ArticleStatus::Published),
    })
}

/// Writes an article in the format [`from_markdown`] reads; keys always in the same order.
pub fn to_markdown(article: &Article) -> String {
    let mut text = String::with_capacity(article.body.len() + 200);
    text.push_str("---\n");
    text.push_str(&format!("id: {}\n", article.id));
    text.push_str(&format!("title: {}\n", format_scalar(&article.title)));
    text.push_str(&format!("version: {}\n", article.version));
    text.push_str(&format!("language: {}\n", article.language));
    text.push_str(&format!("status: {}\n", article.status));
    if let Some(intent) = article.intent {
        text.push_str(&format!("intent: {intent}\n"));
    }
    if !article.tags.is_empty() {
        let items: Vec<String> = article.tags.iter().map(|tag| format_list_item(tag)).collect();
        text.push_str(&format!("tags: [{}]\n", items.join(", ")));
    }
    text.push_str("---\n\n");
    text.push_str(&article.body);
    text
}

fn parse_scalar(raw: &str) -> Result<String, String> {
    if let Some(quoted) = raw.strip_prefix('"') {
        let (value, rest) = parse_quoted(quoted)?;
        let rest = rest.trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err(format!("unexpected `{rest}` after the closing quote"));
        }
        return Ok(value);
    }
    let value = match raw.find(" #") {
        Some(comment_start) => &raw[..comment_start],
        None => raw,
    };
    Ok(value.trim().to_string())
}

/// Reads a double-quoted string whose opening quote is already consumed; returns the value and
/// what follows the closing quote.
fn parse_quoted(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((byte_idx, character)) = chars.next() {
        match character {
            '"' => return Ok((value, &text[byte_idx + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => value.push(escaped),
                Some((_, other)) => return Err(format!("unknown escape `\\{other}` (only \\\" and \\\\)")),
                None => break,
            },
            _ => value.push(character),
        }
    }
    Err("unterminated quoted string".into())
}

fn parse_list(raw: &str) -> Result<Vec<String>, String> {
    let inner = raw.strip_prefix('[').ok_or("expected a list like `[returns, refunds]`")?;
    let mut items = Vec::new();
    let mut rest = inner.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            let after = after.trim();
            if !after.is_empty() && !after.starts_with('#') {
                return Err(format!("unexpected `{after}` after the list"));
            }
            return Ok(items);
        }
        let (item, after_item) = if let Some(quoted) = rest.strip_prefix('"') {
            parse_quoted(quoted)?
        } else {
            let end = rest.find([',', ']']).ok_or("the list has no closing `]`")?;
            (rest[..end].trim().to_string(), &rest[end..])
        };
        if item.is_empty() {
            return Err("empty list item".into());
        }
        items.push(item);
        let after_item = after_item.trim_start();
        rest = match after_item.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if after_item.starts_with(']') => after_item,
            None => return Err("list items are separated by `,`".into()),
        };
    }
}

/// Bare when reading it back gives the same text, else quoted.
fn format_scalar(value: &str) -> String {
    let needs_quotes = value.is_empty() || value.trim() != value || value.starts_with(['"', '[', '#']) || value.contains(" #") || value.contains(['\n', '\r']);
    if needs_quotes {
        quote(value)
    } else {
        value.to_string()
    }
}

fn format_list_item(value: &str) -> String {
    let needs_quotes = value.trim() != value || value.starts_with('"') || value.contains([',', ']', '\n', '\r']);
    if needs_quotes {
        quote(value)
    } else {
        value.to_string()
    }
}

/// Newlines cannot be represented (a scalar is one line), so they become spaces: titles and
/// tags are one-line values everywhere else in the product too.
fn quote(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace(['\n', '\r'], " ");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check_error(text: &str, expect: Expect) {
        let error = from_markdown("kb/returns.md", text).unwrap_err();
        expect.assert_eq(&error.to_string());
    }

    #[test]
    fn parses_every_key() {
        let text = "---\n# a comment\nid: returns-window\ntitle: \"Returns: \\\"30 days\\\"\"\nversion: 4\nlanguage: DE\nstatus: draft\nintent: policy_info\ntags: [returns, \"a, b\", refunds]   # why\n---\n\n# Body\ntext\n";
        let article = from_markdown("x.md", text).unwrap();
        assert_eq!(article.id, "returns-window");
        assert_eq!(article.title, "Returns: \"30 days\"");
        assert_eq!(article.version, 4);
        assert_eq!(article.language, "de");
        assert_eq!(article.status, ArticleStatus::Draft);
        assert_eq!(article.intent, Some(Intent::PolicyInfo));
        assert_eq!(article.tags, vec!["returns", "a, b", "refunds"]);
        assert_eq!(article.body, "# Body\ntext\n");
    }

    #[test]
    fn defaults_and_id_from_file_name() {
        let article = from_markdown("data/kb/store-hours.md", "---\ntitle: Store hours\n---\nOpen daily.").unwrap();
        assert_eq!((article.id.as_str(), article.version, article.language.as_str(), article.status), ("store-hours", 1, "en", ArticleStatus::Published));
        assert_eq!(article.body, "Open daily.");
    }

    #[test]
    fn errors_name_file_line_and_problem() {
        check_error("title: x\n", expect![[r#"front matter of kb/returns.md, line 1: the file must start with a `---` line"#]]);
        check_error("---\ntitle: x\nstauts: draft\n---\n", expect![[r#"front matter of kb/returns.md, line 3: unknown key `stauts` (known: id, title, version, language, status, intent, tags)"#]]);
        check_error("---\ntitle: x\ntitle: y\n---\n", expect![[r#"front matter of kb/returns.md, line 3: `title` appears twice"#]]);
        check_error("---\ntitle: x\nstatus: live\n---\n", expect![[r#"front matter of kb/returns.md, line 3: unknown status `live` (expected draft, published or archived)"#]]);
        check_error("---\ntitle: x\nintent: refunds\n---\n", expect![[r#"front matter of kb/returns.md, line 3: unknown intent label `refunds`"#]]);
        check_error("---\ntitle: x\ntags: [a, b\n---\n", expect![[r#"front matter of kb/returns.md, line 3: tags: the list has no closing `]`"#]]);
        check_error("---\ntitle: \"x\n---\n", expect![[r#"front matter of kb/returns.md, line 2: title: unterminated quoted string"#]]);
        check_error("---\ntitle: x\nversion: 0\n---\n", expect![[r#"front matter of kb/returns.md, line 3: version `0` is not a whole number from 1"#]]);
        check_error("---\ntitle: x\n", expect![[r#"front matter of kb/returns.md, line 2: the front matter has no closing `---` line"#]]);
        check_error("---\nid: x\n---\n", expect![[r#"front matter of kb/returns.md, line 1: `title` is required"#]]);
    }

    #[test]
    fn export_round_trips() {
        let awkward_titles = ["Plain", " padded ", "#hash first", "has \"quotes\" and \\", "colon: inside", "[bracket", "a # comment-like"];
        for title in awkward_titles {
            let article = Article {
                id: "a-1".into(),
                version: 7,
                title: title.into(),
                body: "## Heading\n\nBody with --- inside.\n".into(),
                tags: vec!["plain".into(), "with, comma".into(), " spaced ".into(), "x]y".into()],
                intent: Some(Intent::StoreInfo),
                language: "fr".into(),
                status: ArticleStatus::Archived,
            };
            let text = to_markdown(&article);
            assert_eq!(from_markdown("a-1.md", &text).unwrap(), article, "{text}");
        }
    }
}
