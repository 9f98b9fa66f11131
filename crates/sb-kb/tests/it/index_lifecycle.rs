//! The index without a model (BM25-only): per-article updates without a restart, drafts,
//! per-language stemming, and `open_or_rebuild` on a missing, current and outdated directory.

use sb_kb::{ArticleStatus, IndexProgress, KnowledgeBase, OpenOutcome, SearchConfig};

use crate::{article, demo_articles};

fn top_ids(knowledge_base: &KnowledgeBase, query: &str) -> Vec<String> {
    knowledge_base.search(query, 3).unwrap().hits.into_iter().map(|hit| hit.article_id).collect()
}

#[test]
fn upsert_replace_draft_and_delete_take_effect_immediately() {
    let knowledge_base = KnowledgeBase::in_memory(None, SearchConfig::default()).unwrap();
    assert!(knowledge_base.search("returns", 3).unwrap().hits.is_empty());

    let returns = article("returns", "en", "Returning an item", "## Window\nReturn shoes within 30 days.\n## Label\nPrint the prepaid label.");
    let hours = article("hours", "en", "Opening hours", "Open Monday to Saturday, 9 to 9.");
    knowledge_base.upsert_many(&[returns.clone(), hours.clone()]).unwrap();
    assert_eq!(top_ids(&knowledge_base, "how do I return my shoes")[0], "returns");
    let hit = &knowledge_base.search("prepaid label", 1).unwrap().hits[0];
    assert_eq!((hit.heading.as_str(), hit.passage.as_str(), hit.article_version), ("Label", "Print the prepaid label.", 1));
    assert!(hit.cosine.is_none() && hit.bm25_score.is_some());

    // A new version replaces the old chunks: the old text no longer matches.
    let returns_v2 = sb_kb::Article { version: 2, body: "Return sandals within 60 days.".into(), ..returns.clone() };
    knowledge_base.upsert(&returns_v2).unwrap();
    assert!(!top_ids(&knowledge_base, "prepaid label").contains(&"returns".to_string()));
    assert_eq!(knowledge_base.search("sandals", 1).unwrap().hits[0].article_version, 2);
    assert_eq!(knowledge_base.n_articles(), 2);

    // Unpublishing removes it from search.
    knowledge_base.upsert(&sb_kb::Article { status: ArticleStatus::Draft, ..returns_v2 }).unwrap();
    assert!(top_ids(&knowledge_base, "sandals").is_empty());
    assert!(knowledge_base.delete("hours").unwrap());
    assert!(!knowledge_base.delete("hours").unwrap());
    assert_eq!(knowledge_base.n_articles(), 0);
    assert_eq!(knowledge_base.n_chunks(), 0);
}

#[test]
fn each_language_is_stemmed_with_its_own_stemmer() {
    let knowledge_base = KnowledgeBase::in_memory(None, SearchConfig::default()).unwrap();
    knowledge_base
        .upsert_many(&[
            article("ruecksendung", "de", "Rücksendung", "Rücksendungen sind innerhalb von 30 Tagen kostenlos."),
            article("retours", "fr", "Retours", "Les retours sont acceptés pendant 30 jours."),
            article("devoluciones", "es", "Devoluciones", "Las devoluciones se aceptan durante 30 días."),
            article("shipping", "en", "Shipping", "Parcels are shipped within a day."),
        ])
        .unwrap();
    for (query, expected) in [("Rücksendung", "ruecksendung"), ("retour", "retours"), ("devolucion", "devoluciones"), ("shipping parcel", "shipping")] {
        assert_eq!(top_ids(&knowledge_base, query).first().map(String::as_str), Some(expected), "{query}");
    }
    let results = knowledge_base.search("wann kann ich eine Rücksendung machen", 1).unwrap();
    assert_eq!(results.query_language, "de");
}

#[test]
fn open_or_rebuild_rebuilds_when_missing_or_outdated_and_opens_when_current() {
    let temporary_dir = tempfile::tempdir().unwrap();
    let index_dir = temporary_dir.path().join("kb-index");
    let articles = demo_articles();
    let n_published = articles.iter().filter(|article| article.is_searchable()).count();

    let mut progress_calls: Vec<IndexProgress> = Vec::new();
    let (knowledge_base, outcome) = KnowledgeBase::open_or_rebuild(&index_dir, None, SearchConfig::default(), || Ok::<_, std::io::Error>(articles.clone()), |progress| progress_calls.push(progress)).unwrap();
    assert!(matches!(&outcome, OpenOutcome::Rebuilt { n_articles, .. } if *n_articles == n_published), "{outcome:?}");
    assert_eq!(progress_calls.last(), Some(&IndexProgress { n_done: articles.len(), n_total: Some(articles.len()) }));
    knowledge_base.upsert(&crate::article("late-addition", "en", "Umbrella loans", "Borrow an umbrella at any store.")).unwrap();
    let before = knowledge_base.search("how long do I have to return shoes?", 5).unwrap();
    drop(knowledge_base);

    // Current: opened as is, with the same results and the update made after the rebuild.
    let (reopened, outcome) = KnowledgeBase::open_or_rebuild(&index_dir, None, SearchConfig::default(), || -> Result<Vec<sb_kb::Article>, std::io::Error> { panic!("a current index must not reload articles") }, |_| {}).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened);
    assert_eq!(reopened.n_articles(), n_published + 1);
    assert_eq!(reopened.search("how long do I have to return shoes?", 5).unwrap().hits, before.hits);
    assert_eq!(reopened.search("umbrella", 1).unwrap().hits[0].article_id, "late-addition");
    drop(reopened);

    // An older format version: rebuilt from the source, and a failing source is reported.
    let manifest_path = index_dir.join(sb_kb::MANIFEST_FILE);
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let current = format!("\"format_version\": {}", sb_kb::INDEX_FORMAT_VERSION);
    assert!(manifest.contains(&current), "{manifest}");
    std::fs::write(&manifest_path, manifest.replace(&current, "\"format_version\": 0")).unwrap();
    let error = KnowledgeBase::open_or_rebuild(&index_dir, None, SearchConfig::default(), || Err::<Vec<sb_kb::Article>, _>(std::io::Error::other("database down")), |_| {}).unwrap_err();
    assert!(error.to_string().contains("database down"), "{error}");
    let (rebuilt, outcome) = KnowledgeBase::open_or_rebuild(&index_dir, None, SearchConfig::default(), || Ok::<_, std::io::Error>(articles.clone()), |_| {}).unwrap();
    assert!(matches!(&outcome, OpenOutcome::Rebuilt { reason, .. } if reason.contains("manifest") || reason.contains("format")), "{outcome:?}");
    assert_eq!(rebuilt.n_articles(), n_published);
    assert!(rebuilt.search("umbrella", 1).unwrap().hits.is_empty());
}

#[test]
fn searches_run_while_articles_are_updated() {
    let knowledge_base = KnowledgeBase::in_memory(None, SearchConfig::default()).unwrap();
    knowledge_base.upsert(&article("stable", "en", "Opening hours", "Open daily from nine.")).unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for version in 1..=20 {
                let body = format!("Edition {version} of the umbrella loan rules.");
                knowledge_base.upsert(&sb_kb::Article { version, ..article("churn", "en", "Umbrella loans", &body) }).unwrap();
            }
        });
        for _ in 0..50 {
            let hits = knowledge_base.search("opening hours umbrella", 5).unwrap().hits;
            assert!(hits.iter().any(|hit| hit.article_id == "stable"));
            assert!(hits.iter().filter(|hit| hit.article_id == "churn").count() <= 1, "{hits:?}");
        }
    });
    let hits = knowledge_base.search("umbrella", 5).unwrap().hits;
    assert_eq!((hits.len(), hits[0].article_version), (1, 20));
    assert_eq!(knowledge_base.n_chunks(), 2);
}
