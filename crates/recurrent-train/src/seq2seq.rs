//! The sequence-to-sequence task: character-level translation of `source<TAB>target` pairs
//! with the zoo's [`Seq2Seq`](recurrent_zoo::models::Seq2Seq) (a recurrent encoder, attention, a
//! recurrent decoder) or [`TransformerSeq2Seq`](recurrent_zoo::transformer::TransformerSeq2Seq), trained
//! with teacher forcing or scheduled sampling and scored by exact match and character
//! accuracy, decoded greedily and by beam search.
//!
//! - [`Seq2SeqTaskConfig`]: every setting of a run (data, network, decoding, loop).
//! - [`Seq2SeqData`]: generated date normalisation (human dates to ISO, disjoint dates per
//!   part) or a TSV file split 80/10/10 by line, with the character vocabularies of the
//!   training part.
//! - [`train_seq2seq`] through [`crate::fit::fit`]; [`evaluate`] and [`translate`] decode.
//!
//! Characters not seen in training are `<unk>` (the documented policy); a source or target
//! longer than the configured maximum is an error naming the part and example.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::RngExt;
use rand::rngs::StdRng;
use recurrent_data::pairs::{
    Pair, char_vocab, date_dataset, decode_chars, encode_chars, read_pairs, split_pairs,
};
use recurrent_data::{SplitFractions, Vocab, bucket_order};
use recurrent_zoo::models::{Seq2SeqConfig, Translator, sequence_cross_entropy};
use recurrent_zoo::search::{Limits, Search};
use recurrent_zoo::transformer::TransformerSeq2SeqConfig;
use serde::{Deserialize, Serialize};

use crate::early_stopping::Mode;
use crate::error::{Result, TrainError};
use crate::fit::{
    EarlyStoppingConfig, FitConfig, FitEvent, FitTask, Fitted, StepContext, StepOutput,
    TeacherForcing, fit,
};
use crate::optimizer::Clipping;
use crate::run_config::{CONFIG_FILE, SavedRun};
use crate::run_dir::RunDir;
use crate::weights::load_weights;

/// The weights file of a seq2seq run.
pub const MODEL_FILE: &str = "model.safetensors";
/// The source vocabulary file (one token per line).
pub const SRC_VOCAB_FILE: &str = "src_vocab.txt";
/// The target vocabulary file.
pub const TGT_VOCAB_FILE: &str = "tgt_vocab.txt";

/// Every setting of a seq2seq run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seq2SeqTaskConfig {
    /// A `source<TAB>target` file; `None` generates the date normalisation task.
    pub data: Option<PathBuf>,
    /// Validation pairs; without them, a part of `data` is split off.
    pub valid: Option<PathBuf>,
    /// Test pairs; without them, a part of `data` is split off.
    pub test: Option<PathBuf>,
    /// Train / validation / test fractions of `data` when files are missing (by line,
    /// after a shuffle seeded with `fit.seed`).
    pub split: SplitFractions,
    /// Train, validation and test sizes of the generated date task.
    pub date_examples: [usize; 3],
    /// The most characters of a source.
    pub max_source: usize,
    /// The most characters of a target (decoding stops one step after).
    pub max_target: usize,
    /// The network (vocabulary sizes come from the data).
    pub model: Seq2SeqConfig,
    /// A Transformer encoder-decoder instead of the recurrent network (`--model
    /// transformer`; vocabulary sizes come from the data, and `max_len` must hold the
    /// longest source and target). `None` trains `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformer: Option<TransformerSeq2SeqConfig>,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Width of the beam search scored at the end (1 = greedy only).
    pub beam_width: usize,
    /// Length normalisation of the beam search (0: none, 1: per character).
    pub length_penalty: f64,
    /// The training loop.
    pub fit: FitConfig,
}

impl Seq2SeqTaskConfig {
    /// Defaults: generated dates (20 000 / 1 000 / 1 000); sources up to 48 characters,
    /// targets up to 32; a bidirectional LSTM encoder of 64 per direction with Bahdanau
    /// attention and embeddings of 32; batches of 64; Adam 3e-3 with the gradient norm
    /// clipped at 5; scheduled sampling from teacher forcing 1.0 to 0.7 over 10 epochs;
    /// 12 epochs with early stopping on validation exact match (patience 3); beam width 4
    /// with length penalty 1.
    pub fn new(data: Option<PathBuf>) -> Self {
        let mut fit = FitConfig::new(12, 3e-3);
        fit.clipping = Some(Clipping::Norm(5.0));
        fit.teacher_forcing = TeacherForcing {
            start: 1.0,
            end: 0.7,
            decay_epochs: 10,
        };
        fit.early_stopping = Some(EarlyStoppingConfig {
            monitor: "exact_match".into(),
            patience: 3,
            min_delta: 0.0,
            mode: Mode::Max,
        });
        Self {
            data,
            valid: None,
            test: None,
            split: SplitFractions::default(),
            date_examples: [20_000, 1_000, 1_000],
            max_source: 48,
            max_target: 32,
            model: Seq2SeqConfig::new(0, 0).with_d_embed(32).with_d_hidden(64),
            transformer: None,
            batch_size: 64,
            beam_width: 4,
            length_penalty: 1.0,
            fit,
        }
    }

    /// The network for `data`'s vocabularies.
    pub fn model_config(&self, data: &Seq2SeqData) -> Seq2SeqConfig {
        Seq2SeqConfig {
            src_vocab: data.src_vocab.len(),
            tgt_vocab: data.tgt_vocab.len(),
            ..self.model.clone()
        }
    }

    /// The model of these settings for `data`'s vocabularies on `device`: the Transformer
    /// when set, else the recurrent network.
    ///
    /// Errors: invalid settings, or a Transformer whose positions cannot hold the longest
    /// source or target.
    pub fn init_model(&self, data: &Seq2SeqData, device: &Device) -> Result<Translator> {
        self.init_for(data.src_vocab.len(), data.tgt_vocab.len(), device)
    }

    /// [`Seq2SeqTaskConfig::init_model`] from the vocabulary sizes (a run read back).
    pub fn init_for(
        &self,
        src_vocab: usize,
        tgt_vocab: usize,
        device: &Device,
    ) -> Result<Translator> {
        match &self.transformer {
            Some(t) => {
                let longest = self.max_source.max(self.max_target + 1);
                if longest > t.max_len {
                    return Err(TrainError::invalid(
                        "seq2seq",
                        format!(
                            "sources of {} and targets of {} characters do not fit the \
                             Transformer's {} positions (max_len)",
                            self.max_source, self.max_target, t.max_len
                        ),
                    ));
                }
                let config = TransformerSeq2SeqConfig {
                    src_vocab,
                    tgt_vocab,
                    ..t.clone()
                };
                Ok(Translator::Transformer(config.try_init(device)?))
            }
            None => {
                let config = Seq2SeqConfig {
                    src_vocab,
                    tgt_vocab,
                    ..self.model.clone()
                };
                Ok(Translator::Recurrent(config.try_init(device)?))
            }
        }
    }

    /// A one-line description of the network.
    pub fn describe_model(&self) -> String {
        match &self.transformer {
            Some(t) => format!(
                "Transformer {}+{} layers of {} ({} heads, feed-forward {})",
                t.n_encoder_layers, t.n_decoder_layers, t.d_model, t.n_heads, t.d_ff
            ),
            None => {
                let m = &self.model;
                format!(
                    "{}{} encoder of {}, {} attention, embeddings of {}",
                    if m.bidirectional {
                        "bidirectional "
                    } else {
                        ""
                    },
                    m.kind.to_string().to_uppercase(),
                    m.d_hidden,
                    m.attention,
                    m.d_embed
                )
            }
        }
    }
}

/// One encoded pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPair {
    /// Source character ids.
    pub source: Vec<u32>,
    /// Target character ids (without start and end tokens).
    pub target: Vec<u32>,
}

/// The three parts and their encodings.
#[derive(Debug, Clone)]
pub struct Seq2SeqData {
    /// Where the pairs came from.
    pub source: String,
    /// Training pairs.
    pub train: Vec<Pair>,
    /// Validation pairs.
    pub valid: Vec<Pair>,
    /// Test pairs.
    pub test: Vec<Pair>,
    /// Characters of the training sources.
    pub src_vocab: Vocab,
    /// Characters of the training targets.
    pub tgt_vocab: Vocab,
    /// `train` encoded.
    pub train_encoded: Vec<EncodedPair>,
    /// `valid` encoded.
    pub valid_encoded: Vec<EncodedPair>,
}

impl Seq2SeqData {
    /// Reads or generates the pairs of `config` (shuffle seed `config.fit.seed`), builds the
    /// vocabularies of the training part and encodes the training and validation parts.
    ///
    /// Errors: unreadable or malformed files (naming file and line), an empty part, or an
    /// example longer than the configured maximum (naming the part and example).
    pub fn load(config: &Seq2SeqTaskConfig) -> Result<Self> {
        let seed = config.fit.seed;
        let (source, [train, valid, test]) = match &config.data {
            None => (
                format!(
                    "generated date normalisation (seed {seed}, {}/{}/{} examples)",
                    config.date_examples[0], config.date_examples[1], config.date_examples[2]
                ),
                date_dataset(config.date_examples, seed)?,
            ),
            Some(path) => {
                let all = read_pairs(path)?;
                let [train, mut valid, mut test] = split_pairs(all, config.split, seed)?;
                if let Some(file) = &config.valid {
                    valid = read_pairs(file)?;
                }
                if let Some(file) = &config.test {
                    test = read_pairs(file)?;
                }
                (path.display().to_string(), [train, valid, test])
            }
        };
        for (name, part) in [("train", &train), ("valid", &valid), ("test", &test)] {
            if part.is_empty() {
                return Err(TrainError::invalid(
                    "seq2seq data",
                    format!("the {name} part has no pairs"),
                ));
            }
            check_lengths(name, part, config)?;
        }
        let src_vocab = char_vocab(train.iter().map(|p| p.source.as_str()))?;
        let tgt_vocab = char_vocab(train.iter().map(|p| p.target.as_str()))?;
        let train_encoded = encode_pairs(&train, &src_vocab, &tgt_vocab)?;
        let valid_encoded = encode_pairs(&valid, &src_vocab, &tgt_vocab)?;
        Ok(Self {
            source,
            train,
            valid,
            test,
            src_vocab,
            tgt_vocab,
            train_encoded,
            valid_encoded,
        })
    }

    /// The decoding limits of the target vocabulary.
    pub fn limits(&self, max_target: usize) -> Result<Limits> {
        let (Some(bos), Some(eos)) = (self.tgt_vocab.bos_id(), self.tgt_vocab.eos_id()) else {
            return Err(TrainError::invalid(
                "target vocabulary",
                "no <bos> or <eos> token",
            ));
        };
        Ok(Limits {
            bos,
            eos,
            max_len: max_target + 1,
        })
    }
}

/// Errors for an example longer than the configured maximum.
fn check_lengths(part: &str, pairs: &[Pair], config: &Seq2SeqTaskConfig) -> Result<()> {
    for (i, pair) in pairs.iter().enumerate() {
        for (what, text, max) in [
            ("source", &pair.source, config.max_source),
            ("target", &pair.target, config.max_target),
        ] {
            let n = text.chars().count();
            if n > max {
                return Err(TrainError::invalid(
                    "seq2seq data",
                    format!(
                        "{part} example {} ({:?}): its {what} has {n} characters, more than \
                         the maximum of {max}",
                        i + 1,
                        pair.source
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Pairs encoded with the two vocabularies (`<unk>` for unseen characters).
pub fn encode_pairs(pairs: &[Pair], src: &Vocab, tgt: &Vocab) -> Result<Vec<EncodedPair>> {
    pairs
        .iter()
        .map(|p| {
            Ok(EncodedPair {
                source: encode_chars(src, &p.source)?,
                target: encode_chars(tgt, &p.target)?,
            })
        })
        .collect()
}

/// `rows` of ids padded with `pad` into `[rows, width]` on `device`.
fn padded(rows: &[Vec<u32>], pad: u32, device: &Device) -> Tensor<2, Int> {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut flat = Vec::with_capacity(rows.len() * width);
    for row in rows {
        flat.extend(row.iter().map(|&t| i64::from(t)));
        flat.extend(std::iter::repeat_n(i64::from(pad), width - row.len()));
    }
    Tensor::from_data(TensorData::new(flat, [rows.len(), width]), device)
}

/// One training batch.
#[derive(Debug, Clone)]
pub struct Seq2SeqBatch {
    /// Sources `[batch, S]`.
    pub source: Tensor<2, Int>,
    /// Source lengths.
    pub source_lengths: Vec<usize>,
    /// Decoder inputs: `<bos>` then the target, `[batch, T + 1]`.
    pub target_in: Tensor<2, Int>,
    /// Expected outputs: the target then `<eos>`, `[batch, T + 1]`.
    pub target_out: Tensor<2, Int>,
    /// Target lengths plus one (the end token).
    pub target_lengths: Vec<usize>,
    /// `target_out` on the host, for accuracy.
    pub gold: Vec<Vec<u32>>,
}

/// A batch of `pairs` on `device`.
pub fn make_batch(pairs: &[&EncodedPair], vocab: &Vocab, device: &Device) -> Result<Seq2SeqBatch> {
    let (Some(pad), Some(bos), Some(eos)) = (vocab.pad_id(), vocab.bos_id(), vocab.eos_id()) else {
        return Err(TrainError::invalid(
            "target vocabulary",
            "no <pad>, <bos> or <eos>",
        ));
    };
    let sources: Vec<Vec<u32>> = pairs.iter().map(|p| p.source.clone()).collect();
    let inputs: Vec<Vec<u32>> = pairs
        .iter()
        .map(|p| {
            std::iter::once(bos)
                .chain(p.target.iter().copied())
                .collect()
        })
        .collect();
    let outputs: Vec<Vec<u32>> = pairs
        .iter()
        .map(|p| {
            p.target
                .iter()
                .copied()
                .chain(std::iter::once(eos))
                .collect()
        })
        .collect();
    Ok(Seq2SeqBatch {
        source: padded(&sources, 0, device),
        source_lengths: sources.iter().map(Vec::len).collect(),
        target_in: padded(&inputs, pad, device),
        target_out: padded(&outputs, pad, device),
        target_lengths: outputs.iter().map(Vec::len).collect(),
        gold: outputs,
    })
}

/// Training a [`Translator`] on a [`Seq2SeqData`].
#[derive(Debug)]
pub struct Seq2SeqTask<'a> {
    data: &'a Seq2SeqData,
    batch_size: usize,
    max_target: usize,
    device: Device,
    eval_device: Device,
}

impl<'a> Seq2SeqTask<'a> {
    /// The task over `data` with batches of `batch_size` on `device` (an autodiff device).
    ///
    /// Errors: a zero batch size.
    pub fn new(
        data: &'a Seq2SeqData,
        batch_size: usize,
        max_target: usize,
        device: &Device,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(TrainError::invalid("batch size", "0 (must be at least 1)"));
        }
        Ok(Self {
            data,
            batch_size,
            max_target,
            device: device.clone(),
            eval_device: device.clone().inner(),
        })
    }
}

impl FitTask for Seq2SeqTask<'_> {
    type Model = Translator;
    type Batch = Seq2SeqBatch;

    /// Pairs of similar source length batched together, batches in a random order.
    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<Seq2SeqBatch>> {
        let encoded = &self.data.train_encoded;
        let lengths: Vec<usize> = encoded.iter().map(|p| p.source.len()).collect();
        let order = bucket_order(&lengths, self.batch_size, 50, rng.random())?;
        order
            .chunks(self.batch_size)
            .map(|chunk| {
                let pairs: Vec<&EncodedPair> = chunk.iter().map(|&i| &encoded[i]).collect();
                make_batch(&pairs, &self.data.tgt_vocab, &self.device)
            })
            .collect()
    }

    fn step(
        &self,
        model: &Translator,
        batch: &Seq2SeqBatch,
        ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let out = model.forward(
            batch.source.clone(),
            &batch.source_lengths,
            batch.target_in.clone(),
            ctx.teacher_forcing,
            ctx.rng.random(),
        )?;
        let (correct, scored) = token_accuracy(&out.logits, &batch.gold)?;
        let loss =
            sequence_cross_entropy(out.logits, batch.target_out.clone(), &batch.target_lengths)?;
        Ok(StepOutput::new(loss, scored as f64).with_metric(
            "accuracy",
            correct as f64,
            scored as f64,
        ))
    }

    /// `loss` (teacher forcing), `exact_match` and `char_accuracy` of greedy decoding on the
    /// validation part.
    fn validate(&self, model: &Translator) -> Result<BTreeMap<String, f64>> {
        let pairs: Vec<&EncodedPair> = self.data.valid_encoded.iter().collect();
        let mut loss_sum = 0.0;
        let mut count = 0.0;
        for chunk in pairs.chunks(self.batch_size.max(64)) {
            let batch = make_batch(chunk, &self.data.tgt_vocab, &self.eval_device)?;
            let out =
                model.forward(batch.source, &batch.source_lengths, batch.target_in, 1.0, 0)?;
            let n: usize = batch.target_lengths.iter().sum();
            let loss = sequence_cross_entropy(out.logits, batch.target_out, &batch.target_lengths)?;
            loss_sum += f64::from(loss.into_scalar::<f32>()) * n as f64;
            count += n as f64;
        }
        let limits = self.data.limits(self.max_target)?;
        let scores = evaluate(
            model,
            &self.data.valid,
            self.data,
            Search::Greedy,
            limits,
            self.batch_size.max(64),
            &self.eval_device,
        )?;
        Ok(BTreeMap::from([
            ("loss".to_owned(), loss_sum / count.max(1.0)),
            ("exact_match".to_owned(), scores.exact_match),
            ("char_accuracy".to_owned(), scores.char_accuracy),
        ]))
    }
}

/// Correct argmax predictions and scored positions of `logits` against `gold` rows.
fn token_accuracy(logits: &Tensor<3>, gold: &[Vec<u32>]) -> Result<(usize, usize)> {
    let steps = logits.dims()[1];
    let predicted = logits
        .clone()
        .argmax(2)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .map_err(|e| TrainError::invalid("predictions", format!("{e:?}")))?;
    let mut correct = 0;
    let mut scored = 0;
    for (b, row) in gold.iter().enumerate() {
        for (t, &token) in row.iter().enumerate() {
            scored += 1;
            if predicted[b * steps + t] == i64::from(token) {
                correct += 1;
            }
        }
    }
    Ok((correct, scored))
}

/// How well decoded outputs match their targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seq2SeqScores {
    /// Share of outputs equal to their target.
    pub exact_match: f64,
    /// Share of target characters matched at the same position (outputs of another length
    /// lose the positions they miss).
    pub char_accuracy: f64,
    /// Number of pairs scored.
    pub examples: usize,
}

/// Character accuracy of `output` against `target`: matches at the same position over the
/// longer of the two lengths.
pub fn char_matches(output: &str, target: &str) -> (usize, usize) {
    let (o, t): (Vec<char>, Vec<char>) = (output.chars().collect(), target.chars().collect());
    let matched = o.iter().zip(&t).filter(|(a, b)| a == b).count();
    (matched, o.len().max(t.len()))
}

/// Decodes every source of `pairs` with `search` and scores the outputs.
pub fn evaluate(
    model: &Translator,
    pairs: &[Pair],
    data: &Seq2SeqData,
    search: Search,
    limits: Limits,
    batch_size: usize,
    device: &Device,
) -> Result<Seq2SeqScores> {
    let sources: Vec<&str> = pairs.iter().map(|p| p.source.as_str()).collect();
    let outputs = translate(model, data, &sources, search, limits, batch_size, device)?;
    let mut exact = 0;
    let (mut matched, mut total) = (0, 0);
    for (output, pair) in outputs.iter().zip(pairs) {
        exact += usize::from(output == &pair.target);
        let (m, t) = char_matches(output, &pair.target);
        matched += m;
        total += t;
    }
    Ok(Seq2SeqScores {
        exact_match: exact as f64 / pairs.len().max(1) as f64,
        char_accuracy: matched as f64 / total.max(1) as f64,
        examples: pairs.len(),
    })
}

/// The outputs of `model` for `sources`, in batches of `batch_size`.
///
/// Errors: an empty source (naming its position), or a decoding error.
pub fn translate(
    model: &Translator,
    data: &Seq2SeqData,
    sources: &[&str],
    search: Search,
    limits: Limits,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<String>> {
    translate_with(
        model,
        &data.src_vocab,
        &data.tgt_vocab,
        sources,
        search,
        limits,
        batch_size,
        device,
    )
}

/// [`translate`] with the vocabularies given apart (a run read back from disk).
#[allow(clippy::too_many_arguments)]
pub fn translate_with(
    model: &Translator,
    src_vocab: &Vocab,
    tgt_vocab: &Vocab,
    sources: &[&str],
    search: Search,
    limits: Limits,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<String>> {
    if let Some(i) = sources.iter().position(|s| s.is_empty()) {
        return Err(TrainError::invalid(
            "source",
            format!("source {} is empty", i + 1),
        ));
    }
    let mut out = Vec::with_capacity(sources.len());
    for chunk in sources.chunks(batch_size.max(1)) {
        let ids = chunk
            .iter()
            .map(|s| encode_chars(src_vocab, s))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
        let decoded = model.translate(padded(&ids, 0, device), &lengths, search, limits)?;
        out.extend(decoded.iter().map(|ids| decode_chars(tgt_vocab, ids)));
    }
    Ok(out)
}

/// A finished seq2seq run read back: its settings, both vocabularies and the model.
#[derive(Debug)]
pub struct Seq2SeqRunFiles {
    /// The run's settings.
    pub config: Seq2SeqTaskConfig,
    /// The source characters.
    pub src_vocab: Vocab,
    /// The target characters (with `<bos>` and `<eos>`).
    pub tgt_vocab: Vocab,
    /// The model.
    pub model: Translator,
}

/// Reads the seq2seq run in `dir` (`config.toml`, `src_vocab.txt`, `tgt_vocab.txt`,
/// `model.safetensors`) onto `device`.
///
/// Errors name the file: missing, unreadable, not a seq2seq run, weights that do not fit,
/// or a target vocabulary without `<bos>`/`<eos>`.
pub fn load_run(dir: &Path, device: &Device) -> Result<Seq2SeqRunFiles> {
    let config: Seq2SeqTaskConfig =
        SavedRun::read(&dir.join(CONFIG_FILE))?.settings_of("seq2seq")?;
    let src_vocab = load_vocab(&dir.join(SRC_VOCAB_FILE))?;
    let tgt_vocab = load_vocab(&dir.join(TGT_VOCAB_FILE))?;
    let model = load_weights(
        config.init_for(src_vocab.len(), tgt_vocab.len(), device)?,
        &dir.join(MODEL_FILE),
    )?;
    let run = Seq2SeqRunFiles {
        config,
        src_vocab,
        tgt_vocab,
        model,
    };
    run.limits(dir)?;
    Ok(run)
}

impl Seq2SeqRunFiles {
    /// Where decoding starts and stops: `<bos>`, `<eos>` and the longest target the run was
    /// trained for (plus its end token). `dir` only names the run in the error.
    pub fn limits(&self, dir: &Path) -> Result<Limits> {
        let (Some(bos), Some(eos)) = (self.tgt_vocab.bos_id(), self.tgt_vocab.eos_id()) else {
            return Err(TrainError::invalid(
                "target vocabulary",
                format!(
                    "{}: it has no <bos>/<eos>",
                    dir.join(TGT_VOCAB_FILE).display()
                ),
            ));
        };
        Ok(Limits {
            bos,
            eos,
            max_len: self.config.max_target + 1,
        })
    }

    /// The search of `beam`: greedy without one, beam search with the run's length penalty
    /// otherwise.
    ///
    /// Errors: a beam of 0.
    pub fn search(&self, beam: Option<usize>) -> Result<Search> {
        match beam {
            Some(0) => Err(TrainError::invalid(
                "beam",
                "a beam holds at least one hypothesis, got 0".to_owned(),
            )),
            Some(width) => Ok(Search::Beam {
                width,
                length_penalty: self.config.length_penalty,
            }),
            None => Ok(Search::Greedy),
        }
    }

    /// Translates `sources` (greedy, or beam search of width `beam`) in batches of at
    /// least 64.
    ///
    /// Errors: an empty source, a beam of 0, a target vocabulary without `<bos>`/`<eos>`.
    pub fn translate(
        &self,
        sources: &[&str],
        beam: Option<usize>,
        device: &Device,
    ) -> Result<Vec<String>> {
        let limits = self.limits(Path::new("the run"))?;
        translate_with(
            &self.model,
            &self.src_vocab,
            &self.tgt_vocab,
            sources,
            self.search(beam)?,
            limits,
            self.config.batch_size.max(64),
            device,
        )
    }
}

/// The attention weights of `model` over `source` while it reads `target` (teacher
/// forcing): rows are the target characters then `<eos>`, columns the source characters.
pub fn attention_map(
    model: &Translator,
    data: &Seq2SeqData,
    pair: &Pair,
    device: &Device,
) -> Result<Vec<Vec<f64>>> {
    let encoded = encode_pairs(std::slice::from_ref(pair), &data.src_vocab, &data.tgt_vocab)?;
    let batch = make_batch(&[&encoded[0]], &data.tgt_vocab, device)?;
    let out = model.forward(batch.source, &batch.source_lengths, batch.target_in, 1.0, 0)?;
    let [_, steps, width] = out.attention.dims();
    let values = out
        .attention
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| TrainError::invalid("attention", format!("{e:?}")))?;
    Ok((0..steps)
        .map(|t| {
            values[t * width..(t + 1) * width]
                .iter()
                .map(|&w| f64::from(w))
                .collect()
        })
        .collect())
}

/// Trains one model on `data` (seed `seed`, `device` an autodiff device); `checkpoints`,
/// `resume` and `observer` as in [`fit`].
pub fn train_seq2seq(
    config: &Seq2SeqTaskConfig,
    data: &Seq2SeqData,
    seed: u64,
    device: &Device,
    checkpoints: Option<&RunDir>,
    resume: bool,
    observer: impl FnMut(FitEvent<'_>),
) -> Result<Fitted<Translator>> {
    let mut fit_config = config.fit.clone();
    fit_config.seed = seed;
    device.seed(seed);
    let model = config.init_model(data, device)?;
    let task = Seq2SeqTask::new(data, config.batch_size, config.max_target, device)?;
    fit(&fit_config, &task, model, checkpoints, resume, observer)
}

/// Writes a vocabulary one token per line (specials first, as built).
pub fn save_vocab(vocab: &Vocab, path: &Path) -> Result<()> {
    let mut text = String::new();
    for token in vocab.tokens() {
        // A newline or tab character is stored escaped, one token per line.
        text.push_str(
            &token
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
                .replace('\t', "\\t"),
        );
        text.push('\n');
    }
    recurrent_cells::write_atomic(path, text.as_bytes())
        .map_err(|e| TrainError::invalid("vocabulary", format!("{}: {e}", path.display())))
}

/// Reads a vocabulary written by [`save_vocab`].
pub fn load_vocab(path: &Path) -> Result<Vocab> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let tokens: Vec<String> = text
        .lines()
        .map(|l| {
            l.replace("\\n", "\n")
                .replace("\\t", "\t")
                .replace("\\\\", "\\")
        })
        .collect();
    Ok(Vocab::from_parts(
        tokens,
        recurrent_data::SpecialTokens::default(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_accuracy_by_hand() {
        assert_eq!(char_matches("2019-04-22", "2019-04-22"), (10, 10));
        assert_eq!(char_matches("2019-04-21", "2019-04-22"), (9, 10));
        // One character missing in the middle shifts the rest: "2019-" matches, then
        // "4-22" against "04-22" only at position 8 ('2' and '2'): 6 of 10.
        assert_eq!(char_matches("2019-4-22", "2019-04-22"), (6, 10));
        assert_eq!(char_matches("", "abc"), (0, 3));
    }

    #[test]
    fn batches_add_start_and_end_tokens_and_pad() {
        let device = Device::flex();
        let vocab = char_vocab(["ab"]).unwrap();
        let (a, b) = (vocab.id("a").unwrap(), vocab.id("b").unwrap());
        let pairs = [
            EncodedPair {
                source: vec![5, 6, 7],
                target: vec![a, b],
            },
            EncodedPair {
                source: vec![5],
                target: vec![b],
            },
        ];
        let batch = make_batch(&[&pairs[0], &pairs[1]], &vocab, &device).unwrap();
        let (pad, bos, eos) = (
            0i64,
            i64::from(vocab.bos_id().unwrap()),
            i64::from(vocab.eos_id().unwrap()),
        );
        let input: Vec<i64> = batch
            .target_in
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(input, vec![bos, a.into(), b.into(), bos, b.into(), pad]);
        let output: Vec<i64> = batch
            .target_out
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(output, vec![a.into(), b.into(), eos, b.into(), eos, pad]);
        assert_eq!(batch.target_lengths, vec![3, 2]);
        assert_eq!(batch.source_lengths, vec![3, 1]);
    }

    #[test]
    fn vocabularies_round_trip_through_their_files() {
        let dir = std::env::temp_dir().join(format!("recurrent-s2s-vocab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let vocab = char_vocab(["a\tb\\c\n d"]).unwrap();
        let path = dir.join("v.txt");
        save_vocab(&vocab, &path).unwrap();
        let again = load_vocab(&path).unwrap();
        assert_eq!(again.tokens(), vocab.tokens());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn long_examples_are_refused_by_name() {
        let mut config = Seq2SeqTaskConfig::new(None);
        config.max_target = 5;
        let pairs = vec![Pair {
            source: "April 1, 2000".into(),
            target: "2000-04-01".into(),
        }];
        let err = check_lengths("test", &pairs, &config)
            .unwrap_err()
            .to_string();
        assert!(err.contains("test example 1"), "{err}");
        assert!(err.contains("target has 10 characters"), "{err}");
    }
}
