//! Metrics and logs that a benchmark turns on and off while it runs, to measure what watching
//! costs in one process: a Prometheus recorder that records only while on, and a JSON log
//! subscriber whose filter moves between `info` and `off` (written to a sink, so no disk is
//! measured). Spans are made either way, as with the default `warn` filter.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, reload};

/// The switch: [`Observing::set`] turns metrics and logs on or off.
pub struct Observing {
    on: Arc<AtomicBool>,
    filter: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
    /// The recorder's handle, to render what was recorded.
    pub handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl Observing {
    /// Installs the process's recorder and log subscriber, both off. Once per process.
    pub fn install() -> Observing {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let on = Arc::new(AtomicBool::new(false));
        metrics::set_global_recorder(Switched {
            on: on.clone(),
            inner: recorder,
        })
        .expect("no recorder yet");
        let (filter, reload) = reload::Layer::new(EnvFilter::new("off"));
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(std::io::sink),
            )
            .init();
        Observing {
            on,
            filter: reload,
            handle,
        }
    }

    /// Metrics recorded or not, and info logs written or not.
    pub fn set(&self, metrics: bool, logs: bool) {
        self.on.store(metrics, Ordering::Relaxed);
        let filter = EnvFilter::new(if logs { "info" } else { "off" });
        self.filter
            .reload(filter)
            .expect("the subscriber is installed");
    }
}

/// A recorder passing measurements to Prometheus' only while on.
struct Switched {
    on: Arc<AtomicBool>,
    inner: PrometheusRecorder,
}

impl Recorder for Switched {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if self.on.load(Ordering::Relaxed) {
            self.inner.register_counter(key, metadata)
        } else {
            Counter::noop()
        }
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if self.on.load(Ordering::Relaxed) {
            self.inner.register_gauge(key, metadata)
        } else {
            Gauge::noop()
        }
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        if self.on.load(Ordering::Relaxed) {
            self.inner.register_histogram(key, metadata)
        } else {
            Histogram::noop()
        }
    }
}
