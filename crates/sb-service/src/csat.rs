//! Customer satisfaction: a customer rates a resolved ticket 1 to 5, with an optional comment,
//! from the chat widget (the conversation's latest ticket) or through a survey tool that posts
//! the answer to the API. The rating is about the agent the ticket is assigned to; a later
//! rating replaces an earlier one; each is audited. The agent-performance report averages them.

use chrono::Utc;
use sb_store::{ChatConversation, CsatRating, NewAuditEntry, TicketStatus};
use serde_json::json;

use crate::{Error, Result, Service};

/// Longest comment kept, in characters.
pub const MAX_CSAT_COMMENT_CHARS: usize = 1000;

/// How a rating came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsatSource {
    /// The customer, in the chat widget.
    Chat,
    /// A survey tool or integration, through the API.
    Api,
}

impl CsatSource {
    fn as_str(self) -> &'static str {
        match self {
            CsatSource::Chat => "chat",
            CsatSource::Api => "api",
        }
    }
}

impl Service {
    /// Records the customer's rating of a resolved (or closed) ticket. `actor` names who passed
    /// it on, for the audit log.
    pub async fn rate_ticket(&self, ticket_id: i64, rating: i64, comment: Option<&str>, source: CsatSource, actor: &str) -> Result<CsatRating> {
        if !(1..=5).contains(&rating) {
            return Err(Error::Invalid(format!("`rating` must be 1 to 5, not {rating}")));
        }
        let comment = comment.map(str::trim).filter(|comment| !comment.is_empty());
        if comment.is_some_and(|comment| comment.chars().count() > MAX_CSAT_COMMENT_CHARS) {
            return Err(Error::Invalid(format!("`comment` is longer than {MAX_CSAT_COMMENT_CHARS} characters")));
        }
        let ticket = self.store().ticket(ticket_id).await?;
        if !matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Closed) {
            return Err(Error::Invalid(format!("ticket {ticket_id} is {}: a ticket is rated once it is resolved", ticket.status.as_str())));
        }
        let audit = [NewAuditEntry::new(actor, "csat.recorded", "ticket", ticket_id, json!({"rating": rating, "source": source.as_str(), "has_comment": comment.is_some()}))];
        Ok(self.store().record_csat(ticket_id, rating, comment, source.as_str(), &audit, Utc::now()).await?)
    }

    /// The chat customer's rating of their conversation's latest ticket, once it is resolved.
    pub async fn rate_chat(&self, conversation: &ChatConversation, rating: i64, comment: Option<&str>) -> Result<CsatRating> {
        let ticket_id = *self.chat_ticket_ids(conversation).await?.last().ok_or_else(|| Error::Invalid("the conversation has no ticket yet: nothing to rate".into()))?;
        self.rate_ticket(ticket_id, rating, comment, CsatSource::Chat, &format!("chat:{}", conversation.id)).await
    }
}
