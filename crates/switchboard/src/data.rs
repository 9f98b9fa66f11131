//! Reading labelled CSV files and message files for the CLI, with errors that say what to do.

use anyhow::{bail, Context, Result};
use std::path::Path;

pub struct LabelledRows {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
    /// Extra columns kept by name (e.g. `severity`), parallel to `texts`.
    pub extra: Vec<(String, Vec<String>)>,
}

/// Reads `text_col` and `label_col` (and `extra_cols` when present) from a CSV with a header.
pub fn read_labelled_csv(path: &Path, text_col: &str, label_col: &str, extra_cols: &[&str]) -> Result<LabelledRows> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}: check the path", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes.as_slice());
    let headers = reader.headers().with_context(|| format!("{}: cannot read the CSV header", path.display()))?.clone();
    let column = |name: &str| headers.iter().position(|header| header == name);
    let available = headers.iter().collect::<Vec<_>>().join(", ");
    let Some(text_idx) = column(text_col) else {
        bail!("{}: no column `{text_col}` (columns: {available}); pass --text-col", path.display());
    };
    let Some(label_idx) = column(label_col) else {
        bail!("{}: no column `{label_col}` (columns: {available}); pass --label-col with one of them", path.display());
    };
    let extra_idx: Vec<(String, usize)> = extra_cols.iter().filter_map(|name| column(name).map(|idx| (name.to_string(), idx))).collect();
    let mut rows = LabelledRows { texts: Vec::new(), labels: Vec::new(), extra: extra_idx.iter().map(|(name, _)| (name.clone(), Vec::new())).collect() };
    for (row_idx, record) in reader.byte_records().enumerate() {
        let line = row_idx + 2;
        let record = record.with_context(|| format!("{}: malformed CSV near row {line}", path.display()))?;
        let field = |idx: usize| -> Result<String> {
            let raw = record.get(idx).unwrap_or_default();
            String::from_utf8(raw.to_vec()).with_context(|| format!("{}: row {line} is not valid UTF-8; re-save the file as UTF-8", path.display()))
        };
        let text = field(text_idx)?;
        let label = field(label_idx)?;
        if text.trim().is_empty() {
            bail!("{}: row {line} has an empty `{text_col}`", path.display());
        }
        if label.trim().is_empty() {
            bail!("{}: row {line} has an empty `{label_col}`", path.display());
        }
        rows.texts.push(text);
        rows.labels.push(label.trim().to_string());
        for (slot, (_, idx)) in extra_idx.iter().enumerate() {
            let value = field(*idx)?;
            rows.extra[slot].1.push(value.trim().to_string());
        }
    }
    if rows.texts.is_empty() {
        bail!("{}: no data rows", path.display());
    }
    Ok(rows)
}
