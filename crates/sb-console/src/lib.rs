//! The web console: the pages agents, supervisors and admins use, and the customer chat
//! widget (`widget.rs`: the loader shops embed and the chat page it frames), served by the
//! binary.
//!
//! Pages are rendered on the server with maud (every value escaped by default); each page
//! then loads small ES modules (`assets/*.js`, embedded with `include_str!`) that read and
//! change data through the public REST API and follow the live event stream at `/ws`.
//!
//! API boundary: this crate is a *client* of sb-server. It reuses the server's authentication
//! (the `sb_session` cookie, [`sb_server::Caller`]) to decide which page a person may open and
//! what the navigation offers, but it never reads the store or the service itself: every
//! ticket, message and customer shown comes from the API, which masks personal data for roles
//! without the PII permission. So the console can never show more than the API would give
//! that role, and the API's authorisation matrix test covers the console's data too.
//!
//! Architecture invariants:
//! - No third-party front-end code: the JavaScript and CSS in `assets/` are written here.
//! - No inline scripts or styles: pages send a `Content-Security-Policy` that allows only this
//!   server's own scripts, styles and connections.
//! - Pages are never cached (`no-store`): they carry the session's CSRF token.
//! - Nothing here can fail at run time except the request's authentication, which ends in a
//!   redirect to the login page, so the crate has no error type of its own.

mod admin;
mod assets;
mod dashboard;
mod pages;
mod widget;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use sb_server::AppState;

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/console";

/// The console's routes, to be given to [`sb_server::app_with`] (so they get the server's
/// request ids, logs and metrics like every other route).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to(CONSOLE_PATH) }))
        .route("/console", get(pages::workspace))
        .route("/console/tickets/{ticket_id}", get(pages::workspace_ticket))
        .route("/console/login", get(pages::login))
        .route("/console/dashboard", get(dashboard::page))
        .route("/console/admin", get(admin::overview))
        .route("/console/admin/{section}", get(admin::section))
        .route("/console/assets/{file}", get(assets::serve))
        .route("/widget.js", get(widget::loader))
        .route("/chat", get(widget::chat_page))
}
