//! Administration that needs secrets: API tokens. A token is `sbt_` and 48 hex digits from
//! the operating system's random source; only its sha256 is stored, and the secret is shown
//! once, to whoever created it.

use chrono::Utc;
use sb_store::{ApiToken, NewAuditEntry, Scope};

use crate::{Error, Result, Service};

/// A new secret with a recognisable prefix.
pub fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0_u8; 24];
    getrandom::fill(&mut bytes).map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

impl Service {
    /// Creates a token; returns it with its secret (shown once, never stored).
    pub async fn create_api_token(&self, name: &str, scopes: &[Scope], created_by: Option<i64>, actor: &str) -> Result<(ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Error::Invalid("a token name must be 1 to 100 characters".into()));
        }
        let secret = new_secret("sbt_")?;
        let scope_names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
        let audit = [NewAuditEntry::new(actor, "token.created", "api_token", name, serde_json::json!({"scopes": scope_names}))];
        let token = self.store().create_api_token(name, &secret, scopes, created_by, &audit, Utc::now()).await?;
        Ok((token, secret))
    }
}
