//! Logging set-up: human-readable text or JSON lines, filtered by `RUST_LOG`; and, when an
//! OTLP endpoint is configured, the same spans exported as OpenTelemetry traces.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Keeps the trace exporter alive; dropping it (or [`Telemetry::shutdown`]) sends what is
/// buffered.
#[derive(Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans buffered so far.
    pub fn flush(&self) {
        if let Some(p) = &self.traces
            && let Err(e) = p.force_flush()
        {
            tracing::warn!(error = %e, "flushing traces failed");
        }
    }

    /// Sends what is buffered and stops exporting.
    pub fn shutdown(&mut self) {
        if let Some(p) = self.traces.take()
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "stopping the trace exporter failed");
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Builds the OTLP/HTTP exporter for `endpoint` (the full traces URL, e.g.
/// `http://collector:4318/v1/traces`). Its blocking HTTP client is made on a thread of its
/// own: made (or dropped) on an async runtime's thread it would panic.
fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = endpoint.to_owned();
    let exporter = std::thread::spawn(move || {
        opentelemetry_otlp::SpanExporter::builder().with_http().with_endpoint(endpoint).build()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("building the trace exporter panicked"))??;
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name("bellwether")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// Installs the global subscriber once; later calls are no-ops (tests start many servers).
/// With `otlp_endpoint`, spans (each request's, with its id, operation and organisation) are
/// also exported as traces.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let traces = otlp_endpoint.map(tracer_provider).transpose()?;
    let otel = traces.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("bellwether")));
    let text = (format == LogFormat::Text).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let json =
        (format == LogFormat::Json).then(|| tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr));
    let _ = tracing_subscriber::registry().with(filter).with(text).with(json).with(otel).try_init();
    Ok(Telemetry { traces })
}
