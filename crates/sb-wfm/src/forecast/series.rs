//! The arrival series: counts on a regular grid of interval starts, read from CSV.
//!
//! CSV contract: a header row (names are free), first column the interval start in ISO 8601
//! (`1999-01-01T08:00:00`, `1999-01-01 08:00`, or with an offset, whose wall-clock time is kept),
//! second column the count (a float: some sources hold halves). Rows may come in any order;
//! intervals absent from the file are zero arrivals.

use super::Seasons;
use crate::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Timelike};
use std::io::Read;

/// Interval lengths the forecaster supports, in minutes.
pub const SUPPORTED_INTERVALS: [u32; 3] = [15, 30, 60];

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Start of the first interval (wall-clock time of the source).
    pub start: NaiveDateTime,
    pub interval_minutes: u32,
    pub values: Vec<f64>,
}

fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    const FORMATS: [&str; 4] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"];
    if let Some(naive) = FORMATS.iter().find_map(|format| NaiveDateTime::parse_from_str(text, format).ok()) {
        return Some(naive);
    }
    DateTime::parse_from_rfc3339(text).ok().map(|with_offset| with_offset.naive_local())
}

impl Series {
    /// A series from values on a grid starting at `start`.
    pub fn new(start: NaiveDateTime, interval_minutes: u32, values: Vec<f64>) -> Result<Series> {
        if !SUPPORTED_INTERVALS.contains(&interval_minutes) {
            return Err(Error::Series(format!("interval of {interval_minutes} min is not supported: use 15, 30 or 60")));
        }
        if start.second() != 0 || !start.minute().is_multiple_of(interval_minutes) {
            return Err(Error::Series(format!("start {start} is not on the {interval_minutes}-minute grid")));
        }
        if let Some(bad) = values.iter().position(|value| !(value.is_finite() && *value >= 0.0)) {
            return Err(Error::Series(format!("value {} at position {bad} is not a non-negative count", values[bad])));
        }
        Ok(Series { start, interval_minutes, values })
    }

    /// Reads `interval start, count` rows. `interval_minutes` overrides the inferred interval
    /// (the smallest gap between consecutive starts).
    pub fn from_csv_reader<R: Read>(reader: R, interval_minutes: Option<u32>) -> Result<Series> {
        let mut csv_reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(reader);
        let mut rows: Vec<(NaiveDateTime, f64, u64)> = Vec::new();
        for record in csv_reader.records() {
            let record = record.map_err(|error| Error::Csv {
                line: error.position().map_or(0, |position| position.line()),
                message: format!("{error}: the file must be CSV with a header row"),
            })?;
            let line = record.position().map_or(0, |position| position.line());
            if record.iter().all(str::is_empty) {
                continue;
            }
            let (Some(time_text), Some(count_text)) = (record.get(0), record.get(1)) else {
                return Err(Error::Csv { line, message: "expected two columns: interval start (ISO 8601), count".into() });
            };
            let start = parse_timestamp(time_text).ok_or_else(|| Error::Csv {
                line,
                message: format!("interval start `{time_text}` is not an ISO 8601 date-time such as 1999-01-01T08:00:00"),
            })?;
            let count: f64 = count_text.parse().ok().filter(|count: &f64| count.is_finite() && *count >= 0.0).ok_or_else(|| Error::Csv {
                line,
                message: format!("count `{count_text}` is not a non-negative number"),
            })?;
            rows.push((start, count, line));
        }
        if rows.is_empty() {
            return Err(Error::Series("the file holds no data rows".into()));
        }
        rows.sort_by_key(|(start, _, _)| *start);
        if let Some(pair) = rows.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let (timestamp, line) = (pair[1].0, pair[0].2.max(pair[1].2));
            return Err(Error::Csv { line, message: format!("interval {timestamp} appears twice: keep one row per interval") });
        }
        let interval_minutes = match interval_minutes {
            Some(minutes) => minutes,
            None => {
                let smallest_gap = rows.windows(2).map(|pair| (pair[1].0 - pair[0].0).num_minutes()).filter(|gap| *gap > 0).min();
                match smallest_gap {
                    Some(gap) if SUPPORTED_INTERVALS.iter().any(|&minutes| i64::from(minutes) == gap) => gap as u32,
                    Some(gap) => return Err(Error::Series(format!("intervals are {gap} min apart: only 15, 30 or 60 min are supported (or give the interval)"))),
                    None => return Err(Error::Series("cannot infer the interval from a single timestamp: give the interval".into())),
                }
            }
        };
        let start = rows[0].0;
        let step = i64::from(interval_minutes);
        let last_offset = (rows[rows.len() - 1].0 - start).num_minutes();
        let mut values = vec![0.0; (last_offset / step + 1) as usize];
        for (timestamp, count, line) in rows {
            let offset = (timestamp - start).num_minutes();
            if offset % step != 0 || (timestamp - start).num_seconds() % 60 != 0 {
                return Err(Error::Csv { line, message: format!("{timestamp} is not on the {interval_minutes}-minute grid that starts at {start}") });
            }
            values[(offset / step) as usize] = count;
        }
        Series::new(start, interval_minutes, values)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn seasons(&self) -> Seasons {
        let per_day = (24 * 60 / self.interval_minutes) as usize;
        let minute_of_day = self.start.hour() * 60 + self.start.minute();
        Seasons { per_day, phase: (minute_of_day / self.interval_minutes) as usize }
    }

    /// Start of the interval at position `idx` (positions past the end continue the grid).
    pub fn timestamp(&self, idx: usize) -> NaiveDateTime {
        self.start + chrono::Duration::minutes(i64::from(self.interval_minutes) * idx as i64)
    }

    pub fn interval_seconds(&self) -> f64 {
        f64::from(self.interval_minutes) * 60.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `csv` and renders the outcome as `interval start values` or the error.
    fn check(csv: &str, expect: &str) {
        let actual = match Series::from_csv_reader(csv.as_bytes(), None) {
            Ok(series) => format!("{} {} {:?}", series.interval_minutes, series.start, series.values),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expect, "{csv}");
    }

    #[test]
    fn csv_cases() {
        let cases = [
            ("hour_start,calls\n1999-01-01T00:00:00,11.0\n1999-01-01T01:00:00,3\n", "60 1999-01-01 00:00:00 [11.0, 3.0]"),
            // Free header names, unsorted rows, a missing interval filled with zero.
            ("t,n\n2024-03-01 08:30,2\n2024-03-01 08:00,1\n2024-03-01 09:30,4.5\n", "30 2024-03-01 08:00:00 [1.0, 2.0, 0.0, 4.5]"),
            ("a,b\n2024-03-01T08:00:00+02:00,1\n2024-03-01T08:15:00+02:00,2\n", "15 2024-03-01 08:00:00 [1.0, 2.0]"),
            ("a,b\n2024-03-01T08:00,1\nyesterday,2\n", "error: line 3: interval start `yesterday` is not an ISO 8601 date-time such as 1999-01-01T08:00:00"),
            ("a,b\n2024-03-01T08:00,1\n2024-03-01T09:00,-2\n", "error: line 3: count `-2` is not a non-negative number"),
            ("a,b\n2024-03-01T08:00,1\n2024-03-01T08:00,2\n", "error: line 3: interval 2024-03-01 08:00:00 appears twice: keep one row per interval"),
            ("a,b\n2024-03-01T08:00,1\n2024-03-01T08:20,2\n", "error: series: intervals are 20 min apart: only 15, 30 or 60 min are supported (or give the interval)"),
            ("a,b\n2024-03-01T08:00,1\n2024-03-01T09:00,2\n2024-03-01T10:30,2\n", "error: line 4: 2024-03-01 10:30:00 is not on the 60-minute grid that starts at 2024-03-01 08:00:00"),
            ("a,b\n2024-03-01T08:00\n", "error: line 2: expected two columns: interval start (ISO 8601), count"),
            ("a,b\n", "error: series: the file holds no data rows"),
        ];
        for (csv, expect) in cases {
            check(csv, expect);
        }
    }

    #[test]
    fn seasons_follow_the_start_time() {
        let series = Series::from_csv_reader("a,b\n2024-03-01T08:30,1\n2024-03-01T08:45,2\n".as_bytes(), None).unwrap();
        assert_eq!(series.seasons(), Seasons { per_day: 96, phase: 34 });
        assert_eq!(series.timestamp(2).to_string(), "2024-03-01 09:00:00");
    }
}
