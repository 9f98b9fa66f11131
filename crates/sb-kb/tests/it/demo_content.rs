//! The demo knowledge base and evaluation set are data the product ships: check they parse,
//! round-trip through export, and that the evaluation set is as large and as consistent as
//! issue 5 asks.

use std::collections::HashSet;

use sb_kb::front_matter::{from_markdown, to_markdown};

use crate::{demo_articles, demo_kb_dir};

#[test]
fn demo_articles_parse_round_trip_and_are_enough() {
    let articles = demo_articles();
    assert!(articles.len() >= 40, "{} articles", articles.len());
    let mut ids = HashSet::new();
    for article in &articles {
        article.validate().unwrap();
        assert!(ids.insert(article.id.clone()), "duplicate id {}", article.id);
        assert!(article.intent.is_some(), "{} has no intent", article.id);
        let text = to_markdown(article);
        assert_eq!(&from_markdown(&format!("{}.md", article.id), &text).unwrap(), article);
        // Ids match file names, so `kb export` writes back the files `kb import` read.
        assert!(demo_kb_dir().join(format!("{}.md", article.id)).is_file(), "{} has another file name", article.id);
    }
    let languages: HashSet<&str> = articles.iter().map(|article| article.language.as_str()).collect();
    for language in ["en", "de", "fr", "es"] {
        assert!(languages.contains(language), "no {language} article");
    }
}

#[test]
fn eval_set_is_large_and_points_at_real_articles() {
    let ids: HashSet<String> = demo_articles().into_iter().map(|article| article.id).collect();
    let questions = sb_kb::eval::read_eval_csv(&demo_kb_dir().join("eval.csv")).unwrap();
    let answerable: Vec<_> = questions.iter().filter(|question| question.expected_article.is_some()).collect();
    assert!(answerable.len() >= 150, "{} answerable questions", answerable.len());
    assert!(questions.len() - answerable.len() >= 30, "{} unanswerable questions", questions.len() - answerable.len());
    for question in &answerable {
        let expected = question.expected_article.as_ref().unwrap();
        assert!(ids.contains(expected), "`{}` expects unknown article {expected}", question.question);
    }
    let answered_ids: HashSet<&String> = answerable.iter().filter_map(|question| question.expected_article.as_ref()).collect();
    assert_eq!(answered_ids.len(), ids.len(), "every article has at least one question");
    let mut seen = HashSet::new();
    for question in &questions {
        assert!(seen.insert(question.question.to_lowercase()), "duplicate question `{}`", question.question);
    }
}
