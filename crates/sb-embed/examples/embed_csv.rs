//! Writes the MiniLM embedding of every row of a CSV's `text` column (normalised as triage
//! normalises a chat message) to a little-endian `f32` file, `dim` values per row in row order,
//! for analyses outside Rust (error analysis of the safety gate, nearest neighbours).
//!
//! ```text
//! cargo run -p sb-embed --example embed_csv -- data/taxonomy/train.csv /tmp/train.f32
//! ```

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use sb_embed::Embedder;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(args.next().context("usage: embed_csv INPUT.csv OUTPUT.f32")?);
    let output = PathBuf::from(args.next().context("usage: embed_csv INPUT.csv OUTPUT.f32")?);
    let model_dir = sb_embed::find_model_dir().context("no MiniLM model: run scripts/fetch-model.sh")?;
    let embedder = Embedder::load(&model_dir)?;
    let mut reader = csv::Reader::from_path(&input).with_context(|| format!("cannot read {}", input.display()))?;
    let text_column = reader.headers()?.iter().position(|name| name == "text").context("no `text` column")?;
    let texts: Vec<String> = reader.records().map(|record| Ok(sb_text::normalize::normalize_text(&record?[text_column]))).collect::<anyhow::Result<_>>()?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&output)?);
    for (chunk_idx, chunk) in texts.chunks(256).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for vector in embedder.embed(&refs)? {
            for value in vector {
                out.write_all(&value.to_le_bytes())?;
            }
        }
        eprintln!("{} of {} rows", (chunk_idx * 256 + chunk.len()), texts.len());
    }
    out.flush()?;
    eprintln!("{} rows × {} dims → {}", texts.len(), embedder.dim(), output.display());
    Ok(())
}
