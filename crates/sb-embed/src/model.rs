//! The BERT encoder forward pass over *packed* sequences: all tokens of a batch are stacked into
//! one `[total_tokens, hidden]` matrix with no padding. Linear layers see one tall matrix (good
//! for the matmul kernels), attention runs per (sequence, head) over that sequence's own rows.
//!
//! Why packing instead of padding: with an attention mask, padded positions contribute exactly
//! nothing to real tokens (their softmax weight underflows to 0) and mean pooling skips them, so
//! dropping them computes the same embeddings while saving every padded row's matmul work.
//!
//! Weights are loaded from safetensors with candle; F32 linear layers run on candle's matmul
//! (the `gemm` crate), quantized ones on [`crate::quant`].

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

use crate::config::BertConfig;
use crate::error::{Error, Result};
use crate::kernels::{self, AttentionScratch, AttentionShape};
use crate::quant::QuantLinear;
use crate::tokenize::TokenizedText;
use crate::Precision;

/// Rows per parallel chunk of the element-wise passes; below two chunks they run inline.
const ELEMENTWISE_ROWS_PER_CHUNK: usize = 32;

/// A forward pass over at most this many tokens (a search query, a short message) runs wholly
/// on the calling thread. Split over the pool, its ~30 steps (each matmul, each layer's heads)
/// are each a few hundred microseconds of work, and each one waits for the other worker to
/// be woken and scheduled: on a busy 2-core machine those waits, not the arithmetic, made the
/// tail of a query's encoding (see docs/benchmarks.md, knowledge base). Longer inputs and
/// batches still spread over the pool.
pub(crate) const INLINE_MAX_TOKENS: usize = 64;

/// A linear layer `y = x Wᵀ + b`.
enum Linear {
    F32 {
        /// `[in_features, out_features]`, contiguous: the row-major right operand of `x · W`.
        weight_t: Tensor,
        bias: Vec<f32>,
        out_features: usize,
    },
    Int16(QuantLinear),
}

impl Linear {
    fn new(weight: Tensor, bias: Tensor, precision: Precision) -> Result<Linear> {
        let (out_features, in_features) = weight.dims2()?;
        let bias = bias.to_vec1::<f32>()?;
        match precision {
            Precision::F32 => Ok(Linear::F32 {
                weight_t: weight.t()?.contiguous()?,
                bias,
                out_features,
            }),
            Precision::Int16 => {
                let weight = weight.flatten_all()?.to_vec1::<f32>()?;
                Ok(Linear::Int16(QuantLinear::new(
                    &weight,
                    bias,
                    out_features,
                    in_features,
                )))
            }
        }
    }

    fn out_features(&self) -> usize {
        match self {
            Linear::F32 { out_features, .. } => *out_features,
            Linear::Int16(linear) => linear.out_features(),
        }
    }

    /// `input` is `[rows, in_features]`; returns `[rows, out_features]`, bias included.
    fn forward(&self, input: &[f32], rows: usize) -> Result<Vec<f32>> {
        match self {
            Linear::F32 {
                weight_t,
                bias,
                out_features,
            } => {
                let in_features = input.len() / rows.max(1);
                let input = Tensor::from_slice(input, (rows, in_features), &Device::Cpu)?;
                let mut output = input.matmul(weight_t)?.flatten_all()?.to_vec1::<f32>()?;
                for_row_chunks(&mut output, *out_features, |chunk| {
                    kernels::add_bias(chunk, bias)
                });
                Ok(output)
            }
            Linear::Int16(linear) => Ok(linear.forward(input, rows)),
        }
    }
}

/// LayerNorm parameters.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    /// Query, key and value projections fused into one `[hidden, 3·hidden]` matmul.
    qkv: Linear,
    attention_output: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// A BERT encoder ready to run.
pub(crate) struct BertEncoder {
    config: BertConfig,
    word_embeddings: Vec<f32>,
    position_embeddings: Vec<f32>,
    token_type_embeddings: Vec<f32>,
    embeddings_norm: Norm,
    layers: Vec<Layer>,
}

/// Named tensors of a safetensors file, looked up with shape checks.
struct WeightFile<'a> {
    path: &'a Path,
    tensors: HashMap<String, Tensor>,
    /// `""` or `"bert."`: checkpoints saved from `BertForX` models prefix every name.
    prefix: &'static str,
}

impl WeightFile<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let full_name = format!("{}{name}", self.prefix);
        let tensor = self.tensors.get(&full_name).ok_or_else(|| Error::Weights {
            path: self.path.to_owned(),
            reason: format!("tensor {full_name} not found"),
        })?;
        if tensor.dims() != shape {
            return Err(Error::Weights {
                path: self.path.to_owned(),
                reason: format!(
                    "tensor {full_name} has shape {:?}, expected {shape:?}",
                    tensor.dims()
                ),
            });
        }
        Ok(tensor.to_dtype(DType::F32)?)
    }

    fn vec(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self.get(name, shape)?.flatten_all()?.to_vec1::<f32>()?)
    }

    fn norm(&self, name: &str, width: usize) -> Result<Norm> {
        Ok(Norm {
            gamma: self.vec(&format!("{name}.weight"), &[width])?,
            beta: self.vec(&format!("{name}.bias"), &[width])?,
        })
    }

    fn linear(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        precision: Precision,
    ) -> Result<Linear> {
        Linear::new(
            self.get(&format!("{name}.weight"), &[out_features, in_features])?,
            self.get(&format!("{name}.bias"), &[out_features])?,
            precision,
        )
    }
}

impl BertEncoder {
    /// Builds the encoder from the bytes of a safetensors file.
    pub fn from_safetensors(
        config: BertConfig,
        bytes: &[u8],
        path: &Path,
        precision: Precision,
    ) -> Result<BertEncoder> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
            Error::Weights {
                path: path.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let prefix = if tensors.contains_key("embeddings.word_embeddings.weight") {
            ""
        } else {
            "bert."
        };
        let file = WeightFile {
            path,
            tensors,
            prefix,
        };
        let hidden = config.hidden_size;
        let intermediate = config.intermediate_size;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for layer_idx in 0..config.num_hidden_layers {
            let name = format!("encoder.layer.{layer_idx}");
            let attention = format!("{name}.attention.self");
            let weight_of =
                |part: &str| file.get(&format!("{attention}.{part}.weight"), &[hidden, hidden]);
            let bias_of = |part: &str| file.get(&format!("{attention}.{part}.bias"), &[hidden]);
            let qkv_weight = Tensor::cat(
                &[weight_of("query")?, weight_of("key")?, weight_of("value")?],
                0,
            )?;
            let qkv_bias =
                Tensor::cat(&[bias_of("query")?, bias_of("key")?, bias_of("value")?], 0)?;
            layers.push(Layer {
                qkv: Linear::new(qkv_weight, qkv_bias, precision)?,
                attention_output: file.linear(
                    &format!("{name}.attention.output.dense"),
                    hidden,
                    hidden,
                    precision,
                )?,
                attention_norm: file.norm(&format!("{name}.attention.output.LayerNorm"), hidden)?,
                intermediate: file.linear(
                    &format!("{name}.intermediate.dense"),
                    intermediate,
                    hidden,
                    precision,
                )?,
                output: file.linear(
                    &format!("{name}.output.dense"),
                    hidden,
                    intermediate,
                    precision,
                )?,
                output_norm: file.norm(&format!("{name}.output.LayerNorm"), hidden)?,
            });
        }
        Ok(BertEncoder {
            word_embeddings: file.vec(
                "embeddings.word_embeddings.weight",
                &[config.vocab_size, hidden],
            )?,
            position_embeddings: file.vec(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, hidden],
            )?,
            token_type_embeddings: file.vec(
                "embeddings.token_type_embeddings.weight",
                &[config.type_vocab_size, hidden],
            )?,
            embeddings_norm: file.norm("embeddings.LayerNorm", hidden)?,
            layers,
            config,
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// Mean-pooled, L2-normalised embeddings of already tokenized sequences, in the same order.
    /// Sequences must be non-empty and no longer than `max_position_embeddings` (the tokenizer
    /// guarantees both: `[CLS] [SEP]` at least, truncation below the limit).
    pub fn embed_batch(&self, sequences: &[&TokenizedText]) -> Result<Vec<Vec<f32>>> {
        let hidden = self.config.hidden_size;
        let eps = self.config.layer_norm_eps as f32;
        let mut offsets = Vec::with_capacity(sequences.len() + 1);
        offsets.push(0usize);
        for sequence in sequences {
            if sequence.len() > self.config.max_position_embeddings {
                return Err(Error::Tokenize(format!(
                    "sequence of {} tokens exceeds the model's {} positions",
                    sequence.len(),
                    self.config.max_position_embeddings
                )));
            }
            offsets.push(offsets.last().copied().unwrap_or(0) + sequence.len());
        }
        let total_tokens = offsets.last().copied().unwrap_or(0);
        if total_tokens == 0 {
            return Ok(sequences.iter().map(|_| vec![0.0; hidden]).collect());
        }

        let mut states = self.embed_tokens(sequences, total_tokens)?;
        for_row_chunks(&mut states, hidden, |chunk| {
            kernels::layer_norm(
                chunk,
                &self.embeddings_norm.gamma,
                &self.embeddings_norm.beta,
                eps,
            )
        });

        for layer in &self.layers {
            let qkv = layer.qkv.forward(&states, total_tokens)?;
            let context = self.attention(&qkv, &offsets);
            let attention_output = layer.attention_output.forward(&context, total_tokens)?;
            add_layer_norm(
                &mut states,
                &attention_output,
                hidden,
                &layer.attention_norm,
                eps,
            );

            let mut intermediate = layer.intermediate.forward(&states, total_tokens)?;
            for_row_chunks(
                &mut intermediate,
                layer.intermediate.out_features(),
                kernels::gelu,
            );
            let output = layer.output.forward(&intermediate, total_tokens)?;
            add_layer_norm(&mut states, &output, hidden, &layer.output_norm, eps);
        }

        Ok(offsets
            .windows(2)
            .map(|range| {
                kernels::mean_pool_normalize(&states[range[0] * hidden..range[1] * hidden], hidden)
            })
            .collect())
    }

    /// Sum of word, position and token-type embeddings for every packed token.
    fn embed_tokens(&self, sequences: &[&TokenizedText], total_tokens: usize) -> Result<Vec<f32>> {
        let hidden = self.config.hidden_size;
        let mut states = Vec::with_capacity(total_tokens * hidden);
        for sequence in sequences {
            for (position, (&id, &type_id)) in
                sequence.ids.iter().zip(&sequence.type_ids).enumerate()
            {
                let (id, type_id) = (id as usize, type_id as usize);
                if id >= self.config.vocab_size || type_id >= self.config.type_vocab_size {
                    return Err(Error::Tokenize(format!(
                        "token id {id} (type {type_id}) is outside the model's vocabulary; tokenizer.json does not match model.safetensors"
                    )));
                }
                let word = &self.word_embeddings[id * hidden..][..hidden];
                let position = &self.position_embeddings[position * hidden..][..hidden];
                let token_type = &self.token_type_embeddings[type_id * hidden..][..hidden];
                states.extend(
                    word.iter()
                        .zip(position)
                        .zip(token_type)
                        .map(|((w, p), t)| w + p + t),
                );
            }
        }
        Ok(states)
    }

    /// Multi-head self-attention context `[total_tokens, hidden]` for packed sequences.
    fn attention(&self, qkv: &[f32], offsets: &[usize]) -> Vec<f32> {
        let hidden = self.config.hidden_size;
        let n_heads = self.config.num_attention_heads;
        let head_dim = self.config.head_dim();
        let scale = 1.0 / (head_dim as f32).sqrt();
        let n_sequences = offsets.len() - 1;
        let total_tokens = offsets[n_sequences];
        let shape_of = |sequence_idx: usize| AttentionShape {
            seq_len: offsets[sequence_idx + 1] - offsets[sequence_idx],
            hidden,
            head_dim,
        };
        let qkv_of = |sequence_idx: usize| {
            &qkv[offsets[sequence_idx] * 3 * hidden..offsets[sequence_idx + 1] * 3 * hidden]
        };
        let mut context = vec![0.0f32; total_tokens * hidden];

        if n_sequences == 1 && total_tokens <= INLINE_MAX_TOKENS {
            // A short message: its heads one after the other, on this thread.
            let mut scratch = AttentionScratch::default();
            for head_idx in 0..n_heads {
                let head_offset = head_idx * head_dim;
                kernels::attention_head(
                    qkv_of(0),
                    shape_of(0),
                    head_offset,
                    scale,
                    &mut context[head_offset..],
                    hidden,
                    &mut scratch,
                );
            }
            return context;
        }
        if n_sequences == 1 {
            // One message (the latency path): spread its heads over the cores, each head into
            // its own buffer, then interleave them into rows.
            let shape = shape_of(0);
            let head_contexts: Vec<Vec<f32>> = (0..n_heads)
                .into_par_iter()
                .map_init(AttentionScratch::default, |scratch, head_idx| {
                    let mut head_context = vec![0.0f32; shape.seq_len * head_dim];
                    kernels::attention_head(
                        qkv_of(0),
                        shape,
                        head_idx * head_dim,
                        scale,
                        &mut head_context,
                        head_dim,
                        scratch,
                    );
                    head_context
                })
                .collect();
            for (head_idx, head_context) in head_contexts.iter().enumerate() {
                for (row, head_row) in context
                    .chunks_exact_mut(hidden)
                    .zip(head_context.chunks_exact(head_dim))
                {
                    row[head_idx * head_dim..][..head_dim].copy_from_slice(head_row);
                }
            }
            return context;
        }

        // A batch: one task per sequence, writing all heads straight into its own rows.
        let mut sequence_rows: Vec<(usize, &mut [f32])> = Vec::with_capacity(n_sequences);
        let mut rest = context.as_mut_slice();
        for sequence_idx in 0..n_sequences {
            let (rows, tail) = rest.split_at_mut(shape_of(sequence_idx).seq_len * hidden);
            sequence_rows.push((sequence_idx, rows));
            rest = tail;
        }
        sequence_rows.into_par_iter().for_each_init(
            AttentionScratch::default,
            |scratch, (sequence_idx, rows)| {
                for head_idx in 0..n_heads {
                    let head_offset = head_idx * head_dim;
                    kernels::attention_head(
                        qkv_of(sequence_idx),
                        shape_of(sequence_idx),
                        head_offset,
                        scale,
                        &mut rows[head_offset..],
                        hidden,
                        scratch,
                    );
                }
            },
        );
        context
    }
}

/// `states = LayerNorm(states + update)`, in parallel row chunks.
fn add_layer_norm(states: &mut [f32], update: &[f32], hidden: usize, norm: &Norm, eps: f32) {
    let chunk_len = ELEMENTWISE_ROWS_PER_CHUNK * hidden;
    if states.len() <= chunk_len {
        kernels::add_layer_norm(states, update, &norm.gamma, &norm.beta, eps);
        return;
    }
    states
        .par_chunks_mut(chunk_len)
        .zip(update.par_chunks(chunk_len))
        .for_each(|(chunk, update_chunk)| {
            kernels::add_layer_norm(chunk, update_chunk, &norm.gamma, &norm.beta, eps)
        });
}

/// Runs `f` over whole-row chunks of `values`, in parallel when there are enough rows.
fn for_row_chunks(values: &mut [f32], row_width: usize, f: impl Fn(&mut [f32]) + Sync + Send) {
    let chunk_len = ELEMENTWISE_ROWS_PER_CHUNK * row_width;
    if values.len() <= chunk_len {
        f(values);
        return;
    }
    values.par_chunks_mut(chunk_len).for_each(f);
}
