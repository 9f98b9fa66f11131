//! The ticket view's agent tools in headless Chromium and headless Firefox against the real
//! `switchboard serve`:
//! the customer 360 (orders with tracking links, other tickets, the sentiment sparkline, the
//! VIP flag a supervisor toggles and an agent cannot), canned responses by shortcut in the
//! composer (keyboard only, filled for the ticket in its language, an unfillable variable
//! blocking the send), merging a duplicate (offered from the assist panel's flags, confirmed,
//! then the merged ticket shown) and transferring with a note (by its keyboard shortcut;
//! a safety ticket is offered only the safety queue; the ticket view and the queue then name the
//! new assignee).
//!
//! With `SWITCHBOARD_SCREENSHOTS=DIR` the Chromium run also saves the ticket view with the
//! customer 360, the canned list and the merge dialog (`scripts/screenshots.sh`).

use chrono::{Duration, NaiveDate, Utc};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use sb_domain::{Carrier, Order, OrderItem, OrderStatus};
use serde_json::{json, Value};

use crate::console::{click, create_user, log_in, picture, send_message, text_of, wait_for, Driver, Engine};
use crate::serve::{create_token, Server, TestDatabase};

fn order(number: &str, status: OrderStatus, days_ago: i64, tracking: Option<(Carrier, &str)>, total_minor: i64) -> Order {
    let placed_at = Utc::now() - Duration::days(days_ago);
    Order {
        number: number.into(),
        customer_email: Some("ana.silva@example.com".into()),
        customer_name: Some("Ana Silva".into()),
        status,
        placed_at,
        shipped_at: tracking.map(|_| placed_at + Duration::days(1)),
        delivered_at: None,
        promised_delivery: NaiveDate::from_ymd_opt(2026, 12, 1),
        carrier: tracking.map(|(carrier, _)| carrier),
        tracking_number: tracking.map(|(_, number)| number.to_string()),
        total_minor,
        currency: "USD".into(),
        items: vec![OrderItem { sku: "TEA-01".into(), name: "Green tea, 100 g".into(), quantity: 1, unit_price_minor: total_minor }],
    }
}

/// Presses `key` on the page (not in a field: the workspace's single-key shortcuts).
async fn press(browser: &Client, key: char) {
    browser.execute("document.activeElement && document.activeElement.blur();", vec![]).await.unwrap();
    let keys = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    browser.perform_actions(keys).await.unwrap();
}

async fn type_in_composer(browser: &Client, text: &str) {
    browser.find(Locator::Id("composer-text")).await.unwrap().send_keys(text).await.unwrap();
}

async fn composer_value(browser: &Client) -> String {
    browser.execute("return document.getElementById('composer-text').value;", vec![]).await.unwrap().as_str().unwrap_or_default().to_string()
}

async fn api_get(client: &reqwest::Client, url: String, token: &str) -> Value {
    client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_the_customer_uses_canned_responses_merges_and_transfers_in_chromium() {
    an_agent_sees_the_customer_uses_canned_responses_merges_and_transfers(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_the_customer_uses_canned_responses_merges_and_transfers_in_firefox() {
    an_agent_sees_the_customer_uses_canned_responses_merges_and_transfers(Engine::Firefox).await;
}

async fn an_agent_sees_the_customer_uses_canned_responses_merges_and_transfers(engine: Engine) {
    let driver = Driver::start_for(engine).await;
    let database = TestDatabase::new(false).await;
    create_user(&database.url, "alex@example.com", "Alex Agent", "agent");
    create_user(&database.url, "blake@example.com", "Blake Agent", "agent");
    create_user(&database.url, "sam@example.com", "Sam Supervisor", "supervisor");
    let token = create_token(&database.url, "ingest,read,write");
    let server = Server::start(&database.url).await;
    let base_url = server.base_url.clone();
    let client = reqwest::Client::new();
    // Canned responses: one shortcut in two languages, and one with a variable no ticket fills.
    for (shortcut, name, language, body) in [
        ("/thanks", "Danke", "de", "Vielen Dank für Ihre Geduld, {{customer.first_name}}!"),
        ("/thanks", "Thanks", "en", "Thank you for your patience, {{customer.first_name}}!"),
        ("/refund", "Refund issued", "en", "We refunded {{refund.amount}} to your card."),
    ] {
        let created = client.post(format!("{base_url}/api/v1/templates")).bearer_auth(&token).json(&json!({"kind": "canned", "shortcut": shortcut, "name": name, "language": language, "body": body})).send().await.unwrap();
        assert_eq!(created.status(), 201, "{shortcut} {language}");
    }

    // Ana writes three times: about an order, again about the same order, and a safety report.
    let first = send_message(&client, &base_url, &token, "ana-1", "email", "Hi, where is my order #A10493? The tracking has not moved since Monday.", "ana.silva@example.com").await;
    let again = send_message(&client, &base_url, &token, "ana-2", "chat", "Any news about order A10493? I am getting worried, it is really late.", "ana.silva@example.com").await;
    let safety = send_message(&client, &base_url, &token, "ana-3", "chat", "The face cream gave me a rash on my cheeks and it itches a lot", "ana.silva@example.com").await;
    for ticket_id in [first, again, safety] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while api_get(&client, format!("{base_url}/api/v1/tickets/{ticket_id}"), &token).await["decision"].is_null() {
            assert!(std::time::Instant::now() < deadline, "ticket {ticket_id} was not triaged");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    // The shop's orders, in the built-in order store: written after triage, so the order
    // workflow found none and every ticket waits for a person (no automatic answer).
    let store = sb_store::Store::connect(&database.url, &sb_store::StoreOptions::default()).await.unwrap();
    store.upsert_order(&order("A10493", OrderStatus::Shipped, 6, Some((Carrier::Ups, "1Z999AA10123456784")), 2_598)).await.unwrap();
    store.upsert_order(&order("A10497", OrderStatus::Unfulfilled, 1, None, 7_900)).await.unwrap();

    let browser = driver.browser().await;
    log_in(&browser, &base_url, "alex@example.com").await;

    // ---- customer 360 on the first ticket ----
    browser.goto(&format!("{base_url}/console/tickets/{first}")).await.unwrap();
    wait_for(&browser, "document.querySelector('#customer-360 #c360-orders')", "the customer 360").await;
    assert_eq!(text_of(&browser, "#c360-name").await, "Ana Silva");
    assert_eq!(text_of(&browser, "#c360-counts").await, "3 in all · 3 open");
    let tracking = browser.execute("const link = document.querySelector('[data-order=A10493] a.c360-track'); return link && [link.href, link.textContent, link.target];", vec![]).await.unwrap();
    assert_eq!(tracking, json!(["https://www.ups.com/track?tracknum=1Z999AA10123456784", "Track with UPS · 1Z999AA10123456784", "_blank"]));
    let unshipped = text_of(&browser, "[data-order=A10497]").await;
    assert!(unshipped.contains("Unfulfilled") && unshipped.contains("Not shipped yet") && unshipped.contains("$79.00"), "{unshipped}");
    let others: Vec<i64> = browser.execute("return [...document.querySelectorAll('#c360-tickets li')].map(item => Number(item.dataset.ticketId));", vec![]).await.unwrap().as_array().unwrap().iter().map(|id| id.as_i64().unwrap()).collect();
    assert_eq!(others, vec![safety, again], "the other tickets, newest first, not this one");
    let link = browser.execute(&format!("return document.querySelector('#c360-tickets [data-ticket-id=\"{again}\"] a').getAttribute('href');"), vec![]).await.unwrap();
    assert_eq!(link, json!(format!("/console/tickets/{again}")));
    // One dot per analysed ticket, the last one (this customer's newest) marked.
    let dots = browser.execute("return [document.querySelectorAll('#c360-trend svg.sparkline circle').length, document.querySelectorAll('#c360-trend circle.last').length, document.querySelector('#c360-trend svg path.spark-line') !== null];", vec![]).await.unwrap();
    assert_eq!(dots, json!([3, 1, true]));
    assert!(browser.find(Locator::Id("vip-toggle")).await.is_err(), "agents do not change the VIP flag");
    assert_eq!(text_of(&browser, "#c360-vip").await, "Not VIP");
    browser.execute("document.getElementById('customer-360').scrollIntoView();", vec![]).await.unwrap();
    picture(engine, &browser, "ticket-customer").await;

    // ---- canned responses by shortcut, by keyboard ----
    browser.execute("const editor = document.getElementById('composer-text'); editor.value = ''; editor.dispatchEvent(new Event('input')); editor.focus();", vec![]).await.unwrap();
    type_in_composer(&browser, "Hello /tha").await;
    wait_for(&browser, "!document.getElementById('canned-menu').hidden", "the canned list").await;
    let offered = browser.execute("return [...document.querySelectorAll('#canned-menu [role=option]')].map(option => option.querySelector('.canned-name').textContent);", vec![]).await.unwrap();
    assert_eq!(offered, json!(["Thanks"]), "one entry per shortcut, in the ticket's language");
    picture(engine, &browser, "ticket-canned").await;
    type_in_composer(&browser, &Key::Enter.to_string()).await;
    wait_for(&browser, "document.getElementById('composer-text').value.includes('Thank you')", "the canned response in the editor").await;
    assert_eq!(composer_value(&browser).await, "Hello Thank you for your patience, Ana!", "the shortcut is replaced by the filled response");
    assert!(browser.execute("return document.getElementById('canned-menu').hidden;", vec![]).await.unwrap().as_bool().unwrap());
    // `/` alone lists every shortcut; arrows move, Escape closes the list and stays in the editor.
    type_in_composer(&browser, " /").await;
    wait_for(&browser, "document.querySelectorAll('#canned-menu [role=option]').length === 2", "both shortcuts").await;
    type_in_composer(&browser, &Key::Down.to_string()).await;
    let selected = browser.execute("return document.querySelector('#canned-menu [aria-selected=true]').dataset.shortcut;", vec![]).await.unwrap();
    assert_eq!(selected, json!("/thanks"), "sorted by shortcut: /refund, then /thanks");
    type_in_composer(&browser, &Key::Up.to_string()).await;
    type_in_composer(&browser, &Key::Escape.to_string()).await;
    let state = browser.execute("return [document.getElementById('canned-menu').hidden, document.activeElement.id, document.getElementById('composer-text').value];", vec![]).await.unwrap();
    assert_eq!(state, json!([true, "composer-text", "Hello Thank you for your patience, Ana! /"]));
    // A variable the ticket cannot fill stays highlighted and blocks the send.
    type_in_composer(&browser, "ref").await;
    wait_for(&browser, "document.querySelector('#canned-menu [data-shortcut=\"/refund\"][aria-selected=true]')", "the refund response offered").await;
    type_in_composer(&browser, &Key::Enter.to_string()).await;
    wait_for(&browser, "document.getElementById('composer-text').value.includes('We refunded')", "the refund response in the editor").await;
    let blocked = browser.execute("return [document.getElementById('composer-send').disabled, [...document.querySelectorAll('.editor-backdrop mark')].map(mark => mark.textContent)];", vec![]).await.unwrap();
    assert_eq!(blocked, json!([true, ["{{refund.amount}}"]]));
    browser.execute("const editor = document.getElementById('composer-text'); editor.value = ''; editor.dispatchEvent(new Event('input'));", vec![]).await.unwrap();

    // ---- merge the second ticket into the first ----
    browser.goto(&format!("{base_url}/console/tickets/{again}")).await.unwrap();
    wait_for(&browser, "document.getElementById('action-merge') && document.querySelector('#customer-360 #c360-tickets')", "the second ticket").await;
    press(&browser, 'm').await;
    wait_for(&browser, "document.getElementById('merge-dialog') && document.getElementById('merge-dialog').open", "the merge dialog").await;
    let choices: Vec<i64> = browser.execute("return [...document.querySelectorAll('#merge-dialog .merge-choice')].map(choice => Number(choice.dataset.ticketId));", vec![]).await.unwrap().as_array().unwrap().iter().map(|id| id.as_i64().unwrap()).collect();
    assert_eq!(choices, vec![first, safety], "the duplicate first, then the customer's other open ticket");
    let why = text_of(&browser, &format!("#merge-dialog .merge-choice[data-ticket-id=\"{first}\"] .meta")).await;
    assert!(why.contains("same order A10493"), "{why}");
    picture(engine, &browser, "ticket-merge").await;
    click(&browser, "#merge-review").await;
    let confirmation = text_of(&browser, "#merge-confirmation p").await;
    assert!(confirmation.contains(&format!("move into ticket #{first}")) && confirmation.contains("cannot be undone"), "{confirmation}");
    click(&browser, "#merge-confirm").await;
    // The merged ticket, or the dialog's refusal (which the failure then shows).
    let outcome = wait_for(&browser, &format!("(location.pathname === '/console/tickets/{first}' && document.getElementById('merge-result') && 'merged') || [...document.querySelectorAll('#merge-confirmation .form-error')].filter(node => !node.hidden).map(node => node.textContent).join(' ')"), "the merged ticket").await;
    assert_eq!(outcome, json!("merged"), "the merge was refused");
    assert!(text_of(&browser, "#merge-result").await.contains(&format!("#{again} was merged into this one")));
    wait_for(&browser, "[...document.querySelectorAll('.message.inbound .bubble')].some(node => node.textContent.includes('Any news about order A10493'))", "the moved message in the conversation").await;
    let merged = api_get(&client, format!("{base_url}/api/v1/tickets/{again}"), &token).await;
    assert_eq!((merged["ticket"]["status"].as_str(), merged["ticket"]["merged_into"].as_i64()), (Some("merged"), Some(first)));

    // ---- transfer the first ticket to Blake with a note, by its shortcut ----
    click(&browser, "#action-assign").await;
    wait_for(&browser, "document.querySelector('.ticket-facts').textContent.includes('Assigned to you')", "the assignment").await;
    press(&browser, 't').await;
    wait_for(&browser, "document.getElementById('transfer-dialog') && document.getElementById('transfer-dialog').open && document.querySelectorAll('#transfer-agent option').length > 1", "the transfer dialog with the agents").await;
    let agents = browser.execute("return [...document.querySelectorAll('#transfer-agent option')].map(option => option.textContent);", vec![]).await.unwrap();
    assert_eq!(agents, json!(["Nobody: back to the queue", "Blake Agent · Agent", "Sam Supervisor · Supervisor"]), "everyone who works tickets but the current assignee");
    let blake = browser.execute("return [...document.querySelectorAll('#transfer-agent option')].find(option => option.textContent.startsWith('Blake')).value;", vec![]).await.unwrap();
    let blake: i64 = blake.as_str().unwrap().parse().unwrap();
    browser.execute(&format!("document.getElementById('transfer-agent').value = '{blake}';"), vec![]).await.unwrap();
    browser.find(Locator::Id("transfer-note")).await.unwrap().send_keys("Ana asked twice; UPS says it is out for delivery.").await.unwrap();
    click(&browser, "#transfer-submit").await;
    wait_for(&browser, "!document.getElementById('transfer-dialog').open && document.getElementById('read-only-note')", "the ticket handed on").await;
    wait_for(&browser, "[...document.querySelectorAll('.message.note .bubble')].some(node => node.textContent.includes('out for delivery'))", "the transfer note in the conversation").await;
    let moved = api_get(&client, format!("{base_url}/api/v1/tickets/{first}"), &token).await;
    assert_eq!((moved["ticket"]["assignee_id"].as_i64(), moved["ticket"]["queue"].as_str()), (Some(blake), Some("human")));
    // The ticket view and the queue name the new assignee, not a user id.
    assert_eq!(moved["ticket"]["assignee_name"], json!("Blake Agent"));
    wait_for(&browser, "document.getElementById('ticket-assignee') && document.getElementById('ticket-assignee').textContent === 'Assigned to Blake Agent'", "the assignee's name in the ticket view").await;
    browser.goto(&format!("{base_url}/console")).await.unwrap();
    let assignee = format!("#queue-list [data-ticket-id=\"{first}\"] .qi-assignee");
    wait_for(&browser, &format!("document.querySelector({})", json!(assignee)), "the ticket in the queue with its assignee").await;
    assert_eq!(text_of(&browser, &assignee).await, "· Blake Agent");

    // A safety ticket is offered only the safety queue.
    browser.goto(&format!("{base_url}/console/tickets/{safety}")).await.unwrap();
    wait_for(&browser, "document.getElementById('action-transfer')", "the safety ticket").await;
    click(&browser, "#action-transfer").await;
    wait_for(&browser, "document.getElementById('transfer-dialog').open", "the transfer dialog").await;
    let queues = browser.execute("return [document.getElementById('transfer-queue').value, document.querySelector('#transfer-queue option[value=human]').disabled];", vec![]).await.unwrap();
    assert_eq!(queues, json!(["safety", true]));
    close_dialog_with_escape(&browser).await;

    // ---- a supervisor flags Ana as a VIP ----
    click(&browser, "#logout").await;
    wait_for(&browser, "location.pathname === '/console/login'", "the login page").await;
    log_in(&browser, &base_url, "sam@example.com").await;
    browser.goto(&format!("{base_url}/console/tickets/{first}")).await.unwrap();
    wait_for(&browser, "document.getElementById('vip-toggle')", "the VIP toggle").await;
    assert_eq!(text_of(&browser, "#vip-toggle").await, "Mark as VIP");
    click(&browser, "#vip-toggle").await;
    wait_for(&browser, "document.getElementById('c360-vip').textContent === 'VIP' && document.getElementById('vip-toggle').textContent === 'Remove VIP'", "the VIP flag set").await;
    let customer_id = moved["ticket"]["customer_id"].as_i64().unwrap();
    let customer = api_get(&client, format!("{base_url}/api/v1/customers/{customer_id}"), &token).await;
    assert_eq!(customer["customer"]["vip"], json!(true));
    browser.close().await.unwrap();
    drop(server);
}

/// Closes the open dialog with Escape, as a keyboard user would.
async fn close_dialog_with_escape(browser: &Client) {
    let keys = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: Key::Escape.into() }).then(KeyAction::Up { value: Key::Escape.into() });
    browser.perform_actions(keys).await.unwrap();
    wait_for(browser, "!document.getElementById('transfer-dialog').open", "the dialog closed by Escape").await;
}
