//! The customer chat channel: conversations started from the widget, their messages through
//! the same durable pipeline as every channel, delivery of replies, and typing hints.
//!
//! Hidden contracts:
//! - A conversation is opened by a secret handed out once at its start ([`Service::start_chat`]);
//!   the store keeps only its hash. Everything a customer does afterwards names the conversation
//!   by that secret, never by a ticket or customer id it could guess.
//! - A customer message is `receive`d on the chat channel with the conversation key as its
//!   thread and `chat-{conversation}:{client id}` as its idempotency key: the browser makes the
//!   client id before the first attempt, so a retried send is answered with the first one's
//!   result and stores nothing. The key is scoped by conversation, so two customers' client ids
//!   never collide.
//! - Chat replies (automatic or an agent's) are delivered by being committed to the
//!   conversation, which the customer reads through the API and hears of over `/ws`; the store
//!   writes their outbox entry already sent, in the reply's own transaction, so no entry waits
//!   for a sender that does not exist.

use chrono::Utc;
use sb_domain::Channel;
use sb_store::{ChatConversation, ChatMessage, NewCustomer};

use crate::{Error, EventKind, IncomingMessage, MessageReceipt, Result, Service};

/// Prefix of conversation secrets (tells them apart from API tokens in a leaked log).
const CHAT_TOKEN_PREFIX: &str = "sbc_";

/// Longest client message id kept in the idempotency key.
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 100;

/// Who is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingParty {
    Customer,
    Agent,
}

impl TypingParty {
    pub fn as_str(self) -> &'static str {
        match self {
            TypingParty::Customer => "customer",
            TypingParty::Agent => "agent",
        }
    }
}

impl Service {
    /// Starts a conversation for a customer; returns it and the secret that opens it (shown to
    /// the customer's browser once, never stored).
    pub async fn start_chat(&self, customer_name: &str, customer_email: &str) -> Result<(ChatConversation, String)> {
        let token = crate::new_secret(CHAT_TOKEN_PREFIX)?;
        let conversation = self.store().create_chat_conversation(&token, customer_name, customer_email, Utc::now()).await?;
        tracing::info!(conversation_id = conversation.id, "chat conversation started");
        Ok((conversation, token))
    }

    /// The conversation `token` opens.
    pub async fn chat_conversation(&self, token: &str) -> Result<Option<ChatConversation>> {
        Ok(self.store().chat_conversation_by_token(token).await?)
    }

    /// Receives a customer's chat message through the durable pipeline. `client_message_id`
    /// is the browser's id for this send (the idempotency key); `raw_payload` the request body.
    pub async fn receive_chat(&self, conversation: &ChatConversation, text: &str, client_message_id: &str, raw_payload: Vec<u8>) -> Result<MessageReceipt> {
        let client_message_id = client_message_id.trim();
        if client_message_id.is_empty() || client_message_id.chars().count() > MAX_CLIENT_MESSAGE_ID_CHARS {
            return Err(Error::Invalid(format!("the client message id must be 1 to {MAX_CLIENT_MESSAGE_ID_CHARS} characters")));
        }
        let incoming = IncomingMessage {
            channel: Channel::Chat,
            text: text.to_string(),
            body_is_html: false,
            subject: None,
            external_id: Some(format!("{}:{client_message_id}", conversation.conversation_key())),
            conversation_id: Some(conversation.conversation_key()),
            ticket_id: None,
            customer: NewCustomer { email: Some(conversation.customer_email.clone()), phone: None, name: Some(conversation.customer_name.clone()), external_id: None },
            metadata: Some(serde_json::json!({"chat": {"conversation_id": conversation.id}})),
            raw_payload,
            content_type: "application/json".into(),
        };
        self.receive(incoming).await
    }

    /// What the customer may read of the conversation after message `after_id`.
    pub async fn chat_history(&self, conversation: &ChatConversation, after_id: i64, limit: i64) -> Result<Vec<ChatMessage>> {
        Ok(self.store().chat_messages(conversation, after_id, limit).await?)
    }

    /// The conversation's tickets (what its live events are about).
    pub async fn chat_ticket_ids(&self, conversation: &ChatConversation) -> Result<Vec<i64>> {
        Ok(self.store().chat_ticket_ids(conversation).await?)
    }

    /// Tells the other side of a ticket's conversation that `party` is typing.
    pub fn publish_typing(&self, ticket_id: i64, party: TypingParty) {
        self.events().publish_transient(EventKind::Typing { ticket_id, party: party.as_str().to_string() });
    }
}
