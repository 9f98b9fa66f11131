//! The supervisor dashboard (`/console/dashboard`): live tiles, the alert feed and the charts.
//!
//! The page is a frame with an empty state in every place a figure or chart goes;
//! `assets/dashboard.js` fills it from the reports API and keeps it current from `/ws`
//! (`metrics_tick` for the tiles, ticket and SLA events for the charts, alert events for the
//! feed). Supervisors and admins see it (the reports' permission); everyone else gets the 403
//! page, as the reports API would refuse them anyway.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use sb_server::{ApiError, Caller, Permission};

use crate::pages::{layout, page_response, role_label, session, to_login};

/// Who may open the dashboard: those the reports API answers.
pub(crate) fn may_see(caller: &Caller) -> bool {
    caller.can(Permission::ReadReports)
}

/// (id, label, unit hint shown under the figure before data arrives)
const TILES: &[(&str, &str, &str)] = &[
    ("queue_depth", "Queue depth", "open in the human and safety queues"),
    ("oldest_waiting", "Oldest waiting", "without a first response"),
    ("sla_at_risk", "SLA at risk", "due within the hour"),
    ("sla_breached", "SLA breached", "open, past a deadline"),
    ("automation_rate", "Automation rate", "answered automatically today"),
    ("first_response", "Avg first response", "tickets created today"),
    ("sentiment", "Sentiment", "last hour, −1 to +1"),
];

fn tile(id: &str, label: &str, hint: &str) -> Markup {
    html! {
        div.tile id={ "tile-" (id) } data-tile=(id) {
            span.tile-label { (label) }
            span.tile-value data-value="" { "—" }
            span.tile-hint { (hint) }
        }
    }
}

/// A chart card: the chart's SVG goes into `#chart-{id}`; the empty state is shown until data
/// arrives, and again when there is none.
fn chart_card(id: &str, title: &str, subtitle: &str, wide: bool) -> Markup {
    html! {
        section.card.chart-card.wide[wide] id={ "card-" (id) } aria-labelledby={ "title-" (id) } {
            div.card-head { h2 id={ "title-" (id) } { (title) } span.muted id={ "subtitle-" (id) } { (subtitle) } }
            div.chart id={ "chart-" (id) } role="img" aria-label=(title) {}
            p.chart-empty.panel-empty id={ "empty-" (id) } { "Loading…" }
            div.legend id={ "legend-" (id) } {}
        }
    }
}

fn forbidden(caller: &Caller, session: &sb_store::Session) -> Response {
    let content = html! {
        main.narrow {
            div.empty.empty-large #forbidden {
                p.empty-title { "You don't have access to this page" }
                p.empty-text { "The dashboard is for supervisors and admins. Your role is " (role_label(&session.user)) "." }
                a.button href="/console" { "Back to the queue" }
            }
        }
    };
    page_response(StatusCode::FORBIDDEN, layout("No access", caller, session, "dashboard", "shell.js", content))
}

pub async fn page(caller: Result<Caller, ApiError>) -> Response {
    let Some((caller, session)) = session(&caller) else { return to_login() };
    if !may_see(caller) {
        return forbidden(caller, session);
    }
    let content = html! {
        main.dashboard {
            div.page-head {
                div {
                    h1 { "Dashboard" }
                    p.muted #dashboard-context { "Today, live" }
                }
                span.muted #dashboard-updated {}
            }
            section.tiles aria-label="Live figures" {
                @for (id, label, hint) in TILES { (tile(id, label, hint)) }
            }
            div.dashboard-grid {
                (chart_card("volume", "Volume today against the forecast", "inbound messages per hour", true))
                section.card.alert-card #alerts-card aria-labelledby="alerts-title" {
                    div.card-head { h2 #alerts-title { "Alerts" } span.muted #alerts-count {} }
                    ol.alert-feed #alert-feed {}
                    p.panel-empty #alerts-empty { "Loading…" }
                }
                (chart_card("sla-category", "SLA compliance by category", "first response met, last 7 days", false))
                (chart_card("sla-priority", "SLA compliance by priority", "first response met, last 7 days", false))
                (chart_card("agents", "Agent performance", "tickets resolved, last 7 days", false))
                (chart_card("categories", "Category performance", "tickets per intent, last 7 days", false))
                (chart_card("automation", "Automation rate", "decisions answered automatically, per day", false))
                (chart_card("cost", "AI cost", "LLM spend per day", false))
            }
        }
    };
    page_response(StatusCode::OK, layout("Dashboard", caller, session, "dashboard", "dashboard.js", content))
}
