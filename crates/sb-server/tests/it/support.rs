//! A test server: an SQLite store in a temp folder, one user per role, one token per scope,
//! and helpers to send requests as any of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use http_body_util::BodyExt;
use sb_domain::Channel;
use sb_server::{AppState, SecurityConfig};
use sb_service::actions::Actor;
use sb_service::{DemoStoreConnector, Service, ServiceConfig};
use sb_store::{NewCustomer, NewInbound, Queue, Role, Scope, Store, StoreOptions, TicketStatus, TicketUpdate};
use serde_json::Value;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// Who sends a request.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Bearer(String),
    /// Session cookie value and its CSRF token.
    Cookie { session: String, csrf: String },
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not JSON), and as text.
    pub body: Value,
    pub text: String,
    /// The body's bytes as received.
    pub raw: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} {}", self.status, self.body)
    }
}

/// A request builder carrying `credential` (and the CSRF header a session needs on changes).
fn authorized(method: Method, path: &str, credential: &Credential) -> axum::http::request::Builder {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    match credential {
        Credential::None => {}
        Credential::Bearer(secret) => builder = builder.header("authorization", format!("Bearer {secret}")),
        Credential::Cookie { session, csrf } => {
            builder = builder.header("cookie", format!("theme=dark; sb_session={session}"));
            if method != Method::GET {
                builder = builder.header("x-csrf-token", csrf);
            }
        }
    }
    builder
}

pub struct TestServer {
    pub app: Router,
    pub service: Service,
    _dir: tempfile::TempDir,
    counter: AtomicUsize,
}

impl TestServer {
    pub async fn new() -> TestServer {
        TestServer::with_security(SecurityConfig::default()).await
    }

    pub async fn with_security(security: SecurityConfig) -> TestServer {
        TestServer::build(security, ServiceConfig::new(Default::default())).await
    }

    pub async fn with_service_config(service_config: ServiceConfig) -> TestServer {
        TestServer::build(SecurityConfig::default(), service_config).await
    }

    async fn build(security: SecurityConfig, service_config: ServiceConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
        let store = Store::connect(&url, &StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let service = Service::new(store.clone(), None, Arc::new(DemoStoreConnector::new(store)), service_config);
        let app = sb_server::app(AppState::with_security(service.clone(), security));
        TestServer { app, service, _dir: dir, counter: AtomicUsize::new(0) }
    }

    pub fn next_number(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    pub async fn request(&self, method: Method, path: &str, credential: &Credential, body: Option<&Value>) -> Answer {
        self.send(authorized(method, path, credential), body).await
    }

    /// A request with a raw body of the given media type (`None`: no Content-Type header).
    pub async fn request_raw(&self, method: Method, path: &str, credential: &Credential, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let mut builder = authorized(method, path, credential);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        self.answer(builder.body(Body::from(body)).unwrap()).await
    }

    pub async fn send(&self, mut builder: axum::http::request::Builder, body: Option<&Value>) -> Answer {
        let body = match body {
            Some(value) => {
                builder = builder.header("content-type", "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        self.answer(builder.body(body).unwrap()).await
    }

    async fn answer(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body, text: String::from_utf8_lossy(&bytes).into_owned(), raw: bytes.to_vec() }
    }

    pub async fn get(&self, path: &str, credential: &Credential) -> Answer {
        self.request(Method::GET, path, credential, None).await
    }

    pub async fn post(&self, path: &str, credential: &Credential, body: Value) -> Answer {
        self.request(Method::POST, path, credential, Some(&body)).await
    }

    pub async fn token(&self, scopes: &[Scope]) -> Credential {
        let (_, secret) = self.service.create_api_token("test", scopes, None, "test").await.unwrap();
        Credential::Bearer(secret)
    }

    /// A user of `role`; returns its id.
    pub async fn user(&self, role: Role) -> i64 {
        let email = format!("{}-{}@example.com", role.as_str(), self.next_number());
        self.service.create_user(&email, "Test User", role, PASSWORD, &Actor { audit_name: "test".into(), user_id: None }).await.unwrap().id
    }

    /// Logs `user_id` in through the API and returns the cookie credential.
    pub async fn log_in(&self, user_id: i64) -> Credential {
        let user = self.service.store().user(user_id).await.unwrap();
        let answer = self.post("/api/v1/session", &Credential::None, serde_json::json!({"email": user.email, "password": PASSWORD})).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        let set_cookie = answer.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
        let session = set_cookie.split(';').next().unwrap().strip_prefix("sb_session=").unwrap().to_string();
        Credential::Cookie { session, csrf: answer.body["csrf_token"].as_str().unwrap().to_string() }
    }

    /// A fresh published article and a fresh canned response. Returns (article id, template id).
    pub async fn kb_objects(&self) -> (i64, i64) {
        let number = self.next_number();
        let store = self.service.store();
        let article = sb_store::NewArticle {
            slug: format!("returns-{number}"),
            title: "Returns".into(),
            body: "# Returns\n\nYou have 30 days to return an item.".into(),
            tags: vec!["returns".into()],
            intent: Some("return_request".into()),
            language: "en".into(),
            status: sb_store::ArticleStatus::Published,
            author: None,
        };
        let article = store.create_article(&article, &[], Utc::now()).await.unwrap();
        let template = sb_store::NewTemplate {
            kind: sb_store::TemplateKind::Canned,
            shortcut: Some(format!("/fresh{number}")),
            name: "Fresh".into(),
            intent: None,
            language: "en".into(),
            body: "Hello {{customer.first_name}}".into(),
        };
        let template = store.create_template(&template, &[], Utc::now()).await.unwrap();
        (article.id, template.id)
    }

    /// A new open ticket in the human queue with running SLA clocks, from a new customer by
    /// email. Returns (ticket id, customer id).
    /// A mail with a text attachment (`notes.txt`) received as a new ticket: (ticket id,
    /// message id).
    pub async fn email_with_attachment(&self) -> (i64, i64) {
        let number = self.next_number();
        let mail = format!(
            "From: Ana Silva <ana-{number}@example.com>\r\nTo: support@shop.example\r\nMessage-ID: <attach-{number}@example.com>\r\nSubject: Damaged parcel\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe box arrived crushed, notes attached.\r\n\
             --b1\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQ29ybmVyIGNydXNoZWQsIGxpZCB0b3JuLg==\r\n--b1--\r\n"
        );
        let receipt = self.service.receive_email(mail.into_bytes(), sb_service::MailSource::Http).await.unwrap();
        (receipt.receipt.ticket.id, receipt.receipt.ingested.message_id)
    }

    pub async fn ticket(&self, text: &str) -> (i64, i64) {
        let number = self.next_number();
        let store = self.service.store();
        let now = Utc::now();
        let inbound = NewInbound {
            channel: Channel::Email,
            external_id: Some(format!("test-{number}")),
            conversation_key: None,
            ticket_id: None,
            subject: Some("About my order".into()),
            body: text.to_string(),
            body_is_html: false,
            content_type: "text/plain".into(),
            raw_payload: text.as_bytes().to_vec(),
            metadata: None,
            customer: NewCustomer { email: Some(format!("customer-{number}@example.com")), name: Some("Ana Silva".into()), phone: Some("+14155550101".into()), external_id: None },
            received_at: now,
            claim: None,
        };
        let ingested = store.ingest(&inbound).await.unwrap();
        let ticket = store.ticket(ingested.ticket_id).await.unwrap();
        let calendar = sb_policy::sla::default_business_calendar();
        let policies = sb_policy::sla::default_sla_policies(&calendar);
        let sla = sb_policy::sla::TicketSla::start(policies.last().unwrap(), ticket.created_at);
        let update = TicketUpdate {
            status: Some(TicketStatus::Open),
            queue: Some(Queue::Human),
            priority: Some(40),
            sla: Some(Some(serde_json::to_value(&sla).unwrap())),
            first_response_due_at: Some(Some(sla.first_response.deadline(now, &sla.calendar))),
            resolution_due_at: Some(Some(sla.resolution.deadline(now, &sla.calendar))),
            ..TicketUpdate::default()
        };
        store.update_ticket(ingested.ticket_id, &update, &[], now).await.unwrap();
        (ingested.ticket_id, ingested.customer_id.unwrap())
    }
}
