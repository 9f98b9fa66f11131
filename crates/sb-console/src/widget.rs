//! The customer chat widget: the loader a shop adds to its pages (`GET /widget.js`) and the
//! chat page it frames (`GET /chat`).
//!
//! The loader draws a launcher button in a shadow root (the shop's CSS cannot reach it) and
//! opens `/chat` in an iframe served by this server, so the chat runs on this server's origin:
//! its API calls and its `/ws` connection are same-origin, its storage (the conversation id and
//! secret that survive a reload) belongs to this server, and the shop's scripts cannot read it.
//!
//! The chat page may be framed by the sites of `[chat] allowed_origins` (any site when the list
//! is empty): its `frame-ancestors` says so. Everything else about it follows the console's
//! rules: no inline script or style, only this server's files and connections.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, DOCTYPE};
use sb_server::AppState;
use serde::Deserialize;

/// The loader, served to any site.
const LOADER: &str = include_str!("../assets/widget.js");

/// `GET /widget.js`: cached briefly by browsers (a new binary reaches shops within minutes),
/// loadable from any site.
pub async fn loader() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        LOADER,
    )
        .into_response()
}

/// How the shop dressed the widget (the loader's `data-` attributes, passed on in the URL).
#[derive(Debug, Default, Deserialize)]
pub struct ChatPageQuery {
    /// The team's name in the header.
    title: Option<String>,
    /// The accent colour, `#rgb` or `#rrggbb`.
    accent: Option<String>,
    /// `1` when framed by the loader (shows the close button).
    embed: Option<String>,
}

/// A title of at most 60 characters, or the default.
fn title_of(query: &ChatPageQuery) -> String {
    let title = query.title.as_deref().map(str::trim).unwrap_or_default();
    if title.is_empty() {
        return "Customer support".to_string();
    }
    title.chars().take(60).collect()
}

/// `#rgb` or `#rrggbb`, else none (it goes into a style property through the CSSOM).
fn accent_of(query: &ChatPageQuery) -> Option<&str> {
    let accent = query.accent.as_deref()?;
    let hex = accent.strip_prefix('#')?;
    (matches!(hex.len(), 3 | 6) && hex.chars().all(|character| character.is_ascii_hexdigit())).then_some(accent)
}

/// `GET /chat`: the chat page (the loader's iframe, or a page of its own).
pub async fn chat_page(State(state): State<AppState>, query: Result<Query<ChatPageQuery>, QueryRejection>) -> Response {
    // A query that cannot be read is no reason to refuse the chat: the defaults apply.
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let title = title_of(&query);
    let embedded = query.embed.as_deref() == Some("1");
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Chat" }
                link rel="stylesheet" href="/console/assets/chat.css";
                script type="module" src="/console/assets/chat.js" {}
            }
            body.chat-body data-embedded=(embedded) data-accent=[accent_of(&query)] {
                div.chat-app #chat-app {
                    header.chat-header {
                        div.chat-avatar aria-hidden="true" { (title.chars().next().map(|first| first.to_uppercase().to_string()).unwrap_or_default()) }
                        div.chat-heading {
                            h1 #chat-title { (title) }
                            p.chat-presence #chat-presence data-online="unknown" { span.presence-dot {} span #chat-presence-text { "Checking who's around…" } }
                        }
                        @if embedded {
                            button.chat-close #chat-close type="button" aria-label="Close the chat" { "×" }
                        }
                    }
                    div.chat-offline #chat-offline role="status" hidden {
                        strong { "We're away right now." }
                        " Leave your message: common questions are answered right away, and the team replies here as soon as they're back."
                    }
                    section.chat-start #chat-start hidden {
                        h2 { "Hi there" }
                        p.chat-lead { "Ask us anything about your order, returns, or our products. We usually answer within minutes." }
                        form.chat-form #chat-start-form novalidate {
                            label.chat-field { span { "Your name" } input #chat-name name="name" type="text" autocomplete="name" maxlength="200" required; }
                            label.chat-field { span { "Email" } input #chat-email name="email" type="email" autocomplete="email" maxlength="320" required; }
                            label.chat-field { span { "How can we help?" } textarea #chat-first-message name="message" rows="3" maxlength="5000" required {} }
                            p.chat-error #chat-start-error role="alert" hidden {}
                            button.chat-button #chat-start-submit type="submit" { "Start chat" }
                        }
                        p.chat-fineprint { "We keep this conversation in this browser so you can come back to it." }
                    }
                    section.chat-conversation #chat-conversation hidden {
                        ol.chat-messages #chat-messages aria-live="polite" aria-label="Messages" {}
                        div.chat-typing #chat-typing hidden { span.typing-dots aria-hidden="true" { span {} span {} span {} } span #chat-typing-text { "Typing…" } }
                        section.chat-rating #chat-rating aria-labelledby="chat-rating-title" hidden {
                            form #chat-rating-form novalidate {
                                h3 #chat-rating-title { "How did we do?" }
                                fieldset.chat-stars #chat-stars {
                                    legend.chat-sr { "Your rating, from 1 (poor) to 5 stars (excellent)" }
                                    @for stars in 1..=5_u8 {
                                        input.chat-star-input id={ "chat-star-" (stars) } type="radio" name="rating" value=(stars);
                                        label.chat-star for={ "chat-star-" (stars) } data-stars=(stars) { span aria-hidden="true" { "★" } span.chat-sr { (stars) @if stars == 1 { " star" } @else { " stars" } } }
                                    }
                                }
                                label.chat-field { span { "Anything to add? (optional)" } textarea #chat-rating-comment name="comment" rows="2" maxlength="1000" {} }
                                p.chat-error #chat-rating-error role="alert" hidden {}
                                div.chat-rating-actions {
                                    button.chat-link #chat-rating-dismiss type="button" { "No thanks" }
                                    button.chat-button #chat-rating-submit type="submit" { "Send rating" }
                                }
                            }
                            p.chat-rating-thanks #chat-rating-thanks role="status" hidden { "Thank you for your feedback!" }
                        }
                        form.chat-composer #chat-composer {
                            textarea #chat-text name="text" rows="1" maxlength="5000" placeholder="Write a message…" aria-label="Message" {}
                            button.chat-send #chat-send type="submit" aria-label="Send" disabled { "Send" }
                        }
                    }
                    footer.chat-footer { "Powered by " strong { "Switchboard" } }
                }
            }
        }
    };
    let content_security_policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
        state.chat.frame_ancestors()
    );
    let mut response = (StatusCode::OK, markup).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_security_policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(title: Option<&str>, accent: Option<&str>) -> ChatPageQuery {
        ChatPageQuery { title: title.map(str::to_string), accent: accent.map(str::to_string), embed: None }
    }

    #[test]
    fn the_shop_may_name_and_colour_the_widget_within_bounds() {
        for (title, expected) in [(None, "Customer support"), (Some("  "), "Customer support"), (Some("Acme Outdoor"), "Acme Outdoor")] {
            assert_eq!(title_of(&query(title, None)), expected);
        }
        assert_eq!(title_of(&query(Some(&"x".repeat(100)), None)).len(), 60);
        for (accent, expected) in [(Some("#0a7"), Some("#0a7")), (Some("#12ab9F"), Some("#12ab9F")), (Some("red"), None), (Some("#12345"), None), (Some("#0a7;x:y"), None), (None, None)] {
            assert_eq!(accent_of(&query(None, accent)), expected, "{accent:?}");
        }
    }
}
