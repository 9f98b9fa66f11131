//! Fusing the two rankings and deciding whether the best result is a confident answer. Pure
//! functions over plain numbers, so the evaluation can re-run the decision under other
//! thresholds without searching again.
//!
//! Ranking uses weighted reciprocal rank fusion (RRF): `Σ weight / (k + rank)` over the BM25
//! and vector rankings of articles, plus a small bonus for articles in the query's language.
//! RRF needs no score normalisation, which matters because BM25 scores grow with query length
//! and cosines do not.
//!
//! Confidence cannot come from ranks: a question nothing answers still has a rank-1 article.
//! It uses absolute evidence instead: the cosine between the query and the best passage of the
//! top article, how far that passage is ahead of the best passage of any other article, and
//! whether BM25 independently put the same article first. Without an embedding model the
//! confidence is BM25's relative lead of the top article over the second, which is weaker
//! evidence, so its threshold is stricter.

use serde::{Deserialize, Serialize};

/// How the rankings are combined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionConfig {
    pub bm25_weight: f32,
    pub vector_weight: f32,
    /// RRF's `k`: larger values flatten the difference between neighbouring ranks.
    pub rrf_k: f32,
    /// Added to the fused score of articles written in the query's detected language (when the
    /// detection is at least [`FusionConfig::min_language_confidence`] sure).
    pub language_bonus: f32,
    pub min_language_confidence: f32,
}

impl Default for FusionConfig {
    fn default() -> FusionConfig {
        FusionConfig { bm25_weight: 1.0, vector_weight: 1.0, rrf_k: 60.0, language_bonus: 0.01, min_language_confidence: 0.3 }
    }
}

/// When the top result counts as a confident answer. The defaults were tuned on the dev half
/// of `data/kb/eval.csv` (see `docs/benchmarks.md` and `examples/kb_eval.rs --tune`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceConfig {
    /// Confident when [`confidence`] is at least this (with embeddings).
    pub min_confidence: f32,
    /// Weight of the cosine lead over the next article.
    pub margin_weight: f32,
    /// Added when BM25 ranks the same article first.
    pub agreement_bonus: f32,
    /// Without embeddings: the BM25 relative lead needed when the top passage holds just
    /// [`ConfidenceConfig::min_bm25_coverage`] of the question's terms.
    pub min_bm25_lead: f32,
    /// Without embeddings: the lead needed when the passage holds every term of the question.
    /// Between the two coverages the bar falls linearly: a passage that contains the whole
    /// question is strong evidence on its own, so it needs less of a lead over the runner-up
    /// (the store-hours article leads "What are your opening hours?" by 0.49 and holds both
    /// of its terms), while one that holds few terms needs a clear lead.
    pub min_bm25_lead_full_coverage: f32,
    /// Without embeddings, also: this share of the query's terms (after stop words and
    /// stemming) must occur in the top passage. The lead alone is relative: in a small knowledge
    /// base one article matching a single common word leads by 100 %.
    pub min_bm25_coverage: f32,
}

impl Default for ConfidenceConfig {
    fn default() -> ConfidenceConfig {
        ConfidenceConfig { min_confidence: 0.68, margin_weight: 0.5, agreement_bonus: 0.05, min_bm25_lead: 0.58, min_bm25_lead_full_coverage: 0.12, min_bm25_coverage: 0.25 }
    }
}

/// One article's place in each ranking (1-based ranks; `None` when the ranking did not return
/// it among its candidates).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RankedCandidate {
    pub bm25_rank: Option<u32>,
    pub vector_rank: Option<u32>,
    pub same_language: bool,
}

/// The fused score of one article.
pub fn fused_score(candidate: RankedCandidate, config: &FusionConfig) -> f32 {
    let rrf = |weight: f32, rank: Option<u32>| rank.map_or(0.0, |rank| weight / (config.rrf_k + rank as f32));
    let language_bonus = if candidate.same_language { config.language_bonus } else { 0.0 };
    rrf(config.bm25_weight, candidate.bm25_rank) + rrf(config.vector_weight, candidate.vector_rank) + language_bonus
}

/// The evidence about the top result that [`confidence`] weighs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfidenceFeatures {
    /// Cosine of the top article's best passage; `None` without embeddings.
    pub top_cosine: Option<f32>,
    /// `top_cosine` minus the best cosine of any other candidate article (negative when
    /// another article's passage is closer); `None` without embeddings.
    pub cosine_margin: Option<f32>,
    /// BM25 ranked the top article first.
    pub bm25_agrees: bool,
    /// `(s1 - s2) / s1` for the top article's BM25 score s1 and the best other article's s2
    /// (1 when only one article matched, 0 when the top article has no BM25 match).
    pub bm25_lead: f32,
    /// Share of the query's analysed terms found in the top article's BM25 passage (with its
    /// title and heading); computed for BM25-only search.
    #[serde(default)]
    pub query_coverage: Option<f32>,
}

/// A confidence on the scale of [`ConfidenceConfig::min_confidence`] (with embeddings) or of
/// the BM25 lead (without).
pub fn confidence(features: &ConfidenceFeatures, config: &ConfidenceConfig) -> f32 {
    match (features.top_cosine, features.cosine_margin) {
        (Some(top_cosine), Some(cosine_margin)) => {
            let agreement = if features.bm25_agrees { config.agreement_bonus } else { 0.0 };
            top_cosine + config.margin_weight * cosine_margin + agreement
        }
        _ => features.bm25_lead,
    }
}

/// The [`confidence`] the top result needs: [`ConfidenceConfig::min_confidence`] with
/// embeddings; without, the lead its passage's share of the question's terms asks for (from
/// [`ConfidenceConfig::min_bm25_lead`] at the minimum coverage down to
/// [`ConfidenceConfig::min_bm25_lead_full_coverage`] at all of them; below the minimum
/// coverage nothing is confident, and the bar shown is the one at the minimum).
pub fn required_confidence(features: &ConfidenceFeatures, config: &ConfidenceConfig) -> f32 {
    if features.top_cosine.is_some() {
        return config.min_confidence;
    }
    let coverage = features.query_coverage.unwrap_or(0.0).clamp(config.min_bm25_coverage, 1.0);
    let missing_share = (1.0 - coverage) / (1.0 - config.min_bm25_coverage).max(f32::EPSILON);
    config.min_bm25_lead_full_coverage + (config.min_bm25_lead - config.min_bm25_lead_full_coverage) * missing_share
}

/// Whether the features make a confident answer.
pub fn is_confident(features: &ConfidenceFeatures, config: &ConfidenceConfig) -> bool {
    let reaches = confidence(features, config) >= required_confidence(features, config);
    if features.top_cosine.is_some() {
        return reaches;
    }
    reaches && features.query_coverage.unwrap_or(0.0) >= config.min_bm25_coverage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_prefers_agreement_and_counts_missing_ranks_as_nothing() {
        let config = FusionConfig::default();
        let both = fused_score(RankedCandidate { bm25_rank: Some(2), vector_rank: Some(2), same_language: false }, &config);
        let one_first = fused_score(RankedCandidate { bm25_rank: Some(1), vector_rank: None, same_language: false }, &config);
        assert!(both > one_first, "{both} vs {one_first}");
        assert_eq!(fused_score(RankedCandidate::default(), &config), 0.0);
        let bonus = fused_score(RankedCandidate { same_language: true, ..RankedCandidate::default() }, &config);
        assert_eq!(bonus, config.language_bonus);
    }

    #[test]
    fn confidence_uses_absolute_cosine_margin_and_agreement() {
        let config = ConfidenceConfig { min_confidence: 0.6, margin_weight: 1.0, agreement_bonus: 0.05, min_bm25_lead: 0.5, min_bm25_lead_full_coverage: 0.5, min_bm25_coverage: 0.5 };
        let clear = ConfidenceFeatures { top_cosine: Some(0.62), cosine_margin: Some(0.1), bm25_agrees: true, bm25_lead: 0.2, query_coverage: None };
        assert!(is_confident(&clear, &config));
        // The same cosine, but another article is as close: no answer.
        let ambiguous = ConfidenceFeatures { cosine_margin: Some(-0.05), bm25_agrees: false, ..clear };
        assert!(!is_confident(&ambiguous, &config));
        // A far-off best passage is not an answer however much it leads.
        let distant = ConfidenceFeatures { top_cosine: Some(0.3), cosine_margin: Some(0.2), bm25_agrees: true, bm25_lead: 1.0, query_coverage: None };
        assert!(!is_confident(&distant, &config));
        // Without embeddings only BM25's lead counts.
        let bm25_only = ConfidenceFeatures { top_cosine: None, cosine_margin: None, bm25_agrees: true, bm25_lead: 0.55, query_coverage: Some(0.6) };
        assert!(is_confident(&bm25_only, &config));
        assert!(!is_confident(&ConfidenceFeatures { bm25_lead: 0.4, ..bm25_only }, &config));
        // A clear lead on one common word of the question is not an answer.
        assert!(!is_confident(&ConfidenceFeatures { bm25_lead: 1.0, query_coverage: Some(0.2), ..bm25_only }, &config));
    }

    /// Without embeddings the lead a passage needs falls as it holds more of the question.
    #[test]
    fn the_bm25_bar_falls_with_the_share_of_the_question_in_the_passage() {
        let config = ConfidenceConfig { min_bm25_lead: 0.6, min_bm25_lead_full_coverage: 0.2, min_bm25_coverage: 0.2, ..ConfidenceConfig::default() };
        let features = |bm25_lead: f32, coverage: f32| ConfidenceFeatures { top_cosine: None, cosine_margin: None, bm25_agrees: true, bm25_lead, query_coverage: Some(coverage) };
        // (lead, coverage, bar, confident)
        let cases = [(0.49, 1.0, 0.2, true), (0.49, 0.6, 0.4, true), (0.39, 0.6, 0.4, false), (0.59, 0.2, 0.6, false), (1.0, 0.1, 0.6, false), (0.6, 0.2, 0.6, true)];
        for (lead, coverage, bar, confident) in cases {
            let features = features(lead, coverage);
            assert!((required_confidence(&features, &config) - bar).abs() < 1e-6, "{lead} {coverage}: {}", required_confidence(&features, &config));
            assert_eq!(is_confident(&features, &config), confident, "{lead} {coverage}");
        }
    }
}
