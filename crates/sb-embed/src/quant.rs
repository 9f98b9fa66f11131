//! Optional quantized linear layers: weights in 8 bits per output channel (symmetric, ±127),
//! activations in up to 15 bits per token (symmetric, scaled at run time), products summed
//! exactly in i32 — "W8A16".
//!
//! Why our own kernel rather than candle's quantized matmul: candle's CPU Q8 path is a
//! dot-product per (row, column) designed for one-token LLM decoding, with a float scale per
//! 32-value block; BERT's matmuls are tall (every token of a batch), where a register-blocked
//! kernel does better. On AVX2 without VNNI the cheapest exact integer product is `vpmaddwd` on
//! i16 lanes: 16 multiply-adds per instruction against 8 for an f32 FMA. Since its lanes are
//! 16-bit anyway, activations get as many levels as the i32 sum can hold without overflow
//! (`127 · levels · in_features < 2³¹`: 11 008 levels for MiniLM's 1536-wide layer) instead of
//! int8's 127 — that costs nothing and removes the activation-outlier error that makes W8A8 BERT
//! drift (int8 activations gave a worst cosine of 0.982 to F32 on support messages). The sums
//! cannot overflow or saturate, so the AVX2 kernel equals the scalar fallback bit for bit.
//!
//! Layout: columns are grouped in panels of [`PANEL_COLS`]; inside a panel, for each pair of
//! input features k, k+1, the 16 columns' (w[c][k], w[c][k+1]) pairs are stored next to each
//! other, i.e. two AVX registers per k-pair. An activation pair broadcast to all lanes and
//! `vpmaddwd` against those registers yields 16 partial sums at once.

use rayon::prelude::*;

/// Weight levels on each side of zero (int8, symmetric).
const WEIGHT_LEVELS: i16 = 127;
/// Output columns per packed panel: two 8-lane i32 registers.
const PANEL_COLS: usize = 16;
/// 8-lane registers per panel row.
const PANEL_REGISTERS: usize = PANEL_COLS / 8;
/// Rows of activations per micro-kernel call: 6 rows × 2 registers = 12 accumulators, plus 2
/// weight registers, one broadcast and one product temporary fill the 16 AVX registers (a
/// 4 × 3 tile needs 17 and spills one accumulator every iteration).
const KERNEL_ROWS: usize = 6;
/// Rows handled by one work item: keeps that block of quantized activations in L2 while the
/// item's weight panels stream past it.
const ROW_BLOCK: usize = 64;
/// Panels per work item.
const PANELS_PER_ITEM: usize = 4;
/// Below this many multiply-adds a matmul runs on the calling thread; waking the pool costs more.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// A linear layer `y = x Wᵀ + b` with int8 weights and 16-bit activations.
pub(crate) struct Int8Linear {
    in_features: usize,
    out_features: usize,
    /// Input features rounded up to even (one zero feature pads odd sizes).
    k_padded: usize,
    n_panels: usize,
    /// `[panel][k_pair][PANEL_COLS][2]`, values in ±[`WEIGHT_LEVELS`] stored as i16 for `vpmaddwd`.
    packed: Vec<i16>,
    /// Per output column (padded to whole panels with zeros).
    weight_scales: Vec<f32>,
    bias: Vec<f32>,
}

impl Int8Linear {
    /// Quantizes a PyTorch-layout weight `[out_features, in_features]` (row-major).
    pub fn new(weight: &[f32], bias: Vec<f32>, out_features: usize, in_features: usize) -> Int8Linear {
        debug_assert_eq!(weight.len(), out_features * in_features);
        let k_padded = in_features + in_features % 2;
        let k_pairs = k_padded / 2;
        let n_panels = out_features.div_ceil(PANEL_COLS);
        let mut packed = vec![0i16; n_panels * k_pairs * PANEL_COLS * 2];
        let mut weight_scales = vec![0.0f32; n_panels * PANEL_COLS];
        for col in 0..out_features {
            let row = &weight[col * in_features..(col + 1) * in_features];
            let max_abs = row.iter().fold(0.0f32, |acc, w| acc.max(w.abs()));
            if max_abs == 0.0 || !max_abs.is_finite() {
                continue;
            }
            let scale = max_abs / WEIGHT_LEVELS as f32;
            weight_scales[col] = scale;
            let (panel, col_in_panel) = (col / PANEL_COLS, col % PANEL_COLS);
            for (k, w) in row.iter().enumerate() {
                let q = round_to_i16((w / scale).clamp(-(WEIGHT_LEVELS as f32), WEIGHT_LEVELS as f32));
                let idx = ((panel * k_pairs + k / 2) * PANEL_COLS + col_in_panel) * 2 + k % 2;
                packed[idx] = q;
            }
        }
        Int8Linear {
            in_features,
            out_features,
            k_padded,
            n_panels,
            packed,
            weight_scales,
            bias,
        }
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// `input` is `[rows, in_features]`; returns `[rows, out_features]` with the bias added.
    pub fn forward(&self, input: &[f32], rows: usize) -> Vec<f32> {
        let (quantized, row_scales) = quantize_rows(input, rows, self.in_features, self.k_padded);
        let mut output = vec![0.0f32; rows * self.out_features];
        let n_row_blocks = rows.div_ceil(ROW_BLOCK);
        let n_panel_groups = self.n_panels.div_ceil(PANELS_PER_ITEM);
        let n_items = n_row_blocks * n_panel_groups;
        let output_ptr = SharedOutput(output.as_mut_ptr());
        let run_item = |item_idx: usize| {
            let row_start = (item_idx / n_panel_groups) * ROW_BLOCK;
            let row_end = rows.min(row_start + ROW_BLOCK);
            let panel_start = (item_idx % n_panel_groups) * PANELS_PER_ITEM;
            let panel_end = self.n_panels.min(panel_start + PANELS_PER_ITEM);
            for panel in panel_start..panel_end {
                // SAFETY: items cover disjoint (row block, panel) rectangles of `output`, and
                // `output` outlives the parallel loop below.
                unsafe {
                    self.run_panel(&quantized, &row_scales, panel, row_start..row_end, &output_ptr)
                };
            }
        };
        let macs = rows * self.out_features * self.in_features;
        if macs < PARALLEL_MIN_MACS || n_items == 1 {
            (0..n_items).for_each(run_item);
        } else {
            (0..n_items).into_par_iter().for_each(run_item);
        }
        output
    }

    /// Computes one panel's columns for a range of rows and writes them, scaled and biased.
    ///
    /// # Safety
    /// No other thread may write the same (rows, panel columns) of the output concurrently.
    unsafe fn run_panel(
        &self,
        quantized: &[i16],
        row_scales: &[f32],
        panel: usize,
        row_range: std::ops::Range<usize>,
        output: &SharedOutput,
    ) {
        let k_pairs = self.k_padded / 2;
        let panel_weights = &self.packed[panel * k_pairs * PANEL_COLS * 2..][..k_pairs * PANEL_COLS * 2];
        let col_start = panel * PANEL_COLS;
        let n_cols = PANEL_COLS.min(self.out_features - col_start);
        let mut row = row_range.start;
        while row < row_range.end {
            let n_rows = KERNEL_ROWS.min(row_range.end - row);
            let mut sums = [[0i32; PANEL_COLS]; KERNEL_ROWS];
            let activations = &quantized[row * self.k_padded..(row + n_rows) * self.k_padded];
            dot_panel(activations, self.k_padded, n_rows, panel_weights, &mut sums);
            for (row_offset, row_sums) in sums.iter().enumerate().take(n_rows) {
                let out_row = output.0.add((row + row_offset) * self.out_features + col_start);
                let row_scale = row_scales[row + row_offset];
                for col in 0..n_cols {
                    let scale = row_scale * self.weight_scales[col_start + col];
                    *out_row.add(col) = row_sums[col] as f32 * scale + self.bias[col_start + col];
                }
            }
            row += n_rows;
        }
    }
}

/// Raw output pointer shared by the workers of one matmul (each writes its own rectangle).
struct SharedOutput(*mut f32);
// SAFETY: see `Int8Linear::forward`: writes through the pointer never overlap between workers.
unsafe impl Sync for SharedOutput {}

/// Rounds half away from zero. Written as add-then-truncate because `f32::round` is a libm
/// call on baseline x86-64 (no SSE4.1), and this runs once per activation.
#[inline(always)]
fn round_to_i16(value: f32) -> i16 {
    (value + 0.5f32.copysign(value)) as i16
}

/// Activation levels for an input width: the most that keeps every i32 sum exact
/// (`127 · levels · k_padded ≤ i32::MAX`), at most i16's 32 767.
fn activation_levels(k_padded: usize) -> f32 {
    let levels = i32::MAX as usize / (WEIGHT_LEVELS as usize * k_padded.max(1));
    levels.min(i16::MAX as usize) as f32
}

/// Per-row symmetric quantization to ±[`activation_levels`], rows padded to `k_padded` features.
fn quantize_rows(input: &[f32], rows: usize, k: usize, k_padded: usize) -> (Vec<i16>, Vec<f32>) {
    let levels = activation_levels(k_padded);
    let mut quantized = vec![0i16; rows * k_padded];
    let mut scales = vec![0.0f32; rows];
    for row in 0..rows {
        let values = &input[row * k..(row + 1) * k];
        let max_abs = values.iter().fold(0.0f32, |acc, v| acc.max(v.abs()));
        if max_abs == 0.0 || !max_abs.is_finite() {
            continue;
        }
        scales[row] = max_abs / levels;
        let inv_scale = levels / max_abs;
        for (q, v) in quantized[row * k_padded..][..k].iter_mut().zip(values) {
            *q = round_to_i16(v * inv_scale);
        }
    }
    (quantized, scales)
}

/// `sums[r][c] = Σ_k a[r][k] · w[c][k]` for up to [`KERNEL_ROWS`] rows and one panel.
fn dot_panel(activations: &[i16], k_padded: usize, n_rows: usize, panel: &[i16], sums: &mut [[i32; PANEL_COLS]; KERNEL_ROWS]) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2_fma() {
        // SAFETY: AVX2 is present (checked), and the slices have the lengths the kernel reads:
        // `activations` n_rows × k_padded values, `panel` k_padded/2 × PANEL_COLS × 2 values.
        unsafe {
            match n_rows {
                6 => avx2::dot_panel::<6>(activations, k_padded, panel, sums),
                5 => avx2::dot_panel::<5>(activations, k_padded, panel, sums),
                4 => avx2::dot_panel::<4>(activations, k_padded, panel, sums),
                3 => avx2::dot_panel::<3>(activations, k_padded, panel, sums),
                2 => avx2::dot_panel::<2>(activations, k_padded, panel, sums),
                _ => avx2::dot_panel::<1>(activations, k_padded, panel, sums),
            }
        }
        return;
    }
    dot_panel_portable(activations, k_padded, n_rows, panel, sums);
}

fn dot_panel_portable(activations: &[i16], k_padded: usize, n_rows: usize, panel: &[i16], sums: &mut [[i32; PANEL_COLS]; KERNEL_ROWS]) {
    for (row, row_sums) in sums.iter_mut().enumerate().take(n_rows) {
        let a_row = &activations[row * k_padded..(row + 1) * k_padded];
        for (k_pair, weights) in panel.chunks_exact(PANEL_COLS * 2).enumerate() {
            let (a0, a1) = (a_row[2 * k_pair] as i32, a_row[2 * k_pair + 1] as i32);
            for (col, sum) in row_sums.iter_mut().enumerate() {
                *sum += a0 * weights[2 * col] as i32 + a1 * weights[2 * col + 1] as i32;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{KERNEL_ROWS, PANEL_COLS, PANEL_REGISTERS};

    /// Register-blocked micro-kernel: ROWS × 16 i32 accumulators live in registers for the
    /// whole k loop; per k-pair it loads 2 weight registers and broadcasts one i32 (two i16
    /// activations) per row.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot_panel<const ROWS: usize>(
        activations: &[i16],
        k_padded: usize,
        panel: &[i16],
        sums: &mut [[i32; PANEL_COLS]; KERNEL_ROWS],
    ) {
        debug_assert!(activations.len() >= ROWS * k_padded);
        debug_assert_eq!(panel.len(), k_padded / 2 * PANEL_COLS * 2);
        let k_pairs = k_padded / 2;
        let mut acc = [[_mm256_setzero_si256(); PANEL_REGISTERS]; ROWS];
        let a_ptr = activations.as_ptr();
        let w_ptr = panel.as_ptr();
        for k_pair in 0..k_pairs {
            let w = w_ptr.add(k_pair * PANEL_COLS * 2) as *const __m256i;
            let w0 = _mm256_loadu_si256(w);
            let w1 = _mm256_loadu_si256(w.add(1));
            for (row, acc_row) in acc.iter_mut().enumerate() {
                let pair = (a_ptr.add(row * k_padded + 2 * k_pair) as *const i32).read_unaligned();
                let a = _mm256_set1_epi32(pair);
                acc_row[0] = _mm256_add_epi32(acc_row[0], _mm256_madd_epi16(a, w0));
                acc_row[1] = _mm256_add_epi32(acc_row[1], _mm256_madd_epi16(a, w1));
            }
        }
        for (row, acc_row) in acc.iter().enumerate() {
            let out = sums[row].as_mut_ptr() as *mut __m256i;
            _mm256_storeu_si256(out, acc_row[0]);
            _mm256_storeu_si256(out.add(1), acc_row[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn int8_linear_is_close_to_f32_and_simd_equals_portable() {
        // Odd sizes exercise the padded feature, the partial panel and the short row tail.
        for (rows, in_features, out_features) in [(1, 7, 5), (6, 33, 50), (70, 64, 97), (9, 384, 384)] {
            let weight = values(out_features * in_features, 1);
            let bias = values(out_features, 2);
            let input = values(rows * in_features, 3);
            let linear = Int8Linear::new(&weight, bias.clone(), out_features, in_features);
            let got = linear.forward(&input, rows);
            let mut worst = 0.0f32;
            for row in 0..rows {
                for col in 0..out_features {
                    let mut expected = bias[col];
                    for k in 0..in_features {
                        expected += input[row * in_features + k] * weight[col * in_features + k];
                    }
                    // Error budget: weights carry ~1/254 relative error, activations far less.
                    let tolerance = 0.01 * (in_features as f32).sqrt();
                    let error = (got[row * out_features + col] - expected).abs();
                    worst = worst.max(error / tolerance);
                }
            }
            assert!(worst < 1.0, "int8 error too large for {rows}x{in_features}x{out_features}: {worst}");

            // The AVX2 kernel must agree exactly with the portable one (integer sums).
            let (quantized, _) = quantize_rows(&input, rows, in_features, linear.k_padded);
            let k_pairs = linear.k_padded / 2;
            for panel in 0..linear.n_panels {
                let panel_weights = &linear.packed[panel * k_pairs * PANEL_COLS * 2..][..k_pairs * PANEL_COLS * 2];
                let n_rows = rows.min(KERNEL_ROWS);
                let activations = &quantized[..n_rows * linear.k_padded];
                let mut fast = [[0i32; PANEL_COLS]; KERNEL_ROWS];
                let mut slow = [[0i32; PANEL_COLS]; KERNEL_ROWS];
                dot_panel(activations, linear.k_padded, n_rows, panel_weights, &mut fast);
                dot_panel_portable(activations, linear.k_padded, n_rows, panel_weights, &mut slow);
                assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn extreme_inputs_cannot_overflow_the_i32_sums() {
        // Every weight and activation at full scale with the same sign: the largest possible sum.
        for in_features in [1, 384, 1536, 4096] {
            let linear = Int8Linear::new(&vec![1.0; 3 * in_features], vec![0.0; 3], 3, in_features);
            let output = linear.forward(&vec![-2.0; in_features], 1);
            for value in output {
                let expected = -2.0 * in_features as f32;
                assert!((value - expected).abs() <= expected.abs() * 1e-4, "{in_features}: {value}");
            }
        }
    }

    #[test]
    fn zero_and_non_finite_rows_do_not_produce_nan() {
        let linear = Int8Linear::new(&[0.5, -0.25, 0.0, 0.0], vec![1.0, 2.0], 2, 2);
        let output = linear.forward(&[0.0, 0.0], 1);
        assert_eq!(output, vec![1.0, 2.0]);
    }
}

#[cfg(test)]
mod scratch_bench {
    use super::*;
    #[test]
    fn scratch_kernel_speed() {
        let (m, k, n) = (480usize, 384usize, 1536usize);
        let weight: Vec<f32> = (0..n * k).map(|i| ((i * 7919) % 255) as f32 - 127.0).collect();
        let input: Vec<f32> = (0..m * k).map(|i| ((i * 104729) % 251) as f32 - 125.0).collect();
        let linear = Int8Linear::new(&weight, vec![0.0; n], n, k);
        let (quantized, _) = quantize_rows(&input, m, k, linear.k_padded);
        let k_pairs = linear.k_padded / 2;
        let reps = 20;
        let start = std::time::Instant::now();
        let mut sums = [[0i32; PANEL_COLS]; KERNEL_ROWS];
        let mut total = 0i64;
        for _ in 0..reps {
            for panel in 0..linear.n_panels {
                let pw = &linear.packed[panel * k_pairs * PANEL_COLS * 2..][..k_pairs * PANEL_COLS * 2];
                for row in (0..m).step_by(KERNEL_ROWS) {
                    dot_panel(&quantized[row * k..(row + KERNEL_ROWS) * k], k, KERNEL_ROWS, pw, &mut sums);
                    total += sums[0][0] as i64;
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!("single-thread kernel: {:.1} GMAC/s ({total})", (m * k * n * reps) as f64 / secs / 1e9);
        let start = std::time::Instant::now();
        for _ in 0..reps { std::hint::black_box(linear.forward(&input, m)); }
        let secs = start.elapsed().as_secs_f64();
        println!("forward (parallel): {:.1} GMAC/s", (m * k * n * reps) as f64 / secs / 1e9);
    }
}
