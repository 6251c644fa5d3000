//! GraphiQL, served from the binary: the page, its scripts and styles are compiled in at pinned
//! versions (`scripts/update-graphiql` refreshes them from npm), so it works offline and loads
//! nothing from any other origin (its Content-Security-Policy says so too).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// The GraphiQL release the assets come from; part of their URLs, so they can be cached forever.
pub const VERSION: &str = "3.9.0";

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", "text/css; charset=utf-8", include_bytes!("../assets/graphiql/graphiql.min.css")),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    ("start.js", "text/javascript; charset=utf-8", include_bytes!("../assets/graphiql/start.js")),
];

/// Only this origin; inline styles because GraphiQL's editors set them; fonts and icons are
/// data URLs inside the stylesheet.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The query GraphiQL opens with.
const FIRST_QUERY: &str = "# Bellwether's API. The Docs button (top left) lists every type.
# Send your token as a header first (Headers, below):
#   { \"Authorization\": \"Bearer <token>\" }
{
  viewer { name role }
  accounts(first: 5, orderBy: { field: HEALTH_SCORE }) {
    nodes { name tier healthScore healthBand }
  }
}
";

/// Headers GraphiQL starts with (the demo admin's token with `serve --demo`); set once.
#[derive(Clone, Default)]
pub struct Prefill(pub Arc<OnceLock<String>>);

impl Prefill {
    /// Prefills the `Authorization` header with this token.
    pub fn token(&self, token: &str) {
        let headers = serde_json::json!({ "Authorization": format!("Bearer {token}") });
        let _ = self.0.set(headers.to_string());
    }
}

fn attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page at `GET /graphql` for browsers; the prefilled headers only for a loopback host.
pub fn page(prefill: &Prefill, loopback_host: bool) -> Response {
    let headers = prefill
        .0
        .get()
        .filter(|_| loopback_host)
        .map(|h| format!(" data-headers=\"{}\"", attribute(h)))
        .unwrap_or_default();
    let base = format!("/graphiql/{VERSION}");
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Bellwether GraphiQL</title>\n<link rel=\"stylesheet\" href=\"{base}/graphiql.min.css\">\n\
         <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>\n</head>\n<body>\n\
         <div id=\"graphiql\" data-endpoint=\"/graphql\" data-query=\"{query}\"{headers}>Loading GraphiQL...</div>\n\
         <script src=\"{base}/react.production.min.js\"></script>\n\
         <script src=\"{base}/react-dom.production.min.js\"></script>\n\
         <script src=\"{base}/graphiql.min.js\"></script>\n\
         <script src=\"{base}/start.js\"></script>\n</body>\n</html>\n",
        query = attribute(FIRST_QUERY),
    );
    let mut r = Html(body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().find(|(n, _, _)| *n == name).filter(|_| version == VERSION);
    match found {
        Some((_, media, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(media)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The asset routes, `/graphiql/<version>/<file>`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/graphiql/{version}/{name}", get(asset))
}
