//! Report windows: a date range read in an IANA time zone and cut into local periods (hours,
//! days, ISO weeks, months), correct across daylight-saving changes.
//!
//! The periods are computed here, in Rust, with the zone database (chrono-tz), as the UTC
//! instants at which each local period starts. The store then numbers every row's period in
//! SQL with a balanced `CASE` tree over those instants ([`ReportWindow::period_sql`]): the same
//! integer comparisons on both backends, about log2(periods) of them per row, and no time-zone
//! support needed in either database (SQLite has none). A local day can therefore be 23 or 25
//! hours long, and the repeated hour of an autumn night is two periods with two offsets.
//!
//! Hidden contracts:
//! - The first period starts at `from` even when `from` is inside a local period; the last
//!   ends at `to` (exclusive). Labels are the actual start instants, in local time with offset.
//! - Local hours are found on a 15-minute UTC grid: every zone offset in use since 1980 is a
//!   multiple of 15 minutes (Nepal +05:45, Chatham +12:45 included).
//! - A local midnight that does not exist (a DST jump at 00:00) starts the day at the first
//!   local time that does.

use chrono::{DateTime, Datelike, Days, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Most periods one report may have (about six weeks of hours, or 2.7 years of days): bounds
/// the size of the SQL and of the answer.
pub const MAX_PERIODS: usize = 1_000;

/// Days a window without `from` covers, ending now (today and the six days before).
pub const DEFAULT_DAYS: u64 = 7;

/// How a report's rows are cut in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Hour,
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Hour, Period::Day, Period::Week, Period::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(label: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|period| period.as_str() == label)
    }
}

/// A report parameter that cannot be used, with a stable machine-readable code (the HTTP edge
/// answers 400 with it; the CLI prints the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// `invalid_date`, `invalid_range`, `invalid_time_zone`, `invalid_period`,
    /// `too_many_periods`, `invalid_dimension`, `invalid_parameter`.
    pub code: &'static str,
    pub message: String,
}

impl ParamError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ParamError {
        ParamError { code, message: message.into() }
    }
}

/// The window parameters as a caller sends them (query string or CLI flags); all optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowParams<'text> {
    /// An instant with offset (`2026-03-01T08:00:00Z`), a local date-time
    /// (`2026-03-01T08:00`) or a local date (`2026-03-01`, its start).
    pub from: Option<&'text str>,
    /// As `from`; a date means the end of that day, so `from=2026-03-01&to=2026-03-31` is the
    /// whole of March. Exclusive otherwise.
    pub to: Option<&'text str>,
    /// IANA zone name (`Europe/Berlin`); UTC when absent.
    pub time_zone: Option<&'text str>,
    /// `hour`, `day`, `week` or `month`; one period for the whole window when absent.
    pub period: Option<&'text str>,
}

/// A validated window: `[from, to)` in `time_zone`, cut into periods.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: Tz,
    pub period: Option<Period>,
    /// UTC start of every period, the first one `from`, increasing; period `k` ends where
    /// `k + 1` starts, the last one at `to`.
    starts: Vec<DateTime<Utc>>,
}

impl ReportWindow {
    /// Parses caller text; missing `to` is `now`, missing `from` the local start of the day
    /// [`DEFAULT_DAYS`] − 1 days before `to`'s.
    pub fn parse(params: &WindowParams<'_>, now: DateTime<Utc>) -> Result<ReportWindow, ParamError> {
        let time_zone = parse_time_zone(params.time_zone)?;
        let period = match params.period.map(str::trim).filter(|text| !text.is_empty()) {
            None => None,
            Some(label) => Some(Period::parse(label).ok_or_else(|| ParamError::new("invalid_period", format!("unknown period `{label}`: use hour, day, week or month")))?),
        };
        let to = match params.to {
            None => now,
            Some(text) => parse_instant("to", text, time_zone, Bound::End)?,
        };
        let from = match params.from {
            None => start_of_local_day(time_zone, to.with_timezone(&time_zone).date_naive() - Days::new(DEFAULT_DAYS - 1)),
            Some(text) => parse_instant("from", text, time_zone, Bound::Start)?,
        };
        ReportWindow::new(from, to, time_zone, period)
    }

    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, time_zone: Tz, period: Option<Period>) -> Result<ReportWindow, ParamError> {
        if from >= to {
            return Err(ParamError::new("invalid_range", format!("`from` ({}) must be before `to` ({})", from.to_rfc3339(), to.to_rfc3339())));
        }
        let starts = match period {
            None => vec![from],
            Some(period) => period_starts(from, to, time_zone, period)?,
        };
        Ok(ReportWindow { from, to, time_zone, period, starts })
    }

    pub fn n_periods(&self) -> usize {
        self.starts.len()
    }

    /// Where period `period_idx` starts.
    pub fn period_start(&self, period_idx: usize) -> DateTime<Utc> {
        self.starts[period_idx]
    }

    /// Period `period_idx`'s start in local time with its offset (RFC 3339): what rows show.
    pub fn period_label(&self, period_idx: usize) -> String {
        self.local(self.starts[period_idx])
    }

    /// `instant` in the window's zone, RFC 3339 with offset.
    pub fn local(&self, instant: DateTime<Utc>) -> String {
        instant.with_timezone(&self.time_zone).to_rfc3339()
    }

    pub fn from_ms(&self) -> i64 {
        self.from.timestamp_millis()
    }

    pub fn to_ms(&self) -> i64 {
        self.to.timestamp_millis()
    }

    /// The period holding `instant_ms`, for an instant inside the window (the same numbering
    /// as [`ReportWindow::period_sql`]).
    pub(crate) fn period_index(&self, instant_ms: i64) -> usize {
        self.starts.partition_point(|start| start.timestamp_millis() <= instant_ms).saturating_sub(1)
    }

    /// The `[start, end)` epoch milliseconds of the period that holds `instant_ms`.
    pub(crate) fn period_bounds_ms(&self, instant_ms: i64) -> (i64, i64) {
        let period_idx = self.period_index(instant_ms);
        let end = self.starts.get(period_idx + 1).map_or_else(|| self.to_ms(), DateTime::timestamp_millis);
        (self.starts[period_idx].timestamp_millis(), end)
    }

    /// A SQL expression giving the period index of `column` (epoch milliseconds) for rows
    /// already restricted to the window. The literals are integers computed here, never caller
    /// text.
    pub(crate) fn period_sql(&self, column: &str) -> String {
        let starts_ms: Vec<i64> = self.starts.iter().map(DateTime::timestamp_millis).collect();
        case_tree(column, &starts_ms, 0, starts_ms.len() - 1)
    }
}

/// Index `k` in `low..=high` such that `starts[k] <= column < starts[k + 1]`, by halving.
fn case_tree(column: &str, starts_ms: &[i64], low: usize, high: usize) -> String {
    if low == high {
        return low.to_string();
    }
    let middle = (low + high).div_ceil(2);
    format!("CASE WHEN {column} < {} THEN {} ELSE {} END", starts_ms[middle], case_tree(column, starts_ms, low, middle - 1), case_tree(column, starts_ms, middle, high))
}

/// An IANA zone name; UTC when absent or empty.
pub fn parse_time_zone(name: Option<&str>) -> Result<Tz, ParamError> {
    match name.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| ParamError::new("invalid_time_zone", format!("unknown time zone `{name}`: use an IANA name such as Europe/Berlin or UTC"))),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Start,
    End,
}

fn parse_instant(name: &str, text: &str, time_zone: Tz, bound: Bound) -> Result<DateTime<Utc>, ParamError> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = match bound {
            Bound::Start => date,
            Bound::End => date.succ_opt().ok_or_else(|| ParamError::new("invalid_date", format!("`{name}` {text} is out of range")))?,
        };
        return Ok(start_of_local_day(time_zone, day));
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"].iter().find_map(|format| NaiveDateTime::parse_from_str(text, format).ok());
    let Some(local) = local else {
        return Err(ParamError::new("invalid_date", format!("`{name}` `{text}` is not a date (2026-03-01), a local time (2026-03-01T08:00) or an instant (2026-03-01T08:00:00Z)")));
    };
    match time_zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(instant.with_timezone(&Utc)),
        // The repeated hour of an autumn night: its first occurrence.
        LocalResult::Ambiguous(earliest, _) => Ok(earliest.with_timezone(&Utc)),
        LocalResult::None => Err(ParamError::new("invalid_date", format!("`{name}` {text} does not exist in {} (the clocks jump over it)", time_zone.name()))),
    }
}

/// The instant local `date` begins in `time_zone`: midnight, its first occurrence, or the first
/// local time after a jump over midnight.
pub fn start_of_local_day(time_zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    let mut probe = midnight;
    // Jumps are at most a few hours; four days of 15-minute steps is far beyond any.
    for _ in 0..(4 * 24 * 4) {
        if let Some(instant) = time_zone.from_local_datetime(&probe).earliest() {
            return instant.with_timezone(&Utc);
        }
        probe += Duration::minutes(15);
    }
    midnight.and_utc()
}

fn too_many(from: DateTime<Utc>, to: DateTime<Utc>, period: Period) -> ParamError {
    ParamError::new(
        "too_many_periods",
        format!("{} to {} has more than {MAX_PERIODS} {} periods: shorten the range or use a longer period", from.to_rfc3339(), to.to_rfc3339(), period.as_str()),
    )
}

/// `from`, then every local period start strictly inside `(from, to)`.
fn period_starts(from: DateTime<Utc>, to: DateTime<Utc>, time_zone: Tz, period: Period) -> Result<Vec<DateTime<Utc>>, ParamError> {
    let mut starts = vec![from];
    let push = |start: DateTime<Utc>, starts: &mut Vec<DateTime<Utc>>| -> Result<(), ParamError> {
        if start > from && start < to {
            if starts.len() >= MAX_PERIODS {
                return Err(too_many(from, to, period));
            }
            starts.push(start);
        }
        Ok(())
    };
    match period {
        Period::Hour => {
            let grid_ms = 15 * 60 * 1000;
            let mut probe_ms = from.timestamp_millis().div_euclid(grid_ms) * grid_ms;
            while probe_ms < to.timestamp_millis() {
                let probe = DateTime::<Utc>::from_timestamp_millis(probe_ms).unwrap_or(from);
                let local = probe.with_timezone(&time_zone);
                if local.minute() == 0 && local.second() == 0 {
                    push(probe, &mut starts)?;
                }
                probe_ms += grid_ms;
            }
        }
        Period::Day | Period::Week | Period::Month => {
            let first_day = from.with_timezone(&time_zone).date_naive();
            let mut day = match period {
                Period::Week => first_day - Days::new(u64::from(first_day.weekday().num_days_from_monday())),
                Period::Month => first_day.with_day(1).unwrap_or(first_day),
                Period::Hour | Period::Day => first_day,
            };
            loop {
                let start = start_of_local_day(time_zone, day);
                if start >= to {
                    break;
                }
                push(start, &mut starts)?;
                day = match period {
                    Period::Week => day + Days::new(7),
                    Period::Month => day.checked_add_months(Months::new(1)).ok_or_else(|| too_many(from, to, period))?,
                    Period::Hour | Period::Day => day + Days::new(1),
                };
                debug_assert!(period != Period::Week || day.weekday() == Weekday::Mon);
            }
        }
    }
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn now() -> DateTime<Utc> {
        "2026-11-04T15:30:00Z".parse().unwrap()
    }

    /// The window of `params` as `from → to` and its period labels, or the error code.
    fn check(from: Option<&str>, to: Option<&str>, time_zone: Option<&str>, period: Option<&str>, expect: Expect) {
        let params = WindowParams { from, to, time_zone, period };
        let actual = match ReportWindow::parse(&params, now()) {
            Ok(window) => {
                let labels: Vec<String> = (0..window.n_periods()).map(|period_idx| window.period_label(period_idx)).collect();
                format!("{} → {} [{}]: {}", window.local(window.from), window.local(window.to), window.n_periods(), labels.join(" "))
            }
            Err(error) => format!("{}: {}", error.code, error.message),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn windows_default_to_the_last_seven_local_days_ending_now() {
        check(None, None, None, None, expect!["2026-10-29T00:00:00+00:00 → 2026-11-04T15:30:00+00:00 [1]: 2026-10-29T00:00:00+00:00"]);
        check(None, None, Some("America/New_York"), None, expect!["2026-10-29T00:00:00-04:00 → 2026-11-04T10:30:00-05:00 [1]: 2026-10-29T00:00:00-04:00"]);
    }

    #[test]
    fn dates_times_and_instants_are_read_in_the_zone() {
        check(Some("2026-03-01"), Some("2026-03-31"), Some("Europe/Berlin"), Some("month"), expect!["2026-03-01T00:00:00+01:00 → 2026-04-01T00:00:00+02:00 [1]: 2026-03-01T00:00:00+01:00"]);
        check(Some("2026-03-01T08:30"), Some("2026-03-01T10:00:00Z"), Some("Asia/Kathmandu"), Some("hour"), expect!["2026-03-01T08:30:00+05:45 → 2026-03-01T15:45:00+05:45 [8]: 2026-03-01T08:30:00+05:45 2026-03-01T09:00:00+05:45 2026-03-01T10:00:00+05:45 2026-03-01T11:00:00+05:45 2026-03-01T12:00:00+05:45 2026-03-01T13:00:00+05:45 2026-03-01T14:00:00+05:45 2026-03-01T15:00:00+05:45"]);
    }

    #[test]
    fn days_are_23_or_25_hours_long_across_dst() {
        // Berlin springs forward on 2026-03-29 (02:00 → 03:00) and falls back on 2026-10-25.
        check(Some("2026-03-28"), Some("2026-03-30"), Some("Europe/Berlin"), Some("day"), expect!["2026-03-28T00:00:00+01:00 → 2026-03-31T00:00:00+02:00 [3]: 2026-03-28T00:00:00+01:00 2026-03-29T00:00:00+01:00 2026-03-30T00:00:00+02:00"]);
        let window = ReportWindow::parse(&WindowParams { from: Some("2026-10-25"), to: Some("2026-10-25"), time_zone: Some("Europe/Berlin"), period: Some("day") }, now()).unwrap();
        assert_eq!(window.to - window.from, Duration::hours(25));
        let window = ReportWindow::parse(&WindowParams { from: Some("2026-03-29"), to: Some("2026-03-29"), time_zone: Some("Europe/Berlin"), period: Some("hour") }, now()).unwrap();
        assert_eq!(window.n_periods(), 23, "the 02:00 hour does not exist");
    }

    #[test]
    fn the_repeated_autumn_hour_is_two_periods() {
        check(Some("2026-10-25T01:00"), Some("2026-10-25T04:00"), Some("Europe/Berlin"), Some("hour"), expect!["2026-10-25T01:00:00+02:00 → 2026-10-25T04:00:00+01:00 [4]: 2026-10-25T01:00:00+02:00 2026-10-25T02:00:00+02:00 2026-10-25T02:00:00+01:00 2026-10-25T03:00:00+01:00"]);
    }

    #[test]
    fn weeks_start_on_monday_and_the_first_period_starts_at_from() {
        check(Some("2026-11-04"), Some("2026-11-18"), None, Some("week"), expect!["2026-11-04T00:00:00+00:00 → 2026-11-19T00:00:00+00:00 [3]: 2026-11-04T00:00:00+00:00 2026-11-09T00:00:00+00:00 2026-11-16T00:00:00+00:00"]);
    }

    #[test]
    fn a_midnight_the_clocks_skip_starts_the_day_when_it_exists() {
        // Santiago (Chile) springs forward at 00:00 on 2026-09-06: the day starts at 01:00.
        check(Some("2026-09-05"), Some("2026-09-06"), Some("America/Santiago"), Some("day"), expect!["2026-09-05T00:00:00-04:00 → 2026-09-07T00:00:00-03:00 [2]: 2026-09-05T00:00:00-04:00 2026-09-06T01:00:00-03:00"]);
    }

    #[test]
    fn bad_parameters_have_stable_codes() {
        check(Some("yesterday"), None, None, None, expect!["invalid_date: `from` `yesterday` is not a date (2026-03-01), a local time (2026-03-01T08:00) or an instant (2026-03-01T08:00:00Z)"]);
        check(Some("2026-03-29T02:30"), None, Some("Europe/Berlin"), None, expect!["invalid_date: `from` 2026-03-29T02:30 does not exist in Europe/Berlin (the clocks jump over it)"]);
        check(None, None, Some("Mars/Olympus"), None, expect!["invalid_time_zone: unknown time zone `Mars/Olympus`: use an IANA name such as Europe/Berlin or UTC"]);
        check(None, None, None, Some("fortnight"), expect!["invalid_period: unknown period `fortnight`: use hour, day, week or month"]);
        check(Some("2026-03-02"), Some("2026-03-01"), None, None, expect!["invalid_range: `from` (2026-03-02T00:00:00+00:00) must be before `to` (2026-03-02T00:00:00+00:00)"]);
        check(Some("2026-01-01"), Some("2026-12-31"), None, Some("hour"), expect!["too_many_periods: 2026-01-01T00:00:00+00:00 to 2027-01-01T00:00:00+00:00 has more than 1000 hour periods: shorten the range or use a longer period"]);
    }

    #[test]
    fn the_case_tree_numbers_every_instant_with_its_period() {
        let window = ReportWindow::parse(&WindowParams { from: Some("2026-10-24"), to: Some("2026-10-27"), time_zone: Some("Europe/Berlin"), period: Some("hour") }, now()).unwrap();
        let starts_ms: Vec<i64> = (0..window.n_periods()).map(|period_idx| window.period_start(period_idx).timestamp_millis()).collect();
        // Evaluate the generated tree with a tiny interpreter of its own shape.
        fn evaluate(sql: &str, value: i64) -> usize {
            let Some(rest) = sql.strip_prefix("CASE WHEN x < ") else { return sql.parse().unwrap() };
            let (threshold, rest) = rest.split_once(" THEN ").unwrap();
            let (then_branch, else_branch) = split_branches(rest.strip_suffix(" END").unwrap());
            if value < threshold.parse::<i64>().unwrap() { evaluate(then_branch, value) } else { evaluate(else_branch, value) }
        }
        fn split_branches(text: &str) -> (&str, &str) {
            let mut depth = 0usize;
            for (position, _) in text.char_indices() {
                let rest = &text[position..];
                if rest.starts_with("CASE ") {
                    depth += 1;
                } else if rest.starts_with(" END") {
                    depth -= 1;
                } else if depth == 0 && rest.starts_with(" ELSE ") {
                    return (&text[..position], &text[position + 6..]);
                }
            }
            panic!("no ELSE in {text}");
        }
        let sql = window.period_sql("x");
        for (period_idx, start_ms) in starts_ms.iter().enumerate() {
            assert_eq!(evaluate(&sql, *start_ms), period_idx);
            assert_eq!(evaluate(&sql, start_ms + 3_599_999.min(window.to_ms() - start_ms - 1)), period_idx);
        }
        assert_eq!(window.n_periods(), 97, "four days of 24 hours and the repeated one");
    }
}
