//! `GET /ws`: the live event stream of the console, over a WebSocket.
//!
//! Authenticated like any API call (the console's session cookie; a bearer token also works
//! for integrations), with the `read` permission. The server sends JSON text frames:
//! - first `{"type":"hello","epoch":E,"last_id":N}` — `epoch` names this process lifetime's id
//!   sequence, `last_id` the newest event id at connection time;
//! - then, when the client asked to resume (`?after=ID&epoch=E`), the events after `ID` that
//!   the ring still holds, or `{"type":"reset"}` when it no longer holds them (or the epoch is
//!   another process's): the client then reloads its view from the API;
//! - then every event as it is published (`sb_service::events::Event`: an `id`, an `at` and a
//!   `type` with ids and labels, never message text — the client re-reads through the API,
//!   which masks what the caller's role may not see);
//! - `{"type":"reset"}` again if this connection fell too far behind the live stream.
//!
//! A cross-site page cannot open this socket with the user's cookie: the `Origin` header, when
//! sent (browsers always send it), must name this server's own host.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use sb_service::{Resume, Subscription};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, RateLimited, Unauthorized};
use crate::{ApiError, AppState, Caller};

/// Where to resume from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResumeQuery {
    /// The id of the last event the client handled.
    after: Option<u64>,
    /// The `epoch` of the `hello` that event id came from.
    epoch: Option<String>,
}

/// Live events
///
/// Upgrades to a WebSocket that streams ticket events (created, updated, new message, SLA) as
/// JSON text frames; `after` and `epoch` resume after a disconnect (see the module docs in the
/// source: `hello`, replay or `reset`, then live events).
#[utoipa::path(
    get, path = "/ws", tag = "events",
    params(ResumeQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Not a WebSocket upgrade request. Code: `not_a_websocket`.", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("session" = ["admin", "supervisor", "agent", "compliance", "viewer"]), ("bearer" = ["read"])),
)]
pub async fn events_socket(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<ResumeQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // Who may listen is decided before whether the request is a proper upgrade, so a caller
    // without the permission learns nothing else.
    caller.require(Permission::Read)?;
    if !same_origin(&headers) {
        return Err(ApiError::Forbidden("the WebSocket must be opened from this server's own pages".into()));
    }
    let upgrade = upgrade.map_err(|rejection| ApiError::validation("not_a_websocket", format!("this endpoint speaks WebSocket only: {rejection}")))?;
    let after = query.after.zip(query.epoch);
    // Subscribed before the upgrade completes, so nothing published meanwhile is missed.
    let subscription = state.service.events().subscribe(after.as_ref().map(|(id, epoch)| (*id, epoch.as_str())));
    let epoch = state.service.events().epoch().to_string();
    Ok(upgrade.on_upgrade(move |socket| stream_events(socket, subscription, epoch)))
}

/// No `Origin` (a non-browser client) or one whose host is the `Host` the request came to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|host| host.to_str().ok()) else { return false };
    let origin = origin.to_str().unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    origin_host.eq_ignore_ascii_case(host)
}

async fn send_json(socket: &mut WebSocket, value: &impl serde::Serialize) -> bool {
    let Ok(text) = serde_json::to_string(value) else { return false };
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn stream_events(mut socket: WebSocket, subscription: Subscription, epoch: String) {
    let Subscription { resume, mut receiver, last_id } = subscription;
    if !send_json(&mut socket, &serde_json::json!({"type": "hello", "epoch": epoch, "last_id": last_id})).await {
        return;
    }
    match resume {
        Resume::Reset => {
            if !send_json(&mut socket, &serde_json::json!({"type": "reset", "last_id": last_id})).await {
                return;
            }
        }
        Resume::Replay(events) => {
            for event in events {
                if !send_json(&mut socket, &*event).await {
                    return;
                }
            }
        }
    }
    loop {
        tokio::select! {
            received = receiver.recv() => match received {
                Ok(event) => {
                    if !send_json(&mut socket, &*event).await {
                        return;
                    }
                }
                // Too slow for the live stream: the events it missed are gone from this
                // receiver, so the client must reload rather than believe it is up to date.
                Err(RecvError::Lagged(_)) => {
                    if !send_json(&mut socket, &serde_json::json!({"type": "reset"})).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                // Clients send nothing but pings (answered by the library) and close.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_this_host_may_open_the_socket() {
        for (origin, host, expected) in [
            (None, Some("127.0.0.1:8080"), true),
            (Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080"), true),
            (Some("https://Support.Example.com"), Some("support.example.com"), true),
            (Some("http://evil.example"), Some("127.0.0.1:8080"), false),
            (Some("http://127.0.0.1:9999"), Some("127.0.0.1:8080"), false),
            (Some("null"), Some("127.0.0.1:8080"), false),
            (Some("http://127.0.0.1:8080"), None, false),
        ] {
            let mut headers = HeaderMap::new();
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, origin.parse().unwrap());
            }
            if let Some(host) = host {
                headers.insert(header::HOST, host.parse().unwrap());
            }
            assert_eq!(same_origin(&headers), expected, "origin {origin:?}, host {host:?}");
        }
    }
}
