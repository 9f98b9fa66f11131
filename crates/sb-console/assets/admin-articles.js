// Knowledge-base articles: the list by status, an editor beside it, publish and archive.
// Every save sends the version it started from (`expected_version`): when someone else saved
// meanwhile the API answers 409, the editor keeps the person's text and offers the newer version
// instead of overwriting it.

import { api, query } from "./api.js";
import { h, toast, dateTime } from "./dom.js";
import { fillTable, tableError, formValues, showError, pill } from "./admin-common.js";

const byId = (id) => document.getElementById(id);
const STATUS_KIND = { published: "status-resolved", draft: "status-pending", archived: null };
let editing = null; // the article as last loaded or saved, or null for a new one
let nextAfter = null;

function fill(article) {
  const form = byId("article-form");
  editing = article;
  form.hidden = false;
  byId("article-conflict").hidden = true;
  showError(byId("article-error"), null);
  byId("article-form-title").textContent = article ? article.title : "New article";
  byId("article-version").textContent = article ? `${article.status} · version ${article.version} · saved ${dateTime(article.updated_at)}` : "saved as a draft";
  form.elements.title.value = article?.title || "";
  form.elements.slug.value = article?.slug || "";
  form.elements.slug.disabled = Boolean(article);
  form.elements.language.value = article?.language || "en";
  form.elements.intent.value = article?.intent || "";
  form.elements.tags.value = (article?.tags || []).join(", ");
  form.elements.body.value = article?.body || "";
  byId("article-publish").hidden = !article || article.status === "published";
  byId("article-archive").hidden = !article || article.status === "archived";
  for (const selected of document.querySelectorAll("#articles tr[aria-selected]")) selected.removeAttribute("aria-selected");
  if (article) document.querySelector(`#articles tr[data-article-id="${article.id}"]`)?.setAttribute("aria-selected", "true");
}

async function open(articleId) {
  try {
    const answer = await api.get(`/kb/articles/${articleId}`);
    fill(answer.article);
  } catch (error) {
    toast(`Could not open the article: ${error.message}`, "error");
  }
}

function row(article) {
  return h("tr", { dataset: { articleId: article.id }, tabindex: "0", onclick: () => open(article.id), onkeydown: (event) => event.key === "Enter" && open(article.id) },
    h("td", {}, h("div.cell-main", {}, article.title), h("div.cell-sub", {}, `/help/${article.slug}${article.intent ? ` · ${article.intent.replace(/_/g, " ")}` : ""}`)),
    h("td", {}, pill(article.status.charAt(0).toUpperCase() + article.status.slice(1), STATUS_KIND[article.status])),
    h("td.num", {}, `v${article.version}`),
    h("td.num", {}, dateTime(article.updated_at)));
}

async function load(more) {
  const body = byId("articles");
  try {
    const answer = await api.get(`/kb/articles${query({ status: byId("article-status").value, limit: 50, after: more ? nextAfter : null })}`);
    const articles = answer.articles || [];
    if (more) for (const article of articles) body.append(row(article));
    else fillTable(body, articles, row, "No articles here yet. Automatic answers cite published articles only.");
    nextAfter = answer.next_after ?? null;
    byId("articles-more").hidden = nextAfter === null;
    if (editing) document.querySelector(`#articles tr[data-article-id="${editing.id}"]`)?.setAttribute("aria-selected", "true");
  } catch (error) {
    tableError(body, error);
  }
}

/// Saves `change` (a PATCH body) against the version being edited; a 409 shows the conflict.
async function patch(change, done) {
  try {
    const answer = await api.patch(`/kb/articles/${editing.id}`, { ...change, expected_version: editing.version });
    fill(answer.article);
    toast(done);
    await load(false);
  } catch (error) {
    if (error.status === 409) {
      byId("article-conflict").hidden = false;
      byId("article-conflict-text").textContent = `Someone saved this article after you opened version ${editing.version}. Your text is still in the editor: copy what you need, then load the newer version and apply it again.`;
      return;
    }
    showError(byId("article-error"), error);
  }
}

export async function init() {
  const form = byId("article-form");
  byId("article-status").addEventListener("change", () => load(false));
  byId("articles-more").addEventListener("click", () => load(true));
  byId("article-new").addEventListener("click", () => fill(null));
  byId("article-cancel").addEventListener("click", () => {
    form.hidden = true;
    editing = null;
    for (const selected of document.querySelectorAll("#articles tr[aria-selected]")) selected.removeAttribute("aria-selected");
  });
  byId("article-reload").addEventListener("click", () => editing && open(editing.id));
  byId("article-publish").addEventListener("click", () => patch({ status: "published" }, "Published: automatic answers may cite it now"));
  byId("article-archive").addEventListener("click", async () => {
    if (!editing || !confirm(`Archive “${editing.title}”? It stops being searched and cited; decisions that cited it keep their version.`)) return;
    try {
      const answer = await api.delete(`/kb/articles/${editing.id}`);
      fill(answer.article);
      toast("Archived");
      await load(false);
    } catch (error) {
      showError(byId("article-error"), error);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const fields = {
      title: values.title,
      body: values.body,
      language: values.language || "en",
      intent: values.intent || null,
      tags: values.tags.split(",").map((tag) => tag.trim()).filter(Boolean),
    };
    if (editing) {
      await patch(fields, "Saved");
      return;
    }
    try {
      const answer = await api.post("/kb/articles", { ...fields, slug: values.slug, status: "draft" });
      fill(answer.article);
      toast("Draft created");
      await load(false);
    } catch (error) {
      showError(byId("article-error"), error);
    }
  });
  await load(false);
}
