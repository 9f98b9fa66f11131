//! The decision policy of PRODUCT.md: where a triaged message goes, and why.
//!
//! - `safety_compliance` goes to the safety queue, always, and is never auto-replied.
//! - An auto-reply needs all of: a complete answer from the workflow (a knowledge-base article
//!   that reaches its score threshold, or a found order for `track_order`), auto-reply enabled
//!   for the intent, confidence at least the intent's threshold, sentiment not strongly
//!   negative, and a customer who is not VIP.
//! - Everything else goes to the human queue with a suggested reply; below the low-confidence
//!   threshold, with the top candidate intents shown.
//!
//! The decision lists every condition that blocked an auto-reply, not just the first, with the
//! thresholds it applied and the model versions it saw: it is the record agents and auditors
//! read.

use crate::actions::{contact_options_reply, ActionOutcome, PreparedAction};
use crate::config::PolicyConfig;
use crate::priority::{compute_priority, Priority, PriorityInput};
use crate::sla::{SlaState, SlaSubject};
use chrono::TimeDelta;
use sb_domain::{Category, Intent, ModelInfo, Order, RankedIntent, Severity, TriageResult};
use serde::{Deserialize, Serialize};

/// The best knowledge-base article the informational workflow found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleMatch {
    pub article_id: String,
    pub version: u32,
    pub title: String,
    /// The article's answer, as it may be sent to a customer.
    pub answer: String,
    /// The search score of this article for the message.
    pub score: f32,
    /// The score an article must reach to answer on its own.
    pub threshold: f32,
    /// Where customers read the whole article; the automatic answer links it.
    #[serde(default)]
    pub url: Option<String>,
    /// The answer written from the stored reply template of the message's intent and language
    /// (the engine fills it; the policy knows no store). `None`: no template exists, and the
    /// built-in format quotes the passage and links the article.
    #[serde(default)]
    pub reply: Option<TemplatedReply>,
}

/// An automatic answer rendered from a stored reply template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatedReply {
    pub template_id: i64,
    pub template_name: String,
    /// The template's language (the message's, or English when it has none in that language).
    pub language: String,
    /// The rendered text; a variable without a value stays as `{{name}}`.
    pub text: String,
    /// Variables the engine had no value for: such an answer is never sent automatically.
    pub missing: Vec<String>,
}

impl ArticleMatch {
    pub fn reaches_threshold(&self) -> bool {
        self.score >= self.threshold
    }
}

/// What the workflow for the message's category produced.
// One per message and moved rarely: boxing the large variant would only make it clumsier to build.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "workflow", rename_all = "snake_case")]
pub enum WorkflowOutcome {
    /// `None` until the knowledge base exists, and whenever search finds nothing.
    Informational { article: Option<ArticleMatch> },
    ServiceAction { order: Option<Order>, prepared: PreparedAction },
    Safety { severity: Severity },
}

/// What the decision needs to know about the customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerFlags {
    pub vip: bool,
    /// The sender is the customer of the order the message refers to (their address is the
    /// order's). An order's status is only sent automatically to its own customer: anyone can
    /// type an order number.
    pub owns_referenced_order: bool,
}

/// Everything a decision is made from.
#[derive(Debug, Clone)]
pub struct DecisionInput<'a> {
    pub triage: &'a TriageResult,
    pub customer: CustomerFlags,
    pub workflow: &'a WorkflowOutcome,
    /// How long the message has waited (zero when deciding on arrival; more on re-triage).
    pub waiting: TimeDelta,
    /// The worst state of the ticket's SLA clocks (on track for a new ticket).
    pub sla_state: SlaState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    AutoReply,
    HumanQueue,
    SafetyQueue,
}

/// Machine-readable reasons, stable for filters and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Auto-replied with a knowledge-base article.
    AutoReplyArticle,
    /// Auto-replied with the status of a found order.
    AutoReplyOrderStatus,
    SafetyCompliance,
    LowConfidence,
    NoArticleFound,
    ArticleBelowThreshold,
    OrderReferenceMissing,
    OrderNotFound,
    /// The order was found but its state needs a person (late, cancelled, returned).
    OrderNeedsFollowUp,
    /// The order was found but the sender is not its customer (or is not known): its status
    /// goes to a person, never automatically to whoever typed the number.
    OrderNotTheSenders,
    /// The service action changes an order or money, or needs judgement.
    ActionNeedsHuman,
    /// The workflow's result does not fit the triaged intent (a service bug, or a re-triage
    /// that changed the intent): nothing is sent automatically.
    WorkflowMismatch,
    AutoReplyDisabled,
    ConfidenceBelowThreshold,
    StronglyNegativeSentiment,
    VipCustomer,
    /// The channel refused an automatic answer to this sender (an email auto-reply, bounce,
    /// mailing list, our own address, or the sender's hourly budget spent): a person answers.
    /// Set by the engine after the policy, which knows nothing of channels.
    AutoAnswerRefused,
    /// An article answers the question, but its reply template has a variable without a value
    /// (say the customer's first name): a person sends the draft, never a reply with a hole.
    TemplateVariableMissing,
}

/// The thresholds the decision applied, kept so a later config change does not rewrite history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdsUsed {
    /// The auto-reply confidence threshold for this message's intent.
    pub auto_reply_confidence: f32,
    pub low_confidence: f32,
    pub strongly_negative_sentiment: f32,
    /// The article's score threshold, when an article was found.
    pub article_score: Option<f32>,
}

/// Where a message goes and why: the core of the decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub route: Route,
    /// The main reason.
    pub reason_code: ReasonCode,
    /// The reason in a sentence or two, for agents and auditors.
    pub reason: String,
    /// Every condition that kept the message from an auto-reply, in the order the policy checks
    /// them; empty for an auto-reply.
    pub auto_reply_blockers: Vec<ReasonCode>,
    pub intent: Intent,
    pub confidence: f32,
    /// Set for `safety_compliance`.
    pub severity: Option<Severity>,
    pub thresholds: ThresholdsUsed,
    /// The model that triaged the message.
    pub model: ModelInfo,
    pub priority: Priority,
    pub low_confidence: bool,
    /// The top candidate intents when confidence is low; empty otherwise.
    pub candidates: Vec<RankedIntent>,
    /// The reply sent to the customer; only for `AutoReply`.
    pub reply: Option<String>,
    /// A draft for the agent; for the human queue.
    pub suggested_reply: Option<String>,
}

/// What the workflow contributes: a complete answer, or why there is none, and a draft.
struct WorkflowAnswer {
    complete_reply: Option<(ReasonCode, String)>,
    blocker: Option<ReasonCode>,
    draft: Option<String>,
    article_threshold: Option<f32>,
}

fn workflow_answer(triage: &TriageResult, workflow: &WorkflowOutcome, customer: &CustomerFlags, policy_config: &PolicyConfig) -> WorkflowAnswer {
    let contact_reply = || contact_options_reply(&policy_config.contact_options);
    let mismatch = || WorkflowAnswer { complete_reply: None, blocker: Some(ReasonCode::WorkflowMismatch), draft: None, article_threshold: None };
    match workflow {
        WorkflowOutcome::Informational { .. } if triage.category != Category::Informational => mismatch(),
        WorkflowOutcome::Informational { article: None } => WorkflowAnswer { complete_reply: None, blocker: Some(ReasonCode::NoArticleFound), draft: Some(contact_reply()), article_threshold: None },
        WorkflowOutcome::Informational { article: Some(article) } if !article.reaches_threshold() => {
            WorkflowAnswer { complete_reply: None, blocker: Some(ReasonCode::ArticleBelowThreshold), draft: Some(contact_reply()), article_threshold: Some(article.threshold) }
        }
        WorkflowOutcome::Informational { article: Some(article) } => match &article.reply {
            Some(templated) if !templated.missing.is_empty() => {
                WorkflowAnswer { complete_reply: None, blocker: Some(ReasonCode::TemplateVariableMissing), draft: Some(templated.text.clone()), article_threshold: Some(article.threshold) }
            }
            Some(templated) => WorkflowAnswer {
                complete_reply: Some((ReasonCode::AutoReplyArticle, templated.text.clone())),
                blocker: None,
                draft: Some(templated.text.clone()),
                article_threshold: Some(article.threshold),
            },
            None => {
                let reply = built_in_article_reply(article);
                WorkflowAnswer { complete_reply: Some((ReasonCode::AutoReplyArticle, reply.clone())), blocker: None, draft: Some(reply), article_threshold: Some(article.threshold) }
            }
        },
        WorkflowOutcome::ServiceAction { order, prepared } => {
            let draft = Some(prepared.draft_reply.clone());
            if triage.category != Category::ServiceAction || prepared.intent != triage.intent {
                return mismatch();
            }
            let blocker = match &prepared.outcome {
                ActionOutcome::OrderReferenceMissing => Some(ReasonCode::OrderReferenceMissing),
                ActionOutcome::OrderNotFound { .. } => Some(ReasonCode::OrderNotFound),
                ActionOutcome::Tracking(_) if !prepared.complete_answer => Some(ReasonCode::OrderNeedsFollowUp),
                ActionOutcome::Tracking(_) if !customer.owns_referenced_order => Some(ReasonCode::OrderNotTheSenders),
                // The product rule: only an order found for track_order is a complete answer.
                ActionOutcome::Tracking(_) if order.is_some() && prepared.intent == Intent::TrackOrder => None,
                _ => Some(ReasonCode::ActionNeedsHuman),
            };
            match blocker {
                Some(blocker) => WorkflowAnswer { complete_reply: None, blocker: Some(blocker), draft, article_threshold: None },
                None => WorkflowAnswer { complete_reply: Some((ReasonCode::AutoReplyOrderStatus, prepared.draft_reply.clone())), blocker: None, draft, article_threshold: None },
            }
        }
        // Reached only when triage did not say safety but the workflow did; `decide` routes on
        // either, so this answer is never used for routing.
        WorkflowOutcome::Safety { .. } => WorkflowAnswer { complete_reply: None, blocker: Some(ReasonCode::SafetyCompliance), draft: None, article_threshold: None },
    }
}

/// The automatic answer when no reply template exists for the intent: the passage, then the
/// article's title, link, id and version.
fn built_in_article_reply(article: &ArticleMatch) -> String {
    match &article.url {
        Some(url) => format!("{}\n\nFrom our help article \"{}\": {url} (article {} version {}).", article.answer.trim_end(), article.title, article.article_id, article.version),
        None => format!("{}\n\n(From our help article \"{}\", article {} version {}.)", article.answer.trim_end(), article.title, article.article_id, article.version),
    }
}

/// Decides where the message goes.
pub fn decide(decision_input: &DecisionInput<'_>, policy_config: &PolicyConfig) -> Decision {
    let triage = decision_input.triage;
    let intent = triage.intent;
    let workflow_severity = match decision_input.workflow {
        WorkflowOutcome::Safety { severity } => Some(*severity),
        WorkflowOutcome::Informational { .. } | WorkflowOutcome::ServiceAction { .. } => None,
    };
    // Safety wins: any sign of safety_compliance — the category, the intent or the workflow —
    // sends the message to the safety queue.
    let is_safety = triage.category == Category::SafetyCompliance || intent.is_safety() || workflow_severity.is_some();
    // A safety ticket without a severity is treated as high, not standard: a missing value must
    // not make a safety case wait longer.
    let severity = is_safety.then(|| workflow_severity.or(triage.severity).unwrap_or(Severity::High));

    let auto_reply_threshold = policy_config.auto_reply_threshold_for(intent);
    // A NaN confidence (a broken model) counts as low: it must never pass a threshold.
    let low_confidence = triage.confidence.is_nan() || triage.confidence < policy_config.low_confidence_threshold;
    let candidates = if low_confidence { triage.ranking.iter().take(policy_config.low_confidence_candidates).cloned().collect() } else { Vec::new() };
    let sentiment_score = triage.sentiment.score;
    let strongly_negative = sentiment_score <= policy_config.strongly_negative_sentiment;

    let priority = compute_priority(
        &PriorityInput { severity, sentiment_score, vip: decision_input.customer.vip, waiting: decision_input.waiting, sla_state: decision_input.sla_state },
        &policy_config.priority_weights,
    );
    let answer = workflow_answer(triage, decision_input.workflow, &decision_input.customer, policy_config);

    // Every blocker, in the order the policy checks them.
    let mut blockers = Vec::new();
    if is_safety {
        blockers.push(ReasonCode::SafetyCompliance);
    }
    if low_confidence {
        blockers.push(ReasonCode::LowConfidence);
    }
    if !is_safety {
        blockers.extend(answer.blocker);
        if !policy_config.auto_reply_enabled_for(intent) {
            blockers.push(ReasonCode::AutoReplyDisabled);
        }
        // Low confidence already says the confidence is too low; listing both would be noise.
        if !low_confidence && triage.confidence < auto_reply_threshold {
            blockers.push(ReasonCode::ConfidenceBelowThreshold);
        }
        if strongly_negative {
            blockers.push(ReasonCode::StronglyNegativeSentiment);
        }
        if decision_input.customer.vip {
            blockers.push(ReasonCode::VipCustomer);
        }
    }

    let thresholds = ThresholdsUsed {
        auto_reply_confidence: auto_reply_threshold,
        low_confidence: policy_config.low_confidence_threshold,
        strongly_negative_sentiment: policy_config.strongly_negative_sentiment,
        article_score: answer.article_threshold,
    };
    let facts = Facts { decision_input, policy_config, auto_reply_threshold, severity };

    let (route, reason_code, reply, suggested_reply) = match (blockers.first(), answer.complete_reply) {
        (None, Some((auto_reply_code, reply_text))) => (Route::AutoReply, auto_reply_code, Some(reply_text), None),
        (Some(ReasonCode::SafetyCompliance), _) => (Route::SafetyQueue, ReasonCode::SafetyCompliance, None, None),
        (Some(&first_blocker), _) => (Route::HumanQueue, first_blocker, None, answer.draft),
        // No blocker but no complete answer cannot happen (a missing answer is a blocker);
        // should it ever, the message goes to a person rather than out unanswered.
        (None, None) => (Route::HumanQueue, ReasonCode::ActionNeedsHuman, None, answer.draft),
    };

    let mut reason = facts.sentence(reason_code, route);
    let other_blockers: Vec<String> = blockers.iter().filter(|&&blocker| blocker != reason_code).map(|&blocker| facts.clause(blocker)).collect();
    if !other_blockers.is_empty() && route == Route::HumanQueue {
        reason.push_str(&format!(" Also kept from an auto-reply: {}.", other_blockers.join("; ")));
    }
    if low_confidence && route == Route::SafetyQueue {
        reason.push_str(&format!(" {}.", capitalize(&facts.clause(ReasonCode::LowConfidence))));
    }

    Decision {
        route,
        reason_code,
        reason,
        auto_reply_blockers: blockers,
        intent,
        confidence: triage.confidence,
        severity,
        thresholds,
        model: triage.model.clone(),
        priority,
        low_confidence,
        candidates,
        reply,
        suggested_reply,
    }
}

impl Decision {
    /// What SLA policy selection needs, from this decision and the triage it was made from.
    /// A message the decision treated as safety (because the workflow said so, say) is a
    /// `safety_compliance` subject even if triage's category was not, so the safety SLAs apply.
    pub fn sla_subject(&self, triage: &TriageResult) -> SlaSubject {
        let category = if self.severity.is_some() { Category::SafetyCompliance } else { triage.category };
        SlaSubject { category, intent: self.intent, severity: self.severity, priority: self.priority.score }
    }
}

/// The values reason sentences quote.
struct Facts<'a, 'b> {
    decision_input: &'a DecisionInput<'b>,
    policy_config: &'a PolicyConfig,
    auto_reply_threshold: f32,
    severity: Option<Severity>,
}

impl Facts<'_, '_> {
    fn order_number(&self) -> Option<&str> {
        match self.decision_input.workflow {
            WorkflowOutcome::ServiceAction { prepared, .. } => prepared.order_number.as_deref(),
            WorkflowOutcome::Informational { .. } | WorkflowOutcome::Safety { .. } => None,
        }
    }

    fn article(&self) -> Option<&ArticleMatch> {
        match self.decision_input.workflow {
            WorkflowOutcome::Informational { article } => article.as_ref(),
            WorkflowOutcome::ServiceAction { .. } | WorkflowOutcome::Safety { .. } => None,
        }
    }

    /// A short clause for a blocker, used when listing secondary reasons.
    fn clause(&self, reason_code: ReasonCode) -> String {
        let triage = self.decision_input.triage;
        let intent = triage.intent;
        match reason_code {
            ReasonCode::AutoReplyArticle | ReasonCode::AutoReplyOrderStatus => "all auto-reply conditions hold".to_string(),
            ReasonCode::SafetyCompliance => "safety_compliance is never auto-replied".to_string(),
            ReasonCode::LowConfidence => {
                let candidates: Vec<String> = triage.ranking.iter().take(self.policy_config.low_confidence_candidates).map(|ranked| format!("{} {:.2}", ranked.intent, ranked.probability)).collect();
                format!("low confidence {:.2} (below {:.2}; top candidates: {})", triage.confidence, self.policy_config.low_confidence_threshold, if candidates.is_empty() { "none".to_string() } else { candidates.join(", ") })
            }
            ReasonCode::NoArticleFound => "no knowledge-base article found".to_string(),
            ReasonCode::ArticleBelowThreshold => match self.article() {
                Some(article) => format!("the best knowledge-base article \"{}\" scored {:.2}, below its threshold {:.2}", article.title, article.score, article.threshold),
                None => "no knowledge-base article reached its threshold".to_string(),
            },
            ReasonCode::OrderReferenceMissing => "no order number in the message".to_string(),
            ReasonCode::OrderNotFound => format!("order #{} was not found", self.order_number().unwrap_or("?")),
            ReasonCode::OrderNeedsFollowUp => format!("order #{} needs a follow-up (late, cancelled or returned)", self.order_number().unwrap_or("?")),
            ReasonCode::OrderNotTheSenders => format!("order #{} is not the sender's (another customer's address, or none): its status is not sent automatically", self.order_number().unwrap_or("?")),
            ReasonCode::ActionNeedsHuman => format!("a {intent} request needs a person to act on it"),
            ReasonCode::WorkflowMismatch => format!("the workflow's result does not fit the triaged intent {intent}"),
            ReasonCode::AutoReplyDisabled => format!("auto-reply is disabled for {intent}"),
            ReasonCode::ConfidenceBelowThreshold => format!("confidence {:.2} is below the auto-reply threshold {:.2} for {intent}", triage.confidence, self.auto_reply_threshold),
            ReasonCode::StronglyNegativeSentiment => format!("sentiment {:.2} is strongly negative (at or below {:.2})", triage.sentiment.score, self.policy_config.strongly_negative_sentiment),
            ReasonCode::VipCustomer => "the customer is VIP".to_string(),
            ReasonCode::AutoAnswerRefused => "the channel refused an automatic answer to this sender".to_string(),
            ReasonCode::TemplateVariableMissing => match self.article().and_then(|article| article.reply.as_ref().map(|reply| (article, reply))) {
                Some((article, reply)) => format!(
                    "the article \"{}\" answers it, but the reply template \"{}\" has no value for {}",
                    article.title,
                    reply.template_name,
                    reply.missing.join(", ")
                ),
                None => "the reply template has a variable without a value".to_string(),
            },
        }
    }

    /// The main reason as a sentence.
    fn sentence(&self, reason_code: ReasonCode, route: Route) -> String {
        let triage = self.decision_input.triage;
        let intent = triage.intent;
        match reason_code {
            ReasonCode::AutoReplyArticle => {
                let title = self.article().map(|article| article.title.as_str()).unwrap_or("?");
                format!(
                    "Auto-replied with the knowledge-base article \"{title}\": {intent} confidence {:.2} reaches {:.2}, sentiment {:.2} is not strongly negative, and the customer is not VIP.",
                    triage.confidence, self.auto_reply_threshold, triage.sentiment.score
                )
            }
            ReasonCode::AutoReplyOrderStatus => format!(
                "Auto-replied with the status of order #{}: {intent} confidence {:.2} reaches {:.2}, sentiment {:.2} is not strongly negative, and the customer is not VIP.",
                self.order_number().unwrap_or("?"),
                triage.confidence,
                self.auto_reply_threshold,
                triage.sentiment.score
            ),
            ReasonCode::SafetyCompliance => format!(
                "Safety/compliance message ({intent}, severity {}): never auto-replied; sent to the safety queue.",
                self.severity.map_or("unknown", Severity::as_str)
            ),
            ReasonCode::NoArticleFound => {
                format!("No knowledge-base article found for this {intent} question, so it goes to a person; the suggested reply offers contact options instead of an answer.")
            }
            ReasonCode::ArticleBelowThreshold => format!("{}, so it goes to a person; the suggested reply offers contact options instead of an answer.", capitalize(&self.clause(reason_code))),
            ReasonCode::TemplateVariableMissing => {
                format!("{}, so it goes to a person with the draft: an automatic answer never sends a variable empty.", capitalize(&self.clause(reason_code)))
            }
            _ => {
                let destination = if route == Route::HumanQueue { "sent to the human queue" } else { "routed" };
                format!("{} — {destination}.", capitalize(&self.clause(reason_code)))
            }
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
