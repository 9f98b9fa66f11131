//! The service-action workflow's prepared actions: what the shop's policy allows for the order
//! a customer wrote about, worked out before a person (or an auto-reply) answers.
//!
//! The service looks the order up through its order connector and passes the outcome in as an
//! [`OrderLookup`]; this module only applies the rules of PRODUCT.md — tracking status with the
//! carrier link, cancel only before shipping, change only before shipping, refund within the
//! policy window, account steps — and writes the texts: a one-line summary for the agent and a
//! draft reply for the customer. Drafts are filled only from values that exist: a missing
//! date, carrier or name drops its phrase rather than leaving a blank.
//!
//! Only a track-order answer for a found order in a plain state (not late, not cancelled) is a
//! complete answer that may be sent without a person; every other action needs one, because it
//! changes an order or money, or because the customer's situation needs judgement.

use crate::config::{ContactOptions, PolicyConfig};
use crate::{Error, Result};
use chrono::{NaiveDate, TimeDelta};
use sb_domain::{Carrier, Intent, Order, OrderStatus};
use serde::{Deserialize, Serialize};

/// What the order lookup found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "lookup", rename_all = "snake_case")]
pub enum OrderLookup {
    /// The message quotes no order number (and no tracking number the shop knows).
    NoReference,
    /// The message quotes `order_number`, but the shop has no such order.
    NotFound { order_number: String },
    Found { order: Order },
}

impl OrderLookup {
    pub fn order(&self) -> Option<&Order> {
        match self {
            OrderLookup::Found { order } => Some(order),
            OrderLookup::NoReference | OrderLookup::NotFound { .. } => None,
        }
    }
}

/// The action prepared for one service-action message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedAction {
    pub intent: Intent,
    /// The order concerned: as found, or as quoted when it was not found.
    pub order_number: Option<String>,
    pub outcome: ActionOutcome,
    /// One sentence for the agent.
    pub summary: String,
    /// A reply to the customer: sent as is for a complete answer, otherwise a draft the agent
    /// edits.
    pub draft_reply: String,
    /// True when a person must act or decide before the customer has a full answer.
    pub needs_human: bool,
    /// True when `draft_reply` fully answers the message, so it may be auto-replied if the
    /// decision policy's other conditions hold.
    pub complete_answer: bool,
}

/// The intent-specific result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionOutcome {
    /// No order number in the message: the customer is asked for it.
    OrderReferenceMissing,
    /// The quoted order does not exist: the customer is asked to check the number.
    OrderNotFound { order_number: String },
    Tracking(TrackingStatus),
    Cancellation(Eligibility),
    Change(Eligibility),
    Refund(RefundEligibility),
    /// Damaged, defective, wrong or missing items: a replacement or a refund, for a person to
    /// arrange once the customer has shown what arrived.
    ReplacementOrRefund { order_status: OrderStatus, refund_amount_minor: i64, currency: String },
    AccountSteps { steps: Vec<String> },
    PaymentReview { order_status: OrderStatus, total_minor: i64, currency: String },
    ComplaintReview { order_status: Option<OrderStatus> },
}

/// Where an order is, in the customer's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingStatus {
    pub order_status: OrderStatus,
    pub carrier: Option<Carrier>,
    pub tracking_number: Option<String>,
    /// The carrier's public tracking page for `tracking_number`.
    pub tracking_url: Option<String>,
    pub shipped_on: Option<NaiveDate>,
    /// The delivery date promised to the customer.
    pub expected_on: Option<NaiveDate>,
    pub delivered_on: Option<NaiveDate>,
    /// Not delivered and past the promised date ([`Order::is_late`]).
    pub late: bool,
    /// `shipped on June 3, 2024 with UPS, expected June 6, 2024`.
    pub status_text: String,
}

/// Whether a cancellation or change is allowed, and if not, what the customer can do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    pub allowed: bool,
    pub order_status: OrderStatus,
    /// Why, in a sentence fragment (`the order already shipped on June 3, 2024`).
    pub reason: String,
    /// What to offer instead when refused.
    pub alternative: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundVerdict {
    /// Within the return window: a return is refunded.
    WithinWindow,
    OutsideWindow,
    /// Not shipped yet: cancelling refunds in full, no return needed.
    CancelInstead,
    /// Cancelled: the payment is refunded with the cancellation.
    RefundedWithCancellation,
    /// The return has arrived: the refund is due.
    ReturnReceived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundWindowStart {
    Delivery,
    /// Used when the order has not been delivered (or its delivery date is unknown).
    OrderDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEligibility {
    pub verdict: RefundVerdict,
    /// Any verdict but `OutsideWindow`.
    pub eligible: bool,
    pub order_status: OrderStatus,
    pub window_days: u32,
    pub window_counted_from: RefundWindowStart,
    /// The last day a return is accepted.
    pub window_ends_on: NaiveDate,
    /// Days from today to `window_ends_on`; negative once it has passed.
    pub days_left: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
}

/// The intents that concern one order: without an order they can only ask for its number.
fn needs_order(intent: Intent) -> bool {
    matches!(intent, Intent::TrackOrder | Intent::CancelOrder | Intent::ChangeOrder | Intent::ReturnRefund | Intent::DamagedOrWrongItem | Intent::PaymentIssue)
}

/// Prepares the action for a `service_action` intent; other intents have none.
pub fn prepare_action(intent: Intent, order_lookup: &OrderLookup, today: NaiveDate, policy_config: &PolicyConfig) -> Result<PreparedAction> {
    if intent.category() != sb_domain::Category::ServiceAction {
        return Err(Error::NotAServiceActionIntent { intent });
    }
    let contact_options = &policy_config.contact_options;
    let found_order = order_lookup.order();
    if needs_order(intent) {
        match order_lookup {
            OrderLookup::NoReference => return Ok(order_reference_missing(intent, contact_options)),
            OrderLookup::NotFound { order_number } => return Ok(order_not_found(intent, order_number, contact_options)),
            OrderLookup::Found { .. } => {}
        }
    }
    let prepared_action = match (intent, found_order) {
        (Intent::TrackOrder, Some(order)) => track_order(order, today, contact_options),
        (Intent::CancelOrder, Some(order)) => cancel_order(order, today, policy_config),
        (Intent::ChangeOrder, Some(order)) => change_order(order, today, policy_config),
        (Intent::ReturnRefund, Some(order)) => return_refund(order, today, policy_config),
        (Intent::DamagedOrWrongItem, Some(order)) => damaged_or_wrong_item(order, contact_options),
        (Intent::PaymentIssue, Some(order)) => payment_issue(order, contact_options),
        (Intent::AccountUpdate, _) => account_update(found_order, contact_options),
        (Intent::Complaint, _) => complaint(found_order, contact_options),
        // Every order-bound intent returned above when no order was found.
        (_, None) => order_reference_missing(intent, contact_options),
        (_, Some(_)) => return Err(Error::NotAServiceActionIntent { intent }),
    };
    Ok(prepared_action)
}

// ---- texts shared by the drafts ----

fn greeting(customer_name: Option<&str>) -> String {
    match customer_name.and_then(|name| name.split_whitespace().next()) {
        Some(first_name) => format!("Hi {first_name},"),
        None => "Hi there,".to_string(),
    }
}

fn sign_off(contact_options: &ContactOptions) -> String {
    format!("Best regards,\n{}", contact_options.team_name)
}

fn letter(customer_name: Option<&str>, paragraphs: &[String], contact_options: &ContactOptions) -> String {
    let mut parts = vec![greeting(customer_name)];
    parts.extend(paragraphs.iter().filter(|paragraph| !paragraph.is_empty()).cloned());
    parts.push(sign_off(contact_options));
    parts.join("\n\n")
}

fn format_date(date: NaiveDate) -> String {
    date.format("%B %-d, %Y").to_string()
}

/// `49.90 USD`; minor units per ISO 4217 for the common zero- and three-decimal currencies.
pub fn format_money(amount_minor: i64, currency: &str) -> String {
    const ZERO_DECIMAL: [&str; 10] = ["JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF"];
    const THREE_DECIMAL: [&str; 7] = ["BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"];
    let currency_code = currency.to_ascii_uppercase();
    let n_decimals = if ZERO_DECIMAL.contains(&currency_code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&currency_code.as_str()) {
        3
    } else {
        2
    };
    let sign = if amount_minor < 0 { "-" } else { "" };
    let absolute_minor = amount_minor.unsigned_abs();
    if n_decimals == 0 {
        return format!("{sign}{absolute_minor} {currency_code}");
    }
    let scale = 10u64.pow(n_decimals);
    format!("{sign}{}.{:0width$} {currency_code}", absolute_minor / scale, absolute_minor % scale, width = n_decimals as usize)
}

pub fn carrier_name(carrier: Carrier) -> &'static str {
    match carrier {
        Carrier::Ups => "UPS",
        Carrier::Fedex => "FedEx",
        Carrier::Usps => "USPS",
        Carrier::Dhl => "DHL",
    }
}

/// The carrier's public tracking page for `tracking_number`, or `None` when the number is
/// blank.
pub fn tracking_url(carrier: Carrier, tracking_number: &str) -> Option<String> {
    // Tracking numbers are quoted with spaces ("1Z 999 AA1 01 2345 6784"); carriers want them
    // without. Anything that is not alphanumeric is percent-encoded so the URL stays one URL.
    let mut encoded = String::new();
    for character in tracking_number.chars().filter(|character| !character.is_whitespace()) {
        if character.is_ascii_alphanumeric() {
            encoded.push(character);
        } else {
            let mut buffer = [0u8; 4];
            for byte in character.encode_utf8(&mut buffer).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if encoded.is_empty() {
        return None;
    }
    Some(match carrier {
        Carrier::Ups => format!("https://www.ups.com/track?tracknum={encoded}"),
        Carrier::Fedex => format!("https://www.fedex.com/fedextrack/?trknbr={encoded}"),
        Carrier::Usps => format!("https://tools.usps.com/go/TrackConfirmAction?tLabels={encoded}"),
        Carrier::Dhl => format!("https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={encoded}"),
    })
}

// ---- order missing ----

/// What the customer wanted done with the order, to say why the number is needed.
fn purpose(intent: Intent) -> &'static str {
    match intent {
        Intent::TrackOrder => "check where your order is",
        Intent::CancelOrder => "look at cancelling your order",
        Intent::ChangeOrder => "look at changing your order",
        Intent::ReturnRefund => "help with your return or refund",
        Intent::DamagedOrWrongItem => "sort out the problem with your order",
        Intent::PaymentIssue => "look into the payment",
        _ => "help with your order",
    }
}

fn order_reference_missing(intent: Intent, contact_options: &ContactOptions) -> PreparedAction {
    let where_to_find = if intent == Intent::PaymentIssue {
        "You'll find it in your order confirmation email; if you don't have an order number, the date and amount of the charge will do."
    } else {
        "You'll find it in your order confirmation email."
    };
    PreparedAction {
        intent,
        order_number: None,
        outcome: ActionOutcome::OrderReferenceMissing,
        summary: "No order number found in the message; the draft asks the customer for it.".to_string(),
        draft_reply: letter(None, &[format!("Thanks for getting in touch. So that we can {}, could you send us your order number? {where_to_find}", purpose(intent))], contact_options),
        needs_human: true,
        complete_answer: false,
    }
}

fn order_not_found(intent: Intent, order_number: &str, contact_options: &ContactOptions) -> PreparedAction {
    PreparedAction {
        intent,
        order_number: Some(order_number.to_string()),
        outcome: ActionOutcome::OrderNotFound { order_number: order_number.to_string() },
        summary: format!("Order #{order_number} was not found in the shop; the draft asks the customer to check the number."),
        draft_reply: letter(
            None,
            &[format!(
                "Thanks for getting in touch. We couldn't find an order with the number {order_number}. So that we can {}, could you check the number in your order confirmation email and send it to us again?",
                purpose(intent)
            )],
            contact_options,
        ),
        needs_human: true,
        complete_answer: false,
    }
}

// ---- track_order ----

/// The tracking status of `order` as of `today`.
pub fn tracking_status(order: &Order, today: NaiveDate) -> TrackingStatus {
    let late = order.is_late(today);
    let shipped_on = order.shipped_at.map(|shipped_at| shipped_at.date_naive());
    let delivered_on = order.delivered_at.map(|delivered_at| delivered_at.date_naive());
    let tracking_number = order.tracking_number.clone().filter(|number| !number.trim().is_empty());
    let tracking_url = order.carrier.zip(tracking_number.as_deref()).and_then(|(carrier, number)| tracking_url(carrier, number));
    let mut status_text = match order.status {
        OrderStatus::Unfulfilled => "not shipped yet".to_string(),
        OrderStatus::Shipped => {
            let mut text = "shipped".to_string();
            if let Some(date) = shipped_on {
                text.push_str(&format!(" on {}", format_date(date)));
            }
            if let Some(carrier) = order.carrier {
                text.push_str(&format!(" with {}", carrier_name(carrier)));
            }
            text
        }
        OrderStatus::Delivered => match delivered_on {
            Some(date) => format!("delivered on {}", format_date(date)),
            None => "delivered".to_string(),
        },
        OrderStatus::Cancelled => "cancelled".to_string(),
        OrderStatus::Returned => "returned".to_string(),
    };
    if let (OrderStatus::Unfulfilled | OrderStatus::Shipped, Some(promised)) = (order.status, order.promised_delivery) {
        if late {
            status_text.push_str(&format!(", late: it was expected on {}", format_date(promised)));
        } else {
            status_text.push_str(&format!(", expected {}", format_date(promised)));
        }
    }
    TrackingStatus {
        order_status: order.status,
        carrier: order.carrier,
        tracking_number,
        tracking_url,
        shipped_on,
        expected_on: order.promised_delivery,
        delivered_on,
        late,
        status_text,
    }
}

/// The reply to "where is my order?" for a found order, filled from the order: the status, the
/// promised date and the carrier link, each only when known.
pub fn track_order_reply(order: &Order, tracking: &TrackingStatus, contact_options: &ContactOptions) -> String {
    let number = &order.number;
    let mut status_paragraph = match tracking.order_status {
        OrderStatus::Unfulfilled => {
            let mut text = format!("Your order #{number} hasn't shipped yet.");
            match (tracking.expected_on, tracking.late) {
                (Some(expected_on), false) => text.push_str(&format!(" It is due to arrive by {}, and you'll get a tracking link by email as soon as it ships.", format_date(expected_on))),
                (Some(expected_on), true) => text.push_str(&format!(" It was due to arrive by {}, so it is running late — we're sorry for the delay.", format_date(expected_on))),
                (None, _) => text.push_str(" You'll get a tracking link by email as soon as it ships."),
            }
            text
        }
        OrderStatus::Shipped => {
            let mut text = format!("Your order #{number} shipped");
            if let Some(shipped_on) = tracking.shipped_on {
                text.push_str(&format!(" on {}", format_date(shipped_on)));
            }
            if let Some(carrier) = tracking.carrier {
                text.push_str(&format!(" with {}", carrier_name(carrier)));
            }
            text.push_str(" and is on its way.");
            match (tracking.expected_on, tracking.late) {
                (Some(expected_on), false) => text.push_str(&format!(" It is expected to arrive on {}.", format_date(expected_on))),
                (Some(expected_on), true) => text.push_str(&format!(" It was expected on {}, so it is running late — we're sorry for the delay.", format_date(expected_on))),
                (None, _) => {}
            }
            text
        }
        OrderStatus::Delivered => {
            let delivered = match tracking.delivered_on {
                Some(delivered_on) => format!("was delivered on {}", format_date(delivered_on)),
                None => "has been delivered".to_string(),
            };
            format!("Our records show that your order #{number} {delivered}. If it hasn't reached you, reply to this message and we'll look into it right away.")
        }
        OrderStatus::Cancelled => format!("Your order #{number} was cancelled, so it won't be shipped."),
        OrderStatus::Returned => format!("Your order #{number} was returned to us."),
    };
    if let (Some(url), OrderStatus::Shipped | OrderStatus::Delivered) = (&tracking.tracking_url, tracking.order_status) {
        status_paragraph.push_str(&format!("\n\nYou can follow the parcel here: {url}"));
    }
    letter(order.customer_name.as_deref(), &[format!("Thanks for getting in touch. {status_paragraph}")], contact_options)
}

fn track_order(order: &Order, today: NaiveDate, contact_options: &ContactOptions) -> PreparedAction {
    let tracking = tracking_status(order, today);
    // A late, cancelled or returned order raises questions a status line cannot answer (when
    // will it come, why was it cancelled, is compensation due): those go to a person.
    let complete_answer = match order.status {
        OrderStatus::Unfulfilled | OrderStatus::Shipped => !tracking.late,
        OrderStatus::Delivered => true,
        OrderStatus::Cancelled | OrderStatus::Returned => false,
    };
    let mut summary = format!("Order #{} {}", order.number, tracking.status_text);
    if let Some(tracking_number) = &tracking.tracking_number {
        summary.push_str(&format!("; tracking number {tracking_number}"));
    }
    summary.push('.');
    if !complete_answer {
        summary.push_str(" Needs a person to follow up.");
    }
    PreparedAction {
        intent: Intent::TrackOrder,
        order_number: Some(order.number.clone()),
        draft_reply: track_order_reply(order, &tracking, contact_options),
        outcome: ActionOutcome::Tracking(tracking),
        summary,
        needs_human: !complete_answer,
        complete_answer,
    }
}

// ---- cancel_order and change_order ----

fn shipped_phrase(order: &Order) -> String {
    match order.shipped_at {
        Some(shipped_at) => format!("the order already shipped on {}", format_date(shipped_at.date_naive())),
        None => "the order has already shipped".to_string(),
    }
}

fn delivered_phrase(order: &Order) -> String {
    match order.delivered_at {
        Some(delivered_at) => format!("the order was already delivered on {}", format_date(delivered_at.date_naive())),
        None => "the order has already been delivered".to_string(),
    }
}

fn return_window_phrase(order: &Order, today: NaiveDate, policy_config: &PolicyConfig) -> String {
    let refund_eligibility = refund_eligibility(order, today, policy_config.refund_window_days);
    format!("return it by {} for a refund", format_date(refund_eligibility.window_ends_on))
}

fn cancel_order(order: &Order, today: NaiveDate, policy_config: &PolicyConfig) -> PreparedAction {
    let contact_options = &policy_config.contact_options;
    let number = &order.number;
    let total = format_money(order.total_minor, &order.currency);
    let (eligibility, customer_paragraph) = match order.status {
        OrderStatus::Unfulfilled => (
            Eligibility { allowed: true, order_status: order.status, reason: "the order has not shipped yet".to_string(), alternative: None },
            format!("Your order #{number} hasn't shipped yet, so we can cancel it. We'll confirm the cancellation shortly, and the {total} you paid will be refunded to your original payment method."),
        ),
        OrderStatus::Shipped => {
            let alternative = format!("refuse the delivery or, once it arrives, {}", return_window_phrase(order, today, policy_config));
            (
                Eligibility { allowed: false, order_status: order.status, reason: shipped_phrase(order), alternative: Some(alternative.clone()) },
                format!("Your order #{number} has already shipped, so we can no longer cancel it. You can still {alternative}."),
            )
        }
        OrderStatus::Delivered => {
            let alternative = return_window_phrase(order, today, policy_config);
            (
                Eligibility { allowed: false, order_status: order.status, reason: delivered_phrase(order), alternative: Some(alternative.clone()) },
                format!("Your order #{number} has already been delivered, so it can't be cancelled any more, but you can {alternative}."),
            )
        }
        OrderStatus::Cancelled => (
            Eligibility { allowed: false, order_status: order.status, reason: "the order is already cancelled".to_string(), alternative: None },
            format!("Your order #{number} is already cancelled. A member of our team will check the details and get back to you."),
        ),
        OrderStatus::Returned => (
            Eligibility { allowed: false, order_status: order.status, reason: "the order was already returned".to_string(), alternative: None },
            format!("Your order #{number} has already been returned to us. A member of our team will check the refund and get back to you."),
        ),
    };
    let summary = if eligibility.allowed {
        format!("Cancel allowed: {} (order #{number}, {total}). Cancel it in the shop and confirm.", eligibility.reason)
    } else {
        let alternative = eligibility.alternative.as_ref().map(|alternative| format!("; offer to {alternative}")).unwrap_or_default();
        format!("Cancel refused: {} (order #{number}){alternative}.", eligibility.reason)
    };
    PreparedAction {
        intent: Intent::CancelOrder,
        order_number: Some(number.clone()),
        outcome: ActionOutcome::Cancellation(eligibility),
        summary,
        draft_reply: letter(order.customer_name.as_deref(), &[format!("Thanks for getting in touch. {customer_paragraph}")], contact_options),
        needs_human: true,
        complete_answer: false,
    }
}

fn change_order(order: &Order, today: NaiveDate, policy_config: &PolicyConfig) -> PreparedAction {
    let contact_options = &policy_config.contact_options;
    let number = &order.number;
    let (eligibility, customer_paragraph) = match order.status {
        OrderStatus::Unfulfilled => (
            Eligibility { allowed: true, order_status: order.status, reason: "the order has not shipped yet".to_string(), alternative: None },
            format!("Your order #{number} hasn't shipped yet, so we can still change it. A member of our team will make the change and confirm it to you shortly."),
        ),
        OrderStatus::Shipped => {
            let alternative = match order.carrier {
                Some(carrier) => format!("ask {} to redirect or hold the parcel, or {}", carrier_name(carrier), return_window_phrase(order, today, policy_config)),
                None => return_window_phrase(order, today, policy_config),
            };
            (
                Eligibility { allowed: false, order_status: order.status, reason: shipped_phrase(order), alternative: Some(alternative.clone()) },
                format!("Your order #{number} has already shipped, so we can no longer change it. You can {alternative}."),
            )
        }
        OrderStatus::Delivered => {
            let alternative = format!("{} and place a new order", return_window_phrase(order, today, policy_config));
            (
                Eligibility { allowed: false, order_status: order.status, reason: delivered_phrase(order), alternative: Some(alternative.clone()) },
                format!("Your order #{number} has already been delivered, so it can't be changed, but you can {alternative}."),
            )
        }
        OrderStatus::Cancelled | OrderStatus::Returned => (
            Eligibility { allowed: false, order_status: order.status, reason: format!("the order is {}", order.status.as_str()), alternative: Some("place a new order".to_string()) },
            format!("Your order #{number} is {}, so it can't be changed; you're welcome to place a new order.", order.status.as_str()),
        ),
    };
    let summary = if eligibility.allowed {
        format!("Change allowed: {} (order #{number}). Make the change in the shop and confirm.", eligibility.reason)
    } else {
        let alternative = eligibility.alternative.as_ref().map(|alternative| format!("; offer to {alternative}")).unwrap_or_default();
        format!("Change refused: {} (order #{number}){alternative}.", eligibility.reason)
    };
    PreparedAction {
        intent: Intent::ChangeOrder,
        order_number: Some(number.clone()),
        outcome: ActionOutcome::Change(eligibility),
        summary,
        draft_reply: letter(order.customer_name.as_deref(), &[format!("Thanks for getting in touch. {customer_paragraph}")], contact_options),
        needs_human: true,
        complete_answer: false,
    }
}

// ---- return_refund ----

/// Refund eligibility of `order` as of `today` under a `window_days` return window, counted
/// from delivery, or from the order date when the order has not been delivered.
pub fn refund_eligibility(order: &Order, today: NaiveDate, window_days: u32) -> RefundEligibility {
    let (window_counted_from, window_starts_on) = match order.delivered_at {
        Some(delivered_at) => (RefundWindowStart::Delivery, delivered_at.date_naive()),
        None => (RefundWindowStart::OrderDate, order.placed_at.date_naive()),
    };
    let window_ends_on = window_starts_on.checked_add_signed(TimeDelta::days(i64::from(window_days))).unwrap_or(NaiveDate::MAX);
    let days_left = (window_ends_on - today).num_days();
    let within_window = today <= window_ends_on;
    let (verdict, reason) = match order.status {
        OrderStatus::Unfulfilled => (RefundVerdict::CancelInstead, "the order has not shipped yet: cancelling it refunds it in full".to_string()),
        OrderStatus::Cancelled => (RefundVerdict::RefundedWithCancellation, "the order was cancelled: its payment is refunded with the cancellation".to_string()),
        OrderStatus::Returned => (RefundVerdict::ReturnReceived, "the return has arrived: the refund is due".to_string()),
        OrderStatus::Shipped | OrderStatus::Delivered if within_window => {
            (RefundVerdict::WithinWindow, format!("within the {window_days}-day return window, which ends on {}", format_date(window_ends_on)))
        }
        OrderStatus::Shipped | OrderStatus::Delivered => (RefundVerdict::OutsideWindow, format!("the {window_days}-day return window ended on {}", format_date(window_ends_on))),
    };
    RefundEligibility {
        eligible: verdict != RefundVerdict::OutsideWindow,
        verdict,
        order_status: order.status,
        window_days,
        window_counted_from,
        window_ends_on,
        days_left,
        amount_minor: order.total_minor,
        currency: order.currency.clone(),
        reason,
    }
}

fn return_refund(order: &Order, today: NaiveDate, policy_config: &PolicyConfig) -> PreparedAction {
    let number = &order.number;
    let refund = refund_eligibility(order, today, policy_config.refund_window_days);
    let amount = format_money(refund.amount_minor, &refund.currency);
    let ends_on = format_date(refund.window_ends_on);
    let customer_paragraph = match refund.verdict {
        RefundVerdict::WithinWindow => format!("Your order #{number} can be returned for a refund until {ends_on}. A member of our team will send you the return instructions and a return label shortly."),
        RefundVerdict::OutsideWindow => format!("The {}-day return window for your order #{number} ended on {ends_on}. A member of our team will look at your request and get back to you.", refund.window_days),
        RefundVerdict::CancelInstead => format!("Your order #{number} hasn't shipped yet, so there's nothing to send back: we can cancel it and refund the {amount} in full. A member of our team will confirm this shortly."),
        RefundVerdict::RefundedWithCancellation => format!("Your order #{number} was cancelled, and its payment of {amount} is refunded to your original payment method. A member of our team will check the refund's status and get back to you."),
        RefundVerdict::ReturnReceived => format!("We've received your return of order #{number}. A member of our team will check the refund of {amount} and get back to you."),
    };
    let days = |n_days: i64| if n_days == 1 { "1 day".to_string() } else { format!("{n_days} days") };
    let window_phrase = match refund.verdict {
        RefundVerdict::WithinWindow => format!(", {} left", days(refund.days_left)),
        RefundVerdict::OutsideWindow => format!(", closed {} ago", days(-refund.days_left)),
        RefundVerdict::CancelInstead | RefundVerdict::RefundedWithCancellation | RefundVerdict::ReturnReceived => String::new(),
    };
    let summary = format!("Refund {}: {} (order #{number}, {amount}{window_phrase}).", if refund.eligible { "eligible" } else { "not eligible" }, refund.reason);
    PreparedAction {
        intent: Intent::ReturnRefund,
        order_number: Some(number.clone()),
        outcome: ActionOutcome::Refund(refund),
        summary,
        draft_reply: letter(order.customer_name.as_deref(), &[format!("Thanks for getting in touch. {customer_paragraph}")], &policy_config.contact_options),
        needs_human: true,
        complete_answer: false,
    }
}

// ---- the rest: a person decides ----

fn damaged_or_wrong_item(order: &Order, contact_options: &ContactOptions) -> PreparedAction {
    let number = &order.number;
    let amount = format_money(order.total_minor, &order.currency);
    PreparedAction {
        intent: Intent::DamagedOrWrongItem,
        order_number: Some(number.clone()),
        outcome: ActionOutcome::ReplacementOrRefund { order_status: order.status, refund_amount_minor: order.total_minor, currency: order.currency.clone() },
        summary: format!("Damaged, wrong or missing item in order #{number} ({}): offer a replacement or a refund of up to {amount} once the customer shows what arrived.", order.status.as_str()),
        draft_reply: letter(
            order.customer_name.as_deref(),
            &[format!(
                "We're sorry that your order #{number} didn't arrive as it should have. Could you reply with a photo of the item and its packaging? We'll then send you a replacement or a refund, whichever you prefer."
            )],
            contact_options,
        ),
        needs_human: true,
        complete_answer: false,
    }
}

fn payment_issue(order: &Order, contact_options: &ContactOptions) -> PreparedAction {
    let number = &order.number;
    PreparedAction {
        intent: Intent::PaymentIssue,
        order_number: Some(number.clone()),
        outcome: ActionOutcome::PaymentReview { order_status: order.status, total_minor: order.total_minor, currency: order.currency.clone() },
        summary: format!("Payment issue on order #{number} ({}, {}): check the charges with the payment provider.", order.status.as_str(), format_money(order.total_minor, &order.currency)),
        draft_reply: letter(
            order.customer_name.as_deref(),
            &[format!("Thanks for letting us know about the payment for order #{number}. A member of our team is checking it with our payment provider and will get back to you shortly.")],
            contact_options,
        ),
        needs_human: true,
        complete_answer: false,
    }
}

/// Self-service steps for account questions; the agent picks the one that fits.
pub fn account_steps() -> Vec<String> {
    vec![
        "Can't sign in or forgot your password: use \"Forgot password\" on the sign-in page and we'll email you a reset link.".to_string(),
        "Change your email, phone number or address: sign in and open Account settings.".to_string(),
        "Stop marketing emails: use the unsubscribe link at the bottom of any of our emails.".to_string(),
    ]
}

fn account_update(order: Option<&Order>, contact_options: &ContactOptions) -> PreparedAction {
    let steps = account_steps();
    let step_list: Vec<String> = steps.iter().map(|step| format!("- {step}")).collect();
    PreparedAction {
        intent: Intent::AccountUpdate,
        order_number: order.map(|order| order.number.clone()),
        summary: "Account question: the draft lists the self-service steps; check which applies.".to_string(),
        draft_reply: letter(
            order.and_then(|order| order.customer_name.as_deref()),
            &[
                "Thanks for getting in touch. These steps solve most account questions:".to_string(),
                step_list.join("\n"),
                "If none of them helps, reply to this message and we'll sort it out for you.".to_string(),
            ],
            contact_options,
        ),
        outcome: ActionOutcome::AccountSteps { steps },
        needs_human: true,
        complete_answer: false,
    }
}

fn complaint(order: Option<&Order>, contact_options: &ContactOptions) -> PreparedAction {
    let summary = match order {
        Some(order) => format!("Complaint about order #{} ({}): needs a personal reply.", order.number, order.status.as_str()),
        None => "Complaint: needs a personal reply.".to_string(),
    };
    PreparedAction {
        intent: Intent::Complaint,
        order_number: order.map(|order| order.number.clone()),
        outcome: ActionOutcome::ComplaintReview { order_status: order.map(|order| order.status) },
        summary,
        draft_reply: letter(
            order.and_then(|order| order.customer_name.as_deref()),
            &["Thank you for telling us, and we're sorry about your experience. A member of our team will look into it and reply to you personally.".to_string()],
            contact_options,
        ),
        needs_human: true,
        complete_answer: false,
    }
}

/// The reply for a question no knowledge-base article answers: no answer is made up, the
/// customer is told a person will reply and how to reach one sooner.
pub fn contact_options_reply(contact_options: &ContactOptions) -> String {
    let mut ways: Vec<String> = Vec::new();
    if let Some(email) = &contact_options.email {
        ways.push(format!("- by email: {email}"));
    }
    if let Some(phone) = &contact_options.phone {
        match &contact_options.hours {
            Some(hours) => ways.push(format!("- by phone: {phone} ({hours})")),
            None => ways.push(format!("- by phone: {phone}")),
        }
    }
    if let Some(web_url) = &contact_options.web_url {
        ways.push(format!("- online: {web_url}"));
    }
    let mut paragraphs = vec!["Thanks for your question. We couldn't find the answer in our help articles, so a member of our team will reply to you personally.".to_string()];
    if ways.is_empty() {
        paragraphs.push("If you'd like to add anything, just reply to this message.".to_string());
    } else {
        paragraphs.push(format!("If you'd like to reach us sooner, you can contact us:\n{}", ways.join("\n")));
    }
    letter(None, &paragraphs, contact_options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use expect_test::{expect, Expect};

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn instant(text: &str) -> DateTime<Utc> {
        format!("{text}T10:00:00Z").parse().unwrap()
    }

    /// An order placed on June 1, 2024; `shipped` and `delivered` dates optional.
    fn order(status: OrderStatus, shipped: Option<&str>, delivered: Option<&str>, promised: Option<&str>) -> Order {
        Order {
            number: "A10493".to_string(),
            customer_email: Some("jane@example.com".to_string()),
            customer_name: Some("Jane Doe".to_string()),
            status,
            placed_at: instant("2024-06-01"),
            shipped_at: shipped.map(instant),
            delivered_at: delivered.map(instant),
            promised_delivery: promised.map(date),
            carrier: shipped.map(|_| Carrier::Ups),
            tracking_number: shipped.map(|_| "1Z 999 AA1 01 2345 6784".to_string()),
            total_minor: 4990,
            currency: "USD".to_string(),
            items: Vec::new(),
        }
    }

    fn check(intent: Intent, order_lookup: OrderLookup, today: &str, expect: Expect) {
        let rendered = match prepare_action(intent, &order_lookup, date(today), &PolicyConfig::default()) {
            Ok(prepared_action) => format!(
                "summary: {}\nneeds_human: {}, complete_answer: {}\noutcome: {}\n---\n{}\n",
                prepared_action.summary,
                prepared_action.needs_human,
                prepared_action.complete_answer,
                serde_json::to_string(&prepared_action.outcome).unwrap(),
                prepared_action.draft_reply
            ),
            Err(error) => format!("error: {error}\n"),
        };
        expect.assert_eq(&rendered);
    }

    fn found(order: Order) -> OrderLookup {
        OrderLookup::Found { order }
    }

    #[test]
    fn track_a_shipped_order_on_time() {
        check(Intent::TrackOrder, found(order(OrderStatus::Shipped, Some("2024-06-03"), None, Some("2024-06-06"))), "2024-06-04", expect![[r#"
            summary: Order #A10493 shipped on June 3, 2024 with UPS, expected June 6, 2024; tracking number 1Z 999 AA1 01 2345 6784.
            needs_human: false, complete_answer: true
            outcome: {"kind":"tracking","order_status":"shipped","carrier":"ups","tracking_number":"1Z 999 AA1 01 2345 6784","tracking_url":"https://www.ups.com/track?tracknum=1Z999AA10123456784","shipped_on":"2024-06-03","expected_on":"2024-06-06","delivered_on":null,"late":false,"status_text":"shipped on June 3, 2024 with UPS, expected June 6, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with UPS and is on its way. It is expected to arrive on June 6, 2024.

            You can follow the parcel here: https://www.ups.com/track?tracknum=1Z999AA10123456784

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn track_a_late_order() {
        check(Intent::TrackOrder, found(order(OrderStatus::Shipped, Some("2024-06-03"), None, Some("2024-06-06"))), "2024-06-09", expect![[r#"
            summary: Order #A10493 shipped on June 3, 2024 with UPS, late: it was expected on June 6, 2024; tracking number 1Z 999 AA1 01 2345 6784. Needs a person to follow up.
            needs_human: true, complete_answer: false
            outcome: {"kind":"tracking","order_status":"shipped","carrier":"ups","tracking_number":"1Z 999 AA1 01 2345 6784","tracking_url":"https://www.ups.com/track?tracknum=1Z999AA10123456784","shipped_on":"2024-06-03","expected_on":"2024-06-06","delivered_on":null,"late":true,"status_text":"shipped on June 3, 2024 with UPS, late: it was expected on June 6, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 shipped on June 3, 2024 with UPS and is on its way. It was expected on June 6, 2024, so it is running late — we're sorry for the delay.

            You can follow the parcel here: https://www.ups.com/track?tracknum=1Z999AA10123456784

            Best regards,
            Customer service
        "#]]);
        check(Intent::TrackOrder, found(order(OrderStatus::Unfulfilled, None, None, Some("2024-06-06"))), "2024-06-09", expect![[r#"
            summary: Order #A10493 not shipped yet, late: it was expected on June 6, 2024. Needs a person to follow up.
            needs_human: true, complete_answer: false
            outcome: {"kind":"tracking","order_status":"unfulfilled","carrier":null,"tracking_number":null,"tracking_url":null,"shipped_on":null,"expected_on":"2024-06-06","delivered_on":null,"late":true,"status_text":"not shipped yet, late: it was expected on June 6, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 hasn't shipped yet. It was due to arrive by June 6, 2024, so it is running late — we're sorry for the delay.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn track_unshipped_delivered_and_cancelled_orders() {
        check(Intent::TrackOrder, found(order(OrderStatus::Unfulfilled, None, None, None)), "2024-06-02", expect![[r#"
            summary: Order #A10493 not shipped yet.
            needs_human: false, complete_answer: true
            outcome: {"kind":"tracking","order_status":"unfulfilled","carrier":null,"tracking_number":null,"tracking_url":null,"shipped_on":null,"expected_on":null,"delivered_on":null,"late":false,"status_text":"not shipped yet"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 hasn't shipped yet. You'll get a tracking link by email as soon as it ships.

            Best regards,
            Customer service
        "#]]);
        check(Intent::TrackOrder, found(order(OrderStatus::Delivered, Some("2024-06-03"), Some("2024-06-05"), Some("2024-06-06"))), "2024-06-09", expect![[r#"
            summary: Order #A10493 delivered on June 5, 2024; tracking number 1Z 999 AA1 01 2345 6784.
            needs_human: false, complete_answer: true
            outcome: {"kind":"tracking","order_status":"delivered","carrier":"ups","tracking_number":"1Z 999 AA1 01 2345 6784","tracking_url":"https://www.ups.com/track?tracknum=1Z999AA10123456784","shipped_on":"2024-06-03","expected_on":"2024-06-06","delivered_on":"2024-06-05","late":false,"status_text":"delivered on June 5, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. Our records show that your order #A10493 was delivered on June 5, 2024. If it hasn't reached you, reply to this message and we'll look into it right away.

            You can follow the parcel here: https://www.ups.com/track?tracknum=1Z999AA10123456784

            Best regards,
            Customer service
        "#]]);
        check(Intent::TrackOrder, found(order(OrderStatus::Cancelled, None, None, Some("2024-06-06"))), "2024-06-09", expect![[r#"
            summary: Order #A10493 cancelled. Needs a person to follow up.
            needs_human: true, complete_answer: false
            outcome: {"kind":"tracking","order_status":"cancelled","carrier":null,"tracking_number":null,"tracking_url":null,"shipped_on":null,"expected_on":"2024-06-06","delivered_on":null,"late":false,"status_text":"cancelled"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 was cancelled, so it won't be shipped.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn track_without_a_name_date_or_tracking_number_leaves_no_blanks() {
        let mut bare_order = order(OrderStatus::Shipped, None, None, None);
        bare_order.customer_name = None;
        check(Intent::TrackOrder, found(bare_order), "2024-06-04", expect![[r#"
            summary: Order #A10493 shipped.
            needs_human: false, complete_answer: true
            outcome: {"kind":"tracking","order_status":"shipped","carrier":null,"tracking_number":null,"tracking_url":null,"shipped_on":null,"expected_on":null,"delivered_on":null,"late":false,"status_text":"shipped"}
            ---
            Hi there,

            Thanks for getting in touch. Your order #A10493 shipped and is on its way.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn orders_missing_or_not_found_ask_for_the_number() {
        check(Intent::TrackOrder, OrderLookup::NoReference, "2024-06-04", expect![[r#"
            summary: No order number found in the message; the draft asks the customer for it.
            needs_human: true, complete_answer: false
            outcome: {"kind":"order_reference_missing"}
            ---
            Hi there,

            Thanks for getting in touch. So that we can check where your order is, could you send us your order number? You'll find it in your order confirmation email.

            Best regards,
            Customer service
        "#]]);
        check(Intent::PaymentIssue, OrderLookup::NoReference, "2024-06-04", expect![[r#"
            summary: No order number found in the message; the draft asks the customer for it.
            needs_human: true, complete_answer: false
            outcome: {"kind":"order_reference_missing"}
            ---
            Hi there,

            Thanks for getting in touch. So that we can look into the payment, could you send us your order number? You'll find it in your order confirmation email; if you don't have an order number, the date and amount of the charge will do.

            Best regards,
            Customer service
        "#]]);
        check(Intent::CancelOrder, OrderLookup::NotFound { order_number: "Z999".to_string() }, "2024-06-04", expect![[r#"
            summary: Order #Z999 was not found in the shop; the draft asks the customer to check the number.
            needs_human: true, complete_answer: false
            outcome: {"kind":"order_not_found","order_number":"Z999"}
            ---
            Hi there,

            Thanks for getting in touch. We couldn't find an order with the number Z999. So that we can look at cancelling your order, could you check the number in your order confirmation email and send it to us again?

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn cancel_only_before_shipping() {
        check(Intent::CancelOrder, found(order(OrderStatus::Unfulfilled, None, None, Some("2024-06-06"))), "2024-06-02", expect![[r#"
            summary: Cancel allowed: the order has not shipped yet (order #A10493, 49.90 USD). Cancel it in the shop and confirm.
            needs_human: true, complete_answer: false
            outcome: {"kind":"cancellation","allowed":true,"order_status":"unfulfilled","reason":"the order has not shipped yet","alternative":null}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 hasn't shipped yet, so we can cancel it. We'll confirm the cancellation shortly, and the 49.90 USD you paid will be refunded to your original payment method.

            Best regards,
            Customer service
        "#]]);
        check(Intent::CancelOrder, found(order(OrderStatus::Shipped, Some("2024-06-03"), None, Some("2024-06-06"))), "2024-06-04", expect![[r#"
            summary: Cancel refused: the order already shipped on June 3, 2024 (order #A10493); offer to refuse the delivery or, once it arrives, return it by July 1, 2024 for a refund.
            needs_human: true, complete_answer: false
            outcome: {"kind":"cancellation","allowed":false,"order_status":"shipped","reason":"the order already shipped on June 3, 2024","alternative":"refuse the delivery or, once it arrives, return it by July 1, 2024 for a refund"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 has already shipped, so we can no longer cancel it. You can still refuse the delivery or, once it arrives, return it by July 1, 2024 for a refund.

            Best regards,
            Customer service
        "#]]);
        check(Intent::CancelOrder, found(order(OrderStatus::Delivered, Some("2024-06-03"), Some("2024-06-05"), None)), "2024-06-09", expect![[r#"
            summary: Cancel refused: the order was already delivered on June 5, 2024 (order #A10493); offer to return it by July 5, 2024 for a refund.
            needs_human: true, complete_answer: false
            outcome: {"kind":"cancellation","allowed":false,"order_status":"delivered","reason":"the order was already delivered on June 5, 2024","alternative":"return it by July 5, 2024 for a refund"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 has already been delivered, so it can't be cancelled any more, but you can return it by July 5, 2024 for a refund.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn change_only_before_shipping() {
        check(Intent::ChangeOrder, found(order(OrderStatus::Unfulfilled, None, None, None)), "2024-06-02", expect![[r#"
            summary: Change allowed: the order has not shipped yet (order #A10493). Make the change in the shop and confirm.
            needs_human: true, complete_answer: false
            outcome: {"kind":"change","allowed":true,"order_status":"unfulfilled","reason":"the order has not shipped yet","alternative":null}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 hasn't shipped yet, so we can still change it. A member of our team will make the change and confirm it to you shortly.

            Best regards,
            Customer service
        "#]]);
        check(Intent::ChangeOrder, found(order(OrderStatus::Shipped, Some("2024-06-03"), None, None)), "2024-06-04", expect![[r#"
            summary: Change refused: the order already shipped on June 3, 2024 (order #A10493); offer to ask UPS to redirect or hold the parcel, or return it by July 1, 2024 for a refund.
            needs_human: true, complete_answer: false
            outcome: {"kind":"change","allowed":false,"order_status":"shipped","reason":"the order already shipped on June 3, 2024","alternative":"ask UPS to redirect or hold the parcel, or return it by July 1, 2024 for a refund"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 has already shipped, so we can no longer change it. You can ask UPS to redirect or hold the parcel, or return it by July 1, 2024 for a refund.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn refunds_follow_the_policy_window() {
        // Delivered June 5: the 30-day window ends on July 5.
        check(Intent::ReturnRefund, found(order(OrderStatus::Delivered, Some("2024-06-03"), Some("2024-06-05"), None)), "2024-07-05", expect![[r#"
            summary: Refund eligible: within the 30-day return window, which ends on July 5, 2024 (order #A10493, 49.90 USD, 0 days left).
            needs_human: true, complete_answer: false
            outcome: {"kind":"refund","verdict":"within_window","eligible":true,"order_status":"delivered","window_days":30,"window_counted_from":"delivery","window_ends_on":"2024-07-05","days_left":0,"amount_minor":4990,"currency":"USD","reason":"within the 30-day return window, which ends on July 5, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 can be returned for a refund until July 5, 2024. A member of our team will send you the return instructions and a return label shortly.

            Best regards,
            Customer service
        "#]]);
        check(Intent::ReturnRefund, found(order(OrderStatus::Delivered, Some("2024-06-03"), Some("2024-06-05"), None)), "2024-07-06", expect![[r#"
            summary: Refund not eligible: the 30-day return window ended on July 5, 2024 (order #A10493, 49.90 USD, closed 1 day ago).
            needs_human: true, complete_answer: false
            outcome: {"kind":"refund","verdict":"outside_window","eligible":false,"order_status":"delivered","window_days":30,"window_counted_from":"delivery","window_ends_on":"2024-07-05","days_left":-1,"amount_minor":4990,"currency":"USD","reason":"the 30-day return window ended on July 5, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. The 30-day return window for your order #A10493 ended on July 5, 2024. A member of our team will look at your request and get back to you.

            Best regards,
            Customer service
        "#]]);
        // Not delivered: counted from the order date, June 1.
        check(Intent::ReturnRefund, found(order(OrderStatus::Shipped, Some("2024-06-03"), None, None)), "2024-07-02", expect![[r#"
            summary: Refund not eligible: the 30-day return window ended on July 1, 2024 (order #A10493, 49.90 USD, closed 1 day ago).
            needs_human: true, complete_answer: false
            outcome: {"kind":"refund","verdict":"outside_window","eligible":false,"order_status":"shipped","window_days":30,"window_counted_from":"order_date","window_ends_on":"2024-07-01","days_left":-1,"amount_minor":4990,"currency":"USD","reason":"the 30-day return window ended on July 1, 2024"}
            ---
            Hi Jane,

            Thanks for getting in touch. The 30-day return window for your order #A10493 ended on July 1, 2024. A member of our team will look at your request and get back to you.

            Best regards,
            Customer service
        "#]]);
        check(Intent::ReturnRefund, found(order(OrderStatus::Unfulfilled, None, None, None)), "2024-06-02", expect![[r#"
            summary: Refund eligible: the order has not shipped yet: cancelling it refunds it in full (order #A10493, 49.90 USD).
            needs_human: true, complete_answer: false
            outcome: {"kind":"refund","verdict":"cancel_instead","eligible":true,"order_status":"unfulfilled","window_days":30,"window_counted_from":"order_date","window_ends_on":"2024-07-01","days_left":29,"amount_minor":4990,"currency":"USD","reason":"the order has not shipped yet: cancelling it refunds it in full"}
            ---
            Hi Jane,

            Thanks for getting in touch. Your order #A10493 hasn't shipped yet, so there's nothing to send back: we can cancel it and refund the 49.90 USD in full. A member of our team will confirm this shortly.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn damaged_payment_account_and_complaint_need_a_person() {
        check(Intent::DamagedOrWrongItem, found(order(OrderStatus::Delivered, Some("2024-06-03"), Some("2024-06-05"), None)), "2024-06-06", expect![[r#"
            summary: Damaged, wrong or missing item in order #A10493 (delivered): offer a replacement or a refund of up to 49.90 USD once the customer shows what arrived.
            needs_human: true, complete_answer: false
            outcome: {"kind":"replacement_or_refund","order_status":"delivered","refund_amount_minor":4990,"currency":"USD"}
            ---
            Hi Jane,

            We're sorry that your order #A10493 didn't arrive as it should have. Could you reply with a photo of the item and its packaging? We'll then send you a replacement or a refund, whichever you prefer.

            Best regards,
            Customer service
        "#]]);
        check(Intent::PaymentIssue, found(order(OrderStatus::Delivered, Some("2024-06-03"), Some("2024-06-05"), None)), "2024-06-06", expect![[r#"
            summary: Payment issue on order #A10493 (delivered, 49.90 USD): check the charges with the payment provider.
            needs_human: true, complete_answer: false
            outcome: {"kind":"payment_review","order_status":"delivered","total_minor":4990,"currency":"USD"}
            ---
            Hi Jane,

            Thanks for letting us know about the payment for order #A10493. A member of our team is checking it with our payment provider and will get back to you shortly.

            Best regards,
            Customer service
        "#]]);
        check(Intent::AccountUpdate, OrderLookup::NoReference, "2024-06-06", expect![[r#"
            summary: Account question: the draft lists the self-service steps; check which applies.
            needs_human: true, complete_answer: false
            outcome: {"kind":"account_steps","steps":["Can't sign in or forgot your password: use \"Forgot password\" on the sign-in page and we'll email you a reset link.","Change your email, phone number or address: sign in and open Account settings.","Stop marketing emails: use the unsubscribe link at the bottom of any of our emails."]}
            ---
            Hi there,

            Thanks for getting in touch. These steps solve most account questions:

            - Can't sign in or forgot your password: use "Forgot password" on the sign-in page and we'll email you a reset link.
            - Change your email, phone number or address: sign in and open Account settings.
            - Stop marketing emails: use the unsubscribe link at the bottom of any of our emails.

            If none of them helps, reply to this message and we'll sort it out for you.

            Best regards,
            Customer service
        "#]]);
        check(Intent::Complaint, OrderLookup::NoReference, "2024-06-06", expect![[r#"
            summary: Complaint: needs a personal reply.
            needs_human: true, complete_answer: false
            outcome: {"kind":"complaint_review","order_status":null}
            ---
            Hi there,

            Thank you for telling us, and we're sorry about your experience. A member of our team will look into it and reply to you personally.

            Best regards,
            Customer service
        "#]]);
    }

    #[test]
    fn intents_outside_service_action_have_no_action() {
        check(Intent::ProductInfo, OrderLookup::NoReference, "2024-06-06", expect![[r#"
            error: intent `product_info` has no service action
        "#]]);
        check(Intent::AdverseReaction, found(order(OrderStatus::Delivered, None, None, None)), "2024-06-06", expect![[r#"
            error: intent `adverse_reaction` has no service action
        "#]]);
    }

    #[test]
    fn carrier_links_and_money() {
        let links: Vec<String> = [Carrier::Ups, Carrier::Fedex, Carrier::Usps, Carrier::Dhl].into_iter().map(|carrier| tracking_url(carrier, "AB 12/3").unwrap()).collect();
        expect![[r#"
            [
                "https://www.ups.com/track?tracknum=AB12%2F3",
                "https://www.fedex.com/fedextrack/?trknbr=AB12%2F3",
                "https://tools.usps.com/go/TrackConfirmAction?tLabels=AB12%2F3",
                "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=AB12%2F3",
            ]
        "#]].assert_debug_eq(&links);
        assert_eq!(tracking_url(Carrier::Ups, "  "), None);
        assert_eq!(format_money(4990, "usd"), "49.90 USD");
        assert_eq!(format_money(1500, "JPY"), "1500 JPY");
        assert_eq!(format_money(-1234, "KWD"), "-1.234 KWD");
        assert_eq!(format_money(5, "EUR"), "0.05 EUR");
    }

    #[test]
    fn contact_options_name_only_what_is_configured() {
        let mut contact_options = ContactOptions::default();
        expect![[r#"
            Hi there,

            Thanks for your question. We couldn't find the answer in our help articles, so a member of our team will reply to you personally.

            If you'd like to add anything, just reply to this message.

            Best regards,
            Customer service"#]].assert_eq(&contact_options_reply(&contact_options));
        contact_options.email = Some("help@example.com".to_string());
        contact_options.phone = Some("+1 555 0100".to_string());
        contact_options.hours = Some("Monday to Friday, 9am–5pm ET".to_string());
        contact_options.team_name = "The Example Pharmacy team".to_string();
        expect![[r#"
            Hi there,

            Thanks for your question. We couldn't find the answer in our help articles, so a member of our team will reply to you personally.

            If you'd like to reach us sooner, you can contact us:
            - by email: help@example.com
            - by phone: +1 555 0100 (Monday to Friday, 9am–5pm ET)

            Best regards,
            The Example Pharmacy team"#]].assert_eq(&contact_options_reply(&contact_options));
    }
}
