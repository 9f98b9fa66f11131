//! The admin pages (`/console/admin/{section}`): users and roles, API tokens, SLA policies,
//! auto-reply thresholds, reply templates and canned responses, knowledge-base articles and
//! the audit log. The SLA and threshold sections are editors for admins (`ManagePolicy`): a
//! change is stored as an override of the configuration file; others see the values only.
//!
//! Each section is a server-rendered frame with its own permission (the one the API asks for
//! the section's data), a side navigation listing only the sections the person may open, and
//! `assets/admin.js`, which fills and changes it through the API. Someone who may open no
//! section (agents, viewers) gets the 403 page for every admin address; someone who may open
//! some sections but not this one gets the 403 page for it.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use sb_server::{ApiError, Caller, Permission};
use sb_store::Session;

use crate::pages::{intent_label, layout, page_response, role_label, session, to_login, INTENTS};

/// One admin section: its address, its navigation label, what it is for, and the permission
/// its data needs.
struct Section {
    slug: &'static str,
    label: &'static str,
    summary: &'static str,
    permission: Permission,
}

const SECTIONS: &[Section] = &[
    Section { slug: "users", label: "Users & roles", summary: "People who sign in to the console, their roles and access", permission: Permission::ReadUsers },
    Section { slug: "tokens", label: "API tokens", summary: "Integrations; a secret is shown once, when it is created", permission: Permission::ManageTokens },
    Section { slug: "sla", label: "SLA policies", summary: "First-response and resolution targets, and the calendars their clocks run on", permission: Permission::ReadReports },
    Section { slug: "thresholds", label: "Auto-reply thresholds", summary: "How sure the classifier must be before a message is answered automatically", permission: Permission::ReadReports },
    Section { slug: "templates", label: "Templates", summary: "Suggested replies per intent, and canned responses by shortcut", permission: Permission::ManageKnowledge },
    Section { slug: "articles", label: "Knowledge base", summary: "Articles automatic answers and agents cite, with their versions", permission: Permission::ManageKnowledge },
    Section { slug: "mailboxes", label: "Email mailboxes", summary: "The IMAP mailboxes this server reads: connection, mails fetched, the last error", permission: Permission::ReadReports },
    Section { slug: "audit", label: "Audit log", summary: "Every status change, decision, access to personal data and admin change, hash-chained", permission: Permission::ReadAudit },
];

fn allowed(caller: &Caller) -> impl Iterator<Item = &'static Section> + '_ {
    SECTIONS.iter().filter(move |section| caller.can(section.permission))
}

/// Whether the navigation offers "Admin": the person may open at least one section.
pub(crate) fn may_enter(caller: &Caller) -> bool {
    allowed(caller).next().is_some()
}

fn forbidden(caller: &Caller, session: &Session, what: &str) -> Response {
    let content = html! {
        main.narrow {
            div.empty.empty-large #forbidden {
                p.empty-title { "You don't have access to this page" }
                p.empty-text { (what) " Your role is " (role_label(&session.user)) "; ask an admin if you need more access." }
                a.button href="/console" { "Back to the queue" }
            }
        }
    };
    page_response(StatusCode::FORBIDDEN, layout("No access", caller, session, "admin", "shell.js", content))
}

/// `/console/admin`: the first section the person may open.
pub async fn overview(caller: Result<Caller, ApiError>) -> Response {
    let Some((caller, session)) = session(&caller) else { return to_login() };
    match allowed(caller).next() {
        Some(section) => render(caller, session, section),
        None => forbidden(caller, session, "Administration is for admins and supervisors."),
    }
}

pub async fn section(caller: Result<Caller, ApiError>, slug: Path<String>) -> Response {
    let Some((caller, session)) = session(&caller) else { return to_login() };
    let Some(section) = SECTIONS.iter().find(|section| section.slug == slug.as_str()) else {
        return Redirect::to("/console/admin").into_response();
    };
    if !may_enter(caller) {
        return forbidden(caller, session, "Administration is for admins and supervisors.");
    }
    if !caller.can(section.permission) {
        return forbidden(caller, session, &format!("{} is not part of your role.", section.label));
    }
    render(caller, session, section)
}

fn render(caller: &Caller, session: &Session, section: &Section) -> Response {
    let content = html! {
        main.admin-shell {
            nav.admin-nav aria-label="Administration" {
                p.admin-nav-title { "Administration" }
                @for entry in allowed(caller) {
                    a href={ "/console/admin/" (entry.slug) } aria-current=[(entry.slug == section.slug).then_some("page")] data-section=(entry.slug) { (entry.label) }
                }
            }
            div.admin-main data-section=(section.slug) {
                div.page-head {
                    div { h1 { (section.label) } p.muted { (section.summary) } }
                    div.page-actions #section-actions {}
                }
                (body(section.slug, caller))
            }
        }
    };
    page_response(StatusCode::OK, layout(section.label, caller, session, "admin", "admin.js", content))
}

fn options(values: &[(&str, &str)]) -> Markup {
    html! { @for (value, text) in values { option value=(value) { (text) } } }
}

const ROLES: &[(&str, &str)] = &[("agent", "Agent"), ("supervisor", "Supervisor"), ("compliance", "Compliance"), ("viewer", "Viewer"), ("admin", "Admin")];

fn intent_options() -> Markup {
    html! {
        option value="" { "Any intent" }
        @for intent in INTENTS { option value=(intent) { (intent_label(intent)) } }
    }
}

/// The notice an editor shows when someone else saved first (`{prefix}-conflict`).
fn conflict_box(prefix: &str) -> Markup {
    html! {
        div.conflict id={ (prefix) "-conflict" } role="alert" hidden {
            p id={ (prefix) "-conflict-text" } {}
            button.button id={ (prefix) "-reload" } type="button" { "Load the current values" }
        }
    }
}

/// An override editor's buttons and the box for the API's problems (`{prefix}-…`).
fn editor_foot(prefix: &str) -> Markup {
    html! {
        div.form-foot {
            div.form-error id={ (prefix) "-error" } role="alert" hidden {}
            button.button id={ (prefix) "-reset" } type="button" hidden { "Reset to configuration" }
            @if prefix != "general" { button.button id={ (prefix) "-cancel" } type="button" { "Cancel" } }
            button.button.primary id={ (prefix) "-save" } type="submit" { "Save" }
        }
    }
}

/// The section's own markup: tables the script fills, forms it submits.
fn body(slug: &str, caller: &Caller) -> Markup {
    match slug {
        "users" => html! {
            @if caller.can(Permission::ManageUsers) {
                form.card.form-card #user-form novalidate {
                    div.card-head { h2 { "Add a user" } span.muted { "They sign in with this email and password" } }
                    div.form-grid {
                        label.field { span { "Name" } input name="name" required maxlength="200" autocomplete="off"; }
                        label.field { span { "Email" } input name="email" type="email" required autocomplete="off"; }
                        label.field { span { "Role" } select name="role" { (options(ROLES)) } }
                        label.field { span { "Password" } input name="password" type="password" required minlength="10" autocomplete="new-password"; }
                    }
                    div.form-foot { p.form-error #user-error role="alert" hidden {} button.button.primary type="submit" { "Add user" } }
                }
            }
            section.card {
                table.table { thead { tr { th { "Name" } th { "Email" } th { "Role" } th { "Status" } th { "Routing" } th.actions-col { span.visually-hidden { "Actions" } } } } tbody #users {} }
            }
            @if caller.can(Permission::ManageUsers) {
                dialog #routing-dialog .dialog aria-labelledby="routing-title" {
                    form #routing-form novalidate {
                        h2 #routing-title { "Routing" }
                        p.muted { "What the router may give this person. An empty list means any." }
                        fieldset.field { legend { "Intents" } div.checks { @for intent in crate::pages::INTENTS { label.check { input type="checkbox" name="intents" value=(intent); (crate::pages::intent_label(intent)) } } } }
                        fieldset.field { legend { "Channels" } div.checks { @for channel in ["email", "chat", "api", "sms", "voice"] { label.check { input type="checkbox" name="channels" value=(channel); (channel) } } } }
                        label.field { span { "Languages (ISO codes, comma-separated)" } input name="languages" placeholder="en, es" autocomplete="off"; }
                        label.check { input type="checkbox" name="safety" value="yes"; "Safety queue (adverse reactions, hazards)" }
                        div.form-grid {
                            label.field { span { "Open tickets at most" } input name="max_open_tickets" type="number" min="0" max="1000" required; }
                            label.field { span { "Chats at most" } input name="max_chats" type="number" min="0" max="1000" required; }
                        }
                        div.form-foot {
                            p.form-error #routing-error role="alert" hidden {}
                            button.button.ghost type="button" #routing-cancel { "Cancel" }
                            button.button.primary type="submit" { "Save routing" }
                        }
                    }
                }
            }
        },
        "tokens" => html! {
            form.card.form-card #token-form novalidate {
                div.card-head { h2 { "Create a token" } span.muted { "For an integration: a shop, a CRM, a help centre" } }
                div.form-grid {
                    label.field { span { "Name" } input name="name" required maxlength="100" placeholder="e.g. shop-webhook" autocomplete="off"; }
                    fieldset.field.scopes {
                        legend { "Scopes" }
                        @for (scope, text) in [("ingest", "ingest — send messages in"), ("read", "read — tickets, reports"), ("write", "write — act on tickets, knowledge base"), ("admin", "admin — everything")] {
                            label.check { input type="checkbox" name="scopes" value=(scope) checked[scope == "read"]; span { (text) } }
                        }
                    }
                }
                div.form-foot { p.form-error #token-error role="alert" hidden {} button.button.primary type="submit" { "Create token" } }
                div.secret-box #token-secret hidden {
                    p { strong { "Copy this secret now." } " It is stored only as a hash and cannot be shown again." }
                    code.mono #token-secret-value {}
                    button.button #token-secret-copy type="button" { "Copy" }
                }
            }
            section.card {
                table.table { thead { tr { th { "Name" } th { "Prefix" } th { "Scopes" } th { "Created" } th { "Last used" } th { "Status" } th.actions-col { span.visually-hidden { "Actions" } } } } tbody #tokens {} }
            }
        },
        "sla" => html! {
            p.notice #sla-where {
                "Which tickets a policy covers and the calendar its clocks run on come from " code { "[[sla_policies]]" } " in the configuration file (the defaults otherwise); the most specific matching policy applies: severity, then intent, then category, then priority range. "
                @if caller.can(Permission::ManagePolicy) { "Select a policy to change its targets: a change applies to tickets whose clocks start after it; tickets already open keep their deadlines." }
                @else { "Admins can change the targets here." }
            }
            div.split {
                section.card {
                    table.table.selectable { thead { tr { th { "Policy" } th { "Applies to" } th { "First response" } th { "Resolution" } th { "Calendar" } } } tbody #sla-policies {} }
                }
                @if caller.can(Permission::ManagePolicy) {
                    form.card.editor-card #sla-form novalidate hidden {
                        div.card-head { h2 #sla-form-title { "Policy" } span.muted #sla-provenance {} }
                        (conflict_box("sla"))
                        div.form-grid {
                            label.field { span { "First response" } input name="first_response" required maxlength="20" placeholder="4h" autocomplete="off"; }
                            label.field { span { "Resolution" } input name="resolution" required maxlength="20" placeholder="24h" autocomplete="off"; }
                        }
                        div.form-grid.one {
                            p.hint { "Business time on the policy's calendar, as " code { "15m" } ", " code { "4h" } " or " code { "1h30m" } "; the first response must not need longer than the resolution." }
                            p.hint #sla-configured {}
                        }
                        (editor_foot("sla"))
                    }
                }
            }
        },
        "mailboxes" => html! {
            p.notice { "Mailboxes come from " code { "[[email.imap]]" } " in the configuration file; each server process reads its own. Counts start when the process starts." }
            section.card {
                table.table { thead { tr { th { "Mailbox" } th { "Connection" } th { "Mails fetched" } th { "Last mail" } th { "Errors" } th { "Last error" } } } tbody #mailboxes {} }
            }
        },
        "thresholds" => html! {
            p.notice #thresholds-where {
                @if caller.can(Permission::ManagePolicy) { "Changes apply to messages triaged after you save them, on every server within a few seconds; tickets already decided keep their decision and deadlines. Select an intent to change its threshold." }
                @else { "Admins can change these thresholds here." }
            }
            div.threshold-summary #threshold-summary {}
            @if caller.can(Permission::ManagePolicy) {
                form.card.form-card #general-form novalidate {
                    div.card-head { h2 { "General threshold" } span.muted #general-provenance {} }
                    (conflict_box("general"))
                    div.form-grid {
                        label.field { span { "Answer automatically from" } input name="threshold" type="number" min="0" max="1" step="0.01" required; }
                        p.hint.field-hint #general-configured {}
                    }
                    (editor_foot("general"))
                }
            }
            div.split {
                section.card {
                    table.table.selectable { thead { tr { th { "Intent" } th { "Category" } th { "Auto-reply from" } th { "Set by" } } } tbody #thresholds {} }
                }
                @if caller.can(Permission::ManagePolicy) {
                    form.card.editor-card #threshold-form novalidate hidden {
                        div.card-head { h2 #threshold-form-title { "Intent" } span.muted #threshold-provenance {} }
                        (conflict_box("threshold"))
                        div.form-grid.one {
                            label.check { input type="checkbox" name="enabled"; span { "Answer automatically when every other condition holds" } }
                            label.check { input type="checkbox" name="own"; span { "Use its own threshold instead of the general one" } }
                            label.field { span { "Its own threshold" } input name="threshold" type="number" min="0" max="1" step="0.01"; }
                            p.hint #threshold-configured {}
                        }
                        (editor_foot("threshold"))
                    }
                }
            }
        },
        "templates" => html! {
            div.split {
                section.card {
                    div.card-head.toolbar {
                        label.filter { span.filter-label { "Kind" } select #template-kind { option value="" { "All" } option value="suggested" { "Suggested replies" } option value="canned" { "Canned responses" } } }
                        button.button.primary #template-new type="button" { "New template" }
                    }
                    table.table.selectable { thead { tr { th { "Name" } th { "Kind" } th { "Intent / shortcut" } th { "Lang." } } } tbody #templates {} }
                }
                form.card.editor-card #template-form novalidate hidden {
                    div.card-head { h2 #template-form-title { "Template" } }
                    div.form-grid.one {
                        label.field { span { "Name" } input name="name" required maxlength="200" autocomplete="off"; }
                        div.form-grid {
                            label.field { span { "Kind" } select name="kind" { option value="suggested" { "Suggested reply" } option value="canned" { "Canned response" } } }
                            label.field { span { "Language" } input name="language" value="en" maxlength="8" autocomplete="off"; }
                        }
                        div.form-grid {
                            label.field data-kind="suggested" { span { "Intent" } select name="intent" { (intent_options()) } }
                            label.field data-kind="canned" { span { "Shortcut" } input name="shortcut" placeholder="/thanks" maxlength="40" autocomplete="off"; }
                        }
                        label.field { span { "Body" } textarea name="body" rows="10" required {} }
                        p.hint { "Variables: " code { "{{customer_name}}" } ", " code { "{{order_number}}" } ", " code { "{{agent_name}}" } "… are filled for each ticket; a reply with an unfilled one cannot be sent." }
                    }
                    div.form-foot {
                        p.form-error #template-error role="alert" hidden {}
                        button.button.danger #template-delete type="button" hidden { "Delete" }
                        button.button #template-cancel type="button" { "Cancel" }
                        button.button.primary #template-save type="submit" { "Save" }
                    }
                }
            }
        },
        "articles" => html! {
            div.split {
                section.card {
                    div.card-head.toolbar {
                        label.filter { span.filter-label { "Status" } select #article-status { option value="" { "All" } option value="published" { "Published" } option value="draft" { "Drafts" } option value="archived" { "Archived" } } }
                        button.button.primary #article-new type="button" { "New article" }
                    }
                    table.table.selectable { thead { tr { th { "Title" } th { "Status" } th { "Version" } th { "Updated" } } } tbody #articles {} }
                    div.table-foot { button.button.ghost #articles-more type="button" hidden { "Load more" } }
                }
                form.card.editor-card #article-form novalidate hidden {
                    div.card-head { h2 #article-form-title { "Article" } span.muted #article-version {} }
                    div.conflict #article-conflict role="alert" hidden {
                        p #article-conflict-text {}
                        button.button #article-reload type="button" { "Load the newer version" }
                    }
                    div.form-grid.one {
                        label.field { span { "Title" } input name="title" required maxlength="300" autocomplete="off"; }
                        div.form-grid {
                            label.field { span { "Address (slug)" } input name="slug" required maxlength="120" autocomplete="off"; }
                            label.field { span { "Language" } input name="language" value="en" maxlength="8" autocomplete="off"; }
                        }
                        div.form-grid {
                            label.field { span { "Intent" } select name="intent" { (intent_options()) } }
                            label.field { span { "Tags" } input name="tags" placeholder="returns, shipping" autocomplete="off"; }
                        }
                        label.field { span { "Body (Markdown)" } textarea name="body" rows="14" required {} }
                    }
                    div.form-foot {
                        p.form-error #article-error role="alert" hidden {}
                        button.button.danger #article-archive type="button" hidden { "Archive" }
                        button.button #article-publish type="button" hidden { "Publish" }
                        button.button #article-cancel type="button" { "Cancel" }
                        button.button.primary #article-save type="submit" { "Save" }
                    }
                }
            }
        },
        "audit" => html! {
            form.card.filter-bar #audit-filters {
                label.field { span { "Actor" } input name="actor" placeholder="user:3, token:2, system" autocomplete="off"; }
                label.field { span { "Action" } input name="action" placeholder="ticket. or user.created" autocomplete="off"; }
                label.field { span { "From" } input name="from" type="date"; }
                label.field { span { "To" } input name="to" type="date"; }
                div.filter-actions { button.button.primary type="submit" { "Filter" } button.button.ghost #audit-clear type="button" { "Clear" } }
            }
            div.notice.verify-bar {
                p #audit-verify-result { "Entries are hash-chained: verifying walks the whole chain (as " code { "switchboard audit verify" } " does) and names the first entry that was changed or removed." }
                button.button #audit-verify type="button" { "Verify the chain" }
            }
            section.card {
                table.table.audit-table { thead { tr { th { "When" } th { "Actor" } th { "Action" } th { "Entity" } th { "Details" } } } tbody #audit {} }
                div.table-foot { button.button.ghost #audit-more type="button" hidden { "Older entries" } }
            }
        },
        _ => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every section's slug is unique and routable, and its script has a table or form to fill.
    #[test]
    fn sections_are_distinct_and_have_content() {
        let mut slugs: Vec<&str> = SECTIONS.iter().map(|section| section.slug).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), SECTIONS.len());
        for section in SECTIONS {
            let markup = body(section.slug, &admin_caller()).into_string();
            assert!(markup.contains("<table") || markup.contains("<form"), "{} renders nothing to fill", section.slug);
        }
    }

    fn admin_caller() -> Caller {
        let user = sb_store::User { id: 1, email: "a@example.com".into(), name: "A".into(), role: sb_store::Role::Admin, password_hash: String::new(), active: true, created_at: chrono_now() };
        Caller { credential: sb_server::Credential::Session { session: Session { user, csrf_token: String::new(), expires_at: chrono_now() }, secret: String::new() } }
    }

    fn chrono_now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::default()
    }
}
