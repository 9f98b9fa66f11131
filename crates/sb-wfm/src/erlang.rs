//! Staffing maths: Erlang C (M/M/N, callers wait forever) and Erlang A (M/M/N+M, callers abandon
//! after an exponential patience), the agents a target needs, shrinkage, and a plan per interval.
//!
//! Numerics: Erlang B comes from its recursion `B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))`, whose
//! terms stay in [0, 1], so thousands of agents neither overflow nor lose precision (no
//! factorials, no powers). Erlang C follows from B: `C = N·B / (N − A·(1 − B))`. The Erlang A
//! birth-death chain is summed in log space around its mode for the same reason.
//!
//! Formulas: Erlang C service level `1 − C·e^{−(N−A)·T/AHT}` and ASA `C·AHT/(N−A)` (Cooper,
//! *Introduction to Queueing Theory*, 1981, §4.4); Erlang A from the M/M/N+M chain (Garnett,
//! Mandelbaum & Reiman, *Designing a call center with impatient customers*, MSOM 2002), where
//! `P(abandon) = θ·E[Q]/λ` and, by Little's law, the mean wait of all callers is `E[Q]/λ`.

use crate::{invalid, Error, Result};
use serde::Serialize;

/// Offered work in one interval: how many contacts arrive, over how long, and how long each
/// takes to handle (talk plus wrap-up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    pub calls: f64,
    pub interval_seconds: f64,
    pub aht_seconds: f64,
}

impl Workload {
    pub fn new(calls: f64, interval_seconds: f64, aht_seconds: f64) -> Result<Workload> {
        if !(calls.is_finite() && calls >= 0.0) {
            return Err(invalid("calls", format!("{calls} is not a non-negative number")));
        }
        if !(interval_seconds.is_finite() && interval_seconds > 0.0) {
            return Err(invalid("interval", format!("{interval_seconds} s is not a positive duration")));
        }
        if !(aht_seconds.is_finite() && aht_seconds > 0.0) {
            return Err(invalid("aht", format!("{aht_seconds} s is not a positive duration")));
        }
        Ok(Workload { calls, interval_seconds, aht_seconds })
    }

    /// Traffic intensity A = λ·AHT in Erlangs (the average number of busy agents).
    pub fn erlangs(&self) -> f64 {
        self.calls / self.interval_seconds * self.aht_seconds
    }

    /// Arrival rate per second.
    pub fn arrival_rate(&self) -> f64 {
        self.calls / self.interval_seconds
    }
}

/// Erlang B blocking probability for `agents` servers and `erlangs` offered load.
pub fn erlang_b(agents: u32, erlangs: f64) -> f64 {
    let mut blocking = 1.0;
    for n in 1..=agents {
        blocking = next_erlang_b(blocking, n, erlangs);
    }
    blocking
}

fn next_erlang_b(previous: f64, n: u32, erlangs: f64) -> f64 {
    let numerator = erlangs * previous;
    numerator / (f64::from(n) + numerator)
}

fn erlang_c_from_b(agents: u32, erlangs: f64, blocking: f64) -> f64 {
    let n = f64::from(agents);
    if n <= erlangs {
        return 1.0;
    }
    n * blocking / (n - erlangs * (1.0 - blocking))
}

/// Erlang C: the probability that a caller waits. 1 when the agents cannot carry the load
/// (N ≤ A: the queue grows without bound).
pub fn erlang_c(agents: u32, erlangs: f64) -> f64 {
    erlang_c_from_b(agents, erlangs, erlang_b(agents, erlangs))
}

/// A service-level target such as "80/20s": `fraction` of callers answered within `seconds`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceLevelTarget {
    pub fraction: f64,
    pub seconds: f64,
}

impl ServiceLevelTarget {
    /// Parses `80/20s`, `80/20`, `0.8/20s` or `80%/20s`.
    pub fn parse(text: &str) -> Result<ServiceLevelTarget> {
        let bad = || invalid("service level target", format!("`{text}` is not like 80/20s (80 % of calls answered within 20 s)"));
        let (percent_text, seconds_text) = text.trim().split_once('/').ok_or_else(bad)?;
        let percent: f64 = percent_text.trim().trim_end_matches('%').parse().map_err(|_| bad())?;
        let seconds: f64 = seconds_text.trim().trim_end_matches('s').parse().map_err(|_| bad())?;
        let fraction = if percent > 1.0 { percent / 100.0 } else { percent };
        if !(fraction > 0.0 && fraction < 1.0 && seconds >= 0.0 && seconds.is_finite()) {
            return Err(bad());
        }
        Ok(ServiceLevelTarget { fraction, seconds })
    }
}

/// What a staffing must achieve; every given constraint must hold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Target {
    pub service_level: Option<ServiceLevelTarget>,
    pub max_asa_seconds: Option<f64>,
    /// Upper bound on occupancy A/N (e.g. 0.85), so agents are not run at 100 %.
    pub max_occupancy: Option<f64>,
}

impl Target {
    fn validate(&self) -> Result<()> {
        if let Some(asa) = self.max_asa_seconds {
            if !(asa > 0.0 && asa.is_finite()) {
                return Err(invalid("asa target", format!("{asa} s must be a positive duration")));
            }
        }
        if let Some(occupancy) = self.max_occupancy {
            if !(occupancy > 0.0 && occupancy <= 1.0) {
                return Err(invalid("max occupancy", format!("{occupancy} must be in (0, 1]")));
            }
        }
        Ok(())
    }
}

/// Erlang C figures for one staffing level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErlangCMetrics {
    pub agents: u32,
    pub probability_wait: f64,
    /// Share answered within the target's seconds (0 seconds when no target is given).
    pub service_level: f64,
    pub asa_seconds: f64,
    pub occupancy: f64,
}

fn metrics_from_c(workload: &Workload, agents: u32, probability_wait: f64, answer_within_seconds: f64) -> ErlangCMetrics {
    let erlangs = workload.erlangs();
    let n = f64::from(agents);
    if n <= erlangs {
        return ErlangCMetrics { agents, probability_wait: 1.0, service_level: 0.0, asa_seconds: f64::INFINITY, occupancy: 1.0 };
    }
    let spare = n - erlangs;
    ErlangCMetrics {
        agents,
        probability_wait,
        service_level: 1.0 - probability_wait * (-spare * answer_within_seconds / workload.aht_seconds).exp(),
        asa_seconds: probability_wait * workload.aht_seconds / spare,
        // No agents and no calls: nobody is busy.
        occupancy: if agents == 0 { 0.0 } else { erlangs / n },
    }
}

/// Erlang C service level, ASA, occupancy and probability of waiting with `agents` agents.
pub fn erlang_c_metrics(workload: &Workload, agents: u32, answer_within_seconds: f64) -> ErlangCMetrics {
    let probability_wait = erlang_c(agents, workload.erlangs());
    metrics_from_c(workload, agents, probability_wait, answer_within_seconds)
}

/// Beyond this many agents above the load, a target is treated as unreachable: at N = A + 50·√A
/// + 50 every Erlang C target with a positive wait allowance is met many times over.
fn search_limit(erlangs: f64) -> u32 {
    (erlangs + 50.0 * erlangs.sqrt() + 50.0).ceil().min(f64::from(u32::MAX - 1)) as u32
}

fn meets(metrics: &ErlangCMetrics, target: &Target, erlangs: f64) -> bool {
    if erlangs > 0.0 && f64::from(metrics.agents) <= erlangs {
        return false;
    }
    let service_level_ok = target.service_level.is_none_or(|sl| metrics.service_level >= sl.fraction);
    let asa_ok = target.max_asa_seconds.is_none_or(|asa| metrics.asa_seconds <= asa);
    let occupancy_ok = target.max_occupancy.is_none_or(|cap| metrics.occupancy <= cap);
    service_level_ok && asa_ok && occupancy_ok
}

/// The fewest agents that meet every constraint of `target` under Erlang C, with their figures.
/// The Erlang B recursion advances one agent at a time, so the search costs O(N) in total.
pub fn agents_needed(workload: &Workload, target: &Target) -> Result<ErlangCMetrics> {
    target.validate()?;
    let erlangs = workload.erlangs();
    let answer_within = target.service_level.map_or(0.0, |sl| sl.seconds);
    if erlangs == 0.0 {
        return Ok(metrics_from_c(workload, 0, 0.0, answer_within));
    }
    let max_agents = search_limit(erlangs);
    let mut blocking = 1.0;
    for agents in 1..=max_agents {
        blocking = next_erlang_b(blocking, agents, erlangs);
        if f64::from(agents) <= erlangs {
            continue;
        }
        let metrics = metrics_from_c(workload, agents, erlang_c_from_b(agents, erlangs, blocking), answer_within);
        if meets(&metrics, target, erlangs) {
            return Ok(metrics);
        }
    }
    Err(Error::Unreachable { max_agents })
}

/// Agents to schedule so that `agents` are on the phones after shrinkage (breaks, training,
/// absence): ⌈N / (1 − shrinkage)⌉. A relative tolerance keeps 14 / 0.7 at 20, not 21.
pub fn scheduled_agents(agents: u32, shrinkage: f64) -> Result<u32> {
    if !(0.0..1.0).contains(&shrinkage) {
        return Err(invalid("shrinkage", format!("{shrinkage} must be in [0, 1)")));
    }
    let exact = f64::from(agents) / (1.0 - shrinkage);
    Ok((exact - 1e-9 * exact.max(1.0)).ceil() as u32)
}

/// Erlang A figures for one staffing level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErlangAMetrics {
    pub agents: u32,
    pub probability_wait: f64,
    pub probability_abandon: f64,
    /// Answered within the target time over all callers (callers who abandon count as misses).
    pub service_level: f64,
    /// Mean wait of all callers, answered or abandoned.
    pub asa_seconds: f64,
    pub occupancy: f64,
}

/// Stationary distribution of the M/M/N+M birth-death chain (births λ, deaths
/// min(j, N)·μ + (j − N)⁺·θ), cut where the tail is negligible. Weights are built in log space
/// and normalised from their maximum, so neither large N nor small A overflows.
fn erlang_a_distribution(arrival_rate: f64, service_rate: f64, abandon_rate: f64, agents: usize) -> Vec<f64> {
    let mut log_weights = Vec::with_capacity(agents + 64);
    log_weights.push(0.0f64);
    let mut log_weight = 0.0f64;
    let mut max_log = 0.0f64;
    let mut state = 1usize;
    loop {
        let death_rate = (state.min(agents) as f64) * service_rate + (state.saturating_sub(agents) as f64) * abandon_rate;
        log_weight += (arrival_rate / death_rate).ln();
        log_weights.push(log_weight);
        max_log = max_log.max(log_weight);
        // Above N the death rate grows with the state, so past the mode the tail decays faster
        // than geometrically: stop once the terms are e^-50 below the largest.
        let past_mode = state > agents && arrival_rate < death_rate;
        if past_mode && log_weight < max_log - 50.0 {
            break;
        }
        state += 1;
    }
    let mut probabilities: Vec<f64> = log_weights.iter().map(|log_w| (log_w - max_log).exp()).collect();
    let total: f64 = probabilities.iter().sum();
    probabilities.iter_mut().for_each(|probability| *probability /= total);
    probabilities
}

/// P(answered within `answer_within_seconds`) under Erlang A. A caller who finds k callers
/// waiting ahead moves up at rate r_i = Nμ + iθ (a service completion or an abandonment ahead)
/// and gives up at rate θ; it is answered in time when it clears k+1 such steps before T without
/// giving up: Π r_i/(r_i + θ) · P(Σ Exp(r_i + θ) ≤ T). The hypoexponential CDF for every k comes
/// from one uniformisation pass (a pure-death chain, Poisson-weighted step counts).
fn erlang_a_service_level(probabilities: &[f64], service_rate: f64, abandon_rate: f64, agents: usize, answer_within_seconds: f64) -> f64 {
    let immediate: f64 = probabilities.iter().take(agents).sum();
    if agents == 0 || probabilities.len() <= agents {
        return immediate;
    }
    let max_ahead = probabilities.len() - agents - 1;
    let n_mu = agents as f64 * service_rate;
    let step_rate = |ahead: usize| n_mu + (ahead + 1) as f64 * abandon_rate;
    let uniform_rate = step_rate(max_ahead);
    let mean_steps = uniform_rate * answer_within_seconds;
    // absorbed[i]: P(cleared within m uniformised steps | i + 1 steps to go), for m = 0, 1, ...
    let mut absorbed = vec![0.0f64; max_ahead + 1];
    let mut cleared_by_deadline = vec![0.0f64; max_ahead + 1];
    let max_steps = (mean_steps + 10.0 * mean_steps.sqrt() + 20.0).ceil() as usize;
    let mut log_poisson = -mean_steps;
    for step in 0..=max_steps {
        if step > 0 {
            log_poisson += mean_steps.ln() - (step as f64).ln();
            // Update from the top so absorbed[i − 1] still holds the previous step's value.
            for ahead in (0..=max_ahead).rev() {
                let move_probability = step_rate(ahead) / uniform_rate;
                let below = if ahead == 0 { 1.0 } else { absorbed[ahead - 1] };
                absorbed[ahead] = move_probability * below + (1.0 - move_probability) * absorbed[ahead];
            }
        }
        let poisson = log_poisson.exp();
        if poisson > 0.0 {
            for (total, value) in cleared_by_deadline.iter_mut().zip(&absorbed) {
                *total += poisson * value;
            }
        }
    }
    let mut answered_in_time = immediate;
    let mut survive = 1.0;
    for ahead in 0..=max_ahead {
        let move_rate = n_mu + ahead as f64 * abandon_rate;
        survive *= move_rate / (move_rate + abandon_rate);
        answered_in_time += probabilities[agents + ahead] * survive * cleared_by_deadline[ahead].min(1.0);
    }
    answered_in_time
}

/// Erlang A (M/M/N+M): callers abandon after an exponential patience with mean
/// `mean_patience_seconds`. Unlike Erlang C it is stable for any N, even N ≤ A.
pub fn erlang_a(workload: &Workload, agents: u32, mean_patience_seconds: f64, answer_within_seconds: f64) -> Result<ErlangAMetrics> {
    if !(mean_patience_seconds > 0.0 && mean_patience_seconds.is_finite()) {
        return Err(invalid("patience", format!("{mean_patience_seconds} s must be a positive duration")));
    }
    let arrival_rate = workload.arrival_rate();
    if arrival_rate == 0.0 {
        return Ok(ErlangAMetrics { agents, probability_wait: 0.0, probability_abandon: 0.0, service_level: 1.0, asa_seconds: 0.0, occupancy: 0.0 });
    }
    let service_rate = 1.0 / workload.aht_seconds;
    let abandon_rate = 1.0 / mean_patience_seconds;
    let n = agents as usize;
    let probabilities = erlang_a_distribution(arrival_rate, service_rate, abandon_rate, n);
    let probability_wait: f64 = probabilities.iter().skip(n).sum();
    let expected_queue: f64 = probabilities.iter().enumerate().skip(n).map(|(state, probability)| (state - n) as f64 * probability).sum();
    let expected_busy: f64 = probabilities.iter().enumerate().map(|(state, probability)| state.min(n) as f64 * probability).sum();
    // Little's law: E[Q] = λ·E[W] over all callers; each waiting caller abandons at rate θ.
    let mean_wait = expected_queue / arrival_rate;
    Ok(ErlangAMetrics {
        agents,
        probability_wait,
        probability_abandon: abandon_rate * mean_wait,
        service_level: erlang_a_service_level(&probabilities, service_rate, abandon_rate, n, answer_within_seconds),
        asa_seconds: mean_wait,
        occupancy: if agents == 0 { 0.0 } else { expected_busy / agents as f64 },
    })
}

/// The fewest agents that meet every constraint of `target` under Erlang A. Every figure
/// improves with each added agent, so a binary search over [0, limit] finds it in O(log N)
/// evaluations.
pub fn agents_needed_erlang_a(workload: &Workload, mean_patience_seconds: f64, target: &Target) -> Result<ErlangAMetrics> {
    target.validate()?;
    let answer_within = target.service_level.map_or(0.0, |sl| sl.seconds);
    let meets_a = |metrics: &ErlangAMetrics| {
        target.service_level.is_none_or(|sl| metrics.service_level >= sl.fraction)
            && target.max_asa_seconds.is_none_or(|asa| metrics.asa_seconds <= asa)
            && target.max_occupancy.is_none_or(|cap| metrics.occupancy <= cap)
    };
    let max_agents = search_limit(workload.erlangs());
    let top = erlang_a(workload, max_agents, mean_patience_seconds, answer_within)?;
    if !meets_a(&top) {
        return Err(Error::Unreachable { max_agents });
    }
    let (mut low, mut high, mut best) = (0u32, max_agents, top);
    while low < high {
        let middle = low + (high - low) / 2;
        let metrics = erlang_a(workload, middle, mean_patience_seconds, answer_within)?;
        if meets_a(&metrics) {
            high = middle;
            best = metrics;
        } else {
            low = middle + 1;
        }
    }
    Ok(best)
}

/// Staffing for one interval: the agents the target needs and the agents to schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Staffing {
    pub agents: u32,
    pub scheduled_agents: u32,
    pub service_level: f64,
    pub asa_seconds: f64,
    pub occupancy: f64,
    pub probability_wait: f64,
}

/// Agents and scheduled agents for one workload.
pub fn staff(workload: &Workload, target: &Target, shrinkage: f64) -> Result<Staffing> {
    let metrics = agents_needed(workload, target)?;
    Ok(Staffing {
        agents: metrics.agents,
        scheduled_agents: scheduled_agents(metrics.agents, shrinkage)?,
        service_level: metrics.service_level,
        asa_seconds: metrics.asa_seconds,
        occupancy: metrics.occupancy,
        probability_wait: metrics.probability_wait,
    })
}

/// A staffing plan: one [`Staffing`] per forecast interval (calls per interval, same AHT).
pub fn plan(calls_per_interval: &[f64], interval_seconds: f64, aht_seconds: f64, target: &Target, shrinkage: f64) -> Result<Vec<Staffing>> {
    calls_per_interval
        .iter()
        .map(|&calls| staff(&Workload::new(calls.max(0.0), interval_seconds, aht_seconds)?, target, shrinkage))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(value: f64, decimals: i32) -> f64 {
        let scale = 10f64.powi(decimals);
        (value * scale).round() / scale
    }

    fn sl(fraction: f64, seconds: f64) -> Option<ServiceLevelTarget> {
        Some(ServiceLevelTarget { fraction, seconds })
    }

    /// Published cases: (calls, interval s, AHT s, target, shrinkage, agents, scheduled).
    #[test]
    fn agents_needed_matches_published_cases() {
        let cases = [
            (100.0, 1800.0, 180.0, Target { service_level: sl(0.8, 20.0), ..Target::default() }, 0.3, 14, 20),
            (100.0, 1800.0, 180.0, Target { service_level: sl(0.8, 20.0), max_occupancy: Some(0.85), ..Target::default() }, 0.3, 14, 20),
            (100.0, 1800.0, 180.0, Target { service_level: sl(0.8, 20.0), max_occupancy: Some(0.70), ..Target::default() }, 0.3, 15, 22),
            (200.0, 3600.0, 180.0, Target { max_asa_seconds: Some(120.0), ..Target::default() }, 0.0, 12, 12),
        ];
        for (calls, interval, aht, target, shrinkage, agents, scheduled) in cases {
            let workload = Workload::new(calls, interval, aht).unwrap();
            let staffing = staff(&workload, &target, shrinkage).unwrap();
            assert_eq!((staffing.agents, staffing.scheduled_agents), (agents, scheduled), "{calls} calls / {interval} s, {target:?}");
        }
    }

    #[test]
    fn erlang_c_figures_match_published_case() {
        let workload = Workload::new(100.0, 1800.0, 180.0).unwrap();
        let metrics = erlang_c_metrics(&workload, 14, 20.0);
        assert_eq!(round(metrics.service_level, 4), 0.8884);
        assert_eq!(round(metrics.probability_wait, 4), 0.1741);
        assert_eq!(round(metrics.asa_seconds, 2), 7.84);
        assert_eq!(round(erlang_c(25, 20.0), 4), 0.2091);
    }

    #[test]
    fn erlang_a_matches_published_case() {
        let workload = Workload::new(100.0, 1800.0, 180.0).unwrap();
        let metrics = erlang_a(&workload, 14, 300.0, 20.0).unwrap();
        assert_eq!(round(metrics.probability_wait, 5), 0.14526);
        assert_eq!(round(metrics.probability_abandon, 6), 0.013984);
        assert_eq!(round(metrics.asa_seconds, 3), 4.195);
    }

    #[test]
    fn erlang_a_approaches_erlang_c_as_patience_grows() {
        let workload = Workload::new(100.0, 1800.0, 180.0).unwrap();
        let c = erlang_c_metrics(&workload, 14, 0.0);
        let a = erlang_a(&workload, 14, 1e9, 0.0).unwrap();
        assert!((a.probability_wait - c.probability_wait).abs() < 1e-5, "{a:?} vs {c:?}");
        let c20 = erlang_c_metrics(&workload, 14, 20.0);
        let a20 = erlang_a(&workload, 14, 1e9, 20.0).unwrap();
        assert!((a20.service_level - c20.service_level).abs() < 1e-4, "{a20:?} vs {c20:?}");
        assert!((a.asa_seconds - c.asa_seconds).abs() < 1e-3, "{a:?} vs {c:?}");
    }

    #[test]
    fn large_loads_stay_finite_and_ordered() {
        // 5,000 Erlangs: factorial-based formulas overflow long before this.
        let workload = Workload::new(100_000.0, 3600.0, 180.0).unwrap();
        let target = Target { service_level: sl(0.8, 20.0), ..Target::default() };
        let metrics = agents_needed(&workload, &target).unwrap();
        assert!(metrics.agents > 5000 && metrics.agents < 5200, "{metrics:?}");
        assert!(metrics.service_level >= 0.8 && metrics.probability_wait.is_finite());
        let fewer = erlang_c_metrics(&workload, metrics.agents - 1, 20.0);
        assert!(fewer.service_level < 0.8, "the search returns the smallest staffing: {fewer:?}");
        let a = erlang_a(&workload, 4990, 120.0, 20.0).unwrap();
        assert!(a.probability_abandon > 0.0 && a.probability_abandon < 0.05, "{a:?}");
    }

    #[test]
    fn erlang_a_staffing_needs_no_more_than_erlang_c() {
        let target = Target { service_level: sl(0.8, 20.0), ..Target::default() };
        for (calls, patience) in [(100.0, 300.0), (100.0, 60.0), (1000.0, 120.0), (20_000.0, 180.0)] {
            let workload = Workload::new(calls, 1800.0, 180.0).unwrap();
            let c = agents_needed(&workload, &target).unwrap();
            let a = agents_needed_erlang_a(&workload, patience, &target).unwrap();
            assert!(a.agents <= c.agents && a.service_level >= 0.8, "{calls} calls, patience {patience}: {a:?} vs {c:?}");
            let fewer = erlang_a(&workload, a.agents - 1, patience, 20.0).unwrap();
            assert!(fewer.service_level < 0.8, "the smallest staffing: {fewer:?}");
        }
    }

    #[test]
    fn service_level_targets_parse() {
        let cases = [("80/20s", Some((0.8, 20.0))), ("90%/15s", Some((0.9, 15.0))), ("0.8/20", Some((0.8, 20.0))), ("80", None), ("120/20s", None), ("80/xs", None)];
        for (text, expect) in cases {
            let parsed = ServiceLevelTarget::parse(text).ok().map(|t| (t.fraction, t.seconds));
            assert_eq!(parsed, expect, "{text}");
        }
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Workload::new(-1.0, 1800.0, 180.0).is_err());
        assert!(Workload::new(10.0, 0.0, 180.0).is_err());
        assert!(scheduled_agents(10, 1.0).is_err());
        let workload = Workload::new(10.0, 1800.0, 180.0).unwrap();
        assert!(agents_needed(&workload, &Target { max_occupancy: Some(1.5), ..Target::default() }).is_err());
        assert!(erlang_a(&workload, 3, 0.0, 20.0).is_err());
    }

    #[test]
    fn zero_calls_need_zero_agents() {
        let workload = Workload::new(0.0, 900.0, 180.0).unwrap();
        let staffing = staff(&workload, &Target { service_level: sl(0.8, 20.0), ..Target::default() }, 0.3).unwrap();
        assert_eq!((staffing.agents, staffing.scheduled_agents), (0, 0));
    }
}
