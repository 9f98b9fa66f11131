//! The OpenAPI document against the router it describes: it is public JSON in OpenAPI 3.x;
//! every route of `app()` is in it with exactly the methods the router serves; the ingest
//! endpoint is described as it behaves; every documented error answer carries codes the API
//! answers with that status, in the `Error` shape; and real answers conform to the documented
//! schemas, with no field left undocumented.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use axum::Router;
use sb_store::{Role, Scope};
use serde_json::{json, Value};

use crate::support::{Credential, TestServer};

/// The methods the API uses; probing with each finds which ones a path serves.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Every stable error code and the status it is answered with (README's list), as data.
const ERROR_CODES: &str = "
malformed_json 400
invalid_date 400 | invalid_range 400 | invalid_time_zone 400 | invalid_period 400 | too_many_periods 400 | invalid_dimension 400
invalid_format 400 | invalid_parameter 400
unauthorized 401 | invalid_credentials 401
forbidden 403 | csrf_failed 403
not_found 404
conflict 409 | safety_wins 409 | already_there 409
payload_too_large 413
unsupported_media_type 415
invalid_field 422 | unknown_channel 422 | empty_text 422 | text_too_long 422 | invalid_filter 422 | invalid_query 422
invalid_path 422 | invalid_status 422 | invalid_role 422 | invalid_scopes 422 | invalid 422 | not_a_session 422 | no_draft 422 | not_a_websocket 422
empty_mail 422 | not_a_mail 422 | invalid_policy 422
no_target 422 | unknown_agent 422 | agent_unavailable 422 | unknown_queue 422
rate_limited 429
unavailable 503
";

fn error_codes() -> Vec<(String, u16)> {
    ERROR_CODES
        .split(['\n', '|'])
        .filter_map(|entry| entry.trim().split_once(' '))
        .map(|(code, status)| (code.to_string(), status.trim().parse().unwrap()))
        .collect()
}

async fn document(server: &TestServer) -> Value {
    let answer = server.get("/api/openapi.json", &Credential::None).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

/// Follows `$ref`s (`#/components/...`) to what they name.
fn resolve<'document>(document: &'document Value, value: &'document Value) -> &'document Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {reference}"));
            resolve(document, document.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}")))
        }
        None => value,
    }
}

/// (METHOD, path, operation) for every operation in the document.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if METHODS.iter().any(|known| known.as_str().eq_ignore_ascii_case(method)) {
                operations.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    operations
}

/// The paths registered in `router`. axum offers no way to list routes, but its `Debug`
/// output names each route's path (`RouteId(3): "/api/v1/tickets"`); only the main path
/// router is read, not the fallbacks. The caller checks that known paths were found, so a
/// change of that output fails the test instead of emptying it.
fn registered_paths(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let main_router = debug.split("fallback_router").next().unwrap_or_default();
    let mut paths = BTreeSet::new();
    for (start, _) in main_router.match_indices("RouteId(") {
        let rest = &main_router[start + "RouteId(".len()..];
        let n_digits = rest.find(|character: char| !character.is_ascii_digit()).unwrap_or(0);
        let Some(quoted) = rest[n_digits..].strip_prefix("): \"") else { continue };
        if let Some(end) = quoted.find('"') {
            paths.insert(quoted[..end].to_string());
        }
    }
    paths
}

/// `/api/v1/tickets/{ticket_id}` → `/api/v1/tickets/1`.
fn concrete(path: &str) -> String {
    path.split('/').map(|segment| if segment.starts_with('{') { "1" } else { segment }).collect::<Vec<_>>().join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_public_json_in_openapi_3() {
    let server = TestServer::new().await;
    let answer = server.get("/api/openapi.json", &Credential::None).await;
    assert_eq!(answer.status, StatusCode::OK, "no credentials needed: {answer:?}");
    assert_eq!(answer.headers["content-type"], "application/json");
    let document = answer.body;
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.")), "{}", document["openapi"]);
    assert_eq!(document["info"]["title"], "Switchboard");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!((schemes["bearer"]["type"].as_str(), schemes["bearer"]["scheme"].as_str()), (Some("http"), Some("bearer")));
    assert_eq!((schemes["session"]["type"].as_str(), schemes["session"]["in"].as_str(), schemes["session"]["name"].as_str()), (Some("apiKey"), Some("cookie"), Some("sb_session")));
    assert_eq!((schemes["csrf"]["type"].as_str(), schemes["csrf"]["in"].as_str(), schemes["csrf"]["name"].as_str()), (Some("apiKey"), Some("header"), Some("X-CSRF-Token")));
    let tags: BTreeSet<&str> = document["tags"].as_array().unwrap().iter().filter_map(|tag| tag["name"].as_str()).collect();
    for (method, path, operation) in operations(&document) {
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(tag), "{method} {path}: tag `{tag}` is not described");
        assert!(operation["summary"].as_str().is_some_and(|summary| !summary.is_empty()), "{method} {path} has no summary");
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.get(scheme).is_some(), "{method} {path}: unknown security scheme `{scheme}`");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_router_is_documented_with_its_methods() {
    let server = TestServer::new().await;
    let document = document(&server).await;
    let documented: BTreeSet<(String, String)> = operations(&document).into_iter().map(|(method, path, _)| (method, path)).collect();

    let paths = registered_paths(&server.app);
    for known in ["/health", "/api/openapi.json", "/api/v1/messages", "/api/v1/tickets/{ticket_id}"] {
        assert!(paths.contains(known), "`{known}` not found among the router's paths {paths:?}: has axum's Debug output changed?");
    }
    let mut served = BTreeSet::new();
    for path in &paths {
        for method in METHODS {
            let answer = server.request(method.clone(), &concrete(path), &Credential::None, None).await;
            if answer.status != StatusCode::METHOD_NOT_ALLOWED {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty() && not_served.is_empty(), "routes without documentation: {undocumented:?}; documented but not served: {not_served:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ingest_is_documented_as_it_behaves() {
    let server = TestServer::new().await;
    let document = document(&server).await;
    let operation = &document["paths"]["/api/v1/messages"]["post"];
    let request = resolve(&document, &operation["requestBody"]["content"]["application/json"]["schema"]);
    let properties: BTreeSet<&str> = request["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    for field in ["channel", "text", "external_id", "subject", "customer", "metadata"] {
        assert!(properties.contains(field), "request field `{field}` missing from {properties:?}");
    }
    assert_eq!(request["required"], json!(["channel", "text"]));
    assert_eq!(request["additionalProperties"], json!(false), "unknown fields are refused (422)");
    let channels = &resolve(&document, &request["properties"]["channel"])["enum"];
    assert_eq!(channels, &json!(["email", "chat", "voice", "api", "sms"]));
    let statuses: BTreeSet<&str> = operation["responses"].as_object().unwrap().keys().map(String::as_str).collect();
    for status in ["201", "200", "422"] {
        assert!(statuses.contains(status), "status {status} missing from {statuses:?}");
    }
    assert_eq!(operation["security"], json!([{"bearer": ["ingest"]}, {"session": ["admin"], "csrf": []}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_error_answer_has_codes_the_api_answers_with_that_status() {
    let server = TestServer::new().await;
    let document = document(&server).await;
    let error_codes = error_codes();
    let mut problems = Vec::new();
    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            let status_code: u16 = status.parse().unwrap_or_else(|_| panic!("{method} {path}: status `{status}`"));
            // The help centre's and the survey's pages are HTML for people, errors included.
            if status_code < 400 || path == "/ready" || path.starts_with("/help/") || path.starts_with("/rate/") {
                continue;
            }
            let response = resolve(&document, response);
            if response["content"]["application/json"]["schema"]["$ref"] != "#/components/schemas/Error" {
                problems.push(format!("{method} {path} {status}: not the Error schema"));
            }
            // The codes are the backticked words after the last "Code:" / "Codes:".
            let description = response["description"].as_str().unwrap_or_default();
            let listed = description.rfind("Code").map_or("", |start| &description[start..]);
            let codes: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
            if codes.is_empty() {
                problems.push(format!("{method} {path} {status}: no error codes listed in `{description}`"));
            }
            for code in codes {
                match error_codes.iter().find(|(known, _)| known == code) {
                    Some((_, known_status)) if *known_status == status_code => {}
                    Some((_, known_status)) => problems.push(format!("{method} {path} {status}: `{code}` is answered with {known_status}")),
                    None => problems.push(format!("{method} {path} {status}: unknown error code `{code}`")),
                }
            }
        }
        let has = |status: &str| responses.contains_key(status);
        if path.starts_with("/api/v1/") && !has("429") {
            problems.push(format!("{method} {path}: every /api/v1 request is rate limited, 429 missing"));
        }
        if operation.get("security").is_some() && !has("401") {
            problems.push(format!("{method} {path}: authenticated, 401 missing"));
        }
        let body_types = operation["requestBody"]["content"].as_object();
        if body_types.is_some_and(|types| types.contains_key("application/json")) && !["400", "413", "415", "422"].iter().all(|status| has(status)) {
            problems.push(format!("{method} {path}: takes a JSON body, one of 400, 413, 415, 422 missing"));
        }
        if body_types.is_some_and(|types| !types.contains_key("application/json")) && !["413", "415", "422"].iter().all(|status| has(status)) {
            problems.push(format!("{method} {path}: takes a raw body, one of 413, 415, 422 missing"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Checks `value` against `schema` the way a generated client would read it: the types, the
/// required properties, enums, and — stricter than JSON Schema — no property the schema does
/// not list, so a field added to a response without documentation is found.
fn conformance(document: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(document, schema);
    if let Some(alternatives) = schema["oneOf"].as_array().or_else(|| schema["anyOf"].as_array()) {
        let n_matching = alternatives
            .iter()
            .filter(|alternative| {
                let mut alternative_problems = Vec::new();
                conformance(document, alternative, value, at, &mut alternative_problems);
                alternative_problems.is_empty()
            })
            .count();
        if n_matching == 0 {
            problems.push(format!("{at}: {value} matches none of {}", Value::Array(alternatives.clone())));
        }
        return;
    }
    let parts: Vec<&Value> = schema["allOf"].as_array().into_iter().flatten().map(|part| resolve(document, part)).collect();
    if !parts.is_empty() && parts.iter().all(|part| part["properties"].is_object()) {
        // Object schemas joined with allOf (serde's `flatten`): the value has the union of
        // their properties, and each field is checked against the part that lists it.
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for part in &parts {
            for (key, property) in part["properties"].as_object().into_iter().flatten() {
                merged["properties"][key] = property.clone();
            }
            for required in part["required"].as_array().into_iter().flatten() {
                merged["required"].as_array_mut().unwrap().push(required.clone());
            }
        }
        conformance(document, &merged, value, at, problems);
        return;
    }
    for part in parts {
        conformance(document, part, value, at, problems);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(single) => vec![single.as_str()],
        Value::Array(several) => several.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_of_value = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let type_matches = types.is_empty() || types.contains(&type_of_value) || (type_of_value == "integer" && types.contains(&"number"));
    if !type_matches {
        problems.push(format!("{at}: {type_of_value} where the schema says {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            problems.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Value::Object(fields), Some(properties)) = (value, schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !fields.contains_key(required) {
                problems.push(format!("{at}: required `{required}` missing"));
            }
        }
        for (key, field) in fields {
            match properties.get(key) {
                Some(property) => conformance(document, property, field, &format!("{at}.{key}"), problems),
                None => problems.push(format!("{at}: `{key}` is not documented")),
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (item_idx, item) in items.iter().enumerate() {
            conformance(document, item_schema, item, &format!("{at}[{item_idx}]"), problems);
        }
    }
}

/// Method, path as documented, path requested, body, who asks, the status expected.
type Probe<'server> = (Method, &'static str, String, Option<Value>, &'server Credential, u16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_conform_to_the_documented_schemas() {
    let server = TestServer::new().await;
    let document = document(&server).await;
    let admin = server.log_in(server.user(Role::Admin).await).await;
    let viewer = server.log_in(server.user(Role::Viewer).await).await;
    let ingest = server.token(&[Scope::Ingest]).await;
    let (ticket_id, customer_id) = server.ticket("Where is my order A10493? Call me on +1 415 555 0101").await;
    server.post(&format!("/api/v1/tickets/{ticket_id}/notes"), &admin, json!({"body": "Checked the warehouse."})).await;

    let started = server.post("/api/v1/chat/conversations", &Credential::None, json!({"name": "Ana Silva", "email": "ana@example.com"})).await;
    let conversation = started.body["conversation_id"].as_i64().unwrap();
    let chat = Credential::Bearer(started.body["token"].as_str().unwrap().to_string());
    let chat_messages = format!("/api/v1/chat/conversations/{conversation}/messages");
    let sent = server.post(&chat_messages, &chat, json!({"text": "Where is my order?", "client_message_id": "c-0"})).await;
    server.post(&format!("/api/v1/tickets/{}/reply", sent.body["ticket_id"]), &admin, json!({"body": "It arrives tomorrow."})).await;

    let nobody = Credential::None;
    let agent = server.user(Role::Agent).await;
    let ticket = ticket_id.to_string();
    let customer = customer_id.to_string();
    let requests: Vec<Probe> = vec![
        (Method::POST, "/api/v1/messages", "/api/v1/messages".into(), Some(json!({"channel": "chat", "text": "where is my order?", "external_id": "m-1", "customer": {"email": "ana@example.com"}, "metadata": {"page": "/orders"}})), &ingest, 201),
        (Method::POST, "/api/v1/messages", "/api/v1/messages".into(), Some(json!({"channel": "fax", "text": "hello"})), &ingest, 422),
        // A JSON string is sent as a raw mail (message/rfc822).
        (Method::POST, "/api/v1/inbound/email", "/api/v1/inbound/email".into(), Some(json!("From: Ana <ana@example.com>\r\nMessage-ID: <o-1@example.com>\r\nSubject: order\r\n\r\nWhere is my order?\r\n")), &ingest, 201),
        (Method::POST, "/api/v1/inbound/email", "/api/v1/inbound/email".into(), Some(json!("From: Ana <ana@example.com>\r\nMessage-ID: <o-1@example.com>\r\nSubject: order\r\n\r\nWhere is my order?\r\n")), &ingest, 200),
        (Method::POST, "/api/v1/inbound/email", "/api/v1/inbound/email".into(), Some(json!("no headers here, only text")), &ingest, 422),
        (Method::GET, "/api/v1/tickets", "/api/v1/tickets".into(), None, &admin, 200),
        (Method::GET, "/api/v1/tickets", "/api/v1/tickets".into(), None, &viewer, 200),
        (Method::GET, "/api/v1/tickets/{ticket_id}", format!("/api/v1/tickets/{ticket}"), None, &admin, 200),
        (Method::GET, "/api/v1/tickets/{ticket_id}", format!("/api/v1/tickets/{ticket}"), None, &viewer, 200),
        (Method::GET, "/api/v1/tickets/{ticket_id}", "/api/v1/tickets/999999".into(), None, &admin, 404),
        (Method::GET, "/api/v1/tickets/{ticket_id}/decisions", format!("/api/v1/tickets/{ticket}/decisions"), None, &admin, 200),
        (Method::POST, "/api/v1/tickets/{ticket_id}/status", format!("/api/v1/tickets/{ticket}/status"), Some(json!({"status": "pending"})), &admin, 200),
        (Method::POST, "/api/v1/tickets/{ticket_id}/reply", format!("/api/v1/tickets/{ticket}/reply"), Some(json!({"body": "It ships today."})), &admin, 201),
        (Method::POST, "/api/v1/tickets/{ticket_id}/notes", format!("/api/v1/tickets/{ticket}/notes"), Some(json!({"body": "Note."})), &admin, 201),
        (Method::GET, "/api/v1/customers/{customer_id}", format!("/api/v1/customers/{customer}"), None, &admin, 200),
        (Method::GET, "/api/v1/customers/{customer_id}", format!("/api/v1/customers/{customer}"), None, &viewer, 200),
        (Method::POST, "/api/v1/customers/{customer_id}/vip", format!("/api/v1/customers/{customer}/vip"), Some(json!({"vip": true})), &admin, 200),
        (Method::GET, "/api/v1/compliance/records", "/api/v1/compliance/records".into(), None, &admin, 200),
        (Method::GET, "/api/v1/sla/policies", "/api/v1/sla/policies".into(), None, &viewer, 200),
        (Method::GET, "/api/v1/audit", "/api/v1/audit".into(), None, &admin, 200),
        (Method::GET, "/api/v1/users", "/api/v1/users".into(), None, &admin, 200),
        (Method::POST, "/api/v1/users", "/api/v1/users".into(), Some(json!({"email": "new@example.com", "name": "New", "role": "agent", "password": "long enough password"})), &admin, 201),
        (Method::GET, "/api/v1/tokens", "/api/v1/tokens".into(), None, &admin, 200),
        (Method::POST, "/api/v1/tokens", "/api/v1/tokens".into(), Some(json!({"name": "crm", "scopes": ["read"]})), &admin, 201),
        (Method::GET, "/api/v1/session", "/api/v1/session".into(), None, &viewer, 200),
        (Method::GET, "/api/v1/session", "/api/v1/session".into(), None, &ingest, 422),
        (Method::GET, "/api/v1/audit", "/api/v1/audit".into(), None, &viewer, 403),
        (Method::GET, "/health", "/health".into(), None, &nobody, 200),
        (Method::GET, "/ready", "/ready".into(), None, &nobody, 503),
        (Method::GET, "/api/v1/reports/pending", "/api/v1/reports/pending?tz=Europe/Berlin".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/realtime", "/api/v1/reports/realtime".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/customers/{customer_id}", format!("/api/v1/reports/customers/{customer}?period=day"), None, &admin, 200),
        (Method::GET, "/api/v1/reports/customers/{customer_id}", format!("/api/v1/reports/customers/{customer}"), None, &viewer, 200),
        (Method::GET, "/api/v1/reports/sla", "/api/v1/reports/sla?by=priority&period=day&tz=Europe/Berlin".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/sla", "/api/v1/reports/sla?tz=Mars/Olympus".into(), None, &admin, 400),
        (Method::GET, "/api/v1/reports/categories", "/api/v1/reports/categories".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/agents", "/api/v1/reports/agents".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/cost", "/api/v1/reports/cost?period=day".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/automation", "/api/v1/reports/automation".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/forecast", "/api/v1/reports/forecast?tz=Europe/Berlin".into(), None, &admin, 200),
        (Method::GET, "/api/v1/reports/forecast", "/api/v1/reports/forecast?tz=Mars/Olympus".into(), None, &admin, 400),
        (Method::GET, "/api/v1/audit/verify", "/api/v1/audit/verify".into(), None, &admin, 200),
        (Method::GET, "/api/v1/policy/thresholds", "/api/v1/policy/thresholds".into(), None, &admin, 200),
        (Method::PUT, "/api/v1/policy/thresholds", "/api/v1/policy/thresholds".into(), Some(json!({"auto_reply_confidence_threshold": 0.9, "expected_version": 0})), &admin, 200),
        (Method::PUT, "/api/v1/policy/thresholds", "/api/v1/policy/thresholds".into(), Some(json!({"auto_reply_confidence_threshold": 0.8, "expected_version": 0})), &admin, 409),
        (Method::DELETE, "/api/v1/policy/thresholds", "/api/v1/policy/thresholds?expected_version=1".into(), None, &admin, 200),
        (Method::PUT, "/api/v1/policy/thresholds/{intent}", "/api/v1/policy/thresholds/track_order".into(), Some(json!({"auto_reply_confidence": 0.95, "auto_reply_enabled": true})), &admin, 200),
        (Method::PUT, "/api/v1/policy/thresholds/{intent}", "/api/v1/policy/thresholds/track_order".into(), Some(json!({"auto_reply_confidence": 0.1, "auto_reply_enabled": true})), &admin, 422),
        (Method::PUT, "/api/v1/policy/thresholds/{intent}", "/api/v1/policy/thresholds/refund_please".into(), Some(json!({"auto_reply_confidence": 0.9, "auto_reply_enabled": true})), &admin, 404),
        (Method::DELETE, "/api/v1/policy/thresholds/{intent}", "/api/v1/policy/thresholds/track_order".into(), None, &admin, 200),
        (Method::GET, "/api/v1/sla/policies", "/api/v1/sla/policies".into(), None, &admin, 200),
        (Method::PUT, "/api/v1/sla/policies/{name}", "/api/v1/sla/policies/safety%20urgent".into(), Some(json!({"first_response": "10m", "resolution": "2h", "expected_version": 0})), &admin, 200),
        (Method::PUT, "/api/v1/sla/policies/{name}", "/api/v1/sla/policies/standard".into(), Some(json!({"first_response": "soon", "resolution": "0"})), &admin, 422),
        (Method::DELETE, "/api/v1/sla/policies/{name}", "/api/v1/sla/policies/safety%20urgent".into(), None, &admin, 200),
        (Method::DELETE, "/api/v1/sla/policies/{name}", "/api/v1/sla/policies/no%20such%20policy".into(), None, &admin, 404),
        (Method::GET, "/api/v1/audit", "/api/v1/audit?action=ticket.&from=2020-01-01&limit=5".into(), None, &admin, 200),
        (Method::GET, "/api/v1/audit", "/api/v1/audit?from=yesterday".into(), None, &admin, 422),
        (Method::PATCH, "/api/v1/users/{user_id}", format!("/api/v1/users/{agent}"), Some(json!({"role": "supervisor", "active": false})), &admin, 200),
        (Method::PATCH, "/api/v1/users/{user_id}", format!("/api/v1/users/{agent}"), Some(json!({"role": "wizard"})), &admin, 422),
        (Method::POST, "/api/v1/chat/conversations", "/api/v1/chat/conversations".into(), Some(json!({"name": "Tom", "email": "tom@example.com"})), &nobody, 201),
        (Method::GET, "/api/v1/chat/status", "/api/v1/chat/status".into(), None, &nobody, 200),
        (Method::GET, "/api/v1/chat/conversations/{conversation_id}", format!("/api/v1/chat/conversations/{conversation}"), None, &chat, 200),
        (Method::POST, "/api/v1/chat/conversations/{conversation_id}/messages", chat_messages.clone(), Some(json!({"text": "It was due Monday.", "client_message_id": "c-1"})), &chat, 201),
        (Method::POST, "/api/v1/chat/conversations/{conversation_id}/messages", chat_messages.clone(), Some(json!({"text": "It was due Monday.", "client_message_id": "c-1"})), &chat, 200),
        (Method::GET, "/api/v1/chat/conversations/{conversation_id}/messages", chat_messages.clone(), None, &chat, 200),
        (Method::POST, "/api/v1/chat/conversations/{conversation_id}/messages", chat_messages.clone(), Some(json!({"text": "", "client_message_id": "c-2"})), &chat, 422),
        (Method::PUT, "/api/v1/users/{user_id}/routing", format!("/api/v1/users/{agent}/routing"), Some(json!({"languages": ["en"], "safety": true})), &admin, 200),
        (Method::PUT, "/api/v1/users/{user_id}/routing", format!("/api/v1/users/{agent}/routing"), Some(json!({"channels": ["fax"]})), &admin, 422),
        (Method::GET, "/api/v1/agents/routing", "/api/v1/agents/routing".into(), None, &admin, 200),
        (Method::PUT, "/api/v1/me/presence", "/api/v1/me/presence".into(), Some(json!({"status": "available"})), &admin, 200),
        (Method::POST, "/api/v1/me/presence/heartbeat", "/api/v1/me/presence/heartbeat".into(), None, &admin, 200),
        (Method::GET, "/api/v1/me/presence", "/api/v1/me/presence".into(), None, &admin, 200),
        (Method::GET, "/api/v1/me/presence", "/api/v1/me/presence".into(), None, &viewer, 403),
    ];
    let mut problems = Vec::new();
    for (method, documented_path, path, body, credential, expected) in requests {
        let answer = match &body {
            Some(Value::String(mail)) => server.request_raw(method.clone(), &path, credential, Some("message/rfc822"), mail.clone().into_bytes()).await,
            _ => server.request(method.clone(), &path, credential, body.as_ref()).await,
        };
        assert_eq!(answer.status.as_u16(), expected, "{method} {path}: {answer:?}");
        let response = &document["paths"][documented_path][method.as_str().to_lowercase()]["responses"][expected.to_string()];
        let response = resolve(&document, response);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {documented_path}: no schema documented for {expected}");
        conformance(&document, schema, &answer.body, &format!("{method} {path} {expected}"), &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
