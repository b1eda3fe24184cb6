//! The character-level language-model task: a zoo [`CharLm`](recurrent_zoo::models::CharLm) (embedding, recurrent stack,
//! read-out over the vocabulary) or a decoder-only
//! [`TransformerLm`](recurrent_zoo::transformer::TransformerLm) (`transformer`),
//! trained on bptt windows of a text split by position
//! (vocabulary from the training part only); validation loss in nats per character;
//! generation by sampling (temperature, top-k), greedy or beam search.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use recurrent_data::{
    LanguageModelDataset, LmWindows, SplitFractions, Tokenizer, TokenizerKind, VocabBuilder,
    split_text,
};
pub use recurrent_zoo::decode::Sampling;
use recurrent_zoo::models::{CharLmConfig, LanguageModel};
use recurrent_zoo::transformer::TransformerLmConfig;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::fit::{
    EarlyStoppingConfig, FitConfig, FitEvent, FitTask, Schedule, StepContext, StepOutput,
    StopReason, fit, shuffled_batches,
};
use crate::history::History;
use crate::optimizer::Clipping;
use crate::run_config::{CONFIG_FILE, SavedRun};
use crate::run_dir::RunDir;
use crate::weights::load_weights;

/// Settings of a character-level language model run: the data, the network (a zoo
/// [`CharLmConfig`], whose `vocab` is set from the tokenizer when the data is read), and
/// the training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharLmTaskConfig {
    /// The text file.
    pub data: PathBuf,
    /// Characters per training window (truncated backpropagation length).
    pub seq_len: usize,
    /// Windows per batch.
    pub batch_size: usize,
    /// The network: embedding size, cell, hidden size, layers, residual, dropout and
    /// recurrent dropout (`vocab` comes from the tokenizer).
    pub model: CharLmConfig,
    /// A decoder-only Transformer instead of the recurrent network (`--model transformer`;
    /// its `vocab` comes from the tokenizer, and its `max_len` must hold a window). `None`
    /// trains `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformer: Option<TransformerLmConfig>,
    /// The training loop: epochs, optimiser (Adam 4e-3), clipping (norm 5), schedule
    /// (cosine to 2e-4), early stopping on validation loss, time budget, seed.
    pub fit: FitConfig,
    /// Train / validation / test fractions of the text, by position.
    pub split: SplitFractions,
}

impl CharLmTaskConfig {
    /// Defaults for `data`: windows of 100, batch 64, embedding 32, two LSTM layers of 256
    /// with dropout 0.25 between and after them, Adam 4e-3 annealed (cosine) to 2e-4 over the
    /// run, clip norm 5, early stopping on validation loss (patience 3, best weights kept),
    /// 90/5/5 split. On the 8 plays this reaches 1.60 nats/char or less on validation in 15
    /// epochs (18 minutes on two cores with the fused CPU kernels).
    pub fn new(data: PathBuf) -> Self {
        Self {
            data,
            seq_len: 100,
            batch_size: 64,
            // The vocabulary size is set when the tokenizer is fitted.
            model: CharLmConfig::new(0).with_n_layers(2).with_dropout(0.25),
            transformer: None,
            // Early stopping on the validation loss also means a run cut short by its time
            // budget returns the best complete epoch's weights, not a worse partial one.
            fit: FitConfig {
                clipping: Some(Clipping::Norm(5.0)),
                early_stopping: Some(EarlyStoppingConfig::on_loss(3)),
                schedule: Schedule::Cosine { min_lr: 2e-4 },
                ..FitConfig::new(1, 4e-3)
            },
            split: SplitFractions::new(0.9, 0.05, 0.05),
        }
    }

    /// The network for a vocabulary of `vocab` ids.
    pub fn model_config(&self, vocab: usize) -> CharLmConfig {
        CharLmConfig {
            vocab,
            ..self.model.clone()
        }
    }

    /// The Transformer's settings for `vocab` ids, when the run trains one.
    pub fn transformer_config(&self, vocab: usize) -> Option<TransformerLmConfig> {
        self.transformer
            .as_ref()
            .map(|t| TransformerLmConfig { vocab, ..t.clone() })
    }

    /// The model of these settings for `vocab` ids on `device`: the Transformer when set,
    /// else the recurrent network.
    ///
    /// Errors: invalid network settings, or windows longer than the Transformer's positions.
    pub fn init_model(&self, vocab: usize, device: &Device) -> Result<LanguageModel> {
        match self.transformer_config(vocab) {
            Some(t) => {
                if self.seq_len > t.max_len {
                    return Err(TrainError::invalid(
                        "char-lm",
                        format!(
                            "windows of {} characters do not fit the Transformer's {} positions \
                             (raise max_len or lower seq_len)",
                            self.seq_len, t.max_len
                        ),
                    ));
                }
                Ok(LanguageModel::Transformer(t.try_init(device)?))
            }
            None => Ok(LanguageModel::Recurrent(
                self.model_config(vocab).try_init(device)?,
            )),
        }
    }

    /// A one-line description of the network: `LSTM 2x256` or `Transformer 2x128 (4 heads)`.
    pub fn describe_model(&self) -> String {
        match &self.transformer {
            Some(t) => format!(
                "Transformer {}x{} ({} heads, feed-forward {}, context {})",
                t.n_layers, t.d_model, t.n_heads, t.d_ff, t.max_len
            ),
            None => format!(
                "{} {}x{}",
                self.model.kind.to_string().to_uppercase(),
                self.model.n_layers,
                self.model.d_hidden
            ),
        }
    }
}

/// The weights file of a char-lm run (and of each ensemble member).
pub const MODEL_FILE: &str = "model.safetensors";
/// The tokenizer file of a char-lm run.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// A trained char-lm read back from its run directory: the settings, the tokenizer and the
/// model (its best member for an ensemble: the run's own `model.safetensors`).
#[derive(Debug)]
pub struct CharLmRunFiles {
    /// The run's settings.
    pub config: CharLmTaskConfig,
    /// The tokenizer fitted on the training text.
    pub tokenizer: Tokenizer,
    /// The model.
    pub model: LanguageModel,
}

/// Reads the char-lm run in `dir` (`config.toml`, `tokenizer.json`, `model.safetensors`)
/// onto `device`.
///
/// Errors name the file: missing, unreadable, not a char-lm run, or weights that do not
/// fit the settings.
pub fn load_run(dir: &Path, device: &Device) -> Result<CharLmRunFiles> {
    let config: CharLmTaskConfig =
        SavedRun::read(&dir.join(CONFIG_FILE))?.settings_of("char-lm")?;
    let tokenizer = Tokenizer::load(&dir.join(TOKENIZER_FILE))?;
    let model = load_weights(
        config.init_model(tokenizer.vocab_size(), device)?,
        &dir.join(MODEL_FILE),
    )?;
    Ok(CharLmRunFiles {
        config,
        tokenizer,
        model,
    })
}

/// What a run produced.
#[derive(Debug)]
pub struct CharLmRun {
    /// The trained model (without autodiff).
    pub model: LanguageModel,
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
pub fn evaluate(
    model: &LanguageModel,
    ds: &LanguageModelDataset,
    batch: usize,
    device: &Device,
) -> f64 {
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let all: Vec<usize> = (0..ds.starts().len()).collect();
    let (mut sum, mut count) = (0.0, 0usize);
    for chunk in all.chunks(batch.max(1)) {
        let (x, y) = batch_tensors(ds, chunk, device);
        let logits = model.logits(x);
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
    pub fn load(config: &CharLmTaskConfig) -> Result<Self> {
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
    models: &[&LanguageModel],
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
            let logits = model.logits(x.clone());
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
    config: &'a CharLmTaskConfig,
    train: LanguageModelDataset,
    valid: LanguageModelDataset,
    device: Device,
    loss: CrossEntropyLoss,
}

impl FitTask for CharLmTask<'_> {
    type Model = LanguageModel;
    type Batch = Vec<usize>;

    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<Vec<usize>>> {
        let all = (0..self.train.starts().len()).collect();
        Ok(shuffled_batches(all, self.config.batch_size, rng))
    }

    fn step(
        &self,
        model: &LanguageModel,
        batch: &Vec<usize>,
        _ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let (x, y) = batch_tensors(&self.train, batch, &self.device);
        let logits = model.logits(x);
        let [b, s, v] = logits.dims();
        let loss = self.loss.forward(logits.reshape([b * s, v]), y);
        Ok(StepOutput::new(loss, (b * s) as f64))
    }

    fn validate(&self, model: &LanguageModel) -> Result<BTreeMap<String, f64>> {
        let device = model.devices().first().cloned().unwrap_or_default();
        let loss = evaluate(model, &self.valid, self.config.batch_size, &device);
        Ok(BTreeMap::from([("loss".to_owned(), loss)]))
    }
}

/// Trains a model per `config` on `device` (an autodiff device) through [`fit`]; with
/// `run_dir`, checkpoints every epoch there, and with `resume` continues from its latest
/// complete checkpoint. `observer` sees the loop's events.
pub fn train_char_lm(
    config: &CharLmTaskConfig,
    device: &Device,
    run_dir: Option<&RunDir>,
    resume: bool,
    observer: impl FnMut(FitEvent<'_>),
) -> Result<CharLmRun> {
    if config.batch_size == 0 || config.seq_len == 0 {
        return Err(TrainError::invalid(
            "char-lm",
            "batch size and sequence length must be at least 1",
        ));
    }
    let CharLmData {
        tokenizer,
        train: train_ds,
        valid: valid_ds,
        test: test_ds,
    } = CharLmData::load(config)?;
    device.seed(config.fit.seed);
    let model = config.init_model(tokenizer.vocab_size(), device)?;
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

/// Generates `length` characters after `prime` (encoded with `tokenizer`; an empty prime
/// starts from a newline), never choosing a special token (`<pad>`, `<unk>`, `<bos>`,
/// `<eos>`).
///
/// Errors: a prime with characters the tokenizer cannot encode, a temperature that is not
/// above 0, a beam width of 0.
pub fn generate(
    model: &LanguageModel,
    tokenizer: &Tokenizer,
    prime: &str,
    length: usize,
    sampling: Sampling,
    seed: u64,
    device: &Device,
) -> Result<String> {
    let prime = if prime.is_empty() { "\n" } else { prime };
    let ids = tokenizer.encode(prime)?;
    let v = &tokenizer.vocab;
    let banned: Vec<u32> = [v.pad_id(), v.bos_id(), v.eos_id(), v.unk_id()]
        .into_iter()
        .flatten()
        .collect();
    let out =
        recurrent_zoo::decode::generate(model, &ids, length, sampling, &banned, seed, device)?;
    Ok(tokenizer.decode(&out))
}
