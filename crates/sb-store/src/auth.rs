//! Users, roles, web sessions and API tokens as stored. Secrets never reach the database:
//! passwords arrive already hashed (argon2, by the service), and session and token values are
//! stored as their sha256 so a leaked database does not hand out working credentials.

use sqlx::AssertSqlSafe;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{append_audit, NewAuditEntry};
use crate::records::{string_enum, DbRow};
use crate::{from_ms, from_ms_opt, on_reader, on_writer, to_ms, Error, Result, Store};

string_enum!(
    /// What a user may do (PRODUCT.md, "Security and compliance").
    Role {
        Admin => "admin",
        Supervisor => "supervisor",
        Agent => "agent",
        Compliance => "compliance",
        Viewer => "viewer",
    }
);

impl Role {
    /// Roles that may see unredacted customer data.
    pub fn sees_pii(self) -> bool {
        match self {
            Role::Admin | Role::Supervisor | Role::Agent | Role::Compliance => true,
            Role::Viewer => false,
        }
    }
}

string_enum!(
    /// What an API token may do.
    Scope {
        Ingest => "ingest",
        Read => "read",
        Write => "write",
        Admin => "admin",
    }
);

/// Parses `ingest,read` into scopes, reporting every unknown name.
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>> {
    let mut scopes = Vec::new();
    let mut unknown = Vec::new();
    for name in text.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        match Scope::parse(name) {
            Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Some(_) => {}
            None => unknown.push(name.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::Invalid(format!("unknown scope(s) {}: use ingest, read, write, admin", unknown.join(", "))));
    }
    if scopes.is_empty() {
        return Err(Error::Invalid("a token needs at least one scope: ingest, read, write, admin".into()));
    }
    Ok(scopes)
}

/// sha256 of a secret, hex: how session and token values are stored and looked up.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// argon2 PHC string.
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str = "id, email, name, role, password_hash, active, created_at";
const TOKEN_COLUMNS: &str = "id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at";

fn user_from_row(row: &impl DbRow) -> Result<User> {
    let role_label = row.string("role")?;
    Ok(User {
        id: row.i64("id")?,
        email: row.string("email")?,
        name: row.string("name")?,
        role: Role::parse(&role_label).ok_or_else(|| Error::Invalid(format!("unknown role `{role_label}` in the database")))?,
        password_hash: row.string("password_hash")?,
        active: row.bool("active")?,
        created_at: from_ms(row.i64("created_at")?),
    })
}

fn token_from_row(row: &impl DbRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.i64("id")?,
        name: row.string("name")?,
        prefix: row.string("prefix")?,
        scopes: parse_scopes(&row.string("scopes")?)?,
        created_by: row.opt_i64("created_by")?,
        created_at: from_ms(row.i64("created_at")?),
        last_used_at: from_ms_opt(row.opt_i64("last_used_at")?),
        revoked_at: from_ms_opt(row.opt_i64("revoked_at")?),
    })
}

impl Store {
    pub async fn create_user(&self, new_user: &NewUser, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<User> {
        let now_ms = to_ms(now);
        let email = new_user.email.trim().to_lowercase();
        let id: i64 = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO users (email, name, role, password_hash, active, created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, $5, $6) \
                 ON CONFLICT (email) DO NOTHING RETURNING id",
            )
            .bind(&email)
            .bind(&new_user.name)
            .bind(new_user.role.as_str())
            .bind(&new_user.password_hash)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                return Err(Error::Conflict(format!("a user with email {email} already exists")));
            };
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            id
        });
        self.user(id).await
    }

    pub async fn user(&self, user_id: i64) -> Result<User> {
        let user = on_writer!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))).bind(user_id).fetch_optional(pool).await?;
            row.map(|row| user_from_row(&row)).transpose()?
        });
        user.ok_or_else(|| Error::not_found("user", user_id))
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = email.trim().to_lowercase();
        let user = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))).bind(&email).fetch_optional(pool).await?;
            row.map(|row| user_from_row(&row)).transpose()?
        });
        Ok(user)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let users = on_reader!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))).fetch_all(pool).await?;
            rows.iter().map(user_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(users)
    }

    /// The names of these users (ids not found are left out): what a list of tickets shows for
    /// their assignees. One query for a page, however many tickets it holds.
    pub async fn user_names(&self, user_ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
        let mut user_ids = user_ids.to_vec();
        user_ids.sort_unstable();
        user_ids.dedup();
        if user_ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let placeholders: Vec<String> = (1..=user_ids.len()).map(|index| format!("${index}")).collect();
        let sql = format!("SELECT id, name FROM users WHERE id IN ({})", placeholders.join(", "));
        let names = on_reader!(self, |pool| {
            let mut query = sqlx::query(AssertSqlSafe(&*sql));
            for user_id in &user_ids {
                query = query.bind(*user_id);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| Ok((row.i64("id")?, row.string("name")?))).collect::<Result<std::collections::HashMap<_, _>>>()?
        });
        Ok(names)
    }

    /// Changes a user's role and/or active flag in one transaction with its audit entries.
    /// Deactivating also ends the user's sessions (a session of an inactive user is refused
    /// anyway; deleting them keeps nothing usable behind).
    pub async fn update_user(&self, user_id: i64, role: Option<Role>, active: Option<bool>, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<User> {
        let now_ms = to_ms(now);
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE users SET role = COALESCE($1, role), active = COALESCE($2, active), updated_at = $3 WHERE id = $4")
                .bind(role.map(Role::as_str))
                .bind(active)
                .bind(now_ms)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(Error::not_found("user", user_id));
            }
            if active == Some(false) {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            }
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
        });
        self.user(user_id).await
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(on_reader!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?))
    }

    /// Stores a session under the hash of `session_secret`.
    pub async fn create_session(&self, user_id: i64, session_secret: &str, csrf_token: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        on_writer!(self, |pool| {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(secret_hash(session_secret))
                .bind(user_id)
                .bind(csrf_token)
                .bind(now_ms)
                .bind(to_ms(expires_at))
                .bind(now_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The live session of an active user for this secret, if any.
    pub async fn session(&self, session_secret: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let hash = secret_hash(session_secret);
        let found = on_reader!(self, |pool| {
            let row = sqlx::query("SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(&hash)
                .bind(to_ms(now))
                .fetch_optional(pool)
                .await?;
            match row {
                Some(row) => Some((row.i64("user_id")?, row.string("csrf_token")?, row.i64("expires_at")?)),
                None => None,
            }
        });
        let Some((user_id, csrf_token, expires_at)) = found else { return Ok(None) };
        let user = self.user(user_id).await?;
        if !user.active {
            return Ok(None);
        }
        Ok(Some(Session { user, csrf_token, expires_at: from_ms(expires_at) }))
    }

    pub async fn delete_session(&self, session_secret: &str) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(secret_hash(session_secret)).execute(pool).await?;
        });
        Ok(())
    }

    /// Stores a token under the hash of `secret` (the caller shows the secret once).
    pub async fn create_api_token(&self, name: &str, secret: &str, scopes: &[Scope], created_by: Option<i64>, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<ApiToken> {
        let now_ms = to_ms(now);
        let prefix: String = secret.chars().take(10).collect();
        let scopes_text = scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(",");
        let id: i64 = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar("INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(name)
                .bind(secret_hash(secret))
                .bind(&prefix)
                .bind(&scopes_text)
                .bind(created_by)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            id
        });
        let tokens = self.list_api_tokens().await?;
        tokens.into_iter().find(|token| token.id == id).ok_or_else(|| Error::not_found("api token", id))
    }

    /// The unrevoked token for this secret, if any.
    pub async fn api_token(&self, secret: &str) -> Result<Option<ApiToken>> {
        let hash = secret_hash(secret);
        let token = on_reader!(self, |pool| {
            let row = sqlx::query(AssertSqlSafe(&*format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"))).bind(&hash).fetch_optional(pool).await?;
            row.map(|row| token_from_row(&row)).transpose()?
        });
        Ok(token)
    }

    /// Records when a token was last used (the API throttles the calls: one per token per
    /// minute, so authentication never waits for a write).
    pub async fn touch_api_token(&self, token_id: i64, now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        on_writer!(self, |pool| sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now_ms).bind(token_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let tokens = on_writer!(self, |pool| {
            let rows = sqlx::query(AssertSqlSafe(&*format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"))).fetch_all(pool).await?;
            rows.iter().map(token_from_row).collect::<Result<Vec<_>>>()?
        });
        Ok(tokens)
    }

    pub async fn revoke_api_token(&self, token_id: i64, audit: &[NewAuditEntry], now: DateTime<Utc>) -> Result<()> {
        let now_ms = to_ms(now);
        let updated = on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now_ms).bind(token_id).execute(&mut *tx).await?.rows_affected();
            append_audit!(self.backend(), tx, audit, now_ms);
            tx.commit().await?;
            updated
        });
        if updated == 0 {
            return Err(Error::not_found("active api token", token_id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_report_unknown_names() {
        assert_eq!(parse_scopes("ingest, read,read").unwrap(), vec![Scope::Ingest, Scope::Read]);
        assert!(parse_scopes("ingest,superuser,x").unwrap_err().to_string().contains("superuser, x"));
        assert!(parse_scopes(" , ").is_err());
    }

    #[test]
    fn secrets_hash_to_hex() {
        assert_eq!(secret_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
