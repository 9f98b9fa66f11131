//! The authorisation matrix: every endpoint, asked by every scope (bearer token), every role
//! (session cookie, with its CSRF token) and by nobody, against the status it must answer.
//!
//! The chat widget's API takes no API token or session: anyone may start a conversation, and
//! everything about a conversation needs that conversation's own secret, which no staff
//! credential is (401 for every column).
//!
//! Allowed answers are the endpoint's success status (422 `not_a_websocket` for `/ws`: these
//! requests are not WebSocket upgrades, which is checked after authorisation); 503 for classify, which passes
//! authorisation and then finds no models loaded, and for knowledge-base search, which finds no
//! search index attached. Each request acts on fresh objects (a new
//! ticket, customer, token) so that one row's changes never decide another's answer.

use axum::http::{Method, StatusCode};
use sb_store::{Role, Scope};
use serde_json::Value;

use crate::support::{Credential, TestServer};

/// Columns, in the order of the table.
const CALLERS: &[&str] = &["none", "ingest", "read", "write", "admin", "r:admin", "r:supervisor", "r:agent", "r:compliance", "r:viewer"];

/// method, path, body (`{ticket}`, `{ticket2}`, `{customer}`, `{token}`, `{agent}`, `{user}`,
/// `{mailticket}` and `{mailmessage}` (an email with an attachment), `{n}` are filled in per
/// request), then the expected status per caller in `CALLERS` order.
const MATRIX: &str = r#"
#                                                                               none ing read write admin | admin sup agent comp viewer
GET    /api/v1/tickets                                          -                   401 403 200 403 200  200 200 200 200 200
GET    /api/v1/tickets/{ticket}                                 -                   401 403 200 403 200  200 200 200 200 200
GET    /api/v1/tickets/{ticket}/decisions                       -                   401 403 200 403 200  200 200 200 200 200
GET    /api/v1/tickets/{mailticket}/messages/{mailmessage}/attachments/0  -         401 403 200 403 200  200 200 200 200 403
GET    /api/v1/tickets/{ticket}/assist                          -                   401 403 200 403 200  200 200 200 200 200
POST   /api/v1/tickets/{ticket}/kb-draft                        -                   401 403 403 422 422  422 422 403 403 403
POST   /api/v1/tickets/{ticket}/csat       {"rating":4}                             401 403 403 422 422  422 403 403 403 403
GET    /help/no-such-article                                    -                   404 404 404 404 404  404 404 404 404 404
GET    /rate/sbr_no-such-survey                                 -                   404 404 404 404 404  404 404 404 404 404
POST   /rate/sbr_no-such-survey            {"rating":5}                             404 404 404 404 404  404 404 404 404 404
GET    /ws                                                      -                   401 403 422 403 422  422 422 422 422 422
POST   /api/v1/tickets/{ticket}/assign     {"assignee_id":{agent}}                  401 403 403 200 200  200 200 200 403 403
POST   /api/v1/tickets/{ticket}/status     {"status":"pending"}                     401 403 403 200 200  200 200 200 403 403
POST   /api/v1/tickets/{ticket}/reply      {"body":"It ships today."}               401 403 403 201 201  201 201 201 403 403
POST   /api/v1/tickets/{ticket}/notes      {"body":"Checked the warehouse."}        401 403 403 201 201  201 201 201 403 403
POST   /api/v1/tickets/{ticket}/escalate   {"reason":"waiting for a week"}          401 403 403 200 200  200 200 200 403 403
POST   /api/v1/tickets/{ticket}/merge      {"into_ticket_id":{ticket2}}             401 403 403 200 200  200 200 200 403 403
POST   /api/v1/tickets/{ticket}/transfer   {"assignee_id":{agent},"note":"yours"}   401 403 403 200 200  200 200 200 403 403
POST   /api/v1/tickets/{ticket}/transfer   {"queue":"safety"}                       401 403 403 200 200  200 200 200 403 403
GET    /api/v1/agents                                           -                   401 403 200 403 200  200 200 200 200 200
GET    /api/v1/customers/{customer}                             -                   401 403 200 403 200  200 200 200 200 200
POST   /api/v1/customers/{customer}/vip    {"vip":true}                             401 403 403 200 200  200 200 403 403 403
GET    /api/v1/compliance/records                               -                   401 403 200 403 200  200 403 403 200 403
GET    /api/v1/audit                                            -                   401 403 403 403 200  200 403 403 200 403
GET    /api/v1/audit?entity_type=ticket&entity_id={ticket}      -                   401 403 403 403 200  200 403 403 200 403
GET    /api/v1/users                                            -                   401 403 403 403 200  200 200 403 403 403
POST   /api/v1/users   {"email":"new-{n}@example.com","name":"New","role":"agent","password":"long enough password"}  401 403 403 403 201  201 403 403 403 403
PATCH  /api/v1/users/{user}                {"role":"supervisor"}                    401 403 403 403 200  200 403 403 403 403
PATCH  /api/v1/users/{user}                {"active":false}                         401 403 403 403 200  200 403 403 403 403
GET    /api/v1/agents/routing                                   -                   401 403 403 403 200  200 200 403 403 403
PUT    /api/v1/users/{agent}/routing  {"languages":["en"],"max_open_tickets":5}    401 403 403 403 200  200 403 403 403 403
GET    /api/v1/me/presence                                      -                   401 403 403 403 403  200 200 200 403 403
PUT    /api/v1/me/presence                {"status":"away"}                         401 403 403 403 403  200 200 200 403 403
POST   /api/v1/me/presence/heartbeat                            -                   401 403 403 403 403  200 200 200 403 403
GET    /api/v1/audit?actor=system&action=ticket.&from=2026-01-01  -                 401 403 403 403 200  200 403 403 200 403
GET    /api/v1/audit/verify                                     -                   401 403 403 403 200  200 403 403 200 403
GET    /api/v1/tokens                                           -                   401 403 403 403 200  200 403 403 403 403
POST   /api/v1/tokens                      {"name":"crm","scopes":["read"]}         401 403 403 403 201  201 403 403 403 403
DELETE /api/v1/tokens/{token}                                   -                   401 403 403 403 204  204 403 403 403 403
POST   /api/v1/messages                    {"channel":"chat","text":"where is my order?"}  401 201 403 403 201  201 403 403 403 403
POST   /api/v1/inbound/email               @mail                                    401 201 403 403 201  201 403 403 403 403
POST   /api/v1/classify                    {"message":"where is my order?"}         401 503 503 403 503  503 503 503 503 503
GET    /api/v1/session                                          -                   401 422 422 422 422  200 200 200 200 200
GET    /metrics                                                 -                   401 403 200 403 200  200 403 403 403 403
GET    /api/v1/sla/policies                                     -                   401 403 200 403 200  200 200 200 200 200
PUT    /api/v1/sla/policies/standard  {"first_response":"3h","resolution":"20h"}    401 403 403 403 200  200 403 403 403 403
DELETE /api/v1/sla/policies/standard                            -                   401 403 403 403 200  200 403 403 403 403
GET    /api/openapi.json                                        -                   200 200 200 200 200  200 200 200 200 200
GET    /api/v1/kb/articles                                      -                   401 403 200 403 200  200 200 200 200 200
POST   /api/v1/kb/articles  {"slug":"new-{n}","title":"Gift cards","body":"We sell them."}  401 403 403 201 201  201 201 403 403 403
GET    /api/v1/kb/articles/{article}                            -                   401 403 200 403 200  200 200 200 200 200
PATCH  /api/v1/kb/articles/{article}   {"body":"Thirty days, version {n}."}         401 403 403 200 200  200 200 403 403 403
DELETE /api/v1/kb/articles/{article}                            -                   401 403 403 200 200  200 200 403 403 403
GET    /api/v1/kb/articles/{article}/versions                   -                   401 403 200 403 200  200 200 200 200 200
GET    /api/v1/kb/search?q=returns                              -                   401 403 503 403 503  503 503 503 503 503
GET    /api/v1/templates                                        -                   401 403 200 403 200  200 200 200 200 200
POST   /api/v1/templates  {"kind":"canned","shortcut":"/t{n}","name":"Thanks","body":"Thank you!"}  401 403 403 201 201  201 201 403 403 403
PUT    /api/v1/templates/{template}  {"kind":"canned","shortcut":"/u{n}","name":"Thanks","body":"Thanks!"}  401 403 403 200 200  200 200 403 403 403
DELETE /api/v1/templates/{template}                             -                   401 403 403 204 204  204 204 403 403 403
GET    /api/v1/alerts                                           -                   401 403 200 403 200  200 200 200 200 200
POST   /api/v1/alerts/999999/resolve                            -                   401 403 403 404 404  404 404 403 403 403
GET    /api/v1/webhooks                                         -                   401 403 403 403 200  200 403 403 403 403
POST   /api/v1/webhooks  {"name":"ops-{n}","url":"http://127.0.0.1:9/hook"}  401 403 403 403 201  201 403 403 403 403
GET    /api/v1/webhooks/999999/deliveries                       -                   401 403 403 403 404  404 403 403 403 403
DELETE /api/v1/webhooks/999999                                  -                   401 403 403 403 404  404 403 403 403 403
GET    /api/v1/reports/pending                                  -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/realtime?tz=Europe/Berlin                -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/customers/{customer}                     -                   401 403 200 403 200  200 200 200 200 200
GET    /api/v1/reports/sla?by=category&period=day               -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/categories                               -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/agents?format=csv                        -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/cost                                     -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/automation                               -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/reports/forecast?tz=Europe/Berlin                -                   401 403 200 403 200  200 200 403 403 403
GET    /api/v1/policy/thresholds                                -                   401 403 200 403 200  200 200 403 403 403
PUT    /api/v1/policy/thresholds  {"auto_reply_confidence_threshold":0.9}           401 403 403 403 200  200 403 403 403 403
DELETE /api/v1/policy/thresholds                                -                   401 403 403 403 200  200 403 403 403 403
PUT    /api/v1/policy/thresholds/track_order  {"auto_reply_confidence":0.9,"auto_reply_enabled":true}  401 403 403 403 200  200 403 403 403 403
DELETE /api/v1/policy/thresholds/track_order                    -                   401 403 403 403 200  200 403 403 403 403
GET    /api/v1/email/mailboxes                                  -                   401 403 200 403 200  200 200 403 403 403
POST   /api/v1/tickets/{ticket}/typing                          -                   401 403 403 204 204  204 204 204 403 403
GET    /api/v1/chat/status                                      -                   200 200 200 200 200  200 200 200 200 200
POST   /api/v1/chat/conversations   {"name":"Ana","email":"ana-{n}@example.com"}    201 201 201 201 201  201 201 201 201 201
GET    /api/v1/chat/conversations/1                             -                   401 401 401 401 401  401 401 401 401 401
GET    /api/v1/chat/conversations/1/messages                    -                   401 401 401 401 401  401 401 401 401 401
POST   /api/v1/chat/conversations/1/messages  {"text":"hi","client_message_id":"c-{n}"}  401 401 401 401 401  401 401 401 401 401
POST   /api/v1/chat/conversations/1/typing                      -                   401 401 401 401 401  401 401 401 401 401
POST   /api/v1/chat/conversations/1/rating   {"rating":5}                           401 401 401 401 401  401 401 401 401 401
"#;

struct Row {
    method: Method,
    path: String,
    body: Option<String>,
    expected: Vec<u16>,
}

fn parse_matrix() -> Vec<Row> {
    MATRIX
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            // method, path, the body (which may hold single spaces), then one status per caller.
            let words: Vec<&str> = line.split_whitespace().collect();
            let (head, statuses) = words.split_at(words.len() - CALLERS.len());
            let body = head[2..].join(" ");
            let expected = statuses.iter().map(|status| status.parse().unwrap_or_else(|_| panic!("bad status in {line}"))).collect();
            Row { method: head[0].parse().unwrap(), path: head[1].to_string(), body: (body != "-").then_some(body), expected }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_every_caller_as_the_matrix_says() {
    let server = TestServer::new().await;
    let agent_id = server.user(Role::Agent).await;
    let mut callers: Vec<Credential> = vec![Credential::None];
    for scope in [Scope::Ingest, Scope::Read, Scope::Write, Scope::Admin] {
        callers.push(server.token(&[scope]).await);
    }
    for role in [Role::Admin, Role::Supervisor, Role::Agent, Role::Compliance, Role::Viewer] {
        let user_id = if role == Role::Agent { agent_id } else { server.user(role).await };
        callers.push(server.log_in(user_id).await);
    }
    assert_eq!(callers.len(), CALLERS.len());

    let rows = parse_matrix();
    assert_eq!(rows.len(), 88, "every row parsed");
    let mut mismatches = Vec::new();
    for row in &rows {
        assert_eq!(row.expected.len(), CALLERS.len(), "{}", row.path);
        for (caller_idx, caller) in callers.iter().enumerate() {
            let (ticket_id, customer_id) = server.ticket("Where is my order A10493?").await;
            let (ticket2_id, _) = server.ticket("Where is my order A10494?").await;
            let (revocable, _) = server.service.create_api_token("revocable", &[Scope::Read], None, "test").await.unwrap();
            let (article_id, template_id) = server.kb_objects().await;
            // A fresh user only for the rows that change one (hashing a password is slow).
            let user_id = if row.path.contains("{user}") { server.user(Role::Agent).await } else { 0 };
            // A fresh email with an attachment only for the rows that read one.
            let (mail_ticket_id, mail_message_id) = if row.path.contains("{mailticket}") { server.email_with_attachment().await } else { (0, 0) };
            let fill = |text: &str| {
                text.replace("{ticket}", &ticket_id.to_string())
                    .replace("{ticket2}", &ticket2_id.to_string())
                    .replace("{customer}", &customer_id.to_string())
                    .replace("{token}", &revocable.id.to_string())
                    .replace("{agent}", &agent_id.to_string())
                    .replace("{article}", &article_id.to_string())
                    .replace("{template}", &template_id.to_string())
                    .replace("{user}", &user_id.to_string())
                    .replace("{mailticket}", &mail_ticket_id.to_string())
                    .replace("{mailmessage}", &mail_message_id.to_string())
                    .replace("{n}", &server.next_number().to_string())
            };
            // `@mail`: a raw mail (a new Message-ID each time), sent as message/rfc822.
            let answer = if row.body.as_deref() == Some("@mail") {
                let mail = fill("From: ana@example.com\r\nMessage-ID: <authz-{n}@example.com>\r\nSubject: order\r\n\r\nWhere is my order?\r\n");
                server.request_raw(row.method.clone(), &fill(&row.path), caller, Some("message/rfc822"), mail.into_bytes()).await
            } else {
                let body: Option<Value> = row.body.as_deref().map(|body| serde_json::from_str(&fill(body)).unwrap());
                server.request(row.method.clone(), &fill(&row.path), caller, body.as_ref()).await
            };
            let expected = StatusCode::from_u16(row.expected[caller_idx]).unwrap();
            if answer.status != expected {
                mismatches.push(format!("{} {} as {}: expected {expected}, got {answer:?}", row.method, row.path, CALLERS[caller_idx]));
            }
            if expected == StatusCode::FORBIDDEN || expected == StatusCode::UNAUTHORIZED {
                let code = answer.body["error"]["code"].as_str().unwrap_or_default().to_string();
                if !["forbidden", "unauthorized"].contains(&code.as_str()) {
                    mismatches.push(format!("{} {} as {}: error code {code}", row.method, row.path, CALLERS[caller_idx]));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
