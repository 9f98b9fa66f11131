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
//! - `{"type":"reset"}` again if this connection fell too far behind the live stream, or
//!   (`{"type":"reset","last_id":N}`) when events of other replicas may have been lost (their
//!   LISTEN/NOTIFY link dropped: see `sb_service::events`).
//!
//! On PostgreSQL the stream holds the events of every replica on the database, each under an
//! id of this process: a client resumes on the replica it was connected to; another replica is
//! another epoch, so it resets.
//!
//! A cross-site page cannot open this socket with the user's cookie: the `Origin` header, when
//! sent (browsers always send it), must name this server's own host.
//!
//! Customers of the chat widget connect with their conversation's secret (`?chat_token=…`)
//! instead: such a connection gets only the events of that conversation's tickets — new
//! messages (never notes) and the agent typing — and nothing of any other ticket (`chat.rs`
//! holds the filter). A console session that can answer customers counts as an agent online
//! while it is connected.

use std::borrow::Cow;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use sb_service::{Event, EventKind, Resume, Subscription};
use serde::Deserialize;
use futures_util::SinkExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::auth::Permission;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, RateLimited, Unauthorized};
use crate::{ApiError, AppState, Caller};

/// The most a socket reads from its client at once. tungstenite zero-fills the free part of its
/// read buffer, up to this size, before every read attempt, and this loop attempts one (a poll
/// of `recv`) for every event it sends: at the default 128 KiB that zero-filling was half the
/// server's CPU with 500 sockets at 200 events/s (perf, docs/benchmarks.md). Clients send only
/// pings and the close frame; a longer frame still arrives whole (the buffer grows to a frame's
/// announced length), only in more reads.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Where to resume from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResumeQuery {
    /// The id of the last event the client handled.
    after: Option<u64>,
    /// The `epoch` of the `hello` that event id came from.
    epoch: Option<String>,
    /// A chat conversation's secret: the customer's connection (instead of a session).
    chat_token: Option<String>,
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
    security(("session" = ["admin", "supervisor", "agent", "compliance", "viewer"]), ("bearer" = ["read"]), ("chat_token" = [])),
)]
pub async fn events_socket(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Query(query): Query<ResumeQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if let Some(chat_token) = query.chat_token.as_deref() {
        let conversation = state.service.chat_conversation(chat_token).await?.ok_or(ApiError::Unauthorized)?;
        if !same_origin(&headers) {
            return Err(ApiError::Forbidden("the WebSocket must be opened from this server's own pages".into()));
        }
        let upgrade = upgrade.map_err(|rejection| ApiError::validation("not_a_websocket", format!("this endpoint speaks WebSocket only: {rejection}")))?;
        let ticket_ids = state.service.chat_ticket_ids(&conversation).await?;
        let after = query.after.zip(query.epoch);
        let subscription = state.service.events().subscribe(after.as_ref().map(|(id, epoch)| (*id, epoch.as_str())));
        let epoch = state.service.events().epoch().to_string();
        return Ok(upgrade.read_buffer_size(READ_BUFFER_BYTES).on_upgrade(move |socket| stream_events(socket, subscription, epoch, Listener::Customer { ticket_ids })));
    }
    // Who may listen is decided before whether the request is a proper upgrade, so a caller
    // without the permission learns nothing else.
    let caller = caller?;
    caller.require(Permission::Read)?;
    if !same_origin(&headers) {
        return Err(ApiError::Forbidden("the WebSocket must be opened from this server's own pages".into()));
    }
    let upgrade = upgrade.map_err(|rejection| ApiError::validation("not_a_websocket", format!("this endpoint speaks WebSocket only: {rejection}")))?;
    let after = query.after.zip(query.epoch);
    // Subscribed before the upgrade completes, so nothing published meanwhile is missed.
    let subscription = state.service.events().subscribe(after.as_ref().map(|(id, epoch)| (*id, epoch.as_str())));
    let epoch = state.service.events().epoch().to_string();
    // A person who can answer customers (not an integration's token) counts as online.
    let presence = (caller.user_id().is_some() && caller.can(Permission::Write)).then(|| state.chat.presence.agent_connected());
    Ok(upgrade.read_buffer_size(READ_BUFFER_BYTES).on_upgrade(move |socket| stream_events(socket, subscription, epoch, Listener::Staff { _presence: presence })))
}

/// Who is at the other end of a socket.
enum Listener {
    /// A console user or an integration: every event.
    Staff { _presence: Option<crate::chat::PresenceGuard> },
    /// A chat customer: only the events of these tickets, as [`customer_event`] shapes them.
    Customer { ticket_ids: Vec<i64> },
}

impl Listener {
    /// What this listener is sent of `event`, if anything: staff get the event's own JSON,
    /// written once for every socket.
    fn shape<'event>(&self, event: &'event Event) -> Option<Cow<'event, str>> {
        match self {
            Listener::Staff { .. } => Some(Cow::Borrowed(event.json())),
            Listener::Customer { ticket_ids } => customer_event(ticket_ids, event).map(|value| Cow::Owned(value.to_string())),
        }
    }
}

/// A customer hears of new messages and of the agent typing in its own tickets, and of nothing
/// else: no ticket states (queues, assignees), no notes, no other conversation.
fn customer_event(ticket_ids: &[i64], event: &Event) -> Option<serde_json::Value> {
    // Alerts and metrics belong to no ticket: never a customer's.
    if !event.kind.ticket_id().is_some_and(|ticket_id| ticket_ids.contains(&ticket_id)) {
        return None;
    }
    match &event.kind {
        EventKind::MessageAdded { ticket_id, message_id, direction } if direction == "inbound" || direction == "outbound" => {
            Some(serde_json::json!({"id": event.id, "type": "message_added", "ticket_id": ticket_id, "message_id": message_id}))
        }
        EventKind::Typing { ticket_id, party } if party == "agent" => Some(serde_json::json!({"id": event.id, "type": "typing", "ticket_id": ticket_id, "party": party})),
        EventKind::MessageAdded { .. }
        | EventKind::Typing { .. }
        | EventKind::TicketCreated { .. }
        | EventKind::TicketUpdated { .. }
        | EventKind::Sla { .. }
        | EventKind::AlertRaised { .. }
        | EventKind::AlertResolved { .. }
        | EventKind::MetricsTick { .. }
        | EventKind::Gap => None,
    }
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

/// Queues what `listener` is sent of one received event (not flushed); false when the socket
/// is gone or the stream closed.
async fn feed_received(socket: &mut WebSocket, listener: &Listener, received: Result<std::sync::Arc<Event>, RecvError>) -> bool {
    let text: Cow<'_, str> = match &received {
        // Other replicas' events may have been lost here: every listener reloads, and resumes
        // after this id.
        Ok(event) if event.kind == EventKind::Gap => Cow::Owned(serde_json::json!({"type": "reset", "last_id": event.id}).to_string()),
        Ok(event) => match listener.shape(event) {
            Some(shaped) => shaped,
            None => return true,
        },
        // Too slow for the live stream: the events it missed are gone from this receiver, so
        // the client must reload rather than believe it is up to date.
        Err(RecvError::Lagged(_)) => Cow::Borrowed(r#"{"type":"reset"}"#),
        Err(RecvError::Closed) => return false,
    };
    socket.feed(Message::Text(text.as_ref().into())).await.is_ok()
}

async fn stream_events(mut socket: WebSocket, subscription: Subscription, epoch: String, listener: Listener) {
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
                if let Some(shaped) = listener.shape(&event) {
                    if socket.feed(Message::Text(shaped.as_ref().into())).await.is_err() {
                        return;
                    }
                }
            }
            if socket.flush().await.is_err() {
                return;
            }
        }
    }
    loop {
        tokio::select! {
            received = receiver.recv() => {
                // This event and whatever else is queued already go out in one write.
                let mut next = Some(received);
                while let Some(received) = next.take() {
                    if !feed_received(&mut socket, &listener, received).await {
                        return;
                    }
                    next = match receiver.try_recv() {
                        Ok(event) => Some(Ok(event)),
                        Err(TryRecvError::Lagged(n_missed)) => Some(Err(RecvError::Lagged(n_missed))),
                        Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                        Err(TryRecvError::Empty) => None,
                    };
                }
                if socket.flush().await.is_err() {
                    return;
                }
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
    fn a_customer_hears_only_messages_and_agent_typing_of_its_own_tickets() {
        let event = |kind: EventKind| Event::new(9, chrono::Utc::now(), kind);
        let heard = |kind: EventKind| customer_event(&[3, 5], &event(kind)).map(|value| value["type"].as_str().unwrap_or_default().to_string());
        let message = |ticket_id, direction: &str| EventKind::MessageAdded { ticket_id, message_id: 1, direction: direction.into() };
        let typing = |ticket_id, party: &str| EventKind::Typing { ticket_id, party: party.into() };
        for (kind, expected) in [
            (message(5, "outbound"), Some("message_added")),
            (message(3, "inbound"), Some("message_added")),
            (message(5, "note"), None),
            (message(4, "outbound"), None),
            (typing(5, "agent"), Some("typing")),
            (typing(5, "customer"), None),
            (typing(4, "agent"), None),
            (EventKind::TicketUpdated { ticket_id: 5, status: "open".into(), queue: "human".into(), assignee_id: Some(2) }, None),
            (EventKind::TicketCreated { ticket_id: 5 }, None),
            (EventKind::Sla { ticket_id: 5, state: "at_risk".into() }, None),
        ] {
            let description = format!("{kind:?}");
            assert_eq!(heard(kind).as_deref(), expected, "{description}");
        }
    }

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
