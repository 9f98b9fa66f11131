//! Who is calling and what they may do.
//!
//! A caller is either an API token (`Authorization: Bearer …`, for integrations, with scopes)
//! or a web session (the `sb_session` cookie, for the console, with the user's role). Both are
//! turned into one set of [`Permission`]s, so a handler asks "may this caller assign?" and
//! never "is this a token with the write scope or a supervisor?".
//!
//! Hidden contracts:
//! - A bearer header wins over a cookie, and a bad bearer token is 401 even with a good cookie.
//! - A cookie-authenticated unsafe request (POST, PUT, PATCH, DELETE) must carry the session's
//!   CSRF token in `X-CSRF-Token`: browsers attach cookies to cross-site form posts, never
//!   custom headers. Bearer tokens are never sent automatically, so they need no CSRF token.
//! - The per-credential rate limit is checked here, after authentication (see `rate_limit`).

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::Method;
use sb_service::actions::Actor;
use sb_store::{ApiToken, Role, Scope, Session, Ticket};

use crate::rate_limit::LimitClass;
use crate::{ApiError, AppState};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sb_session";
/// Header carrying the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What a caller may do. Roles and scopes both map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Send messages in and classify (`POST /messages`, `POST /classify`).
    Ingest,
    /// Read tickets, customers, decisions.
    Read,
    /// Act on tickets: reply, note, status, escalate, merge. Agents only on their own work.
    Write,
    /// Assign any ticket to anyone (agents may only take unassigned tickets themselves).
    Assign,
    /// Change customer flags (VIP).
    ManageCustomers,
    /// Read compliance records.
    ReadCompliance,
    /// Read the audit log.
    ReadAudit,
    /// List users.
    ReadUsers,
    /// Create users.
    ManageUsers,
    /// List, create and revoke API tokens; register webhooks and read their delivery logs.
    ManageTokens,
    /// See message bodies and customer contact details unredacted.
    SeePii,
    /// Scrape `/metrics` (counts only: no personal data).
    ReadMetrics,
    /// Write knowledge-base articles and reply templates (agents read them).
    ManageKnowledge,
    /// Resolve alerts by hand (everyone who reads tickets sees them).
    ResolveAlerts,
    /// Read the dashboard reports (SLA compliance, agent performance, cost…) and export them.
    ReadReports,
    /// Record a customer's satisfaction rating passed on by a survey tool (`write` tokens and
    /// admins; never agents or supervisors, whose work the rating judges).
    RecordCsat,
    /// Change the auto-reply thresholds and SLA targets in force (overrides of the
    /// configuration file): admins and `admin` tokens only.
    ManagePolicy,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Ingest => "ingest",
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Assign => "assign",
            Permission::ManageCustomers => "manage_customers",
            Permission::ReadCompliance => "read_compliance",
            Permission::ReadAudit => "read_audit",
            Permission::ReadUsers => "read_users",
            Permission::ManageUsers => "manage_users",
            Permission::ManageTokens => "manage_tokens",
            Permission::SeePii => "see_pii",
            Permission::ReadMetrics => "read_metrics",
            Permission::ManageKnowledge => "manage_knowledge",
            Permission::ResolveAlerts => "resolve_alerts",
            Permission::ReadReports => "read_reports",
            Permission::RecordCsat => "record_csat",
            Permission::ManagePolicy => "manage_policy",
        }
    }

    /// What a role grants (PRODUCT.md, "Security and compliance").
    pub fn of_role(role: Role, permission: Permission) -> bool {
        use Permission::*;
        match role {
            Role::Admin => true,
            Role::Supervisor => matches!(permission, Read | Write | Assign | ManageCustomers | ReadUsers | SeePii | ManageKnowledge | ResolveAlerts | ReadReports),
            Role::Agent => matches!(permission, Read | Write | SeePii),
            Role::Compliance => matches!(permission, Read | ReadCompliance | ReadAudit | SeePii),
            Role::Viewer => matches!(permission, Read),
        }
    }

    /// What a token scope grants: `ingest` sends messages in, `read` reads (with personal
    /// data: integrations such as a CRM sync need it) and exports the reports, `write` acts on tickets and keeps the
    /// knowledge base (a help-centre sync), `admin` is everything.
    pub fn of_scope(scope: Scope, permission: Permission) -> bool {
        use Permission::*;
        match scope {
            Scope::Admin => true,
            Scope::Ingest => matches!(permission, Ingest),
            Scope::Read => matches!(permission, Read | ReadCompliance | SeePii | ReadMetrics | ReadReports),
            Scope::Write => matches!(permission, Write | Assign | ManageCustomers | ManageKnowledge | ResolveAlerts | RecordCsat),
        }
    }
}

/// The handlers written before roles existed ask for scopes; a scope stands for the
/// permission it grants first.
impl From<Scope> for Permission {
    fn from(scope: Scope) -> Permission {
        match scope {
            Scope::Ingest => Permission::Ingest,
            Scope::Read => Permission::Read,
            Scope::Write => Permission::Write,
            Scope::Admin => Permission::ManageTokens,
        }
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Token(ApiToken),
    Session { session: Session, secret: String },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential: Credential,
}

impl Caller {
    pub fn can(&self, permission: Permission) -> bool {
        match &self.credential {
            Credential::Token(token) => token.scopes.iter().any(|scope| Permission::of_scope(*scope, permission)),
            Credential::Session { session, .. } => Permission::of_role(session.user.role, permission),
        }
    }

    /// Fails with 403 unless the caller has `permission` (a scope stands for its permission).
    pub fn require(&self, permission: impl Into<Permission>) -> Result<(), ApiError> {
        let permission = permission.into();
        if self.can(permission) {
            return Ok(());
        }
        Err(self.forbidden(permission))
    }

    /// Fails with 403 unless the caller has one of `permissions`.
    pub fn require_any<P: Into<Permission> + Copy>(&self, permissions: &[P]) -> Result<(), ApiError> {
        if permissions.iter().any(|permission| self.can((*permission).into())) {
            return Ok(());
        }
        Err(self.forbidden(permissions.first().map_or(Permission::ManageTokens, |permission| (*permission).into())))
    }

    fn forbidden(&self, permission: Permission) -> ApiError {
        match &self.credential {
            Credential::Token(_) => ApiError::MissingScope(scope_for(permission)),
            Credential::Session { session, .. } => ApiError::Forbidden(format!("the {} role may not {}", session.user.role.as_str(), describe(permission))),
        }
    }

    /// The user behind a session (tokens have none).
    pub fn user_id(&self) -> Option<i64> {
        match &self.credential {
            Credential::Token(_) => None,
            Credential::Session { session, .. } => Some(session.user.id),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.credential {
            Credential::Token(_) => None,
            Credential::Session { session, .. } => Some(session.user.role),
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Token(token) => Actor::token(token.id),
            Credential::Session { session, .. } => Actor::user(session.user.id),
        }
    }

    /// The rate-limit key: one bucket per token or per user.
    pub fn limit_key(&self) -> String {
        self.actor().audit_name
    }

    /// Write access to this ticket: agents work only on tickets that are theirs or nobody's.
    pub fn require_work_on(&self, ticket: &Ticket) -> Result<(), ApiError> {
        self.require(Permission::Write)?;
        if self.role() == Some(Role::Agent) && ticket.assignee_id.is_some() && ticket.assignee_id != self.user_id() {
            return Err(ApiError::Forbidden(format!("ticket {} is assigned to someone else; agents act on their own or unassigned tickets", ticket.id)));
        }
        Ok(())
    }

    /// Assigning: with the assign permission anything; an agent may take an unassigned ticket
    /// (or one already theirs) and give back their own.
    pub fn require_assign(&self, ticket: &Ticket, assignee_id: Option<i64>) -> Result<(), ApiError> {
        if self.can(Permission::Assign) {
            return Ok(());
        }
        let agent_id = match (self.role(), self.user_id()) {
            (Some(Role::Agent), Some(user_id)) => user_id,
            _ => return Err(self.forbidden(Permission::Assign)),
        };
        let ticket_is_free_or_mine = ticket.assignee_id.is_none() || ticket.assignee_id == Some(agent_id);
        let assignee_is_me_or_nobody = assignee_id.is_none() || assignee_id == Some(agent_id);
        let giving_back_mine = assignee_id.is_none() && ticket.assignee_id == Some(agent_id);
        if ticket_is_free_or_mine && assignee_is_me_or_nobody && (assignee_id.is_some() || giving_back_mine) {
            return Ok(());
        }
        Err(ApiError::Forbidden("agents may only take unassigned tickets themselves or give back their own".into()))
    }
}

fn scope_for(permission: Permission) -> &'static str {
    match permission {
        Permission::Ingest => "ingest",
        Permission::Read | Permission::ReadCompliance | Permission::SeePii | Permission::ReadMetrics | Permission::ReadReports => "read",
        Permission::Write | Permission::Assign | Permission::ManageCustomers | Permission::ManageKnowledge | Permission::ResolveAlerts | Permission::RecordCsat => "write",
        Permission::ReadAudit | Permission::ReadUsers | Permission::ManageUsers | Permission::ManageTokens | Permission::ManagePolicy => "admin",
    }
}

fn describe(permission: Permission) -> &'static str {
    match permission {
        Permission::Ingest => "send messages in",
        Permission::Read => "read tickets",
        Permission::Write => "act on tickets",
        Permission::Assign => "assign tickets",
        Permission::ManageCustomers => "change customers",
        Permission::ReadCompliance => "read compliance records",
        Permission::ReadAudit => "read the audit log",
        Permission::ReadUsers => "list users",
        Permission::ManageUsers => "manage users",
        Permission::ManageTokens => "manage api tokens and webhooks",
        Permission::SeePii => "see personal data",
        Permission::ReadMetrics => "read the metrics",
        Permission::ManageKnowledge => "edit the knowledge base",
        Permission::ResolveAlerts => "resolve alerts",
        Permission::ReadReports => "read the reports",
        Permission::RecordCsat => "record customer ratings",
        Permission::ManagePolicy => "change the auto-reply thresholds and sla targets",
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'headers>(headers: &'headers axum::http::HeaderMap, name: &str) -> Option<&'headers str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0_u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let header = header.to_str().map_err(|_| ApiError::Unauthorized)?;
        let secret = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim).ok_or(ApiError::Unauthorized)?;
        if secret.is_empty() || secret.len() > 200 {
            return Err(ApiError::Unauthorized);
        }
        let token = state.service.store().api_token(secret).await?.ok_or(ApiError::Unauthorized)?;
        if state.token_use.fire(token.id) {
            // Off the request path: a failed write costs a stale `last_used_at`, not the request.
            let store = state.service.store().clone();
            let token_id = token.id;
            tokio::spawn(async move {
                if let Err(error) = store.touch_api_token(token_id, chrono::Utc::now()).await {
                    tracing::warn!(token_id, error = %error, "cannot record the token's last use");
                }
            });
        }
        return Ok(Caller { credential: Credential::Token(token) });
    }
    let secret = cookie_value(&parts.headers, SESSION_COOKIE).filter(|secret| !secret.is_empty() && secret.len() <= 200).ok_or(ApiError::Unauthorized)?;
    let session = state.service.store().session(secret, chrono::Utc::now()).await?.ok_or(ApiError::Unauthorized)?;
    if is_unsafe(&parts.method) {
        let sent = parts.headers.get(CSRF_HEADER).map(|value| value.as_bytes()).unwrap_or_default();
        if !constant_time_eq(sent, session.csrf_token.as_bytes()) {
            return Err(ApiError::CsrfFailed);
        }
    }
    Ok(Caller { credential: Credential::Session { session, secret: secret.to_string() } })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let caller = authenticate(parts, state).await?;
        let matched = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or_default();
        let class = if matches!(matched, "/api/v1/messages" | "/api/v1/classify" | "/api/v1/inbound/email") { LimitClass::Ingest } else { LimitClass::Api };
        state.limits.check_credential(class, &caller.limit_key())?;
        Ok(caller)
    }
}
