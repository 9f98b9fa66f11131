//! `switchboard kb …` as an editor drives it, on SQLite and on the real PostgreSQL server:
//! import a folder of Markdown articles (again: nothing changes), export it back byte for byte,
//! search, rebuild an index folder, evaluate retrieval; and the errors that say what to do.
//! BM25-only (`--no-embeddings`): the tests are about the CLI, not the model.

use serde_json::Value;

use crate::cli::{assert_clean_failure, repo_root, stderr, stdout, switchboard};
use crate::serve::TestDatabase;

async fn kb_commands_round_trip(postgres: bool) {
    let database = TestDatabase::new(postgres).await;
    let db = database.url.as_str();
    let import = switchboard(&["kb", "import", "data/kb", "--db", db]);
    assert!(import.status.success(), "{}", stderr(&import));
    let n_articles = std::fs::read_dir(repo_root().join("data/kb")).unwrap().filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|extension| extension == "md")).count();
    assert!(stdout(&import).contains(&format!("imported {n_articles} articles from data/kb: {n_articles} created, 0 updated (new version), 0 unchanged")), "{}", stdout(&import));
    let again = switchboard(&["kb", "import", "data/kb", "--db", db]);
    assert!(stdout(&again).contains(&format!("0 created, 0 updated (new version), {n_articles} unchanged")), "importing twice changes nothing: {}", stdout(&again));

    let out = tempfile::tempdir().unwrap();
    let export = switchboard(&["kb", "export", out.path().to_str().unwrap(), "--db", db]);
    assert!(export.status.success(), "{}", stderr(&export));
    for entry in std::fs::read_dir(repo_root().join("data/kb")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "md") {
            let exported = std::fs::read_to_string(out.path().join(path.file_name().unwrap())).unwrap();
            assert_eq!(exported, std::fs::read_to_string(&path).unwrap(), "{} does not round-trip", path.display());
        }
    }

    let search = switchboard(&["kb", "search", "how long do I have to return shoes?", "--db", db, "--no-embeddings", "--json", "--limit", "3"]);
    assert!(search.status.success(), "{}", stderr(&search));
    let results: Value = serde_json::from_str(&stdout(&search)).unwrap();
    assert_eq!(results["hits"][0]["article_id"], "returns-policy", "{results}");
    assert_eq!(results["hits"].as_array().map(Vec::len), Some(3));

    let index_dir = out.path().join("index");
    let reindex = switchboard(&["kb", "reindex", "--db", db, "--no-embeddings", "--index-dir", index_dir.to_str().unwrap()]);
    assert!(reindex.status.success(), "{}", stderr(&reindex));
    assert!(stderr(&reindex).contains(&format!("indexed {n_articles} published articles")), "{}", stderr(&reindex));
    assert!(index_dir.join("switchboard-kb.json").is_file(), "the index folder has its manifest");
    // Searching the folder opens it as it is.
    let from_folder = switchboard(&["kb", "search", "store opening hours", "--db", db, "--no-embeddings", "--index-dir", index_dir.to_str().unwrap()]);
    assert!(from_folder.status.success() && stdout(&from_folder).contains("1. "), "{}", stderr(&from_folder));

    let eval = switchboard(&["kb", "eval", "--db", db, "--no-embeddings", "--json"]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    let figures: Value = serde_json::from_str(&stdout(&eval)).unwrap();
    assert_eq!(figures["mode"], "bm25");
    let held_out = &figures["reports"]["held_out"];
    assert!(held_out["n_questions"].as_u64().unwrap() >= 100, "{figures}");
    // The BM25-only figures of docs/benchmarks.md: the targets hold without the model too.
    assert!(held_out["recall_at_3"].as_f64().unwrap() >= 0.90 && held_out["mrr"].as_f64().unwrap() >= 0.80, "{figures}");
    assert!(held_out["unanswerable_declined_rate"].as_f64().unwrap() >= 0.90 && held_out["wrong_confident_rate"].as_f64().unwrap() <= 0.02, "{figures}");
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_commands_on_sqlite() {
    kb_commands_round_trip(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_commands_on_postgres() {
    kb_commands_round_trip(true).await;
}

#[test]
fn kb_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("empty.db").display());
    assert_clean_failure(&switchboard(&["kb", "import", "no/such/folder", "--db", &db]), "cannot read the articles in no/such/folder");
    assert_clean_failure(&switchboard(&["kb", "search", "returns", "--db", &db, "--no-embeddings"]), "switchboard kb import DIR");
    assert_clean_failure(&switchboard(&["kb", "export", dir.path().join("out").to_str().unwrap(), "--db", &db, "--status", "secret"]), "unknown status `secret`");
    assert_clean_failure(&switchboard(&["kb", "eval", "--questions", "no/such.csv", "--db", &db, "--no-embeddings"]), "cannot read the question set no/such.csv");
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("broken.md"), "no front matter here").unwrap();
    assert_clean_failure(&switchboard(&["kb", "import", bad.to_str().unwrap(), "--db", &db]), "broken.md");
}
