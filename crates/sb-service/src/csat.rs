//! Customer satisfaction: a customer rates a resolved ticket 1 to 5, with an optional comment,
//! from the chat widget (the conversation's latest ticket) or through a survey tool that posts
//! the answer to the API. The rating is about the agent the ticket is assigned to; a later
//! rating replaces an earlier one; each is audited. The agent-performance report averages them.
//!
//! When an agent resolves an email ticket, the customer gets one mail (through the outbox, on
//! the ticket's thread) with a link to a public rating page: `{public_url}/rate/{secret}`. The
//! secret is random and stored only as its sha256 (`Store::create_csat_survey`); the link works
//! for [`SURVEY_VALID_DAYS`] days, needs no login, and posts to [`Service::rate_by_survey`],
//! which goes through the same checks as every rating. One survey per ticket: reopening and
//! resolving again does not mail the customer twice.

use chrono::{DateTime, TimeDelta, Utc};
use sb_domain::Channel;
use sb_store::{ChatConversation, CsatRating, Direction, NewAuditEntry, NewOutbound, Ticket, TicketStatus};
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
    /// The rating page of the survey link mailed at resolution.
    Email,
}

/// How long a mailed survey link works.
pub const SURVEY_VALID_DAYS: i64 = 30;
/// Prefix of a survey link's secret.
const SURVEY_SECRET_PREFIX: &str = "sbr_";

/// What a survey link opens.
#[derive(Debug, Clone, PartialEq)]
pub enum SurveyLink {
    /// A ticket the customer may rate, with its rating so far.
    Open { ticket_id: i64, rating: Option<CsatRating>, expires_at: DateTime<Utc> },
    /// The link's time ran out.
    Expired,
    /// No survey has this secret.
    Unknown,
}

impl CsatSource {
    fn as_str(self) -> &'static str {
        match self {
            CsatSource::Chat => "chat",
            CsatSource::Api => "api",
            CsatSource::Email => "email",
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

    /// What the chat widget asks for: the conversation's latest ticket when it is resolved (or
    /// closed), and whether it has a rating already. `None` while there is nothing to rate.
    pub async fn chat_rating_state(&self, conversation: &ChatConversation) -> Result<Option<(i64, bool)>> {
        let Some(&ticket_id) = self.chat_ticket_ids(conversation).await?.last() else { return Ok(None) };
        let ticket = self.store().ticket(ticket_id).await?;
        if !matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Closed) {
            return Ok(None);
        }
        Ok(Some((ticket_id, self.store().ticket_csat(ticket_id).await?.is_some())))
    }

    /// The chat customer's rating of their conversation's latest ticket, once it is resolved.
    pub async fn rate_chat(&self, conversation: &ChatConversation, rating: i64, comment: Option<&str>) -> Result<CsatRating> {
        let ticket_id = *self.chat_ticket_ids(conversation).await?.last().ok_or_else(|| Error::Invalid("the conversation has no ticket yet: nothing to rate".into()))?;
        self.rate_ticket(ticket_id, rating, comment, CsatSource::Chat, &format!("chat:{}", conversation.id)).await
    }

    /// Mails the customer of an email ticket a link to rate it, once per ticket, through the
    /// outbox (the ticket's thread, like a reply). `None` when there is nobody to mail, the
    /// ticket is not an email ticket or already has a survey; otherwise the mail's message id.
    pub async fn send_csat_survey(&self, ticket: &Ticket) -> Result<Option<i64>> {
        if ticket.channel != Channel::Email {
            return Ok(None);
        }
        let Some(customer_id) = ticket.customer_id else { return Ok(None) };
        let customer = self.store().customer(customer_id).await?;
        let Some(recipient) = customer.email.clone() else { return Ok(None) };
        let secret = crate::new_secret(SURVEY_SECRET_PREFIX)?;
        let link = survey_link(&self.config().public_url, &secret);
        let greeting = customer.name.as_deref().map(str::trim).filter(|name| !name.is_empty()).map_or_else(|| "Hello,".to_string(), |name| format!("Hello {},", name.split_whitespace().next().unwrap_or(name)));
        let signer = if self.config().answer_signer.is_empty() { crate::DEFAULT_ANSWER_SIGNER } else { self.config().answer_signer.as_str() };
        let body = format!(
            "{greeting}\n\nWe have marked your request as resolved. How did we do? Rate us in one click, no sign-in needed:\n\n{link}\n\nIf anything is still not right, just reply to this email and we will pick it up again.\n\n{signer}"
        );
        let outbound = NewOutbound {
            direction: Direction::Outbound,
            channel: Channel::Email,
            author_user_id: None,
            subject: ticket.subject.as_ref().map(|subject| if subject.starts_with("Re: ") { subject.clone() } else { format!("Re: {subject}") }),
            body,
            recipient: Some(recipient),
            metadata: Some(json!({"automatic": true, "csat_survey": true})),
        };
        let now = Utc::now();
        let audit = [NewAuditEntry::new("system", "csat.survey_sent", "ticket", ticket.id, json!({"valid_days": SURVEY_VALID_DAYS}))];
        let expires_at = now + TimeDelta::days(SURVEY_VALID_DAYS);
        let message_id = self.store().create_csat_survey(ticket.id, &sb_store::secret_hash(&secret), expires_at, &outbound, &audit, now).await?;
        if let Some(message_id) = message_id {
            self.publish_message_added(ticket.id, message_id, Direction::Outbound);
        }
        Ok(message_id)
    }

    /// What a survey link's secret opens.
    pub async fn survey_link(&self, secret: &str) -> Result<SurveyLink> {
        if !secret.starts_with(SURVEY_SECRET_PREFIX) || secret.len() > 100 {
            return Ok(SurveyLink::Unknown);
        }
        let Some(survey) = self.store().csat_survey_by_token_hash(&sb_store::secret_hash(secret)).await? else { return Ok(SurveyLink::Unknown) };
        if survey.expires_at <= Utc::now() {
            return Ok(SurveyLink::Expired);
        }
        let rating = self.store().ticket_csat(survey.ticket_id).await?;
        Ok(SurveyLink::Open { ticket_id: survey.ticket_id, rating, expires_at: survey.expires_at })
    }

    /// The customer's rating from the survey page. `None` when the link is unknown or expired.
    pub async fn rate_by_survey(&self, secret: &str, rating: i64, comment: Option<&str>) -> Result<Option<CsatRating>> {
        let SurveyLink::Open { ticket_id, .. } = self.survey_link(secret).await? else { return Ok(None) };
        Ok(Some(self.rate_ticket(ticket_id, rating, comment, CsatSource::Email, &format!("survey:{ticket_id}")).await?))
    }
}

/// The public address of a survey: `{public_url}/rate/{secret}`.
fn survey_link(public_url: &str, secret: &str) -> String {
    format!("{}/rate/{secret}", public_url.trim_end_matches('/'))
}
