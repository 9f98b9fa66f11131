//! Knowledge-base benchmark at 10,000 articles: the time to (re)index them, with a progress
//! bar, and search latency p50/p99 — BM25 alone, fused search with the query already embedded,
//! and fused search including the MiniLM query encoding — on the questions of
//! data/kb/eval.csv.
//!
//! The articles are generated: the demo knowledge base plus synthetic product and policy pages
//! built from a fixed vocabulary with a fixed seed, in the four languages, about as long as the
//! demo articles (2 to 4 sections of 25 to 90 words).
//!
//! Encoding every chunk of 10,000 articles with MiniLM takes far longer than the rest, so the
//! encoding throughput is measured on a sample (`--embed-sample`, 200 articles) and the full
//! time extrapolated; the hybrid index for the latency figures gets random unit vectors for the
//! generated articles (the dot products cost the same) and real ones for the demo articles.
//!
//! cargo run --release -p sb-kb --example kb_bench -- [--articles 10000] [--embed-sample 200] [--bm25-only] [--rounds 3]

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sb_kb::{Article, ArticleStatus, IndexProgress, KnowledgeBase, SearchConfig};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value_of = |flag: &str| args.iter().position(|arg| arg == flag).and_then(|idx| args.get(idx + 1)).cloned();
    let n_articles: usize = value_of("--articles").map(|value| value.parse()).transpose()?.unwrap_or(10_000);
    let n_rounds: usize = value_of("--rounds").map(|value| value.parse()).transpose()?.unwrap_or(3);
    let n_embed_sample: usize = value_of("--embed-sample").map(|value| value.parse()).transpose()?.unwrap_or(200);
    let bm25_only = args.iter().any(|arg| arg == "--bm25-only");

    let kb_dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/kb");
    let demo_articles = sb_kb::read_markdown_dir(&kb_dir)?;
    let mut articles = demo_articles.clone();
    let mut generator = Generator::new(0x5eed_2026);
    while articles.len() < n_articles {
        let article_idx = articles.len();
        articles.push(generator.article(article_idx));
    }
    let n_words: usize = articles.iter().map(|article| article.body.split_whitespace().count()).sum();
    println!("{} articles, {} words of Markdown ({:.0} words per article)", articles.len(), n_words, n_words as f64 / articles.len() as f64);

    let embedder = if bm25_only {
        None
    } else {
        let model_dir = sb_embed::find_model_dir().ok_or_else(|| anyhow::anyhow!("no MiniLM model: run scripts/fetch-model.sh, or pass --bm25-only"))?;
        Some(Arc::new(sb_embed::Embedder::load(&model_dir)?))
    };
    println!("threads: {} (rayon), embeddings: {}", rayon_threads(), embedder.as_ref().map_or("none (BM25 only)".to_string(), |embedder| embedder.model_id().to_string()));

    // 1. Full reindex into a directory, BM25 part: what `kb reindex` does besides encoding.
    let temporary_dir = tempfile::tempdir()?;
    let index_dir = temporary_dir.path().join("kb-index");
    let progress_style = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} articles {per_sec} eta {eta}")?;
    let progress_bar = ProgressBar::new(articles.len() as u64).with_style(progress_style.clone()).with_message("reindex (BM25)");
    let started = Instant::now();
    let (bm25_knowledge_base, _) = KnowledgeBase::open_or_rebuild(&index_dir, None, SearchConfig::default(), || Ok::<_, std::io::Error>(articles.clone()), |IndexProgress { n_done, .. }| progress_bar.set_position(n_done as u64))?;
    progress_bar.finish_and_clear();
    let reindex_elapsed = started.elapsed();
    let n_chunks = bm25_knowledge_base.n_chunks();
    println!("reindex without embeddings: {} articles, {n_chunks} chunks in {:.2} s ({:.0} articles/s)", bm25_knowledge_base.n_articles(), reindex_elapsed.as_secs_f64(), bm25_knowledge_base.n_articles() as f64 / reindex_elapsed.as_secs_f64());
    drop(bm25_knowledge_base);
    let started = Instant::now();
    let (bm25_knowledge_base, _) = KnowledgeBase::open_or_rebuild(&index_dir, None, SearchConfig::default(), || Err::<Vec<Article>, _>(std::io::Error::other("the index was just built; reopening must not rebuild")), |_| {})?;
    println!("reopen (load the stored chunks): {:.2} s", started.elapsed().as_secs_f64());

    // 2. Encoding throughput, on a sample of the generated articles (encoding all of them
    //    takes longer than a benchmark run should; the total is extrapolated and says so).
    let knowledge_base = KnowledgeBase::in_memory(embedder.clone(), SearchConfig::default())?;
    if let Some(embedder) = &embedder {
        let sample = &articles[demo_articles.len()..(demo_articles.len() + n_embed_sample).min(articles.len())];
        let sample_knowledge_base = KnowledgeBase::in_memory(Some(embedder.clone()), SearchConfig::default())?;
        let progress_bar = ProgressBar::new(sample.len() as u64).with_style(progress_style.clone()).with_message("reindex sample (BM25 + MiniLM)");
        let started = Instant::now();
        sample_knowledge_base.rebuild(sample.iter().cloned(), |IndexProgress { n_done, .. }| progress_bar.set_position(n_done as u64))?;
        progress_bar.finish_and_clear();
        let sample_elapsed = started.elapsed().as_secs_f64();
        let sample_chunks = sample_knowledge_base.n_chunks();
        let chunks_per_second = sample_chunks as f64 / sample_elapsed;
        println!(
            "reindex with embeddings, sample: {} articles, {sample_chunks} chunks in {sample_elapsed:.1} s ({chunks_per_second:.1} chunks/s) → {} articles ({n_chunks} chunks) extrapolated to {:.0} s",
            sample.len(),
            articles.len(),
            n_chunks as f64 / chunks_per_second
        );

        // 3. The search index at full size: demo articles with their real embeddings,
        //    generated ones with random unit vectors of the model's width (a dot product costs
        //    the same whatever the numbers are).
        knowledge_base.upsert_many(&demo_articles)?;
        let generated = &articles[demo_articles.len()..];
        let progress_bar = ProgressBar::new(generated.len() as u64).with_style(progress_style).with_message("load generated articles with random vectors");
        for batch in generated.chunks(1_000) {
            let n_batch_chunks: usize = batch.iter().map(|article| sb_kb::chunk_article(article).len()).sum();
            let vectors = (0..n_batch_chunks).map(|_| generator.unit_vector(embedder.dim())).collect();
            knowledge_base.upsert_many_with_embeddings(batch, vectors)?;
            progress_bar.inc(batch.len() as u64);
        }
        progress_bar.finish_and_clear();
        println!("hybrid index: {} articles, {} chunks with vectors", knowledge_base.n_articles(), knowledge_base.n_chunks());

        let mut edited = demo_articles[0].clone();
        edited.version += 1;
        let started = Instant::now();
        knowledge_base.upsert(&edited)?;
        println!("upsert of one article into the full index (chunk, embed, commit): {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    }

    let questions = sb_kb::eval::read_eval_csv(&kb_dir.join("eval.csv"))?;
    let query_embeddings: Vec<Option<Vec<f32>>> = match &embedder {
        Some(embedder) => questions.iter().map(|question| embedder.embed_one(&question.question).map(Some)).collect::<Result<_, _>>()?,
        None => vec![None; questions.len()],
    };
    // Warm-up: page cache, allocator, lazy statics.
    for question in questions.iter().take(20) {
        bm25_knowledge_base.search_with_embedding(&question.question, None, 10)?;
        knowledge_base.search_with_embedding(&question.question, None, 10)?;
    }
    let mut bm25_latencies = Vec::new();
    let mut fused_latencies = Vec::new();
    let mut full_latencies = Vec::new();
    for _ in 0..n_rounds {
        for (question, query_embedding) in questions.iter().zip(&query_embeddings) {
            let started = Instant::now();
            bm25_knowledge_base.search_with_embedding(&question.question, None, 10)?;
            bm25_latencies.push(started.elapsed());
            if embedder.is_some() {
                let started = Instant::now();
                knowledge_base.search_with_embedding(&question.question, query_embedding.as_deref(), 10)?;
                fused_latencies.push(started.elapsed());
                let started = Instant::now();
                knowledge_base.search(&question.question, 10)?;
                full_latencies.push(started.elapsed());
            }
        }
    }
    println!("\nsearch latency over {} queries ({} questions × {n_rounds} rounds), top 10:", bm25_latencies.len(), questions.len());
    print_latency("BM25 only (index without vectors)", &mut bm25_latencies);
    if embedder.is_some() {
        print_latency("hybrid, query already embedded", &mut fused_latencies);
        print_latency("hybrid, including query encoding", &mut full_latencies);
        // The vector half alone: the int8 scan of every chunk and the f32 rescoring.
        let mut vectors = sb_kb::vectors::VectorStore::new(query_embeddings[0].as_ref().map_or(384, Vec::len));
        for uid in 0..n_chunks as u64 {
            vectors.insert(uid, &generator.unit_vector(vectors.dim()));
        }
        let mut scan_latencies = Vec::new();
        for _ in 0..n_rounds {
            for query_embedding in query_embeddings.iter().flatten() {
                let started = Instant::now();
                std::hint::black_box(vectors.top(query_embedding, SearchConfig::default().n_candidate_chunks));
                scan_latencies.push(started.elapsed());
            }
        }
        print_latency(&format!("vector top-40 alone ({n_chunks} rows)"), &mut scan_latencies);
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS").ok().and_then(|value| value.parse().ok()).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

fn print_latency(name: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let percentile = |fraction: f64| latencies[((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len()) - 1].as_secs_f64() * 1e3;
    println!("  {name:<36} p50 {:>6.2} ms   p90 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms", percentile(0.50), percentile(0.90), percentile(0.99), percentile(1.0));
}

/// Deterministic synthetic articles (xorshift; no external randomness, so every run indexes
/// the same text).
struct Generator {
    state: u64,
}

const PRODUCTS: &[&str] = &["ceramic vase", "bamboo cutting board", "travel mug", "cotton throw", "yoga mat", "table lamp", "espresso cups", "wool socks", "rain jacket", "leather wallet", "garden hose", "cast iron pan", "bath towel set", "kids backpack", "reading glasses", "dog leash", "cat scratching post", "hand cream", "sunscreen lotion", "toothbrush heads", "shower curtain", "wall clock", "phone case", "laptop stand", "water bottle", "picnic blanket", "candle set", "desk organizer", "running shorts", "winter gloves"];
const ATTRIBUTES: &[&str] = &["size", "colour", "material", "weight", "warranty", "cleaning", "assembly", "battery", "fit", "ingredients", "storage", "compatibility", "care", "packaging", "delivery"];
const WORDS: &[&str] = &[
    "the", "product", "is", "made", "from", "recycled", "materials", "and", "comes", "with", "a", "guide", "customers", "often", "ask", "whether", "it", "works", "for", "daily", "use", "we", "recommend", "checking", "label", "before", "washing", "keep", "away", "heat", "dry", "flat", "available", "in", "three", "sizes", "small", "medium", "large", "each", "item", "tested", "our", "warehouse", "ships", "within", "two", "days", "returns", "accepted", "thirty", "unused", "original", "box", "spare", "parts", "can", "be", "ordered", "customer", "service", "light", "sturdy", "soft", "durable", "easy", "clean", "dishwasher", "safe", "hand", "wash", "only", "not", "suitable", "children", "under", "years", "please", "read", "instructions", "carefully", "store", "cool", "place", "direct", "sunlight", "fits", "most", "standard", "models", "includes", "cable", "charger", "case", "strap", "lid",
];
const SECTION_TITLES: &[&str] = &["Overview", "How to use it", "Care and cleaning", "Sizes and fit", "What is included", "Warranty and repairs", "Delivery and returns", "Safety"];
const LANGUAGES: &[&str] = &["en", "en", "en", "en", "en", "en", "de", "fr", "es", "en"];

impl Generator {
    fn new(seed: u64) -> Generator {
        Generator { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A uniformly random direction (normalised uniform noise is close enough for timing).
    fn unit_vector(&mut self, dim: usize) -> Vec<f32> {
        let mut vector: Vec<f32> = (0..dim).map(|_| (self.next() % 20_001) as f32 / 10_000.0 - 1.0).collect();
        let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt().max(f32::EPSILON);
        vector.iter_mut().for_each(|value| *value /= norm);
        vector
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn article(&mut self, article_idx: usize) -> Article {
        let product = self.pick(PRODUCTS);
        let attribute = self.pick(ATTRIBUTES);
        let model = self.next() % 900 + 100;
        let title = format!("{product} {model}: {attribute}");
        let n_sections = 2 + (self.next() % 3) as usize;
        let mut body = String::new();
        for _ in 0..n_sections {
            body.push_str(&format!("## {}\n\n", self.pick(SECTION_TITLES)));
            let n_words = 25 + (self.next() % 66) as usize;
            let mut words: Vec<&str> = (0..n_words).map(|_| self.pick(WORDS)).collect();
            words.push(product);
            words.push(attribute);
            body.push_str(&words.join(" "));
            body.push_str(".\n\n");
        }
        Article {
            id: format!("generated-{article_idx:05}"),
            version: 1,
            title,
            body,
            tags: vec![product.to_string(), attribute.to_string()],
            intent: Some(sb_domain::Intent::ProductInfo),
            language: self.pick(LANGUAGES).to_string(),
            status: ArticleStatus::Published,
        }
    }
}
