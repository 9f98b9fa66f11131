//! Deterministic stratified splits of labelled data (seeded, no external RNG), so training
//! runs are reproducible and every class appears in every fold.

/// splitmix64: a tiny, well-mixed generator, enough for shuffling.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for idx in (1..items.len()).rev() {
            let other = (self.next_u64() % (idx as u64 + 1)) as usize;
            items.swap(idx, other);
        }
    }
}

/// Assigns each example to one of `n_folds` folds, class by class, so each fold holds about
/// `1 / n_folds` of every class. Returns the fold index of every example.
pub fn stratified_folds(labels: &[u32], n_classes: usize, n_folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut fold_of = vec![0usize; labels.len()];
    // Continue the round-robin across classes so small classes don't all start at fold 0.
    let mut next_fold = 0usize;
    for class in 0..n_classes as u32 {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&idx| labels[idx] == class).collect();
        rng.shuffle(&mut members);
        for example_idx in members {
            fold_of[example_idx] = next_fold;
            next_fold = (next_fold + 1) % n_folds;
        }
    }
    fold_of
}

/// A stratified hold-out of about `fraction` of the examples: `(train, held_out)` indices.
pub fn stratified_holdout(labels: &[u32], n_classes: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed);
    let mut train = Vec::new();
    let mut held_out = Vec::new();
    for class in 0..n_classes as u32 {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&idx| labels[idx] == class).collect();
        rng.shuffle(&mut members);
        let n_held = ((members.len() as f64 * fraction).round() as usize).min(members.len().saturating_sub(1));
        held_out.extend_from_slice(&members[..n_held]);
        train.extend_from_slice(&members[n_held..]);
    }
    train.sort_unstable();
    held_out.sort_unstable();
    (train, held_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_is_stratified_disjoint_and_deterministic() {
        let labels: Vec<u32> = (0..200).map(|idx| (idx % 4) as u32).collect();
        let (train, held) = stratified_holdout(&labels, 4, 0.1, 7);
        assert_eq!(held.len(), 20);
        assert_eq!(train.len() + held.len(), 200);
        for class in 0..4 {
            assert_eq!(held.iter().filter(|&&idx| labels[idx] == class).count(), 5);
        }
        assert!(train.iter().all(|idx| !held.contains(idx)));
        assert_eq!(stratified_holdout(&labels, 4, 0.1, 7), (train, held));
    }

    #[test]
    fn folds_balance_every_class() {
        let labels: Vec<u32> = (0..90).map(|idx| (idx % 3) as u32).collect();
        let folds = stratified_folds(&labels, 3, 3, 1);
        for fold in 0..3 {
            for class in 0..3 {
                let count = (0..90).filter(|&idx| folds[idx] == fold && labels[idx] == class).count();
                assert_eq!(count, 10);
            }
        }
    }
}
