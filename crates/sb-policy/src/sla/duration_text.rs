//! Durations as short text (`15m`, `2h`, `1h30m`, `0s`) for config files and stored JSON.
//!
//! chrono's `TimeDelta` has no serde form of its own, and a count of seconds in a config file
//! is easy to misread. Only hours, minutes and seconds are accepted: a "day" would be ambiguous
//! next to business calendars (24 hours, or one business day of 8?).

use crate::{Error, Result};
use chrono::TimeDelta;

/// Parses `2h`, `15m`, `1h30m`, `1h 30m`, `90s` or `0`; units must come in the order h, m, s.
pub fn parse_duration(text: &str) -> Result<TimeDelta> {
    let invalid = |why: &'static str| Error::InvalidDuration { text: text.to_string(), why };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }
    if trimmed == "0" {
        return Ok(TimeDelta::zero());
    }
    let mut total_seconds: i64 = 0;
    // Index into UNITS of the last unit seen, so `30m1h` or `1h1h` are refused.
    let mut last_unit_idx: Option<usize> = None;
    const UNITS: [(char, i64); 3] = [('h', 3600), ('m', 60), ('s', 1)];
    let mut rest = trimmed;
    while !rest.is_empty() {
        let n_digits = rest.find(|character: char| !character.is_ascii_digit()).unwrap_or(rest.len());
        if n_digits == 0 {
            return Err(invalid("expected a number followed by h, m or s"));
        }
        let amount: i64 = rest[..n_digits].parse().map_err(|_| invalid("number too large"))?;
        let unit = rest[n_digits..].chars().next().ok_or_else(|| invalid("a number needs a unit: h, m or s"))?;
        let unit_idx = UNITS.iter().position(|(unit_char, _)| *unit_char == unit).ok_or_else(|| invalid("unknown unit: use h, m or s"))?;
        if last_unit_idx.is_some_and(|last_idx| unit_idx <= last_idx) {
            return Err(invalid("units must come once each, in the order h, m, s"));
        }
        last_unit_idx = Some(unit_idx);
        let seconds = amount.checked_mul(UNITS[unit_idx].1).ok_or_else(|| invalid("number too large"))?;
        total_seconds = total_seconds.checked_add(seconds).ok_or_else(|| invalid("number too large"))?;
        rest = rest[n_digits + unit.len_utf8()..].trim_start();
    }
    TimeDelta::try_seconds(total_seconds).ok_or_else(|| invalid("number too large"))
}

/// Formats a duration the way [`parse_duration`] reads it: `2h15m`, `45s`, `0s`; sub-second
/// parts are dropped, negative durations get a leading `-`.
pub fn format_duration(duration: TimeDelta) -> String {
    let total_seconds = duration.num_seconds();
    if total_seconds == 0 {
        return "0s".to_string();
    }
    let sign = if total_seconds < 0 { "-" } else { "" };
    let absolute_seconds = total_seconds.unsigned_abs();
    let (hours, minutes, seconds) = (absolute_seconds / 3600, absolute_seconds / 60 % 60, absolute_seconds % 60);
    let mut text = sign.to_string();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 {
        text.push_str(&format!("{seconds}s"));
    }
    text
}

/// `#[serde(with = "duration_text::serde_duration")]` for `TimeDelta` fields.
pub mod serde_duration {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &TimeDelta, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeDelta, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(text: &str, expect: Expect) {
        let rendered = match parse_duration(text) {
            Ok(duration) => format!("{} seconds, formatted {}", duration.num_seconds(), format_duration(duration)),
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn durations_parse_and_format_back() {
        check("15m", expect!["900 seconds, formatted 15m"]);
        check("2h", expect!["7200 seconds, formatted 2h"]);
        check("1h30m", expect!["5400 seconds, formatted 1h30m"]);
        check(" 1h 30m 5s ", expect!["5405 seconds, formatted 1h30m5s"]);
        check("90s", expect!["90 seconds, formatted 1m30s"]);
        check("0", expect!["0 seconds, formatted 0s"]);
        check("0s", expect!["0 seconds, formatted 0s"]);
        check("72h", expect!["259200 seconds, formatted 72h"]);
    }

    #[test]
    fn bad_durations_say_why() {
        check("", expect!["invalid duration ``: empty"]);
        check("15", expect!["invalid duration `15`: a number needs a unit: h, m or s"]);
        check("3d", expect!["invalid duration `3d`: unknown unit: use h, m or s"]);
        check("30m1h", expect!["invalid duration `30m1h`: units must come once each, in the order h, m, s"]);
        check("-5m", expect!["invalid duration `-5m`: expected a number followed by h, m or s"]);
        check("99999999999999999999h", expect!["invalid duration `99999999999999999999h`: number too large"]);
    }

    #[test]
    fn negative_durations_format_with_a_sign() {
        assert_eq!(format_duration(TimeDelta::minutes(-75)), "-1h15m");
    }
}
