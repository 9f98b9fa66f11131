//! The knowledge base's system of record: articles with their full version history, reply
//! templates (suggested replies per intent and canned responses by shortcut) and the summaries
//! written when tickets are resolved.
//!
//! Every saved change of an article is a new version: the article row holds the current one and
//! `kb_article_versions` keeps them all (append-only), so a decision record that cites "article 7,
//! version 3" can always show what the customer was told. Articles are archived, never deleted.
//! The search index (crate `sb-kb`) is derived from these rows and rebuilt from them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::audit::append_audit;
use crate::records::{json_text, string_enum, DbRow};
use crate::{from_ms, on_reader, on_writer, to_ms, Error, NewAuditEntry, Result, Store};

string_enum!(
    /// Whether an article is visible to customers and the automatic answers.
    ArticleStatus {
        /// Being written: agents see it, customers and automatic answers never do.
        Draft => "draft",
        Published => "published",
        /// Withdrawn; kept because decisions cite it.
        Archived => "archived",
    }
);

string_enum!(
    /// What a reply template is for.
    TemplateKind {
        /// Proposed to the agent for tickets of its intent and language.
        Suggested => "suggested",
        /// Picked by the agent through its shortcut.
        Canned => "canned",
    }
);

/// An article as written (by a person, or read from a Markdown file by `kb import`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewArticle {
    /// Stable name (the file name without `.md` on import/export): lower-case letters, digits,
    /// `-` and `_`.
    pub slug: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub tags: Vec<String>,
    /// The intent the article answers, when it answers one.
    pub intent: Option<String>,
    /// ISO 639-1 code.
    pub language: String,
    pub status: ArticleStatus,
    pub author: Option<String>,
}

/// The current version of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Article {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub intent: Option<String>,
    pub language: String,
    pub status: ArticleStatus,
    pub version: i64,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One saved version of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleVersion {
    pub article_id: i64,
    pub version: i64,
    pub slug: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub intent: Option<String>,
    pub language: String,
    pub status: ArticleStatus,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A change to an article; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleChange {
    pub title: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    /// `Some(None)` clears the intent.
    pub intent: Option<Option<String>>,
    pub language: Option<String>,
    pub status: Option<ArticleStatus>,
    pub author: Option<String>,
    /// When set, the change applies only to this version (optimistic locking): two editors
    /// never overwrite each other silently.
    pub expected_version: Option<i64>,
}

/// What [`Store::import_article`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    /// A new version was saved.
    Updated,
    /// Same content as the current version: nothing written.
    Unchanged,
}

/// Which articles to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleFilter {
    pub status: Option<ArticleStatus>,
    pub language: Option<String>,
    pub intent: Option<String>,
    pub tag: Option<String>,
}

/// A reply template as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTemplate {
    pub kind: TemplateKind,
    /// Canned responses: what the agent types (`/thanks`); unique per language.
    pub shortcut: Option<String>,
    pub name: String,
    /// Suggested replies: the intent they answer (`None`: any intent).
    pub intent: Option<String>,
    pub language: String,
    /// Text with `{{variables}}`.
    pub body: String,
}

/// A stored reply template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyTemplate {
    pub id: i64,
    pub kind: TemplateKind,
    pub shortcut: Option<String>,
    pub name: String,
    pub intent: Option<String>,
    pub language: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ARTICLE_COLUMNS: &str = "id, slug, title, body, tags, intent, language, status, version, author, created_at, updated_at";
const VERSION_COLUMNS: &str = "article_id, version, slug, title, body, tags, intent, language, status, author, created_at";
const TEMPLATE_COLUMNS: &str = "id, kind, shortcut, name, intent, language, body, created_at, updated_at";
const INSERT_VERSION: &str = "INSERT INTO kb_article_versions (article_id, version, slug, title, body, tags, intent, language, status, author, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

fn tags_from(row: &impl DbRow) -> Result<Vec<String>> {
    let text = row.string("tags")?;
    serde_json::from_str(&text).map_err(|source| Error::Json { what: "article tags", source })
}

fn status_from(row: &impl DbRow) -> Result<ArticleStatus> {
    let label = row.string("status")?;
    ArticleStatus::parse(&label).ok_or_else(|| Error::Invalid(format!("unknown article status `{label}` in the database")))
}

fn article_from_row(row: &impl DbRow) -> Result<Article> {
    Ok(Article {
        id: row.i64("id")?,
        slug: row.string("slug")?,
        title: row.string("title")?,
        body: row.string("body")?,
        tags: tags_from(row)?,
        intent: row.opt_string("intent")?,
        language: row.string("language")?,
        status: status_from(row)?,
        version: row.i64("version")?,
        author: row.opt_string("author")?,
        created_at: from_ms(row.i64("created_at")?),
        updated_at: from_ms(row.i64("updated_at")?),
    })
}

fn version_from_row(row: &impl DbRow) -> Result<ArticleVersion> {
    Ok(ArticleVersion {
        article_id: row.i64("article_id")?,
        version: row.i64("version")?,
        slug: row.string("slug")?,
        title: row.string("title")?,
        body: row.string("body")?,
        tags: tags_from(row)?,
        intent: row.opt_string("intent")?,
        language: row.string("language")?,
        status: status_from(row)?,
        author: row.opt_string("author")?,
        created_at: from_ms(row.i64("created_at")?),
    })
}

fn template_from_row(row: &impl DbRow) -> Result<ReplyTemplate> {
    let kind_label = row.string("kind")?;
    Ok(ReplyTemplate {
        id: row.i64("id")?,
        kind: TemplateKind::parse(&kind_label).ok_or_else(|| Error::Invalid(format!("unknown template kind `{kind_label}` in the database")))?,
        shortcut: row.opt_string("shortcut")?,
        name: row.string("name")?,
        intent: row.opt_string("intent")?,
        language: row.string("language")?,
        body: row.string("body")?,
        created_at: from_ms(row.i64("created_at")?),
        updated_at: from_ms(row.i64("updated_at")?),
    })
}

/// A slug is what a file name, a URL and a search-index term can all carry:
/// `returns-window`, `shipping_costs_eu` (the search index's article ids use the same alphabet).
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty() && slug.len() <= 100 && slug.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_') && !slug.starts_with('-')
}

/// Checks what every article must have; the message says what to change.
fn validate(article: &NewArticle) -> Result<()> {
    if !valid_slug(&article.slug) {
        return Err(Error::Invalid(format!("article slug `{}` must be 1–100 lower-case letters, digits, `-` and `_`", article.slug)));
    }
    if article.title.trim().is_empty() {
        return Err(Error::Invalid(format!("article `{}` has an empty title", article.slug)));
    }
    if article.body.trim().is_empty() {
        return Err(Error::Invalid(format!("article `{}` has an empty body", article.slug)));
    }
    let language = article.language.as_str();
    if language.len() != 2 || !language.bytes().all(|byte| byte.is_ascii_lowercase()) {
        return Err(Error::Invalid(format!("article `{}`: language `{language}` is not a two-letter ISO 639-1 code", article.slug)));
    }
    Ok(())
}

impl ArticleChange {
    /// The article as it stands after this change.
    fn apply(&self, current: &Article) -> NewArticle {
        NewArticle {
            slug: current.slug.clone(),
            title: self.title.clone().unwrap_or_else(|| current.title.clone()),
            body: self.body.clone().unwrap_or_else(|| current.body.clone()),
            tags: self.tags.clone().unwrap_or_else(|| current.tags.clone()),
            intent: self.intent.clone().unwrap_or_else(|| current.intent.clone()),
            language: self.language.clone().unwrap_or_else(|| current.language.clone()),
            status: self.status.unwrap_or(current.status),
            author: self.author.clone().or_else(|| current.author.clone()),
        }
    }
}

/// Whether saving `next` over `current` would change what readers see.
fn same_content(current: &Article, next: &NewArticle) -> bool {
    current.title == next.title && current.body == next.body && current.tags == next.tags && current.intent == next.intent && current.language == next.language && current.status == next.status
}

impl Store {
    /// Saves a new article as version 1. A taken slug is a conflict.
    pub async fn create_article(&self, article: &NewArticle, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Article> {
        validate(article)?;
        let now_ms = to_ms(now);
        let tags_text = json_text("article tags", &article.tags)?;
        let id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_articles WHERE slug = $1").bind(&article.slug).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(Error::Conflict(format!("an article with slug `{}` already exists", article.slug)));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO kb_articles (slug, title, body, tags, intent, language, status, version, author, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10) RETURNING id",
            )
            .bind(&article.slug)
            .bind(&article.title)
            .bind(&article.body)
            .bind(&tags_text)
            .bind(&article.intent)
            .bind(&article.language)
            .bind(article.status.as_str())
            .bind(&article.author)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(INSERT_VERSION)
                .bind(id)
                .bind(1_i64)
                .bind(&article.slug)
                .bind(&article.title)
                .bind(&article.body)
                .bind(&tags_text)
                .bind(&article.intent)
                .bind(&article.language)
                .bind(article.status.as_str())
                .bind(&article.author)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            let audit = with_entity(audit, id);
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
            id
        });
        self.article(id).await
    }

    /// Saves `change` as the article's next version (nothing is written when it changes
    /// nothing). A stale `expected_version` is a conflict.
    pub async fn update_article(&self, id: i64, change: &ArticleChange, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Article> {
        let current = self.article(id).await?;
        if let Some(expected) = change.expected_version {
            if expected != current.version {
                return Err(Error::Conflict(format!("article {id} is at version {}, not {expected}: reload it and apply the change again", current.version)));
            }
        }
        let next = change.apply(&current);
        validate(&next)?;
        if same_content(&current, &next) {
            return Ok(current);
        }
        self.save_version(&current, &next, audit, now).await?;
        self.article(id).await
    }

    /// Withdraws an article (a new, archived version): automatic answers stop citing it at once.
    pub async fn archive_article(&self, id: i64, author: Option<&str>, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<Article> {
        let change = ArticleChange { status: Some(ArticleStatus::Archived), author: author.map(str::to_string), ..ArticleChange::default() };
        self.update_article(id, &change, audit, now).await
    }

    /// `kb import`: creates the article of `article.slug`, or saves a new version when its
    /// content differs from the current one.
    pub async fn import_article(&self, article: &NewArticle, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<(Article, ImportOutcome)> {
        validate(article)?;
        match self.article_by_slug(&article.slug).await? {
            None => Ok((self.create_article(article, audit, now).await?, ImportOutcome::Created)),
            Some(current) if same_content(&current, article) => Ok((current, ImportOutcome::Unchanged)),
            Some(current) => {
                self.save_version(&current, article, audit, now).await?;
                Ok((self.article(current.id).await?, ImportOutcome::Updated))
            }
        }
    }

    /// Writes `next` as version `current.version + 1`, only if nobody saved another version in
    /// between (the UPDATE's version check; a lost race is a conflict, not an overwrite).
    async fn save_version(&self, current: &Article, next: &NewArticle, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let version = current.version + 1;
        let tags_text = json_text("article tags", &next.tags)?;
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE kb_articles SET title = $1, body = $2, tags = $3, intent = $4, language = $5, status = $6, version = $7, author = $8, updated_at = $9 \
                 WHERE id = $10 AND version = $11",
            )
            .bind(&next.title)
            .bind(&next.body)
            .bind(&tags_text)
            .bind(&next.intent)
            .bind(&next.language)
            .bind(next.status.as_str())
            .bind(version)
            .bind(&next.author)
            .bind(now_ms)
            .bind(current.id)
            .bind(current.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(Error::Conflict(format!("article {} changed while this change was saved: reload it and apply the change again", current.id)));
            }
            sqlx::query(INSERT_VERSION)
                .bind(current.id)
                .bind(version)
                .bind(&current.slug)
                .bind(&next.title)
                .bind(&next.body)
                .bind(&tags_text)
                .bind(&next.intent)
                .bind(&next.language)
                .bind(next.status.as_str())
                .bind(&next.author)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            let audit = with_entity(audit, current.id);
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn article(&self, id: i64) -> Result<Article> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE id = $1"))).bind(id).fetch_optional(pool).await?;
            row.map(|row| article_from_row(&row)).transpose()?
        });
        row.ok_or_else(|| Error::not_found("article", id))
    }

    pub async fn article_by_slug(&self, slug: &str) -> Result<Option<Article>> {
        Ok(on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE slug = $1"))).bind(slug).fetch_optional(pool).await?;
            row.map(|row| article_from_row(&row)).transpose()?
        }))
    }

    /// One saved version (what a decision record cites).
    pub async fn article_version(&self, id: i64, version: i64) -> Result<ArticleVersion> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {VERSION_COLUMNS} FROM kb_article_versions WHERE article_id = $1 AND version = $2")))
                .bind(id)
                .bind(version)
                .fetch_optional(pool)
                .await?;
            row.map(|row| version_from_row(&row)).transpose()?
        });
        row.ok_or_else(|| Error::not_found("article version", format!("{id} v{version}")))
    }

    /// Every version of an article, oldest first.
    pub async fn article_versions(&self, id: i64) -> Result<Vec<ArticleVersion>> {
        let versions = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {VERSION_COLUMNS} FROM kb_article_versions WHERE article_id = $1 ORDER BY version")))
                .bind(id)
                .fetch_all(pool)
                .await?;
            rows.iter().map(version_from_row).collect::<Result<Vec<_>>>()?
        });
        if versions.is_empty() {
            return Err(Error::not_found("article", id));
        }
        Ok(versions)
    }

    /// Articles matching `filter`, by id, one page at a time (`after_id` is the last id of the
    /// previous page).
    pub async fn list_articles(&self, filter: &ArticleFilter, after_id: i64, limit: i64) -> Result<Vec<Article>> {
        let mut conditions = vec!["id > $1".to_string()];
        let mut values: Vec<String> = Vec::new();
        let mut push = |condition: &str, value: &str| {
            values.push(value.to_string());
            conditions.push(condition.replace('?', &format!("${}", values.len() + 1)));
        };
        if let Some(status) = filter.status {
            push("status = ?", status.as_str());
        }
        if let Some(language) = &filter.language {
            push("language = ?", language);
        }
        if let Some(intent) = &filter.intent {
            push("intent = ?", intent);
        }
        // Tags are a JSON array of strings: match the quoted tag inside it.
        let tag_pattern = filter.tag.as_ref().map(|tag| format!("%{}%", serde_json::Value::String(tag.clone())));
        if let Some(pattern) = &tag_pattern {
            push("tags LIKE ?", pattern);
        }
        let limit_index = values.len() + 2;
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE {} ORDER BY id LIMIT ${limit_index}", conditions.join(" AND "));
        Ok(on_reader!(self, |pool| {
            let mut query = sqlx::query(AssertSqlSafe(&*sql)).bind(after_id);
            for value in &values {
                query = query.bind(value);
            }
            let rows = query.bind(limit).fetch_all(pool).await?;
            rows.iter().map(article_from_row).collect::<Result<Vec<_>>>()?
        }))
    }

    /// Every article, in pages of `page` rows (for index builds and `kb export`).
    pub async fn all_articles(&self, filter: &ArticleFilter) -> Result<Vec<Article>> {
        const PAGE: i64 = 1000;
        let mut articles = Vec::new();
        loop {
            let after = articles.last().map_or(0, |article: &Article| article.id);
            let page = self.list_articles(filter, after, PAGE).await?;
            let done = (page.len() as i64) < PAGE;
            articles.extend(page);
            if done {
                return Ok(articles);
            }
        }
    }

    /// Slug → current version of the articles with `status`, without their text: what a
    /// search index compares itself with every few seconds.
    pub async fn article_versions_by_slug(&self, status: ArticleStatus) -> Result<Vec<(String, i64)>> {
        Ok(on_reader!(self, |pool| sqlx::query_as::<_, (String, i64)>("SELECT slug, version FROM kb_articles WHERE status = $1 ORDER BY id")
            .bind(status.as_str())
            .fetch_all(pool)
            .await?))
    }

    pub async fn count_articles(&self, status: Option<ArticleStatus>) -> Result<i64> {
        Ok(on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM kb_articles WHERE ($1 IS NULL OR status = $2)")
                .bind(status.map(ArticleStatus::as_str))
                .bind(status.map(ArticleStatus::as_str))
                .fetch_one(pool)
                .await?
        }))
    }

    /// Saves a reply template with its audit entries (an empty entity id is the new
    /// template's). A canned response's shortcut is unique per language.
    pub async fn create_template(&self, template: &NewTemplate, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<ReplyTemplate> {
        validate_template(template)?;
        let now_ms = to_ms(now);
        let id = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            if let Some(shortcut) = &template.shortcut {
                let taken: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM reply_templates WHERE shortcut = $1 AND language = $2").bind(shortcut).bind(&template.language).fetch_optional(&mut *tx).await?;
                if taken.is_some() {
                    return Err(Error::Conflict(format!("the shortcut `{shortcut}` is already used for language `{}`", template.language)));
                }
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO reply_templates (kind, shortcut, name, intent, language, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(template.kind.as_str())
            .bind(&template.shortcut)
            .bind(&template.name)
            .bind(&template.intent)
            .bind(&template.language)
            .bind(&template.body)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            let audit = with_entity_of(audit, "template", id);
            append_audit!(self.backend(), tx, &audit, now_ms);
            tx.commit().await?;
            id
        });
        self.template(id).await
    }

    /// Replaces a template's content (templates keep no history: replies sent keep their text;
    /// the audit entries say who changed what).
    pub async fn update_template(&self, id: i64, template: &NewTemplate, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<ReplyTemplate> {
        validate_template(template)?;
        let now_ms = to_ms(now);
        let updated = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            if let Some(shortcut) = &template.shortcut {
                let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM reply_templates WHERE shortcut = $1 AND language = $2 AND id <> $3")
                    .bind(shortcut)
                    .bind(&template.language)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if taken.is_some() {
                    return Err(Error::Conflict(format!("the shortcut `{shortcut}` is already used for language `{}`", template.language)));
                }
            }
            let updated = sqlx::query("UPDATE reply_templates SET kind = $1, shortcut = $2, name = $3, intent = $4, language = $5, body = $6, updated_at = $7 WHERE id = $8")
                .bind(template.kind.as_str())
                .bind(&template.shortcut)
                .bind(&template.name)
                .bind(&template.intent)
                .bind(&template.language)
                .bind(&template.body)
                .bind(now_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                return Err(Error::not_found("template", id));
            }
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            updated
        });
        if updated == 0 {
            return Err(Error::not_found("template", id));
        }
        self.template(id).await
    }

    /// Deletes a template, with its audit entries in the same transaction.
    pub async fn delete_template(&self, id: i64, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM reply_templates WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if deleted == 0 {
                return Err(Error::not_found("template", id));
            }
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn template(&self, id: i64) -> Result<ReplyTemplate> {
        let row = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {TEMPLATE_COLUMNS} FROM reply_templates WHERE id = $1"))).bind(id).fetch_optional(pool).await?;
            row.map(|row| template_from_row(&row)).transpose()?
        });
        row.ok_or_else(|| Error::not_found("template", id))
    }

    /// Templates, optionally of one kind, by kind, language and name.
    pub async fn list_templates(&self, kind: Option<TemplateKind>) -> Result<Vec<ReplyTemplate>> {
        Ok(on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {TEMPLATE_COLUMNS} FROM reply_templates WHERE ($1 IS NULL OR kind = $2) ORDER BY kind, language, name, id")))
                .bind(kind.map(TemplateKind::as_str))
                .bind(kind.map(TemplateKind::as_str))
                .fetch_all(pool)
                .await?;
            rows.iter().map(template_from_row).collect::<Result<Vec<_>>>()?
        }))
    }

    /// The canned response an agent picked by shortcut, in the ticket's language or, failing
    /// that, in English.
    pub async fn template_by_shortcut(&self, shortcut: &str, language: &str) -> Result<Option<ReplyTemplate>> {
        Ok(on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {TEMPLATE_COLUMNS} FROM reply_templates WHERE kind = 'canned' AND shortcut = $1 AND language IN ($2, 'en') \
                 ORDER BY CASE WHEN language = $3 THEN 0 ELSE 1 END LIMIT 1"
            )))
            .bind(shortcut)
            .bind(language)
            .bind(language)
            .fetch_optional(pool)
            .await?;
            row.map(|row| template_from_row(&row)).transpose()?
        }))
    }

    /// The suggested-reply template for a ticket: its intent and language first, then the
    /// intent in English, then a general template (no intent) in its language, then in English.
    pub async fn suggested_template(&self, intent: Option<&str>, language: &str) -> Result<Option<ReplyTemplate>> {
        Ok(on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {TEMPLATE_COLUMNS} FROM reply_templates WHERE kind = 'suggested' AND (intent = $1 OR intent IS NULL) AND language IN ($2, 'en') \
                 ORDER BY CASE WHEN intent IS NULL THEN 1 ELSE 0 END, CASE WHEN language = $3 THEN 0 ELSE 1 END, id LIMIT 1"
            )))
            .bind(intent)
            .bind(language)
            .bind(language)
            .fetch_optional(pool)
            .await?;
            row.map(|row| template_from_row(&row)).transpose()?
        }))
    }

    /// Stores the summary written when the ticket was resolved.
    pub async fn set_ticket_summary(&self, ticket_id: i64, summary: &str) -> Result<()> {
        let updated = on_writer!(self, |pool| sqlx::query("UPDATE tickets SET summary = $1 WHERE id = $2").bind(summary).bind(ticket_id).execute(pool).await?.rows_affected());
        if updated == 0 {
            return Err(Error::not_found("ticket", ticket_id));
        }
        Ok(())
    }

    /// Where a feed of the `n` most recently resolved tickets starts: the (resolved_at, id)
    /// just before them, or `None` when fewer than `n + 1` tickets were ever resolved (start from
    /// the beginning).
    pub async fn recent_resolved_watermark(&self, n: i64) -> Result<Option<(DateTime<Utc>, i64)>> {
        let row: Option<(i64, i64)> = on_reader!(self, |pool| {
            sqlx::query_as("SELECT resolved_at, id FROM tickets WHERE resolved_at IS NOT NULL ORDER BY resolved_at DESC, id DESC LIMIT 1 OFFSET $1").bind(n.max(0)).fetch_optional(pool).await?
        });
        Ok(row.map(|(resolved_at, id)| (from_ms(resolved_at), id)))
    }

    /// Tickets resolved after the watermark `(resolved_at, id)` (all of them from `None`), in
    /// that order: a feed that a follower reads page by page and resumes from the last row.
    /// Reopened tickets have no `resolved_at` and drop out; resolved again, they come back
    /// with a later one.
    pub async fn resolved_tickets_after(&self, after: Option<(DateTime<Utc>, i64)>, limit: i64) -> Result<Vec<crate::Ticket>> {
        let (after_ms, after_id) = after.map_or((i64::MIN, i64::MIN), |(resolved_at, id)| (to_ms(resolved_at), id));
        Ok(on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {} FROM tickets WHERE resolved_at IS NOT NULL AND (resolved_at > $1 OR (resolved_at = $2 AND id > $3)) ORDER BY resolved_at, id LIMIT $4",
                crate::records::TICKET_COLUMNS
            )))
            .bind(after_ms)
            .bind(after_ms)
            .bind(after_id)
            .bind(limit.clamp(1, 1000))
            .fetch_all(pool)
            .await?;
            rows.iter().map(crate::records::ticket_from_row).collect::<Result<Vec<_>>>()?
        }))
    }

    pub async fn ticket_summary(&self, ticket_id: i64) -> Result<Option<String>> {
        let row: Option<Option<String>> =
            on_reader!(self, |pool| sqlx::query_scalar("SELECT summary FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(pool).await?);
        row.ok_or_else(|| Error::not_found("ticket", ticket_id))
    }
}

fn validate_template(template: &NewTemplate) -> Result<()> {
    if template.name.trim().is_empty() || template.body.trim().is_empty() {
        return Err(Error::Invalid("a reply template needs a name and a body".to_string()));
    }
    match (template.kind, &template.shortcut) {
        (TemplateKind::Canned, None) => Err(Error::Invalid(format!("canned response `{}` needs a shortcut (such as `/thanks`)", template.name))),
        (TemplateKind::Canned, Some(shortcut)) if !shortcut.starts_with('/') || shortcut.len() < 2 || shortcut.contains(char::is_whitespace) => {
            Err(Error::Invalid(format!("shortcut `{shortcut}` must start with `/` and contain no spaces")))
        }
        _ => Ok(()),
    }
}

/// The audit entries with the article's id filled in (the caller does not know it yet when it
/// creates the article).
fn with_entity(audit: &[NewAuditEntry], id: i64) -> Vec<NewAuditEntry> {
    with_entity_of(audit, "article", id)
}

fn with_entity_of(audit: &[NewAuditEntry], entity_type: &str, id: i64) -> Vec<NewAuditEntry> {
    audit
        .iter()
        .map(|entry| {
            let mut entry = entry.clone();
            if entry.entity_type == entity_type && entry.entity_id.is_empty() {
                entry.entity_id = id.to_string();
            }
            entry
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::valid_slug;

    #[test]
    fn slugs_are_file_names() {
        for (slug, valid) in [("returns-window", true), ("faq-2", true), ("shipping_eu", true), ("", false), ("-x", false), ("Returns", false), ("a b", false), ("../etc", false), ("é", false)] {
            assert_eq!(valid_slug(slug), valid, "{slug}");
        }
    }
}
