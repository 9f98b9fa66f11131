//! Business calendars: when an SLA clock runs.
//!
//! A calendar is either always open (safety SLAs run around the clock) or a set of weekly
//! opening hours in one IANA time zone, minus holidays. Opening hours are local wall-clock
//! times, so "09:00–17:00 in Europe/Berlin" keeps meaning nine to five across daylight-saving
//! changes; business time itself is measured in real elapsed time, so a night-shift interval
//! that spans a DST change is one hour shorter or longer that night.
//!
//! Local times that do not exist or exist twice are resolved as follows:
//! - a time inside a spring-forward gap means the moment the clocks jumped (an opening at
//!   02:30 on a night that skips from 02:00 to 03:00 opens at 03:00);
//! - a time inside a repeated fall-back hour means its first occurrence.

use crate::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One span of opening hours within a local day, `[open, close)`, written `09:00-17:00`.
/// `close` may be `24:00` (midnight at the end of the day); a span never crosses midnight —
/// a night shift is written as two spans on two days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpeningHours {
    // Minutes after local midnight; open < close <= 1440, enforced by every constructor.
    open_minute: u16,
    close_minute: u16,
}

impl OpeningHours {
    /// Opening hours from `open` to `close`, both as (hour, minute); `(24, 0)` is allowed for
    /// `close`.
    pub fn new(open: (u16, u16), close: (u16, u16)) -> Result<OpeningHours> {
        let text = format!("{:02}:{:02}-{:02}:{:02}", open.0, open.1, close.0, close.1);
        OpeningHours::parse(&text)
    }

    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<OpeningHours> {
        let invalid = |why: &'static str| Error::InvalidOpeningHours { text: text.to_string(), why };
        let (open_text, close_text) = text.trim().split_once('-').ok_or_else(|| invalid("expected HH:MM-HH:MM"))?;
        let open_minute = parse_time_of_day(open_text.trim()).ok_or_else(|| invalid("expected HH:MM-HH:MM between 00:00 and 24:00"))?;
        let close_minute = parse_time_of_day(close_text.trim()).ok_or_else(|| invalid("expected HH:MM-HH:MM between 00:00 and 24:00"))?;
        if open_minute >= close_minute {
            return Err(invalid("opening must come before closing on the same day; split a night shift over two days"));
        }
        Ok(OpeningHours { open_minute, close_minute })
    }

    pub fn open_minute(&self) -> u16 {
        self.open_minute
    }

    pub fn close_minute(&self) -> u16 {
        self.close_minute
    }
}

fn parse_time_of_day(text: &str) -> Option<u16> {
    let (hour_text, minute_text) = text.split_once(':')?;
    if hour_text.len() != 2 || minute_text.len() != 2 {
        return None;
    }
    let hour: u16 = hour_text.parse().ok()?;
    let minute: u16 = minute_text.parse().ok()?;
    let minute_of_day = hour * 60 + minute;
    (minute < 60 && minute_of_day <= MINUTES_PER_DAY).then_some(minute_of_day)
}

impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}-{:02}:{:02}", self.open_minute / 60, self.open_minute % 60, self.close_minute / 60, self.close_minute % 60)
    }
}

impl TryFrom<String> for OpeningHours {
    type Error = Error;
    fn try_from(text: String) -> Result<OpeningHours> {
        OpeningHours::parse(&text)
    }
}

impl From<OpeningHours> for String {
    fn from(opening_hours: OpeningHours) -> String {
        opening_hours.to_string()
    }
}

/// Opening hours for each day of the week; a day left out is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeeklyHours {
    pub monday: Vec<OpeningHours>,
    pub tuesday: Vec<OpeningHours>,
    pub wednesday: Vec<OpeningHours>,
    pub thursday: Vec<OpeningHours>,
    pub friday: Vec<OpeningHours>,
    pub saturday: Vec<OpeningHours>,
    pub sunday: Vec<OpeningHours>,
}

impl WeeklyHours {
    /// The same opening hours Monday to Friday, closed at weekends.
    pub fn weekdays(opening_hours: &[OpeningHours]) -> WeeklyHours {
        WeeklyHours {
            monday: opening_hours.to_vec(),
            tuesday: opening_hours.to_vec(),
            wednesday: opening_hours.to_vec(),
            thursday: opening_hours.to_vec(),
            friday: opening_hours.to_vec(),
            saturday: Vec::new(),
            sunday: Vec::new(),
        }
    }

    /// The same opening hours every day of the week.
    pub fn every_day(opening_hours: &[OpeningHours]) -> WeeklyHours {
        WeeklyHours { saturday: opening_hours.to_vec(), sunday: opening_hours.to_vec(), ..WeeklyHours::weekdays(opening_hours) }
    }

    pub fn on(&self, weekday: Weekday) -> &[OpeningHours] {
        match weekday {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    fn on_mut(&mut self, weekday: Weekday) -> &mut Vec<OpeningHours> {
        match weekday {
            Weekday::Mon => &mut self.monday,
            Weekday::Tue => &mut self.tuesday,
            Weekday::Wed => &mut self.wednesday,
            Weekday::Thu => &mut self.thursday,
            Weekday::Fri => &mut self.friday,
            Weekday::Sat => &mut self.saturday,
            Weekday::Sun => &mut self.sunday,
        }
    }
}

const WEEK: [Weekday; 7] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// The fields of a [`BusinessCalendar`] as written in config, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessCalendarSpec {
    /// IANA time zone the opening hours and holidays are in, e.g. `Europe/Berlin`.
    pub time_zone: Tz,
    /// Weekly opening hours in local time.
    pub weekly_hours: WeeklyHours,
    /// Local dates on which the calendar is closed all day.
    #[serde(default)]
    pub holidays: BTreeSet<NaiveDate>,
}

/// Weekly opening hours in a time zone, minus holidays. Only valid calendars exist: spans are
/// sorted, never overlap, and the week has some opening hours, so every deadline is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BusinessCalendarSpec", into = "BusinessCalendarSpec")]
pub struct BusinessCalendar {
    spec: BusinessCalendarSpec,
}

impl BusinessCalendar {
    /// Validates `spec`, reporting every problem at once.
    pub fn new(mut spec: BusinessCalendarSpec) -> Result<BusinessCalendar> {
        let mut problems = Vec::new();
        for weekday in WEEK {
            let opening_hours = spec.weekly_hours.on_mut(weekday);
            opening_hours.sort();
            for pair in opening_hours.windows(2) {
                if pair[1].open_minute < pair[0].close_minute {
                    problems.push(format!("{} opening hours {} and {} overlap", weekday_name(weekday), pair[0], pair[1]));
                }
            }
        }
        if WEEK.iter().all(|&weekday| spec.weekly_hours.on(weekday).is_empty()) {
            problems.push("no opening hours in the week: business-time deadlines would never be reached".to_string());
        }
        if !problems.is_empty() {
            return Err(Error::InvalidCalendar { problems });
        }
        Ok(BusinessCalendar { spec })
    }

    pub fn time_zone(&self) -> Tz {
        self.spec.time_zone
    }

    pub fn weekly_hours(&self) -> &WeeklyHours {
        &self.spec.weekly_hours
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.spec.holidays
    }

    /// The open periods of local date `date` as UTC instants, in order; none on a holiday.
    fn open_periods_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.spec.holidays.contains(&date) {
            return Vec::new();
        }
        let time_zone = self.spec.time_zone;
        self.spec
            .weekly_hours
            .on(date.weekday())
            .iter()
            .map(|opening_hours| {
                (first_instant_at_or_after(time_zone, local_minute(date, opening_hours.open_minute)), first_instant_at_or_after(time_zone, local_minute(date, opening_hours.close_minute)))
            })
            // A span that lies wholly inside a spring-forward gap does not happen that day.
            .filter(|(open, close)| open < close)
            .collect()
    }

    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.spec.time_zone).date_naive()
    }
}

impl TryFrom<BusinessCalendarSpec> for BusinessCalendar {
    type Error = Error;
    fn try_from(spec: BusinessCalendarSpec) -> Result<BusinessCalendar> {
        BusinessCalendar::new(spec)
    }
}

impl From<BusinessCalendar> for BusinessCalendarSpec {
    fn from(business_calendar: BusinessCalendar) -> BusinessCalendarSpec {
        business_calendar.spec
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

fn local_minute(date: NaiveDate, minute_of_day: u16) -> NaiveDateTime {
    // 24:00 is midnight at the start of the next day.
    let (date, minute_of_day) = if minute_of_day >= MINUTES_PER_DAY { (date.succ_opt().unwrap_or(date), minute_of_day - MINUTES_PER_DAY) } else { (date, minute_of_day) };
    let time = NaiveTime::from_hms_opt(u32::from(minute_of_day / 60), u32::from(minute_of_day % 60), 0).unwrap_or(NaiveTime::MIN);
    date.and_time(time)
}

/// The first instant whose local wall-clock time in `time_zone` is `local` or later: the
/// instant itself when `local` exists once, its first occurrence when it exists twice, and the
/// end of the gap when the clocks jumped over it.
fn first_instant_at_or_after(time_zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(instant) = time_zone.from_local_datetime(&local).earliest() {
        return instant.with_timezone(&Utc);
    }
    // Gaps end on a whole minute in every zone since the 1970s and last at most a day (Samoa
    // skipped 30 December 2011), so stepping by minutes finds the end quickly and exactly.
    let mut probe = local;
    for _ in 0..(2 * usize::from(MINUTES_PER_DAY)) {
        probe += TimeDelta::minutes(1);
        if let Some(instant) = time_zone.from_local_datetime(&probe).earliest() {
            return instant.with_timezone(&Utc);
        }
    }
    // Unreachable with the IANA data; reading the time as UTC keeps the function total.
    Utc.from_utc_datetime(&local)
}

/// When an SLA clock runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Calendar {
    /// Every moment counts: 24/7, as for safety SLAs.
    AlwaysOpen,
    /// Weekly opening hours in a time zone, minus holidays.
    BusinessHours(BusinessCalendar),
}

impl Calendar {
    /// Business time in `[from, to)`: the part of it during which the calendar is open. Zero
    /// when `to` is not after `from`.
    pub fn business_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        if to <= from {
            return TimeDelta::zero();
        }
        let business_calendar = match self {
            Calendar::AlwaysOpen => return to - from,
            Calendar::BusinessHours(business_calendar) => business_calendar,
        };
        let mut total = TimeDelta::zero();
        // One day of margin each side: an open period of the previous local date can end after
        // midnight when the zone changes offset at midnight.
        let mut date = business_calendar.local_date(from).pred_opt().unwrap_or(NaiveDate::MIN);
        let last_date = business_calendar.local_date(to).succ_opt().unwrap_or(NaiveDate::MAX);
        while date <= last_date {
            for (open, close) in business_calendar.open_periods_on(date) {
                let overlap_start = open.max(from);
                let overlap_end = close.min(to);
                if overlap_end > overlap_start {
                    total += overlap_end - overlap_start;
                }
            }
            let Some(next_date) = date.succ_opt() else { break };
            date = next_date;
        }
        total
    }

    /// The instant at which `business_duration` of business time has passed since `start`.
    ///
    /// A zero (or negative) duration is due at `start` itself, even outside opening hours: a
    /// target of nothing is due at once. A positive duration that runs out exactly at a
    /// closing time is due at that closing time, not at the next opening.
    pub fn add_business_time(&self, start: DateTime<Utc>, business_duration: TimeDelta) -> DateTime<Utc> {
        if business_duration <= TimeDelta::zero() {
            return start;
        }
        let business_calendar = match self {
            Calendar::AlwaysOpen => return start + business_duration,
            Calendar::BusinessHours(business_calendar) => business_calendar,
        };
        let mut remaining = business_duration;
        let mut date = business_calendar.local_date(start).pred_opt().unwrap_or(NaiveDate::MIN);
        // Terminates: a valid calendar has opening hours every week and finitely many holidays.
        loop {
            for (open, close) in business_calendar.open_periods_on(date) {
                let begin = open.max(start);
                if close <= begin {
                    continue;
                }
                let available = close - begin;
                if remaining <= available {
                    return begin + remaining;
                }
                remaining -= available;
            }
            let Some(next_date) = date.succ_opt() else { return DateTime::<Utc>::MAX_UTC };
            date = next_date;
        }
    }
}

/// The deadline `business_duration` of business time after `start` (see
/// [`Calendar::add_business_time`]).
pub fn deadline(start: DateTime<Utc>, business_duration: TimeDelta, calendar: &Calendar) -> DateTime<Utc> {
    calendar.add_business_time(start, business_duration)
}

/// Business time in `[from, to)` (see [`Calendar::business_time_between`]).
pub fn business_time_between(from: DateTime<Utc>, to: DateTime<Utc>, calendar: &Calendar) -> TimeDelta {
    calendar.business_time_between(from, to)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sla::duration_text::{format_duration, parse_duration};
    use expect_test::{expect, Expect};

    pub(crate) fn business_calendar(time_zone: Tz, weekly_hours: WeeklyHours, holidays: &[&str]) -> Calendar {
        let holidays = holidays.iter().map(|date_text| date_text.parse().unwrap()).collect();
        Calendar::BusinessHours(BusinessCalendar::new(BusinessCalendarSpec { time_zone, weekly_hours, holidays }).unwrap())
    }

    pub(crate) fn hours(texts: &[&str]) -> Vec<OpeningHours> {
        texts.iter().map(|text| OpeningHours::parse(text).unwrap()).collect()
    }

    /// Nine to five, Monday to Friday, in `time_zone`.
    pub(crate) fn office(time_zone: Tz) -> Calendar {
        business_calendar(time_zone, WeeklyHours::weekdays(&hours(&["09:00-17:00"])), &[])
    }

    /// A local wall-clock time that must exist exactly once.
    pub(crate) fn local(time_zone: Tz, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        time_zone.from_local_datetime(&naive).single().unwrap().with_timezone(&Utc)
    }

    pub(crate) fn render(time_zone: Tz, instant: DateTime<Utc>) -> String {
        format!("{} ({} UTC)", instant.with_timezone(&time_zone).format("%a %Y-%m-%d %H:%M %Z"), instant.format("%H:%M"))
    }

    fn time_zone_of(calendar: &Calendar) -> Tz {
        match calendar {
            Calendar::AlwaysOpen => Tz::UTC,
            Calendar::BusinessHours(business_calendar) => business_calendar.time_zone(),
        }
    }

    /// Adds `duration_text` of business time to the local `start_text` and renders the
    /// deadline in local time; also checks that the business time between the two is the
    /// duration asked for.
    fn check(calendar: &Calendar, start_text: &str, duration_text: &str, expect: Expect) {
        let time_zone = time_zone_of(calendar);
        let start = local(time_zone, start_text);
        let business_duration = parse_duration(duration_text).unwrap();
        let due_at = deadline(start, business_duration, calendar);
        assert_eq!(
            format_duration(business_time_between(start, due_at, calendar)),
            format_duration(business_duration),
            "business time between start and deadline"
        );
        expect.assert_eq(&render(time_zone, due_at));
    }

    #[test]
    fn deadlines_inside_opening_hours() {
        let berlin_office = office(Tz::Europe__Berlin);
        check(&berlin_office, "2024-06-04 10:00", "2h", expect!["Tue 2024-06-04 12:00 CEST (10:00 UTC)"]);
        // Running out exactly at closing time is due at closing, not at the next opening.
        check(&berlin_office, "2024-06-04 13:00", "4h", expect!["Tue 2024-06-04 17:00 CEST (15:00 UTC)"]);
        check(&berlin_office, "2024-06-04 13:00", "4h1m", expect!["Wed 2024-06-05 09:01 CEST (07:01 UTC)"]);
        // Three business days of eight hours.
        check(&berlin_office, "2024-06-04 10:00", "24h", expect!["Fri 2024-06-07 10:00 CEST (08:00 UTC)"]);
    }

    #[test]
    fn deadlines_starting_outside_opening_hours() {
        let berlin_office = office(Tz::Europe__Berlin);
        check(&berlin_office, "2024-06-04 07:00", "1h", expect!["Tue 2024-06-04 10:00 CEST (08:00 UTC)"]);
        check(&berlin_office, "2024-06-04 19:30", "1h", expect!["Wed 2024-06-05 10:00 CEST (08:00 UTC)"]);
        check(&berlin_office, "2024-06-08 11:00", "30m", expect!["Mon 2024-06-10 09:30 CEST (07:30 UTC)"]);
    }

    #[test]
    fn deadlines_across_a_weekend() {
        let berlin_office = office(Tz::Europe__Berlin);
        check(&berlin_office, "2024-06-07 16:00", "4h", expect!["Mon 2024-06-10 12:00 CEST (10:00 UTC)"]);
        check(&berlin_office, "2024-06-07 16:00", "24h", expect!["Wed 2024-06-12 16:00 CEST (14:00 UTC)"]);
    }

    #[test]
    fn deadlines_skip_holidays() {
        // Christmas Eve to Boxing Day closed; the 24th is a Tuesday.
        let berlin_office = business_calendar(Tz::Europe__Berlin, WeeklyHours::weekdays(&hours(&["09:00-17:00"])), &["2024-12-24", "2024-12-25", "2024-12-26"]);
        check(&berlin_office, "2024-12-23 15:00", "4h", expect!["Fri 2024-12-27 11:00 CET (10:00 UTC)"]);
        // Starting on the holiday itself waits for the next business day.
        check(&berlin_office, "2024-12-25 10:00", "1h", expect!["Fri 2024-12-27 10:00 CET (09:00 UTC)"]);
    }

    #[test]
    fn deadlines_with_several_spans_a_day() {
        let lunch_break = business_calendar(Tz::America__New_York, WeeklyHours::weekdays(&hours(&["13:30-17:00", "09:00-12:30"])), &[]);
        check(&lunch_break, "2024-06-04 12:00", "1h", expect!["Tue 2024-06-04 14:00 EDT (18:00 UTC)"]);
        check(&lunch_break, "2024-06-04 12:45", "10m", expect!["Tue 2024-06-04 13:40 EDT (17:40 UTC)"]);
        check(&lunch_break, "2024-06-04 16:00", "7h", expect!["Wed 2024-06-05 16:00 EDT (20:00 UTC)"]);
    }

    #[test]
    fn deadlines_of_zero_length_are_due_at_once() {
        let berlin_office = office(Tz::Europe__Berlin);
        check(&berlin_office, "2024-06-04 10:00", "0s", expect!["Tue 2024-06-04 10:00 CEST (08:00 UTC)"]);
        check(&berlin_office, "2024-06-08 03:00", "0s", expect!["Sat 2024-06-08 03:00 CEST (01:00 UTC)"]);
        check(&Calendar::AlwaysOpen, "2024-06-08 03:00", "0s", expect!["Sat 2024-06-08 03:00 UTC (03:00 UTC)"]);
    }

    #[test]
    fn always_open_calendars_count_every_minute() {
        check(&Calendar::AlwaysOpen, "2024-06-08 23:50", "15m", expect!["Sun 2024-06-09 00:05 UTC (00:05 UTC)"]);
        check(&Calendar::AlwaysOpen, "2024-03-30 12:00", "24h", expect!["Sun 2024-03-31 12:00 UTC (12:00 UTC)"]);
    }

    #[test]
    fn office_hours_keep_their_local_time_across_dst_in_berlin() {
        let berlin_office = office(Tz::Europe__Berlin);
        // Spring forward on Sunday 31 March 2024: Friday is CET (UTC+1), Monday CEST (UTC+2).
        // (Good Friday and Easter Monday are not holidays in this calendar.) Opening hours stay
        // nine to five local time: Monday 10:00 CEST is 08:00 UTC where Friday 10:00 CET was 09:00 UTC.
        check(&berlin_office, "2024-03-29 16:00", "2h", expect!["Mon 2024-04-01 10:00 CEST (08:00 UTC)"]);
        check(&berlin_office, "2024-03-29 16:00", "9h", expect!["Mon 2024-04-01 17:00 CEST (15:00 UTC)"]);
        // Fall back on Sunday 27 October 2024.
        check(&berlin_office, "2024-10-25 16:00", "2h", expect!["Mon 2024-10-28 10:00 CET (09:00 UTC)"]);
    }

    #[test]
    fn office_hours_keep_their_local_time_across_dst_in_new_york() {
        let new_york_office = office(Tz::America__New_York);
        // Spring forward on Sunday 10 March 2024, fall back on Sunday 3 November 2024.
        check(&new_york_office, "2024-03-08 16:00", "2h", expect!["Mon 2024-03-11 10:00 EDT (14:00 UTC)"]);
        check(&new_york_office, "2024-11-01 16:00", "2h", expect!["Mon 2024-11-04 10:00 EST (15:00 UTC)"]);
    }

    #[test]
    fn round_the_clock_local_hours_are_shorter_and_longer_on_dst_days() {
        let berlin_every_day = business_calendar(Tz::Europe__Berlin, WeeklyHours::every_day(&hours(&["00:00-24:00"])), &[]);
        // 31 March 2024 has 23 hours in Berlin: 24 business hours from Saturday noon end at 13:00.
        check(&berlin_every_day, "2024-03-30 12:00", "24h", expect!["Sun 2024-03-31 13:00 CEST (11:00 UTC)"]);
        // 27 October 2024 has 25 hours: they end at 11:00.
        check(&berlin_every_day, "2024-10-26 12:00", "24h", expect!["Sun 2024-10-27 11:00 CET (10:00 UTC)"]);

        let new_york_every_day = business_calendar(Tz::America__New_York, WeeklyHours::every_day(&hours(&["00:00-24:00"])), &[]);
        check(&new_york_every_day, "2024-03-09 12:00", "24h", expect!["Sun 2024-03-10 13:00 EDT (17:00 UTC)"]);
        check(&new_york_every_day, "2024-11-03 00:00", "24h", expect!["Sun 2024-11-03 23:00 EST (04:00 UTC)"]);
    }

    #[test]
    fn opening_hours_inside_a_dst_gap_open_when_the_clocks_jump() {
        // Sunday night shift 01:00–05:00 loses an hour on 31 March 2024 in Berlin (02:00 → 03:00).
        let berlin_night_shift = business_calendar(Tz::Europe__Berlin, WeeklyHours { sunday: hours(&["01:00-05:00"]), ..WeeklyHours::default() }, &[]);
        check(&berlin_night_shift, "2024-03-31 00:30", "3h", expect!["Sun 2024-03-31 05:00 CEST (03:00 UTC)"]);
        check(&berlin_night_shift, "2024-03-31 00:30", "3h30m", expect!["Sun 2024-04-07 01:30 CEST (23:30 UTC)"]);
        // Opening at 02:30, a time that does not exist that night, means opening at 03:00.
        let new_york_gap_opening = business_calendar(Tz::America__New_York, WeeklyHours { sunday: hours(&["02:30-04:00"]), ..WeeklyHours::default() }, &[]);
        check(&new_york_gap_opening, "2024-03-10 00:00", "30m", expect!["Sun 2024-03-10 03:30 EDT (07:30 UTC)"]);
        // A span wholly inside the gap does not happen that night.
        let new_york_swallowed = business_calendar(Tz::America__New_York, WeeklyHours { sunday: hours(&["02:00-02:45"]), ..WeeklyHours::default() }, &[]);
        check(&new_york_swallowed, "2024-03-10 00:00", "10m", expect!["Sun 2024-03-17 02:10 EDT (06:10 UTC)"]);
        // In the repeated hour of a fall-back night, an opening time means its first occurrence.
        let new_york_fall_back = business_calendar(Tz::America__New_York, WeeklyHours { sunday: hours(&["01:30-03:00"]), ..WeeklyHours::default() }, &[]);
        check(&new_york_fall_back, "2024-11-03 00:00", "2h", expect!["Sun 2024-11-03 02:30 EST (07:30 UTC)"]);
    }

    #[test]
    fn business_time_between_counts_only_open_periods() {
        let berlin_office = office(Tz::Europe__Berlin);
        let between = |from_text: &str, to_text: &str| format_duration(business_time_between(local(Tz::Europe__Berlin, from_text), local(Tz::Europe__Berlin, to_text), &berlin_office));
        assert_eq!(between("2024-06-07 16:00", "2024-06-10 10:00"), "2h");
        assert_eq!(between("2024-06-08 10:00", "2024-06-09 10:00"), "0s");
        assert_eq!(between("2024-06-10 10:00", "2024-06-07 16:00"), "0s");
        assert_eq!(between("2024-06-03 00:00", "2024-06-10 00:00"), "40h");
    }

    #[test]
    fn calendars_round_trip_through_serde() {
        let json = r#"{
            "kind": "business_hours",
            "time_zone": "Europe/Berlin",
            "weekly_hours": {"monday": ["13:00-17:00", "09:00-12:00"], "saturday": ["10:00-14:00"]},
            "holidays": ["2024-12-25"]
        }"#;
        let calendar: Calendar = serde_json::from_str(json).unwrap();
        expect![[r#"{"kind":"business_hours","time_zone":"Europe/Berlin","weekly_hours":{"monday":["09:00-12:00","13:00-17:00"],"tuesday":[],"wednesday":[],"thursday":[],"friday":[],"saturday":["10:00-14:00"],"sunday":[]},"holidays":["2024-12-25"]}"#]]
            .assert_eq(&serde_json::to_string(&calendar).unwrap());
        let always_open: Calendar = serde_json::from_str(r#"{"kind": "always_open"}"#).unwrap();
        assert_eq!(always_open, Calendar::AlwaysOpen);
    }

    #[test]
    fn invalid_calendars_are_refused_with_every_problem() {
        let error_of = |json: &str| serde_json::from_str::<Calendar>(json).unwrap_err().to_string();
        expect!["invalid business calendar: monday opening hours 09:00-12:00 and 11:00-13:00 overlap; friday opening hours 08:00-18:00 and 17:00-19:00 overlap"].assert_eq(&error_of(
            r#"{"kind": "business_hours", "time_zone": "Europe/Berlin", "weekly_hours": {"monday": ["09:00-12:00", "11:00-13:00"], "friday": ["17:00-19:00", "08:00-18:00"]}}"#,
        ));
        expect!["invalid business calendar: no opening hours in the week: business-time deadlines would never be reached"]
            .assert_eq(&error_of(r#"{"kind": "business_hours", "time_zone": "Europe/Berlin", "weekly_hours": {}, "holidays": []}"#));
        expect!["invalid opening hours `17:00-09:00`: opening must come before closing on the same day; split a night shift over two days"]
            .assert_eq(&error_of(r#"{"kind": "business_hours", "time_zone": "Europe/Berlin", "weekly_hours": {"monday": ["17:00-09:00"]}}"#));
        expect!["invalid opening hours `9-17`: expected HH:MM-HH:MM between 00:00 and 24:00"]
            .assert_eq(&error_of(r#"{"kind": "business_hours", "time_zone": "Europe/Berlin", "weekly_hours": {"monday": ["9-17"]}}"#));
        expect!["unknown field `mondays`, expected one of `monday`, `tuesday`, `wednesday`, `thursday`, `friday`, `saturday`, `sunday`"]
            .assert_eq(&error_of(r#"{"kind": "business_hours", "time_zone": "Europe/Berlin", "weekly_hours": {"mondays": ["09:00-17:00"]}}"#));
        expect!["failed to parse timezone: 'Mars/Olympus'"].assert_eq(&error_of(r#"{"kind": "business_hours", "time_zone": "Mars/Olympus", "weekly_hours": {"monday": ["09:00-17:00"]}}"#));
        expect!["unknown field `color`, expected one of `time_zone`, `weekly_hours`, `holidays`"].assert_eq(&error_of(r#"{"kind": "business_hours", "time_zone": "UTC", "weekly_hours": {"monday": ["09:00-17:00"]}, "color": "red"}"#));
    }
}
