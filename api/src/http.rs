//! GraphQL over HTTP (the GraphQL-over-HTTP specification), health probes and the middleware
//! stack: authentication, body limit, timeout, panic containment, tracing.

// Early returns carry a complete HTTP response as their error; they are rare and short-lived.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bellwether_domain::{Db, db};
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::{AuthError, Authenticator};
use crate::config::Limits;
use crate::graphql::document::{self, Refusal};
use crate::graphql::support::codes;
use crate::graphql::{AppSchema, RequestContext};
use crate::rate_limit::Verdict;

/// Shared, read-only state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub limits: Limits,
    /// Introspection off; without a token nothing is answered.
    pub production: bool,
    /// Headers the GraphiQL page starts with.
    pub graphiql: crate::graphiql::Prefill,
    /// Per-user request and cost budgets of this replica.
    pub rate: Arc<crate::rate_limit::RateLimits>,
}

/// The media type of GraphQL responses (GraphQL-over-HTTP).
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// Every route, without the middleware stack (see [`with_layers`]).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::observability::metrics))
        // Browsers ask for it on every page; nothing to show, nothing to log as missing.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .merge(crate::graphiql::routes())
        .with_state(state)
}

/// Wraps routes in the middleware stack: body limit, timeout, panic containment, tracing.
/// Applied last, so it covers every route, including any merged in by tests.
pub fn with_layers(routes: Router, limits: &Limits) -> Router {
    routes
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked; the server carries on");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, JSON, "internal error", codes::INTERNAL)
        }))
        .layer(axum::middleware::from_fn(crate::observability::request_scope))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// One GraphQL error as a complete response body.
fn error_response(status: StatusCode, media: &'static str, message: &str, code: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(media))], body.to_string()).into_response()
}

/// Chooses the response media type from `Accept`: graphql-response+json when asked for
/// explicitly, application/json otherwise (also for `*/*` and a missing header).
fn response_media(headers: &HeaderMap) -> Result<&'static str, Response> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(JSON);
    };
    let types: Vec<String> =
        accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).collect();
    if types.iter().any(|t| t == "application/graphql-response+json") {
        Ok(GRAPHQL_RESPONSE)
    } else if types.iter().any(|t| t == "application/json" || t == "*/*" || t == "application/*" || t.is_empty()) {
        Ok(JSON)
    } else {
        Err(error_response(
            StatusCode::NOT_ACCEPTABLE,
            JSON,
            "accept application/graphql-response+json or application/json",
            codes::BAD_USER_INPUT,
        ))
    }
}

/// A GraphQL request as read from HTTP, before execution.
struct Incoming {
    query: String,
    operation_name: Option<String>,
    variables: Option<async_graphql::Variables>,
    /// The variables' size as sent (JSON bytes): validation clones them at every reference.
    variables_bytes: usize,
    extensions: Option<Value>,
}

/// A POST body, read in one pass. `variables` is kept raw and then read straight into
/// async-graphql's own type: bulk mutations carry thousands of items, and building an
/// intermediate JSON tree for them costs as much as parsing them.
#[derive(serde::Deserialize)]
struct Body {
    query: Option<Value>,
    #[serde(rename = "operationName")]
    operation_name: Option<Value>,
    variables: Option<Box<serde_json::value::RawValue>>,
    extensions: Option<Value>,
}

impl Body {
    fn into_incoming(self, media: &'static str) -> Result<Incoming, Response> {
        let variables = match self.variables.as_deref().map(|raw| raw.get().trim_start()) {
            None => None,
            Some(raw) if raw.starts_with("null") => None,
            Some(raw) if raw.starts_with('{') => match serde_json::from_str::<async_graphql::Variables>(raw) {
                Ok(v) => Some(v),
                Err(_) => return Err(bad_request(media, "`variables` must be an object or null")),
            },
            Some(_) => return Err(bad_request(media, "`variables` must be an object or null")),
        };
        let mut params = serde_json::Map::new();
        for (key, value) in
            [("query", self.query), ("operationName", self.operation_name), ("extensions", self.extensions)]
        {
            if let Some(v) = value {
                params.insert(key.to_owned(), v);
            }
        }
        let mut incoming = read_params(params, media)?;
        incoming.variables = variables;
        incoming.variables_bytes = self.variables.as_ref().map_or(0, |raw| raw.get().len());
        Ok(incoming)
    }
}

fn bad_request(media: &'static str, message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, media, message, codes::BAD_USER_INPUT)
}

/// Reads the standard parameters from a JSON object, rejecting wrong types.
fn read_params(mut params: serde_json::Map<String, Value>, media: &'static str) -> Result<Incoming, Response> {
    let query = match params.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err(bad_request(media, "`query` must be a string")),
        None => return Err(bad_request(media, "`query` is required")),
    };
    let operation_name = match params.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(bad_request(media, "`operationName` must be a string or null"));
        }
    };
    let mut object = |name: &str| match params.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(_) => Err(bad_request(media, &format!("`{name}` must be an object or null"))),
    };
    let variables = object("variables")?;
    let variables_bytes = variables.as_ref().map_or(0, |v| v.to_string().len());
    let variables = variables.map(async_graphql::Variables::from_json);
    let extensions = object("extensions")?;
    Ok(Incoming { query, operation_name, variables, variables_bytes, extensions })
}

async fn graphql_post(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let media = match response_media(&headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let max = state.limits.max_body_bytes;
            let error = coded_error(
                format!("the request body is larger than {max} bytes; send large data in several requests"),
                codes::BAD_USER_INPUT,
                Some(("bodyBytes", max as u64)),
                None,
            );
            return request_error(StatusCode::PAYLOAD_TOO_LARGE, media, error);
        }
        Err(rejection) => return bad_request(media, &format!("the request body could not be read: {rejection}")),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let charset_ok = parts.all(|p| {
        p.split_once('=').is_none_or(|(k, v)| {
            !k.trim().eq_ignore_ascii_case("charset") || v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    });
    if essence != "application/json" || !charset_ok {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send the request as `Content-Type: application/json` (UTF-8)",
            codes::BAD_USER_INPUT,
        );
    }
    let incoming = match serde_json::from_slice::<Body>(&body) {
        Ok(b) => match b.into_incoming(media) {
            Ok(i) => i,
            Err(r) => return r,
        },
        // Not an object with the standard fields: say precisely what it is instead.
        Err(_) => {
            return match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Array(_)) => {
                    bad_request(media, "batched requests are not supported; send one operation per request")
                }
                Ok(Value::Object(_)) => {
                    bad_request(media, "`query` must be a string; `variables` and `extensions` objects or null")
                }
                Ok(_) => bad_request(media, "the request body must be a JSON object"),
                Err(_) => bad_request(media, "the request body is not valid JSON"),
            };
        }
    };
    execute(state, &headers, media, incoming, Method::POST, peer.map(|p| p.0.0.ip())).await
}

async fn graphql_get(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: HashMap<String, String> = raw.as_deref().map(url_params).unwrap_or_default();
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html && !params.contains_key("query") {
        // The demo token only goes to pages asked for by this machine's own name: a page on
        // another site that rebinds its name to 127.0.0.1 must not read it.
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let loopback = host
            .rsplit_once(':')
            .map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
        let local = matches!(loopback, "127.0.0.1" | "localhost" | "[::1]");
        return crate::graphiql::page(&state.graphiql, local);
    }
    let media = match response_media(&headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut object = serde_json::Map::new();
    for (key, value) in params {
        let v = match key.as_str() {
            "variables" | "extensions" => match serde_json::from_str::<Value>(&value) {
                Ok(v) => v,
                Err(_) => return bad_request(media, &format!("`{key}` must be URL-encoded JSON")),
            },
            _ => Value::String(value),
        };
        object.insert(key, v);
    }
    let incoming = match read_params(object, media) {
        Ok(i) => i,
        Err(r) => return r,
    };
    execute(state, &headers, media, incoming, Method::GET, peer.map(|p| p.0.0.ip())).await
}

/// Decodes `application/x-www-form-urlencoded` pairs.
fn url_params(q: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn unauthorized(media: &'static str, e: &AuthError) -> Response {
    let mut r = error_response(StatusCode::UNAUTHORIZED, media, &e.to_string(), codes::UNAUTHENTICATED);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// A GraphQL error with `extensions.code` and, for a limit, its name and value.
fn coded_error(
    message: impl Into<String>,
    code: &str,
    limit: Option<(&'static str, u64)>,
    pos: Option<async_graphql::Pos>,
) -> async_graphql::ServerError {
    let mut e = async_graphql::ServerError::new(message, pos);
    let ext = e.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    if let Some((name, max)) = limit {
        ext.set("limit", name);
        ext.set("max", max);
    }
    e
}

/// The `RateLimit-*` headers of the request budget.
fn budget_headers(r: &mut Response, limit: u32, remaining: u32, reset: u64) {
    let h = r.headers_mut();
    h.insert("ratelimit-limit", HeaderValue::from(limit));
    h.insert("ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("ratelimit-reset", HeaderValue::from(reset));
}

/// A request error (nothing executed) as a complete response.
fn request_error(status: StatusCode, media: &'static str, error: async_graphql::ServerError) -> Response {
    crate::observability::count_errors(std::slice::from_ref(&error));
    let body = ResponseBody { data: None, errors: std::slice::from_ref(&error), extensions: None };
    json_response(status, media, &body)
}

/// A refused document as a GraphQL error naming the limit.
fn refusal_error(refusal: &Refusal) -> async_graphql::ServerError {
    metrics::counter!("bellwether_graphql_refusals_total", "limit" => refusal.limit).increment(1);
    let mut e = coded_error(
        refusal.message.clone(),
        codes::GRAPHQL_VALIDATION_FAILED,
        Some((refusal.limit, refusal.max)),
        None,
    );
    if let (Some(actual), Some(ext)) = (refusal.actual, e.extensions.as_mut()) {
        ext.set("actual", actual);
    }
    e
}

/// Documents up to this size are prepared on the request's own thread (microseconds).
const PREPARE_INLINE_BYTES: usize = 8 * 1024;

/// Scans, parses and measures a document: the work before async-graphql sees it, bounded by
/// the limits and linear in the text.
fn prepare(
    query: &str,
    operation_name: Option<&str>,
    limits: &document::DocumentLimits,
) -> Result<(ExecutableDocument, document::Analysis), async_graphql::ServerError> {
    document::scan(query, limits).map_err(|r| refusal_error(&r))?;
    let doc = async_graphql::parser::parse_query(query)
        .map_err(|e| coded_error(e.to_string(), codes::GRAPHQL_PARSE_FAILED, None, e.positions().next()))?;
    let analysis = document::analyse(&doc, operation_name, limits).map_err(|r| refusal_error(&r))?;
    Ok((doc, analysis))
}

/// The response body, serialised as it is: `data` keeps the order of the selection set.
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions: Option<&'a std::collections::BTreeMap<String, async_graphql::Value>>,
}

fn json_response(status: StatusCode, media: &'static str, body: &ResponseBody<'_>) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, HeaderValue::from_static(media))], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, media, "internal error", codes::INTERNAL)
        }
    }
}

/// Gives every error a code and drops repeats. Errors that async-graphql raises without one are
/// classified by where they arise: before execution (no path) the document or its variables
/// were refused, during execution an argument failed to parse.
fn finish_errors(errors: &mut Vec<async_graphql::ServerError>) {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert((e.message.clone(), e.locations.clone(), format!("{:?}", e.path))));
    for e in errors.iter_mut() {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_some() {
            continue;
        }
        let code = if !e.path.is_empty() {
            // During execution async-graphql raises uncoded errors only for arguments it could
            // not read; anything else uncoded is a resolver that forgot to map its error.
            if e.message.starts_with("Failed to parse") || e.message.starts_with("Invalid value for argument") {
                codes::BAD_USER_INPUT
            } else {
                tracing::error!(message = %e.message, path = ?e.path, "a resolver error without a code");
                e.message = "internal error".into();
                codes::INTERNAL
            }
        } else if e.message.starts_with("Unknown operation named") || e.message.starts_with("Operation name required") {
            codes::OPERATION_RESOLUTION_FAILURE
        } else {
            codes::GRAPHQL_VALIDATION_FAILED
        };
        ext.set("code", code);
        // async-graphql's own limit, named like the document limits.
        if e.message == "Query is too complex." {
            ext.set("limit", "complexity");
        }
    }
}

/// Executes a request; the response carries what the request scope logs and counts.
async fn execute(
    state: AppState,
    headers: &HeaderMap,
    media: &'static str,
    incoming: Incoming,
    method: Method,
    peer: Option<std::net::IpAddr>,
) -> Response {
    let mut handled = crate::observability::Handled::default();
    let mut response = execute_inner(state, headers, media, incoming, method, peer, &mut handled).await;
    response.extensions_mut().insert(handled);
    response
}

async fn execute_inner(
    state: AppState,
    headers: &HeaderMap,
    media: &'static str,
    incoming: Incoming,
    method: Method,
    peer: Option<std::net::IpAddr>,
    handled: &mut crate::observability::Handled,
) -> Response {
    let token = bearer(headers);
    if token.is_none() && state.production {
        return unauthorized(media, &AuthError::Missing);
    }
    let request_error_status = if media == GRAPHQL_RESPONSE { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    // A token is checked before any work on the document: only tokenless introspection is
    // prepared for an unknown caller.
    let actor = match token {
        None => None,
        Some(token) => match state.auth.authenticate(&state.db, token).await {
            Ok((actor, _user)) => Some(actor),
            Err(AuthError::Internal) => {
                return error_response(StatusCode::SERVICE_UNAVAILABLE, media, "internal error", codes::INTERNAL);
            }
            Err(e) => return unauthorized(media, &e),
        },
    };
    // The document's cost is known before anything expands it: tokens and nesting on the text,
    // then the expanded size, depth, aliases, values and variable uses on the parsed document,
    // each fragment measured once (see `graphql::document`). Only then does async-graphql
    // validate it.
    let limits = state.limits.document();
    let Incoming { query, operation_name, variables, variables_bytes, extensions } = incoming;
    // Large documents are read on the blocking pool: at the token limit parsing takes
    // milliseconds, which would otherwise hold one of the few async worker threads.
    let (query, prepared) = if query.len() > PREPARE_INLINE_BYTES {
        let name = operation_name.clone();
        match tokio::task::spawn_blocking(move || {
            let prepared = prepare(&query, name.as_deref(), &limits);
            (query, prepared)
        })
        .await
        {
            Ok(done) => done,
            Err(_) => {
                return error_response(StatusCode::INTERNAL_SERVER_ERROR, media, "internal error", codes::INTERNAL);
            }
        }
    } else {
        let prepared = prepare(&query, operation_name.as_deref(), &limits);
        (query, prepared)
    };
    let (doc, analysis) = match prepared {
        Ok(p) => p,
        Err(error) => return request_error(request_error_status, media, error),
    };
    // Without a token only introspection is answered (not in production, where it is off): the
    // schema is public, and GraphiQL's docs, code generators and schema checkers read it before
    // anyone has pasted a token.
    if actor.is_none() && !analysis.introspection_only {
        return unauthorized(media, &AuthError::Missing);
    }
    if let Err(refusal) = analysis.check_variables(variables_bytes) {
        return request_error(request_error_status, media, refusal_error(&refusal));
    }
    // Operation names become metrics labels only for callers that got this far.
    handled.operation =
        crate::observability::operation_label(analysis.operation_name.as_deref().or(operation_name.as_deref()));
    let incoming = Incoming { query, operation_name, variables, variables_bytes, extensions };
    if method == Method::GET && analysis.operation_type == Some(OperationType::Mutation) {
        let mut r = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations must be sent with POST",
            codes::BAD_USER_INPUT,
        );
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }

    let mut request = async_graphql::Request::new(incoming.query);
    request.set_parsed_query(doc);
    if let Some(name) = incoming.operation_name {
        request = request.operation_name(name);
    }
    if let Some(v) = incoming.variables {
        request = request.variables(v);
    }
    if let Some(Value::Object(ext)) = incoming.extensions {
        for (k, v) in ext {
            if let Ok(v) = async_graphql::Value::from_json(v) {
                request.extensions.insert(k, v);
            }
        }
    }
    let mut budget = None;
    let caller = match (&actor, peer) {
        (Some(actor), _) => Some(crate::rate_limit::Caller::User(actor.user)),
        (None, Some(ip)) => Some(crate::rate_limit::Caller::Address(ip)),
        (None, None) => None,
    };
    if let Some(caller) = caller
        && state.rate.enabled()
    {
        match state.rate.check(caller, analysis.selections, std::time::Instant::now()) {
            Verdict::Allowed { limit, remaining, reset } => budget = Some((limit, remaining, reset)),
            Verdict::Limited { limit, retry_after } => {
                metrics::counter!("bellwether_rate_limited_total").increment(1);
                let mut error = coded_error(
                    format!("rate limit reached: try again in {retry_after} s"),
                    codes::RATE_LIMITED,
                    None,
                    None,
                );
                if let Some(ext) = error.extensions.as_mut() {
                    ext.set("retryAfter", retry_after);
                }
                let mut r = request_error(StatusCode::TOO_MANY_REQUESTS, media, error);
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                budget_headers(&mut r, limit, 0, retry_after);
                return r;
            }
        }
    }
    if let Some(actor) = actor {
        handled.organisation = Some(actor.organisation.to_string());
        request = request.data(RequestContext::new(actor, state.db.clone()));
    }
    let mut response = state.schema.execute(request).await;
    finish_errors(&mut response.errors);
    crate::observability::count_errors(&response.errors);
    if let async_graphql::Value::Object(root) = &mut response.data {
        let mut rest = std::mem::take(root);
        for key in &analysis.root_keys {
            if let Some((k, v)) = rest.shift_remove_entry(key.as_str()) {
                root.insert(k, v);
            }
        }
        root.extend(rest);
    }

    // A response without execution (validation or variable errors) has null data and errors
    // without a path: a request error.
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let body = ResponseBody {
        data: (!request_failed).then_some(&response.data),
        errors: &response.errors,
        extensions: (!response.extensions.is_empty()).then_some(&response.extensions),
    };
    let status = if request_failed { request_error_status } else { StatusCode::OK };
    let mut r = json_response(status, media, &body);
    if let Some((limit, remaining, reset)) = budget.filter(|(limit, _, _)| *limit > 0) {
        budget_headers(&mut r, limit, remaining, reset);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let p = url_params("query=%7B%20__typename%20%7D&operationName=&x=a+b&bad=%zz");
        assert_eq!(p["query"], "{ __typename }");
        assert_eq!(p["operationName"], "");
        assert_eq!(p["x"], "a b");
        assert_eq!(p["bad"], "%zz");
    }
}
