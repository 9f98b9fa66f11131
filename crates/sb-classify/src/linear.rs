//! The multinomial logistic-regression model: weights, scoring, and the regularised
//! cross-entropy objective with its gradient (parallel over examples).
//!
//! Parameters are laid out feature-major — row `f` holds the weights of feature `f` for every
//! class — so scoring a sparse vector touches one contiguous row per non-zero feature.

use crate::features::SparseVec;
use rayon::prelude::*;

/// Training examples in the model's feature space: a sparse TF-IDF block and an optional
/// dense block (sentence embeddings, already multiplied by the embedding scale).
pub struct Examples<'a> {
    pub sparse: &'a [SparseVec],
    /// Row-major `n_examples × n_dense`, or empty when there is no dense block.
    pub dense: &'a [f32],
    pub n_dense: usize,
    pub labels: &'a [u32],
}

impl Examples<'_> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn dense_row(&self, example_idx: usize) -> &[f32] {
        if self.n_dense == 0 {
            return &[];
        }
        &self.dense[example_idx * self.n_dense..(example_idx + 1) * self.n_dense]
    }
}

/// Flat parameter vector: `[sparse rows | dense rows | bias]`, each row `n_classes` long.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub n_classes: usize,
    pub n_sparse: usize,
    pub n_dense: usize,
    pub params: Vec<f32>,
}

impl Linear {
    pub fn zeros(n_classes: usize, n_sparse: usize, n_dense: usize) -> Linear {
        let params = vec![0.0; (n_sparse + n_dense + 1) * n_classes];
        Linear { n_classes, n_sparse, n_dense, params }
    }

    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// Writes the raw class scores of one example into `logits`.
    pub fn logits_into(&self, sparse: &SparseVec, dense: &[f32], logits: &mut [f32]) {
        logits_with(&self.params, self.n_classes, self.n_sparse, sparse, dense, logits)
    }
}

#[inline]
fn axpy(alpha: f32, row: &[f32], out: &mut [f32]) {
    for (out_value, &row_value) in out.iter_mut().zip(row) {
        *out_value += alpha * row_value;
    }
}

fn logits_with(params: &[f32], n_classes: usize, n_sparse: usize, sparse: &SparseVec, dense: &[f32], logits: &mut [f32]) {
    let bias_offset = params.len() - n_classes;
    logits.copy_from_slice(&params[bias_offset..]);
    for (&column, &value) in sparse.indices.iter().zip(&sparse.values) {
        let row_start = column as usize * n_classes;
        axpy(value, &params[row_start..row_start + n_classes], logits);
    }
    let dense_start = n_sparse * n_classes;
    for (dense_idx, &value) in dense.iter().enumerate() {
        let row_start = dense_start + dense_idx * n_classes;
        axpy(value, &params[row_start..row_start + n_classes], logits);
    }
}

/// In-place softmax of `scores / temperature`; returns log-sum-exp of the scaled scores.
pub fn softmax_in_place(scores: &mut [f32], temperature: f32) -> f32 {
    let inverse_temperature = 1.0 / temperature;
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) * inverse_temperature;
    let mut sum = 0.0f32;
    for score in scores.iter_mut() {
        *score = (*score * inverse_temperature - max).exp();
        sum += *score;
    }
    for score in scores.iter_mut() {
        *score /= sum;
    }
    max + sum.ln()
}

/// The objective `mean cross-entropy + ||W||² / (2·C·n)` (bias unpenalised), in the form
/// scikit-learn uses for `C`, so grids transfer.
pub struct Objective<'a> {
    pub examples: &'a Examples<'a>,
    pub n_classes: usize,
    pub n_sparse: usize,
    pub c: f32,
}

impl Objective<'_> {
    /// Returns the objective and writes its gradient into `gradient`.
    pub fn value_and_gradient(&self, params: &[f32], gradient: &mut [f32]) -> f64 {
        let n_classes = self.n_classes;
        let n_examples = self.examples.len();
        let n_threads = rayon::current_num_threads().max(1);
        let chunk_len = n_examples.div_ceil(n_threads).max(1);
        let partials: Vec<(f64, Vec<f32>)> = (0..n_examples)
            .step_by(chunk_len)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|chunk_start| {
                let mut local_gradient = vec![0.0f32; params.len()];
                let mut scores = vec![0.0f32; n_classes];
                let mut loss = 0.0f64;
                let bias_offset = params.len() - n_classes;
                let dense_start = self.n_sparse * n_classes;
                for example_idx in chunk_start..(chunk_start + chunk_len).min(n_examples) {
                    let sparse = &self.examples.sparse[example_idx];
                    let dense = self.examples.dense_row(example_idx);
                    logits_with(params, n_classes, self.n_sparse, sparse, dense, &mut scores);
                    let label = self.examples.labels[example_idx] as usize;
                    let gold_score = scores[label];
                    let log_normaliser = softmax_in_place(&mut scores, 1.0);
                    loss += (log_normaliser - gold_score) as f64;
                    scores[label] -= 1.0;
                    for (&column, &value) in sparse.indices.iter().zip(&sparse.values) {
                        let row_start = column as usize * n_classes;
                        axpy(value, &scores, &mut local_gradient[row_start..row_start + n_classes]);
                    }
                    for (dense_idx, &value) in dense.iter().enumerate() {
                        let row_start = dense_start + dense_idx * n_classes;
                        axpy(value, &scores, &mut local_gradient[row_start..row_start + n_classes]);
                    }
                    axpy(1.0, &scores, &mut local_gradient[bias_offset..]);
                }
                (loss, local_gradient)
            })
            .collect();

        let inverse_n = 1.0 / n_examples as f32;
        let penalty = 1.0 / (self.c * n_examples as f32);
        let bias_offset = params.len() - n_classes;
        gradient.iter_mut().for_each(|value| *value = 0.0);
        let mut loss = 0.0f64;
        for (partial_loss, partial_gradient) in &partials {
            loss += partial_loss;
            gradient.par_iter_mut().zip(partial_gradient.par_iter()).for_each(|(total, &part)| *total += part);
        }
        let squared_norm: f64 = gradient[..bias_offset]
            .par_iter_mut()
            .zip(params[..bias_offset].par_iter())
            .map(|(gradient_value, &param)| {
                *gradient_value = *gradient_value * inverse_n + penalty * param;
                (param as f64) * (param as f64)
            })
            .sum();
        gradient[bias_offset..].iter_mut().for_each(|value| *value *= inverse_n);
        loss / n_examples as f64 + 0.5 * penalty as f64 * squared_norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let sparse = vec![
            SparseVec { indices: vec![0, 2], values: vec![0.6, 0.8] },
            SparseVec { indices: vec![1], values: vec![1.0] },
            SparseVec { indices: vec![0, 1, 2], values: vec![0.5, 0.5, 0.7] },
        ];
        let dense = vec![0.1, -0.2, 0.3, 0.0, -0.5, 0.4];
        let labels = vec![0, 1, 2];
        let examples = Examples { sparse: &sparse, dense: &dense, n_dense: 2, labels: &labels };
        let objective = Objective { examples: &examples, n_classes: 3, n_sparse: 3, c: 2.0 };
        let mut model = Linear::zeros(3, 3, 2);
        for (idx, param) in model.params.iter_mut().enumerate() {
            *param = ((idx * 7919) % 13) as f32 / 13.0 - 0.5;
        }
        let mut gradient = vec![0.0; model.n_params()];
        objective.value_and_gradient(&model.params, &mut gradient);
        let mut scratch = vec![0.0; model.n_params()];
        for idx in 0..model.n_params() {
            let step = 1e-2;
            let mut plus = model.params.clone();
            plus[idx] += step;
            let mut minus = model.params.clone();
            minus[idx] -= step;
            let numeric = (objective.value_and_gradient(&plus, &mut scratch)
                - objective.value_and_gradient(&minus, &mut scratch))
                / (2.0 * step as f64);
            assert!((numeric - gradient[idx] as f64).abs() < 2e-3, "param {idx}: numeric {numeric} analytic {}", gradient[idx]);
        }
    }

    #[test]
    fn softmax_is_a_distribution_and_temperature_flattens_it() {
        let mut sharp = vec![2.0, 1.0, -1.0];
        let mut flat = sharp.clone();
        softmax_in_place(&mut sharp, 1.0);
        softmax_in_place(&mut flat, 4.0);
        assert!((sharp.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(flat[0] < sharp[0] && flat[2] > sharp[2]);
    }
}
