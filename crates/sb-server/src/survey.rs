//! The public rating page of the survey link mailed when an agent resolves an email ticket
//! (`/rate/{secret}`, see `sb_service::csat`): a plain HTML form (five radio buttons and a
//! comment) that posts back to the same address; no script, no login, no cookie.
//!
//! Hidden contracts: the secret in the path is the only credential, and the page says nothing
//! about the ticket (no subject, no customer): anyone who sees the link learns only that there
//! is something to rate. An unknown and an expired link answer alike in shape (404 / 410 pages).
//! Bad input shows the form again with the message (422); nothing is stored half-way.

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use sb_service::SurveyLink;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::assist::escape_html;
use crate::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the rating form posts (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SurveyForm {
    /// 1 (poor) to 5 (excellent).
    rating: Option<String>,
    /// Optional, at most 1,000 characters.
    comment: Option<String>,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1d2430}}h1{{font-size:1.5rem}}\
         fieldset{{border:0;padding:0;margin:0 0 1rem;display:flex;gap:.25rem;flex-wrap:wrap}}legend{{margin-bottom:.5rem;font-weight:600}}\
         label.star{{display:inline-flex;align-items:center;gap:.3rem;padding:.4rem .7rem;border:1px solid #d0d5dd;border-radius:.5rem;cursor:pointer}}\
         label.star:focus-within{{outline:2px solid #3451d1;outline-offset:2px}}textarea{{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;border:1px solid #d0d5dd;border-radius:.5rem}}\
         button{{font:inherit;padding:.55rem 1.2rem;border:0;border-radius:.5rem;background:#3451d1;color:#fff;cursor:pointer;margin-top:.75rem}}\
         .error{{color:#b42318}}.muted{{color:#5b6575}}</style></head><body><main>{body}</main></body></html>\n",
        title = escape_html(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn form(secret: &str, chosen: Option<i64>, comment: &str, error: Option<&str>) -> String {
    let stars: String = (1..=5)
        .map(|stars| {
            let checked = if chosen == Some(stars) { " checked" } else { "" };
            let word = match stars {
                1 => "1 star (poor)",
                5 => "5 stars (excellent)",
                _ => "",
            };
            let label = if word.is_empty() { format!("{stars} stars") } else { word.to_string() };
            format!("<label class=\"star\"><input type=\"radio\" name=\"rating\" value=\"{stars}\" required{checked}> <span aria-hidden=\"true\">{}</span><span class=\"muted\">{label}</span></label>", "★".repeat(stars as usize))
        })
        .collect();
    let error = error.map_or_else(String::new, |message| format!("<p class=\"error\" role=\"alert\">{}</p>", escape_html(message)));
    format!(
        "<h1>How did we do?</h1><p class=\"muted\">Your request was resolved. Your rating helps us answer better.</p>{error}\
         <form method=\"post\" action=\"/rate/{secret}\"><fieldset><legend>Your rating</legend>{stars}</fieldset>\
         <label for=\"comment\">Anything to add? (optional)</label><textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"1000\">{comment}</textarea>\
         <button type=\"submit\">Send rating</button></form>",
        secret = escape_html(secret),
        comment = escape_html(comment),
    )
}

fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "Link not valid", "<h1>This link is not valid</h1><p>Please check that you copied the whole address from the email.</p>")
}

fn expired() -> Response {
    page(StatusCode::GONE, "Link expired", "<h1>This link has expired</h1><p>Thank you all the same. If you still need help, just reply to our email.</p>")
}

fn unavailable(error: &sb_service::Error) -> Response {
    tracing::error!(error = %error, "survey page: the service failed");
    page(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", "<h1>Please try again in a moment</h1><p>We could not record anything just now.</p>")
}

/// A survey's rating page
///
/// The public page of the link mailed when an agent resolves an email ticket: five stars and a
/// comment, no login. A rating given before is shown and may be changed.
#[utoipa::path(
    get, path = "/rate/{secret}", tag = "customers",
    params(("secret" = String, Path, description = "The link's secret.")),
    responses(
        (status = 200, description = "The rating form (an HTML page).", content_type = "text/html", body = String),
        (status = 404, description = "No survey has this secret (an HTML page).", content_type = "text/html", body = String),
        (status = 410, description = "The link expired (an HTML page).", content_type = "text/html", body = String),
    ),
)]
pub async fn survey_page(State(state): State<AppState>, secret: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(secret)) = secret else { return not_found() };
    match state.service.survey_link(&secret).await {
        Ok(SurveyLink::Open { rating, .. }) => {
            let chosen = rating.as_ref().map(|rating| rating.rating);
            let comment = rating.as_ref().and_then(|rating| rating.comment.clone()).unwrap_or_default();
            page(StatusCode::OK, "Rate your request", &form(&secret, chosen, &comment, None))
        }
        Ok(SurveyLink::Expired) => expired(),
        Ok(SurveyLink::Unknown) => not_found(),
        Err(error) => unavailable(&error),
    }
}

/// Rate through a survey link
///
/// What the rating page's form posts. Rating again replaces the earlier rating.
#[utoipa::path(
    post, path = "/rate/{secret}", tag = "customers",
    params(("secret" = String, Path, description = "The link's secret.")),
    request_body(content = SurveyForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Recorded: a thank-you page.", content_type = "text/html", body = String),
        (status = 404, description = "No survey has this secret (an HTML page).", content_type = "text/html", body = String),
        (status = 410, description = "The link expired (an HTML page).", content_type = "text/html", body = String),
        (status = 413, description = "A body over the server's limit (an HTML page).", content_type = "text/html", body = String),
        (status = 415, description = "Not a form (an HTML page).", content_type = "text/html", body = String),
        (status = 422, description = "No rating chosen, a comment too long, or the request reopened: the form again with the reason.", content_type = "text/html", body = String),
    ),
)]
pub async fn submit_survey(State(state): State<AppState>, secret: Result<Path<String>, PathRejection>, body: Result<Form<SurveyForm>, FormRejection>) -> Response {
    let Ok(Path(secret)) = secret else { return not_found() };
    match state.service.survey_link(&secret).await {
        Ok(SurveyLink::Open { .. }) => {}
        Ok(SurveyLink::Expired) => return expired(),
        Ok(SurveyLink::Unknown) => return not_found(),
        Err(error) => return unavailable(&error),
    }
    let (rating, comment) = match body {
        Ok(Form(survey)) => (survey.rating.and_then(|rating| rating.trim().parse::<i64>().ok()), survey.comment.unwrap_or_default()),
        Err(rejection) if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            return page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Not a form", "<h1>Please use the rating page</h1><p>This address takes the page's form (application/x-www-form-urlencoded).</p>");
        }
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return page(StatusCode::PAYLOAD_TOO_LARGE, "Too long", "<h1>That was too long</h1><p>Please keep the comment under 1,000 characters.</p>");
        }
        Err(_) => (None, String::new()),
    };
    let invalid = |message: &str, rating: Option<i64>, comment: &str| page(StatusCode::UNPROCESSABLE_ENTITY, "Rate your request", &form(&secret, rating, comment, Some(message)));
    let Some(rating) = rating.filter(|rating| (1..=5).contains(rating)) else { return invalid("Please choose from 1 to 5 stars.", None, &comment) };
    match state.service.rate_by_survey(&secret, rating, Some(&comment)).await {
        Ok(Some(_)) => page(StatusCode::OK, "Thank you", "<h1>Thank you!</h1><p>Your rating was recorded. You can close this page.</p>"),
        Ok(None) => not_found(),
        Err(sb_service::Error::Invalid(message)) => invalid(&message, Some(rating), &comment),
        Err(error) => unavailable(&error),
    }
}
