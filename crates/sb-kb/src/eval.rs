//! Retrieval evaluation: run a question set through a knowledge base and measure what the
//! product promises (issue 5): recall@3, MRR, how often a question with no answering article
//! gets no confident answer, and how often a confident answer is wrong. Also tunes the
//! confidence thresholds on one part of the set so they can be reported on another.
//!
//! The set is a CSV with a header `question,article_id,language`; an empty `article_id` marks
//! a question that no article answers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fusion::{is_confident, ConfidenceConfig, ConfidenceFeatures};
use crate::knowledge_base::KnowledgeBase;
use crate::{Error, Result};

/// Articles looked at per question: enough for MRR to see a rank-10 answer.
pub const EVAL_RESULT_LIMIT: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalQuestion {
    pub question: String,
    /// `None` when no article answers the question.
    pub expected_article: Option<String>,
    pub language: String,
}

#[derive(Debug, Deserialize)]
struct EvalRow {
    question: String,
    article_id: String,
    language: String,
}

/// Reads an evaluation set (see the module docs for the format).
pub fn read_eval_csv(path: &Path) -> Result<Vec<EvalQuestion>> {
    let mut reader = csv::Reader::from_path(path).map_err(|error| Error::EvalSet { path: path.to_path_buf(), record: 0, reason: error.to_string() })?;
    let mut questions = Vec::new();
    for (record_idx, row) in reader.deserialize::<EvalRow>().enumerate() {
        let record = record_idx + 1;
        let row = row.map_err(|error| Error::EvalSet { path: path.to_path_buf(), record, reason: error.to_string() })?;
        if row.question.trim().is_empty() {
            return Err(Error::EvalSet { path: path.to_path_buf(), record, reason: "empty question".into() });
        }
        let article_id = row.article_id.trim();
        questions.push(EvalQuestion { question: row.question, expected_article: (!article_id.is_empty()).then(|| article_id.to_string()), language: row.language.trim().to_string() });
    }
    Ok(questions)
}

/// What the knowledge base returned for one question: all the report needs, so thresholds can
/// be re-tried without searching again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    pub question: String,
    pub expected_article: Option<String>,
    pub language: String,
    /// Article ids, best first (at most [`EVAL_RESULT_LIMIT`]).
    pub ranked_articles: Vec<String>,
    pub features: ConfidenceFeatures,
}

impl QuestionResult {
    /// 1-based rank of the expected article, if it was returned.
    pub fn expected_rank(&self) -> Option<usize> {
        let expected = self.expected_article.as_ref()?;
        self.ranked_articles.iter().position(|article_id| article_id == expected).map(|idx| idx + 1)
    }
}

/// Searches every question; `progress(n_done)` after each.
pub fn run_questions(knowledge_base: &KnowledgeBase, questions: &[EvalQuestion], mut progress: impl FnMut(usize)) -> Result<Vec<QuestionResult>> {
    let mut results = Vec::with_capacity(questions.len());
    for (question_idx, question) in questions.iter().enumerate() {
        let search_results = knowledge_base.search(&question.question, EVAL_RESULT_LIMIT)?;
        results.push(QuestionResult {
            question: question.question.clone(),
            expected_article: question.expected_article.clone(),
            language: question.language.clone(),
            ranked_articles: search_results.hits.into_iter().map(|hit| hit.article_id).collect(),
            features: search_results.features,
        });
        progress(question_idx + 1);
    }
    Ok(results)
}

/// The figures of issue 5 for one set of results under one confidence configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvalReport {
    pub n_questions: usize,
    pub n_answerable: usize,
    pub n_unanswerable: usize,
    /// Answerable questions whose article is first / among the first three.
    pub recall_at_1: f64,
    pub recall_at_3: f64,
    /// Mean reciprocal rank of the expected article (0 when not in the first ten).
    pub mrr: f64,
    /// Confident answers citing the expected article.
    pub n_confident_correct: usize,
    /// Confident answers citing another article, to an answerable question.
    pub n_confident_wrong_article: usize,
    /// Confident answers to questions no article answers.
    pub n_confident_unanswerable: usize,
    /// Share of unanswerable questions that got no confident answer (target ≥ 0.90).
    pub unanswerable_declined_rate: f64,
    /// Wrong confident answers (both kinds) over all questions (target ≤ 0.02).
    pub wrong_confident_rate: f64,
    /// Wrong confident answers over all confident answers.
    pub wrong_share_of_confident: f64,
    /// Answerable questions answered automatically and correctly.
    pub automatic_answer_rate: f64,
}

/// The reports as a Markdown table, one row per (name, report): what `switchboard kb eval`
/// prints and docs/benchmarks.md quotes.
pub fn markdown_table(rows: &[(&str, EvalReport)]) -> String {
    let mut table = String::from(
        "| part | questions (answerable / not) | recall@1 | recall@3 | MRR | auto-answered correctly | unanswerable declined | wrong confident (of all questions) | wrong share of confident answers |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, figures) in rows {
        table.push_str(&format!(
            "| {name} | {} ({} / {}) | {:.3} | {:.3} | {:.3} | {:.1} % | {:.1} % | {:.1} % ({} + {}) | {:.1} % |\n",
            figures.n_questions,
            figures.n_answerable,
            figures.n_unanswerable,
            figures.recall_at_1,
            figures.recall_at_3,
            figures.mrr,
            100.0 * figures.automatic_answer_rate,
            100.0 * figures.unanswerable_declined_rate,
            100.0 * figures.wrong_confident_rate,
            figures.n_confident_wrong_article,
            figures.n_confident_unanswerable,
            100.0 * figures.wrong_share_of_confident,
        ));
    }
    table
}

pub fn report(results: &[QuestionResult], config: &ConfidenceConfig) -> EvalReport {
    let ratio = |numerator: usize, denominator: usize| if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 };
    let answerable: Vec<&QuestionResult> = results.iter().filter(|result| result.expected_article.is_some()).collect();
    let n_unanswerable = results.len() - answerable.len();
    let ranks: Vec<Option<usize>> = answerable.iter().map(|result| result.expected_rank()).collect();
    let mut n_confident_correct = 0;
    let mut n_confident_wrong_article = 0;
    let mut n_confident_unanswerable = 0;
    for result in results {
        if result.ranked_articles.is_empty() || !is_confident(&result.features, config) {
            continue;
        }
        match &result.expected_article {
            None => n_confident_unanswerable += 1,
            Some(expected) if *expected == result.ranked_articles[0] => n_confident_correct += 1,
            Some(_) => n_confident_wrong_article += 1,
        }
    }
    let n_wrong = n_confident_wrong_article + n_confident_unanswerable;
    EvalReport {
        n_questions: results.len(),
        n_answerable: answerable.len(),
        n_unanswerable,
        recall_at_1: ratio(ranks.iter().filter(|rank| **rank == Some(1)).count(), answerable.len()),
        recall_at_3: ratio(ranks.iter().filter(|rank| rank.is_some_and(|rank| rank <= 3)).count(), answerable.len()),
        mrr: if answerable.is_empty() { 0.0 } else { ranks.iter().map(|rank| rank.map_or(0.0, |rank| 1.0 / rank as f64)).sum::<f64>() / answerable.len() as f64 },
        n_confident_correct,
        n_confident_wrong_article,
        n_confident_unanswerable,
        unanswerable_declined_rate: 1.0 - ratio(n_confident_unanswerable, n_unanswerable),
        wrong_confident_rate: ratio(n_wrong, results.len()),
        wrong_share_of_confident: ratio(n_wrong, n_wrong + n_confident_correct),
        automatic_answer_rate: ratio(n_confident_correct, answerable.len()),
    }
}

/// Splits results into a dev part (even positions) and a held-out part (odd positions). The
/// set interleaves topics, so both halves cover every article and language.
pub fn split_dev_test(results: &[QuestionResult]) -> (Vec<QuestionResult>, Vec<QuestionResult>) {
    let (dev, test): (Vec<_>, Vec<_>) = results.iter().cloned().enumerate().partition(|(idx, _)| idx % 2 == 0);
    (dev.into_iter().map(|(_, result)| result).collect(), test.into_iter().map(|(_, result)| result).collect())
}

/// Limits the tuning must respect on the dev part; stricter than the targets (2 % wrong, 90 %
/// declined) so that the held-out part has room.
pub const TUNING_MAX_WRONG_RATE: f64 = 0.01;
pub const TUNING_MIN_DECLINED_RATE: f64 = 0.95;

/// The confidence configuration that answers the most dev questions correctly while keeping
/// wrong answers and answered unanswerables within [`TUNING_MAX_WRONG_RATE`] and
/// [`TUNING_MIN_DECLINED_RATE`]; ties go to the higher (safer) threshold. When no grid point
/// meets the limits, the strictest one is returned. `base` supplies the BM25-only thresholds
/// when the results have cosines, and the rest when they do not. Without cosines the grid
/// spans the three BM25 thresholds (lead at the minimum coverage, lead at full coverage, the
/// minimum coverage); "safer" is then the larger sum of the three.
pub fn tune_confidence(dev: &[QuestionResult], base: &ConfidenceConfig) -> ConfidenceConfig {
    let has_cosines = dev.iter().any(|result| result.features.top_cosine.is_some());
    let mut candidates: Vec<ConfidenceConfig> = Vec::new();
    if has_cosines {
        for margin_weight in [0.0, 0.5, 1.0, 2.0] {
            for agreement_bonus in [0.0, 0.05, 0.1] {
                for threshold_step in 0..=80 {
                    let min_confidence = 0.3 + threshold_step as f32 * 0.01;
                    candidates.push(ConfidenceConfig { min_confidence, margin_weight, agreement_bonus, ..*base });
                }
            }
        }
    } else {
        // The lead needed at the minimum coverage, at full coverage (never more), and the
        // minimum coverage itself.
        for coverage_step in 4..=16 {
            let min_bm25_coverage = coverage_step as f32 * 0.05;
            for full_step in 0..=30 {
                let min_bm25_lead_full_coverage = full_step as f32 * 0.02;
                for lead_step in full_step..=50 {
                    candidates.push(ConfidenceConfig { min_bm25_lead: lead_step as f32 * 0.02, min_bm25_lead_full_coverage, min_bm25_coverage, ..*base });
                }
            }
        }
    }
    let strictness = |config: &ConfidenceConfig| if has_cosines { config.min_confidence } else { config.min_bm25_lead + config.min_bm25_lead_full_coverage + config.min_bm25_coverage };
    let mut best: Option<(usize, f32, ConfidenceConfig)> = None;
    for candidate in &candidates {
        let dev_report = report(dev, candidate);
        if dev_report.wrong_confident_rate > TUNING_MAX_WRONG_RATE || dev_report.unanswerable_declined_rate < TUNING_MIN_DECLINED_RATE {
            continue;
        }
        let key = (dev_report.n_confident_correct, strictness(candidate));
        let is_better = best.as_ref().is_none_or(|(n_correct, threshold, _)| key.0 > *n_correct || (key.0 == *n_correct && key.1 > *threshold));
        if is_better {
            best = Some((key.0, key.1, *candidate));
        }
    }
    best.map(|(_, _, config)| config).unwrap_or_else(|| *candidates.iter().max_by(|a, b| strictness(a).total_cmp(&strictness(b))).expect("the grid is not empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(expected: Option<&str>, ranked: &[&str], top_cosine: f32) -> QuestionResult {
        QuestionResult {
            question: "q".into(),
            expected_article: expected.map(str::to_string),
            language: "en".into(),
            ranked_articles: ranked.iter().map(|id| id.to_string()).collect(),
            features: ConfidenceFeatures { top_cosine: Some(top_cosine), cosine_margin: Some(0.0), bm25_agrees: false, bm25_lead: 0.0, query_coverage: None },
        }
    }

    #[test]
    fn report_counts_ranks_and_confident_answers() {
        let results = vec![
            result(Some("a"), &["a", "b"], 0.9),      // rank 1, confident, correct
            result(Some("b"), &["a", "c", "b"], 0.9), // rank 3, confident, wrong article
            result(Some("c"), &["a", "b"], 0.2),      // not found, not confident
            result(None, &["a"], 0.9),                // unanswerable, confident: wrong
            result(None, &["b"], 0.1),                // unanswerable, declined
        ];
        let config = ConfidenceConfig { min_confidence: 0.5, margin_weight: 0.0, agreement_bonus: 0.0, min_bm25_lead: 0.5, min_bm25_lead_full_coverage: 0.5, min_bm25_coverage: 0.5 };
        let figures = report(&results, &config);
        assert_eq!((figures.n_answerable, figures.n_unanswerable), (3, 2));
        assert!((figures.recall_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((figures.recall_at_3 - 2.0 / 3.0).abs() < 1e-9);
        assert!((figures.mrr - (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-9);
        assert_eq!((figures.n_confident_correct, figures.n_confident_wrong_article, figures.n_confident_unanswerable), (1, 1, 1));
        assert!((figures.unanswerable_declined_rate - 0.5).abs() < 1e-9);
        assert!((figures.wrong_confident_rate - 2.0 / 5.0).abs() < 1e-9);
    }

    #[test]
    fn tuning_finds_a_threshold_between_right_and_wrong() {
        let mut dev = Vec::new();
        for idx in 0..50 {
            dev.push(result(Some("a"), &["a"], 0.7 + idx as f32 * 0.001));
            dev.push(result(None, &["a"], 0.4 + idx as f32 * 0.001));
        }
        let tuned = tune_confidence(&dev, &ConfidenceConfig::default());
        let figures = report(&dev, &tuned);
        assert_eq!(figures.n_confident_correct, 50);
        assert_eq!(figures.n_confident_unanswerable, 0);
        assert!(tuned.min_confidence > 0.45 && tuned.min_confidence <= 0.7, "{tuned:?}");
    }

    /// Without cosines the three BM25 thresholds are tuned together: here the right answers
    /// hold the whole question with a small lead, the wrong ones lead clearly on a few of its
    /// words, which no single lead threshold tells apart.
    #[test]
    fn bm25_tuning_lowers_the_lead_for_passages_that_hold_the_question() {
        let bm25_result = |expected: Option<&str>, bm25_lead: f32, coverage: f32| QuestionResult {
            features: ConfidenceFeatures { top_cosine: None, cosine_margin: None, bm25_agrees: true, bm25_lead, query_coverage: Some(coverage) },
            ..result(expected, &["a"], 0.0)
        };
        let mut dev = Vec::new();
        for idx in 0..50 {
            dev.push(bm25_result(Some("a"), 0.3 + idx as f32 * 0.001, 1.0));
            dev.push(bm25_result(None, 0.6 + idx as f32 * 0.001, 0.34));
        }
        let tuned = tune_confidence(&dev, &ConfidenceConfig::default());
        let figures = report(&dev, &tuned);
        assert_eq!((figures.n_confident_correct, figures.n_confident_unanswerable), (50, 0), "{tuned:?}");
        assert!(tuned.min_bm25_lead_full_coverage <= 0.3 && tuned.min_bm25_lead > tuned.min_bm25_lead_full_coverage, "{tuned:?}");
    }
}
