//! A binary gate: a calibrated yes/no classifier and the probability threshold at which it
//! says yes, chosen for a recall target on out-of-fold predictions of the training data
//! (see `train.rs`). Saved as a classifier directory plus `decision.json`.

use sb_classify::Classifier;
use serde::{Deserialize, Serialize};
use std::path::Path;

const DECISION_FILE: &str = "decision.json";

/// What a gate's threshold is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateScore {
    /// The gate model's probability of "yes".
    GateProbability,
    /// The mean of that probability and the intent model's probability of the safety intents.
    MeanWithIntentSafety,
}

/// The threshold of a gate and what it achieved on the predictions it was chosen on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateDecision {
    /// The gate says yes when the probability of "yes" is at least this.
    pub threshold: f32,
    /// What `threshold` is compared with.
    pub score: GateScore,
    pub target_recall: f64,
    /// Recall and false-alarm rate at `threshold` on the out-of-fold predictions.
    pub out_of_fold_recall: f64,
    pub out_of_fold_false_alarm_rate: f64,
    pub n_positive: usize,
    pub n_negative: usize,
    pub n_folds: usize,
}

impl GateDecision {
    /// The highest threshold at which at least `target_recall` of the positives score at or
    /// above it. It sits halfway between the lowest positive that must be caught and the next
    /// lower score, so a new message that scores like that positive is caught too.
    pub fn for_recall(scores: &[f32], positive: &[bool], target_recall: f64, n_folds: usize, score: GateScore) -> GateDecision {
        assert_eq!(scores.len(), positive.len(), "one score per example");
        let mut positive_scores: Vec<f32> = scores.iter().zip(positive).filter(|(_, &positive)| positive).map(|(&score, _)| score).collect();
        positive_scores.sort_by(f32::total_cmp);
        let n_positive = positive_scores.len();
        let n_negative = scores.len() - n_positive;
        let threshold = if n_positive == 0 {
            1.0
        } else {
            let allowed_misses = (((1.0 - target_recall) * n_positive as f64) + 1e-9).floor().max(0.0) as usize;
            let lowest_caught = positive_scores[allowed_misses.min(n_positive - 1)];
            let next_lower = scores.iter().copied().filter(|&score| score < lowest_caught).fold(f32::NEG_INFINITY, f32::max);
            if next_lower.is_finite() {
                (lowest_caught + next_lower) / 2.0
            } else {
                lowest_caught
            }
        };
        let caught = positive_scores.iter().filter(|&&score| score >= threshold).count();
        let false_alarms = scores.iter().zip(positive).filter(|(&score, &positive)| !positive && score >= threshold).count();
        GateDecision {
            threshold,
            score,
            target_recall,
            out_of_fold_recall: caught as f64 / n_positive.max(1) as f64,
            out_of_fold_false_alarm_rate: false_alarms as f64 / n_negative.max(1) as f64,
            n_positive,
            n_negative,
            n_folds,
        }
    }
}

pub struct Gate {
    model: Classifier,
    positive_idx: usize,
    decision: GateDecision,
}

impl Gate {
    pub fn new(model: Classifier, decision: GateDecision) -> Result<Gate, sb_classify::Error> {
        let positive_idx = model
            .labels()
            .iter()
            .position(|label| label == crate::train::GATE_POSITIVE)
            .filter(|_| model.labels().len() == 2)
            .ok_or_else(|| sb_classify::Error::Format(format!("a gate model has the labels {} and {}, found {:?}", crate::train::GATE_NEGATIVE, crate::train::GATE_POSITIVE, model.labels())))?;
        Ok(Gate { model, positive_idx, decision })
    }

    pub fn load(dir: &Path) -> crate::Result<Gate> {
        let model_error = |source| crate::Error::Model { dir: dir.to_path_buf(), source };
        let model = Classifier::load(dir).map_err(model_error)?;
        let path = dir.join(DECISION_FILE);
        let bytes = std::fs::read(&path).map_err(|source| model_error(sb_classify::Error::Io { path: path.clone(), source }))?;
        let decision: GateDecision =
            serde_json::from_slice(&bytes).map_err(|error| model_error(sb_classify::Error::Format(format!("{}: {error}", path.display()))))?;
        Gate::new(model, decision).map_err(model_error)
    }

    pub fn save(&self, dir: &Path) -> crate::Result<()> {
        let model_error = |source| crate::Error::Model { dir: dir.to_path_buf(), source };
        self.model.save(dir).map_err(model_error)?;
        let path = dir.join(DECISION_FILE);
        let bytes = serde_json::to_vec_pretty(&self.decision).expect("decision is plain data");
        std::fs::write(&path, bytes).map_err(|source| model_error(sb_classify::Error::Io { path, source }))
    }

    pub fn model(&self) -> &Classifier {
        &self.model
    }

    pub fn decision(&self) -> &GateDecision {
        &self.decision
    }

    /// Probability of "yes".
    pub fn probability(&self, text: &str, embedding: Option<&[f32]>) -> sb_classify::Result<f32> {
        let prediction = self.model.predict(text, embedding.filter(|_| self.model.embedding().is_some()))?;
        Ok(prediction.probabilities[self.positive_idx])
    }

    /// The score the threshold applies to, from the gate's probability and the intent
    /// model's safety mass.
    pub fn score(&self, probability: f32, intent_safety_probability: f32) -> f32 {
        match self.decision.score {
            GateScore::GateProbability => probability,
            GateScore::MeanWithIntentSafety => (probability + intent_safety_probability) / 2.0,
        }
    }

    pub fn says_yes(&self, score: f32) -> bool {
        score >= self.decision.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(scores: &[f32], positive: &[bool], target_recall: f64, expected_threshold: f32, expected_recall: f64, expected_false_alarms: f64) {
        let decision = GateDecision::for_recall(scores, positive, target_recall, 5, GateScore::GateProbability);
        assert!((decision.threshold - expected_threshold).abs() < 1e-6, "threshold {} != {expected_threshold}", decision.threshold);
        assert!((decision.out_of_fold_recall - expected_recall).abs() < 1e-9, "recall {}", decision.out_of_fold_recall);
        assert!((decision.out_of_fold_false_alarm_rate - expected_false_alarms).abs() < 1e-9, "false alarms {}", decision.out_of_fold_false_alarm_rate);
    }

    #[test]
    fn threshold_reaches_the_recall_with_the_fewest_false_alarms() {
        // Positives 0.9, 0.8, 0.4, 0.2; negatives 0.5, 0.1, 0.05.
        let scores = [0.9, 0.8, 0.4, 0.2, 0.5, 0.1, 0.05];
        let positive = [true, true, true, true, false, false, false];
        // Full recall: 0.2 must be caught, halfway to 0.1 below it; the negative at 0.5 is a false alarm.
        check(&scores, &positive, 1.0, 0.15, 1.0, 1.0 / 3.0);
        // 75 %: one miss allowed, so 0.4 is the lowest caught; halfway to 0.2.
        check(&scores, &positive, 0.75, 0.3, 0.75, 1.0 / 3.0);
        // 50 %: 0.8 lowest caught; the next lower score is the negative at 0.5.
        check(&scores, &positive, 0.5, 0.65, 0.5, 0.0);
    }

    #[test]
    fn the_lowest_score_is_its_own_threshold() {
        check(&[0.3, 0.6], &[true, false], 1.0, 0.3, 1.0, 1.0);
    }
}
