//! Per-language text analysis for the BM25 index: one tantivy analyser per language we stem,
//! and a plain one for every other language.
//!
//! Pipeline: split on non-alphanumerics → drop over-long tokens → lowercase → stop words →
//! Snowball stemmer → fold accents. Stop words go before stemming because the lists hold
//! surface forms; accents are folded after stemming because the stemmers expect them
//! ("retournés" stems correctly, "retournes" does not), while customers often type without
//! them ("devolucion"), so both sides of the match end up folded.

use tantivy::tokenizer::{AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, TokenizerManager};

/// Languages with their own analyser: (ISO 639-1 code, Snowball language). Every other code is
/// indexed with [`OTHER_LANGUAGE`]'s analyser.
pub const STEMMED_LANGUAGES: [(&str, Language); 7] = [
    ("en", Language::English),
    ("de", Language::German),
    ("fr", Language::French),
    ("es", Language::Spanish),
    ("it", Language::Italian),
    ("pt", Language::Portuguese),
    ("nl", Language::Dutch),
];

/// Pseudo-code for languages without a stemmer: lowercased, accent-folded words.
pub const OTHER_LANGUAGE: &str = "xx";

/// Tokens longer than this are URLs, hashes or base64, never words a customer types.
const MAX_TOKEN_BYTES: usize = 40;

/// Every language field the index has, in schema order.
pub fn index_languages() -> impl Iterator<Item = &'static str> {
    STEMMED_LANGUAGES.iter().map(|(code, _)| *code).chain(std::iter::once(OTHER_LANGUAGE))
}

/// Which language field an article in `language_code` is indexed in.
pub fn index_language(language_code: &str) -> &'static str {
    STEMMED_LANGUAGES.iter().find(|(code, _)| *code == language_code).map(|(code, _)| *code).unwrap_or(OTHER_LANGUAGE)
}

/// Name under which the analyser of `index_language` is registered.
pub fn tokenizer_name(index_language: &str) -> String {
    format!("sb_kb_{index_language}")
}

pub fn analyzer(index_language: &str) -> TextAnalyzer {
    let stemmer_language = STEMMED_LANGUAGES.iter().find(|(code, _)| *code == index_language).map(|(_, language)| *language);
    let base = TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES)).filter(LowerCaser).dynamic();
    let Some(language) = stemmer_language else {
        return base.filter_dynamic(AsciiFoldingFilter).build();
    };
    let with_stop_words = match StopWordFilter::new(language) {
        Some(stop_words) => base.filter_dynamic(stop_words),
        None => base,
    };
    with_stop_words.filter_dynamic(Stemmer::new(language)).filter_dynamic(AsciiFoldingFilter).build()
}

/// Registers every analyser on an index's tokenizer manager (needed on create and on open: the
/// manager is not persisted).
pub fn register_analyzers(tokenizers: &TokenizerManager) {
    for language in index_languages() {
        tokenizers.register(&tokenizer_name(language), analyzer(language));
    }
}

/// The terms `analyzer` produces for `text`, deduplicated, in order of first appearance.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let term = &stream.token().text;
        if !terms.iter().any(|seen| seen == term) {
            terms.push(term.clone());
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(language: &str, text: &str, expected: &[&str]) {
        let mut analyzer = analyzer(language);
        assert_eq!(analyze(&mut analyzer, text), expected, "{language}: {text}");
    }

    #[test]
    fn stems_stops_and_folds_per_language() {
        // tantivy's English list is Lucene's short one: question words stay, BM25's idf
        // weighs them down instead.
        check("en", "The shoes are returned. Returning shoes", &["shoe", "return"]);
        check("de", "Wie kann ich Schuhe zurückgeben? Rückgabe", &["schuh", "zuruckgeb", "ruckgab"]);
        check("fr", "Les retours sont gratuits, retourné", &["retour", "gratuit", "retourn"]);
        check("es", "¿Cómo devuelvo mis zapatos? devolución", &["com", "devuelv", "zapat", "devolu"]);
        check("xx", "Zwroty ŻÓŁW", &["zwroty", "zolw"]);
        assert_eq!(index_language("pl"), OTHER_LANGUAGE);
        assert_eq!(index_language("de"), "de");
    }
}
