//! Who is calling: an API token from `Authorization: Bearer …`, with its scopes. (Session
//! cookies for the console arrive with the console.)

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sb_store::{ApiToken, Scope};

use crate::{ApiError, AppState};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
}

impl Caller {
    /// Fails with 403 unless the token has `scope` (`admin` implies every scope).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.token.scopes.contains(&scope) || self.token.scopes.contains(&Scope::Admin) {
            return Ok(());
        }
        Err(ApiError::MissingScope(scope.as_str()))
    }

    /// Fails with 403 unless the token has one of `scopes`.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), ApiError> {
        if scopes.iter().any(|scope| self.require(*scope).is_ok()) {
            return Ok(());
        }
        Err(ApiError::MissingScope(scopes.first().map_or("admin", |scope| scope.as_str())))
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("token:{}", self.token.id)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|value| value.to_str().ok()).ok_or(ApiError::Unauthorized)?;
        let secret = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim).ok_or(ApiError::Unauthorized)?;
        if secret.is_empty() || secret.len() > 200 {
            return Err(ApiError::Unauthorized);
        }
        let token = state.service.store().api_token(secret).await?.ok_or(ApiError::Unauthorized)?;
        Ok(Caller { token })
    }
}
