//! The seed's comparison of SimpleRNN, LSTM and GRU (and the LayerNorm LSTM and a
//! Transformer), measured: parameters and compute per step worked out from the sizes and
//! checked against the built weights, training throughput, the adding problem and the
//! copy-memory task after a fixed number of steps, and a character language model at an
//! equal time budget. [`run`] measures, [`write_report`] writes `compare.md` and its plots.

mod tasks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use recurrent_zoo::models::{Backbone, BackboneConfig, BackboneKind, CharLmConfig};
use recurrent_zoo::transformer::TransformerLmConfig;
use serde::Serialize;

pub use tasks::{COPY_CLASSES, COPY_SYMBOLS, Examples, Synthetic, Targets};

use crate::char_lm::{CharLmTaskConfig, train_char_lm};
use crate::error::{Result, TrainError};
use crate::fit::{FitConfig, FitTask, Schedule, StepContext, StepOutput, StopReason, fit};
use crate::optimizer::Clipping;
use crate::plot::{self, Series};

/// Below this test MSE the adding problem counts as solved.
pub const SOLVED_MSE: f64 = 0.01;

/// Every setting of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareConfig {
    /// The networks compared.
    pub models: Vec<BackboneKind>,
    /// Hidden (model) size of every network on the synthetic tasks and in the throughput.
    pub d_model: usize,
    /// Batch size of the synthetic tasks and the throughput.
    pub batch_size: usize,
    /// Adding-problem lengths.
    pub adding_lengths: Vec<usize>,
    /// Copy-task gaps.
    pub copy_gaps: Vec<usize>,
    /// Training steps per synthetic run (the fixed budget).
    pub steps: usize,
    /// Steps between evaluations on the test set (the loss curves' points).
    pub eval_every: usize,
    /// Test sequences per synthetic task.
    pub test_size: usize,
    /// Adam's learning rate on the synthetic tasks.
    pub lr: f64,
    /// Minutes after which a synthetic run stops even before its steps.
    pub max_run_minutes: f64,
    /// Sequence length of the throughput measurement.
    pub throughput_len: usize,
    /// Timed forward+backward passes per model (after two untimed ones).
    pub throughput_reps: usize,
    /// The char-LM text (`None`: no char-LM column).
    pub char_lm_data: Option<PathBuf>,
    /// Minutes of char-LM training per network (the equal time budget).
    pub char_lm_minutes: f64,
    /// Hidden (model) size of the char-LMs (two layers each).
    pub char_lm_d_model: usize,
    /// Seed of weights and data.
    pub seed: u64,
}

impl CompareConfig {
    /// The full comparison within about `budget_minutes`: every network at width 64,
    /// batches of 32, adding lengths 50, 100, 200, 400 and copy gaps 50, 100, 200 with 1000
    /// Adam steps (3e-3, gradient norm clipped at 1) each, and 40 % of the budget for the
    /// char-LMs (two layers of 128, on `char_lm_data`).
    pub fn full(budget_minutes: f64, char_lm_data: Option<PathBuf>) -> Self {
        let models = BackboneKind::ALL.to_vec();
        let runs = (models.len() * 7) as f64;
        let char_lm_share = if char_lm_data.is_some() { 0.4 } else { 0.0 };
        Self {
            d_model: 64,
            batch_size: 32,
            adding_lengths: vec![50, 100, 200, 400],
            copy_gaps: vec![50, 100, 200],
            steps: 1000,
            eval_every: 100,
            test_size: 500,
            lr: 3e-3,
            max_run_minutes: (budget_minutes * (1.0 - char_lm_share) / runs).max(0.05),
            throughput_len: 100,
            throughput_reps: 10,
            char_lm_minutes: (budget_minutes * char_lm_share / models.len() as f64).max(0.05),
            char_lm_data,
            char_lm_d_model: 128,
            seed: 7,
            models,
        }
    }

    /// A quick setting (a few minutes): the same tasks with 150 steps, smaller test sets,
    /// and 15 seconds of char-LM per network.
    pub fn quick(char_lm_data: Option<PathBuf>) -> Self {
        Self {
            steps: 150,
            eval_every: 50,
            test_size: 128,
            throughput_reps: 4,
            max_run_minutes: 0.5,
            char_lm_minutes: 0.25,
            ..Self::full(4.0, char_lm_data)
        }
    }

    fn backbone(&self, kind: BackboneKind, d_input: usize, max_len: usize) -> BackboneConfig {
        BackboneConfig::new(kind, d_input, self.d_model).with_max_len(max_len)
    }
}

/// A backbone and a linear read-out: the last step's value (adding) or every step's class
/// logits (copy).
#[derive(Module, Debug)]
pub struct Probe {
    /// The network compared.
    pub backbone: Backbone,
    /// The read-out.
    pub head: Linear,
}

impl Probe {
    /// The backbone of `config` with a head of `d_output` outputs.
    pub fn new(config: &BackboneConfig, d_output: usize, device: &Device) -> Result<Self> {
        Ok(Self {
            backbone: config.try_init(device)?,
            head: LinearConfig::new(config.d_model, d_output).init(device),
        })
    }

    /// The loss on `examples` (a one-element tensor): MSE of the last step's value
    /// (adding), or the mean cross-entropy over every step (copy).
    pub fn loss(&self, examples: &Examples, device: &Device) -> Result<Tensor<1>> {
        let h = self.backbone.try_forward(examples.inputs(device))?;
        let [n, steps, d] = h.dims();
        match examples.task {
            Synthetic::Adding { .. } => {
                let last = h.narrow(1, steps - 1, 1).reshape([n, d]);
                let y = examples.values(device).expect("adding targets");
                Ok((self.head.forward(last) - y).powf_scalar(2.0).mean())
            }
            Synthetic::Copy { .. } => {
                let logits = self.head.forward(h).reshape([n * steps, COPY_CLASSES]);
                let y = examples.classes(device).expect("copy targets");
                Ok(CrossEntropyLossConfig::new()
                    .init(device)
                    .forward(logits, y))
            }
        }
    }
}

/// Mean loss of `model` over `examples` in batches of `batch`.
fn evaluate(model: &Probe, examples: &Examples, batch: usize, device: &Device) -> Result<f64> {
    let (mut sum, mut count) = (0.0, 0usize);
    let mut start = 0;
    while start < examples.n {
        let len = batch.min(examples.n - start);
        let part = examples.slice(start, len);
        let loss = model.loss(&part, device)?;
        sum += f64::from(loss.into_scalar::<f32>()) * len as f64;
        count += len;
        start += len;
    }
    Ok(sum / count.max(1) as f64)
}

/// One synthetic run as a [`FitTask`]: an "epoch" is `eval_every` fresh batches, validated
/// on the fixed test set.
struct SyntheticTask {
    task: Synthetic,
    batch_size: usize,
    eval_every: usize,
    seed: u64,
    test: Examples,
    device: Device,
    eval_device: Device,
}

impl FitTask for SyntheticTask {
    type Model = Probe;
    type Batch = Examples;

    fn train_batches(&self, epoch: usize, rng: &mut StdRng) -> Result<Vec<Examples>> {
        let base: u64 = rng.random();
        Ok((0..self.eval_every)
            .map(|k| {
                let seed = base ^ self.seed ^ ((epoch * 100_003 + k) as u64);
                self.task.sample(self.batch_size, seed)
            })
            .collect())
    }

    fn step(
        &self,
        model: &Probe,
        batch: &Examples,
        _ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let loss = model.loss(batch, &self.device)?;
        Ok(StepOutput::new(loss, batch.n as f64))
    }

    fn validate(&self, model: &Probe) -> Result<BTreeMap<String, f64>> {
        let loss = evaluate(
            model,
            &self.test,
            self.batch_size.max(64),
            &self.eval_device,
        )?;
        Ok(BTreeMap::from([("loss".to_owned(), loss)]))
    }
}

/// The outcome of one synthetic run.
#[derive(Debug, Clone, Serialize)]
pub struct SyntheticResult {
    /// Sequence length (adding) or gap (copy).
    pub length: usize,
    /// The final test loss: MSE (adding) or cross-entropy per step (copy).
    pub test_loss: f64,
    /// The trivial predictor's loss.
    pub chance: f64,
    /// Training steps run (below the budget when the time cap stopped it).
    pub steps: usize,
    /// Seconds of training.
    pub seconds: f64,
    /// `(step, test loss)` after every evaluation.
    pub curve: Vec<(usize, f64)>,
}

/// The char-LM outcome of one network.
#[derive(Debug, Clone, Serialize)]
pub struct CharLmResult {
    /// Validation loss in nats per character.
    pub val_loss: f64,
    /// Epochs (complete or cut short) run in the budget.
    pub epochs: usize,
    /// Parameters of the char-LM.
    pub parameters: usize,
    /// `(epoch, validation loss)`.
    pub curve: Vec<(usize, f64)>,
}

/// Everything measured for one network.
#[derive(Debug, Clone, Serialize)]
pub struct ModelResult {
    /// The network.
    pub kind: String,
    /// Its name in the table.
    pub label: String,
    /// Parameters worked out from the sizes (input width = `d_model`).
    pub parameters: usize,
    /// Parameters counted in the built network.
    pub parameters_counted: usize,
    /// Forward FLOPs per step at the throughput's length.
    pub flops_per_step: f64,
    /// Training sequences per second (forward+backward) at the throughput's shape.
    pub sequences_per_second: f64,
    /// The adding problem at each length.
    pub adding: Vec<SyntheticResult>,
    /// The copy task at each gap.
    pub copy: Vec<SyntheticResult>,
    /// The char-LM at the equal time budget.
    pub char_lm: Option<CharLmResult>,
}

/// What [`run`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// The settings.
    pub config: CompareConfig,
    /// One entry per network, in the order of `config.models`.
    pub models: Vec<ModelResult>,
}

/// Progress of a comparison, for the command line.
pub type Note<'a> = &'a mut dyn FnMut(&str);

fn synthetic_run(
    config: &CompareConfig,
    kind: BackboneKind,
    task: Synthetic,
    device: &Device,
) -> Result<SyntheticResult> {
    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let backbone = config.backbone(kind, task.d_input(), task.steps());
    let model = Probe::new(&backbone, task.d_output(), &autodiff)?;
    let fit_task = SyntheticTask {
        task,
        batch_size: config.batch_size,
        eval_every: config.eval_every.max(1),
        seed: config.seed,
        test: task.sample(config.test_size, config.seed ^ 0x7E57),
        device: autodiff.clone(),
        eval_device: device.clone(),
    };
    let mut fit_config = FitConfig::new(config.steps.div_ceil(config.eval_every.max(1)), config.lr);
    fit_config.clipping = Some(Clipping::Norm(1.0));
    fit_config.max_minutes = Some(config.max_run_minutes);
    fit_config.seed = config.seed;
    let mut steps_done = 0usize;
    let fitted = fit(&fit_config, &fit_task, model, None, false, |event| {
        if let crate::fit::FitEvent::Step { .. } = event {
            steps_done += 1;
        }
    })?;
    let curve: Vec<(usize, f64)> = fitted
        .history
        .records()
        .iter()
        .map(|r| {
            (
                (r.epoch * config.eval_every).min(config.steps),
                r.valid.get("loss").copied().unwrap_or(f64::NAN),
            )
        })
        .collect();
    let steps = match fitted.stop {
        StopReason::TimeLimit { .. } if steps_done > 0 => steps_done,
        _ => config.steps,
    };
    let test_loss = curve.last().map_or(f64::NAN, |c| c.1);
    Ok(SyntheticResult {
        length: match task {
            Synthetic::Adding { length } => length,
            Synthetic::Copy { gap } => gap,
        },
        test_loss,
        chance: task.chance(),
        steps,
        seconds: fitted.train_seconds,
        curve,
    })
}

/// Training sequences per second of `kind` (forward and backward of a mean-square loss) on
/// batches of `config.batch_size` sequences of `config.throughput_len` steps, and the
/// parameters counted in the network.
fn throughput(config: &CompareConfig, kind: BackboneKind, device: &Device) -> Result<(f64, usize)> {
    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let len = config.throughput_len;
    let backbone = config
        .backbone(kind, config.d_model, len)
        .try_init(&autodiff)?;
    let counted = backbone.num_params();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let shape = [config.batch_size, len, config.d_model];
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    let x = Tensor::<3>::from_data(TensorData::new(values, shape), &autodiff);
    let pass = || -> Result<()> {
        let out = backbone.try_forward(x.clone())?;
        let grads = out.powf_scalar(2.0).mean().backward();
        drop(grads);
        Ok(())
    };
    pass()?;
    pass()?;
    let reps = config.throughput_reps.max(1);
    let start = Instant::now();
    for _ in 0..reps {
        pass()?;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(((config.batch_size * reps) as f64 / seconds, counted))
}

fn char_lm_run(
    config: &CompareConfig,
    kind: BackboneKind,
    data: &Path,
    device: &Device,
) -> Result<CharLmResult> {
    let mut task = CharLmTaskConfig::new(data.to_path_buf());
    let d = config.char_lm_d_model;
    task.fit.epochs = 1000;
    task.fit.max_minutes = Some(config.char_lm_minutes);
    task.fit.seed = config.seed;
    task.fit.schedule = Schedule::Constant;
    task.fit.clipping = Some(Clipping::Norm(5.0));
    match kind {
        BackboneKind::Recurrent(cell) => {
            task.model = CharLmConfig::new(0)
                .with_kind(cell)
                .with_d_hidden(d)
                .with_n_layers(2)
                .with_dropout(0.1);
            task.fit.lr = 3e-3;
        }
        BackboneKind::Transformer => {
            task.transformer = Some(
                TransformerLmConfig::new(0)
                    .with_d_model(d)
                    .with_d_ff(2 * d)
                    .with_n_layers(2)
                    .with_dropout(0.1)
                    .with_max_len(task.seq_len),
            );
            task.fit.lr = 1e-3;
        }
    }
    let autodiff = device.clone().autodiff();
    let run = train_char_lm(&task, &autodiff, None, false, |_| {})?;
    Ok(CharLmResult {
        val_loss: run.val_loss,
        epochs: run.history.len(),
        parameters: run.model.num_params(),
        curve: run
            .history
            .records()
            .iter()
            .map(|r| (r.epoch, r.valid.get("loss").copied().unwrap_or(f64::NAN)))
            .collect(),
    })
}

/// Measures every network of `config` on `device` (a plain device; training runs on its
/// autodiff form). `note` hears what is being measured.
///
/// Errors: a network that cannot be built, a char-LM text that cannot be read, or a
/// training error (a non-finite loss names the run).
pub fn run(config: &CompareConfig, device: &Device, note: Note<'_>) -> Result<CompareReport> {
    if config.models.is_empty() {
        return Err(TrainError::invalid("compare", "no model to compare"));
    }
    let mut models = Vec::new();
    for &kind in &config.models {
        let label = kind.label();
        note(&format!("{label}: throughput"));
        let (sequences_per_second, parameters_counted) = throughput(config, kind, device)?;
        let sizes = config.backbone(kind, config.d_model, config.throughput_len);
        let mut adding = Vec::new();
        for &length in &config.adding_lengths {
            note(&format!("{label}: adding problem, T = {length}"));
            adding.push(synthetic_run(
                config,
                kind,
                Synthetic::Adding { length },
                device,
            )?);
        }
        let mut copy = Vec::new();
        for &gap in &config.copy_gaps {
            note(&format!("{label}: copy memory, T = {gap}"));
            copy.push(synthetic_run(
                config,
                kind,
                Synthetic::Copy { gap },
                device,
            )?);
        }
        let char_lm = match &config.char_lm_data {
            Some(data) => {
                note(&format!(
                    "{label}: char-LM for {} minutes",
                    config.char_lm_minutes
                ));
                Some(char_lm_run(config, kind, data, device)?)
            }
            None => None,
        };
        models.push(ModelResult {
            kind: kind.to_string(),
            label: label.to_owned(),
            parameters: sizes.parameters(),
            parameters_counted,
            flops_per_step: sizes.flops_per_step(config.throughput_len),
            sequences_per_second,
            adding,
            copy,
            char_lm,
        });
    }
    Ok(CompareReport {
        config: config.clone(),
        models,
    })
}

fn fmt_count(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2} M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// Rank words of `values` (higher is "more"): each entry's place among three buckets.
fn ranking(report: &CompareReport, value: impl Fn(&ModelResult) -> f64) -> String {
    let mut order: Vec<&ModelResult> = report.models.iter().collect();
    order.sort_by(|a, b| value(a).total_cmp(&value(b)));
    order
        .iter()
        .map(|m| m.label.as_str())
        .collect::<Vec<_>>()
        .join(" < ")
}

/// What the seed says and what was measured, for SimpleRNN, LSTM and GRU.
fn seed_claims(report: &CompareReport) -> Vec<String> {
    let find = |label: &str| report.models.iter().find(|m| m.label == label);
    let (Some(rnn), Some(lstm), Some(gru)) = (find("SimpleRNN"), find("LSTM"), find("GRU")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let verdict = |ok: bool| if ok { "agrees" } else { "does not agree" };
    let params_ok = rnn.parameters < gru.parameters && gru.parameters < lstm.parameters;
    out.push(format!(
        "Parameters, seed \"SimpleRNN low, LSTM high, GRU medium\": measured SimpleRNN {}, GRU {}, LSTM {} (the measurement {}).",
        fmt_count(rnn.parameters as f64),
        fmt_count(gru.parameters as f64),
        fmt_count(lstm.parameters as f64),
        verdict(params_ok)
    ));
    let speed_ok = rnn.sequences_per_second > gru.sequences_per_second
        && gru.sequences_per_second > lstm.sequences_per_second;
    out.push(format!(
        "Training speed, seed \"SimpleRNN fast, LSTM slow, GRU medium\": measured {:.0}, {:.0} and {:.0} sequences/s (the measurement {}).",
        rnn.sequences_per_second,
        gru.sequences_per_second,
        lstm.sequences_per_second,
        verdict(speed_ok)
    ));
    // Long range: adding lengths solved, then copy loss relative to chance (lower is better).
    let memory = |m: &ModelResult| {
        let solved = m.adding.iter().filter(|r| r.test_loss < SOLVED_MSE).count() as f64;
        let copy: f64 =
            m.copy.iter().map(|r| r.test_loss / r.chance).sum::<f64>() / m.copy.len().max(1) as f64;
        solved - copy
    };
    let memory_ok = memory(rnn) < memory(gru) && memory(gru) < memory(lstm);
    out.push(format!(
        "Long-range dependency, seed \"SimpleRNN weak, LSTM strong, GRU medium\": adding lengths solved {} / {} / {} and mean copy loss {:.2} / {:.2} / {:.2} of chance for SimpleRNN / GRU / LSTM (the measurement {}).",
        rnn.adding.iter().filter(|r| r.test_loss < SOLVED_MSE).count(),
        gru.adding.iter().filter(|r| r.test_loss < SOLVED_MSE).count(),
        lstm.adding.iter().filter(|r| r.test_loss < SOLVED_MSE).count(),
        rnn.copy.iter().map(|r| r.test_loss / r.chance).sum::<f64>() / rnn.copy.len().max(1) as f64,
        gru.copy.iter().map(|r| r.test_loss / r.chance).sum::<f64>() / gru.copy.len().max(1) as f64,
        lstm.copy.iter().map(|r| r.test_loss / r.chance).sum::<f64>() / lstm.copy.len().max(1) as f64,
        verdict(memory_ok)
    ));
    out
}

/// The Markdown of `report`: the table, the seed's claims against the measurements, and
/// the context (`command`, `machine`, `backend`).
pub fn markdown(report: &CompareReport, command: &str, machine: &str, backend: &str) -> String {
    let c = &report.config;
    let mut md = String::new();
    md.push_str("# Comparing SimpleRNN, LSTM, GRU, LayerNorm-LSTM and a Transformer\n\n");
    md.push_str("Generated by `cargo xtask compare`; do not edit by hand. One run on one machine: the ratios between rows, not the absolute figures, are what carries over.\n\n");
    md.push_str(&format!(
        "- command: `{command}`\n- machine: {machine}\n- backend: {backend}\n"
    ));
    md.push_str(&format!(
        "- networks: one layer of width {d} each (the Transformer: one pre-norm layer of {d}, 4 heads, feed-forward {ff}, sinusoidal positions, causal attention), a linear read-out; Adam {lr}, gradient norm clipped at 1, batches of {b}, {steps} steps per run (a run also stops after {cap:.2} minutes)\n",
        d = c.d_model,
        ff = 2 * c.d_model,
        lr = c.lr,
        b = c.batch_size,
        steps = c.steps,
        cap = c.max_run_minutes,
    ));
    md.push_str(&format!(
        "- parameters and FLOPs: one layer with input width {d}; FLOPs per step of a {t}-step sequence, forward, a multiply-add counted as 2 and each elementwise operation as 1 (the Transformer's attention grows with the length); throughput: forward+backward of batches of {b} x {t} steps\n",
        d = c.d_model,
        t = c.throughput_len,
        b = c.batch_size,
    ));
    md.push_str(&format!(
        "- adding problem: test MSE on {n} fresh sequences after the run (predicting the mean gives 0.167; solved below {SOLVED_MSE}); copy memory: test cross-entropy per step over 10 symbols after T blanks, as a fraction of chance (10 ln 8 / (T + 20)), below 1 means something was recalled\n",
        n = c.test_size
    ));
    if c.char_lm_data.is_some() {
        md.push_str(&format!(
            "- char-LM: two layers of {d} each (Transformer: two layers, feed-forward {ff}, context 100), embedding 32 (the recurrent ones), windows of 100, batch 64, Adam 3e-3 (recurrent) or 1e-3 (Transformer), {min} minutes of training each; validation nats per character on {data}\n",
            d = c.char_lm_d_model,
            ff = 2 * c.char_lm_d_model,
            min = c.char_lm_minutes,
            data = c.char_lm_data.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        ));
    }
    md.push('\n');
    let mut header = String::from("| model | parameters | counted | FLOPs / step | train seq/s |");
    let mut rule = String::from("|---|---|---|---|---|");
    for l in &c.adding_lengths {
        header.push_str(&format!(" adding T={l} MSE |"));
        rule.push_str("---|");
    }
    for g in &c.copy_gaps {
        header.push_str(&format!(" copy T={g} / chance |"));
        rule.push_str("---|");
    }
    if c.char_lm_data.is_some() {
        header.push_str(" char-LM nats/char (epochs) |");
        rule.push_str("---|");
    }
    md.push_str(&header);
    md.push('\n');
    md.push_str(&rule);
    md.push('\n');
    for m in &report.models {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} |",
            m.label,
            fmt_count(m.parameters as f64),
            if m.parameters == m.parameters_counted {
                "same".to_owned()
            } else {
                fmt_count(m.parameters_counted as f64)
            },
            fmt_count(m.flops_per_step),
            m.sequences_per_second
        ));
        for r in &m.adding {
            let cut = if r.steps < c.steps {
                format!(" ({} steps)", r.steps)
            } else {
                String::new()
            };
            let solved = if r.test_loss < SOLVED_MSE {
                " solved"
            } else {
                ""
            };
            md.push_str(&format!(" {:.4}{solved}{cut} |", r.test_loss));
        }
        for r in &m.copy {
            let cut = if r.steps < c.steps {
                format!(" ({} steps)", r.steps)
            } else {
                String::new()
            };
            md.push_str(&format!(" {:.2}{cut} |", r.test_loss / r.chance));
        }
        if let Some(lm) = &m.char_lm {
            md.push_str(&format!(" {:.3} ({}) |", lm.val_loss, lm.epochs));
        } else if c.char_lm_data.is_some() {
            md.push_str(" - |");
        }
        md.push('\n');
    }
    md.push_str("\n## The seed's table against the measurements\n\n");
    for claim in seed_claims(report) {
        md.push_str(&format!("- {claim}\n"));
    }
    md.push_str(&format!(
        "\nIn increasing order: parameters {}; throughput {}; copy loss (lower is better) {}.\n",
        ranking(report, |m| m.parameters as f64),
        ranking(report, |m| m.sequences_per_second),
        ranking(report, |m| {
            m.copy.iter().map(|r| r.test_loss / r.chance).sum::<f64>()
        }),
    ));
    md.push_str("\n![adding problem](compare_adding.png)\n\n![copy memory](compare_copy.png)\n\n![adding-problem curves](compare_curves.png)\n");
    if c.char_lm_data.is_some() {
        md.push_str("\n![char-LM curves](compare_char_lm.png)\n");
    }
    md
}

/// Writes `compare.md`, `compare.json` and the plots (`compare_adding.png`,
/// `compare_copy.png`, `compare_curves.png`, `compare_char_lm.png`) into `dir`.
///
/// Errors: I/O and drawing errors naming the file.
pub fn write_report(
    report: &CompareReport,
    dir: &Path,
    command: &str,
    machine: &str,
    backend: &str,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| TrainError::Io { path, source })
    };
    write("compare.md", markdown(report, command, machine, backend))?;
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| TrainError::invalid("compare.json", e.to_string()))?;
    write("compare.json", json)?;
    let per_model = |f: &dyn Fn(&ModelResult) -> Series| -> Vec<Series> {
        report.models.iter().map(f).collect()
    };
    plot::lines(
        &dir.join("compare_adding.png"),
        "Adding problem: test MSE after the run (log10)",
        "sequence length T",
        "log10 test MSE",
        &per_model(&|m| {
            Series::new(
                m.label.clone(),
                m.adding.iter().map(|r| r.length as f64).collect(),
                m.adding.iter().map(|r| r.test_loss.log10()).collect(),
            )
        }),
    )?;
    plot::lines(
        &dir.join("compare_copy.png"),
        "Copy memory: test cross-entropy / chance",
        "blanks T",
        "loss / chance",
        &per_model(&|m| {
            Series::new(
                m.label.clone(),
                m.copy.iter().map(|r| r.length as f64).collect(),
                m.copy.iter().map(|r| r.test_loss / r.chance).collect(),
            )
        }),
    )?;
    let middle = report.config.adding_lengths.get(1).copied();
    plot::lines(
        &dir.join("compare_curves.png"),
        &format!(
            "Adding problem, T = {}: test MSE during training (log10)",
            middle.unwrap_or_default()
        ),
        "training step",
        "log10 test MSE",
        &per_model(&|m| {
            let run = m
                .adding
                .iter()
                .find(|r| Some(r.length) == middle)
                .or(m.adding.first());
            let curve = run.map(|r| r.curve.clone()).unwrap_or_default();
            Series::new(
                m.label.clone(),
                curve.iter().map(|p| p.0 as f64).collect(),
                curve.iter().map(|p| p.1.log10()).collect(),
            )
        }),
    )?;
    if report.models.iter().any(|m| m.char_lm.is_some()) {
        plot::lines(
            &dir.join("compare_char_lm.png"),
            "Char-LM at an equal time budget: validation loss",
            "epoch",
            "nats per character",
            &per_model(&|m| {
                let curve = m
                    .char_lm
                    .as_ref()
                    .map(|c| c.curve.clone())
                    .unwrap_or_default();
                Series::new(
                    m.label.clone(),
                    curve.iter().map(|p| p.0 as f64).collect(),
                    curve.iter().map(|p| p.1).collect(),
                )
            }),
        )?;
    }
    Ok(())
}

/// Which kinds `names` (comma-separated: rnn, lstm, gru, ln-lstm, transformer) are.
///
/// Errors: an unknown name, naming it.
pub fn parse_models(names: &str) -> Result<Vec<BackboneKind>> {
    names
        .split(',')
        .map(|n| {
            n.trim()
                .parse::<BackboneKind>()
                .map_err(|e| TrainError::invalid("--models", e.to_string()))
        })
        .collect()
}
