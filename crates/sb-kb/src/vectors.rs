//! Exact vector search over chunk embeddings: one contiguous row-major matrix and a dot product
//! per row, with no index structure to tune or explain.
//!
//! At 10,000 articles (about 30,000 chunks of 384 dimensions) an f32 scan streams 46 MB per
//! query, and memory bandwidth, not arithmetic, sets its time. So the scan runs over an int8
//! copy of the matrix (one scale per row, 11.5 MB), keeps the best few times `limit` rows, and
//! rescores those exactly in f32: results and scores are those of the f32 dot product unless an
//! exact top row falls outside the oversampled int8 candidates (tested below).
//!
//! Rows are removed with swap-remove, so upserting an article costs O(its chunks × dim), not a
//! copy of the matrix.

use std::collections::HashMap;

/// Chunk embeddings keyed by chunk uid.
#[derive(Debug, Clone, Default)]
pub struct VectorStore {
    dim: usize,
    matrix: Vec<f32>,
    /// `matrix` quantized per row: `matrix[r][i] ≈ quantized[r][i] * row_scales[r]`.
    quantized: Vec<i8>,
    row_scales: Vec<f32>,
    row_uids: Vec<u64>,
    row_of_uid: HashMap<u64, usize>,
}

impl VectorStore {
    pub fn new(dim: usize) -> VectorStore {
        VectorStore { dim, ..VectorStore::default() }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.row_uids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_uids.is_empty()
    }

    /// Adds or replaces the vector of `uid`. Vectors of the wrong width are a bug in the
    /// caller (one store holds one model's vectors), so they panic.
    pub fn insert(&mut self, uid: u64, vector: &[f32]) {
        assert_eq!(vector.len(), self.dim, "vector width {} in a store of width {}", vector.len(), self.dim);
        let (quantized_row, row_scale) = quantize(vector);
        if let Some(&row) = self.row_of_uid.get(&uid) {
            self.matrix[row * self.dim..(row + 1) * self.dim].copy_from_slice(vector);
            self.quantized[row * self.dim..(row + 1) * self.dim].copy_from_slice(&quantized_row);
            self.row_scales[row] = row_scale;
            return;
        }
        self.row_of_uid.insert(uid, self.row_uids.len());
        self.row_uids.push(uid);
        self.matrix.extend_from_slice(vector);
        self.quantized.extend_from_slice(&quantized_row);
        self.row_scales.push(row_scale);
    }

    pub fn remove(&mut self, uid: u64) {
        let Some(row) = self.row_of_uid.remove(&uid) else {
            return;
        };
        let last_row = self.row_uids.len() - 1;
        if row != last_row {
            let (head, tail) = self.matrix.split_at_mut(last_row * self.dim);
            head[row * self.dim..(row + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
            let (quantized_head, quantized_tail) = self.quantized.split_at_mut(last_row * self.dim);
            quantized_head[row * self.dim..(row + 1) * self.dim].copy_from_slice(&quantized_tail[..self.dim]);
            self.row_scales[row] = self.row_scales[last_row];
            let moved_uid = self.row_uids[last_row];
            self.row_uids[row] = moved_uid;
            self.row_of_uid.insert(moved_uid, row);
        }
        self.row_uids.pop();
        self.matrix.truncate(last_row * self.dim);
        self.quantized.truncate(last_row * self.dim);
        self.row_scales.pop();
    }

    /// Dot product of `query` with the vector of `uid` (cosine for unit vectors).
    pub fn score(&self, uid: u64, query: &[f32]) -> Option<f32> {
        let row = *self.row_of_uid.get(&uid)?;
        Some(dot(&self.matrix[row * self.dim..(row + 1) * self.dim], query))
    }

    /// The `limit` rows with the largest dot product with `query`, as (uid, exact f32 score),
    /// best first; ties in uid order, so results are deterministic.
    pub fn top(&self, query: &[f32], limit: usize) -> Vec<(u64, f32)> {
        if self.dim == 0 || limit == 0 || query.len() != self.dim {
            return Vec::new();
        }
        let by_score_desc = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let (quantized_query, query_scale) = quantize(query);
        let mut candidates: Vec<(usize, f32)> = Vec::with_capacity(self.row_uids.len());
        scan_i8(&self.quantized, self.dim, &quantized_query, |row, dot| candidates.push((row, dot as f32 * self.row_scales[row] * query_scale)));
        let n_candidates = (limit * RESCORE_OVERSAMPLING).max(RESCORE_MIN_CANDIDATES);
        if candidates.len() > n_candidates {
            candidates.select_nth_unstable_by(n_candidates - 1, |a, b| b.1.total_cmp(&a.1));
            candidates.truncate(n_candidates);
        }
        let mut scored: Vec<(u64, f32)> = candidates.into_iter().map(|(row, _)| (self.row_uids[row], dot(&self.matrix[row * self.dim..(row + 1) * self.dim], query))).collect();
        scored.sort_by(by_score_desc);
        scored.truncate(limit);
        scored
    }
}

/// The int8 scan keeps this many times `limit` rows for exact rescoring (and at least
/// [`RESCORE_MIN_CANDIDATES`]): int8 scores are within about 1 % of the f32 ones, so the exact
/// top rows are among the int8 top few times as many.
const RESCORE_OVERSAMPLING: usize = 4;
const RESCORE_MIN_CANDIDATES: usize = 64;

/// Symmetric per-vector int8 quantization: values scaled so the largest magnitude is 127.
fn quantize(vector: &[f32]) -> (Vec<i8>, f32) {
    let max_abs = vector.iter().fold(0.0f32, |max, value| max.max(value.abs()));
    if max_abs == 0.0 {
        return (vec![0; vector.len()], 0.0);
    }
    let scale = max_abs / 127.0;
    (vector.iter().map(|value| (value / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

/// Calls `found(row, dot)` with the integer dot product of `query` and each row of `matrix`.
/// The kernel is picked at run time: AVX-512 VNNI (`vpdpbusd`, 64 byte products per
/// instruction), else AVX2 (`vpmaddubsw` + `vpmaddwd`, 32), else portable code. All three
/// compute the same exact integer sums, so the candidates never depend on the CPU.
fn scan_i8(matrix: &[i8], dim: usize, query: &[i8], found: impl FnMut(usize, i32)) {
    #[cfg(target_arch = "x86_64")]
    {
        if cpu_has_avx512_vnni() {
            // SAFETY: the CPU supports AVX-512 F, BW and VNNI, checked just above.
            unsafe { x86::scan_i8_avx512_vnni(matrix, dim, query, found) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { x86::scan_i8_avx2(matrix, dim, query, found) };
            return;
        }
    }
    scan_i8_portable(matrix, dim, query, found);
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_avx512_vnni() -> bool {
    static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DETECTED.get_or_init(|| std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") && std::arch::is_x86_feature_detected!("avx512vnni"))
}

/// The scan's SIMD kernels. Both multiply unsigned |q| by the row's values with q's sign moved
/// onto them (`r · sign(q)`), because the byte multiply instructions take one unsigned operand;
/// |q|, r ≤ 127 (see [`quantize`]), so no intermediate sum saturates or overflows.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX-512 F, BW and VNNI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn scan_i8_avx512_vnni(matrix: &[i8], dim: usize, query: &[i8], mut found: impl FnMut(usize, i32)) {
        const BLOCK: usize = 64;
        let n_blocks = dim / BLOCK;
        let query_blocks: Vec<(__m512i, __mmask64)> = (0..n_blocks)
            .map(|block| {
                let values = _mm512_loadu_si512(query[block * BLOCK..].as_ptr().cast());
                (_mm512_abs_epi8(values), _mm512_movepi8_mask(values))
            })
            .collect();
        let zero = _mm512_setzero_si512();
        for (row, row_values) in matrix.chunks_exact(dim).enumerate() {
            let mut sums = _mm512_setzero_si512();
            for (block, &(query_abs, query_negative)) in query_blocks.iter().enumerate() {
                let values = _mm512_loadu_si512(row_values[block * BLOCK..].as_ptr().cast());
                let signed = _mm512_mask_sub_epi8(values, query_negative, zero, values);
                sums = _mm512_dpbusd_epi32(sums, query_abs, signed);
            }
            found(row, _mm512_reduce_add_epi32(sums) + super::dot_i8(&row_values[n_blocks * BLOCK..], &query[n_blocks * BLOCK..]));
        }
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan_i8_avx2(matrix: &[i8], dim: usize, query: &[i8], mut found: impl FnMut(usize, i32)) {
        const BLOCK: usize = 32;
        let n_blocks = dim / BLOCK;
        let query_blocks: Vec<(__m256i, __m256i)> = (0..n_blocks)
            .map(|block| {
                let values = _mm256_loadu_si256(query[block * BLOCK..].as_ptr().cast());
                (_mm256_abs_epi8(values), values)
            })
            .collect();
        let ones = _mm256_set1_epi16(1);
        for (row, row_values) in matrix.chunks_exact(dim).enumerate() {
            let mut sums = _mm256_setzero_si256();
            for (block, &(query_abs, query_values)) in query_blocks.iter().enumerate() {
                let values = _mm256_loadu_si256(row_values[block * BLOCK..].as_ptr().cast());
                // Adjacent byte products summed in i16: at most 2 · 127 · 127 < 2¹⁵.
                let pairs = _mm256_maddubs_epi16(query_abs, _mm256_sign_epi8(values, query_values));
                sums = _mm256_add_epi32(sums, _mm256_madd_epi16(pairs, ones));
            }
            let halves = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256::<1>(sums));
            let pairs = _mm_add_epi32(halves, _mm_shuffle_epi32::<0b01_00_11_10>(halves));
            let total = _mm_add_epi32(pairs, _mm_shuffle_epi32::<0b10_11_00_01>(pairs));
            found(row, _mm_cvtsi128_si32(total) + super::dot_i8(&row_values[n_blocks * BLOCK..], &query[n_blocks * BLOCK..]));
        }
    }
}

#[inline(always)]
fn scan_i8_portable(matrix: &[i8], dim: usize, query: &[i8], mut found: impl FnMut(usize, i32)) {
    for (row, quantized_row) in matrix.chunks_exact(dim).enumerate() {
        found(row, dot_i8(quantized_row, query));
    }
}

/// Integer dot product; 16 lanes of i32 let the compiler vectorise it (widening multiplies).
#[inline(always)]
/// Sums cannot overflow: 127² × a few thousand dimensions is far below i32::MAX; wrapping
/// arithmetic just keeps debug builds from inserting overflow checks into the loop.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    const LANES: usize = 16;
    let mut sums = [0i32; LANES];
    let a_blocks = a.chunks_exact(LANES);
    let b_blocks = b.chunks_exact(LANES);
    let tail = a_blocks.remainder().iter().zip(b_blocks.remainder()).fold(0i32, |sum, (x, y)| sum.wrapping_add(i32::from(*x).wrapping_mul(i32::from(*y))));
    for (a_block, b_block) in a_blocks.zip(b_blocks) {
        for lane in 0..LANES {
            sums[lane] = sums[lane].wrapping_add(i32::from(a_block[lane]).wrapping_mul(i32::from(b_block[lane])));
        }
    }
    sums.iter().fold(tail, |sum, lane_sum| sum.wrapping_add(*lane_sum))
}

/// Eight independent accumulators let the compiler keep the sum in SIMD registers (a single
/// f32 accumulator must be summed in order, which forbids vectorising).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut sums = [0.0f32; LANES];
    let a_blocks = a.chunks_exact(LANES);
    let b_blocks = b.chunks_exact(LANES);
    let tail: f32 = a_blocks.remainder().iter().zip(b_blocks.remainder()).map(|(x, y)| x * y).sum();
    for (a_block, b_block) in a_blocks.zip(b_blocks) {
        for lane in 0..LANES {
            sums[lane] += a_block[lane] * b_block[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_insert_replace_and_remove() {
        let mut store = VectorStore::new(3);
        store.insert(10, &[1.0, 0.0, 0.0]);
        store.insert(11, &[0.0, 1.0, 0.0]);
        store.insert(12, &[0.6, 0.8, 0.0]);
        assert_eq!(store.top(&[1.0, 0.0, 0.0], 2), vec![(10, 1.0), (12, 0.6)]);
        store.remove(10);
        assert_eq!(store.len(), 2);
        assert_eq!(store.top(&[1.0, 0.0, 0.0], 5), vec![(12, 0.6), (11, 0.0)]);
        store.insert(11, &[0.9, 0.0, 0.1]);
        assert_eq!(store.top(&[1.0, 0.0, 0.0], 1), vec![(11, 0.9)]);
        assert_eq!(store.score(12, &[0.0, 1.0, 0.0]), Some(0.8));
        assert_eq!(store.score(10, &[0.0, 1.0, 0.0]), None);
        store.remove(12);
        store.remove(11);
        store.remove(11);
        assert!(store.is_empty());
        assert!(store.top(&[1.0, 0.0, 0.0], 3).is_empty());
    }

    #[test]
    fn int8_scan_with_rescoring_finds_the_exact_top() {
        // Deterministic pseudo-random unit vectors, 384 wide like MiniLM's.
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next_vector = || {
            let mut vector: Vec<f32> = (0..384)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 20_001) as f32 / 10_000.0 - 1.0
                })
                .collect();
            let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
            vector.iter_mut().for_each(|value| *value /= norm);
            vector
        };
        let mut store = VectorStore::new(384);
        let rows: Vec<Vec<f32>> = (0..2_000).map(|_| next_vector()).collect();
        for (uid, row) in rows.iter().enumerate() {
            store.insert(uid as u64, row);
        }
        for _ in 0..20 {
            let query = next_vector();
            let mut exact: Vec<(u64, f32)> = rows.iter().enumerate().map(|(uid, row)| (uid as u64, dot(row, &query))).collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            exact.truncate(10);
            assert_eq!(store.top(&query, 10), exact);
        }
    }

    #[test]
    fn simd_scans_equal_the_portable_scan() {
        // Every width around the 32- and 64-byte blocks, extreme values included (the kernels
        // move the query's sign onto the row: ±127 on both sides is the largest product).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next_value = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state % 255) as i32 - 127) as i8
        };
        for dim in (1..140).chain([383, 384, 385]) {
            let n_rows = 7;
            let mut matrix: Vec<i8> = (0..n_rows * dim).map(|_| next_value()).collect();
            let mut query: Vec<i8> = (0..dim).map(|_| next_value()).collect();
            matrix[..dim].fill(127);
            matrix[dim..2 * dim].fill(-127);
            query[0] = -127;
            let mut expected = Vec::new();
            scan_i8_portable(&matrix, dim, &query, |row, dot| expected.push((row, dot)));
            let mut got = Vec::new();
            scan_i8(&matrix, dim, &query, |row, dot| got.push((row, dot)));
            assert_eq!(got, expected, "dim {dim}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut avx2 = Vec::new();
                // SAFETY: AVX2 checked just above.
                unsafe { x86::scan_i8_avx2(&matrix, dim, &query, |row, dot| avx2.push((row, dot))) };
                assert_eq!(avx2, expected, "avx2, dim {dim}");
            }
        }
    }

    #[test]
    fn dot_matches_naive_sum_for_every_length() {
        for len in 0..40 {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-5, "len {len}");
            let a_i8: Vec<i8> = a.iter().map(|value| (value * 127.0) as i8).collect();
            let b_i8: Vec<i8> = b.iter().map(|value| (value * 127.0) as i8).collect();
            let naive_i8: i32 = a_i8.iter().zip(&b_i8).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
            assert_eq!(dot_i8(&a_i8, &b_i8), naive_i8, "len {len}");
        }
    }
}
