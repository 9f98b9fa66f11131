-- Switchboard schema, version 2 (SQLite): the knowledge base, reply templates and ticket
-- summaries. Keep in step with ../postgres/0002_knowledge_base.sql.

-- Articles: the current version of each. `slug` is the stable name used by import/export (the
-- file name without `.md`). Articles are archived, never deleted: decision records cite an
-- article id and version, and that version must stay readable.
CREATE TABLE kb_articles (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,          -- Markdown
    tags            TEXT NOT NULL,          -- JSON array of strings
    intent          TEXT,                   -- the intent it answers, when it answers one
    language        TEXT NOT NULL,          -- ISO 639-1
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    version         BIGINT NOT NULL,        -- 1, 2, … one per saved change
    author          TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX kb_articles_status ON kb_articles (status);

-- Every saved version, the current one included (append-only).
CREATE TABLE kb_article_versions (
    article_id      BIGINT NOT NULL REFERENCES kb_articles (id),
    version         BIGINT NOT NULL,
    slug            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    tags            TEXT NOT NULL,
    intent          TEXT,
    language        TEXT NOT NULL,
    status          TEXT NOT NULL,
    author          TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (article_id, version)
);
CREATE TRIGGER kb_article_versions_no_update BEFORE UPDATE ON kb_article_versions
BEGIN SELECT RAISE(ABORT, 'kb_article_versions is append-only'); END;
CREATE TRIGGER kb_article_versions_no_delete BEFORE DELETE ON kb_article_versions
BEGIN SELECT RAISE(ABORT, 'kb_article_versions is append-only'); END;

-- Reply templates: `suggested` ones are picked by intent and language for the suggested reply;
-- `canned` ones are picked by agents through their shortcut.
CREATE TABLE reply_templates (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('suggested', 'canned')),
    shortcut        TEXT,                   -- canned: what the agent types, e.g. `/thanks`
    name            TEXT NOT NULL,
    intent          TEXT,                   -- suggested: the intent it answers (NULL: any)
    language        TEXT NOT NULL,
    body            TEXT NOT NULL,          -- with {{variables}}
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX reply_templates_shortcut ON reply_templates (shortcut, language) WHERE shortcut IS NOT NULL;
CREATE INDEX reply_templates_intent ON reply_templates (kind, intent, language);

-- The extractive summary written when a ticket is resolved.
ALTER TABLE tickets ADD COLUMN summary TEXT;
