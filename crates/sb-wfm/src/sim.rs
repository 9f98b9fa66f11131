//! Discrete-event simulation of a contact-centre queue: Poisson arrivals per contact type, any
//! handle-time distribution, optional patience (any distribution: callers abandon when their wait
//! exceeds it), and skills (each agent serves a set of contact types).
//!
//! It checks the Erlang formulas (a single type, exponential times: Erlang C; with exponential
//! patience: Erlang A) and answers what they cannot: skills, log-normal handle times, patience
//! that is not exponential. Seeded: the same configuration and seed give the same result.
//!
//! Routing: an arriving contact goes to the idle agent with the fewest skills that can serve it
//! (keep generalists free), else waits in its type's FIFO queue; a freed agent takes the
//! longest-waiting contact among the types it serves.

use crate::{invalid, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution as _, Exp, Gamma, LogNormal};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// A positive random duration in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Duration {
    Exponential { mean: f64 },
    Fixed { seconds: f64 },
    /// Log-normal with the given mean and coefficient of variation (typical of handle times).
    LogNormal { mean: f64, cv: f64 },
    /// Gamma with the given mean and coefficient of variation.
    Gamma { mean: f64, cv: f64 },
}

/// A duration distribution ready to sample.
#[derive(Debug, Clone, Copy)]
enum Sampler {
    Exponential(Exp<f64>),
    Fixed(f64),
    LogNormal(LogNormal<f64>),
    Gamma(Gamma<f64>),
}

impl Duration {
    pub fn mean(&self) -> f64 {
        match *self {
            Duration::Exponential { mean } | Duration::LogNormal { mean, .. } | Duration::Gamma { mean, .. } => mean,
            Duration::Fixed { seconds } => seconds,
        }
    }

    fn sampler(&self, name: &'static str) -> Result<Sampler> {
        let mean = self.mean();
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(invalid(name, format!("mean {mean} s must be positive")));
        }
        let bad_cv = |cv: f64| invalid(name, format!("coefficient of variation {cv} must be positive"));
        Ok(match *self {
            Duration::Exponential { mean } => Sampler::Exponential(Exp::new(1.0 / mean).map_err(|e| invalid(name, e.to_string()))?),
            Duration::Fixed { seconds } => Sampler::Fixed(seconds),
            Duration::LogNormal { mean, cv } => {
                if cv.is_nan() || cv <= 0.0 {
                    return Err(bad_cv(cv));
                }
                // For log-normal: σ² = ln(1 + cv²), μ = ln(mean) − σ²/2.
                let sigma_squared = (1.0 + cv * cv).ln();
                Sampler::LogNormal(LogNormal::new(mean.ln() - sigma_squared / 2.0, sigma_squared.sqrt()).map_err(|e| invalid(name, e.to_string()))?)
            }
            Duration::Gamma { mean, cv } => {
                if cv.is_nan() || cv <= 0.0 {
                    return Err(bad_cv(cv));
                }
                let shape = 1.0 / (cv * cv);
                Sampler::Gamma(Gamma::new(shape, mean / shape).map_err(|e| invalid(name, e.to_string()))?)
            }
        })
    }
}

impl Sampler {
    fn sample(&self, rng: &mut StdRng) -> f64 {
        match self {
            Sampler::Exponential(distribution) => distribution.sample(rng),
            Sampler::Fixed(seconds) => *seconds,
            Sampler::LogNormal(distribution) => distribution.sample(rng),
            Sampler::Gamma(distribution) => distribution.sample(rng),
        }
    }
}

/// One contact type (an intent, a language, a channel: whatever skills are about).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactType {
    pub arrivals_per_second: f64,
    pub handle_time: Duration,
    /// None: callers wait as long as it takes (Erlang C's assumption).
    pub patience: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub contact_types: Vec<ContactType>,
    /// Per agent, the indices of the contact types it serves.
    pub agent_skills: Vec<Vec<usize>>,
    pub answer_within_seconds: f64,
    /// Contacts arriving before this are simulated but not counted (the empty start).
    pub warmup_seconds: f64,
    /// Arrivals stop here; contacts already in the system are played out.
    pub duration_seconds: f64,
    pub seed: u64,
}

impl SimConfig {
    /// One contact type and `agents` interchangeable agents: the Erlang C / Erlang A setting.
    pub fn single_queue(arrivals_per_second: f64, handle_time: Duration, patience: Option<Duration>, agents: usize, answer_within_seconds: f64, duration_seconds: f64, seed: u64) -> SimConfig {
        SimConfig {
            contact_types: vec![ContactType { arrivals_per_second, handle_time, patience }],
            agent_skills: vec![vec![0]; agents],
            answer_within_seconds,
            warmup_seconds: duration_seconds * 0.05,
            duration_seconds,
            seed,
        }
    }
}

/// Counted contacts' outcomes, overall or for one contact type.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SimStats {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// Answered within the target over offered (abandoned contacts count as misses).
    pub service_level: f64,
    pub probability_wait: f64,
    pub probability_abandon: f64,
    /// Mean wait of all counted contacts, answered or abandoned.
    pub asa_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimResult {
    pub overall: SimStats,
    pub per_type: Vec<SimStats>,
    /// Busy time of agents over agent time in the counted window.
    pub occupancy: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum EventKind {
    Arrival { contact_type: usize },
    Departure { agent: usize },
    Abandon { contact: usize },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Event {
    time: f64,
    /// Insertion order: breaks ties so the run is deterministic.
    sequence: u64,
    kind: EventKind,
}

impl Eq for Event {}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse to pop the earliest event first.
        other.time.total_cmp(&self.time).then_with(|| other.sequence.cmp(&self.sequence))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ContactState {
    Waiting,
    Served,
    Abandoned,
}

struct Contact {
    contact_type: usize,
    arrival: f64,
    state: ContactState,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    offered: u64,
    answered: u64,
    answered_in_time: u64,
    waited: u64,
    abandoned: u64,
    total_wait: f64,
}

impl Tally {
    fn stats(&self) -> SimStats {
        let offered = self.offered.max(1) as f64;
        SimStats {
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            service_level: self.answered_in_time as f64 / offered,
            probability_wait: self.waited as f64 / offered,
            probability_abandon: self.abandoned as f64 / offered,
            asa_seconds: self.total_wait / offered,
        }
    }
}

struct Simulation<'a> {
    config: &'a SimConfig,
    rng: StdRng,
    events: BinaryHeap<Event>,
    sequence: u64,
    contacts: Vec<Contact>,
    queues: Vec<VecDeque<usize>>,
    agent_idle: Vec<bool>,
    /// Per contact type, its agents sorted by number of skills (specialists first).
    agents_by_type: Vec<Vec<usize>>,
    tallies: Vec<Tally>,
    busy_seconds: f64,
}

impl Simulation<'_> {
    fn schedule(&mut self, time: f64, kind: EventKind) {
        self.sequence += 1;
        self.events.push(Event { time, sequence: self.sequence, kind });
    }

    fn counted(&self, contact: usize) -> bool {
        let arrival = self.contacts[contact].arrival;
        arrival >= self.config.warmup_seconds && arrival < self.config.duration_seconds
    }

    fn start_service(&mut self, contact: usize, agent: usize, now: f64, handle_samplers: &[Sampler]) {
        let contact_type = self.contacts[contact].contact_type;
        self.contacts[contact].state = ContactState::Served;
        self.agent_idle[agent] = false;
        let handle = handle_samplers[contact_type].sample(&mut self.rng);
        if self.counted(contact) {
            let wait = now - self.contacts[contact].arrival;
            let tally = &mut self.tallies[contact_type];
            tally.answered += 1;
            tally.total_wait += wait;
            if wait > 0.0 {
                tally.waited += 1;
            }
            if wait <= self.config.answer_within_seconds {
                tally.answered_in_time += 1;
            }
            self.busy_seconds += handle;
        }
        self.schedule(now + handle, EventKind::Departure { agent });
    }
}

/// Runs the simulation to the end of `config.duration_seconds` plus the contacts still inside.
pub fn simulate(config: &SimConfig) -> Result<SimResult> {
    let n_types = config.contact_types.len();
    if n_types == 0 {
        return Err(invalid("contact types", "at least one is needed"));
    }
    if let Some(skill) = config.agent_skills.iter().flatten().find(|&&skill| skill >= n_types) {
        return Err(invalid("agent skills", format!("contact type {skill} does not exist ({n_types} types)")));
    }
    if !(config.duration_seconds > config.warmup_seconds && config.warmup_seconds >= 0.0) {
        return Err(invalid("duration", "must be longer than the warm-up"));
    }
    let mut handle_samplers = Vec::with_capacity(n_types);
    let mut patience_samplers = Vec::with_capacity(n_types);
    let mut arrival_samplers = Vec::with_capacity(n_types);
    for contact_type in &config.contact_types {
        handle_samplers.push(contact_type.handle_time.sampler("handle time")?);
        patience_samplers.push(contact_type.patience.map(|patience| patience.sampler("patience")).transpose()?);
        arrival_samplers.push(if contact_type.arrivals_per_second > 0.0 {
            Some(Exp::new(contact_type.arrivals_per_second).map_err(|e| invalid("arrival rate", e.to_string()))?)
        } else {
            None
        });
    }
    let mut agents_by_type: Vec<Vec<usize>> = vec![Vec::new(); n_types];
    for (agent, skills) in config.agent_skills.iter().enumerate() {
        for &skill in skills {
            agents_by_type[skill].push(agent);
        }
    }
    for agents in &mut agents_by_type {
        agents.sort_by_key(|&agent| (config.agent_skills[agent].len(), agent));
    }
    let mut simulation = Simulation {
        config,
        rng: StdRng::seed_from_u64(config.seed),
        events: BinaryHeap::new(),
        sequence: 0,
        contacts: Vec::new(),
        queues: vec![VecDeque::new(); n_types],
        agent_idle: vec![true; config.agent_skills.len()],
        agents_by_type,
        tallies: vec![Tally::default(); n_types],
        busy_seconds: 0.0,
    };
    for (contact_type, sampler) in arrival_samplers.iter().enumerate() {
        if let Some(sampler) = sampler {
            let first = sampler.sample(&mut simulation.rng);
            simulation.schedule(first, EventKind::Arrival { contact_type });
        }
    }
    while let Some(event) = simulation.events.pop() {
        let now = event.time;
        match event.kind {
            EventKind::Arrival { contact_type } => {
                if now >= config.duration_seconds {
                    continue;
                }
                if let Some(sampler) = &arrival_samplers[contact_type] {
                    let next = now + sampler.sample(&mut simulation.rng);
                    simulation.schedule(next, EventKind::Arrival { contact_type });
                }
                let contact = simulation.contacts.len();
                simulation.contacts.push(Contact { contact_type, arrival: now, state: ContactState::Waiting });
                if simulation.counted(contact) {
                    simulation.tallies[contact_type].offered += 1;
                }
                let idle_agent = simulation.agents_by_type[contact_type].iter().copied().find(|&agent| simulation.agent_idle[agent]);
                match idle_agent {
                    Some(agent) => simulation.start_service(contact, agent, now, &handle_samplers),
                    None => {
                        simulation.queues[contact_type].push_back(contact);
                        if let Some(patience) = &patience_samplers[contact_type] {
                            let gives_up = now + patience.sample(&mut simulation.rng);
                            simulation.schedule(gives_up, EventKind::Abandon { contact });
                        }
                    }
                }
            }
            EventKind::Abandon { contact } => {
                if simulation.contacts[contact].state != ContactState::Waiting {
                    continue;
                }
                simulation.contacts[contact].state = ContactState::Abandoned;
                if simulation.counted(contact) {
                    let contact_type = simulation.contacts[contact].contact_type;
                    let tally = &mut simulation.tallies[contact_type];
                    tally.abandoned += 1;
                    tally.waited += 1;
                    tally.total_wait += now - simulation.contacts[contact].arrival;
                }
                // The queue entry stays and is skipped when it reaches the front.
            }
            EventKind::Departure { agent } => {
                simulation.agent_idle[agent] = true;
                // The longest-waiting contact among the types this agent serves.
                let mut oldest: Option<(f64, usize)> = None;
                for &skill in &config.agent_skills[agent] {
                    let queue = &mut simulation.queues[skill];
                    while let Some(&front) = queue.front() {
                        if simulation.contacts[front].state == ContactState::Waiting {
                            break;
                        }
                        queue.pop_front();
                    }
                    if let Some(&front) = queue.front() {
                        let arrival = simulation.contacts[front].arrival;
                        if oldest.is_none_or(|(oldest_arrival, _)| arrival < oldest_arrival) {
                            oldest = Some((arrival, skill));
                        }
                    }
                }
                if let Some((_, skill)) = oldest {
                    let contact = simulation.queues[skill].pop_front().expect("front checked above");
                    simulation.start_service(contact, agent, now, &handle_samplers);
                }
            }
        }
    }
    let mut total = Tally::default();
    for tally in &simulation.tallies {
        total.offered += tally.offered;
        total.answered += tally.answered;
        total.answered_in_time += tally.answered_in_time;
        total.waited += tally.waited;
        total.abandoned += tally.abandoned;
        total.total_wait += tally.total_wait;
    }
    let window = config.duration_seconds - config.warmup_seconds;
    let agent_seconds = window * config.agent_skills.len().max(1) as f64;
    Ok(SimResult {
        overall: total.stats(),
        per_type: simulation.tallies.iter().map(Tally::stats).collect(),
        occupancy: simulation.busy_seconds / agent_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::{erlang_a, erlang_c_metrics, Workload};

    /// 100 calls per 30 min, AHT 180 s: the published Erlang C case.
    const RATE: f64 = 100.0 / 1800.0;
    /// About 400,000 calls: the service level's standard error is well under half a point.
    const LONG_RUN_SECONDS: f64 = 4000.0 * 1800.0;

    #[test]
    fn simulated_service_level_matches_erlang_c() {
        let workload = Workload::new(100.0, 1800.0, 180.0).unwrap();
        for (agents, seed) in [(12usize, 1u64), (14, 2), (16, 3)] {
            let config = SimConfig::single_queue(RATE, Duration::Exponential { mean: 180.0 }, None, agents, 20.0, LONG_RUN_SECONDS, seed);
            let simulated = simulate(&config).unwrap();
            let formula = erlang_c_metrics(&workload, agents as u32, 20.0);
            let gap = (simulated.overall.service_level - formula.service_level).abs();
            assert!(gap < 0.01, "{agents} agents: simulated {:.4} vs Erlang C {:.4}", simulated.overall.service_level, formula.service_level);
            assert!((simulated.overall.probability_wait - formula.probability_wait).abs() < 0.01, "{agents} agents: {simulated:?}");
            assert!((simulated.occupancy - formula.occupancy).abs() < 0.01, "{agents} agents: {simulated:?}");
        }
    }

    #[test]
    fn simulated_abandonment_matches_erlang_a() {
        let workload = Workload::new(100.0, 1800.0, 180.0).unwrap();
        let config = SimConfig::single_queue(RATE, Duration::Exponential { mean: 180.0 }, Some(Duration::Exponential { mean: 300.0 }), 12, 20.0, LONG_RUN_SECONDS, 7);
        let simulated = simulate(&config).unwrap();
        let formula = erlang_a(&workload, 12, 300.0, 20.0).unwrap();
        assert!((simulated.overall.probability_abandon - formula.probability_abandon).abs() < 0.004, "{simulated:?} vs {formula:?}");
        assert!((simulated.overall.probability_wait - formula.probability_wait).abs() < 0.01, "{simulated:?} vs {formula:?}");
        assert!((simulated.overall.asa_seconds - formula.asa_seconds).abs() / formula.asa_seconds < 0.05, "{simulated:?} vs {formula:?}");
        assert!((simulated.overall.service_level - formula.service_level).abs() < 0.01, "{simulated:?} vs {formula:?}");
    }

    #[test]
    fn fixed_patience_abandons_less_than_exponential_of_same_mean() {
        // Erlang A assumes exponential patience; with waits mostly under a minute, callers who
        // always wait 300 s almost never give up, while exponential patience loses some early.
        let exponential = SimConfig::single_queue(RATE, Duration::Exponential { mean: 180.0 }, Some(Duration::Exponential { mean: 300.0 }), 12, 20.0, LONG_RUN_SECONDS / 4.0, 11);
        let fixed = SimConfig::single_queue(RATE, Duration::Exponential { mean: 180.0 }, Some(Duration::Fixed { seconds: 300.0 }), 12, 20.0, LONG_RUN_SECONDS / 4.0, 11);
        let exponential = simulate(&exponential).unwrap().overall;
        let fixed = simulate(&fixed).unwrap().overall;
        assert!(fixed.probability_abandon < exponential.probability_abandon / 2.0, "fixed {fixed:?} vs exponential {exponential:?}");
    }

    #[test]
    fn pooled_skills_beat_split_teams() {
        // Two languages of 50 calls / 30 min each: 14 agents speaking both serve better than
        // two teams of 7 (economies of scale), and specialists-first routing keeps it so.
        let contact_type = ContactType { arrivals_per_second: RATE / 2.0, handle_time: Duration::Exponential { mean: 180.0 }, patience: None };
        let split = SimConfig { contact_types: vec![contact_type.clone(), contact_type.clone()], agent_skills: (0..14).map(|agent| vec![agent % 2]).collect(), answer_within_seconds: 20.0, warmup_seconds: 36_000.0, duration_seconds: LONG_RUN_SECONDS / 4.0, seed: 5 };
        let pooled = SimConfig { agent_skills: vec![vec![0, 1]; 14], ..split.clone() };
        let split = simulate(&split).unwrap();
        let pooled = simulate(&pooled).unwrap();
        assert!(pooled.overall.service_level > split.overall.service_level + 0.05, "pooled {:?} vs split {:?}", pooled.overall, split.overall);
        let erlang = erlang_c_metrics(&Workload::new(100.0, 1800.0, 180.0).unwrap(), 14, 20.0);
        assert!((pooled.overall.service_level - erlang.service_level).abs() < 0.015, "pooled is one M/M/14 queue: {:?}", pooled.overall);
    }

    #[test]
    fn same_seed_same_result() {
        let config = SimConfig::single_queue(RATE, Duration::LogNormal { mean: 180.0, cv: 0.8 }, Some(Duration::Gamma { mean: 200.0, cv: 0.5 }), 13, 20.0, 100_000.0, 3);
        assert_eq!(simulate(&config).unwrap(), simulate(&config).unwrap());
    }

    #[test]
    fn bad_configs_are_errors() {
        let mut config = SimConfig::single_queue(RATE, Duration::Exponential { mean: 180.0 }, None, 2, 20.0, 1000.0, 1);
        config.agent_skills[0] = vec![3];
        assert!(simulate(&config).is_err());
        let config = SimConfig::single_queue(RATE, Duration::LogNormal { mean: 180.0, cv: 0.0 }, None, 2, 20.0, 1000.0, 1);
        assert!(simulate(&config).is_err());
    }
}
