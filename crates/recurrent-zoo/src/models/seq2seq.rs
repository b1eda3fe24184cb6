//! A sequence-to-sequence encoder-decoder with attention (Bahdanau or Luong).

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use recurrent_cells::{SequenceInput, StateDict, lengths_tensor, lengths_to_mask};
use serde::{Deserialize, Serialize};

use crate::attention::{
    AdditiveAttention, AdditiveAttentionConfig, AttentionInput, AttentionOutput, DotAttention,
    DotAttentionConfig, LuongScore,
};
use crate::error::{Result, ZooError, check_rate, check_size};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentKind, RecurrentState};
use crate::search::{BatchStep, Limits, Search, decode_batch};
use crate::weights::{Export, PytorchWeights, child};

/// The attention of a [`Seq2Seq`] decoder over the encoder's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seq2SeqAttention {
    /// Additive (Bahdanau et al. 2015): `v · tanh(W h + U m)`.
    Bahdanau,
    /// Multiplicative (Luong et al. 2015) with its score function.
    Luong(LuongScore),
}

impl fmt::Display for Seq2SeqAttention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bahdanau => f.write_str("bahdanau"),
            Self::Luong(score) => write!(f, "luong-{score}"),
        }
    }
}

impl FromStr for Seq2SeqAttention {
    type Err = ZooError;

    /// `bahdanau`, `luong` (dot), `luong-dot`, `luong-general` or `luong-scaled`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.to_ascii_lowercase();
        match s.as_str() {
            "bahdanau" | "additive" => Ok(Self::Bahdanau),
            "luong" => Ok(Self::Luong(LuongScore::Dot)),
            other => match other.strip_prefix("luong-") {
                Some(score) => Ok(Self::Luong(score.parse()?)),
                None => Err(ZooError::config(
                    "attention",
                    format!(
                        "{other:?} (expected bahdanau, luong-dot, luong-general or luong-scaled)"
                    ),
                )),
            },
        }
    }
}

/// Configuration of a [`Seq2Seq`]: the network only.
#[derive(Config, Debug, PartialEq)]
pub struct Seq2SeqConfig {
    /// Source vocabulary size (specials included).
    pub src_vocab: usize,
    /// Target vocabulary size (specials included).
    pub tgt_vocab: usize,
    /// Embedding size (source and target).
    #[config(default = 64)]
    pub d_embed: usize,
    /// The recurrent cell of the encoder and the decoder.
    #[config(default = "RecurrentKind::Lstm")]
    pub kind: RecurrentKind,
    /// Hidden size of each encoder direction; the decoder's is the encoder's output size
    /// (`2 * d_hidden` when bidirectional).
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Layers of the encoder and of the decoder.
    #[config(default = 1)]
    pub n_layers: usize,
    /// A bidirectional encoder.
    #[config(default = true)]
    pub bidirectional: bool,
    /// The attention.
    #[config(default = "Seq2SeqAttention::Bahdanau")]
    pub attention: Seq2SeqAttention,
    /// Dropout on the embeddings and before the read-out, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl Seq2SeqConfig {
    /// Builds the model on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`Seq2SeqConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> Seq2Seq {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the model, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<Seq2Seq> {
        check_size("src_vocab", self.src_vocab)?;
        check_size("tgt_vocab", self.tgt_vocab)?;
        check_size("d_embed", self.d_embed)?;
        check_size("d_hidden", self.d_hidden)?;
        check_size("n_layers", self.n_layers)?;
        check_rate("dropout", self.dropout)?;
        let encoder = RecurrentConfig::new(self.kind, self.d_embed, self.d_hidden)
            .with_n_layers(self.n_layers)
            .with_bidirectional(self.bidirectional)
            .try_init(device)?;
        let enc_dirs = if self.bidirectional { 2 } else { 1 };
        let d_model = enc_dirs * self.d_hidden;
        let decoder = RecurrentConfig::new(self.kind, self.d_embed + d_model, d_model)
            .with_n_layers(self.n_layers)
            .try_init(device)?;
        let attention = match self.attention {
            Seq2SeqAttention::Bahdanau => Attention::Additive(
                AdditiveAttentionConfig::new(d_model, d_model, d_model).try_init(device)?,
            ),
            Seq2SeqAttention::Luong(score) => Attention::Dot(
                DotAttentionConfig::new(d_model, d_model)
                    .with_score(score)
                    .try_init(device)?,
            ),
        };
        Ok(Seq2Seq {
            src_embed: EmbeddingConfig::new(self.src_vocab, self.d_embed).init(device),
            encoder,
            bridge_h: LinearConfig::new(d_model, d_model).init(device),
            bridge_c: self
                .kind
                .has_cell_state()
                .then(|| LinearConfig::new(d_model, d_model).init(device)),
            tgt_embed: EmbeddingConfig::new(self.tgt_vocab, self.d_embed).init(device),
            decoder,
            attention,
            out: LinearConfig::new(2 * d_model, self.tgt_vocab).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            enc_dirs,
            n_layers: self.n_layers,
            d_model,
        })
    }
}

/// The attention module of a [`Seq2Seq`].
// A model holds one of these: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Attention {
    /// Bahdanau's.
    Additive(AdditiveAttention),
    /// Luong's.
    Dot(DotAttention),
}

impl Attention {
    fn try_forward(&self, input: AttentionInput) -> Result<AttentionOutput> {
        match self {
            Self::Additive(a) => a.try_forward(input),
            Self::Dot(a) => a.try_forward(input),
        }
    }
}

impl PytorchWeights for Attention {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        match self {
            Self::Additive(a) => a.export(prefix, what),
            Self::Dot(a) => a.export(prefix, what),
        }
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        Ok(match self {
            Self::Additive(a) => Self::Additive(a.load(dict, prefix)?),
            Self::Dot(a) => Self::Dot(a.load(dict, prefix)?),
        })
    }
}

/// An encoder-decoder with attention (Bahdanau et al. 2015; Luong et al. 2015):
///
/// ```text
/// src [batch, S] ── Embedding ── encoder (rnn | lstm | gru | ln-lstm, bidirectional,
///   source lengths) ── memory [batch, S, D]     (D = directions x d_hidden)
///   final state ── per layer: directions joined, Linear (+ tanh for h) ── decoder state
/// each target step t:
///   [embed(y_{t-1}); context_{t-1}] ── decoder (D) ── h_t
///   attention(query h_t, memory, masked past each source length) ── context_t, weights
///   Linear([h_t; context_t]) ── logits_t [batch, tgt_vocab]
/// ```
///
/// The previous context is fed back with the input ("input feeding", Luong et al.). Training
/// runs [`Seq2Seq::forward`] with teacher forcing (a per-step ratio: scheduled sampling
/// feeds the model's own previous prediction to the other rows) and
/// [`sequence_cross_entropy`]; [`Seq2Seq::translate`] decodes greedily, by sampling or by
/// beam search ([`Search`]).
///
/// Weights: `src_embed.weight`, `encoder.weight_ih_l0` ... (PyTorch's `nn.LSTM` names),
/// `bridge_h.*`, `bridge_c.*` (LSTM), `tgt_embed.weight`, `decoder.*`, `attention.*` (see
/// [`AdditiveAttention`], [`DotAttention`]), `out.weight` `[tgt_vocab, 2 D]`, `out.bias`.
#[derive(Module, Debug)]
pub struct Seq2Seq {
    /// Source embeddings.
    pub src_embed: Embedding,
    /// The encoder.
    pub encoder: Recurrent,
    /// The encoder's final hidden state (directions joined) to the decoder's initial one.
    pub bridge_h: Linear,
    /// The same for the cell state (LSTM).
    pub bridge_c: Option<Linear>,
    /// Target embeddings.
    pub tgt_embed: Embedding,
    /// The decoder.
    pub decoder: Recurrent,
    /// The attention over the encoder's outputs.
    pub attention: Attention,
    /// The read-out over the target vocabulary.
    pub out: Linear,
    /// Dropout on the embeddings and before the read-out.
    pub dropout: Dropout,
    enc_dirs: usize,
    n_layers: usize,
    d_model: usize,
}

/// A batch of encoded sources, what the decoder starts from.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The encoder's outputs, `[batch, S, D]` (0 past each length).
    pub memory: Tensor<3>,
    /// `[batch, S]`, true at the real source positions.
    pub valid: Tensor<2, Bool>,
    /// The decoder's initial state.
    pub state: RecurrentState,
}

/// What [`Seq2Seq::forward`] returns.
#[derive(Debug, Clone)]
pub struct Seq2SeqOutput {
    /// Next-token logits of every target step, `[batch, T, tgt_vocab]`.
    pub logits: Tensor<3>,
    /// Attention weights of every target step over the source, `[batch, T, S]`.
    pub attention: Tensor<3>,
}

impl Seq2Seq {
    /// Encodes `src` (`[batch, S]` token ids) with `lengths` (one per row, each in `1..=S`).
    ///
    /// Errors: a length of 0 or above `S`, or as many lengths as rows.
    pub fn encode(&self, src: Tensor<2, Int>, lengths: &[usize]) -> Result<Encoded> {
        let [batch, steps] = src.dims();
        check_source_lengths(lengths, batch, steps)?;
        let device = src.device();
        let lengths = lengths_tensor(lengths, &device);
        let x = self.dropout.forward(self.src_embed.forward(src));
        let (memory, state) = self
            .encoder
            .try_forward_input(SequenceInput::new(x).lengths(lengths.clone()))?;
        let state = self.bridge(state, batch);
        Ok(Encoded {
            memory,
            valid: lengths_to_mask(lengths, steps),
            state,
        })
    }

    /// The decoder's initial state from the encoder's final one: per layer, the directions
    /// joined (`[batch, D]`), through `bridge_h` and tanh (`bridge_c` for the cell state).
    fn bridge(&self, state: RecurrentState, batch: usize) -> RecurrentState {
        let join = |t: Tensor<3>| {
            let h = t.dims()[2];
            t.reshape([self.n_layers, self.enc_dirs, batch, h])
                .swap_dims(1, 2)
                .reshape([self.n_layers, batch, self.enc_dirs * h])
        };
        match state {
            RecurrentState::Hidden(h) => {
                RecurrentState::Hidden(self.bridge_h.forward(join(h)).tanh())
            }
            RecurrentState::HiddenCell(h, c) => {
                let h = self.bridge_h.forward(join(h)).tanh();
                let c = match &self.bridge_c {
                    Some(bridge) => bridge.forward(join(c)),
                    None => join(c),
                };
                RecurrentState::HiddenCell(h, c)
            }
        }
    }

    /// One decoder step for every row: `embedded` (`[rows, 1, d_embed]`) the previous
    /// token, `context` (`[rows, D]`) the previous context. Returns the logits `[rows,
    /// vocab]`, the new context, the new state and the attention weights `[rows, S]`.
    fn step(
        &self,
        embedded: Tensor<3>,
        context: Tensor<2>,
        state: RecurrentState,
        memory: &Tensor<3>,
        valid: &Tensor<2, Bool>,
    ) -> Result<(Tensor<2>, Tensor<2>, RecurrentState, Tensor<2>)> {
        let [rows, _, _] = embedded.dims();
        let input = Tensor::cat(vec![embedded, context.unsqueeze_dim::<3>(1)], 2);
        let (h, state) = self
            .decoder
            .try_forward_input(SequenceInput::new(input).state(state))?;
        let attended = self
            .attention
            .try_forward(AttentionInput::new(h.clone(), memory.clone()).mask(valid.clone()))?;
        let steps = memory.dims()[1];
        let joined = Tensor::cat(vec![h, attended.context.clone()], 2);
        let logits = self.out.forward(self.dropout.forward(joined));
        let vocab = logits.dims()[2];
        let logits = logits.reshape([rows, vocab]);
        Ok((
            logits,
            attended.context.reshape([rows, self.d_model]),
            state,
            attended.weights.reshape([rows, steps]),
        ))
    }

    /// Runs the decoder over `tgt_in` (`[batch, T]`: the start token, then the target but
    /// its last token) after encoding `src` with `src_lengths`.
    ///
    /// `teacher_forcing` is the chance, per row and step, that step `t > 0` is fed the true
    /// token `tgt_in[t]` rather than the model's own most likely token at step `t - 1`
    /// (scheduled sampling; 1 = always the true token). `seed` drives those draws.
    ///
    /// Errors: as [`Seq2Seq::encode`], a batch size that differs between source and target,
    /// or a ratio outside `[0, 1]`.
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
        let device = src.device();
        let encoded = self.encode(src, src_lengths)?;
        let teacher = self.dropout.forward(self.tgt_embed.forward(tgt_in));
        let d_embed = teacher.dims()[2];
        let mut rng = StdRng::seed_from_u64(seed);
        let mut state = encoded.state;
        let mut context = Tensor::zeros([batch, self.d_model], &device);
        let mut logits = Vec::with_capacity(steps);
        let mut weights = Vec::with_capacity(steps);
        for t in 0..steps {
            let mut embedded = teacher.clone().narrow(1, t, 1);
            if t > 0 && teacher_forcing < 1.0 {
                // Rows drawn to see their own prediction get the embedding of the previous
                // step's most likely token (no gradient flows through the choice).
                let own: Vec<bool> = (0..batch)
                    .map(|_| rng.random::<f64>() >= teacher_forcing)
                    .collect();
                if own.iter().any(|&o| o) {
                    let previous: Tensor<2> = logits.last().cloned().expect("step t - 1 ran");
                    let predicted = previous.argmax(1).reshape([batch, 1]);
                    let predicted = self.dropout.forward(self.tgt_embed.forward(predicted));
                    let mask = Tensor::<1, Bool>::from_data(TensorData::new(own, [batch]), &device)
                        .reshape([batch, 1, 1])
                        .expand([batch, 1, d_embed]);
                    embedded = embedded.mask_where(mask, predicted);
                }
            }
            let (step_logits, next_context, next_state, step_weights) =
                self.step(embedded, context, state, &encoded.memory, &encoded.valid)?;
            context = next_context;
            state = next_state;
            logits.push(step_logits);
            weights.push(step_weights);
        }
        Ok(Seq2SeqOutput {
            logits: Tensor::stack(logits, 1),
            attention: Tensor::stack(weights, 1),
        })
    }

    /// Decodes `src` (`[batch, S]`) with `src_lengths`: each row's target tokens (without the
    /// start and end tokens), by `search`.
    ///
    /// Errors: as [`Seq2Seq::encode`] and [`decode_batch`].
    pub fn translate(
        &self,
        src: Tensor<2, Int>,
        src_lengths: &[usize],
        search: Search,
        limits: Limits,
    ) -> Result<Vec<Vec<u32>>> {
        let batch = src.dims()[0];
        let device = src.device();
        let encoded = self.encode(src, src_lengths)?;
        let mut decoder = Decoding {
            model: self,
            context: Tensor::zeros([batch, self.d_model], &device),
            encoded,
            device,
        };
        decode_batch(&mut decoder, batch, search, limits)
    }
}

/// `lengths` must hold one length in `1..=steps` per source row.
pub(crate) fn check_source_lengths(lengths: &[usize], batch: usize, steps: usize) -> Result<()> {
    if lengths.len() != batch {
        return Err(ZooError::value(
            "source lengths",
            format!("{} lengths for {batch} sequences", lengths.len()),
        ));
    }
    if let Some((row, &length)) = lengths
        .iter()
        .enumerate()
        .find(|(_, l)| **l == 0 || **l > steps)
    {
        return Err(ZooError::value(
            "source lengths",
            format!("sequence {row} has length {length} (must be in 1..={steps})"),
        ));
    }
    Ok(())
}

/// `tgt_in` must have `batch` rows and `teacher_forcing` be in `[0, 1]`; returns the target
/// steps.
pub(crate) fn check_targets(
    batch: usize,
    tgt_in: &Tensor<2, Int>,
    teacher_forcing: f64,
) -> Result<usize> {
    let [tgt_batch, steps] = tgt_in.dims();
    if tgt_batch != batch {
        return Err(ZooError::shape(
            "target",
            format!("[{batch}, T]"),
            &tgt_in.dims(),
        ));
    }
    if !(0.0..=1.0).contains(&teacher_forcing) {
        return Err(ZooError::value(
            "teacher_forcing",
            format!("{teacher_forcing} (must be in [0, 1])"),
        ));
    }
    Ok(steps)
}

/// The decoder's state during a search: one row per hypothesis.
struct Decoding<'a> {
    model: &'a Seq2Seq,
    encoded: Encoded,
    context: Tensor<2>,
    device: Device,
}

impl BatchStep for Decoding<'_> {
    fn step(&mut self, parents: &[usize], tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let rows = tokens.len();
        let index: Vec<i64> = parents.iter().map(|&p| p as i64).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(index, [rows]), &self.device);
        let encoded = &self.encoded;
        let memory = encoded.memory.clone().select(0, index.clone());
        let valid = encoded
            .valid
            .clone()
            .int()
            .select(0, index.clone())
            .equal_elem(1);
        let state = encoded.state.clone().select_batch(index.clone());
        let context = self.context.clone().select(0, index);
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, 1]), &self.device);
        let embedded = self.model.tgt_embed.forward(ids);
        let (logits, context, state, _) =
            self.model.step(embedded, context, state, &memory, &valid)?;
        self.encoded = Encoded {
            memory,
            valid,
            state,
        };
        self.context = context;
        let vocab = logits.dims()[1];
        let values = logits
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| ZooError::value("logits", format!("{e:?}")))?;
        Ok(values.chunks(vocab).map(<[f32]>::to_vec).collect())
    }
}

/// The mean cross-entropy of `logits` (`[batch, T, vocab]`) against `targets` (`[batch, T]`)
/// over each row's first `lengths[row]` steps (padding ignored).
///
/// Errors: shapes that disagree, or lengths above `T`, or no step to score.
pub fn sequence_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: &[usize],
) -> Result<Tensor<1>> {
    let [batch, steps, _] = logits.dims();
    if targets.dims() != [batch, steps] {
        return Err(ZooError::shape(
            "targets",
            format!("[{batch}, {steps}]"),
            &targets.dims(),
        ));
    }
    if lengths.len() != batch || lengths.iter().any(|&l| l > steps) {
        return Err(ZooError::value(
            "target lengths",
            format!("{lengths:?} for {batch} sequences of at most {steps} steps"),
        ));
    }
    let count: usize = lengths.iter().sum();
    if count == 0 {
        return Err(ZooError::value("target lengths", "no step to score"));
    }
    let device = logits.device();
    let picked = log_softmax(logits, 2)
        .gather(2, targets.unsqueeze_dim::<3>(2))
        .reshape([batch, steps]);
    let mask = lengths_to_mask(lengths_tensor(lengths, &device), steps).float();
    Ok((picked * mask).sum().neg() / count as f64)
}

impl PytorchWeights for Seq2Seq {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.src_embed.export(&child(prefix, "src_embed"), what);
        dict.extend(self.encoder.export(&child(prefix, "encoder"), what));
        dict.extend(self.bridge_h.export(&child(prefix, "bridge_h"), what));
        if let Some(bridge) = &self.bridge_c {
            dict.extend(bridge.export(&child(prefix, "bridge_c"), what));
        }
        dict.extend(self.tgt_embed.export(&child(prefix, "tgt_embed"), what));
        dict.extend(self.decoder.export(&child(prefix, "decoder"), what));
        dict.extend(self.attention.export(&child(prefix, "attention"), what));
        dict.extend(self.out.export(&child(prefix, "out"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.src_embed = self.src_embed.load(dict, &child(prefix, "src_embed"))?;
        self.encoder = self.encoder.load(dict, &child(prefix, "encoder"))?;
        self.bridge_h = self.bridge_h.load(dict, &child(prefix, "bridge_h"))?;
        if let Some(bridge) = self.bridge_c.take() {
            self.bridge_c = Some(bridge.load(dict, &child(prefix, "bridge_c"))?);
        }
        self.tgt_embed = self.tgt_embed.load(dict, &child(prefix, "tgt_embed"))?;
        self.decoder = self.decoder.load(dict, &child(prefix, "decoder"))?;
        self.attention = self.attention.load(dict, &child(prefix, "attention"))?;
        self.out = self.out.load(dict, &child(prefix, "out"))?;
        Ok(self)
    }
}
