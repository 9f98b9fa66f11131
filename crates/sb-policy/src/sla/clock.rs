//! SLA clocks: deadlines that pause while the ticket waits on the customer, their state
//! (on track, at risk, breached) at a given instant, and breach detection.
//!
//! A clock is kept as its events (start, pauses, completion) rather than as a stored deadline,
//! so that the deadline is always recomputed from the calendar and can never drift from it.
//! Pausing stops the clock: the deadline moves later by the business time spent paused. A
//! pause that begins after the deadline has passed moves nothing — a breach, once it happened,
//! stays a breach.

use super::calendar::Calendar;
use super::duration_text::serde_duration;
use super::policy::SlaPolicy;
use crate::{Error, Result};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Where a clock stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    /// Less than the at-risk fraction of the allowed business time is left.
    AtRisk,
    Breached,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::OnTrack => "on_track",
            SlaState::AtRisk => "at_risk",
            SlaState::Breached => "breached",
        }
    }
}

/// The state at `now` of a clock due at `due_at` that was allowed `allowed` business time:
/// breached after the deadline, at risk while less than `at_risk_fraction` of `allowed` is
/// left (counted in business time, so a Friday-evening ticket due Monday morning is at risk
/// over the weekend), on track otherwise.
pub fn sla_state(now: DateTime<Utc>, due_at: DateTime<Utc>, allowed: TimeDelta, calendar: &Calendar, at_risk_fraction: f32) -> SlaState {
    if now > due_at {
        return SlaState::Breached;
    }
    let business_time_left = calendar.business_time_between(now, due_at);
    let at_risk_below_milliseconds = allowed.num_milliseconds() as f64 * f64::from(at_risk_fraction);
    if (business_time_left.num_milliseconds() as f64) < at_risk_below_milliseconds {
        SlaState::AtRisk
    } else {
        SlaState::OnTrack
    }
}

/// One stretch of time in which the clock stood still; `resumed_at` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPause {
    pub paused_at: DateTime<Utc>,
    pub resumed_at: Option<DateTime<Utc>>,
}

/// One deadline's clock: started, possibly paused and resumed, possibly completed (the first
/// response was sent, or the ticket resolved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    started_at: DateTime<Utc>,
    /// Business time allowed from start to completion, pauses excluded.
    #[serde(with = "serde_duration")]
    target: TimeDelta,
    /// In order; only the last may still be open.
    pauses: Vec<ClockPause>,
    completed_at: Option<DateTime<Utc>>,
}

/// A clock seen at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClockStatus {
    pub state: SlaState,
    pub due_at: DateTime<Utc>,
    /// Business time left until `due_at`; zero once breached.
    #[serde(with = "serde_duration")]
    pub business_time_left: TimeDelta,
    /// Business time the clock has stood still so far.
    #[serde(with = "serde_duration")]
    pub paused_business_time: TimeDelta,
    pub paused: bool,
    pub completed_at: Option<DateTime<Utc>>,
}

impl SlaClock {
    pub fn start(started_at: DateTime<Utc>, target: TimeDelta) -> SlaClock {
        SlaClock { started_at, target: target.max(TimeDelta::zero()), pauses: Vec::new(), completed_at: None }
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn target(&self) -> TimeDelta {
        self.target
    }

    pub fn pauses(&self) -> &[ClockPause] {
        &self.pauses
    }

    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at
    }

    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|pause| pause.resumed_at.is_none())
    }

    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    fn last_event_at(&self) -> DateTime<Utc> {
        let last_pause_event = self.pauses.last().map(|pause| pause.resumed_at.unwrap_or(pause.paused_at));
        [Some(self.started_at), last_pause_event, self.completed_at].into_iter().flatten().max().unwrap_or(self.started_at)
    }

    fn check_order(&self, at: DateTime<Utc>) -> Result<()> {
        let last = self.last_event_at();
        if at < last {
            return Err(Error::ClockEventOutOfOrder { at, last });
        }
        Ok(())
    }

    /// Stops the clock (the ticket now waits on the customer). Pausing a completed clock does
    /// nothing: there is no deadline left to move.
    pub fn pause(&mut self, at: DateTime<Utc>) -> Result<()> {
        if self.is_completed() {
            return Ok(());
        }
        if self.is_paused() {
            return Err(Error::ClockAlreadyPaused);
        }
        self.check_order(at)?;
        self.pauses.push(ClockPause { paused_at: at, resumed_at: None });
        Ok(())
    }

    /// Starts the clock again (the customer answered).
    pub fn resume(&mut self, at: DateTime<Utc>) -> Result<()> {
        if self.is_completed() {
            return Ok(());
        }
        if !self.is_paused() {
            return Err(Error::ClockNotPaused);
        }
        self.check_order(at)?;
        if let Some(open_pause) = self.pauses.last_mut() {
            open_pause.resumed_at = Some(at);
        }
        Ok(())
    }

    /// Marks the target met (or missed) at `at`; a paused clock is resumed at that instant. Only
    /// the first completion counts: the first response is the first one sent.
    pub fn complete(&mut self, at: DateTime<Utc>) -> Result<()> {
        if self.is_completed() {
            return Ok(());
        }
        self.check_order(at)?;
        if self.is_paused() {
            self.resume(at)?;
        }
        self.completed_at = Some(at);
        Ok(())
    }

    /// Pauses as closed intervals, sorted and merged; an open pause lasts until `now`. Sorting
    /// and merging again here keeps the arithmetic right even for a clock deserialized from a
    /// hand-edited record.
    fn closed_pauses(&self, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)> = self
            .pauses
            .iter()
            .map(|pause| {
                let paused_at = pause.paused_at.max(self.started_at);
                (paused_at, pause.resumed_at.unwrap_or(now).max(paused_at))
            })
            .filter(|(paused_at, resumed_at)| resumed_at > paused_at)
            .collect();
        intervals.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(intervals.len());
        for (paused_at, resumed_at) in intervals {
            match merged.last_mut() {
                Some(last) if paused_at <= last.1 => last.1 = last.1.max(resumed_at),
                _ => merged.push((paused_at, resumed_at)),
            }
        }
        merged
    }

    /// The deadline as of `now`: the start plus the target in business time, moved later by the
    /// business time of every pause that began before the (moved) deadline. While a pause is
    /// open it counts until `now`, so a paused clock's deadline keeps moving until it resumes.
    pub fn deadline(&self, now: DateTime<Utc>, calendar: &Calendar) -> DateTime<Utc> {
        let mut due_at = calendar.add_business_time(self.started_at, self.target);
        for (paused_at, resumed_at) in self.closed_pauses(self.completed_at.unwrap_or(now)) {
            if paused_at > due_at {
                break;
            }
            due_at = calendar.add_business_time(due_at, calendar.business_time_between(paused_at, resumed_at));
        }
        due_at
    }

    /// Business time spent paused up to `now` (or up to completion).
    pub fn paused_business_time(&self, now: DateTime<Utc>, calendar: &Calendar) -> TimeDelta {
        self.closed_pauses(self.completed_at.unwrap_or(now))
            .into_iter()
            .map(|(paused_at, resumed_at)| calendar.business_time_between(paused_at, resumed_at))
            .fold(TimeDelta::zero(), |total, paused| total + paused)
    }

    /// The clock at `now`. A completed clock is judged at its completion and stays that way.
    pub fn status(&self, now: DateTime<Utc>, calendar: &Calendar, at_risk_fraction: f32) -> SlaClockStatus {
        let judged_at = self.completed_at.unwrap_or(now);
        let due_at = self.deadline(judged_at, calendar);
        SlaClockStatus {
            state: sla_state(judged_at, due_at, self.target, calendar, at_risk_fraction),
            due_at,
            business_time_left: calendar.business_time_between(judged_at, due_at),
            paused_business_time: self.paused_business_time(judged_at, calendar),
            paused: self.is_paused(),
            completed_at: self.completed_at,
        }
    }
}

/// Which of a ticket's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    FirstResponse,
    Resolution,
}

/// A deadline that broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub deadline: DeadlineKind,
    pub policy_name: String,
    /// The instant the deadline passed: the breach happened just after it.
    pub due_at: DateTime<Utc>,
    /// When the target was met after all, late; `None` while still open.
    pub completed_at: Option<DateTime<Utc>>,
    /// Real time past the deadline, up to completion or `now`.
    #[serde(with = "serde_duration")]
    pub overdue_by: TimeDelta,
}

/// The SLA of one ticket: the policy it got when it was triaged, with a copy of that policy's
/// calendar (an admin editing the policy later must not move deadlines already promised), and
/// its first-response and resolution clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSla {
    pub policy_name: String,
    pub calendar: Calendar,
    pub first_response: SlaClock,
    pub resolution: SlaClock,
}

/// Both clocks of a ticket at one instant, and the worse of their states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSlaStatus {
    pub policy_name: String,
    pub first_response: SlaClockStatus,
    pub resolution: SlaClockStatus,
    /// The worst state of the clocks still running, or of all clocks once both are complete;
    /// what queues filter and priority weigh.
    pub state: SlaState,
}

impl TicketSla {
    pub fn start(policy: &SlaPolicy, started_at: DateTime<Utc>) -> TicketSla {
        TicketSla {
            policy_name: policy.name.clone(),
            calendar: policy.calendar.clone(),
            first_response: SlaClock::start(started_at, policy.first_response),
            resolution: SlaClock::start(started_at, policy.resolution),
        }
    }

    fn running_clocks_mut(&mut self) -> impl Iterator<Item = &mut SlaClock> {
        [&mut self.first_response, &mut self.resolution].into_iter().filter(|clock| !clock.is_completed())
    }

    /// Stops every running clock while the ticket waits on the customer.
    pub fn pause(&mut self, at: DateTime<Utc>) -> Result<()> {
        // Checked up front so that a refused pause leaves neither clock changed.
        for clock in [&self.first_response, &self.resolution].into_iter().filter(|clock| !clock.is_completed()) {
            if clock.is_paused() {
                return Err(Error::ClockAlreadyPaused);
            }
            clock.check_order(at)?;
        }
        self.running_clocks_mut().try_for_each(|clock| clock.pause(at))
    }

    /// Starts the paused clocks again.
    pub fn resume(&mut self, at: DateTime<Utc>) -> Result<()> {
        for clock in [&self.first_response, &self.resolution].into_iter().filter(|clock| !clock.is_completed()) {
            if !clock.is_paused() {
                return Err(Error::ClockNotPaused);
            }
            clock.check_order(at)?;
        }
        self.running_clocks_mut().try_for_each(|clock| clock.resume(at))
    }

    pub fn record_first_response(&mut self, at: DateTime<Utc>) -> Result<()> {
        self.first_response.complete(at)
    }

    /// Resolving also completes the first-response clock if no response was recorded: the
    /// resolution reached the customer.
    pub fn record_resolution(&mut self, at: DateTime<Utc>) -> Result<()> {
        // Checked up front so that a refused resolution leaves neither clock changed.
        self.resolution.check_order(at)?;
        if !self.first_response.is_completed() {
            self.first_response.check_order(at)?;
        }
        self.first_response.complete(at)?;
        self.resolution.complete(at)
    }

    pub fn status(&self, now: DateTime<Utc>, at_risk_fraction: f32) -> TicketSlaStatus {
        let first_response = self.first_response.status(now, &self.calendar, at_risk_fraction);
        let resolution = self.resolution.status(now, &self.calendar, at_risk_fraction);
        let running_states: Vec<SlaState> = [&first_response, &resolution].into_iter().filter(|status| status.completed_at.is_none()).map(|status| status.state).collect();
        let state = running_states.into_iter().max().unwrap_or_else(|| first_response.state.max(resolution.state));
        TicketSlaStatus { policy_name: self.policy_name.clone(), first_response, resolution, state }
    }

    /// The deadlines broken as of `now`, first response first.
    pub fn breaches(&self, now: DateTime<Utc>) -> Vec<Breach> {
        [(DeadlineKind::FirstResponse, &self.first_response), (DeadlineKind::Resolution, &self.resolution)]
            .into_iter()
            .filter_map(|(deadline_kind, clock)| {
                let judged_at = clock.completed_at.unwrap_or(now);
                let due_at = clock.deadline(judged_at, &self.calendar);
                (judged_at > due_at).then(|| Breach {
                    deadline: deadline_kind,
                    policy_name: self.policy_name.clone(),
                    due_at,
                    completed_at: clock.completed_at,
                    overdue_by: judged_at - due_at,
                })
            })
            .collect()
    }
}

/// The deadlines of `ticket_sla` broken as of `now` (see [`TicketSla::breaches`]).
pub fn detect_breaches(ticket_sla: &TicketSla, now: DateTime<Utc>) -> Vec<Breach> {
    ticket_sla.breaches(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::calendar::tests::{local, office, render};
    use crate::sla::duration_text::format_duration;
    use crate::sla::policy::SlaMatch;
    use chrono_tz::Tz;
    use expect_test::{expect, Expect};

    const BERLIN: Tz = Tz::Europe__Berlin;

    fn at(text: &str) -> DateTime<Utc> {
        local(BERLIN, text)
    }

    fn berlin_policy(first_response: TimeDelta, resolution: TimeDelta) -> SlaPolicy {
        SlaPolicy { name: "office".to_string(), matches: SlaMatch::default(), first_response, resolution, calendar: office(BERLIN) }
    }

    fn render_clock_status(status: &SlaClockStatus) -> String {
        format!(
            "{} due {}, {} left, paused {}{}",
            status.state.as_str(),
            render(BERLIN, status.due_at),
            format_duration(status.business_time_left),
            format_duration(status.paused_business_time),
            if status.paused { " (paused now)" } else { "" }
        )
    }

    /// Plays `events` (`pause 2024-06-07 11:00`, `resume …`, `respond …`, `resolve …`) on a
    /// ticket started at `start_text` with a 4-hour first response and 24-hour resolution in
    /// Berlin office hours, then renders the status and breaches at `now_text`.
    fn check(start_text: &str, events: &[&str], now_text: &str, expect: Expect) {
        let mut ticket_sla = TicketSla::start(&berlin_policy(TimeDelta::hours(4), TimeDelta::hours(24)), at(start_text));
        let mut rendered = String::new();
        for event in events {
            let (verb, when_text) = event.split_once(' ').unwrap();
            let when = at(when_text);
            let outcome = match verb {
                "pause" => ticket_sla.pause(when),
                "resume" => ticket_sla.resume(when),
                "respond" => ticket_sla.record_first_response(when),
                "resolve" => ticket_sla.record_resolution(when),
                _ => panic!("unknown event {verb}"),
            };
            if let Err(error) = outcome {
                rendered.push_str(&format!("{event}: {error}\n"));
            }
        }
        let status = ticket_sla.status(at(now_text), 0.25);
        rendered.push_str(&format!("first response: {}\n", render_clock_status(&status.first_response)));
        rendered.push_str(&format!("resolution: {}\n", render_clock_status(&status.resolution)));
        rendered.push_str(&format!("ticket: {}\n", status.state.as_str()));
        for breach in ticket_sla.breaches(at(now_text)) {
            rendered.push_str(&format!("breach: {:?} due {} overdue by {}\n", breach.deadline, render(BERLIN, breach.due_at), format_duration(breach.overdue_by)));
        }
        expect.assert_eq(&rendered);
    }

    #[test]
    fn a_running_clock_goes_from_on_track_to_at_risk_to_breached() {
        check("2024-06-04 10:00", &[], "2024-06-04 12:00", expect![[r#"
            first response: on_track due Tue 2024-06-04 14:00 CEST (12:00 UTC), 2h left, paused 0s
            resolution: on_track due Fri 2024-06-07 10:00 CEST (08:00 UTC), 22h left, paused 0s
            ticket: on_track
        "#]]);
        // 45 minutes of 4 hours left is under a quarter.
        check("2024-06-04 10:00", &[], "2024-06-04 13:15", expect![[r#"
            first response: at_risk due Tue 2024-06-04 14:00 CEST (12:00 UTC), 45m left, paused 0s
            resolution: on_track due Fri 2024-06-07 10:00 CEST (08:00 UTC), 20h45m left, paused 0s
            ticket: at_risk
        "#]]);
        check("2024-06-04 10:00", &[], "2024-06-04 14:30", expect![[r#"
            first response: breached due Tue 2024-06-04 14:00 CEST (12:00 UTC), 0s left, paused 0s
            resolution: on_track due Fri 2024-06-07 10:00 CEST (08:00 UTC), 19h30m left, paused 0s
            ticket: breached
            breach: FirstResponse due Tue 2024-06-04 14:00 CEST (12:00 UTC) overdue by 30m
        "#]]);
    }

    #[test]
    fn completed_clocks_are_judged_at_completion() {
        check("2024-06-04 10:00", &["respond 2024-06-04 11:00"], "2024-06-20 10:00", expect![[r#"
            first response: on_track due Tue 2024-06-04 14:00 CEST (12:00 UTC), 3h left, paused 0s
            resolution: breached due Fri 2024-06-07 10:00 CEST (08:00 UTC), 0s left, paused 0s
            ticket: breached
            breach: Resolution due Fri 2024-06-07 10:00 CEST (08:00 UTC) overdue by 312h
        "#]]);
        check("2024-06-04 10:00", &["respond 2024-06-04 15:00", "resolve 2024-06-05 09:00"], "2024-06-20 10:00", expect![[r#"
            first response: breached due Tue 2024-06-04 14:00 CEST (12:00 UTC), 0s left, paused 0s
            resolution: on_track due Fri 2024-06-07 10:00 CEST (08:00 UTC), 17h left, paused 0s
            ticket: breached
            breach: FirstResponse due Tue 2024-06-04 14:00 CEST (12:00 UTC) overdue by 1h
        "#]]);
    }

    #[test]
    fn a_pause_over_a_weekend_moves_the_deadline_by_the_paused_business_time() {
        // Friday 10:00 + 4h is due Friday 14:00. Paused from Friday 11:00 to Monday 11:00: six
        // business hours on Friday and two on Monday, so both deadlines move by eight.
        check("2024-06-07 10:00", &["pause 2024-06-07 11:00", "resume 2024-06-10 11:00"], "2024-06-10 12:00", expect![[r#"
            first response: on_track due Mon 2024-06-10 14:00 CEST (12:00 UTC), 2h left, paused 8h
            resolution: on_track due Thu 2024-06-13 10:00 CEST (08:00 UTC), 22h left, paused 8h
            ticket: on_track
        "#]]);
        // While still paused the business time left stands still.
        check("2024-06-07 10:00", &["pause 2024-06-07 11:00"], "2024-06-08 12:00", expect![[r#"
            first response: on_track due Mon 2024-06-10 12:00 CEST (10:00 UTC), 3h left, paused 6h (paused now)
            resolution: on_track due Wed 2024-06-12 16:00 CEST (14:00 UTC), 23h left, paused 6h (paused now)
            ticket: on_track
        "#]]);
        check("2024-06-07 10:00", &["pause 2024-06-07 11:00"], "2024-06-10 16:00", expect![[r#"
            first response: on_track due Tue 2024-06-11 11:00 CEST (09:00 UTC), 3h left, paused 13h (paused now)
            resolution: on_track due Thu 2024-06-13 15:00 CEST (13:00 UTC), 23h left, paused 13h (paused now)
            ticket: on_track
        "#]]);
    }

    #[test]
    fn a_pause_after_the_deadline_does_not_undo_the_breach() {
        check("2024-06-04 10:00", &["pause 2024-06-04 15:00", "resume 2024-06-05 15:00"], "2024-06-05 16:00", expect![[r#"
            first response: breached due Tue 2024-06-04 14:00 CEST (12:00 UTC), 0s left, paused 8h
            resolution: on_track due Mon 2024-06-10 10:00 CEST (08:00 UTC), 18h left, paused 8h
            ticket: breached
            breach: FirstResponse due Tue 2024-06-04 14:00 CEST (12:00 UTC) overdue by 26h
        "#]]);
    }

    #[test]
    fn clock_events_in_the_wrong_order_are_refused() {
        check(
            "2024-06-04 10:00",
            &["resume 2024-06-04 11:00", "pause 2024-06-04 11:00", "pause 2024-06-04 11:30", "resume 2024-06-04 10:30", "respond 2024-06-04 10:45"],
            "2024-06-04 12:00",
            expect![[r#"
                resume 2024-06-04 11:00: sla clock is not paused
                pause 2024-06-04 11:30: sla clock is already paused
                resume 2024-06-04 10:30: sla clock event at 2024-06-04 08:30:00 UTC is earlier than the clock's last event at 2024-06-04 09:00:00 UTC
                respond 2024-06-04 10:45: sla clock event at 2024-06-04 08:45:00 UTC is earlier than the clock's last event at 2024-06-04 09:00:00 UTC
                first response: on_track due Tue 2024-06-04 15:00 CEST (13:00 UTC), 3h left, paused 1h (paused now)
                resolution: on_track due Fri 2024-06-07 11:00 CEST (09:00 UTC), 23h left, paused 1h (paused now)
                ticket: on_track
            "#]],
        );
    }

    #[test]
    fn a_zero_target_is_due_at_once() {
        let mut clock = SlaClock::start(at("2024-06-08 03:00"), TimeDelta::zero());
        let calendar = office(BERLIN);
        assert_eq!(clock.status(at("2024-06-08 03:00"), &calendar, 0.25).state, SlaState::OnTrack);
        assert_eq!(clock.status(at("2024-06-08 03:01"), &calendar, 0.25).state, SlaState::Breached);
        clock.complete(at("2024-06-08 03:00")).unwrap();
        assert_eq!(clock.status(at("2024-06-09 03:00"), &calendar, 0.25).state, SlaState::OnTrack);
    }

    #[test]
    fn ticket_sla_round_trips_through_serde() {
        let mut ticket_sla = TicketSla::start(&berlin_policy(TimeDelta::hours(4), TimeDelta::hours(24)), at("2024-06-07 10:00"));
        ticket_sla.pause(at("2024-06-07 11:00")).unwrap();
        let json = serde_json::to_string(&ticket_sla).unwrap();
        assert_eq!(serde_json::from_str::<TicketSla>(&json).unwrap(), ticket_sla);
        expect![[r#"{"policy_name":"office","calendar":{"kind":"business_hours","time_zone":"Europe/Berlin","weekly_hours":{"monday":["09:00-17:00"],"tuesday":["09:00-17:00"],"wednesday":["09:00-17:00"],"thursday":["09:00-17:00"],"friday":["09:00-17:00"],"saturday":[],"sunday":[]},"holidays":[]},"first_response":{"started_at":"2024-06-07T08:00:00Z","target":"4h","pauses":[{"paused_at":"2024-06-07T09:00:00Z","resumed_at":null}],"completed_at":null},"resolution":{"started_at":"2024-06-07T08:00:00Z","target":"24h","pauses":[{"paused_at":"2024-06-07T09:00:00Z","resumed_at":null}],"completed_at":null}}"#]].assert_eq(&json);
    }
}
