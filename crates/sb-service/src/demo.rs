//! Demo data for `switchboard serve --demo`: customers, orders of every state (unfulfilled,
//! shipped, delivered, late, cancelled), and a few hundred tickets across all intents sent
//! through the real pipeline, so the console and reports have something true to show.
//!
//! Also the demo reply templates (`data/templates/templates.csv`), and a third of the
//! human-queue tickets answered with their suggested reply and resolved.
//!
//! Idempotent: nothing is loaded when the demo orders are already there.

use chrono::{Duration, NaiveDate, Utc};
use sb_domain::{Carrier, Channel, Order, OrderItem, OrderStatus};
use sb_store::{NewAuditEntry, NewCustomer, NewTemplate, Queue, TemplateKind, TicketFilter, TicketStatus};
use serde::Serialize;

use crate::{IncomingMessage, Result, Service};

/// The taxonomy test split: realistic customer messages of every intent, in four languages.
const DEMO_MESSAGES_CSV: &str = include_str!("../../../data/taxonomy/test.csv");

/// Reply templates: suggested replies per intent and language, and canned responses.
const DEMO_TEMPLATES_CSV: &str = include_str!("../../../data/templates/templates.csv");

/// The demo agent who answered and resolved part of the demo tickets.
const DEMO_AGENT_NAME: &str = "Sam Rivera";

/// Messages that reference the demo orders, so their workflows find something.
const ORDER_MESSAGES: &[(&str, &str)] = &[
    ("ana.silva@example.com", "Hi, where is my order #A10493? The UPS tracking hasn't moved since Monday."),
    ("ana.silva@example.com", "Please cancel order A10497, I ordered the wrong size by mistake."),
    ("ben.okafor@example.com", "When will order A10494 arrive? It said delivery by the 20th."),
    ("chloe.martin@example.com", "I'd like to return order A10495, the shoes are too small. Can I get a refund?"),
    ("david.kim@example.com", "Can I change the delivery address for order A10496 before it ships?"),
    ("emma.rossi@example.com", "Where is my parcel? Order #A10498, tracking shows nothing for a week."),
    ("farah.haddad@example.com", "Order A10499 arrived with a cracked jug, I need a replacement."),
    ("gustav.berg@example.com", "Track order A10500 please"),
];

/// The demo shop's customers: (email, name, phone, vip).
const CUSTOMERS: &[(&str, &str, &str, bool)] = &[
    ("ana.silva@example.com", "Ana Silva", "+14155550101", false),
    ("ben.okafor@example.com", "Ben Okafor", "+14155550102", true),
    ("chloe.martin@example.com", "Chloé Martin", "+33612345678", false),
    ("david.kim@example.com", "David Kim", "+14155550104", false),
    ("emma.rossi@example.com", "Emma Rossi", "+393471234567", false),
    ("farah.haddad@example.com", "Farah Haddad", "+14155550106", false),
    ("gustav.berg@example.com", "Gustav Berg", "+4915112345678", true),
    ("hana.sato@example.com", "Hana Sato", "+14155550108", false),
    ("ivan.petrov@example.com", "Ivan Petrov", "+14155550109", false),
    ("julia.garcia@example.com", "Julia García", "+34612345678", false),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    /// False when demo data was already there.
    pub loaded: bool,
    pub customers: usize,
    pub orders: usize,
    pub tickets: usize,
    /// Messages stored but not triaged within the request (they are retried by the worker).
    pub pending: usize,
    pub templates: usize,
    /// Human-queue tickets the demo agent answered with their suggested reply and resolved.
    pub resolved: usize,
}

fn demo_orders(today: NaiveDate) -> Vec<Order> {
    let now = Utc::now();
    let days = Duration::days;
    let item = |sku: &str, name: &str, quantity: u32, unit_price_minor: i64| OrderItem { sku: sku.into(), name: name.into(), quantity, unit_price_minor };
    let order = |number: &str, email: &str, name: &str, status: OrderStatus, placed_days_ago: i64, promised_in_days: i64, carrier: Option<(Carrier, &str)>, items: Vec<OrderItem>| {
        let placed_at = now - days(placed_days_ago);
        let shipped_at = matches!(status, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Returned).then(|| placed_at + days(1));
        let delivered_at = matches!(status, OrderStatus::Delivered | OrderStatus::Returned).then(|| placed_at + days(4));
        let total_minor = items.iter().map(|item| item.unit_price_minor * i64::from(item.quantity)).sum();
        Order {
            number: number.into(),
            customer_email: Some(email.into()),
            customer_name: Some(name.into()),
            status,
            placed_at,
            shipped_at,
            delivered_at,
            promised_delivery: Some(today + days(promised_in_days)),
            carrier: carrier.map(|(carrier, _)| carrier),
            tracking_number: carrier.map(|(_, tracking)| tracking.to_string()),
            total_minor,
            currency: "USD".into(),
            items,
        }
    };
    vec![
        order("A10493", "ana.silva@example.com", "Ana Silva", OrderStatus::Shipped, 3, 2, Some((Carrier::Ups, "1Z999AA10123456784")), vec![item("TEA-01", "Green tea, 100 g", 2, 1_299)]),
        order("A10494", "ben.okafor@example.com", "Ben Okafor", OrderStatus::Shipped, 12, -3, Some((Carrier::Fedex, "123456789012")), vec![item("KET-02", "Glass kettle", 1, 4_999)]),
        order("A10495", "chloe.martin@example.com", "Chloé Martin", OrderStatus::Delivered, 10, -5, Some((Carrier::Dhl, "1234567890")), vec![item("SHO-38", "Canvas shoes, size 38", 1, 5_900)]),
        order("A10496", "david.kim@example.com", "David Kim", OrderStatus::Unfulfilled, 1, 5, None, vec![item("LMP-01", "Desk lamp", 1, 3_450)]),
        order("A10497", "ana.silva@example.com", "Ana Silva", OrderStatus::Unfulfilled, 0, 6, None, vec![item("DRS-M", "Linen dress, M", 1, 7_900)]),
        order("A10498", "emma.rossi@example.com", "Emma Rossi", OrderStatus::Shipped, 14, -6, Some((Carrier::Usps, "9400111899223197428490")), vec![item("MUG-04", "Mug set", 1, 2_400)]),
        order("A10499", "farah.haddad@example.com", "Farah Haddad", OrderStatus::Delivered, 6, -1, Some((Carrier::Ups, "1Z999AA10123456791")), vec![item("BLN-01", "Blender", 1, 8_999)]),
        order("A10500", "gustav.berg@example.com", "Gustav Berg", OrderStatus::Shipped, 2, 3, Some((Carrier::Dhl, "9876543210")), vec![item("BKS-03", "Notebook set", 3, 900)]),
        order("A10501", "hana.sato@example.com", "Hana Sato", OrderStatus::Cancelled, 20, -10, None, vec![item("CHR-01", "Office chair", 1, 15_900)]),
        order("A10502", "ivan.petrov@example.com", "Ivan Petrov", OrderStatus::Delivered, 40, -33, Some((Carrier::Fedex, "123456789013")), vec![item("HDP-01", "Headphones", 1, 12_900)]),
        order("558201", "julia.garcia@example.com", "Julia García", OrderStatus::Unfulfilled, 1, 4, None, vec![item("SCF-01", "Wool scarf", 1, 3_900)]),
    ]
}

/// Loads the demo data unless it is there already. `n_tickets` messages of the taxonomy test
/// split (every k-th row, so all intents and languages appear) go through the pipeline, plus
/// the messages about demo orders. `progress` is called after each message.
pub async fn seed_demo_data(service: &Service, n_tickets: usize, mut progress: impl FnMut(usize, usize)) -> Result<DemoSummary> {
    let store = service.store();
    if store.find_order("A10493").await?.is_some() {
        return Ok(DemoSummary { loaded: false, customers: 0, orders: 0, tickets: 0, pending: 0, templates: 0, resolved: 0 });
    }
    let now = Utc::now();
    for (email, name, phone, vip) in CUSTOMERS {
        store.upsert_customer(email, Some(name), Some(phone), *vip, now).await?;
    }
    let orders = demo_orders(now.date_naive());
    for order in &orders {
        store.upsert_order(order).await?;
    }

    // Templates first: the demo tickets' suggested replies and automatic answers use them.
    let templates = seed_demo_templates(service).await?;
    let mut reader = csv::Reader::from_reader(DEMO_MESSAGES_CSV.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().filter_map(|row| row.ok()).collect();
    let step = (rows.len() / n_tickets.max(1)).max(1);
    let mut texts: Vec<(Option<&str>, String)> = rows.iter().step_by(step).take(n_tickets).map(|row| (None, row.get(0).unwrap_or_default().to_string())).collect();
    texts.extend(ORDER_MESSAGES.iter().map(|(email, text)| (Some(*email), text.to_string())));
    let total = texts.len();
    let mut tickets = 0;
    let mut pending = 0;
    for (idx, (email, text)) in texts.into_iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let (customer_email, customer_name) = match email {
            Some(email) => (email.to_string(), CUSTOMERS.iter().find(|customer| customer.0 == email).map(|customer| customer.1.to_string())),
            None => {
                let customer = CUSTOMERS[idx % CUSTOMERS.len()];
                (customer.0.to_string(), Some(customer.1.to_string()))
            }
        };
        let channel = [Channel::Email, Channel::Chat, Channel::Api, Channel::Chat, Channel::Voice][idx % 5];
        let raw_payload = serde_json::to_vec(&serde_json::json!({"text": text, "demo": true}))?;
        let incoming = IncomingMessage {
            channel,
            text,
            body_is_html: false,
            subject: None,
            external_id: Some(format!("demo-{idx}")),
            conversation_id: None,
            ticket_id: None,
            customer: NewCustomer { email: Some(customer_email), name: customer_name, ..NewCustomer::default() },
            metadata: Some(serde_json::json!({"demo": true})),
            raw_payload,
            content_type: "application/json".into(),
        };
        let receipt = service.receive(incoming).await?;
        tickets += usize::from(receipt.ingested.new_ticket);
        pending += usize::from(receipt.status == crate::ReceiptStatus::Received);
        progress(idx + 1, total);
    }
    let resolved = resolve_demo_tickets(service).await?;
    Ok(DemoSummary { loaded: true, customers: CUSTOMERS.len(), orders: orders.len(), tickets, pending, templates, resolved })
}

/// Parses the templates CSV (`kind,shortcut,name,intent,language,body`; empty intent: any).
pub fn parse_templates_csv(text: &str) -> Result<Vec<NewTemplate>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut templates = Vec::new();
    for (idx, record) in reader.records().enumerate() {
        let record = record.map_err(|error| crate::Error::Invalid(format!("templates CSV record {}: {error}", idx + 1)))?;
        let field = |column: usize| record.get(column).map(str::trim).unwrap_or_default().to_string();
        let kind = TemplateKind::parse(&field(0)).ok_or_else(|| crate::Error::Invalid(format!("templates CSV record {}: kind `{}` is neither suggested nor canned", idx + 1, field(0))))?;
        let optional = |value: String| (!value.is_empty()).then_some(value);
        templates.push(NewTemplate { kind, shortcut: optional(field(1)), name: field(2), intent: optional(field(3)), language: field(4), body: record.get(5).unwrap_or_default().to_string() });
    }
    Ok(templates)
}

/// Stores the demo templates unless some template exists already.
async fn seed_demo_templates(service: &Service) -> Result<usize> {
    if !service.store().list_templates(None).await?.is_empty() {
        return Ok(0);
    }
    let templates = parse_templates_csv(DEMO_TEMPLATES_CSV)?;
    for template in &templates {
        let audit = [NewAuditEntry::new("demo", "template.created", "template", "", serde_json::json!({"kind": template.kind.as_str(), "name": template.name, "language": template.language}))];
        service.store().create_template(template, &audit, Utc::now()).await?;
    }
    Ok(templates.len())
}

/// Answers every third human-queue ticket with its suggested reply — only where the reply is
/// complete, never with a placeholder left in — and resolves it, so the similar-ticket panel
/// and the reports have solved tickets to show.
async fn resolve_demo_tickets(service: &Service) -> Result<usize> {
    let filter = TicketFilter { queue: Some(Queue::Human), status: Some(vec![TicketStatus::Open]), ..TicketFilter::default() };
    let (tickets, _) = service.store().list_tickets(&filter, sb_store::Page { limit: 500, offset: 0 }, Utc::now()).await?;
    let actor = crate::actions::Actor { audit_name: "demo".into(), user_id: None };
    let mut resolved = 0;
    for ticket in tickets.iter().step_by(3) {
        let assist = service.ticket_assist(ticket.id, &crate::assist::AssistOptions { agent_name: Some(DEMO_AGENT_NAME.to_string()), sees_pii: true, canned: None }).await?;
        if !assist.suggested_reply.complete {
            continue;
        }
        service.reply_to_ticket(ticket.id, &assist.suggested_reply.text, &actor).await?;
        service.set_ticket_status(ticket.id, TicketStatus::Resolved, &actor).await?;
        resolved += 1;
    }
    Ok(resolved)
}
