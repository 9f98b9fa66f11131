//! Console login: `POST /api/v1/session` checks the password and sets the session cookie
//! (HttpOnly, so page scripts cannot read it; SameSite=Lax, so other sites' forms do not send
//! it; Secure when the server is configured for HTTPS) and returns the CSRF token that the
//! console sends back in `X-CSRF-Token` on every change. `GET` tells who is logged in (and the
//! CSRF token again, for a reloaded page); `DELETE` logs out.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Credential, SESSION_COOKIE};
use crate::dto::UserDto;
use crate::error::ErrorBody;
use crate::openapi::{Forbidden, InvalidCredentials, MalformedJson, PayloadTooLarge, RateLimited, Unauthorized, UnsupportedMediaType};
use crate::rate_limit::client_ip;
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// Who is logged in, and the CSRF token to send in `X-CSRF-Token` on every change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    user: UserDto,
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

impl SessionResponse {
    fn new(user: &sb_store::User, csrf_token: &str, expires_at: DateTime<Utc>) -> SessionResponse {
        SessionResponse { user: UserDto::from(user), csrf_token: csrf_token.to_string(), expires_at }
    }
}

fn cookie(state: &AppState, value: &str, max_age_seconds: i64) -> Result<HeaderValue, ApiError> {
    let secure = if state.security.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")).map_err(|error| ApiError::Internal(error.to_string()))
}

/// Log in to the console
///
/// Checks the password, sets the `sb_session` cookie (HttpOnly, SameSite=Lax) and returns the
/// CSRF token. Attempts are limited per client IP.
#[utoipa::path(
    post, path = "/api/v1/session", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in.", body = SessionResponse, headers(("Set-Cookie" = String, description = "`sb_session=…; Path=/; HttpOnly; SameSite=Lax; Max-Age=…` (and `Secure` when configured)."))),
        (status = 400, response = MalformedJson),
        (status = 401, response = InvalidCredentials),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Code: `invalid_field` (a missing or unknown field).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn log_in(State(state): State<AppState>, extensions: axum::http::Extensions, body: Result<Json<LoginRequest>, JsonRejection>) -> Result<Response, ApiError> {
    state.limits.check_login(client_ip(&extensions))?;
    let Json(request) = body?;
    if request.email.len() > 320 || request.password.len() > 1_024 {
        return Err(ApiError::InvalidCredentials);
    }
    let session = state.service.log_in(&request.email, &request.password, state.security.session_ttl).await?.ok_or(ApiError::InvalidCredentials)?;
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let mut response = (StatusCode::OK, Json(SessionResponse::new(&session.user, &session.csrf_token, session.expires_at))).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, &session.session_secret, max_age)?);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Who is logged in
///
/// The session's user and its CSRF token again (for a reloaded page).
#[utoipa::path(
    get, path = "/api/v1/session", tag = "session",
    responses(
        (status = 200, description = "The session.", body = SessionResponse),
        (status = 401, response = Unauthorized),
        (status = 422, description = "Code: `not_a_session` (the request carries a bearer token).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("session" = ["admin", "supervisor", "agent", "compliance", "viewer"])),
)]
pub async fn current(caller: Caller) -> Result<Response, ApiError> {
    let Credential::Session { session, .. } = &caller.credential else {
        return Err(ApiError::validation("not_a_session", "this request is authenticated by a token, not a session"));
    };
    let mut response = Json(SessionResponse::new(&session.user, &session.csrf_token, session.expires_at)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Log out
///
/// Ends the session and clears the cookie.
#[utoipa::path(
    delete, path = "/api/v1/session", tag = "session",
    responses(
        (status = 204, description = "Logged out.", headers(("Set-Cookie" = String, description = "Clears `sb_session`."))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, description = "Code: `not_a_session` (the request carries a bearer token).", body = ErrorBody),
        (status = 429, response = RateLimited),
    ),
    security(("session" = ["admin", "supervisor", "agent", "compliance", "viewer"], "csrf" = [])),
)]
pub async fn log_out(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let Credential::Session { secret, .. } = &caller.credential else {
        return Err(ApiError::validation("not_a_session", "this request is authenticated by a token, not a session"));
    };
    state.service.log_out(secret, &caller.actor()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(response)
}
