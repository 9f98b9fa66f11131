//! An inbound customer message as it arrives from a channel.

use serde::{Deserialize, Serialize};

/// Where a message came from. The channel decides how the body is normalised (email bodies
/// carry quoted history and signatures, chat lines do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Chat,
    Voice,
    Api,
    /// Text messages relayed by an SMS gateway.
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Channel::Email, Channel::Chat, Channel::Voice, Channel::Api, Channel::Sms];

    /// The channel named `label` (`email`, `chat`, `voice`, `api`, `sms`).
    pub fn parse(label: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|channel| channel.as_str() == label)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Voice => "voice",
            Channel::Api => "api",
            Channel::Sms => "sms",
        }
    }
}

/// The text of one customer message, with the little context triage needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub channel: Channel,
    /// Subject line, when the channel has one (email).
    pub subject: Option<String>,
    /// The body as received: plain text or HTML.
    pub body: String,
    /// True when `body` is HTML rather than plain text.
    pub body_is_html: bool,
}

impl InboundMessage {
    pub fn chat(body: impl Into<String>) -> InboundMessage {
        InboundMessage { channel: Channel::Chat, subject: None, body: body.into(), body_is_html: false }
    }
}
