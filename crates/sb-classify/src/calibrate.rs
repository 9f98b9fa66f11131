//! Temperature scaling: one scalar `T` dividing the logits, chosen to minimise the negative
//! log-likelihood of held-out examples (Guo et al., 2017, "On Calibration of Modern Neural
//! Networks"). It changes confidences, never the ranking.

use crate::linear::softmax_in_place;

/// Mean NLL of the gold labels for logits scaled by `1 / temperature`.
pub fn negative_log_likelihood(logits: &[f32], n_classes: usize, gold: &[u32], temperature: f32) -> f64 {
    let mut scratch = vec![0.0f32; n_classes];
    let mut total = 0.0f64;
    for (row, &label) in logits.chunks_exact(n_classes).zip(gold) {
        scratch.copy_from_slice(row);
        let log_normaliser = softmax_in_place(&mut scratch, temperature);
        total += (log_normaliser - row[label as usize] / temperature) as f64;
    }
    total / gold.len().max(1) as f64
}

/// Fits the temperature by golden-section search on `ln T` in [ln 0.05, ln 20]; the NLL is
/// convex in `1/T`, so it is unimodal there.
pub fn fit_temperature(logits: &[f32], n_classes: usize, gold: &[u32]) -> f32 {
    if gold.is_empty() {
        return 1.0;
    }
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut low, mut high) = (0.05f64.ln(), 20f64.ln());
    let nll = |log_temperature: f64| negative_log_likelihood(logits, n_classes, gold, log_temperature.exp() as f32);
    let mut left = high - ratio * (high - low);
    let mut right = low + ratio * (high - low);
    let (mut left_value, mut right_value) = (nll(left), nll(right));
    for _ in 0..60 {
        if left_value < right_value {
            high = right;
            right = left;
            right_value = left_value;
            left = high - ratio * (high - low);
            left_value = nll(left);
        } else {
            low = left;
            left = right;
            left_value = right_value;
            right = low + ratio * (high - low);
            right_value = nll(right);
        }
    }
    ((low + high) / 2.0).exp() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_temperature_of_overconfident_logits() {
        // Logits of a calibrated model (T=1) sharpened by 3: the fit must undo it.
        let mut logits = Vec::new();
        let mut gold = Vec::new();
        let mut state = 12345u64;
        for _ in 0..4000 {
            let mut row = [0.0f32; 3];
            for value in row.iter_mut() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                *value = ((state >> 33) as f32 / (1u64 << 31) as f32) * 4.0 - 2.0;
            }
            let mut probabilities = row;
            softmax_in_place(&mut probabilities, 1.0);
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let draw = (state >> 33) as f32 / (1u64 << 31) as f32;
            let label = if draw < probabilities[0] { 0 } else if draw < probabilities[0] + probabilities[1] { 1 } else { 2 };
            gold.push(label);
            logits.extend(row.iter().map(|value| value * 3.0));
        }
        let temperature = fit_temperature(&logits, 3, &gold);
        assert!((temperature - 3.0).abs() < 0.3, "temperature {temperature}");
    }
}
