//! Optional quantized linear layers: weights quantized per output channel and activations per
//! token (both symmetric, scaled to i16), products summed exactly in i32.
//!
//! Why our own kernel rather than candle's quantized matmul: candle's CPU Q8 path is a
//! dot-product per (row, column) designed for one-token LLM decoding, with a float scale per
//! 32-value block; BERT's matmuls are tall (every token of a batch), where a register-blocked
//! kernel does better. On AVX2 without VNNI the cheapest exact integer product is `vpmaddwd` on
//! i16 lanes: 16 multiply-adds per instruction against 8 for an f32 FMA. (This kernel measured
//! about 70 G multiply-adds/s on one core of our EPYC machines, above what f32 FMAs can peak at.)
//!
//! Why 16-bit rather than int8: the lanes are 16-bit anyway, so both operands get as many levels
//! as the i32 sum can hold without overflow (see [`quantization_levels`]: about 2 400 levels for
//! MiniLM's 384-wide layers and 1 200 for the 1536-wide one) at no cost in speed. Measured on
//! support messages against F32: int8 weights and activations (W8A8) gave a worst cosine of
//! 0.982, int8 weights with wide activations 0.9966, the balanced split 0.99993. The sums never
//! overflow or saturate, so the AVX2 kernel equals the scalar fallback bit for bit.
//!
//! Where the CPU has AVX-512 VNNI (Intel Xeon since Cascade Lake, AMD since Zen 4),
//! `vpdpwssd` does the multiply and the add of 16 lanes in one instruction: twice the lanes of
//! `vpmaddwd` and no separate add. The integer sums are exact either way, so both kernels write
//! the same bits (tested); on our 2-core Xeon a search query's encoding fell from 2.9–3.4 to
//! 1.7–2.0 CPU-ms.
//!
//! Layout: columns are grouped in panels of [`PANEL_COLS`]; inside a panel, for each pair of
//! input features k, k+1, the 16 columns' (w[c][k], w[c][k+1]) pairs are stored next to each
//! other, i.e. two AVX registers per k-pair. An activation pair broadcast to all lanes and
//! `vpmaddwd` against those registers yields 16 partial sums at once.

use rayon::prelude::*;

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
/// Rows per AVX-512 VNNI kernel call: 12 rows × 2 panels = 24 accumulators of the 32 zmm
/// registers, plus the two panels' weights and the broadcast activation pair. A typical search
/// query (10 to 15 tokens) is one or two calls per panel pair.
const VNNI_KERNEL_ROWS: usize = 12;
/// Panels per AVX-512 VNNI kernel call: each broadcast activation pair feeds two `vpdpwssd`.
const VNNI_KERNEL_PANELS: usize = 2;
/// Below this many multiply-adds a matmul runs on the calling thread; waking the pool costs more.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// A linear layer `y = x Wᵀ + b` with i16-quantized weights and activations.
pub(crate) struct QuantLinear {
    in_features: usize,
    out_features: usize,
    /// Input features rounded up to even (one zero feature pads odd sizes).
    k_padded: usize,
    n_panels: usize,
    /// `[panel][k_pair][PANEL_COLS][2]`, values within ± the layer's weight levels.
    packed: Vec<i16>,
    /// Per output column, padded to whole panels with zeros (the kernel reads whole panels).
    weight_scales: Vec<f32>,
    /// Per output column, padded like `weight_scales`.
    bias: Vec<f32>,
    /// Levels each side of zero for this layer's activations (see [`quantization_levels`]).
    activation_levels: f32,
}

impl QuantLinear {
    /// Quantizes a PyTorch-layout weight `[out_features, in_features]` (row-major).
    pub fn new(
        weight: &[f32],
        bias: Vec<f32>,
        out_features: usize,
        in_features: usize,
    ) -> QuantLinear {
        debug_assert_eq!(weight.len(), out_features * in_features);
        let k_padded = in_features + in_features % 2;
        let (weight_levels, activation_levels) = quantization_levels(k_padded);
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
            let scale = max_abs / weight_levels;
            weight_scales[col] = scale;
            let (panel, col_in_panel) = (col / PANEL_COLS, col % PANEL_COLS);
            for (k, w) in row.iter().enumerate() {
                let q = (w / scale).round().clamp(-weight_levels, weight_levels) as i16;
                let idx = ((panel * k_pairs + k / 2) * PANEL_COLS + col_in_panel) * 2 + k % 2;
                packed[idx] = q;
            }
        }
        let mut bias = bias;
        bias.resize(n_panels * PANEL_COLS, 0.0);
        QuantLinear {
            in_features,
            out_features,
            k_padded,
            n_panels,
            packed,
            weight_scales,
            bias,
            activation_levels,
        }
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// `input` is `[rows, in_features]`; returns `[rows, out_features]` with the bias added.
    pub fn forward(&self, input: &[f32], rows: usize) -> Vec<f32> {
        debug_assert_eq!(input.len(), rows * self.in_features);
        let mut quantized = vec![0i16; rows * self.k_padded];
        let mut row_scales = vec![0.0f32; rows];
        crate::kernels::quantize_rows(
            input,
            self.in_features,
            self.k_padded,
            self.activation_levels,
            &mut quantized,
            &mut row_scales,
        );
        let n_outputs = rows * self.out_features;
        let mut output: Vec<f32> = Vec::with_capacity(n_outputs);
        let n_row_blocks = rows.div_ceil(ROW_BLOCK);
        let n_panel_groups = self.n_panels.div_ceil(PANELS_PER_ITEM);
        let n_items = n_row_blocks * n_panel_groups;
        let output_ptr = SharedOutput(output.as_mut_ptr());
        let run_item = |item_idx: usize| {
            let row_start = (item_idx / n_panel_groups) * ROW_BLOCK;
            let row_end = rows.min(row_start + ROW_BLOCK);
            let panel_start = (item_idx % n_panel_groups) * PANELS_PER_ITEM;
            let panel_end = self.n_panels.min(panel_start + PANELS_PER_ITEM);
            // SAFETY: items cover disjoint (row block, panel) rectangles of `output`, whose
            // capacity holds rows × out_features values.
            unsafe {
                self.run_panels(
                    &quantized,
                    &row_scales,
                    panel_start..panel_end,
                    row_start..row_end,
                    &output_ptr,
                )
            };
        };
        let macs = n_outputs * self.in_features;
        if macs < PARALLEL_MIN_MACS || n_items == 1 || rows <= crate::model::INLINE_MAX_TOKENS {
            (0..n_items).for_each(run_item);
        } else {
            (0..n_items).into_par_iter().for_each(run_item);
        }
        // SAFETY: the items together wrote every (row, column) of the rows × out_features output
        // (row blocks cover all rows, panels all columns), and f32 needs no initialisation.
        unsafe { output.set_len(n_outputs) };
        output
    }

    /// Computes the columns of a range of panels for a range of rows and writes them, scaled
    /// and biased: with AVX-512 VNNI two panels and up to [`VNNI_KERNEL_ROWS`] rows per kernel
    /// call, else one panel and up to [`KERNEL_ROWS`] rows. Both give the same bits (exact
    /// integer sums, the same epilogue operations).
    ///
    /// # Safety
    /// As [`QuantLinear::run_panel`], for every panel of the range.
    unsafe fn run_panels(
        &self,
        quantized: &[i16],
        row_scales: &[f32],
        panel_range: std::ops::Range<usize>,
        row_range: std::ops::Range<usize>,
        output: &SharedOutput,
    ) {
        #[cfg(target_arch = "x86_64")]
        if crate::kernels::has_avx512_vnni() {
            let k_pairs = self.k_padded / 2;
            let panel_len = k_pairs * PANEL_COLS * 2;
            let mut panel = panel_range.start;
            while panel < panel_range.end {
                let n_panels = VNNI_KERNEL_PANELS.min(panel_range.end - panel);
                let col_start = panel * PANEL_COLS;
                let col_end = (panel + n_panels) * PANEL_COLS;
                let epilogue = Epilogue {
                    col_scales: &self.weight_scales[col_start..col_end],
                    bias: &self.bias[col_start..col_end],
                    n_cols: (n_panels * PANEL_COLS).min(self.out_features - col_start),
                    out_stride: self.out_features,
                };
                let weights = &self.packed[panel * panel_len..][..n_panels * panel_len];
                let mut row = row_range.start;
                while row < row_range.end {
                    let n_rows = VNNI_KERNEL_ROWS.min(row_range.end - row);
                    let activations =
                        &quantized[row * self.k_padded..(row + n_rows) * self.k_padded];
                    let out = output.0.add(row * self.out_features + col_start);
                    // SAFETY: AVX-512 VNNI is present (checked); `weights` holds `n_panels`
                    // whole panels, `activations` n_rows rows, the epilogue n_panels × 16
                    // scales and biases, and `out` the rows × columns this call writes.
                    avx512::dot_panels(
                        activations,
                        self.k_padded,
                        n_rows,
                        n_panels,
                        weights,
                        &row_scales[row..row + n_rows],
                        &epilogue,
                        out,
                    );
                    row += n_rows;
                }
                panel += n_panels;
            }
            return;
        }
        for panel in panel_range {
            self.run_panel(quantized, row_scales, panel, row_range.clone(), output);
        }
    }

    /// Computes one panel's columns for a range of rows and writes them, scaled and biased.
    ///
    /// # Safety
    /// No other thread may write the same (rows, panel columns) of the output concurrently, and
    /// the output must hold `row_range.end × out_features` values.
    unsafe fn run_panel(
        &self,
        quantized: &[i16],
        row_scales: &[f32],
        panel: usize,
        row_range: std::ops::Range<usize>,
        output: &SharedOutput,
    ) {
        let k_pairs = self.k_padded / 2;
        let panel_weights =
            &self.packed[panel * k_pairs * PANEL_COLS * 2..][..k_pairs * PANEL_COLS * 2];
        let col_start = panel * PANEL_COLS;
        let epilogue = Epilogue {
            col_scales: &self.weight_scales[col_start..col_start + PANEL_COLS],
            bias: &self.bias[col_start..col_start + PANEL_COLS],
            n_cols: PANEL_COLS.min(self.out_features - col_start),
            out_stride: self.out_features,
        };
        let mut row = row_range.start;
        while row < row_range.end {
            let n_rows = KERNEL_ROWS.min(row_range.end - row);
            let activations = &quantized[row * self.k_padded..(row + n_rows) * self.k_padded];
            let out = output.0.add(row * self.out_features + col_start);
            dot_panel(
                activations,
                self.k_padded,
                n_rows,
                panel_weights,
                &row_scales[row..row + n_rows],
                &epilogue,
                out,
            );
            row += n_rows;
        }
    }
}

/// How a panel's integer sums become outputs: `sum · row_scale · col_scale + bias`, written to
/// the first `n_cols` columns of rows `out_stride` apart.
struct Epilogue<'a> {
    col_scales: &'a [f32],
    bias: &'a [f32],
    n_cols: usize,
    out_stride: usize,
}

impl Epilogue<'_> {
    /// Scalar epilogue for one row of sums.
    ///
    /// # Safety
    /// `out` must be valid for `n_cols` writes.
    #[inline(always)]
    unsafe fn write_row(&self, sums: &[i32; PANEL_COLS], row_scale: f32, out: *mut f32) {
        let columns = sums
            .iter()
            .zip(self.col_scales)
            .zip(self.bias)
            .take(self.n_cols);
        for (col, ((sum, col_scale), bias)) in columns.enumerate() {
            *out.add(col) = *sum as f32 * (row_scale * col_scale) + bias;
        }
    }
}

/// Raw output pointer shared by the workers of one matmul (each writes its own rectangle).
struct SharedOutput(*mut f32);
// SAFETY: see `QuantLinear::forward`: writes through the pointer never overlap between workers.
unsafe impl Sync for SharedOutput {}

/// Levels each side of zero for (weights, activations) of a layer `k_padded` inputs wide: as
/// many as keep every i32 sum exact, `weight_levels · activation_levels · k_padded ≤ i32::MAX`,
/// split evenly (about √(2³¹ / k) each: 2364 for k = 384, 1182 for k = 1536), at most i16's
/// 32 767. A single `vpmaddwd` pair sum is at most 2 · 32 767² < 2³¹, so it never saturates.
fn quantization_levels(k_padded: usize) -> (f32, f32) {
    let budget = i32::MAX as usize / k_padded.max(1);
    let weight_levels = ((budget as f64).sqrt() as usize).clamp(1, i16::MAX as usize);
    let activation_levels = (budget / weight_levels).clamp(1, i16::MAX as usize);
    (weight_levels as f32, activation_levels as f32)
}

/// Output rows `out + r · out_stride` (for `r < n_rows`) = epilogue of
/// `Σ_k a[r][k] · w[c][k]` over one panel.
///
/// # Safety
/// `out` must be valid for writes of `n_rows` rows of `epilogue.n_cols` values, `out_stride`
/// apart.
unsafe fn dot_panel(
    activations: &[i16],
    k_padded: usize,
    n_rows: usize,
    panel: &[i16],
    row_scales: &[f32],
    epilogue: &Epilogue,
    out: *mut f32,
) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2_fma() {
        // SAFETY: AVX2 is present (checked), and the slices have the lengths the kernel reads:
        // `activations` n_rows × k_padded values, `panel` k_padded/2 × PANEL_COLS × 2 values,
        // the epilogue's scales and bias PANEL_COLS values.
        match n_rows {
            6 => avx2::dot_panel::<6>(activations, k_padded, panel, row_scales, epilogue, out),
            5 => avx2::dot_panel::<5>(activations, k_padded, panel, row_scales, epilogue, out),
            4 => avx2::dot_panel::<4>(activations, k_padded, panel, row_scales, epilogue, out),
            3 => avx2::dot_panel::<3>(activations, k_padded, panel, row_scales, epilogue, out),
            2 => avx2::dot_panel::<2>(activations, k_padded, panel, row_scales, epilogue, out),
            _ => avx2::dot_panel::<1>(activations, k_padded, panel, row_scales, epilogue, out),
        }
        return;
    }
    let mut sums = [[0i32; PANEL_COLS]; KERNEL_ROWS];
    dot_panel_portable(activations, k_padded, n_rows, panel, &mut sums);
    for row in 0..n_rows {
        epilogue.write_row(
            &sums[row],
            row_scales[row],
            out.add(row * epilogue.out_stride),
        );
    }
}

/// Integer sums of one panel, in plain Rust (the reference for the AVX2 kernel).
fn dot_panel_portable(
    activations: &[i16],
    k_padded: usize,
    n_rows: usize,
    panel: &[i16],
    sums: &mut [[i32; PANEL_COLS]; KERNEL_ROWS],
) {
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

    use super::{Epilogue, PANEL_COLS, PANEL_REGISTERS};

    /// Register-blocked micro-kernel: ROWS × 16 i32 accumulators live in registers for the
    /// whole k loop; per k-pair it loads 2 weight registers and broadcasts one i32 (two i16
    /// activations) per row. The epilogue (scale, bias, store) is vectorized too.
    ///
    /// # Safety
    /// AVX2 must be available; see `super::dot_panel` for the buffer requirements.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_panel<const ROWS: usize>(
        activations: &[i16],
        k_padded: usize,
        panel: &[i16],
        row_scales: &[f32],
        epilogue: &Epilogue,
        out: *mut f32,
    ) {
        debug_assert!(activations.len() >= ROWS * k_padded);
        debug_assert_eq!(panel.len(), k_padded / 2 * PANEL_COLS * 2);
        debug_assert!(row_scales.len() >= ROWS);
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

        let col_scales = [
            _mm256_loadu_ps(epilogue.col_scales.as_ptr()),
            _mm256_loadu_ps(epilogue.col_scales.as_ptr().add(8)),
        ];
        let bias = [
            _mm256_loadu_ps(epilogue.bias.as_ptr()),
            _mm256_loadu_ps(epilogue.bias.as_ptr().add(8)),
        ];
        for (row, acc_row) in acc.iter().enumerate() {
            let row_scale = _mm256_set1_ps(row_scales[row]);
            let mut values = [_mm256_setzero_ps(); PANEL_REGISTERS];
            for register in 0..PANEL_REGISTERS {
                let scale = _mm256_mul_ps(row_scale, col_scales[register]);
                values[register] =
                    _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc_row[register]), scale, bias[register]);
            }
            let out_row = out.add(row * epilogue.out_stride);
            if epilogue.n_cols == PANEL_COLS {
                _mm256_storeu_ps(out_row, values[0]);
                _mm256_storeu_ps(out_row.add(8), values[1]);
            } else {
                // A partial last panel (layer widths not a multiple of 16): stage and copy.
                let mut staged = [0.0f32; PANEL_COLS];
                _mm256_storeu_ps(staged.as_mut_ptr(), values[0]);
                _mm256_storeu_ps(staged.as_mut_ptr().add(8), values[1]);
                std::ptr::copy_nonoverlapping(staged.as_ptr(), out_row, epilogue.n_cols);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Epilogue, PANEL_COLS};

    /// Picks the kernel instance for `n_rows` (1..=12) rows and `n_panels` (1 or 2) panels.
    ///
    /// # Safety
    /// AVX-512 F and VNNI must be available; `weights` holds `n_panels` consecutive packed
    /// panels, `activations` `n_rows × k_padded` values, the epilogue's scales and bias
    /// `n_panels × PANEL_COLS` values, and `out` is valid for `n_rows` rows of
    /// `epilogue.n_cols` values, `epilogue.out_stride` apart.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn dot_panels(
        activations: &[i16],
        k_padded: usize,
        n_rows: usize,
        n_panels: usize,
        weights: &[i16],
        row_scales: &[f32],
        epilogue: &Epilogue,
        out: *mut f32,
    ) {
        macro_rules! by_rows {
            ($panels:literal; $($rows:literal)*) => {
                match n_rows {
                    $($rows => dot_panels_n::<$rows, $panels>(activations, k_padded, weights, row_scales, epilogue, out),)*
                    _ => dot_panels_n::<1, $panels>(activations, k_padded, weights, row_scales, epilogue, out),
                }
            };
        }
        if n_panels >= 2 {
            by_rows!(2; 2 3 4 5 6 7 8 9 10 11 12)
        } else {
            by_rows!(1; 2 3 4 5 6 7 8 9 10 11 12)
        }
    }

    /// ROWS × PANELS accumulators of 16 i32 live in zmm registers for the whole k loop; per
    /// k-pair it loads one register of weights per panel (a panel's k-pair is exactly 64 bytes)
    /// and broadcasts one i32 (two i16 activations) per row, which feeds one `vpdpwssd` per
    /// panel. The epilogue is the AVX2 kernel's, lane for lane: `sum · (row_scale · col_scale)
    /// + bias` with one FMA, so both kernels write the same bits.
    #[target_feature(enable = "avx512f,avx512vnni,avx2,fma")]
    unsafe fn dot_panels_n<const ROWS: usize, const PANELS: usize>(
        activations: &[i16],
        k_padded: usize,
        weights: &[i16],
        row_scales: &[f32],
        epilogue: &Epilogue,
        out: *mut f32,
    ) {
        let k_pairs = k_padded / 2;
        let panel_len = k_pairs * PANEL_COLS * 2;
        debug_assert!(activations.len() >= ROWS * k_padded);
        debug_assert!(weights.len() >= PANELS * panel_len);
        debug_assert!(row_scales.len() >= ROWS);
        debug_assert!(epilogue.col_scales.len() >= PANELS * PANEL_COLS);
        let mut acc = [[_mm512_setzero_si512(); PANELS]; ROWS];
        let a_ptr = activations.as_ptr();
        let w_ptr = weights.as_ptr();
        for k_pair in 0..k_pairs {
            let mut w = [_mm512_setzero_si512(); PANELS];
            for (panel, w_panel) in w.iter_mut().enumerate() {
                *w_panel = _mm512_loadu_si512(
                    w_ptr
                        .add(panel * panel_len + k_pair * PANEL_COLS * 2)
                        .cast(),
                );
            }
            for (row, acc_row) in acc.iter_mut().enumerate() {
                let pair = (a_ptr.add(row * k_padded + 2 * k_pair) as *const i32).read_unaligned();
                let a = _mm512_set1_epi32(pair);
                for (acc_panel, w_panel) in acc_row.iter_mut().zip(&w) {
                    *acc_panel = _mm512_dpwssd_epi32(*acc_panel, a, *w_panel);
                }
            }
        }

        for panel in 0..PANELS {
            let n_cols = epilogue
                .n_cols
                .saturating_sub(panel * PANEL_COLS)
                .min(PANEL_COLS);
            let mask: __mmask16 = if n_cols == PANEL_COLS {
                u16::MAX
            } else {
                (1u16 << n_cols) - 1
            };
            let col_scales = _mm512_loadu_ps(epilogue.col_scales.as_ptr().add(panel * PANEL_COLS));
            let bias = _mm512_loadu_ps(epilogue.bias.as_ptr().add(panel * PANEL_COLS));
            for (row, acc_row) in acc.iter().enumerate() {
                let scale = _mm512_mul_ps(_mm512_set1_ps(row_scales[row]), col_scales);
                let values = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc_row[panel]), scale, bias);
                _mm512_mask_storeu_ps(
                    out.add(row * epilogue.out_stride + panel * PANEL_COLS),
                    mask,
                    values,
                );
            }
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
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn quant_linear_is_close_to_f32_and_simd_equals_portable() {
        // Odd sizes exercise the padded feature, the partial panel and the short row tail.
        for (rows, in_features, out_features) in
            [(1, 7, 5), (6, 33, 50), (70, 64, 97), (9, 384, 384)]
        {
            let weight = values(out_features * in_features, 1);
            let bias = values(out_features, 2);
            let input = values(rows * in_features, 3);
            let linear = QuantLinear::new(&weight, bias.clone(), out_features, in_features);
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
            assert!(
                worst < 1.0,
                "quantized error too large for {rows}x{in_features}x{out_features}: {worst}"
            );

            // The AVX2 kernel must agree exactly with the portable one (integer sums).
            let mut quantized = vec![0i16; rows * linear.k_padded];
            let mut row_scales = vec![0.0f32; rows];
            let levels = linear.activation_levels;
            crate::kernels::quantize_rows(
                &input,
                in_features,
                linear.k_padded,
                levels,
                &mut quantized,
                &mut row_scales,
            );
            let k_pairs = linear.k_padded / 2;
            for panel in 0..linear.n_panels {
                let panel_weights =
                    &linear.packed[panel * k_pairs * PANEL_COLS * 2..][..k_pairs * PANEL_COLS * 2];
                let n_rows = rows.min(KERNEL_ROWS);
                let activations = &quantized[..n_rows * linear.k_padded];
                let mut portable_sums = [[0i32; PANEL_COLS]; KERNEL_ROWS];
                dot_panel_portable(
                    activations,
                    linear.k_padded,
                    n_rows,
                    panel_weights,
                    &mut portable_sums,
                );
                let epilogue = Epilogue {
                    col_scales: &linear.weight_scales[panel * PANEL_COLS..][..PANEL_COLS],
                    bias: &linear.bias[panel * PANEL_COLS..][..PANEL_COLS],
                    n_cols: PANEL_COLS.min(out_features - panel * PANEL_COLS),
                    out_stride: PANEL_COLS,
                };
                let mut fast = vec![0.0f32; n_rows * PANEL_COLS];
                let mut slow = vec![0.0f32; n_rows * PANEL_COLS];
                // SAFETY: both buffers hold n_rows rows of PANEL_COLS values.
                unsafe {
                    dot_panel(
                        activations,
                        linear.k_padded,
                        n_rows,
                        panel_weights,
                        &row_scales,
                        &epilogue,
                        fast.as_mut_ptr(),
                    );
                    for row in 0..n_rows {
                        epilogue.write_row(
                            &portable_sums[row],
                            row_scales[row],
                            slow.as_mut_ptr().add(row * PANEL_COLS),
                        );
                    }
                }
                // FMA rounds once where the scalar epilogue rounds twice: allow an ulp or two.
                for (f, s) in fast.iter().zip(&slow) {
                    assert!((f - s).abs() <= 1e-6 * s.abs().max(1.0), "{f} vs {s}");
                }
            }
        }
    }

    /// `forward` through the one-panel kernel only (AVX2 where present, else portable), for
    /// comparing the AVX-512 VNNI path against it.
    fn forward_one_panel_at_a_time(linear: &QuantLinear, input: &[f32], rows: usize) -> Vec<f32> {
        let mut quantized = vec![0i16; rows * linear.k_padded];
        let mut row_scales = vec![0.0f32; rows];
        crate::kernels::quantize_rows(
            input,
            linear.in_features,
            linear.k_padded,
            linear.activation_levels,
            &mut quantized,
            &mut row_scales,
        );
        let mut output = vec![0.0f32; rows * linear.out_features];
        let output_ptr = SharedOutput(output.as_mut_ptr());
        for panel in 0..linear.n_panels {
            // SAFETY: one thread, and `output` holds rows × out_features values.
            unsafe { linear.run_panel(&quantized, &row_scales, panel, 0..rows, &output_ptr) };
        }
        output
    }

    #[test]
    fn avx512_vnni_kernel_equals_the_avx2_kernel_bit_for_bit() {
        if !crate::kernels::has_avx512_vnni() {
            // Nothing to compare on this CPU: `forward` is the one-panel kernel itself.
            return;
        }
        // Every row count of a tile (1..=12) and beyond one, an odd number of panels (the last
        // call has one), a partial last panel, odd inputs, and MiniLM's widths.
        for (rows, in_features, out_features) in [
            (1, 7, 5),
            (5, 33, 50),
            (11, 64, 97),
            (12, 384, 1152),
            (13, 1536, 384),
            (25, 384, 1536),
            (70, 65, 48),
        ] {
            let weight = values(out_features * in_features, 4);
            let bias = values(out_features, 5);
            let input = values(rows * in_features, 6);
            let linear = QuantLinear::new(&weight, bias, out_features, in_features);
            let vnni = linear.forward(&input, rows);
            let avx2 = forward_one_panel_at_a_time(&linear, &input, rows);
            let vnni_bits: Vec<u32> = vnni.iter().map(|value| value.to_bits()).collect();
            let avx2_bits: Vec<u32> = avx2.iter().map(|value| value.to_bits()).collect();
            assert_eq!(vnni_bits, avx2_bits, "{rows}x{in_features}x{out_features}");
        }
    }

    #[test]
    fn extreme_inputs_cannot_overflow_the_i32_sums() {
        // Every weight and activation at full scale with the same sign: the largest possible sum.
        for in_features in [1, 384, 1536, 4096] {
            let linear =
                QuantLinear::new(&vec![1.0; 3 * in_features], vec![0.0; 3], 3, in_features);
            let output = linear.forward(&vec![-2.0; in_features], 1);
            for value in output {
                let expected = -2.0 * in_features as f32;
                assert!(
                    (value - expected).abs() <= expected.abs() * 1e-4,
                    "{in_features}: {value}"
                );
            }
        }
    }

    #[test]
    fn zero_and_non_finite_rows_do_not_produce_nan() {
        let linear = QuantLinear::new(&[0.5, -0.25, 0.0, 0.0], vec![1.0, 2.0], 2, 2);
        let output = linear.forward(&[0.0, 0.0], 1);
        assert_eq!(output, vec![1.0, 2.0]);
    }
}
