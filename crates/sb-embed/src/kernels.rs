//! The non-matmul parts of the BERT forward pass, written as plain loops over `f32` slices that
//! LLVM vectorizes: fused bias + GELU, fused residual + LayerNorm, attention over packed
//! sequences, mean pooling.
//!
//! Why not candle ops: for a 15-token message each candle op allocates a tensor and walks a
//! strided layout, and a layer needs about twenty of them; fused loops over contiguous rows do
//! the same arithmetic in one pass over memory. Each hot loop is compiled twice, once with
//! AVX2+FMA enabled and once for the baseline CPU, and picked at run time, so the binary stays
//! portable without leaving the vector units idle.
//!
//! Float reductions are written with eight independent partial sums: LLVM may not reorder a
//! single running sum (that would change rounding), but eight lanes map onto one AVX register.

/// Width of the partial-sum arrays; one AVX register of f32.
const LANES: usize = 8;

/// True when the AVX2+FMA copies of the loops may run on this CPU.
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static DETECTED: OnceLock<bool> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when the AVX-512 VNNI copy of the integer matmul may run (`vpdpwssd` on 512-bit
/// registers: sixteen i32 sums of i16 pairs multiplied and added in one instruction, where AVX2
/// needs a `vpmaddwd` on half the lanes and a separate add). Its sums are exact like AVX2's, so
/// both give the same bits.
#[inline]
pub(crate) fn has_avx512_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static DETECTED: OnceLock<bool> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            has_avx2_fma()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vnni")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `pub(crate) fn $name(args)` that runs `$body` compiled with AVX2+FMA when the CPU has
/// them and compiled for the baseline otherwise. The body is the same source either way, so the
/// two versions can differ only in rounding from instruction selection (none: we never call
/// `mul_add`, so no contraction happens in either).
macro_rules! dispatch_simd {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                portable($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if has_avx2_fma() {
                // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
                return unsafe { avx2($($arg),*) };
            }
            portable($($arg),*)
        }
    };
}

/// Sum of a slice with eight partial sums (vectorizable, deterministic order).
#[inline(always)]
fn sum_lanes(values: &[f32]) -> f32 {
    let mut partial = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let remainder = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            partial[lane] += chunk[lane];
        }
    }
    let mut total = 0.0f32;
    for value in partial {
        total += value;
    }
    for value in remainder {
        total += value;
    }
    total
}

/// Sum of squared deviations from `mean`, with eight partial sums.
#[inline(always)]
fn sum_sq_dev_lanes(values: &[f32], mean: f32) -> f32 {
    let mut partial = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let remainder = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let deviation = chunk[lane] - mean;
            partial[lane] += deviation * deviation;
        }
    }
    let mut total = 0.0f32;
    for value in partial {
        total += value;
    }
    for value in remainder {
        let deviation = value - mean;
        total += deviation * deviation;
    }
    total
}

/// erf(x) as a rational function on [-4, 4] (|error| < 5e-7 against f64 erf in f32 arithmetic; erf(±4) rounds to
/// ±1 in f32). No `exp` and no branches, so it vectorizes. Coefficients from Eigen's
/// `generic_fast_erf_float`.
#[inline(always)]
pub(crate) fn erf_approx(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut numerator = -2.726_142_3e-10f32;
    numerator = numerator * x2 + 2.770_681_4e-8;
    numerator = numerator * x2 + -2.101_024e-6;
    numerator = numerator * x2 + -5.692_506_4e-5;
    numerator = numerator * x2 + -7.349_906_3e-4;
    numerator = numerator * x2 + -2.954_600_1e-3;
    numerator = numerator * x2 + -1.609_603_3e-2;
    numerator *= x;
    let mut denominator = -1.456_607_2e-5f32;
    denominator = denominator * x2 + -2.133_740_6e-4;
    denominator = denominator * x2 + -1.682_827e-3;
    denominator = denominator * x2 + -7.373_329e-3;
    denominator = denominator * x2 + -1.426_474e-2;
    numerator / denominator
}

/// e^x for the softmax, Cephes' `expf` scheme: x = n·ln2 + r, a degree-6 polynomial for e^r, and
/// 2^n built in the exponent bits (relative error about 2e-7). Inputs are softmax logits minus
/// their maximum, so x ≤ 0; the clamp keeps 2^n a normal number.
#[inline(always)]
fn exp_approx(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x_in = x;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut poly = 1.987_569_1e-4f32;
    poly = poly * r + 1.398_2e-3;
    poly = poly * r + 8.333_452e-3;
    poly = poly * r + 4.166_579_6e-2;
    poly = poly * r + 0.166_666_65;
    poly = poly * r + 0.5;
    let exp_r = poly * r * r + r + 1.0;
    let two_pow_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    // Below the clamp the true value is under 1.7e-38: return 0 so that -inf (the padding
    // columns of the attention scores) gets exactly zero weight.
    if x_in < -87.0 {
        0.0
    } else {
        exp_r * two_pow_n
    }
}

dispatch_simd! {
    /// Symmetric per-row quantization for [`crate::quant`]: each row of `input` (`k` wide) is
    /// scaled so its largest magnitude maps to `levels`, rounded half away from zero, and
    /// written to `quantized` (`k_padded` wide; the padding is left as is). The row's scale
    /// (value per level; 0 for an all-zero or non-finite row, which is written as zeros) goes
    /// to `scales`.
    fn quantize_rows(input: &[f32], k: usize, k_padded: usize, levels: f32, quantized: &mut [i16], scales: &mut [f32]) {
        for ((values, quantized_row), scale) in
            input.chunks_exact(k).zip(quantized.chunks_exact_mut(k_padded)).zip(scales.iter_mut())
        {
            let mut max_lanes = [0.0f32; LANES];
            let chunks = values.chunks_exact(LANES);
            let remainder = chunks.remainder();
            // Written as compare-and-select, which maps onto `vmaxps`; `f32::max` carries NaN
            // rules that keep LLVM scalar. (A NaN input is ignored here and quantizes to 0.)
            for chunk in chunks {
                for lane in 0..LANES {
                    let magnitude = chunk[lane].abs();
                    max_lanes[lane] = if magnitude > max_lanes[lane] { magnitude } else { max_lanes[lane] };
                }
            }
            let mut max_abs = 0.0f32;
            for value in max_lanes.iter().chain(remainder) {
                let magnitude = value.abs();
                max_abs = if magnitude > max_abs { magnitude } else { max_abs };
            }
            if max_abs == 0.0 || !max_abs.is_finite() {
                *scale = 0.0;
                quantized_row[..k].fill(0);
                continue;
            }
            *scale = max_abs / levels;
            let inv_scale = levels / max_abs;
            for (q, v) in quantized_row[..k].iter_mut().zip(values) {
                let scaled = v * inv_scale;
                // Add-then-truncate rounds half away from zero without a libm call.
                *q = (scaled + 0.5f32.copysign(scaled)) as i16;
            }
        }
    }
}

dispatch_simd! {
    /// Adds `bias` to each row of `rows` (row width = `bias.len()`).
    fn add_bias(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                *value += b;
            }
        }
    }
}

dispatch_simd! {
    /// BERT's exact GELU in place: x·½·(1 + erf(x/√2)).
    fn gelu(values: &mut [f32]) {
        for value in values.iter_mut() {
            let x = *value;
            *value = 0.5 * x * (1.0 + erf_approx(x * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

dispatch_simd! {
    /// `hidden = LayerNorm(hidden + update)` row by row; `update` already holds its bias.
    fn add_layer_norm(hidden: &mut [f32], update: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let width = gamma.len();
        for (row, update_row) in hidden.chunks_exact_mut(width).zip(update.chunks_exact(width)) {
            for (value, u) in row.iter_mut().zip(update_row) {
                *value += u;
            }
            normalize_row(row, gamma, beta, eps);
        }
    }
}

dispatch_simd! {
    /// LayerNorm in place, row by row.
    fn layer_norm(hidden: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        for row in hidden.chunks_exact_mut(gamma.len()) {
            normalize_row(row, gamma, beta, eps);
        }
    }
}

#[inline(always)]
fn normalize_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let width = row.len() as f32;
    let mean = sum_lanes(row) / width;
    let variance = sum_sq_dev_lanes(row, mean) / width;
    let inv_std = 1.0 / (variance + eps).sqrt();
    for ((value, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *value = (*value - mean) * inv_std * g + b;
    }
}

/// Shapes for [`attention_head`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttentionShape {
    /// Tokens in the sequence.
    pub seq_len: usize,
    /// Hidden size (row width of q, k, v inside a fused qkv row is `hidden`).
    pub hidden: usize,
    pub head_dim: usize,
}

/// Reusable buffers for [`attention_head`]. Two separate allocations on purpose: carved out of
/// one buffer, LLVM cannot prove the keys and scores never overlap and gives up vectorizing.
#[derive(Default)]
pub(crate) struct AttentionScratch {
    keys_t: Vec<f32>,
    scores: Vec<f32>,
}

dispatch_simd! {
    /// Self-attention of one head over one sequence.
    ///
    /// `qkv` holds the sequence's rows of the fused projection, `[seq_len, 3 * hidden]`, laid out
    /// as q | k | v; `head_offset` is the head's first column inside each of q, k, v. Writes row
    /// `i` of the head's context to `context[i * context_stride..][..head_dim]`. Every token is
    /// a real token (sequences are packed, never padded), so there is no mask: this equals
    /// BERT's masked attention over a padded batch.
    ///
    /// Inner loops accumulate into local `[f32; 8]` arrays, which LLVM keeps in one register.
    fn attention_head(
        qkv: &[f32],
        shape: AttentionShape,
        head_offset: usize,
        scale: f32,
        context: &mut [f32],
        context_stride: usize,
        scratch: &mut AttentionScratch,
    ) {
        let AttentionShape { seq_len, hidden, head_dim } = shape;
        let row_width = 3 * hidden;
        // Keys transposed, [head_dim, padded_len], so scores come out 8 keys at a time; the
        // padding columns are zero keys whose scores are set to -inf, i.e. zero weight.
        let padded_len = seq_len.div_ceil(LANES) * LANES;
        let keys_t = &mut scratch.keys_t;
        keys_t.clear();
        keys_t.resize(head_dim * padded_len, 0.0);
        for token_idx in 0..seq_len {
            let key = &qkv[token_idx * row_width + hidden + head_offset..][..head_dim];
            for (dim_idx, k) in key.iter().enumerate() {
                keys_t[dim_idx * padded_len + token_idx] = *k;
            }
        }
        let scores = &mut scratch.scores;
        scores.clear();
        scores.resize(padded_len, 0.0);
        for query_idx in 0..seq_len {
            let query = &qkv[query_idx * row_width + head_offset..][..head_dim];
            for (chunk_idx, score_chunk) in scores.chunks_exact_mut(LANES).enumerate() {
                let mut acc = [0.0f32; LANES];
                for (q, key_row) in query.iter().zip(keys_t.chunks_exact(padded_len)) {
                    let keys: &[f32; LANES] = key_row[chunk_idx * LANES..][..LANES].try_into().unwrap_or(&[0.0; LANES]);
                    for lane in 0..LANES {
                        acc[lane] += q * keys[lane];
                    }
                }
                for lane in 0..LANES {
                    score_chunk[lane] = acc[lane] * scale;
                }
            }
            for score in scores[seq_len..].iter_mut() {
                *score = f32::NEG_INFINITY;
            }
            let mut max_lanes = [f32::NEG_INFINITY; LANES];
            for chunk in scores.chunks_exact(LANES) {
                for lane in 0..LANES {
                    max_lanes[lane] = if chunk[lane] > max_lanes[lane] { chunk[lane] } else { max_lanes[lane] };
                }
            }
            let max_score = max_lanes.iter().fold(f32::NEG_INFINITY, |acc, v| if *v > acc { *v } else { acc });
            for score in scores.iter_mut() {
                *score = exp_approx(*score - max_score);
            }
            let inv_total = 1.0 / sum_lanes(scores);

            let out = &mut context[query_idx * context_stride..][..head_dim];
            let mut dim_start = 0;
            while dim_start + LANES <= head_dim {
                let mut acc = [0.0f32; LANES];
                for (value_idx, weight) in scores[..seq_len].iter().enumerate() {
                    let value_start = value_idx * row_width + 2 * hidden + head_offset + dim_start;
                    let values: &[f32; LANES] = qkv[value_start..][..LANES].try_into().unwrap_or(&[0.0; LANES]);
                    for lane in 0..LANES {
                        acc[lane] += weight * values[lane];
                    }
                }
                for lane in 0..LANES {
                    out[dim_start + lane] = acc[lane] * inv_total;
                }
                dim_start += LANES;
            }
            // Head widths that are not a multiple of 8 (MiniLM's is 32) finish one by one.
            for dim_idx in dim_start..head_dim {
                let mut acc = 0.0f32;
                for (value_idx, weight) in scores[..seq_len].iter().enumerate() {
                    acc += weight * qkv[value_idx * row_width + 2 * hidden + head_offset + dim_idx];
                }
                out[dim_idx] = acc * inv_total;
            }
        }
    }
}

dispatch_simd! {
    /// Mean of the rows of `hidden` (one sequence) divided by its L2 norm, as sentence-transformers'
    /// Pooling(mean) + Normalize do (norm clamped at 1e-12 like `F.normalize`).
    fn mean_pool_normalize(hidden: &[f32], width: usize) -> Vec<f32> {
        let mut pooled = vec![0.0f32; width];
        let n_rows = hidden.len() / width;
        for row in hidden.chunks_exact(width) {
            for (p, value) in pooled.iter_mut().zip(row) {
                *p += value;
            }
        }
        let inv_rows = 1.0 / n_rows.max(1) as f32;
        for p in pooled.iter_mut() {
            *p *= inv_rows;
        }
        let mut squares = vec![0.0f32; width];
        for (s, p) in squares.iter_mut().zip(&pooled) {
            *s = p * p;
        }
        let norm = sum_lanes(&squares).sqrt().max(1e-12);
        for p in pooled.iter_mut() {
            *p /= norm;
        }
        pooled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_f64_reference() {
        let mut worst = 0.0f64;
        for step in -6000..=6000 {
            let x = step as f64 / 1000.0;
            let expected = candle_core::cpu::erf::erf_f64(x);
            worst = worst.max((erf_approx(x as f32) as f64 - expected).abs());
        }
        // The approximation itself is within 7e-8 in f64; evaluating it in f32 adds a few ulps
        // (an ulp just below 1.0 is 6e-8). GELU multiplies this by x/2, far below 1e-5.
        assert!(worst < 5e-7, "worst erf error {worst}");
    }

    #[test]
    fn exp_matches_std() {
        let mut worst = 0.0f32;
        for step in 0..=20000 {
            let x = -(step as f32) / 200.0; // 0 down to -100
            let expected = x.exp();
            let got = exp_approx(x);
            let relative = if expected > 1e-30 {
                (got - expected).abs() / expected
            } else {
                got.abs()
            };
            worst = worst.max(relative);
        }
        assert!(worst < 1e-6, "worst exp relative error {worst}");
        assert_eq!(exp_approx(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn layer_norm_of_constant_row_is_beta() {
        let mut hidden = vec![3.0f32; 16];
        let gamma = vec![2.0f32; 16];
        let beta: Vec<f32> = (0..16).map(|i| i as f32).collect();
        layer_norm(&mut hidden, &gamma, &beta, 1e-12);
        assert_eq!(hidden, beta);
    }

    #[test]
    fn pooling_of_zero_rows_does_not_divide_by_zero() {
        let pooled = mean_pool_normalize(&[0.0; 8], 8);
        assert!(pooled.iter().all(|v| *v == 0.0));
    }
}
