//! LLM usage and its cost. The optional LLM provider (generated replies, summaries,
//! translation) records each call with [`Store::record_llm_usage`]; the cost report sums them
//! per period, provider, model and currency and divides by the tickets of the period. Until a
//! provider is wired in, nothing writes `llm_usage` and the report shows zeros, which is the
//! truth: no call was made.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ReportWindow;
use crate::{on_writer, to_ms, Error, Result, Store};

/// One call to an LLM provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLlmUsage {
    /// The ticket the call was for, if any.
    pub ticket_id: Option<i64>,
    /// `openai`, `azure_openai`, `ollama`, `vllm`…
    pub provider: String,
    pub model: String,
    /// `reply`, `summary`, `translation`…
    pub purpose: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// The price of the call in millionths of `currency` (0 for a local model).
    pub cost_micros: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

/// LLM spend of one period, provider, model and currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostRow {
    pub period_start: String,
    /// Null on the row of a period without any LLM call.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub currency: Option<String>,
    pub n_calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Millionths of the currency unit.
    pub cost_micros: i64,
    /// Tickets created in the period (the divisor of the cost per ticket).
    pub n_tickets: i64,
    /// Tickets whose first call with this provider, model and currency was in the period: a
    /// ticket counts once per model, so the periods of a window add up to the tickets of the
    /// whole window that used the model.
    pub n_tickets_with_llm: i64,
    /// cost_micros / n_tickets, rounded down; null without tickets.
    pub cost_per_ticket_micros: Option<i64>,
}

impl Store {
    /// Records one LLM call. Counts and cost may not be negative.
    pub async fn record_llm_usage(&self, usage: &NewLlmUsage) -> Result<i64> {
        if usage.prompt_tokens < 0 || usage.completion_tokens < 0 || usage.cost_micros < 0 {
            return Err(Error::Invalid("llm usage counts and cost cannot be negative".into()));
        }
        if usage.provider.trim().is_empty() || usage.model.trim().is_empty() || usage.currency.len() != 3 {
            return Err(Error::Invalid("llm usage needs a provider, a model and a three-letter currency".into()));
        }
        let id = on_writer!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO llm_usage (ticket_id, provider, model, purpose, prompt_tokens, completion_tokens, cost_micros, currency, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(usage.ticket_id)
            .bind(&usage.provider)
            .bind(&usage.model)
            .bind(&usage.purpose)
            .bind(usage.prompt_tokens)
            .bind(usage.completion_tokens)
            .bind(usage.cost_micros)
            .bind(usage.currency.to_ascii_uppercase())
            .bind(to_ms(usage.created_at))
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// LLM calls made in `window` per period, provider, model and currency, with the cost per
    /// ticket created in the period. A period without calls has one row of zeros (provider
    /// null) so that the tickets are still counted.
    pub async fn report_cost(&self, window: &ReportWindow) -> Result<Vec<CostRow>> {
        let mut usage_rows: Vec<(i64, CostRow)> = self
            .count_totals(&super::rollup::LLM, window)
            .await?
            .into_iter()
            .map(|(key, [n_calls, prompt_tokens, completion_tokens, cost_micros, n_first_calls])| {
                let row = CostRow {
                    provider: key.key1,
                    model: key.key2,
                    currency: key.key3,
                    n_calls,
                    prompt_tokens,
                    completion_tokens,
                    cost_micros,
                    n_tickets_with_llm: n_first_calls,
                    ..CostRow::default()
                };
                (key.period_idx, row)
            })
            .collect();
        // Ticket counts do not depend on the clock, so any built, clean rollup hour serves them.
        let ticket_counts: std::collections::HashMap<i64, i64> = self
            .ticket_totals(window, super::rollup::TicketBreakdown::Sla(super::SlaDimension::All), DateTime::<Utc>::MIN_UTC)
            .await?
            .into_iter()
            .map(|(key, totals)| (key.period_idx, totals.n_tickets))
            .collect();
        usage_rows.sort_by(|(left_period, left), (right_period, right)| {
            left_period.cmp(right_period).then_with(|| (&left.provider, &left.model, &left.currency).cmp(&(&right.provider, &right.model, &right.currency)))
        });
        let mut rows = Vec::new();
        let mut usage = usage_rows.into_iter().peekable();
        for period_idx in 0..window.n_periods() {
            let period_key = period_idx as i64;
            let n_tickets = ticket_counts.get(&period_key).copied().unwrap_or(0);
            let mut any = false;
            while let Some((_, row)) = usage.next_if(|(usage_period, _)| *usage_period == period_key) {
                any = true;
                let cost_per_ticket_micros = (n_tickets > 0).then(|| row.cost_micros / n_tickets);
                rows.push(CostRow { period_start: window.period_label(period_idx), n_tickets, cost_per_ticket_micros, ..row });
            }
            if !any {
                rows.push(CostRow { period_start: window.period_label(period_idx), n_tickets, cost_per_ticket_micros: (n_tickets > 0).then_some(0), ..CostRow::default() });
            }
        }
        Ok(rows)
    }
}
