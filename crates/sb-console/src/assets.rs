//! The console's JavaScript modules and style sheet, compiled into the binary.
//!
//! Served by name from a fixed table (no file system access, no path to traverse). Browsers
//! revalidate them on every load (`no-cache` with an `ETag` hashed from their content), so a new binary is
//! picked up at once and an unchanged one costs a 304.

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// (file name, media type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    ("console.css", "text/css; charset=utf-8", include_str!("../assets/console.css")),
    ("api.js", JS, include_str!("../assets/api.js")),
    ("dom.js", JS, include_str!("../assets/dom.js")),
    ("shell.js", JS, include_str!("../assets/shell.js")),
    ("presence.js", JS, include_str!("../assets/presence.js")),
    ("live.js", JS, include_str!("../assets/live.js")),
    ("queue.js", JS, include_str!("../assets/queue.js")),
    ("ticket.js", JS, include_str!("../assets/ticket.js")),
    ("composer.js", JS, include_str!("../assets/composer.js")),
    ("shortcuts.js", JS, include_str!("../assets/shortcuts.js")),
    ("workspace.js", JS, include_str!("../assets/workspace.js")),
    ("login.js", JS, include_str!("../assets/login.js")),
    ("admin.js", JS, include_str!("../assets/admin.js")),
    ("admin-common.js", JS, include_str!("../assets/admin-common.js")),
    ("admin-users.js", JS, include_str!("../assets/admin-users.js")),
    ("admin-tokens.js", JS, include_str!("../assets/admin-tokens.js")),
    ("admin-policy.js", JS, include_str!("../assets/admin-policy.js")),
    ("admin-mailboxes.js", JS, include_str!("../assets/admin-mailboxes.js")),
    ("admin-templates.js", JS, include_str!("../assets/admin-templates.js")),
    ("admin-articles.js", JS, include_str!("../assets/admin-articles.js")),
    ("admin-audit.js", JS, include_str!("../assets/admin-audit.js")),
    ("dashboard.js", JS, include_str!("../assets/dashboard.js")),
    ("charts.js", JS, include_str!("../assets/charts.js")),
    ("typing.js", JS, include_str!("../assets/typing.js")),
    ("customer360.js", JS, include_str!("../assets/customer360.js")),
    ("handoff.js", JS, include_str!("../assets/handoff.js")),
    ("chat.css", "text/css; charset=utf-8", include_str!("../assets/chat.css")),
    ("chat.js", JS, include_str!("../assets/chat.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// FNV-1a over every asset, computed at compile time: the `ETag` changes when any asset does.
const ASSETS_HASH: u64 = {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut asset_idx = 0;
    while asset_idx < ASSETS.len() {
        let bytes = ASSETS[asset_idx].2.as_bytes();
        let mut byte_idx = 0;
        while byte_idx < bytes.len() {
            hash ^= bytes[byte_idx] as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
            byte_idx += 1;
        }
        asset_idx += 1;
    }
    hash
};

fn etag() -> &'static str {
    static ETAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ETAG.get_or_init(|| format!("\"{ASSETS_HASH:016x}\""))
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, media_type, content)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    if headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) == Some(etag()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag())]).into_response();
    }
    ([(header::CONTENT_TYPE, *media_type), (header::CACHE_CONTROL, "no-cache"), (header::ETAG, etag()), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], *content).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module another module imports is in the table, so no import 404s in a browser.
    #[test]
    fn every_imported_module_is_served() {
        let names: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        for (name, _, content) in ASSETS {
            for line in content.lines().filter(|line| line.starts_with("import ")) {
                let Some(start) = line.find("\"./") else { panic!("{name}: import without a relative path: {line}") };
                let imported = &line[start + 3..line[start + 3..].find('"').map_or(line.len(), |end| start + 3 + end)];
                assert!(names.contains(&imported), "{name} imports {imported}, which is not served");
            }
        }
    }
}
