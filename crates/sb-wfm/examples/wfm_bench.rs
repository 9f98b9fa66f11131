//! Timings and the assignment comparison in docs/benchmarks-wfm.md: a 96-interval Erlang C day
//! plan, a batch assignment of 500 tickets to 50 agents, and greedy vs optimal on simulated days.
//!
//! `cargo run --release -p sb-wfm --example wfm_bench`

use sb_wfm::assign::{assign_greedy, assign_optimal, random_batch, simulate_day, CostModel, DayConfig, Strategy};
use sb_wfm::erlang::{plan, ServiceLevelTarget, Target};
use std::time::Instant;

/// Median of `runs` timings of `work`, in milliseconds.
fn median_ms(runs: usize, mut work: impl FnMut()) -> f64 {
    let mut timings: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    timings.sort_by(f64::total_cmp);
    timings[runs / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A day of 15-minute intervals shaped like a contact centre: quiet nights, a 400-call peak.
    let calls: Vec<f64> = (0..96).map(|idx| {
        let hour = idx as f64 / 4.0;
        20.0 + 380.0 * (-((hour - 13.0) / 3.5).powi(2)).exp()
    }).collect();
    let target = Target { service_level: Some(ServiceLevelTarget { fraction: 0.8, seconds: 20.0 }), max_asa_seconds: Some(30.0), max_occupancy: Some(0.85) };
    let staffing = plan(&calls, 900.0, 240.0, &target, 0.3)?;
    let plan_ms = median_ms(101, || {
        std::hint::black_box(plan(std::hint::black_box(&calls), 900.0, 240.0, &target, 0.3).expect("valid plan"));
    });
    let peak = staffing.iter().map(|staffing| staffing.agents).max().unwrap_or(0);
    println!("erlang day plan: 96 intervals (peak {peak} agents), median {plan_ms:.3} ms");

    let (tickets, agents) = random_batch(500, 50, 1);
    let costs = CostModel::default();
    let assign_ms = median_ms(11, || {
        std::hint::black_box(assign_optimal(&tickets, &agents, &costs).expect("valid batch"));
    });
    let greedy_ms = median_ms(11, || {
        std::hint::black_box(assign_greedy(&tickets, &agents));
    });
    let placed = assign_optimal(&tickets, &agents, &costs)?.iter().filter(|agent| agent.is_some()).count();
    println!("batch assignment 500 tickets x 50 agents: optimal median {assign_ms:.1} ms ({placed} placed), greedy {greedy_ms:.3} ms");

    println!("{:<8} {:>5} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8} {:>9}", "strategy", "seed", "tickets", "SLA", "urgent", "high", "normal", "gini", "max/min", "wait s");
    let mut totals = [[0.0f64; 3]; 2];
    for seed in 1..=5u64 {
        let config = DayConfig { seed, ..DayConfig::default() };
        for (strategy_idx, strategy) in [Strategy::Greedy, Strategy::Optimal].into_iter().enumerate() {
            let report = simulate_day(&config, strategy)?;
            println!(
                "{:<8} {:>5} {:>8} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>6.3} {:>8.2} {:>9.0}",
                format!("{strategy:?}").to_lowercase(), seed, report.tickets, report.sla_attainment, report.sla_by_priority[0], report.sla_by_priority[1], report.sla_by_priority[2], report.gini_busy, report.max_min_busy, report.mean_wait_seconds
            );
            totals[strategy_idx][0] += report.sla_attainment / 5.0;
            totals[strategy_idx][1] += report.gini_busy / 5.0;
            totals[strategy_idx][2] += report.mean_wait_seconds / 5.0;
        }
    }
    for (name, total) in ["greedy", "optimal"].iter().zip(totals) {
        println!("mean over 5 days, {name}: SLA {:.3}, Gini {:.3}, wait {:.0} s", total[0], total[1], total[2]);
    }
    Ok(())
}
