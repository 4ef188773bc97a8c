//! Logs on standard error (text or JSON, filtered by `CWBRIDGE_LOG`) and, built with the
//! `otel` feature, the spans exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` says where.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::LogFormat;

/// What must outlive the program's work: the span exporter, flushed when dropped.
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: the last spans were not exported: {e}");
        }
    }
}

/// Installs the process's subscriber: log lines as `format` says, at the level
/// `CWBRIDGE_LOG` names (`warn` when unset), and the span exporter when there is one.
pub fn init(format: LogFormat) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_from_env("CWBRIDGE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    let registry = tracing_subscriber::registry().with(lines.with_filter(filter));
    #[cfg(feature = "otel")]
    {
        let provider = otel::provider()?;
        let layer = provider.as_ref().map(otel::layer);
        registry.with(layer).init();
        Ok(Telemetry { provider })
    }
    #[cfg(not(feature = "otel"))]
    {
        registry.init();
        Ok(Telemetry {})
    }
}

/// OpenTelemetry export (the `otel` feature), configured as the OpenTelemetry crates
/// document: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it
/// on; `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT` and `OTEL_SERVICE_NAME` are read too.
#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::{EnvFilter, Layer};

    /// The variables that name a collector.
    const ENDPOINTS: [&str; 2] = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ];

    /// A provider batching spans to the collector over OTLP/HTTP (protobuf), when one is
    /// named.
    pub fn provider() -> Result<Option<SdkTracerProvider>, String> {
        if !ENDPOINTS.iter().any(|v| std::env::var_os(v).is_some()) {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| format!("cannot export spans over OTLP: {e}"))?;
        let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "cwbridge".into());
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .build();
        Ok(Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build(),
        ))
    }

    /// The layer turning spans at info and above into OpenTelemetry spans, whatever level
    /// the log lines are filtered at.
    pub fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("cwbridge"))
            .with_filter(EnvFilter::new("info"))
    }
}
