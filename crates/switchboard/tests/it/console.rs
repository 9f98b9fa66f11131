//! The web console in real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver by fantoccini, against the real `switchboard serve`; the main flow runs
//! in headless Firefox too (Debian's `firefox-esr` and geckodriver, which `scripts/services.sh`
//! builds from crates.io into `~/.cache/switchboard/geckodriver`).
//!
//! An agent logs in through the page; messages sent through the API appear live in the queue
//! (no reload: a marker set on the page before survives); the agent opens the new ticket, sees
//! the AI analysis and the suggested reply, takes the ticket, sends a reply and sees it in the
//! conversation (and the API has it); then a viewer logs in: no admin navigation, the admin page
//! refused (and the API refuses the viewer's session too), the ticket without actions or editor
//! and with the customer masked. A safety report waits in the safety queue.
//!
//! The tests fail, saying how to install them, when a browser or its driver is missing.
//! With `SWITCHBOARD_SCREENSHOTS=DIR` set it also saves its pages as PNGs at 1440×900 into DIR
//! (`scripts/screenshots.sh`), and one at tablet width (1024×768).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::cli::repo_root;
use crate::serve::{binary, create_token, Server, TestDatabase};

pub(crate) const PASSWORD: &str = "a long console password";

/// The browsers the console is tested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Chromium,
    Firefox,
}

impl Engine {
    fn install_hint(self) -> &'static str {
        match self {
            Engine::Chromium => "the console's browser tests need Debian's Chromium and its WebDriver: run `apt-get install -y chromium chromium-driver` (scripts/services.sh does it)",
            Engine::Firefox => "the console's Firefox tests need Debian's Firefox ESR and geckodriver: run `apt-get install -y firefox-esr && cargo install geckodriver --locked --root ~/.cache/switchboard/geckodriver` (scripts/services.sh does both)",
        }
    }

    /// Where the driver and the browser are looked for besides PATH.
    fn extra_dirs(self) -> Vec<PathBuf> {
        match self {
            Engine::Chromium => vec![PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")],
            Engine::Firefox => {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
                vec![PathBuf::from("/usr/bin"), home.join(".cache/switchboard/geckodriver/bin")]
            }
        }
    }

    fn find(self, names: &[&str]) -> PathBuf {
        let path = std::env::var_os("PATH").unwrap_or_default();
        for name in names {
            for dir in std::env::split_paths(&path).chain(self.extra_dirs()) {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return candidate;
                }
            }
        }
        panic!("{} not found: {}", names.join(" or "), self.install_hint());
    }
}

/// The browser's WebDriver (chromedriver or geckodriver) on a free port; killed when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
    engine: Engine,
}

impl Driver {
    /// chromedriver: the browser most tests use.
    pub(crate) async fn start() -> Driver {
        Driver::start_for(Engine::Chromium).await
    }

    pub(crate) async fn start_for(engine: Engine) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = match engine {
            Engine::Chromium => {
                let mut command = Command::new(engine.find(&["chromedriver"]));
                command.arg(format!("--port={port}"));
                command
            }
            Engine::Firefox => {
                // Each geckodriver picks its own free Marionette port, so tests run side by side.
                let mut command = Command::new(engine.find(&["geckodriver"]));
                command.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--log", "error"]);
                command
            }
        };
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|error| panic!("the {engine:?} WebDriver does not start ({error}): {}", engine.install_hint()));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}"), engine };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "the {engine:?} WebDriver did not listen within 20 s: {}", engine.install_hint());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    pub(crate) async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        match self.engine {
            Engine::Chromium => {
                let chromium = self.engine.find(&["chromium", "chromium-browser"]);
                capabilities.insert(
                    "goog:chromeOptions".into(),
                    json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900", "--hide-scrollbars", "--lang=en-US"]}),
                );
            }
            Engine::Firefox => {
                let firefox = self.engine.find(&["firefox-esr", "firefox"]);
                capabilities.insert(
                    "moz:firefoxOptions".into(),
                    json!({"binary": firefox, "args": ["-headless", "-width=1440", "-height=900"], "prefs": {"intl.accept_languages": "en-US", "intl.locale.requested": "en-US"}}),
                );
            }
        }
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("{:?} does not start through its WebDriver ({error}): {}", self.engine, self.engine.install_hint()));
        set_viewport(&browser, 1440, 900).await;
        browser
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sizes the window so that the page itself is `width`×`height` (WebDriver sets the outer size).
pub(crate) async fn set_viewport(browser: &Client, width: u32, height: u32) {
    let frame = browser.execute("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];", vec![]).await.unwrap();
    let frame_size = |index: usize| frame[index].as_u64().unwrap_or(0) as u32;
    browser.set_window_size(width + frame_size(0), height + frame_size(1)).await.unwrap();
}

pub(crate) fn create_user(db_url: &str, email: &str, name: &str, role: &str) {
    let output = Command::new(binary())
        .args(["user", "create", "--db", db_url, "--email", email, "--name", name, "--role", role])
        .env("SWITCHBOARD_PASSWORD", PASSWORD)
        .env("SWITCHBOARD_LOG", "warn")
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "user create failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Saves the page as `name.png` when screenshots are asked for.
pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let Ok(dir) = std::env::var("SWITCHBOARD_SCREENSHOTS") else { return };
    let dir = repo_root().join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Let the fresh-row animation finish so pictures show the resting state.
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Polls `script` (a JavaScript expression) until it is truthy; fails with `what` after 20 s.
pub(crate) async fn wait_for(browser: &Client, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = browser.execute(&format!("return ({script});"), vec![]).await.unwrap();
        let truthy = match &value {
            Value::Null | Value::Bool(false) => false,
            Value::String(text) => !text.is_empty(),
            Value::Number(number) => number.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return value;
        }
        assert!(Instant::now() < deadline, "waited 20 s for {what} ({script}); page: {}", browser.current_url().await.map(|url| url.to_string()).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the first element matching `selector`, looking it up again when a live re-render
/// replaced it between the lookup and the click (a stale reference).
pub(crate) async fn click(browser: &Client, selector: &str) {
    let mut attempts = 0;
    loop {
        let element = browser.find(Locator::Css(selector)).await.unwrap_or_else(|error| panic!("{selector}: {error}"));
        match element.click().await {
            Ok(_) => return,
            Err(_) if attempts < 20 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("{selector}: {error}"),
        }
    }
}

/// The text of the first element matching `selector`. The live views re-render (a `/ws` event
/// replaces nodes), so an element found a moment ago may be gone when its text is asked for
/// (Firefox's driver reports that as a stale reference): it is looked up again.
pub(crate) async fn text_of(browser: &Client, selector: &str) -> String {
    let mut attempts = 0;
    loop {
        let element = browser.find(Locator::Css(selector)).await.unwrap_or_else(|error| panic!("{selector}: {error}"));
        match element.text().await {
            Ok(text) => return text,
            Err(_) if attempts < 20 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("{selector}: {error}"),
        }
    }
}

pub(crate) async fn log_in(browser: &Client, base_url: &str, email: &str) {
    browser.goto(&format!("{base_url}/console")).await.unwrap();
    wait_for(browser, "location.pathname === '/console/login' && document.getElementById('login-form')", "the redirect to the login page").await;
    browser.find(Locator::Id("email")).await.unwrap().send_keys(email).await.unwrap();
    browser.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    browser.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    wait_for(browser, "location.pathname === '/console' && document.querySelector('#live-status[data-state=live]')", "the workspace, connected live").await;
}

pub(crate) async fn send_message(client: &reqwest::Client, base_url: &str, token: &str, external_id: &str, channel: &str, text: &str, email: &str) -> i64 {
    let response = client
        .post(format!("{base_url}/api/v1/messages"))
        .bearer_auth(token)
        .json(&json!({"channel": channel, "text": text, "external_id": external_id, "customer": {"email": email, "name": "Ana Silva"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["ticket_id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_a_live_ticket_in_chromium_and_a_viewer_stays_read_only() {
    an_agent_works_a_live_ticket_and_a_viewer_stays_read_only(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_a_live_ticket_in_firefox_and_a_viewer_stays_read_only() {
    an_agent_works_a_live_ticket_and_a_viewer_stays_read_only(Engine::Firefox).await;
}

/// The pictures come from Chromium only, so one run of `scripts/screenshots.sh` gives one set.
pub(crate) async fn picture(engine: Engine, browser: &Client, name: &str) {
    if engine == Engine::Chromium {
        screenshot(browser, name).await;
    }
}

async fn an_agent_works_a_live_ticket_and_a_viewer_stays_read_only(engine: Engine) {
    let driver = Driver::start_for(engine).await;
    let database = TestDatabase::new(false).await;
    create_user(&database.url, "agent@example.com", "Alex Agent", "agent");
    create_user(&database.url, "viewer@example.com", "Vic Viewer", "viewer");
    let token = create_token(&database.url, "ingest,read");
    let server = Server::start(&database.url).await;
    let base_url = server.base_url.clone();
    let client = reqwest::Client::new();
    let browser = driver.browser().await;

    browser.goto(&format!("{base_url}/console/login")).await.unwrap();
    picture(engine, &browser, "login").await;
    log_in(&browser, &base_url, "agent@example.com").await;
    let empty = text_of(&browser, "#queue-empty .empty-title").await;
    assert_eq!(empty, "No tickets match these filters", "an empty queue says so");
    picture(engine, &browser, "queue-empty").await;

    // Messages arrive while the page is open: no reload (the marker survives), rows appear.
    browser.execute("window.__noReload = true;", vec![]).await.unwrap();
    let arrivals = [
        ("email", "My package was supposed to arrive Monday and there's still nothing. Order #A10493, can you check?", "ana.silva@example.com"),
        ("chat", "The face cream gave me a rash on my cheeks and it itches a lot", "li.wei@example.com"),
        ("email", "I want to return the running shoes I bought last week, they are too small", "tom.berg@example.com"),
        ("chat", "Do you ship to Canada and how much does it cost?", "nina.r@example.com"),
        ("email", "I was charged twice for order #A20017, please refund one of the payments", "omar.k@example.com"),
    ];
    let mut ticket_ids = Vec::new();
    for (arrival_idx, (channel, text, email)) in arrivals.iter().enumerate() {
        ticket_ids.push(send_message(&client, &base_url, &token, &format!("console-{arrival_idx}"), channel, text, email).await);
    }
    for ticket_id in &ticket_ids {
        wait_for(&browser, &format!("document.querySelector('#queue-list [data-ticket-id=\"{ticket_id}\"]')"), &format!("ticket {ticket_id} in the queue, live")).await;
    }
    assert_eq!(browser.execute("return window.__noReload === true;", vec![]).await.unwrap(), json!(true), "the queue updated without a reload");
    picture(engine, &browser, "queue").await;

    // Open the order question: AI analysis and the suggested reply.
    let ticket_id = ticket_ids[0];
    click(&browser, &format!("#queue-list [data-ticket-id=\"{ticket_id}\"]")).await;
    wait_for(&browser, "document.querySelector('#ai-panel #ai-intent')", "the AI panel").await;
    assert_eq!(browser.current_url().await.unwrap().path(), format!("/console/tickets/{ticket_id}"));
    let intent = text_of(&browser, "#ai-intent").await;
    assert!(intent.contains("Track order"), "the AI panel names the intent: {intent}");
    let n_ranked = browser.find_all(Locator::Css("#ai-ranking li")).await.unwrap().len();
    assert_eq!(n_ranked, 3, "top-3 ranking");
    let decision = text_of(&browser, "#ai-decision").await;
    assert!(decision.starts_with("Decision: "), "{decision}");
    let entities = text_of(&browser, "#ai-entities").await;
    assert!(entities.contains("A10493"), "the order number is an entity: {entities}");
    let suggested = wait_for(&browser, "document.getElementById('composer-text').value", "the suggested reply in the editor").await;
    let suggested = suggested.as_str().unwrap_or_default().to_string();
    let has_holes = suggested.contains("{{");
    let send_disabled = browser.execute("return document.getElementById('composer-send').disabled;", vec![]).await.unwrap();
    assert_eq!(send_disabled, json!(has_holes), "a reply with unfilled variables cannot be sent ({suggested:?})");
    if has_holes {
        let n_marks = browser.find_all(Locator::Css(".editor-backdrop mark")).await.unwrap().len();
        assert!(n_marks > 0, "missing variables are highlighted");
    }
    picture(engine, &browser, "ticket").await;

    // Take it and answer it: the reply shows in the conversation, and the API has it.
    browser.find(Locator::Id("action-assign")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "document.querySelector('.ticket-facts') && document.querySelector('.ticket-facts').textContent.includes('Assigned to you')", "the assignment").await;
    let reply = "Hi Ana, your order A10493 left our warehouse yesterday; the tracking link follows in a separate email.";
    browser.execute("const editor = document.getElementById('composer-text'); editor.value = ''; editor.dispatchEvent(new Event('input'));", vec![]).await.unwrap();
    browser.find(Locator::Id("composer-text")).await.unwrap().send_keys(reply).await.unwrap();
    browser.find(Locator::Id("composer-send")).await.unwrap().click().await.unwrap();
    wait_for(&browser, &format!("[...document.querySelectorAll('.message.outbound .bubble')].some(node => node.textContent.includes({}))", json!(reply)), "the sent reply in the conversation").await;
    let detail: Value = client.get(format!("{base_url}/api/v1/tickets/{ticket_id}")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let stored = detail["messages"].as_array().unwrap().iter().any(|message| message["direction"] == "outbound" && message["body"] == reply);
    assert!(stored, "the reply is stored: {detail}");
    assert!(detail["ticket"]["first_responded_at"].is_string(), "the first response is recorded");

    // The safety report waits in the safety queue with its severity.
    let safety_id = ticket_ids[1];
    browser.goto(&format!("{base_url}/console/tickets/{safety_id}")).await.unwrap();
    wait_for(&browser, "document.querySelector('#ai-panel #ai-severity')", "the safety ticket").await;
    let facts = text_of(&browser, ".ticket-facts").await;
    assert!(facts.contains("Safety queue"), "{facts}");
    picture(engine, &browser, "ticket-safety").await;
    // A tablet in landscape: the panels move below the conversation, nothing is cut off.
    set_viewport(&browser, 1024, 768).await;
    // Against the width inside the scroll bar: Firefox draws one where headless Chromium hides it.
    let overflow = browser.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![]).await.unwrap();
    assert_eq!(overflow, json!(0), "no horizontal scrolling at tablet width");
    picture(engine, &browser, "ticket-tablet").await;
    set_viewport(&browser, 1440, 900).await;

    // A mail with a photo: the attachment is listed under the message and downloads (as a
    // file, not rendered by the console).
    let mail = "From: Tom Berg <tom.berg@example.com>\r\nTo: support@shop.example\r\nMessage-ID: <console-photo@example.com>\r\nSubject: Broken lamp\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe lamp arrived broken, photo attached.\r\n\
        --b1\r\nContent-Type: image/jpeg; name=\"lamp.jpg\"\r\nContent-Disposition: attachment; filename=\"lamp.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA==\r\n--b1--\r\n";
    let posted: Value = client.post(format!("{base_url}/api/v1/inbound/email")).bearer_auth(&token).header("content-type", "message/rfc822").body(mail).send().await.unwrap().json().await.unwrap();
    let photo_ticket = posted["ticket_id"].as_i64().unwrap();
    browser.goto(&format!("{base_url}/console/tickets/{photo_ticket}")).await.unwrap();
    wait_for(&browser, "document.querySelector('.message.inbound .attachments a.attachment')", "the attachment link").await;
    assert_eq!(text_of(&browser, ".message.inbound a.attachment").await, "lamp.jpg");
    let fetched = browser.execute("return fetch(document.querySelector('a.attachment').href).then(async (response) => [response.status, response.headers.get('content-disposition'), (await response.arrayBuffer()).byteLength]);", vec![]).await.unwrap();
    assert_eq!(fetched, json!([200, "attachment; filename=\"lamp.jpg\"; filename*=UTF-8''lamp.jpg", 40]));

    // A viewer: no admin, read-only ticket, masked customer.
    browser.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "location.pathname === '/console/login'", "the login page after logging out").await;
    log_in(&browser, &base_url, "viewer@example.com").await;
    let n_admin_links = browser.find_all(Locator::Css("[data-nav=admin]")).await.unwrap().len();
    assert_eq!(n_admin_links, 0, "no admin navigation for a viewer");
    browser.goto(&format!("{base_url}/console/admin")).await.unwrap();
    wait_for(&browser, "document.getElementById('forbidden')", "the refusal of the admin page").await;
    picture(engine, &browser, "viewer-admin-refused").await;
    browser.goto(&format!("{base_url}/console/tickets/{ticket_id}")).await.unwrap();
    wait_for(&browser, "document.querySelector('#ai-panel')", "the ticket, as a viewer").await;
    assert!(browser.find(Locator::Id("ticket-actions")).await.is_err(), "no action buttons for a viewer");
    assert!(browser.find(Locator::Id("read-only-note")).await.is_ok());
    let customer = text_of(&browser, "#ticket-customer").await;
    assert!(customer.starts_with("Customer #") && !customer.contains("Ana"), "the customer is masked: {customer}");
    let page_text = text_of(&browser, "body").await;
    assert!(!page_text.contains("ana.silva@example.com"), "no contact details on a viewer's page");
    assert!(browser.find(Locator::Id("composer-text")).await.is_err(), "no reply editor for a viewer");
    picture(engine, &browser, "ticket-viewer").await;
    // Attachments cannot be masked: a viewer gets neither the list nor the file.
    browser.goto(&format!("{base_url}/console/tickets/{photo_ticket}")).await.unwrap();
    wait_for(&browser, "document.querySelector('.message.inbound .bubble')", "the photo ticket, as a viewer").await;
    assert!(browser.find(Locator::Css("a.attachment")).await.is_err(), "no attachment links for a viewer");
    let status = browser.execute(&format!("return fetch('/api/v1/tickets/{photo_ticket}/messages/{}/attachments/0').then(response => response.status);", posted["message_id"]), vec![]).await.unwrap();
    assert_eq!(status, json!(403));

    // An admin's refusal is the API's too: the viewer's session cannot list users.
    let status = browser.execute("return fetch('/api/v1/users').then(response => response.status);", vec![]).await.unwrap();
    assert_eq!(status, json!(403));
    browser.close().await.unwrap();
    drop(server);
}
