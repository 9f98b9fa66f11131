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
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Credential, SESSION_COOKIE};
use crate::rate_limit::client_ip;
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

fn cookie(state: &AppState, value: &str, max_age_seconds: i64) -> Result<HeaderValue, ApiError> {
    let secure = if state.security.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")).map_err(|error| ApiError::Internal(error.to_string()))
}

pub async fn log_in(State(state): State<AppState>, extensions: axum::http::Extensions, body: Result<Json<LoginRequest>, JsonRejection>) -> Result<Response, ApiError> {
    state.limits.check_login(client_ip(&extensions))?;
    let Json(request) = body?;
    if request.email.len() > 320 || request.password.len() > 1_024 {
        return Err(ApiError::InvalidCredentials);
    }
    let session = state.service.log_in(&request.email, &request.password, state.security.session_ttl).await?.ok_or(ApiError::InvalidCredentials)?;
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let body = json!({"user": session.user, "csrf_token": session.csrf_token, "expires_at": session.expires_at});
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, &session.session_secret, max_age)?);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn current(caller: Caller) -> Result<Response, ApiError> {
    let Credential::Session { session, .. } = &caller.credential else {
        return Err(ApiError::validation("not_a_session", "this request is authenticated by a token, not a session"));
    };
    let body = json!({"user": session.user, "csrf_token": session.csrf_token, "expires_at": session.expires_at});
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn log_out(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let Credential::Session { secret, .. } = &caller.credential else {
        return Err(ApiError::validation("not_a_session", "this request is authenticated by a token, not a session"));
    };
    state.service.log_out(secret, &caller.actor()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(response)
}
