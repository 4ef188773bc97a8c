//! What the client measures, through the `metrics` facade (nothing is kept unless the program
//! installs a recorder): every HTTP request by operation and status class with its latency,
//! and the waits ConnectWise's 429s impose.

use std::time::Duration;

use metrics::Label;

use super::Call;

/// Requests sent to ConnectWise, by `operation` (`GET /service/tickets/{id}`) and `status`
/// class (`2xx` … `5xx`, or `none` when no answer came).
pub const REQUESTS: &str = "connectwise_requests_total";
/// Each request's time from sending to its answer read, by `operation`.
pub const REQUEST_SECONDS: &str = "connectwise_request_duration_seconds";
/// 429 answers.
pub const RATE_LIMITED: &str = "connectwise_rate_limited_total";
/// Each wait a 429 imposed on the connection (its `Retry-After`, or the backoff's).
pub const THROTTLE_WAIT_SECONDS: &str = "connectwise_throttle_wait_seconds";

/// A request's path as its operation: numeric segments read `{id}`, so a series stands for
/// an endpoint and not for a record.
pub(crate) fn template(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The status class of an answer, or `none`.
fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        Some(_) => "other",
        None => "none",
    }
}

/// Records one request of `call`: answered with `status` (or not at all) after `took`.
pub(crate) fn request(call: &Call, status: Option<u16>, took: Duration, labels: &[Label]) {
    let operation = format!("{} {}", call.method, template(&call.path));
    let mut timed: Vec<Label> = labels.to_vec();
    timed.push(Label::new("operation", operation));
    let mut counted = timed.clone();
    counted.push(Label::new("status", status_class(status)));
    metrics::counter!(REQUESTS, counted).increment(1);
    metrics::histogram!(REQUEST_SECONDS, timed).record(took.as_secs_f64());
    if status == Some(429) {
        metrics::counter!(RATE_LIMITED, labels.to_vec()).increment(1);
    }
}

/// Records a wait a 429 imposed.
pub(crate) fn throttled(wait: Duration, labels: &[Label]) {
    metrics::histogram!(THROTTLE_WAIT_SECONDS, labels.to_vec()).record(wait.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_a_path_read_as_a_template() {
        assert_eq!(
            template("service/tickets/123/notes"),
            "service/tickets/{id}/notes"
        );
        assert_eq!(template("company/companies"), "company/companies");
        assert_eq!(
            template("finance/agreements/7/additions/0x1"),
            "finance/agreements/{id}/additions/0x1"
        );
        assert_eq!(template(""), "");
    }

    #[test]
    fn statuses_read_as_classes() {
        assert_eq!(status_class(Some(201)), "2xx");
        assert_eq!(status_class(Some(429)), "4xx");
        assert_eq!(status_class(Some(503)), "5xx");
        assert_eq!(status_class(None), "none");
    }
}
