//! A character-level LSTM language model: embedding, LSTM layers, a linear read-out over the
//! vocabulary. Trained on bptt windows of a text split by position (vocabulary from the
//! training part only); validation loss in nats per character; sampling with temperature
//! and top-k, or greedy.

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use recurrent_cells::{
    Gru, GruConfig, Lstm, LstmConfig, RecurrentLayer, Rnn, RnnConfig, StateDict,
};
use recurrent_data::{
    LanguageModelDataset, LmWindows, SplitFractions, Tokenizer, TokenizerKind, VocabBuilder,
    split_text,
};
use serde::{Deserialize, Serialize};

use crate::cell_kind::CellKind;
use crate::error::{Result, TrainError};
use crate::fit::{
    EarlyStoppingConfig, FitConfig, FitEvent, FitTask, StepContext, StepOutput, StopReason, fit,
    shuffled_batches,
};
use crate::history::History;
use crate::optimizer::Clipping;
use crate::run_dir::RunDir;

/// Settings of a character-level language model run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharLmConfig {
    /// The text file.
    pub data: PathBuf,
    /// Characters per training window (truncated backpropagation length).
    pub seq_len: usize,
    /// Windows per batch.
    pub batch_size: usize,
    /// Embedding size.
    pub embed: usize,
    /// LSTM hidden size.
    pub hidden: usize,
    /// Recurrent layers.
    pub layers: usize,
    /// The recurrent layer: LSTM (default), GRU or RNN (tanh).
    #[serde(default = "lstm")]
    pub cell: CellKind,
    /// Dropout on the LSTM's outputs (and between its layers) while training.
    #[serde(default)]
    pub dropout: f64,
    /// The training loop: epochs, optimiser (Adam 2e-3), clipping (norm 5), schedule,
    /// early stopping on validation loss, time budget, seed.
    pub fit: FitConfig,
    /// Train / validation / test fractions of the text, by position.
    pub split: SplitFractions,
}

impl CharLmConfig {
    /// Defaults for `data`: windows of 100, batch 32, embedding 32, one LSTM of 256, Adam
    /// 2e-3, clip norm 5, early stopping on validation loss (patience 3, best weights kept),
    /// 90/5/5 split.
    pub fn new(data: PathBuf) -> Self {
        Self {
            data,
            seq_len: 100,
            batch_size: 32,
            embed: 32,
            hidden: 256,
            layers: 1,
            cell: CellKind::Lstm,
            dropout: 0.0,
            // Early stopping on the validation loss also means a run cut short by its time
            // budget returns the best complete epoch's weights, not a worse partial one.
            fit: FitConfig {
                clipping: Some(Clipping::Norm(5.0)),
                early_stopping: Some(EarlyStoppingConfig::on_loss(3)),
                ..FitConfig::new(1, 2e-3)
            },
            split: SplitFractions::new(0.9, 0.05, 0.05),
        }
    }
}

fn lstm() -> CellKind {
    CellKind::Lstm
}

/// The model: `Embedding -> LSTM (or GRU, RNN) -> Dropout -> Linear`. Exactly one of the
/// recurrent layers is present.
#[derive(Module, Debug)]
pub struct CharLm {
    embed: Embedding,
    lstm: Option<Lstm>,
    gru: Option<Gru>,
    rnn: Option<Rnn>,
    dropout: Dropout,
    out: Linear,
}

/// State carried between generation steps: `(h, c)`, each `[layers, batch, hidden]`; a GRU
/// or RNN has no cell state and carries `h` twice.
pub type LmState = (Tensor<3>, Tensor<3>);

impl CharLm {
    /// A model over `vocab` ids.
    pub fn new(config: &CharLmConfig, vocab: usize, device: &Device) -> Self {
        Self {
            embed: EmbeddingConfig::new(vocab, config.embed).init(device),
            lstm: (config.cell == CellKind::Lstm).then(|| {
                LstmConfig::new(config.embed, config.hidden)
                    .with_n_layers(config.layers)
                    .with_dropout(config.dropout)
                    .init(device)
            }),
            gru: (config.cell == CellKind::Gru).then(|| {
                GruConfig::new(config.embed, config.hidden)
                    .with_n_layers(config.layers)
                    .with_dropout(config.dropout)
                    .init(device)
            }),
            rnn: (config.cell == CellKind::Rnn).then(|| {
                RnnConfig::new(config.embed, config.hidden)
                    .with_n_layers(config.layers)
                    .with_dropout(config.dropout)
                    .init(device)
            }),
            dropout: DropoutConfig::new(config.dropout).init(),
            out: LinearConfig::new(config.hidden, vocab).init(device),
        }
    }

    /// Logits `[batch, seq, vocab]` of ids `[batch, seq]`, and the final state.
    pub fn forward(&self, ids: Tensor<2, Int>, state: Option<LmState>) -> (Tensor<3>, LmState) {
        let x = self.embed.forward(ids);
        let (h, state) = match (&self.lstm, &self.gru, &self.rnn) {
            (Some(lstm), _, _) => lstm.forward(x, state),
            (None, Some(gru), _) => {
                let (h, s) = gru.forward(x, state.map(|(h, _)| h));
                (h, (s.clone(), s))
            }
            (None, None, Some(rnn)) => {
                let (h, s) = rnn.forward(x, state.map(|(h, _)| h));
                (h, (s.clone(), s))
            }
            (None, None, None) => unreachable!("CharLm::new builds one recurrent layer"),
        };
        (self.out.forward(self.dropout.forward(h)), state)
    }
}

impl CharLm {
    /// The weights under PyTorch's names (`embed.weight`, `lstm.weight_ih_l0` (or `gru.`,
    /// `rnn.`), ..., `out.weight` as `[out, in]`), for `StateDict::save` as safetensors.
    pub fn state_dict(&self) -> StateDict {
        let mut dict = match (&self.lstm, &self.gru, &self.rnn) {
            (Some(lstm), _, _) => lstm.state_dict("lstm."),
            (None, Some(gru), _) => gru.state_dict("gru."),
            (None, None, Some(rnn)) => rnn.state_dict("rnn."),
            (None, None, None) => StateDict::default(),
        };
        dict.insert("embed.weight", self.embed.weight.val().into_data());
        dict.insert("out.weight", self.out.weight.val().transpose().into_data());
        if let Some(bias) = &self.out.bias {
            dict.insert("out.bias", bias.val().into_data());
        }
        dict
    }
}

impl CharLm {
    /// A model for `config` over `vocab` ids with the weights of `dict` (as written by
    /// [`CharLm::state_dict`]); a missing or mis-shaped tensor is an error naming it.
    pub fn from_state_dict(
        config: &CharLmConfig,
        vocab: usize,
        dict: &StateDict,
        device: &Device,
    ) -> Result<Self> {
        let model = Self::new(config, vocab, device);
        let tensor = |name: &str, shape: [usize; 2]| -> Result<Tensor<2>> {
            let data = dict.get(name).ok_or_else(|| {
                TrainError::invalid("weights", format!("tensor {name:?} is missing"))
            })?;
            if data.shape().to_vec() != shape.to_vec() {
                return Err(TrainError::invalid(
                    "weights",
                    format!(
                        "tensor {name:?} has shape {:?}, the model needs {shape:?}",
                        data.shape().to_vec()
                    ),
                ));
            }
            Ok(Tensor::from_data(data.clone(), device))
        };
        let embed = tensor("embed.weight", [vocab, config.embed])?;
        let out = tensor("out.weight", [vocab, config.hidden])?.transpose();
        let bias = dict
            .get("out.bias")
            .map(|d| Tensor::<1>::from_data(d.clone(), device));
        let weights = |e: recurrent_cells::Error| TrainError::invalid("weights", e.to_string());
        let lstm = model
            .lstm
            .map(|l| l.load_state_dict(dict, "lstm."))
            .transpose()
            .map_err(weights)?;
        let gru = model
            .gru
            .map(|l| l.load_state_dict(dict, "gru."))
            .transpose()
            .map_err(weights)?;
        let rnn = model
            .rnn
            .map(|l| l.load_state_dict(dict, "rnn."))
            .transpose()
            .map_err(weights)?;
        let mut embedding = model.embed;
        embedding.weight = burn::module::Param::from_tensor(embed);
        let mut linear = model.out;
        linear.weight = burn::module::Param::from_tensor(out);
        linear.bias = bias.map(burn::module::Param::from_tensor);
        Ok(Self {
            embed: embedding,
            lstm,
            gru,
            rnn,
            dropout: model.dropout,
            out: linear,
        })
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct CharLmRun {
    /// The trained model (without autodiff).
    pub model: CharLm,
    /// The tokenizer fitted on the training text.
    pub tokenizer: Tokenizer,
    /// Per-epoch records (`loss`, and `val_loss` in nats per character).
    pub history: History,
    /// Validation loss of the final model.
    pub val_loss: f64,
    /// Test loss of the final model.
    pub test_loss: f64,
    /// Seconds spent training.
    pub train_seconds: f64,
    /// Why training ended.
    pub stop: StopReason,
}

fn batch_tensors(
    ds: &LanguageModelDataset,
    windows: &[usize],
    device: &Device,
) -> (Tensor<2, Int>, Tensor<1, Int>) {
    let seq = ds.windows().seq_len;
    let mut x = Vec::with_capacity(windows.len() * seq);
    let mut y = Vec::with_capacity(windows.len() * seq);
    for &w in windows {
        let (xs, ys) = ds.window(w);
        x.extend(xs.iter().map(|&v| i64::from(v)));
        y.extend(ys.iter().map(|&v| i64::from(v)));
    }
    let n = windows.len();
    (
        Tensor::from_data(TensorData::new(x, [n, seq]), device),
        Tensor::from_data(TensorData::new(y, [n * seq]), device),
    )
}

/// Mean cross-entropy (nats per character) of `model` over every window of `ds`.
pub fn evaluate(model: &CharLm, ds: &LanguageModelDataset, batch: usize, device: &Device) -> f64 {
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let all: Vec<usize> = (0..ds.starts().len()).collect();
    let (mut sum, mut count) = (0.0, 0usize);
    for chunk in all.chunks(batch.max(1)) {
        let (x, y) = batch_tensors(ds, chunk, device);
        let (logits, _) = model.forward(x, None);
        let [b, s, v] = logits.dims();
        let loss = loss_fn.forward(logits.reshape([b * s, v]), y);
        sum += f64::from(loss.into_scalar::<f32>()) * (b * s) as f64;
        count += b * s;
    }
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// A text split by position into training, validation and test windows, with the
/// tokenizer fitted on the training part only.
#[derive(Debug)]
pub struct CharLmData {
    /// The character tokenizer of the training part.
    pub tokenizer: Tokenizer,
    /// Training windows.
    pub train: LanguageModelDataset,
    /// Validation windows.
    pub valid: LanguageModelDataset,
    /// Test windows.
    pub test: LanguageModelDataset,
}

impl CharLmData {
    /// Reads and splits `config.data` per `config.split` into windows of `config.seq_len`.
    /// Errors name the file: unreadable, or a part shorter than one window.
    pub fn load(config: &CharLmConfig) -> Result<Self> {
        let text = recurrent_data::io::read_text(&config.data)?;
        let [train, valid, test] = split_text(&text, &config.split)?;
        let tokenizer = Tokenizer::fit(TokenizerKind::Char, train, VocabBuilder::new())?;
        let windows = LmWindows::new(config.seq_len);
        let train_ds = LanguageModelDataset::new(tokenizer.encode(train)?, windows)?;
        let valid_ds = LanguageModelDataset::new(tokenizer.encode(valid)?, windows)?;
        let test_ds = LanguageModelDataset::new(tokenizer.encode(test)?, windows)?;
        for (name, ds) in [
            ("train", &train_ds),
            ("validation", &valid_ds),
            ("test", &test_ds),
        ] {
            if ds.starts().is_empty() {
                return Err(TrainError::invalid(
                    "char-lm",
                    format!(
                        "{}: the {name} part is shorter than one window of {} characters",
                        config.data.display(),
                        config.seq_len + 1
                    ),
                ));
            }
        }
        Ok(Self {
            tokenizer,
            train: train_ds,
            valid: valid_ds,
            test: test_ds,
        })
    }
}

/// Mean cross-entropy (nats per character) over every window of `ds` of the ensemble that
/// averages the members' next-character probabilities: `-mean(log(mean_k p_k(y)))`.
pub fn evaluate_ensemble(
    models: &[&CharLm],
    ds: &LanguageModelDataset,
    batch: usize,
    device: &Device,
) -> f64 {
    let all: Vec<usize> = (0..ds.starts().len()).collect();
    let (mut sum, mut count) = (0.0, 0usize);
    if models.is_empty() {
        return f64::NAN;
    }
    for chunk in all.chunks(batch.max(1)) {
        let (x, y) = batch_tensors(ds, chunk, device);
        let mut probs: Option<Tensor<2>> = None;
        for model in models {
            let (logits, _) = model.forward(x.clone(), None);
            let [b, s, v] = logits.dims();
            let p = burn::tensor::activation::softmax(logits.reshape([b * s, v]), 1);
            probs = Some(match probs {
                Some(total) => total + p,
                None => p,
            });
        }
        let Some(probs) = probs else { break };
        let n = y.dims()[0];
        let picked = (probs / models.len() as f32)
            .gather(1, y.reshape([n, 1]))
            .log()
            .sum();
        sum -= f64::from(picked.into_scalar::<f32>());
        count += n;
    }
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// The char-lm as a [`FitTask`]: shuffled windows, cross-entropy per character.
struct CharLmTask<'a> {
    config: &'a CharLmConfig,
    train: LanguageModelDataset,
    valid: LanguageModelDataset,
    device: Device,
    loss: CrossEntropyLoss,
}

impl FitTask for CharLmTask<'_> {
    type Model = CharLm;
    type Batch = Vec<usize>;

    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<Vec<usize>>> {
        let all = (0..self.train.starts().len()).collect();
        Ok(shuffled_batches(all, self.config.batch_size, rng))
    }

    fn step(
        &self,
        model: &CharLm,
        batch: &Vec<usize>,
        _ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let (x, y) = batch_tensors(&self.train, batch, &self.device);
        let (logits, _) = model.forward(x, None);
        let [b, s, v] = logits.dims();
        let loss = self.loss.forward(logits.reshape([b * s, v]), y);
        Ok(StepOutput::new(loss, (b * s) as f64))
    }

    fn validate(&self, model: &CharLm) -> Result<BTreeMap<String, f64>> {
        let device = model.devices().first().cloned().unwrap_or_default();
        let loss = evaluate(model, &self.valid, self.config.batch_size, &device);
        Ok(BTreeMap::from([("loss".to_owned(), loss)]))
    }
}

/// Trains a model per `config` on `device` (an autodiff device) through [`fit`]; with
/// `run_dir`, checkpoints every epoch there, and with `resume` continues from its latest
/// complete checkpoint. `observer` sees the loop's events.
pub fn train_char_lm(
    config: &CharLmConfig,
    device: &Device,
    run_dir: Option<&RunDir>,
    resume: bool,
    observer: impl FnMut(FitEvent<'_>),
) -> Result<CharLmRun> {
    if config.batch_size == 0 || config.seq_len == 0 || config.hidden == 0 {
        return Err(TrainError::invalid(
            "char-lm",
            "batch size, sequence length and hidden size must be at least 1",
        ));
    }
    if !(0.0..1.0).contains(&config.dropout) {
        return Err(TrainError::invalid(
            "dropout",
            format!("{} (must be in [0, 1))", config.dropout),
        ));
    }
    let CharLmData {
        tokenizer,
        train: train_ds,
        valid: valid_ds,
        test: test_ds,
    } = CharLmData::load(config)?;
    device.seed(config.fit.seed);
    let model = CharLm::new(config, tokenizer.vocab_size(), device);
    let task = CharLmTask {
        config,
        train: train_ds,
        valid: valid_ds,
        device: device.clone(),
        loss: CrossEntropyLossConfig::new().init(device),
    };
    let fitted = fit(&config.fit, &task, model, run_dir, resume, observer)?;
    let model = fitted.model;
    let inner = device.clone().inner();
    let val_loss = evaluate(&model, &task.valid, config.batch_size, &inner);
    let test_loss = evaluate(&model, &test_ds, config.batch_size, &inner);
    Ok(CharLmRun {
        model,
        tokenizer,
        history: fitted.history,
        val_loss,
        test_loss,
        train_seconds: fitted.train_seconds,
        stop: fitted.stop,
    })
}

/// How to pick the next character.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely character.
    Greedy,
    /// Beam search: keep the `width` most likely continuations (by summed log-probability)
    /// and return the best one.
    Beam {
        /// Number of hypotheses kept.
        width: usize,
    },
    /// Sample from softmax(logits / temperature), among the `top_k` most likely when set.
    Random {
        /// Softmax temperature (> 0).
        temperature: f64,
        /// Keep only the k most likely characters.
        top_k: Option<usize>,
    },
}

/// Generates `length` characters after `prime` (encoded with `tokenizer`; an empty prime
/// starts from a newline).
pub fn generate(
    model: &CharLm,
    tokenizer: &Tokenizer,
    prime: &str,
    length: usize,
    sampling: Sampling,
    seed: u64,
    device: &Device,
) -> Result<String> {
    if let Sampling::Random { temperature, .. } = sampling
        && !(temperature > 0.0 && temperature.is_finite())
    {
        return Err(TrainError::invalid(
            "temperature",
            format!("{temperature} (must be above 0)"),
        ));
    }
    let prime = if prime.is_empty() { "\n" } else { prime };
    if let Sampling::Beam { width } = sampling {
        return beam_search(model, tokenizer, prime, length, width, device);
    }
    let (mut last, mut state) = run_prime(model, tokenizer, prime, device)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(length);
    for _ in 0..length {
        let next = pick(&last, sampling, &mut rng, tokenizer);
        out.push(next);
        let x = Tensor::<2, Int>::from_data(TensorData::new(vec![i64::from(next)], [1, 1]), device);
        let (logits, s) = model.forward(x, Some(state));
        state = s;
        last = logits.into_data().try_to_vec::<f32>().unwrap_or_default();
    }
    Ok(tokenizer.decode(&out))
}

/// Runs `prime` through the model: the logits of its last step (`[vocab]`) and the state.
fn run_prime(
    model: &CharLm,
    tokenizer: &Tokenizer,
    prime: &str,
    device: &Device,
) -> Result<(Vec<f32>, LmState)> {
    let ids: Vec<i64> = tokenizer
        .encode(prime)?
        .into_iter()
        .map(i64::from)
        .collect();
    let n = ids.len();
    let x = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, n]), device);
    let (logits, state) = model.forward(x, None);
    let last = logits
        .slice([0..1, n - 1..n, 0..tokenizer.vocab_size()])
        .into_data()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    Ok((last, state))
}

fn pick(logits: &[f32], sampling: Sampling, rng: &mut StdRng, tokenizer: &Tokenizer) -> u32 {
    let v = &tokenizer.vocab;
    let banned = [v.pad_id(), v.bos_id(), v.eos_id(), v.unk_id()];
    let mut scored: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, l))
        .filter(|(i, _)| !banned.contains(&Some(*i)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    match sampling {
        Sampling::Greedy | Sampling::Beam { .. } => scored.first().map_or(0, |s| s.0),
        Sampling::Random { temperature, top_k } => {
            if let Some(k) = top_k {
                scored.truncate(k.max(1));
            }
            let max = scored.first().map_or(0.0, |s| f64::from(s.1));
            let weights: Vec<f64> = scored
                .iter()
                .map(|s| ((f64::from(s.1) - max) / temperature).exp())
                .collect();
            let total: f64 = weights.iter().sum();
            let mut u = rng.random::<f64>() * total;
            for (s, w) in scored.iter().zip(&weights) {
                if u < *w {
                    return s.0;
                }
                u -= w;
            }
            scored.last().map_or(0, |s| s.0)
        }
    }
}

fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    logits
        .iter()
        .map(|&l| f64::from(l - max) - sum.ln())
        .collect()
}

/// Beam search over characters; the hypotheses run as one batch.
fn beam_search(
    model: &CharLm,
    tokenizer: &Tokenizer,
    prime: &str,
    length: usize,
    width: usize,
    device: &Device,
) -> Result<String> {
    if width == 0 {
        return Err(TrainError::invalid("beam width", "0 (must be at least 1)"));
    }
    let v = &tokenizer.vocab;
    let banned = [v.pad_id(), v.bos_id(), v.eos_id(), v.unk_id()];
    let vocab = tokenizer.vocab_size();
    let (mut last, mut state) = run_prime(model, tokenizer, prime, device)?;
    // (tokens so far, summed log-probability) per hypothesis; the rows of `state`.
    let mut beams: Vec<(Vec<u32>, f64)> = vec![(Vec::new(), 0.0)];
    for _ in 0..length {
        let mut candidates: Vec<(usize, u32, f64)> = Vec::new();
        for (b, (_, score)) in beams.iter().enumerate() {
            let logp = log_softmax(&last[b * vocab..(b + 1) * vocab]);
            for (id, lp) in logp.iter().enumerate() {
                if !banned.contains(&Some(id as u32)) {
                    candidates.push((b, id as u32, score + lp));
                }
            }
        }
        candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
        candidates.truncate(width);
        let parents: Vec<i64> = candidates.iter().map(|c| c.0 as i64).collect();
        let index =
            Tensor::<1, Int>::from_data(TensorData::new(parents, [candidates.len()]), device);
        let (h, c) = state;
        state = (h.select(1, index.clone()), c.select(1, index));
        beams = candidates
            .iter()
            .map(|&(b, id, score)| {
                let mut tokens = beams[b].0.clone();
                tokens.push(id);
                (tokens, score)
            })
            .collect();
        let next: Vec<i64> = candidates.iter().map(|c| i64::from(c.1)).collect();
        let k = next.len();
        let x = Tensor::<2, Int>::from_data(TensorData::new(next, [k, 1]), device);
        let (logits, s) = model.forward(x, Some(state));
        state = s;
        last = logits.into_data().try_to_vec::<f32>().unwrap_or_default();
    }
    let best = beams
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|b| b.0)
        .unwrap_or_default();
    Ok(tokenizer.decode(&best))
}
