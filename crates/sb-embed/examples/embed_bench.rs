//! Measures embedding speed on real customer messages: single-message latency (median, p90, p99,
//! max over one `embed_one` call per message) and batch throughput (`embed` over all messages),
//! and, with `--precision both`, how closely int16 embeddings agree with F32 ones.
//!
//! ```text
//! scripts/fetch-model.sh
//! cargo run --release -p sb-embed --example embed_bench -- \
//!     --file /work/shared/data/banking77/test.csv --precision both
//! ```
//! `--file` takes a CSV with a `text` column or a plain file with one message per line.
//! `--baseline` also times plain candle-transformers `BertModel` (F32, length-sorted batches of
//! 32 padded to the longest, mean pooling) on the same texts, as a yardstick measured under the
//! same machine load.
//! Timings are printed, never asserted: they depend on the machine and on what else runs on it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use sb_embed::{Embedder, Precision};

struct Args {
    file: PathBuf,
    precisions: Vec<Precision>,
    single_count: usize,
    batch_count: usize,
    rounds: usize,
    model_dir: Option<PathBuf>,
    baseline: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        file: PathBuf::from("/work/shared/data/banking77/test.csv"),
        precisions: vec![Precision::F32, Precision::Int16],
        single_count: 500,
        batch_count: usize::MAX,
        rounds: 3,
        model_dir: None,
        baseline: false,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        let mut value = || raw.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--file" => args.file = PathBuf::from(value()?),
            "--model-dir" => args.model_dir = Some(PathBuf::from(value()?)),
            "--single" => args.single_count = value()?.parse()?,
            "--batch" => args.batch_count = value()?.parse()?,
            "--rounds" => args.rounds = value()?.parse::<usize>()?.max(1),
            "--baseline" => args.baseline = true,
            "--precision" => {
                args.precisions = match value()?.as_str() {
                    "f32" => vec![Precision::F32],
                    "int16" => vec![Precision::Int16],
                    "both" => vec![Precision::F32, Precision::Int16],
                    other => bail!("unknown precision {other:?} (f32, int16, both)"),
                }
            }
            other => bail!(
                "unknown argument {other:?}; flags: --file PATH --model-dir DIR --precision f32|int16|both --single N --batch N --rounds N --baseline"
            ),
        }
    }
    Ok(args)
}

fn read_texts(path: &PathBuf) -> anyhow::Result<Vec<String>> {
    if path.extension().is_some_and(|ext| ext == "csv") {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("open {}", path.display()))?;
        let text_column = reader
            .headers()?
            .iter()
            .position(|name| name == "text")
            .context("CSV has no `text` column")?;
        let mut texts = Vec::new();
        for record in reader.records() {
            texts.push(record?.get(text_column).unwrap_or_default().to_owned());
        }
        return Ok(texts);
    }
    let content =
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    Ok(content
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// CPU time used by this process so far (user + system), from /proc on Linux. On a machine
/// shared with other work, wall-clock rates understate what the code does with the cores it
/// gets; messages per CPU-second is the steadier number.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Plain candle-transformers BertModel embeddings (the approach STACK-NOTES measured), for a
/// like-for-like comparison on the current machine load.
struct CandleBaseline {
    model: candle_transformers::models::bert::BertModel,
    tokenizer: tokenizers::Tokenizer,
}

impl CandleBaseline {
    fn load(model_dir: &std::path::Path) -> anyhow::Result<CandleBaseline> {
        use candle_transformers::models::bert::{BertModel, Config};
        let config: Config =
            serde_json::from_str(&std::fs::read_to_string(model_dir.join("config.json"))?)?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(model_dir.join("tokenizer.json"))
            .map_err(anyhow::Error::msg)?;
        tokenizer.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: 256,
                ..Default::default()
            }))
            .map_err(anyhow::Error::msg)?;
        let weights = std::fs::read(model_dir.join("model.safetensors"))?;
        let vb = candle_nn::VarBuilder::from_buffered_safetensors(
            weights,
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )?;
        Ok(CandleBaseline {
            model: BertModel::load(vb, &config)?,
            tokenizer,
        })
    }

    fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        use candle_core::{DType, Device, Tensor};
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&idx| std::cmp::Reverse(texts[idx].len()));
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(32) {
            let batch_texts: Vec<&str> = batch.iter().map(|&idx| texts[idx]).collect();
            let encodings = self
                .tokenizer
                .encode_batch(batch_texts, true)
                .map_err(anyhow::Error::msg)?;
            let seq_len = encodings[0].get_ids().len();
            let shape = (batch.len(), seq_len);
            let ids: Vec<u32> = encodings
                .iter()
                .flat_map(|e| e.get_ids().to_vec())
                .collect();
            let mask: Vec<u32> = encodings
                .iter()
                .flat_map(|e| e.get_attention_mask().to_vec())
                .collect();
            let ids = Tensor::from_vec(ids, shape, &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, shape, &Device::Cpu)?;
            let hidden = self.model.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
            let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let mean = hidden
                .broadcast_mul(&mask_f)?
                .sum(1)?
                .broadcast_div(&mask_f.sum(1)?)?;
            let normed = mean.broadcast_div(&mean.sqr()?.sum_keepdim(1)?.sqrt()?)?;
            for (&idx, row) in batch.iter().zip(normed.to_vec2::<f32>()?) {
                out[idx] = row;
            }
        }
        Ok(out)
    }
}

fn percentile(sorted_ms: &[f64], fraction: f64) -> f64 {
    let idx = ((sorted_ms.len() as f64 - 1.0) * fraction).round() as usize;
    sorted_ms[idx.min(sorted_ms.len() - 1)]
}

/// Prints single-message latency and batch throughput for one embedding function; returns the
/// batch embeddings.
fn measure(
    args: &Args,
    single_texts: &[&str],
    batch_texts: &[&str],
    warm_up_texts: &[&str],
    embed_one: impl Fn(&str) -> anyhow::Result<Vec<f32>>,
    embed: impl Fn(&[&str]) -> anyhow::Result<Vec<Vec<f32>>>,
) -> anyhow::Result<Vec<Vec<f32>>> {
    // Warm-up: page in weights, spin up the thread pool.
    embed(&warm_up_texts[..warm_up_texts.len().min(64)])?;

    let mut latencies_ms: Vec<f64> = Vec::with_capacity(single_texts.len());
    if single_texts.is_empty() {
        latencies_ms.push(f64::NAN);
    }
    let single_cpu_start = process_cpu_seconds();
    for text in single_texts {
        let start = Instant::now();
        let embedding = embed_one(text)?;
        latencies_ms.push(start.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(embedding);
    }
    if let (Some(cpu_start), Some(cpu_end), false) = (
        single_cpu_start,
        process_cpu_seconds(),
        single_texts.is_empty(),
    ) {
        println!(
            "single CPU cost: {:.2} CPU-ms per message on average",
            (cpu_end - cpu_start) * 1e3 / single_texts.len() as f64
        );
    }
    latencies_ms.sort_by(f64::total_cmp);
    println!(
        "single ({} messages, one call each): median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        single_texts.len(),
        percentile(&latencies_ms, 0.5),
        percentile(&latencies_ms, 0.9),
        percentile(&latencies_ms, 0.99),
        latencies_ms.last().copied().unwrap_or(0.0)
    );

    let mut rates = Vec::new();
    let mut embeddings = Vec::new();
    let cpu_start = process_cpu_seconds();
    for _ in 0..args.rounds {
        let start = Instant::now();
        embeddings = embed(batch_texts)?;
        rates.push(batch_texts.len() as f64 / start.elapsed().as_secs_f64());
    }
    if let (Some(cpu_start), Some(cpu_end)) = (cpu_start, process_cpu_seconds()) {
        let per_cpu_second = (batch_texts.len() * args.rounds) as f64 / (cpu_end - cpu_start);
        println!(
            "batch CPU cost: {per_cpu_second:.0} msgs per CPU-second ({:.0} msgs/s if {} cores were ours alone)",
            per_cpu_second * rayon::current_num_threads() as f64,
            rayon::current_num_threads()
        );
    }
    let mut sorted_rates = rates.clone();
    sorted_rates.sort_by(f64::total_cmp);
    println!(
        "batch ({} messages per call, {} rounds): {} msgs/s (median {:.0})",
        batch_texts.len(),
        args.rounds,
        rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        sorted_rates[sorted_rates.len() / 2]
    );
    Ok(embeddings)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let model_dir = match &args.model_dir {
        Some(dir) => dir.clone(),
        None => sb_embed::find_model_dir().context("no model found: run scripts/fetch-model.sh")?,
    };
    let texts = read_texts(&args.file)?;
    if texts.is_empty() {
        bail!("no texts in {}", args.file.display());
    }
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch_texts = &text_refs[..text_refs.len().min(args.batch_count)];
    let single_texts = &text_refs[..text_refs.len().min(args.single_count)];
    println!(
        "{} texts from {}; rayon threads {}",
        texts.len(),
        args.file.display(),
        rayon::current_num_threads()
    );

    let mut all_embeddings: Vec<Vec<Vec<f32>>> = Vec::new();
    for &precision in &args.precisions {
        let load_start = Instant::now();
        let embedder = Embedder::load_with_precision(&model_dir, precision)?;
        println!(
            "\n== {precision:?}: {} loaded in {:.0} ms",
            embedder.model_id(),
            load_start.elapsed().as_secs_f64() * 1e3
        );
        let token_counts: Vec<usize> = text_refs
            .iter()
            .map(|text| embedder.count_tokens(text))
            .collect::<Result<_, _>>()?;
        let mut sorted_counts = token_counts.clone();
        sorted_counts.sort_unstable();
        println!(
            "tokens per message ([CLS]/[SEP] included): mean {:.1}, p99 {}, max {}",
            token_counts.iter().sum::<usize>() as f64 / token_counts.len() as f64,
            sorted_counts[(sorted_counts.len() - 1) * 99 / 100],
            sorted_counts.last().copied().unwrap_or(0)
        );
        let embeddings = measure(
            &args,
            single_texts,
            batch_texts,
            &text_refs,
            |text| embedder.embed_one(text).map_err(anyhow::Error::from),
            |texts| embedder.embed(texts).map_err(anyhow::Error::from),
        )?;
        all_embeddings.push(embeddings);
    }
    if args.baseline {
        let baseline = CandleBaseline::load(&model_dir)?;
        println!("\n== baseline: candle-transformers BertModel, F32, padded batches of 32");
        measure(
            &args,
            single_texts,
            batch_texts,
            &text_refs,
            |text| Ok(baseline.embed(&[text])?.remove(0)),
            |texts| baseline.embed(texts),
        )?;
    }

    if all_embeddings.len() == 2 {
        let mut cosines: Vec<f32> = all_embeddings[0]
            .iter()
            .zip(&all_embeddings[1])
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
            .collect();
        cosines.sort_by(f32::total_cmp);
        let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
        println!(
            "\nint16 vs f32 cosine over {} texts: min {:.5}, p1 {:.5}, median {:.5}, mean {:.5}",
            cosines.len(),
            cosines[0],
            cosines[cosines.len() / 100],
            cosines[cosines.len() / 2],
            mean
        );
    }
    Ok(())
}
