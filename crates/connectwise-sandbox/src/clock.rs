//! Timestamps as ConnectWise writes them: RFC 3339 in UTC with a `Z` and whole seconds.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// Now, formatted as ConnectWise formats `_info/lastUpdated` (`2026-01-31T12:00:00Z`).
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Formats a moment the way ConnectWise does.
pub fn format(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&fmt).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp or a bare date (midnight UTC) and formats it as ConnectWise
/// does; `None` when the text is neither.
pub fn normalize_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(format(t));
    }
    let date_fmt = format_description!("[year]-[month]-[day]");
    let date = Date::parse(s.get(..10)?, &date_fmt).ok()?;
    // `2026-01-31T10:00:00` without an offset is read as UTC, as ConnectWise does.
    let rest = &s[10..];
    let t = if rest.is_empty() {
        date.midnight().assume_utc()
    } else {
        let with_z = format!("{s}Z");
        OffsetDateTime::parse(&with_z, &Rfc3339).ok()?
    };
    Some(format(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_normalized_to_utc_seconds() {
        assert_eq!(
            normalize_datetime("2026-01-31T12:00:00.123+02:00").as_deref(),
            Some("2026-01-31T10:00:00Z")
        );
        assert_eq!(
            normalize_datetime("2026-01-31").as_deref(),
            Some("2026-01-31T00:00:00Z")
        );
        assert_eq!(
            normalize_datetime("2026-01-31T08:30:00").as_deref(),
            Some("2026-01-31T08:30:00Z")
        );
        assert_eq!(normalize_datetime("yesterday"), None);
    }
}
