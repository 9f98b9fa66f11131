//! Evaluation metrics: accuracy, macro-F1, per-class precision/recall, confusions and the
//! expected calibration error (equal-width bins over the top-label confidence).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub gold: String,
    pub predicted: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub n_examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Expected calibration error with `ece_bins` equal-width bins.
    pub ece: f64,
    pub ece_bins: usize,
    /// Mean negative log-likelihood of the gold label.
    pub log_loss: f64,
    pub per_class: Vec<ClassReport>,
    /// Most frequent (gold, predicted) mistakes, most frequent first.
    pub top_confusions: Vec<Confusion>,
}

/// One scored example: gold label index, predicted label index, the predicted label's
/// probability and the gold label's probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub gold: usize,
    pub predicted: usize,
    pub confidence: f32,
    pub gold_probability: f32,
}

pub fn expected_calibration_error(scored: &[Scored], n_bins: usize) -> f64 {
    if scored.is_empty() {
        return 0.0;
    }
    let mut bin_count = vec![0usize; n_bins];
    let mut bin_confidence = vec![0.0f64; n_bins];
    let mut bin_correct = vec![0.0f64; n_bins];
    for example in scored {
        // Bins are (k/n, (k+1)/n]; confidence 0 falls into the first.
        let bin = ((example.confidence as f64 * n_bins as f64).ceil() as usize).clamp(1, n_bins) - 1;
        bin_count[bin] += 1;
        bin_confidence[bin] += example.confidence as f64;
        bin_correct[bin] += (example.gold == example.predicted) as u8 as f64;
    }
    let n_examples = scored.len() as f64;
    (0..n_bins)
        .filter(|&bin| bin_count[bin] > 0)
        .map(|bin| (bin_correct[bin] - bin_confidence[bin]).abs() / n_examples)
        .sum()
}

pub fn evaluate(labels: &[String], scored: &[Scored], n_bins: usize) -> EvalReport {
    let n_classes = labels.len();
    let mut confusion = vec![vec![0usize; n_classes]; n_classes];
    let mut log_loss = 0.0f64;
    for example in scored {
        confusion[example.gold][example.predicted] += 1;
        log_loss -= (example.gold_probability.max(1e-12) as f64).ln();
    }
    let n_examples = scored.len();
    let n_correct: usize = (0..n_classes).map(|class| confusion[class][class]).sum();
    let mut per_class = Vec::with_capacity(n_classes);
    for class in 0..n_classes {
        let true_positive = confusion[class][class] as f64;
        let support: usize = confusion[class].iter().sum();
        let predicted: usize = (0..n_classes).map(|gold| confusion[gold][class]).sum();
        let precision = if predicted > 0 { true_positive / predicted as f64 } else { 0.0 };
        let recall = if support > 0 { true_positive / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        per_class.push(ClassReport { label: labels[class].clone(), precision, recall, f1, support });
    }
    // Macro averages over classes present in the gold labels, as scikit-learn does when
    // labels come from y_true ∪ y_pred; a class never seen nor predicted is left out.
    let counted: Vec<&ClassReport> = (0..n_classes)
        .filter(|&class| per_class[class].support > 0 || (0..n_classes).any(|gold| confusion[gold][class] > 0))
        .map(|class| &per_class[class])
        .collect();
    let macro_f1 = counted.iter().map(|report| report.f1).sum::<f64>() / counted.len().max(1) as f64;
    let mut top_confusions: Vec<Confusion> = Vec::new();
    for gold in 0..n_classes {
        for predicted in 0..n_classes {
            if gold != predicted && confusion[gold][predicted] > 0 {
                top_confusions.push(Confusion {
                    gold: labels[gold].clone(),
                    predicted: labels[predicted].clone(),
                    count: confusion[gold][predicted],
                });
            }
        }
    }
    top_confusions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.gold.cmp(&b.gold)));
    top_confusions.truncate(10);
    EvalReport {
        n_examples,
        accuracy: if n_examples > 0 { n_correct as f64 / n_examples as f64 } else { 0.0 },
        macro_f1,
        ece: expected_calibration_error(scored, n_bins),
        ece_bins: n_bins,
        log_loss: if n_examples > 0 { log_loss / n_examples as f64 } else { 0.0 },
        per_class,
        top_confusions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(gold: usize, predicted: usize, confidence: f32) -> Scored {
        Scored { gold, predicted, confidence, gold_probability: if gold == predicted { confidence } else { 0.1 } }
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy() {
        // Four examples at confidence 0.75, three right: perfectly calibrated.
        let examples = [scored(0, 0, 0.75), scored(1, 1, 0.75), scored(0, 0, 0.75), scored(1, 0, 0.75)];
        assert!(expected_calibration_error(&examples, 15) < 1e-9);
        // All right at confidence 0.5: off by 0.5.
        let overconfident = [scored(0, 0, 0.5), scored(1, 1, 0.5)];
        assert!((expected_calibration_error(&overconfident, 15) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn per_class_and_macro_f1() {
        let labels = vec!["a".to_string(), "b".to_string()];
        // gold a,a,b,b ; predicted a,b,b,b
        let examples = [scored(0, 0, 0.9), scored(0, 1, 0.6), scored(1, 1, 0.8), scored(1, 1, 0.7)];
        let report = evaluate(&labels, &examples, 15);
        assert_eq!(report.accuracy, 0.75);
        assert_eq!(report.per_class[0].precision, 1.0);
        assert_eq!(report.per_class[0].recall, 0.5);
        assert!((report.per_class[1].precision - 2.0 / 3.0).abs() < 1e-12);
        let f1_a = 2.0 * 0.5 / 1.5;
        let f1_b = 2.0 * (2.0 / 3.0) / (5.0 / 3.0);
        assert!((report.macro_f1 - (f1_a + f1_b) / 2.0).abs() < 1e-12);
        assert_eq!(report.top_confusions, vec![Confusion { gold: "a".into(), predicted: "b".into(), count: 1 }]);
    }
}
