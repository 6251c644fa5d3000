//! OpenTelemetry trace export: with an OTLP endpoint configured, each request's span (its id,
//! GraphQL operation and organisation) reaches the collector over OTLP/HTTP.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use bellwether_api::config::LogFormat;
use bellwether_tests::{Backend, TestServer};
use serde_json::json;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_to_an_otlp_collector() {
    // A stand-in collector: takes OTLP/HTTP export requests and keeps their bodies.
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let collector = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let telemetry =
        bellwether_api::telemetry::init(LogFormat::Text, Some(&format!("http://{addr}/v1/traces"))).expect("exporter");
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite is always available");
    let t = s.tenant("traces").await;
    let res = s
        .client
        .post(&s.url)
        .bearer_auth(&t.admin_token)
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "query": "query TracedTour { viewer { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // Export what is buffered now (the exporter's client blocks: off the async threads).
    let telemetry = tokio::task::spawn_blocking(move || {
        telemetry.flush();
        telemetry
    })
    .await
    .unwrap();

    let mut seen = Vec::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(body) = rx.recv().await {
            seen.extend_from_slice(&body);
            let has = |needle: &[u8]| seen.windows(needle.len()).any(|w| w == needle);
            if has(b"trace-me-42") && has(b"TracedTour") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the request's span never reached the collector ({} bytes seen)", seen.len());
    let has = |needle: &[u8]| seen.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"bellwether"), "no service name in the export");
    s.stop().await;
    tokio::task::spawn_blocking(move || drop(telemetry)).await.unwrap();
}
