//! The console's pages through the real router (`sb_server::app_with` + `sb_console::router`),
//! without a socket: who gets which page, and the headers every page carries.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sb_server::{AppState, SecurityConfig};
use sb_service::actions::Actor;
use sb_service::{DemoStoreConnector, Service, ServiceConfig};
use sb_store::{Role, Store, StoreOptions};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

struct Console {
    app: axum::Router,
    service: Service,
    _dir: tempfile::TempDir,
}

impl Console {
    async fn new() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("console.db").display()), &StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let service = Service::new(store.clone(), None, Arc::new(DemoStoreConnector::new(store)), ServiceConfig::new(Default::default()));
        let app = sb_server::app_with(AppState::with_security(service.clone(), SecurityConfig::default()), sb_console::router());
        Console { app, service, _dir: dir }
    }

    /// The session cookie of a new user of `role`.
    async fn cookie(&self, role: Role) -> String {
        let email = format!("{}@example.com", role.as_str());
        self.service.create_user(&email, "Pat Example", role, PASSWORD, &Actor { audit_name: "test".into(), user_id: None }).await.unwrap();
        let session = self.service.log_in(&email, PASSWORD, chrono_hours(1)).await.unwrap().unwrap();
        format!("sb_session={}", session.session_secret)
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::builder().uri(path);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = self.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }
}

fn chrono_hours(hours: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::hours(hours)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_each_role_as_the_table_says() {
    let console = Console::new().await;
    let cookies = [
        ("nobody", None),
        ("agent", Some(console.cookie(Role::Agent).await)),
        ("viewer", Some(console.cookie(Role::Viewer).await)),
        ("admin", Some(console.cookie(Role::Admin).await)),
        ("supervisor", Some(console.cookie(Role::Supervisor).await)),
        ("compliance", Some(console.cookie(Role::Compliance).await)),
    ];
    // (path, who, status, Location or a fragment the body must hold)
    let table: &[(&str, &str, u16, &str)] = &[
        ("/", "nobody", 303, "/console"),
        ("/console", "nobody", 303, "/console/login"),
        ("/console/tickets/12", "nobody", 303, "/console/login"),
        ("/console/admin", "nobody", 303, "/console/login"),
        ("/console/login", "nobody", 200, "Sign in to the console"),
        ("/console/login", "agent", 303, "/console"),
        ("/console", "agent", 200, "data-role=\"agent\""),
        ("/console", "agent", 200, "No tickets match these filters"),
        ("/console/tickets/12", "agent", 200, "data-ticket-id=\"12\""),
        ("/console/tickets/not-a-number", "agent", 303, "/console"),
        ("/console/admin", "agent", 403, "You don't have access to this page"),
        ("/console/admin", "viewer", 403, "Your role is Viewer"),
        ("/console/admin", "admin", 200, "API tokens"),
        ("/console", "admin", 200, "data-nav=\"admin\""),
        ("/console", "supervisor", 200, "data-nav=\"dashboard\""),
        ("/console/dashboard", "nobody", 303, "/console/login"),
        ("/console/dashboard", "agent", 403, "The dashboard is for supervisors and admins"),
        ("/console/dashboard", "viewer", 403, "Your role is Viewer"),
        ("/console/dashboard", "compliance", 403, "You don't have access to this page"),
        ("/console/dashboard", "supervisor", 200, "id=\"tile-queue_depth\""),
        ("/console/dashboard", "admin", 200, "Volume today against the forecast"),
        ("/console/admin/users", "nobody", 303, "/console/login"),
        ("/console/admin/users", "viewer", 403, "Your role is Viewer"),
        ("/console/admin/articles", "agent", 403, "Administration is for admins and supervisors"),
        ("/console/admin/audit", "agent", 403, "You don't have access to this page"),
        ("/console/admin/users", "supervisor", 200, "Users &amp; roles"),
        ("/console/admin/tokens", "supervisor", 403, "API tokens is not part of your role"),
        ("/console/admin/audit", "supervisor", 403, "Audit log is not part of your role"),
        ("/console/admin/templates", "supervisor", 200, "id=\"template-form\""),
        ("/console/admin", "compliance", 200, "id=\"audit-verify\""),
        ("/console/admin/users", "compliance", 403, "Users &amp; roles is not part of your role"),
        ("/console/admin/tokens", "admin", 200, "id=\"token-form\""),
        ("/console/admin/sla", "admin", 200, "[[sla_policies]]"),
        ("/console/admin/thresholds", "admin", 200, "id=\"thresholds\""),
        ("/console/admin/thresholds", "admin", 200, "id=\"threshold-form\""),
        ("/console/admin/thresholds", "supervisor", 200, "Admins can change these thresholds here"),
        ("/console/admin/sla", "admin", 200, "id=\"sla-form\""),
        ("/console/admin/sla", "supervisor", 200, "Admins can change the targets here"),
        ("/console/admin/mailboxes", "supervisor", 200, "id=\"mailboxes\""),
        ("/console/admin/mailboxes", "agent", 403, "Administration is for admins and supervisors"),
        ("/console/assets/admin-mailboxes.js", "nobody", 200, "/email/mailboxes"),
        ("/console/admin/articles", "admin", 200, "id=\"article-conflict\""),
        ("/console/admin/audit", "admin", 200, "name=\"actor\""),
        ("/console/admin/no-such-section", "admin", 303, "/console/admin"),
        ("/console/assets/charts.js", "nobody", 200, "export function niceScale"),
        ("/console/assets/dashboard.js", "nobody", 200, "metrics_tick"),
        ("/console/assets/workspace.js", "nobody", 200, "import * as queue"),
        ("/console/assets/console.css", "nobody", 200, ".queue-item"),
        ("/console", "agent", 200, "id=\"presence\""),
        ("/console/admin/users", "admin", 200, "id=\"routing-dialog\""),
        ("/console/assets/presence.js", "nobody", 200, "/me/presence/heartbeat"),
        ("/console/assets/../Cargo.toml", "nobody", 404, ""),
        ("/console/assets/secrets.js", "nobody", 404, "no such asset"),
    ];
    let mut mismatches = Vec::new();
    for (path, who, status, expected) in table {
        let cookie = cookies.iter().find(|(name, _)| name == who).and_then(|(_, cookie)| cookie.as_deref());
        let (got_status, headers, body) = console.get(path, cookie).await;
        let location = headers.get("location").and_then(|value| value.to_str().ok()).unwrap_or_default();
        let holds = if (300..400).contains(status) { location == *expected } else { body.contains(expected) };
        if got_status.as_u16() != *status || !holds {
            mismatches.push(format!("{path} as {who}: expected {status} with {expected:?}, got {got_status} (location {location:?}, {} bytes)", body.len()));
        }
        if got_status.is_success() && path.starts_with("/console") && !path.starts_with("/console/assets") {
            let csp = headers.get("content-security-policy").and_then(|value| value.to_str().ok()).unwrap_or_default();
            if !csp.contains("script-src 'self'") || headers.get("cache-control").map(|value| value.as_bytes()) != Some(b"no-store".as_slice()) {
                mismatches.push(format!("{path} as {who}: page headers {headers:?}"));
            }
        }
    }
    // The navigation offers admin only to those who may use it.
    let (_, _, agent_page) = console.get("/console", cookies[1].1.as_deref()).await;
    if agent_page.contains("data-nav=\"admin\"") || agent_page.contains("data-nav=\"dashboard\"") {
        mismatches.push("an agent's navigation offers admin or the dashboard".into());
    }
    // The presence toggle only for those who work tickets; the routing editor only for admins.
    let (_, _, viewer_page) = console.get("/console", cookies[2].1.as_deref()).await;
    if viewer_page.contains("id=\"presence\"") {
        mismatches.push("a viewer's top bar offers the presence toggle".into());
    }
    let (_, _, supervisor_users) = console.get("/console/admin/users", cookies[4].1.as_deref()).await;
    if supervisor_users.contains("id=\"routing-dialog\"") {
        mismatches.push("a supervisor's users page offers the routing editor".into());
    }
    // Supervisors read the policy sections; only admins get their editors.
    for (path, editor) in [("/console/admin/thresholds", "id=\"threshold-form\""), ("/console/admin/thresholds", "id=\"general-form\""), ("/console/admin/sla", "id=\"sla-form\"")] {
        let (_, _, supervisor_page) = console.get(path, cookies[4].1.as_deref()).await;
        if supervisor_page.contains(editor) {
            mismatches.push(format!("{path} offers a supervisor the editor {editor}"));
        }
    }
    // The admin side navigation lists only the sections the role may open.
    let (_, _, supervisor_admin) = console.get("/console/admin", cookies[4].1.as_deref()).await;
    for (section, offered) in [("users", true), ("templates", true), ("articles", true), ("sla", true), ("tokens", false), ("audit", false)] {
        if supervisor_admin.contains(&format!("href=\"/console/admin/{section}\"")) != offered {
            mismatches.push(format!("a supervisor's admin navigation: {section} offered should be {offered}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_from_users_are_escaped_in_pages() {
    let console = Console::new().await;
    let email = "mallory@example.com";
    let actor = Actor { audit_name: "test".into(), user_id: None };
    console.service.create_user(email, "<script>alert(1)</script>", Role::Agent, PASSWORD, &actor).await.unwrap();
    let session = console.service.log_in(email, PASSWORD, chrono_hours(1)).await.unwrap().unwrap();
    let (status, _, body) = console.get("/console", Some(&format!("sb_session={}", session.session_secret))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("<script>alert(1)</script>"), "a user's name is escaped");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The same on the dashboard and an admin page, for a supervisor with such a name.
    let supervisor_email = "eve@example.com";
    console.service.create_user(supervisor_email, "\"><img src=x onerror=alert(2)>", Role::Supervisor, PASSWORD, &actor).await.unwrap();
    let session = console.service.log_in(supervisor_email, PASSWORD, chrono_hours(1)).await.unwrap().unwrap();
    let cookie = format!("sb_session={}", session.session_secret);
    for path in ["/console/dashboard", "/console/admin/users", "/console/admin/articles"] {
        let (status, _, body) = console.get(path, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains("<img src=x"), "{path}: a user's name is escaped");
        assert!(body.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), "{path}");
    }
}
