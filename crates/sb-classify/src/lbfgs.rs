//! Limited-memory BFGS with a backtracking (Armijo) line search, for the smooth convex
//! objective of [`crate::linear`]. History vectors are `f32` to keep memory at
//! `2 · memory · n_params · 4` bytes; dot products accumulate in `f64`.

use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct LbfgsConfig {
    pub memory: usize,
    pub max_iterations: usize,
    /// Stop when the objective's relative decrease over an iteration falls below this.
    pub relative_tolerance: f64,
    /// Stop when the largest gradient component falls below this.
    pub gradient_tolerance: f32,
}

impl Default for LbfgsConfig {
    fn default() -> LbfgsConfig {
        LbfgsConfig { memory: 8, max_iterations: 300, relative_tolerance: 1e-7, gradient_tolerance: 1e-5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsOutcome {
    pub iterations: usize,
    pub evaluations: usize,
    pub objective: f64,
    pub converged: bool,
}

fn dot(left: &[f32], right: &[f32]) -> f64 {
    left.par_iter().zip(right.par_iter()).with_min_len(4096).map(|(&a, &b)| a as f64 * b as f64).sum()
}

fn add_scaled(out: &mut [f32], alpha: f32, direction: &[f32]) {
    out.par_iter_mut().zip(direction.par_iter()).with_min_len(4096).for_each(|(value, &step)| *value += alpha * step);
}

/// Minimises `objective` starting from `params` (updated in place). `on_iteration` sees the
/// iteration number and objective value (for progress reporting).
pub fn minimize(
    params: &mut [f32],
    config: &LbfgsConfig,
    mut objective: impl FnMut(&[f32], &mut [f32]) -> f64,
    mut on_iteration: impl FnMut(usize, f64),
) -> LbfgsOutcome {
    let n_params = params.len();
    let mut gradient = vec![0.0f32; n_params];
    let mut value = objective(params, &mut gradient);
    let mut evaluations = 1;
    let mut history_s: Vec<Vec<f32>> = Vec::with_capacity(config.memory);
    let mut history_y: Vec<Vec<f32>> = Vec::with_capacity(config.memory);
    let mut history_rho: Vec<f64> = Vec::with_capacity(config.memory);
    let mut direction = vec![0.0f32; n_params];
    let mut candidate = vec![0.0f32; n_params];
    let mut candidate_gradient = vec![0.0f32; n_params];
    let mut alphas = vec![0.0f64; config.memory];

    for iteration in 1..=config.max_iterations {
        let max_gradient = gradient.par_iter().map(|value| value.abs()).reduce(|| 0.0, f32::max);
        if max_gradient < config.gradient_tolerance {
            return LbfgsOutcome { iterations: iteration - 1, evaluations, objective: value, converged: true };
        }
        // Two-loop recursion: direction = -H·g.
        direction.copy_from_slice(&gradient);
        for slot in (0..history_s.len()).rev() {
            let alpha = history_rho[slot] * dot(&history_s[slot], &direction);
            alphas[slot] = alpha;
            add_scaled(&mut direction, -alpha as f32, &history_y[slot]);
        }
        let initial_scale = match history_s.last() {
            Some(last_s) => {
                let last_y = history_y.last().expect("s and y histories have equal length");
                (dot(last_s, last_y) / dot(last_y, last_y)) as f32
            }
            None => 1.0 / (dot(&gradient, &gradient).sqrt() as f32).max(1e-12),
        };
        direction.par_iter_mut().for_each(|value| *value *= initial_scale);
        for slot in 0..history_s.len() {
            let beta = history_rho[slot] * dot(&history_y[slot], &direction);
            add_scaled(&mut direction, (alphas[slot] - beta) as f32, &history_s[slot]);
        }
        direction.par_iter_mut().for_each(|value| *value = -*value);
        let mut slope = dot(&gradient, &direction);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history_s.clear();
            history_y.clear();
            history_rho.clear();
            let scale = 1.0 / (dot(&gradient, &gradient).sqrt() as f32).max(1e-12);
            direction.par_iter_mut().zip(gradient.par_iter()).for_each(|(step, &grad)| *step = -grad * scale);
            slope = dot(&gradient, &direction);
        }

        // Backtracking line search on the Armijo condition.
        let mut step = 1.0f32;
        let mut accepted = None;
        for _ in 0..30 {
            candidate.par_iter_mut().zip(params.par_iter()).zip(direction.par_iter()).for_each(|((out, &param), &dir)| *out = param + step * dir);
            let candidate_value = objective(&candidate, &mut candidate_gradient);
            evaluations += 1;
            if candidate_value.is_finite() && candidate_value <= value + 1e-4 * step as f64 * slope {
                accepted = Some(candidate_value);
                break;
            }
            step *= 0.5;
        }
        let Some(new_value) = accepted else {
            return LbfgsOutcome { iterations: iteration, evaluations, objective: value, converged: false };
        };

        // Update the curvature history with s = x' - x and y = g' - g.
        let (mut s, mut y) = if history_s.len() == config.memory {
            history_rho.remove(0);
            (history_s.remove(0), history_y.remove(0))
        } else {
            (vec![0.0f32; n_params], vec![0.0f32; n_params])
        };
        s.par_iter_mut().zip(candidate.par_iter()).zip(params.par_iter()).for_each(|((out, &new), &old)| *out = new - old);
        y.par_iter_mut().zip(candidate_gradient.par_iter()).zip(gradient.par_iter()).for_each(|((out, &new), &old)| *out = new - old);
        let curvature = dot(&s, &y);
        if curvature > 1e-12 {
            history_s.push(s);
            history_y.push(y);
            history_rho.push(1.0 / curvature);
        }
        params.copy_from_slice(&candidate);
        std::mem::swap(&mut gradient, &mut candidate_gradient);
        let relative_decrease = (value - new_value) / value.abs().max(1e-12);
        value = new_value;
        on_iteration(iteration, value);
        if relative_decrease < config.relative_tolerance {
            return LbfgsOutcome { iterations: iteration, evaluations, objective: value, converged: true };
        }
    }
    LbfgsOutcome { iterations: config.max_iterations, evaluations, objective: value, converged: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_badly_scaled_quadratic() {
        // f(x) = Σ w_i (x_i - t_i)², condition number 1e4.
        let weights: Vec<f32> = (0..50).map(|idx| 1.0 + idx as f32 * 200.0).collect();
        let targets: Vec<f32> = (0..50).map(|idx| (idx as f32).sin()).collect();
        let mut params = vec![0.0f32; 50];
        let outcome = minimize(
            &mut params,
            &LbfgsConfig { max_iterations: 500, relative_tolerance: 0.0, gradient_tolerance: 1e-4, ..LbfgsConfig::default() },
            |x, gradient| {
                let mut value = 0.0f64;
                for idx in 0..x.len() {
                    let diff = x[idx] - targets[idx];
                    value += (weights[idx] * diff * diff) as f64;
                    gradient[idx] = 2.0 * weights[idx] * diff;
                }
                value
            },
            |_, _| {},
        );
        assert!(outcome.converged, "{outcome:?}");
        for idx in 0..50 {
            assert!((params[idx] - targets[idx]).abs() < 1e-3, "x[{idx}] = {} want {}", params[idx], targets[idx]);
        }
    }
}
