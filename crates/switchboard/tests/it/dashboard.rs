//! The supervisor dashboard and the admin pages in real headless Chromium, against the real
//! `switchboard serve --demo` (helpers from `console.rs`).
//!
//! Three weeks of hourly arrivals are written into the database first (the API stamps messages
//! with the present, and a forecast needs past weeks), and an agent answers and resolves a few
//! tickets through the API, so every chart has data. Then: a supervisor's dashboard shows the
//! tiles, the alert feed and the volume chart with the forecast line; a message sent through
//! the API moves the queue-depth tile without a reload. A viewer gets the 403 page for the
//! dashboard and every admin page. An admin changes a role, creates a token (secret shown
//! once), edits a template and an article through the pages (the API has the changes), meets a
//! version conflict when the article changed behind the page's back, and filters the audit log
//! to their own changes and verifies the hash chain. In a second test an admin raises an intent's
//! auto-reply threshold in the editor (a supervisor gets no editor and the API refuses them, a viewer
//! not even the page), and the next message with the same question goes to a person with the new
//! threshold in its decision record; then a conflict, a reset and an SLA target change. With
//! `SWITCHBOARD_SCREENSHOTS=DIR` every page is saved at 1440×900.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::console::{create_user, log_in, screenshot, send_message, set_viewport, text_of, wait_for, Driver, PASSWORD};
use crate::serve::{create_token, Server, TestDatabase};

/// Writes `weeks` weeks of inbound arrivals before today's UTC midnight, with a daily profile
/// (busy 9:00–18:00 with some hour-to-hour and day-to-day spread, quiet at night, quieter at
/// weekends), onto the demo's first ticket.
async fn write_arrival_history(db_url: &str, weeks: i64) {
    use sqlx::Connection;
    let hour_ms = 3_600_000_i64;
    let today_start_ms = chrono::Utc::now().timestamp_millis().div_euclid(24 * hour_ms) * 24 * hour_ms;
    let n_hours = weeks * 7 * 24;
    let sql = format!(
        "WITH RECURSIVE hours(h) AS (SELECT 1 UNION ALL SELECT h + 1 FROM hours WHERE h < {n_hours}), \
         copies(c) AS (SELECT 1 UNION ALL SELECT c + 1 FROM copies WHERE c < 9), \
         slots(at_ms) AS (SELECT {today_start_ms} - h * {hour_ms} FROM hours) \
         INSERT INTO messages (ticket_id, channel, direction, content_type, raw_payload, body, stage, received_at) \
         SELECT (SELECT MIN(id) FROM tickets), 'chat', 'inbound', 'text/plain', X'', 'earlier message', 'none', at_ms + c * 60000 \
         FROM slots JOIN copies ON c <= CASE \
           WHEN (at_ms / {hour_ms}) % 24 BETWEEN 9 AND 17 THEN CASE WHEN ((at_ms / 86400000) + 3) % 7 >= 5 THEN 2 + (at_ms / 86400000) % 2 ELSE 3 + ((at_ms / {hour_ms}) * 7 % 5) + ((at_ms / 86400000) % 3) END \
           WHEN (at_ms / {hour_ms}) % 24 BETWEEN 7 AND 20 THEN 1 + (at_ms / {hour_ms}) % 2 ELSE 0 END"
    );
    let mut connection = sqlx::SqliteConnection::connect(db_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut connection).await.unwrap();
}

/// A console session through the API: (cookie header, CSRF token).
async fn api_session(client: &reqwest::Client, base_url: &str, email: &str) -> (String, String) {
    let response = client.post(format!("{base_url}/api/v1/session")).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

async fn post_as(client: &reqwest::Client, base_url: &str, session: &(String, String), path: &str, body: Value) -> u16 {
    client.post(format!("{base_url}/api/v1{path}")).header("cookie", &session.0).header("x-csrf-token", &session.1).json(&body).send().await.unwrap().status().as_u16()
}

async fn get_json(client: &reqwest::Client, base_url: &str, token: &str, path: &str) -> Value {
    client.get(format!("{base_url}/api/v1{path}")).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

async fn tile_value(browser: &Client, tile: &str) -> String {
    text_of(browser, &format!("#tile-{tile} .tile-value")).await
}

async fn log_out(browser: &Client) {
    browser.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    wait_for(browser, "location.pathname === '/console/login'", "the login page after logging out").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_moves_live_admins_edit_through_the_pages_and_viewers_are_kept_out() {
    let driver = Driver::start().await;
    let database = TestDatabase::new(false).await;
    create_user(&database.url, "sam@example.com", "Sam Supervisor", "supervisor");
    create_user(&database.url, "ada@example.com", "Ada Admin", "admin");
    create_user(&database.url, "vic@example.com", "Vic Viewer", "viewer");
    create_user(&database.url, "alex@example.com", "Alex Agent", "agent");
    let token = create_token(&database.url, "ingest,read,write");
    let server = Server::start_with_args(&database.url, &["--demo", "--demo-tickets", "24"]).await;
    let base_url = server.base_url.clone();
    let client = reqwest::Client::new();
    write_arrival_history(&database.url, 3).await;

    // An agent answers and resolves some of the demo tickets, for the SLA and agent charts.
    let agent = api_session(&client, &base_url, "alex@example.com").await;
    let queue = get_json(&client, &base_url, &token, "/tickets?queue=human&limit=6").await;
    let human_tickets: Vec<i64> = queue["tickets"].as_array().unwrap().iter().map(|ticket| ticket["id"].as_i64().unwrap()).collect();
    assert!(human_tickets.len() >= 3, "the demo fills the human queue: {queue}");
    for (ticket_idx, ticket_id) in human_tickets.iter().take(4).enumerate() {
        assert_eq!(post_as(&client, &base_url, &agent, &format!("/tickets/{ticket_id}/reply"), json!({"body": "Thanks for writing, we are on it."})).await, 201);
        if ticket_idx < 2 {
            assert_eq!(post_as(&client, &base_url, &agent, &format!("/tickets/{ticket_id}/status"), json!({"status": "resolved"})).await, 200);
        }
    }

    // The supervisor's dashboard: tiles, alerts, the volume chart with its forecast.
    let browser = driver.browser().await;
    log_in(&browser, &base_url, "sam@example.com").await;
    assert!(browser.find(Locator::Css("[data-nav=dashboard]")).await.is_ok(), "a supervisor's navigation offers the dashboard");
    browser.goto(&format!("{base_url}/console/dashboard")).await.unwrap();
    wait_for(&browser, "document.querySelector('#tile-queue_depth .tile-value').dataset.value !== ''", "the tiles filled").await;
    wait_for(&browser, "document.querySelector('#chart-volume svg path.line.series-forecast') && document.querySelectorAll('#chart-volume rect.bar').length > 0", "the volume chart with its forecast line").await;
    wait_for(&browser, "document.querySelector('#chart-categories svg rect.bar')", "the category chart").await;
    wait_for(&browser, "document.querySelector('#chart-agents svg rect.bar')", "the agent chart").await;
    wait_for(&browser, "document.querySelector('#chart-sla-category svg rect.bar')", "the SLA chart").await;
    wait_for(&browser, "!document.getElementById('alerts-empty').hidden || document.querySelector('#alert-feed li')", "the alert feed").await;
    let cost_empty = text_of(&browser, "#empty-cost").await;
    assert!(cost_empty.contains("No AI cost recorded"), "the cost chart explains why it is empty: {cost_empty}");
    let volume_subtitle = text_of(&browser, "#subtitle-volume").await;
    assert!(volume_subtitle.contains("forecast from 3 weeks"), "the forecast used the history: {volume_subtitle}");

    // A message arrives: the queue-depth tile moves, without a reload.
    wait_for(&browser, "document.querySelector('#live-status[data-state=live]')", "the live connection").await;
    browser.execute("window.__noReload = true;", vec![]).await.unwrap();
    let before: i64 = tile_value(&browser, "queue_depth").await.parse().unwrap();
    send_message(&client, &base_url, &token, "dashboard-live-1", "chat", "My son swallowed one of the button batteries from the toy, what do I do", "parent@example.com").await;
    wait_for(&browser, &format!("document.querySelector('#tile-queue_depth .tile-value').textContent === '{}'", before + 1), "the queue-depth tile to count the new safety ticket").await;
    assert_eq!(browser.execute("return window.__noReload === true;", vec![]).await.unwrap(), json!(true), "the dashboard updated without a reload");
    screenshot(&browser, "dashboard").await;
    browser.execute("window.scrollTo(0, document.body.scrollHeight);", vec![]).await.unwrap();
    screenshot(&browser, "dashboard-charts").await;
    // A tablet in landscape: tiles and charts reflow, nothing is cut off.
    set_viewport(&browser, 1024, 768).await;
    browser.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    wait_for(&browser, "document.querySelector('#chart-volume svg') && document.querySelector('#chart-volume svg').getAttribute('width') < 1000", "the volume chart redrawn to the narrower card").await;
    let overflow = browser.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
    assert_eq!(overflow, json!(0), "no horizontal scrolling at tablet width");
    screenshot(&browser, "dashboard-tablet").await;
    set_viewport(&browser, 1440, 900).await;
    log_out(&browser).await;

    // A viewer: no dashboard, no admin.
    log_in(&browser, &base_url, "vic@example.com").await;
    assert!(browser.find(Locator::Css("[data-nav=dashboard]")).await.is_err() && browser.find(Locator::Css("[data-nav=admin]")).await.is_err(), "no dashboard or admin navigation for a viewer");
    for path in ["/console/dashboard", "/console/admin", "/console/admin/users", "/console/admin/tokens", "/console/admin/articles", "/console/admin/audit"] {
        browser.goto(&format!("{base_url}{path}")).await.unwrap();
        wait_for(&browser, "document.getElementById('forbidden')", &format!("the refusal of {path}")).await;
    }
    screenshot(&browser, "viewer-dashboard-refused").await;
    log_out(&browser).await;

    // An admin: users and roles.
    log_in(&browser, &base_url, "ada@example.com").await;
    browser.goto(&format!("{base_url}/console/admin/users")).await.unwrap();
    wait_for(&browser, "document.querySelectorAll('#users tr[data-user-id]').length >= 5", "the users").await;
    let own_row = wait_for(&browser, "document.querySelector(`#users tr[data-user-id=\"${document.body.dataset.userId}\"] select`) === null", "no role control on one's own row").await;
    assert_eq!(own_row, json!(true));
    browser
        .execute("const select = [...document.querySelectorAll('#users tr')].find(row => row.textContent.includes('alex@example.com')).querySelector('select'); select.value = 'supervisor'; select.dispatchEvent(new Event('change'));", vec![])
        .await
        .unwrap();
    wait_for(&browser, "fetch('/api/v1/users').then(response => response.json()).then(answer => answer.users.some(user => user.email === 'alex@example.com' && user.role === 'supervisor'))", "the role change stored").await;
    screenshot(&browser, "admin-users").await;

    // API tokens: the secret is shown once.
    browser.goto(&format!("{base_url}/console/admin/tokens")).await.unwrap();
    wait_for(&browser, "document.querySelectorAll('#tokens tr[data-token-id]').length >= 1", "the tokens").await;
    browser.find(Locator::Css("#token-form input[name=name]")).await.unwrap().send_keys("shop-sync").await.unwrap();
    browser.find(Locator::Css("#token-form button[type=submit]")).await.unwrap().click().await.unwrap();
    let secret = wait_for(&browser, "!document.getElementById('token-secret').hidden && document.getElementById('token-secret-value').textContent", "the new token's secret").await;
    assert!(secret.as_str().unwrap_or_default().starts_with("sbt_"), "{secret}");
    wait_for(&browser, "[...document.querySelectorAll('#tokens tr')].some(row => row.textContent.includes('shop-sync'))", "the new token listed").await;
    screenshot(&browser, "admin-tokens").await;

    // The last section stays open: the thresholds are read below.
    for (section, ready) in [("sla", "document.querySelectorAll('#sla-policies tr').length >= 2 && !document.querySelector('#sla-policies .panel-empty')"), ("mailboxes", "document.querySelector('#mailboxes .panel-empty') && document.querySelector('#mailboxes').textContent.includes('No IMAP mailbox is configured')"), ("thresholds", "document.querySelectorAll('#thresholds tr[data-intent]').length === 15")] {
        browser.goto(&format!("{base_url}/console/admin/{section}")).await.unwrap();
        wait_for(&browser, ready, &format!("the {section} section")).await;
        screenshot(&browser, &format!("admin-{section}")).await;
    }
    let safety_threshold = text_of(&browser, "#thresholds tr[data-intent=adverse_reaction]").await;
    assert!(safety_threshold.contains("never automatic"), "safety intents are never answered automatically: {safety_threshold}");

    // A template edited through the page.
    browser.goto(&format!("{base_url}/console/admin/templates")).await.unwrap();
    wait_for(&browser, "document.querySelector('#templates tr[data-template-id]')", "the templates").await;
    let template_id = browser.execute("const row = document.querySelector('#templates tr[data-template-id]'); row.click(); return Number(row.dataset.templateId);", vec![]).await.unwrap();
    wait_for(&browser, "!document.getElementById('template-form').hidden && document.querySelector('#template-form textarea').value", "the template in the editor").await;
    let template_body = "Hello {{customer_name}}, thank you for your patience. (edited in the console)";
    browser.execute(&format!("document.querySelector('#template-form textarea').value = {};", json!(template_body)), vec![]).await.unwrap();
    browser.find(Locator::Id("template-save")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "[...document.querySelectorAll('#templates tr')].some(row => row.textContent.includes('(edited in the console)'))", "the saved template listed").await;
    let templates = get_json(&client, &base_url, &token, "/templates").await;
    let stored = templates["templates"].as_array().unwrap().iter().find(|template| template["id"] == template_id).cloned().unwrap_or_default();
    assert_eq!(stored["body"], json!(template_body), "the API has the edit");
    screenshot(&browser, "admin-templates").await;

    // An article edited through the page, then a conflict with a change made behind its back.
    browser.goto(&format!("{base_url}/console/admin/articles")).await.unwrap();
    wait_for(&browser, "document.querySelector('#articles tr[data-article-id]')", "the articles").await;
    let article_id = browser.execute("const row = document.querySelector('#articles tr[data-article-id]'); row.click(); return Number(row.dataset.articleId);", vec![]).await.unwrap().as_i64().unwrap();
    wait_for(&browser, "!document.getElementById('article-form').hidden && document.querySelector('#article-form textarea').value", "the article in the editor").await;
    let before = get_json(&client, &base_url, &token, &format!("/kb/articles/{article_id}")).await["article"].clone();
    let version = before["version"].as_i64().unwrap();
    browser.execute("const body = document.querySelector('#article-form textarea'); body.value = body.value + '\\n\\nUpdated through the console.';", vec![]).await.unwrap();
    browser.find(Locator::Id("article-save")).await.unwrap().click().await.unwrap();
    wait_for(&browser, &format!("document.getElementById('article-version').textContent.includes('version {}')", version + 1), "the saved version").await;
    let after = get_json(&client, &base_url, &token, &format!("/kb/articles/{article_id}")).await["article"].clone();
    assert_eq!(after["version"], json!(version + 1));
    assert!(after["body"].as_str().unwrap().ends_with("Updated through the console."), "{after}");
    let behind = client
        .patch(format!("{base_url}/api/v1/kb/articles/{article_id}"))
        .bearer_auth(&token)
        .json(&json!({"title": "Changed elsewhere", "expected_version": version + 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(behind.status(), 200);
    browser.execute("const body = document.querySelector('#article-form textarea'); body.value = body.value + ' Once more.';", vec![]).await.unwrap();
    browser.find(Locator::Id("article-save")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "!document.getElementById('article-conflict').hidden", "the conflict notice").await;
    let kept = browser.execute("return document.querySelector('#article-form textarea').value.endsWith('Once more.');", vec![]).await.unwrap();
    assert_eq!(kept, json!(true), "the person's text is kept on a conflict");
    screenshot(&browser, "admin-articles-conflict").await;
    browser.find(Locator::Id("article-reload")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "document.getElementById('article-conflict').hidden && document.querySelector('#article-form input[name=title]').value === 'Changed elsewhere'", "the newer version loaded").await;
    screenshot(&browser, "admin-articles").await;

    // The audit log, filtered to this admin's own changes.
    browser.goto(&format!("{base_url}/console/admin/audit")).await.unwrap();
    wait_for(&browser, "document.querySelector('#audit tr[data-audit-id]')", "the audit log").await;
    browser.execute("const form = document.getElementById('audit-filters'); form.elements.actor.value = 'user:' + document.body.dataset.userId; form.requestSubmit();", vec![]).await.unwrap();
    let own = wait_for(
        &browser,
        "(() => { const rows = [...document.querySelectorAll('#audit tr[data-audit-id]')]; const actor = 'user:' + document.body.dataset.userId; return rows.length >= 3 && rows.every(row => row.children[1].textContent === actor) ? rows.length : 0; })()",
        "only this admin's entries",
    )
    .await;
    assert!(own.as_i64().unwrap() >= 3, "the role change, the new token and the article edit are audited: {own}");
    browser.find(Locator::Id("audit-verify")).await.unwrap().click().await.unwrap();
    let verified = wait_for(&browser, "document.querySelector('.verify-bar').dataset.state && document.getElementById('audit-verify-result').textContent", "the chain verified").await;
    assert!(verified.as_str().unwrap_or_default().starts_with("Intact: all "), "{verified}");
    screenshot(&browser, "admin-audit").await;
    browser.close().await.unwrap();
    drop(server);
}

/// `POST /api/v1/messages` with a token; the answer (status 201 asserted).
async fn ask(client: &reqwest::Client, base_url: &str, token: &str, external_id: &str, text: &str) -> Value {
    let response = client
        .post(format!("{base_url}/api/v1/messages"))
        .bearer_auth(token)
        .json(&json!({"channel": "chat", "external_id": external_id, "text": text, "customer": {"email": "ana.silva@example.com", "name": "Ana Silva"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// What the page's own fetch of `path` with `method` and `body` answers, with the session's
/// CSRF token (as the page's scripts send it).
async fn page_fetch_status(browser: &Client, method: &str, path: &str, body: Value) -> Value {
    let script = format!(
        "return fetch({}, {{method: {}, headers: {{'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf}}, body: {}}}).then(response => response.status);",
        json!(path),
        json!(method),
        json!(body.to_string())
    );
    browser.execute(&script, vec![]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_raises_a_threshold_in_the_console_and_the_next_message_is_decided_with_it() {
    let driver = Driver::start().await;
    let database = TestDatabase::new(false).await;
    create_user(&database.url, "ada@example.com", "Ada Admin", "admin");
    create_user(&database.url, "sam@example.com", "Sam Supervisor", "supervisor");
    create_user(&database.url, "vic@example.com", "Vic Viewer", "viewer");
    let token = create_token(&database.url, "ingest,read");
    let admin_token = create_token(&database.url, "admin");
    let server = Server::start_with_args(&database.url, &["--demo", "--demo-tickets", "0"]).await;
    let base_url = server.base_url.clone();
    let client = reqwest::Client::new();
    let question = "Where is my order A10493? It has not arrived yet.";

    // With the configured 0.85, the demo store's shipped order is answered automatically.
    let before = ask(&client, &base_url, &token, "policy-1", question).await;
    assert_eq!((before["triage"]["intent"].as_str(), before["decision"]["route"].as_str()), (Some("track_order"), Some("auto_reply")), "{before}");
    assert!((before["decision"]["thresholds"]["auto_reply_confidence"].as_f64().unwrap() - 0.85).abs() < 1e-6, "{before}");
    let confidence = before["decision"]["confidence"].as_f64().unwrap();
    // A threshold just above this message's confidence: the same question is no longer sure enough.
    let raised = ((confidence * 100.0).floor() + 1.0) / 100.0;
    assert!(raised <= 1.0, "the classifier is not certain enough to leave room above it: {confidence}");

    // A supervisor sees the thresholds but gets no editor, and the API refuses a change.
    let browser = driver.browser().await;
    log_in(&browser, &base_url, "sam@example.com").await;
    browser.goto(&format!("{base_url}/console/admin/thresholds")).await.unwrap();
    wait_for(&browser, "document.querySelectorAll('#thresholds tr[data-intent]').length === 15", "the thresholds").await;
    let controls = browser.execute("return [document.getElementById('threshold-form'), document.getElementById('general-form'), document.querySelector('#thresholds tr[tabindex]')].filter(Boolean).length;", vec![]).await.unwrap();
    assert_eq!(controls, json!(0), "no editing controls for a supervisor");
    let status = page_fetch_status(&browser, "PUT", "/api/v1/policy/thresholds/track_order", json!({"auto_reply_confidence": raised, "auto_reply_enabled": true})).await;
    assert_eq!(status, json!(403), "a supervisor cannot change a threshold");
    log_out(&browser).await;
    // A viewer does not even see the page.
    log_in(&browser, &base_url, "vic@example.com").await;
    browser.goto(&format!("{base_url}/console/admin/thresholds")).await.unwrap();
    wait_for(&browser, "document.getElementById('forbidden')", "the refusal of the thresholds page").await;
    log_out(&browser).await;

    // The admin opens track_order; a value under the low-confidence line is refused with the reason.
    log_in(&browser, &base_url, "ada@example.com").await;
    browser.goto(&format!("{base_url}/console/admin/thresholds")).await.unwrap();
    wait_for(&browser, "document.querySelector('#thresholds tr[data-intent=track_order][tabindex]')", "an editable track_order row").await;
    let general_provenance = text_of(&browser, "#general-provenance").await;
    assert_eq!(general_provenance, "From configuration");
    browser.execute("document.querySelector('#thresholds tr[data-intent=track_order]').click();", vec![]).await.unwrap();
    wait_for(&browser, "!document.getElementById('threshold-form').hidden && document.getElementById('threshold-form-title').textContent === 'Track order'", "the track_order editor").await;
    browser.execute("const form = document.getElementById('threshold-form'); form.elements.own.click(); form.elements.threshold.value = '0.3';", vec![]).await.unwrap();
    browser.find(Locator::Id("threshold-save")).await.unwrap().click().await.unwrap();
    let refused = wait_for(&browser, "!document.getElementById('threshold-error').hidden && document.getElementById('threshold-error').textContent", "the validation message").await;
    assert_eq!(refused, json!("auto_reply_confidence_by_intent.track_order (0.3) is below low_confidence_threshold (0.5)"));

    // Then the raised threshold: saved, shown as changed by this admin.
    browser.execute(&format!("document.getElementById('threshold-form').elements.threshold.value = '{raised}';"), vec![]).await.unwrap();
    browser.find(Locator::Id("threshold-save")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "document.querySelector('#thresholds tr[data-intent=track_order]').textContent.includes('Changed by Ada Admin')", "the row showing the change").await;
    let row = text_of(&browser, "#thresholds tr[data-intent=track_order]").await;
    assert!(row.contains(&format!("{raised:.2}")) && row.contains("Set for this intent"), "{row}");
    assert!(text_of(&browser, "#threshold-provenance").await.starts_with("Changed by Ada Admin · "));
    screenshot(&browser, "admin-thresholds-editor").await;

    // The next message with the same question is decided with it: a person answers.
    let after = ask(&client, &base_url, &token, "policy-2", question).await;
    assert_eq!(after["decision"]["confidence"].as_f64(), Some(confidence), "the same question, the same confidence");
    assert_eq!((after["decision"]["route"].as_str(), after["decision"]["reason_code"].as_str()), (Some("human_queue"), Some("confidence_below_threshold")), "{after}");
    assert!((after["decision"]["thresholds"]["auto_reply_confidence"].as_f64().unwrap() - raised).abs() < 1e-6, "the decision record keeps the threshold it applied: {after}");

    // Someone else changes the general threshold behind the page's back: the page's save is a
    // conflict that keeps the typed value, and loads the current one on request.
    let behind = client.put(format!("{base_url}/api/v1/policy/thresholds")).bearer_auth(&admin_token).json(&json!({"auto_reply_confidence_threshold": 0.9})).send().await.unwrap();
    assert_eq!(behind.status(), 200);
    browser.execute("document.querySelector('#general-form input[name=threshold]').value = '0.8';", vec![]).await.unwrap();
    browser.find(Locator::Id("general-save")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "!document.getElementById('general-conflict').hidden", "the conflict notice").await;
    assert_eq!(browser.execute("return document.querySelector('#general-form input[name=threshold]').value;", vec![]).await.unwrap(), json!("0.8"), "the typed value is kept");
    browser.find(Locator::Id("general-reload")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "document.getElementById('general-conflict').hidden && document.querySelector('#general-form input[name=threshold]').value === '0.9'", "the current value loaded").await;

    // Reset to configuration: the row says so, and the threshold in force is the configured one.
    browser.execute("document.querySelector('#thresholds tr[data-intent=track_order]').click(); window.confirm = () => true;", vec![]).await.unwrap();
    browser.find(Locator::Id("threshold-reset")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "document.querySelector('#thresholds tr[data-intent=track_order]').textContent.includes('reset by Ada Admin')", "the reset shown").await;
    let thresholds: Value = client.get(format!("{base_url}/api/v1/policy/thresholds")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let track_order = thresholds["intents"].as_array().unwrap().iter().find(|intent| intent["intent"] == "track_order").cloned().unwrap();
    assert_eq!((track_order["source"].as_str(), track_order["version"].as_i64(), track_order["overridden"].as_bool()), (Some("default"), Some(2), Some(false)), "{track_order}");

    // SLA targets: the admin shortens the standard first response; tickets already open keep theirs.
    browser.goto(&format!("{base_url}/console/admin/sla")).await.unwrap();
    wait_for(&browser, "document.querySelector('#sla-policies tr[data-policy=standard][tabindex]')", "an editable standard policy").await;
    browser.execute("document.querySelector('#sla-policies tr[data-policy=standard]').click();", vec![]).await.unwrap();
    wait_for(&browser, "!document.getElementById('sla-form').hidden", "the SLA editor").await;
    assert!(text_of(&browser, "#sla-configured").await.contains("Tickets already open keep their deadlines"));
    browser.execute("const form = document.getElementById('sla-form'); form.elements.first_response.value = '3h'; form.elements.resolution.value = '20h';", vec![]).await.unwrap();
    browser.find(Locator::Id("sla-save")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "document.querySelector('#sla-policies tr[data-policy=standard]').textContent.includes('Changed by Ada Admin')", "the changed policy").await;
    let policies: Value = client.get(format!("{base_url}/api/v1/sla/policies")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let standard = policies["policies"].as_array().unwrap().iter().find(|policy| policy["name"] == "standard").cloned().unwrap();
    assert_eq!((standard["first_response"].as_str(), standard["resolution"].as_str(), standard["configured_first_response"].as_str()), (Some("3h"), Some("20h"), Some("4h")), "{standard}");
    screenshot(&browser, "admin-sla-editor").await;

    // Every change is in the audit log, with the values it replaced.
    let audit: Value = client.get(format!("{base_url}/api/v1/audit?action=policy.&limit=10")).bearer_auth(&admin_token).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["policy.auto_reply_threshold_reset", "policy.auto_reply_threshold_changed", "policy.auto_reply_threshold_changed"], "{audit}");
    browser.close().await.unwrap();
    drop(server);
}
