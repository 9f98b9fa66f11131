//! The customer chat widget in real headless Chromium, against the real `switchboard serve`
//! (demo knowledge base, templates and orders): a shop's page on another origin embeds it with
//! one `<script>` tag, and its own hostile CSS does not reach the widget.
//!
//! With no agent online the widget shows its offline notice. An agent logs in (a second browser
//! session); the customer reloads the shop's page, sees the team online, starts a chat and asks
//! where an order is → the ticket appears live in the agent's queue → the agent opens it, sees
//! the AI panel and the suggested reply, and typing shows on both sides → the agent sends the
//! suggested reply → the customer sees it live → a reload of the shop's page keeps the whole
//! conversation → the agent resolves the ticket → the widget asks for a rating once, given
//! with the keyboard alone.
//!
//! With `SWITCHBOARD_SCREENSHOTS=DIR` it saves the shop page with the widget open at 1440×900
//! (`widget.png`, `widget-start.png`) and the agent's view of the chat ticket (`widget-agent.png`).

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::console::{create_user, log_in, screenshot, text_of, wait_for, Driver};
use crate::serve::{Server, TestDatabase};

/// WebDriver's codes for the Space and → keys.
const SPACE: char = '\u{e00d}';
const ARROW_RIGHT: char = '\u{e014}';

/// A shop's product page: its own styles try hard to restyle everything (they must not reach
/// the widget), and the one tag that embeds the chat.
fn shop_page(server_url: &str) -> String {
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Outdoor · Trail Runner 2</title>
<style>
  * {{ font-family: Georgia, serif !important; }}
  button {{ background: #ff00aa !important; border-radius: 0 !important; }}
  iframe {{ border: 6px dashed red !important; }}
  body {{ margin: 0; color: #1f2933; background: #fbfaf7; }}
  header {{ padding: 22px 56px; background: #14342b; color: #f2efe6; font-size: 22px; letter-spacing: .04em; }}
  main {{ display: grid; grid-template-columns: 1.1fr 1fr; gap: 56px; padding: 56px; max-width: 1180px; }}
  .photo {{ height: 460px; border-radius: 18px; background: linear-gradient(135deg, #d9d4c7, #a9b8a2); }}
  h1 {{ font-size: 40px; margin: 0 0 12px; }} .price {{ font-size: 26px; color: #14342b; margin: 0 0 24px; }}
  p {{ font-size: 18px; line-height: 1.6; max-width: 30em; }}
</style></head>
<body>
<header>ACME OUTDOOR</header>
<main><div class="photo"></div>
<section><h1>Trail Runner 2</h1><p class="price">$129.00</p>
<p>A light trail shoe with a grippy outsole and a breathable upper, for long days on rough ground.</p>
<button type="button">Add to cart</button></section></main>
<script src="{server_url}/widget.js" data-title="Acme Outdoor" data-accent="#0f766e" async></script>
</body></html>"##
    )
}

/// Serves `page` to every request on a port of its own (another origin than the server's).
async fn serve_shop(page: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let page = page.clone();
            tokio::spawn(async move {
                let mut request = vec![0_u8; 4096];
                let _ = stream.read(&mut request).await;
                let response = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}", page.len());
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://localhost:{port}/")
}

/// Opens the shop page, clicks the launcher and enters the chat's iframe.
async fn open_widget(browser: &Client, shop_url: &str) {
    browser.enter_parent_frame().await.ok();
    browser.goto(shop_url).await.unwrap();
    wait_for(browser, "document.getElementById('switchboard-chat') && document.getElementById('switchboard-chat').shadowRoot.querySelector('.launcher')", "the widget's launcher on the shop page").await;
    browser.execute("document.getElementById('switchboard-chat').shadowRoot.querySelector('.launcher').click();", vec![]).await.unwrap();
    wait_for(browser, "document.getElementById('switchboard-chat').shadowRoot.querySelector('.panel.open')", "the open chat panel").await;
    // The shop's `button { background: #ff00aa !important }` does not reach the launcher.
    let launcher_colour = browser.execute("return getComputedStyle(document.getElementById('switchboard-chat').shadowRoot.querySelector('.launcher')).backgroundColor;", vec![]).await.unwrap();
    assert_eq!(launcher_colour, json!("rgb(15, 118, 110)"), "the launcher keeps the widget's accent");
    enter_chat(browser).await;
    wait_for(browser, "document.readyState === 'complete' && (!document.getElementById('chat-start').hidden || !document.getElementById('chat-conversation').hidden)", "the chat page").await;
}

/// Enters the chat's iframe, which lives in the widget's shadow root (not in `window.frames`'
/// numbering WebDriver sees).
async fn enter_chat(browser: &Client) {
    let host = browser.find(Locator::Id("switchboard-chat")).await.unwrap();
    let frame = host.shadow_root().await.unwrap().find(Locator::Css("iframe")).await.unwrap();
    frame.enter_frame().await.unwrap();
}

/// The texts of the chat's messages, as (class, text) pairs.
async fn chat_messages(browser: &Client) -> Vec<(String, String)> {
    let value = browser.execute("return [...document.querySelectorAll('#chat-messages .chat-message')].map(node => [node.className, node.querySelector('.chat-bubble').textContent]);", vec![]).await.unwrap();
    value.as_array().unwrap().iter().map(|pair| (pair[0].as_str().unwrap_or_default().to_string(), pair[1].as_str().unwrap_or_default().to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_chats_from_a_shop_page_and_an_agent_answers_live_in_chromium() {
    let driver = Driver::start().await;
    let database = TestDatabase::new(false).await;
    create_user(&database.url, "alex@example.com", "Alex Agent", "agent");
    let server = Server::start_with_args(&database.url, &["--demo", "--demo-tickets", "0"]).await;
    let base_url = server.base_url.clone();
    let shop_url = serve_shop(shop_page(&base_url)).await;
    let customer = driver.browser().await;

    // Nobody online: the widget says so, and still offers the chat.
    open_widget(&customer, &shop_url).await;
    wait_for(&customer, "document.getElementById('chat-presence').dataset.online === 'false' && !document.getElementById('chat-offline').hidden", "the offline notice").await;
    assert_eq!(text_of(&customer, "#chat-title").await, "Acme Outdoor");

    // An agent signs in (the console's /ws connection makes the team online).
    let agent = driver.browser().await;
    log_in(&agent, &base_url, "alex@example.com").await;
    let status: Value = reqwest::get(format!("{base_url}/api/v1/chat/status")).await.unwrap().json().await.unwrap();
    assert_eq!(status["agents_online"], true, "{status}");

    // The customer comes back to the shop page: online now; starts a chat about an order.
    open_widget(&customer, &shop_url).await;
    wait_for(&customer, "document.getElementById('chat-presence').dataset.online === 'true' && document.getElementById('chat-offline').hidden", "the team online").await;
    customer.find(Locator::Id("chat-name")).await.unwrap().send_keys("Sam Lee").await.unwrap();
    customer.find(Locator::Id("chat-email")).await.unwrap().send_keys("sam.lee@example.com").await.unwrap();
    let question = "Hi, where is my order #A10493? It should have arrived on Monday.";
    customer.find(Locator::Id("chat-first-message")).await.unwrap().send_keys(question).await.unwrap();
    customer.enter_parent_frame().await.unwrap();
    screenshot(&customer, "widget-start").await;
    enter_chat(&customer).await;
    customer.find(Locator::Id("chat-start-submit")).await.unwrap().click().await.unwrap();
    wait_for(&customer, &format!("[...document.querySelectorAll('.chat-message.mine:not(.pending) .chat-bubble')].some(node => node.textContent === {})", json!(question)), "the customer's message, stored").await;
    let stored = customer.execute("const session = JSON.parse(localStorage.getItem('switchboard.chat.v1')); return fetch(`/api/v1/chat/conversations/${session.conversationId}`, {headers: {Authorization: `Bearer ${session.token}`}}).then(response => response.json());", vec![]).await.unwrap();
    let ticket_id = stored["ticket_ids"][0].as_i64().unwrap_or_else(|| panic!("the conversation has its ticket: {stored}"));

    // The ticket appears live in the agent's queue; the agent opens it.
    wait_for(&agent, &format!("document.querySelector('#queue-list [data-ticket-id=\"{ticket_id}\"]')"), "the chat ticket in the queue, live").await;
    crate::console::click(&agent, &format!("#queue-list [data-ticket-id=\"{ticket_id}\"]")).await;
    wait_for(&agent, "document.querySelector('#ai-panel #ai-intent')", "the AI panel").await;
    let intent = text_of(&agent, "#ai-intent").await;
    assert!(intent.contains("Track order"), "the AI panel names the intent: {intent}");
    let suggested = wait_for(&agent, "document.getElementById('composer-text').value", "the suggested reply in the editor").await;
    let suggested = suggested.as_str().unwrap_or_default().to_string();
    agent.find(Locator::Id("action-assign")).await.unwrap().click().await.unwrap();
    wait_for(&agent, "document.querySelector('.ticket-facts') && document.querySelector('.ticket-facts').textContent.includes('Assigned to you')", "the assignment").await;

    // Typing, both ways: the customer types (without sending) and the agent sees it…
    customer.find(Locator::Id("chat-text")).await.unwrap().send_keys("Also, ").await.unwrap();
    wait_for(&agent, "document.getElementById('customer-typing') && !document.getElementById('customer-typing').hidden", "\"customer is typing\" in the ticket view").await;
    // …and the agent's typing in the reply editor shows in the widget. Unfilled variables of
    // the suggestion, if any, are filled the way an agent would before sending.
    let reply = suggested.split("{{").enumerate().map(|(part_idx, part)| if part_idx == 0 { part.to_string() } else { format!("(see the tracking link){}", part.split_once("}}").map_or("", |(_, rest)| rest)) }).collect::<String>();
    let reply = if reply.trim().is_empty() { "Hi Sam, your order A10493 is on its way and arrives tomorrow.".to_string() } else { reply };
    agent.execute("const editor = document.getElementById('composer-text'); editor.value = ''; editor.dispatchEvent(new Event('input'));", vec![]).await.unwrap();
    agent.find(Locator::Id("composer-text")).await.unwrap().send_keys(&reply).await.unwrap();
    wait_for(&customer, "!document.getElementById('chat-typing').hidden", "the agent typing, in the widget").await;
    agent.find(Locator::Id("composer-send")).await.unwrap().click().await.unwrap();

    // The customer sees the reply live, signed with the agent's first name.
    let reply_start: String = reply.chars().take(40).collect();
    wait_for(&customer, &format!("[...document.querySelectorAll('.chat-message.from-agent .chat-bubble')].some(node => node.textContent.startsWith({}))", json!(reply_start)), "the agent's reply in the widget").await;
    // textContent: the bubble may still be fading in, and WebDriver's text skips what is transparent.
    let signed = customer.execute("return document.querySelector('.chat-message.from-agent .chat-who').textContent;", vec![]).await.unwrap();
    assert_eq!(signed, json!("Alex"));
    assert!(customer.find(Locator::Id("chat-typing")).await.unwrap().attr("hidden").await.unwrap().is_some(), "the typing hint ends with the reply");
    customer.execute("const text = document.getElementById('chat-text'); text.value = ''; text.dispatchEvent(new Event('input'));", vec![]).await.unwrap();
    customer.enter_parent_frame().await.unwrap();
    screenshot(&customer, "widget").await;
    screenshot(&agent, "widget-agent").await;

    // A reload of the shop's page keeps the conversation (id and secret in the browser's storage).
    open_widget(&customer, &shop_url).await;
    wait_for(&customer, "document.querySelectorAll('#chat-messages .chat-message.from-agent').length === 1", "the history after a reload").await;
    let messages = chat_messages(&customer).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].0.contains("mine") && messages[0].1 == question, "{messages:?}");
    assert!(messages[1].1.starts_with(&reply_start), "{messages:?}");

    // A question the demo knowledge base answers (confidently even BM25-only, as here): the
    // automatic answer arrives live with its help article as a card linking the public page.
    customer.find(Locator::Id("chat-text")).await.unwrap().send_keys("Do you offer gift wrapping?").await.unwrap();
    customer.find(Locator::Id("chat-send")).await.unwrap().click().await.unwrap();
    wait_for(&customer, "document.querySelector('#chat-messages .chat-message.from-automatic a.chat-article')", "the automatic answer with its article card").await;
    let link = customer.execute("return document.querySelector('.chat-message.from-automatic a.chat-article').getAttribute('href');", vec![]).await.unwrap();
    assert!(link.as_str().is_some_and(|href| href.ends_with("/help/gift-wrap")), "{link}");

    // The agent resolves the ticket: the widget asks for a rating, once, and the keyboard alone
    // gives it (focus the first star, Space, three times →: four stars).
    let conversation = customer.execute("const session = JSON.parse(localStorage.getItem('switchboard.chat.v1')); return fetch(`/api/v1/chat/conversations/${session.conversationId}`, {headers: {Authorization: `Bearer ${session.token}`}}).then(response => response.json());", vec![]).await.unwrap();
    assert_eq!(conversation["rating_ticket_id"], Value::Null, "nothing to rate while the ticket is open: {conversation}");
    let latest_ticket_id = conversation["ticket_ids"].as_array().and_then(|ids| ids.last()).and_then(Value::as_i64).unwrap();
    let resolved = agent
        .execute(&format!("return fetch('/api/v1/tickets/{latest_ticket_id}/status', {{method: 'POST', credentials: 'same-origin', headers: {{'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf}}, body: JSON.stringify({{status: 'resolved'}})}}).then(response => response.status);"), vec![])
        .await
        .unwrap();
    assert_eq!(resolved, json!(200));
    wait_for(&customer, "!document.getElementById('chat-rating').hidden", "the rating prompt after the resolution").await;
    customer.execute("document.getElementById('chat-star-1').focus();", vec![]).await.unwrap();
    let mut keys = KeyActions::new("rating-keys".into()).then(KeyAction::Down { value: SPACE }).then(KeyAction::Up { value: SPACE });
    for _ in 0..3 {
        keys = keys.then(KeyAction::Down { value: ARROW_RIGHT }).then(KeyAction::Up { value: ARROW_RIGHT });
    }
    customer.perform_actions(keys).await.unwrap();
    let chosen = customer.execute("return [document.querySelector('.chat-star-input:checked')?.value, document.querySelectorAll('.chat-star.lit').length, document.activeElement.id];", vec![]).await.unwrap();
    assert_eq!(chosen, json!(["4", 4, "chat-star-4"]), "four stars, chosen and shown by the keyboard");
    customer.find(Locator::Id("chat-rating-comment")).await.unwrap().send_keys("Quick and friendly.").await.unwrap();
    customer.find(Locator::Id("chat-rating-submit")).await.unwrap().click().await.unwrap();
    wait_for(&customer, "!document.getElementById('chat-rating-thanks').hidden && document.getElementById('chat-rating-form').hidden", "the thanks").await;
    let conversation = customer.execute("const session = JSON.parse(localStorage.getItem('switchboard.chat.v1')); return fetch(`/api/v1/chat/conversations/${session.conversationId}`, {headers: {Authorization: `Bearer ${session.token}`}}).then(response => response.json());", vec![]).await.unwrap();
    assert_eq!((conversation["rating_ticket_id"].as_i64(), conversation["rated"].as_bool()), (Some(latest_ticket_id), Some(true)), "{conversation}");
    let store = sb_store::Store::connect(&database.url, &sb_store::StoreOptions::default()).await.unwrap();
    let rating = store.ticket_csat(latest_ticket_id).await.unwrap().expect("the rating is stored");
    assert_eq!((rating.rating, rating.comment.as_deref(), rating.source.as_str()), (4, Some("Quick and friendly."), "chat"));
    // Shown once: a reload of the shop's page does not ask again.
    open_widget(&customer, &shop_url).await;
    wait_for(&customer, "document.querySelectorAll('#chat-messages .chat-message').length >= 4", "the history after a reload").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(customer.find(Locator::Id("chat-rating")).await.unwrap().attr("hidden").await.unwrap().is_some(), "the prompt is not shown twice");

    customer.close().await.unwrap();
    agent.close().await.unwrap();
    drop(server);
}
