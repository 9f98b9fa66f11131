//! The console's frame and first pages: the layout every signed-in page shares, the login form
//! and the agent workspace (the dashboard and the admin pages have modules of their own).
//!
//! Each page is a server-rendered frame (layout, navigation for the person's role, empty
//! states) that one module of `assets/` fills from the API. Who the person is and what they may
//! do travels to the scripts in `data-` attributes of `<body>`; the scripts only use it to hide
//! what would be refused anyway: the API enforces every permission itself.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};
use sb_server::{ApiError, Caller, Credential, Permission};
use sb_store::{Session, User};

/// Only this server's own files; `connect-src 'self'` covers the API and the WebSocket
/// (Chromium and Firefox map `'self'` to `ws:`/`wss:` of the same host).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Which permissions the scripts are told about (they show or hide controls by them).
const PERMISSIONS_SHOWN: &[Permission] = &[Permission::Write, Permission::Assign, Permission::SeePii, Permission::ManageUsers, Permission::ManageTokens, Permission::ManageCustomers, Permission::ReadAudit, Permission::ManageKnowledge, Permission::ResolveAlerts, Permission::ReadReports];

pub(crate) fn page_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The session behind a page request; anything else (no cookie, an expired one, a bearer
/// token) is not a console user.
pub(crate) fn session(caller: &Result<Caller, ApiError>) -> Option<(&Caller, &Session)> {
    match caller {
        Ok(caller @ Caller { credential: Credential::Session { session, .. } }) => Some((caller, session)),
        _ => None,
    }
}

pub(crate) fn to_login() -> Response {
    Redirect::to("/console/login").into_response()
}

pub(crate) fn role_label(user: &User) -> &'static str {
    match user.role {
        sb_store::Role::Admin => "Admin",
        sb_store::Role::Supervisor => "Supervisor",
        sb_store::Role::Agent => "Agent",
        sb_store::Role::Compliance => "Compliance",
        sb_store::Role::Viewer => "Viewer",
    }
}

/// The frame of every signed-in page. `active` names the navigation entry to highlight.
pub(crate) fn layout(title: &str, caller: &Caller, session: &Session, active: &str, script: &str, content: Markup) -> Markup {
    let user = &session.user;
    let permissions: Vec<&str> = PERMISSIONS_SHOWN.iter().filter(|permission| caller.can(**permission)).map(|permission| permission.as_str()).collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Switchboard" }
                link rel="stylesheet" href="/console/assets/console.css";
                script type="module" src={ "/console/assets/" (script) } {}
            }
            body data-user-id=(user.id) data-user-name=(user.name) data-role=(user.role.as_str()) data-csrf=(session.csrf_token) data-permissions=(permissions.join(" ")) {
                header.topbar {
                    a.brand href="/console" { span.brand-mark aria-hidden="true" { "S" } span { "Switchboard" } }
                    nav.mainnav aria-label="Main" {
                        a href="/console" aria-current=[(active == "queue").then_some("page")] { "Queue" }
                        @if crate::dashboard::may_see(caller) {
                            a href="/console/dashboard" aria-current=[(active == "dashboard").then_some("page")] data-nav="dashboard" { "Dashboard" }
                        }
                        @if crate::admin::may_enter(caller) {
                            a href="/console/admin" aria-current=[(active == "admin").then_some("page")] data-nav="admin" { "Admin" }
                        }
                    }
                    div.topbar-right {
                        @if caller.can(Permission::Write) {
                            button #presence .presence type="button" aria-pressed="false" data-state="away" hidden { span.dot aria-hidden="true" {} span.label { "Away" } }
                        }
                        span #live-status .live-status data-state="connecting" title="Live updates" hidden { span.dot {} span.label { "Connecting" } }
                        span.user { span.user-name { (user.name) } span.role-chip { (role_label(user)) } }
                        button #logout .button.ghost type="button" { "Log out" }
                    }
                }
                (content)
                div #toasts .toasts role="status" aria-live="polite" {}
            }
        }
    }
}

const STATUSES: &[(&str, &str)] = &[("new,open,pending", "Active"), ("new", "New"), ("open", "Open"), ("pending", "Pending"), ("resolved", "Resolved"), ("closed", "Closed"), ("", "Any status")];
const QUEUES: &[(&str, &str)] = &[("", "All queues"), ("human", "Human"), ("safety", "Safety"), ("auto", "Automatic"), ("triage", "Awaiting triage")];
const CATEGORIES: &[(&str, &str)] = &[("", "All categories"), ("informational", "Informational"), ("service_action", "Service action"), ("safety_compliance", "Safety & compliance")];
pub(crate) const INTENTS: &[&str] = &[
    "product_info",
    "policy_info",
    "store_info",
    "other",
    "track_order",
    "cancel_order",
    "change_order",
    "return_refund",
    "damaged_or_wrong_item",
    "payment_issue",
    "account_update",
    "complaint",
    "adverse_reaction",
    "product_hazard",
    "privacy_request",
];
const PRIORITIES: &[(&str, &str)] = &[("", "Any priority"), ("75", "High (75+)"), ("50", "50 and up"), ("25", "25 and up")];
const CHANNELS: &[(&str, &str)] = &[("", "All channels"), ("email", "Email"), ("chat", "Chat"), ("voice", "Voice"), ("api", "API"), ("sms", "SMS")];
const ASSIGNEES: &[(&str, &str)] = &[("", "Anyone"), ("me", "Assigned to me"), ("none", "Unassigned")];

fn select(name: &str, label: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        label.filter {
            span.filter-label { (label) }
            select name=(name) data-filter=(name) {
                @for (value, text) in options {
                    option value=(value) { (text) }
                }
            }
        }
    }
}

pub(crate) fn intent_label(intent: &str) -> String {
    let spaced = intent.replace('_', " ");
    let mut characters = spaced.chars();
    characters.next().map_or_else(String::new, |first| first.to_uppercase().chain(characters).collect())
}

fn workspace_page(caller: &Caller, session: &Session, ticket_id: Option<i64>) -> Response {
    let intents: Vec<(String, String)> = std::iter::once((String::new(), "All intents".to_string())).chain(INTENTS.iter().map(|intent| (intent.to_string(), intent_label(intent)))).collect();
    let intent_options: Vec<(&str, &str)> = intents.iter().map(|(value, text)| (value.as_str(), text.as_str())).collect();
    let content = html! {
        main.workspace data-ticket-id=[ticket_id] {
            section.queue-pane aria-label="Queue" {
                div.pane-head {
                    h1 { "Queue" }
                    span #queue-count .count {}
                }
                form #filters .filters {
                    (select("status", "Status", STATUSES))
                    (select("queue", "Queue", QUEUES))
                    (select("category", "Category", CATEGORIES))
                    (select("intent", "Intent", &intent_options))
                    (select("min_priority", "Priority", PRIORITIES))
                    (select("channel", "Channel", CHANNELS))
                    (select("assignee", "Assignee", ASSIGNEES))
                }
                ol #queue-list .queue-list aria-label="Tickets" {}
                div #queue-empty .empty hidden {
                    p.empty-title { "No tickets match these filters" }
                    p.empty-text { "New messages appear here as they arrive. Try widening the filters." }
                }
                div.queue-foot { button #queue-more .button.ghost type="button" hidden { "Load more" } }
            }
            section #ticket-pane .ticket-pane aria-label="Ticket" {
                div #ticket-placeholder .empty.empty-large {
                    p.empty-title { "Select a ticket" }
                    p.empty-text { "Pick a ticket from the queue, or press " kbd { "j" } " / " kbd { "k" } " to move and " kbd { "Enter" } " to open." }
                    p.empty-text { "Press " kbd { "?" } " for every shortcut." }
                }
                div #ticket-view .ticket-view hidden {}
            }
        }
        dialog #shortcuts-help .dialog {
            h2 { "Keyboard shortcuts" }
            dl.shortcut-list {
                dt { kbd { "j" } " " kbd { "k" } } dd { "Next / previous ticket in the queue" }
                dt { kbd { "Enter" } } dd { "Open the selected ticket" }
                dt { kbd { "r" } } dd { "Write a reply" }
                dt { kbd { "n" } } dd { "Write an internal note" }
                dt { kbd { "Ctrl" } " " kbd { "Enter" } } dd { "Send the reply or note" }
                dt { kbd { "a" } } dd { "Assign to me" }
                dt { kbd { "e" } } dd { "Resolve" }
                dt { kbd { "o" } } dd { "Reopen" }
                dt { kbd { "x" } } dd { "Escalate" }
                dt { kbd { "t" } } dd { "Transfer to another agent or queue" }
                dt { kbd { "m" } } dd { "Merge into another ticket" }
                dt { kbd { "/" } " in the reply" } dd { "Insert a canned response by its shortcut (" kbd { "↑" } " " kbd { "↓" } ", " kbd { "Enter" } ")" }
                dt { kbd { "/" } } dd { "Filter the queue" }
                dt { kbd { "Esc" } } dd { "Leave the text field / close" }
            }
            form method="dialog" { button.button type="submit" { "Close" } }
        }
    };
    page_response(StatusCode::OK, layout("Queue", caller, session, "queue", "workspace.js", content))
}

pub async fn workspace(caller: Result<Caller, ApiError>) -> Response {
    match session(&caller) {
        Some((caller, session)) => workspace_page(caller, session, None),
        None => to_login(),
    }
}

pub async fn workspace_ticket(caller: Result<Caller, ApiError>, ticket_id: Result<Path<i64>, PathRejection>) -> Response {
    let Some((caller, session)) = session(&caller) else { return to_login() };
    match ticket_id {
        Ok(Path(ticket_id)) => workspace_page(caller, session, Some(ticket_id)),
        Err(_) => Redirect::to("/console").into_response(),
    }
}

pub async fn login(caller: Result<Caller, ApiError>) -> Response {
    if session(&caller).is_some() {
        return Redirect::to("/console").into_response();
    }
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · Switchboard" }
                link rel="stylesheet" href="/console/assets/console.css";
                script type="module" src="/console/assets/login.js" {}
            }
            body.login-body {
                main.login-card {
                    div.login-brand { span.brand-mark aria-hidden="true" { "S" } span { "Switchboard" } }
                    h1 { "Sign in to the console" }
                    p.muted { "Use the account your administrator created for you." }
                    form #login-form .stack novalidate {
                        label.field { span { "Email" } input #email name="email" type="email" autocomplete="username" required autofocus; }
                        label.field { span { "Password" } input #password name="password" type="password" autocomplete="current-password" required; }
                        p #login-error .form-error role="alert" hidden {}
                        button #login-submit .button.primary.wide type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    page_response(StatusCode::OK, markup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_read_as_words() {
        for (intent, expected) in [("track_order", "Track order"), ("damaged_or_wrong_item", "Damaged or wrong item"), ("other", "Other")] {
            assert_eq!(intent_label(intent), expected);
        }
    }
}
