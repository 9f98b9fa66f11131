//! Choosing among findings that claim the same characters.
//!
//! Every detector (entities and PII) first proposes candidates on its own; this module then
//! keeps a non-overlapping subset. Candidates carry a rank (lower wins) that encodes which
//! kind is more specific — a validated tracking number beats the phone number its digits also
//! parse as — and among equal ranks the longer span wins, then the earlier one.
//!
//! Overlap checks go through a `BTreeMap` keyed by start offset, so choosing among `n`
//! candidates costs `O(n log n)` even on a 10 MB text with many findings.

use std::collections::BTreeMap;

use sb_domain::Span;

/// A set of disjoint spans that answers "does this span touch any of you?" in `O(log n)`.
#[derive(Debug, Default, Clone)]
pub(crate) struct SpanSet {
    /// start → end of each disjoint span.
    end_by_start: BTreeMap<usize, usize>,
}

impl SpanSet {
    pub(crate) fn new() -> SpanSet {
        SpanSet::default()
    }

    /// Adds a span, merging it with any span it overlaps so the set stays disjoint.
    pub(crate) fn insert(&mut self, span: Span) {
        if span.is_empty() {
            return;
        }
        let mut merged_start = span.start;
        let mut merged_end = span.end;
        let overlapping_starts: Vec<usize> = self
            .end_by_start
            .range(..span.end)
            .rev()
            .take_while(|(_, &end)| end > span.start)
            .map(|(&start, _)| start)
            .collect();
        for start in overlapping_starts {
            if let Some(end) = self.end_by_start.remove(&start) {
                merged_start = merged_start.min(start);
                merged_end = merged_end.max(end);
            }
        }
        self.end_by_start.insert(merged_start, merged_end);
    }

    /// Whether `span` shares at least one byte with a span of the set.
    pub(crate) fn overlaps(&self, span: Span) -> bool {
        if span.is_empty() {
            return false;
        }
        // The set is disjoint, so only the last span starting before `span.end` can reach
        // into `span`: every earlier one ends before that one starts.
        match self.end_by_start.range(..span.end).next_back() {
            Some((_, &end)) => end > span.start,
            None => false,
        }
    }

    /// The disjoint spans of the set, sorted.
    pub(crate) fn into_spans(self) -> impl Iterator<Item = Span> {
        self.end_by_start
            .into_iter()
            .map(|(start, end)| Span::new(start, end))
    }

    pub(crate) fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        for span in spans {
            self.insert(span);
        }
    }
}

/// A candidate finding with its rank: lower ranks are more specific and win overlaps.
#[derive(Debug, Clone)]
pub(crate) struct Ranked<T> {
    pub(crate) span: Span,
    pub(crate) rank: u8,
    pub(crate) item: T,
}

/// Keeps the best non-overlapping candidates (rank, then length, then position) and returns
/// them sorted by start offset. Empty spans are dropped.
pub(crate) fn keep_non_overlapping<T>(mut candidates: Vec<Ranked<T>>) -> Vec<Ranked<T>> {
    candidates.sort_by(|left, right| {
        left.rank
            .cmp(&right.rank)
            .then(right.span.len().cmp(&left.span.len()))
            .then(left.span.start.cmp(&right.span.start))
    });
    let mut taken = SpanSet::new();
    let mut kept = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        if candidate.span.is_empty() || taken.overlaps(candidate.span) {
            continue;
        }
        taken.insert(candidate.span);
        kept.push(candidate);
    }
    kept.sort_by_key(|candidate| (candidate.span.start, candidate.span.end));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_set_merges_and_answers_overlaps() {
        let mut span_set = SpanSet::new();
        span_set.insert(Span::new(10, 20));
        span_set.insert(Span::new(30, 40));
        span_set.insert(Span::new(18, 32));
        assert!(span_set.overlaps(Span::new(5, 11)));
        assert!(span_set.overlaps(Span::new(39, 50)));
        assert!(!span_set.overlaps(Span::new(40, 50)));
        assert!(!span_set.overlaps(Span::new(0, 10)));
        assert!(!span_set.overlaps(Span::new(15, 15)));
        assert_eq!(span_set.end_by_start.len(), 1);
    }

    #[test]
    fn lower_rank_wins_then_longer_span() {
        let candidates = vec![
            Ranked {
                span: Span::new(0, 10),
                rank: 5,
                item: "phone",
            },
            Ranked {
                span: Span::new(2, 8),
                rank: 1,
                item: "tracking",
            },
            Ranked {
                span: Span::new(9, 14),
                rank: 5,
                item: "short",
            },
            Ranked {
                span: Span::new(9, 20),
                rank: 5,
                item: "long",
            },
        ];
        let kept: Vec<&str> = keep_non_overlapping(candidates)
            .into_iter()
            .map(|ranked| ranked.item)
            .collect();
        assert_eq!(kept, vec!["tracking", "long"]);
    }
}
