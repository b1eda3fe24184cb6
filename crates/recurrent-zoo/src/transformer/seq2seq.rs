//! A Transformer encoder-decoder for sequence-to-sequence tasks.

use burn::config::Config;
use burn::module::Module;
use burn::nn::transformer::{TransformerDecoderConfig, TransformerDecoderLayer};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use recurrent_cells::{StateDict, lengths_tensor};

use super::FeedForwardActivation;
use super::layers::{
    TransformerLayers, TransformerLayersConfig, attend, check_heads, feed_forward, padding_mask,
};
use super::positions::{PositionKind, Positions};
use crate::error::{Result, ZooError, check_rate, check_size};
use crate::models::Seq2SeqOutput;
use crate::models::seq2seq::{check_source_lengths, check_targets};
use crate::search::{BatchStep, Limits, Search, decode_batch};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`TransformerSeq2Seq`].
#[derive(Config, Debug, PartialEq)]
pub struct TransformerSeq2SeqConfig {
    /// Source vocabulary size (`<pad>` included).
    pub src_vocab: usize,
    /// Target vocabulary size (`<pad>`, start and end tokens included).
    pub tgt_vocab: usize,
    /// Size of each step.
    #[config(default = 128)]
    pub d_model: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Hidden size of the feed-forward networks.
    #[config(default = 256)]
    pub d_ff: usize,
    /// Encoder layers.
    #[config(default = 2)]
    pub n_encoder_layers: usize,
    /// Decoder layers.
    #[config(default = 2)]
    pub n_decoder_layers: usize,
    /// Dropout, training only.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// The longest source or target (positions).
    #[config(default = 256)]
    pub max_len: usize,
    /// The feed-forward activation.
    #[config(default = "FeedForwardActivation::Gelu")]
    pub activation: FeedForwardActivation,
    /// Pre-norm layers (each stack ends with a LayerNorm).
    #[config(default = true)]
    pub norm_first: bool,
}

impl TransformerSeq2SeqConfig {
    /// Builds the model on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`TransformerSeq2SeqConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> TransformerSeq2Seq {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the model, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<TransformerSeq2Seq> {
        check_size("src_vocab", self.src_vocab)?;
        check_size("tgt_vocab", self.tgt_vocab)?;
        check_size("max_len", self.max_len)?;
        check_size("n_decoder_layers", self.n_decoder_layers)?;
        check_size("d_ff", self.d_ff)?;
        check_size("n_heads", self.n_heads)?;
        check_rate("dropout", self.dropout)?;
        check_heads(self.d_model, self.n_heads)?;
        let encoder = TransformerLayersConfig::new(
            self.d_model,
            self.n_heads,
            self.d_ff,
            self.n_encoder_layers,
        )
        .with_dropout(self.dropout)
        .with_norm_first(self.norm_first)
        .with_activation(self.activation)
        .try_init(device)?;
        let decoder_config = TransformerDecoderConfig::new(
            self.d_model,
            self.d_ff,
            self.n_heads,
            self.n_decoder_layers,
        )
        .with_dropout(self.dropout)
        .with_norm_first(self.norm_first)
        .with_activation(self.activation.burn());
        Ok(TransformerSeq2Seq {
            src_embed: EmbeddingConfig::new(self.src_vocab, self.d_model).init(device),
            tgt_embed: EmbeddingConfig::new(self.tgt_vocab, self.d_model).init(device),
            positions: Positions::new(PositionKind::Sinusoidal, self.max_len, self.d_model, device),
            encoder,
            decoder: (0..self.n_decoder_layers)
                .map(|_| TransformerDecoderLayer::new(&decoder_config, device))
                .collect(),
            decoder_norm: self
                .norm_first
                .then(|| LayerNormConfig::new(self.d_model).init(device)),
            dropout: DropoutConfig::new(self.dropout).init(),
            out: LinearConfig::new(self.d_model, self.tgt_vocab).init(device),
        })
    }
}

/// The Transformer of Vaswani et al. (2017), small, on burn's encoder and decoder layers:
///
/// ```text
/// src [batch, S] ── Embedding + sinusoids ── TransformerLayers (source padding masked) ── memory
/// tgt_in [batch, T] ── Embedding + sinusoids ── decoder layers (causal self-attention,
///   cross-attention over memory) ── [pre-norm: LayerNorm] ── Linear ── logits [batch, T, tgt_vocab]
/// ```
///
/// It trains like the recurrent [`crate::models::Seq2Seq`]: [`TransformerSeq2Seq::forward`]
/// with teacher forcing, where a ratio below 1 is scheduled sampling in two passes (the model
/// first predicts every step from the true prefix, then the drawn steps are fed those
/// predictions; Mihaylova & Martins 2019), and decodes by [`Search`] through
/// [`decode_batch`]. Decoding re-runs the decoder over each hypothesis's prefix (targets
/// here are short).
///
/// Weights (PyTorch's `nn.Transformer` names where it has them): `src_embed.weight`,
/// `tgt_embed.weight`, `encoder.layers.K.*`, `encoder.norm.*`, `decoder.K.self_attn.*`,
/// `decoder.K.multihead_attn.*`, `decoder.K.linear1.*`, ..., `decoder_norm.*`, `out.*`.
#[derive(Module, Debug)]
pub struct TransformerSeq2Seq {
    /// Source embeddings.
    pub src_embed: Embedding,
    /// Target embeddings.
    pub tgt_embed: Embedding,
    /// Sinusoidal positions, shared by both sides.
    pub positions: Positions,
    /// The encoder.
    pub encoder: TransformerLayers,
    /// The decoder layers.
    pub decoder: Vec<TransformerDecoderLayer>,
    /// The decoder's final LayerNorm (pre-norm).
    pub decoder_norm: Option<LayerNorm>,
    /// Dropout on the embeddings.
    pub dropout: Dropout,
    /// The read-out over the target vocabulary.
    pub out: Linear,
}

/// Encoded sources: the memory the decoder attends to.
#[derive(Debug, Clone)]
struct Memory {
    /// `[batch, S, d_model]`.
    states: Tensor<3>,
    /// `[batch, S]`, true at padding.
    pad: Tensor<2, Bool>,
}

impl TransformerSeq2Seq {
    fn encode(&self, src: Tensor<2, Int>, lengths: &[usize]) -> Result<Memory> {
        let [batch, steps] = src.dims();
        check_source_lengths(lengths, batch, steps)?;
        let pad = padding_mask(lengths_tensor(lengths, &src.device()), steps);
        let x = self.positions.try_forward(self.src_embed.forward(src), 0)?;
        let states = self
            .encoder
            .forward(self.dropout.forward(x), Some(pad.clone()), false);
        Ok(Memory { states, pad })
    }

    /// Logits `[batch, T, vocab]` of every step of `tgt_in` and the last layer's
    /// cross-attention weights (mean over heads) `[batch, T, S]`.
    fn decode(&self, tgt_in: Tensor<2, Int>, memory: &Memory) -> Result<(Tensor<3>, Tensor<3>)> {
        let mut x = self
            .positions
            .try_forward(self.tgt_embed.forward(tgt_in), 0)?;
        x = self.dropout.forward(x);
        let mut weights = None;
        for layer in &self.decoder {
            let (next, w) =
                decoder_layer(layer, x, memory.states.clone(), Some(memory.pad.clone()));
            x = next;
            weights = Some(w);
        }
        if let Some(norm) = &self.decoder_norm {
            x = norm.forward(x);
        }
        let weights = weights.expect("at least one decoder layer");
        Ok((self.out.forward(x), weights))
    }

    /// Runs the decoder over `tgt_in` (`[batch, T]`: the start token, then the target but
    /// its last token) after encoding `src` with `src_lengths`.
    ///
    /// `teacher_forcing` is the chance, per row and step `t > 0`, that the step is fed the
    /// true token rather than the model's own most likely token for it (scheduled sampling, in
    /// two passes; no gradient flows through the choice). `seed` drives the draws.
    ///
    /// Errors: lengths that do not fit, sequences longer than the positions, a batch size
    /// that differs between source and target, or a ratio outside `[0, 1]`.
    pub fn forward(
        &self,
        src: Tensor<2, Int>,
        src_lengths: &[usize],
        tgt_in: Tensor<2, Int>,
        teacher_forcing: f64,
        seed: u64,
    ) -> Result<Seq2SeqOutput> {
        let [batch, _] = src.dims();
        let steps = check_targets(batch, &tgt_in, teacher_forcing)?;
        let memory = self.encode(src, src_lengths)?;
        let mut tgt_in = tgt_in;
        if teacher_forcing < 1.0 && steps > 1 {
            let mut rng = StdRng::seed_from_u64(seed);
            let own: Vec<bool> = (0..batch * steps)
                .map(|i| i % steps > 0 && rng.random::<f64>() >= teacher_forcing)
                .collect();
            if own.iter().any(|&o| o) {
                let (logits, _) = self.decode(tgt_in.clone(), &memory)?;
                // The prediction for step t - 1 is fed at step t.
                let predicted = logits.detach().argmax(2).reshape([batch, steps]);
                let shifted = Tensor::cat(
                    vec![
                        tgt_in.clone().narrow(1, 0, 1),
                        predicted.narrow(1, 0, steps - 1),
                    ],
                    1,
                );
                let device = tgt_in.device();
                let mask =
                    Tensor::<1, Bool>::from_data(TensorData::new(own, [batch * steps]), &device)
                        .reshape([batch, steps]);
                tgt_in = tgt_in.mask_where(mask, shifted);
            }
        }
        let (logits, attention) = self.decode(tgt_in, &memory)?;
        Ok(Seq2SeqOutput { logits, attention })
    }

    /// Decodes `src` (`[batch, S]`) with `src_lengths`: each row's target tokens (without the
    /// start and end tokens), by `search`.
    ///
    /// Errors: as [`TransformerSeq2Seq::forward`] and [`decode_batch`]; a `max_len` of the
    /// limits above the model's positions.
    pub fn translate(
        &self,
        src: Tensor<2, Int>,
        src_lengths: &[usize],
        search: Search,
        limits: Limits,
    ) -> Result<Vec<Vec<u32>>> {
        if limits.max_len + 1 > self.positions.max_len() {
            return Err(ZooError::value(
                "max_len",
                format!(
                    "{} target tokens do not fit the model's {} positions",
                    limits.max_len,
                    self.positions.max_len()
                ),
            ));
        }
        let batch = src.dims()[0];
        let device = src.device();
        let memory = self.encode(src, src_lengths)?;
        let mut decoding = Decoding {
            model: self,
            memory,
            prefixes: vec![Vec::new(); batch],
            device,
        };
        decode_batch(&mut decoding, batch, search, limits)
    }
}

/// One decoder layer on burn's [`TransformerDecoderLayer`] in PyTorch's order of operations
/// (`nn.TransformerDecoderLayer` with a causal target mask): `x` (`[batch, T, d]`) attends to
/// itself causally and to `memory` (`[batch, S, d]`, `memory_pad` `[batch, S]` true at
/// padding). Returns the new `x` and the cross-attention weights averaged over the heads
/// (`[batch, T, S]`).
pub fn decoder_layer(
    layer: &TransformerDecoderLayer,
    x: Tensor<3>,
    memory: Tensor<3>,
    memory_pad: Option<Tensor<2, Bool>>,
) -> (Tensor<3>, Tensor<3>) {
    let cross = |q: Tensor<3>| {
        attend(
            &layer.cross_attn,
            q,
            memory.clone(),
            memory_pad.clone(),
            false,
        )
    };
    let own = |q: Tensor<3>| attend(&layer.self_attn, q.clone(), q, None, true).0;
    let drop = |t: Tensor<3>| layer.dropout.forward(t);
    if layer.norm_first {
        // burn's pre-norm order: norm_3 before self-attention, norm_1 before
        // cross-attention, norm_2 before the feed-forward.
        let x = x.clone() + drop(own(layer.norm_3.forward(x)));
        let (context, weights) = cross(layer.norm_1.forward(x.clone()));
        let x = x + drop(context);
        let x = x.clone() + drop(feed_forward(&layer.pwff, layer.norm_2.forward(x)));
        (x, weights)
    } else {
        let x = layer.norm_1.forward(x.clone() + drop(own(x)));
        let (context, weights) = cross(x.clone());
        let x = layer.norm_2.forward(x + drop(context));
        let x = layer
            .norm_3
            .forward(x.clone() + drop(feed_forward(&layer.pwff, x)));
        (x, weights)
    }
}

/// A search's hypotheses: each row's prefix, and the memory rows they attend to.
struct Decoding<'a> {
    model: &'a TransformerSeq2Seq,
    memory: Memory,
    prefixes: Vec<Vec<u32>>,
    device: Device,
}

impl BatchStep for Decoding<'_> {
    fn step(&mut self, parents: &[usize], tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let rows = tokens.len();
        let index: Vec<i64> = parents.iter().map(|&p| p as i64).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(index, [rows]), &self.device);
        self.memory = Memory {
            states: self.memory.states.clone().select(0, index.clone()),
            pad: self.memory.pad.clone().int().select(0, index).equal_elem(1),
        };
        self.prefixes = parents
            .iter()
            .zip(tokens)
            .map(|(&p, &t)| {
                let mut prefix = self.prefixes[p].clone();
                prefix.push(t);
                prefix
            })
            .collect();
        let steps = self.prefixes[0].len();
        let ids: Vec<i64> = self
            .prefixes
            .iter()
            .flat_map(|p| p.iter().map(|&t| i64::from(t)))
            .collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, steps]), &self.device);
        let (logits, _) = self.model.decode(ids, &self.memory)?;
        let vocab = logits.dims()[2];
        let last = logits.narrow(1, steps - 1, 1).reshape([rows, vocab]);
        let values = last
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| ZooError::value("logits", format!("{e:?}")))?;
        Ok(values.chunks(vocab).map(<[f32]>::to_vec).collect())
    }
}

impl PytorchWeights for TransformerSeq2Seq {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.src_embed.export(&child(prefix, "src_embed"), what);
        dict.extend(self.tgt_embed.export(&child(prefix, "tgt_embed"), what));
        dict.extend(self.encoder.export(&child(prefix, "encoder"), what));
        dict.extend(self.decoder.export(&child(prefix, "decoder"), what));
        dict.extend(
            self.decoder_norm
                .export(&child(prefix, "decoder_norm"), what),
        );
        dict.extend(self.out.export(&child(prefix, "out"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.src_embed = self.src_embed.load(dict, &child(prefix, "src_embed"))?;
        self.tgt_embed = self.tgt_embed.load(dict, &child(prefix, "tgt_embed"))?;
        self.encoder = self.encoder.load(dict, &child(prefix, "encoder"))?;
        self.decoder = self.decoder.load(dict, &child(prefix, "decoder"))?;
        self.decoder_norm = self
            .decoder_norm
            .load(dict, &child(prefix, "decoder_norm"))?;
        self.out = self.out.load(dict, &child(prefix, "out"))?;
        Ok(self)
    }
}
