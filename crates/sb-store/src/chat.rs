//! Conversations of the customer chat widget (migration 0006): who started them, the hash of
//! the secret that proves a browser holds one, and what the customer may read of them.
//!
//! A conversation's messages are ordinary chat-channel messages: its tickets carry the
//! conversation key [`ChatConversation::conversation_key`], so the pipeline threads them like
//! any channel's. What a customer reads is only the inbound and outbound messages of those
//! tickets (never internal notes, never another conversation's).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::records::{parse_enum, Direction};
use crate::{from_ms, on_reader, on_writer, secret_hash, to_ms, Result, Store};

/// A chat a customer started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatConversation {
    pub id: i64,
    pub customer_name: String,
    pub customer_email: String,
    pub created_at: DateTime<Utc>,
}

impl ChatConversation {
    /// The thread key of its tickets (`tickets.conversation_key` on the chat channel).
    pub fn conversation_key(&self) -> String {
        format!("chat-{}", self.id)
    }
}

/// One message as the customer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: i64,
    pub ticket_id: i64,
    /// `inbound` (the customer's) or `outbound` (an automatic answer or an agent's reply).
    pub direction: Direction,
    pub body: String,
    pub metadata: Option<serde_json::Value>,
    /// The replying agent's name (outbound replies written by a person).
    pub author_name: Option<String>,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Records a new conversation; `token` is the secret handed to the customer (only its hash
    /// is kept).
    pub async fn create_chat_conversation(&self, token: &str, customer_name: &str, customer_email: &str, now: DateTime<Utc>) -> Result<ChatConversation> {
        let token_hash = secret_hash(token);
        let id: i64 = on_writer!(self, |pool| {
            sqlx::query_scalar("INSERT INTO chat_conversations (token_sha256, customer_name, customer_email, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(&token_hash)
                .bind(customer_name)
                .bind(customer_email)
                .bind(to_ms(now))
                .fetch_one(pool)
                .await?
        });
        Ok(ChatConversation { id, customer_name: customer_name.to_string(), customer_email: customer_email.to_string(), created_at: from_ms(to_ms(now)) })
    }

    /// The conversation `token` opens, if any.
    pub async fn chat_conversation_by_token(&self, token: &str) -> Result<Option<ChatConversation>> {
        let token_hash = secret_hash(token);
        let row = on_reader!(self, |pool| {
            let row = sqlx::query("SELECT id, customer_name, customer_email, created_at FROM chat_conversations WHERE token_sha256 = $1").bind(&token_hash).fetch_optional(pool).await?;
            row.map(|row| -> Result<ChatConversation> { Ok(ChatConversation { id: row.try_get("id")?, customer_name: row.try_get("customer_name")?, customer_email: row.try_get("customer_email")?, created_at: from_ms(row.try_get("created_at")?) }) })
                .transpose()?
        });
        Ok(row)
    }

    /// The conversation's tickets, oldest first (a closed one is followed by a new one).
    pub async fn chat_ticket_ids(&self, conversation: &ChatConversation) -> Result<Vec<i64>> {
        let key = conversation.conversation_key();
        let ids: Vec<i64> = on_reader!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM tickets WHERE channel = 'chat' AND conversation_key = $1 ORDER BY id").bind(&key).fetch_all(pool).await?
        });
        Ok(ids)
    }

    /// What the customer may read: the inbound and outbound messages of the conversation's
    /// tickets after message `after_id`, in order, at most `limit`.
    pub async fn chat_messages(&self, conversation: &ChatConversation, after_id: i64, limit: i64) -> Result<Vec<ChatMessage>> {
        let key = conversation.conversation_key();
        let rows = on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT messages.id, messages.ticket_id, messages.direction, messages.body, messages.metadata, messages.received_at, users.name AS author_name \
                 FROM messages JOIN tickets ON tickets.id = messages.ticket_id LEFT JOIN users ON users.id = messages.author_user_id \
                 WHERE tickets.channel = 'chat' AND tickets.conversation_key = $1 AND messages.direction IN ('inbound', 'outbound') AND messages.id > $2 \
                 ORDER BY messages.id LIMIT $3",
            )
            .bind(&key)
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| -> Result<ChatMessage> {
                    let metadata: Option<String> = row.try_get("metadata")?;
                    Ok(ChatMessage {
                        id: row.try_get("id")?,
                        ticket_id: row.try_get("ticket_id")?,
                        direction: parse_enum("direction", &row.try_get::<String, _>("direction")?, Direction::parse)?,
                        body: row.try_get("body")?,
                        metadata: metadata.and_then(|text| serde_json::from_str(&text).ok()),
                        author_name: row.try_get("author_name")?,
                        at: from_ms(row.try_get("received_at")?),
                    })
                })
                .collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }
}
