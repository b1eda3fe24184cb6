//! The tagger network: word embeddings and character-CNN features of each token, a
//! bidirectional recurrent layer over the sentence, and a linear read-out of tag scores.
//!
//! ```text
//! words [b, s] ── Embedding ─────────────────────────────┐
//! chars [b, s, c] ── Embedding ── Conv1d ── ReLU ── max ──┴─ concat ── dropout
//!   ── BiLSTM/GRU/RNN (lengths) ── dropout ── Linear ── logits [b, s, tags]
//! ```
//!
//! Padding never reaches a real token's score: padded characters are zeroed before the
//! convolution and left out of the max, and the recurrent layer runs each sentence over its
//! own length only (so the backward direction starts at the sentence's last token).

use burn::module::{Module, Param};
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use recurrent_cells::{
    Gru, GruConfig, Lstm, LstmConfig, RecurrentLayer, Rnn, RnnConfig, SequenceInput, StateDict,
};

use super::TaggerConfig;
use crate::cell_kind::CellKind;
use crate::error::{Result, TrainError};

/// The sizes a tagger network is built with: the settings of [`TaggerConfig`] and the sizes
/// of the vocabularies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggerDims {
    /// Words in the vocabulary (`<pad>` and `<unk>` included).
    pub words: usize,
    /// Characters in the vocabulary (`<pad>` and `<unk>` included).
    pub chars: usize,
    /// Tags (output classes).
    pub tags: usize,
}

/// The tagger network (see the module documentation for its layers).
#[derive(Module, Debug)]
pub struct TaggerModel {
    word_embed: Embedding,
    char_embed: Option<Embedding>,
    char_cnn: Option<Conv1d>,
    lstm: Option<Lstm>,
    gru: Option<Gru>,
    rnn: Option<Rnn>,
    dropout: Dropout,
    out: Linear,
}

impl TaggerModel {
    /// A freshly initialised network for `config` and `dims` on `device`.
    ///
    /// Errors: [`TrainError::Invalid`] for a zero size, an even character kernel, a dropout
    /// outside `[0, 1)`, or vocabularies that are empty.
    pub fn new(config: &TaggerConfig, dims: TaggerDims, device: &Device) -> Result<Self> {
        check(config, dims)?;
        let (char_embed, char_cnn) = if config.char_features > 0 {
            (
                Some(EmbeddingConfig::new(dims.chars, config.char_embed).init(device)),
                Some(
                    Conv1dConfig::new(config.char_embed, config.char_features, config.char_kernel)
                        .with_padding(PaddingConfig1d::Same)
                        .init(device),
                ),
            )
        } else {
            (None, None)
        };
        let d_in = config.word_embed + config.char_features;
        let cells = |e: recurrent_cells::Error| TrainError::invalid("tagger layer", e.to_string());
        let (mut lstm, mut gru, mut rnn) = (None, None, None);
        match config.cell {
            CellKind::Lstm => {
                lstm = Some(
                    LstmConfig::new(d_in, config.hidden)
                        .with_n_layers(config.layers)
                        .with_bidirectional(true)
                        .with_dropout(config.dropout)
                        .try_init(device)
                        .map_err(cells)?,
                );
            }
            CellKind::Gru => {
                gru = Some(
                    GruConfig::new(d_in, config.hidden)
                        .with_n_layers(config.layers)
                        .with_bidirectional(true)
                        .with_dropout(config.dropout)
                        .try_init(device)
                        .map_err(cells)?,
                );
            }
            CellKind::Rnn => {
                rnn = Some(
                    RnnConfig::new(d_in, config.hidden)
                        .with_n_layers(config.layers)
                        .with_bidirectional(true)
                        .with_dropout(config.dropout)
                        .try_init(device)
                        .map_err(cells)?,
                );
            }
        }
        Ok(Self {
            word_embed: EmbeddingConfig::new(dims.words, config.word_embed).init(device),
            char_embed,
            char_cnn,
            lstm,
            gru,
            rnn,
            dropout: DropoutConfig::new(config.dropout).init(),
            out: LinearConfig::new(2 * config.hidden, dims.tags).init(device),
        })
    }

    /// Tag scores (logits) `[batch, seq, tags]` of a padded batch.
    ///
    /// - `words`: word ids `[batch, seq]`, padded with 0;
    /// - `chars`: character ids `[batch, seq, chars]`, padded with 0;
    /// - `lengths`: tokens of each sentence `[batch]` (the rest is padding).
    ///
    /// Scores at padded steps are meaningless; nothing at a padded step changes a real one.
    pub fn forward(
        &self,
        words: Tensor<2, Int>,
        chars: Tensor<3, Int>,
        lengths: Tensor<1, Int>,
    ) -> Tensor<3> {
        let [batch, seq] = words.dims();
        let mut x = self.word_embed.forward(words);
        if let (Some(embed), Some(cnn)) = (&self.char_embed, &self.char_cnn) {
            let width = chars.dims()[2];
            let flat = chars.reshape([batch * seq, width]);
            let real = flat.clone().greater_elem(0).float(); // [b*s, c]
            let embedded = embed.forward(flat) * real.clone().unsqueeze_dim::<3>(2);
            let features = relu(cnn.forward(embedded.swap_dims(1, 2))); // [b*s, f, c]
            let features = features * real.unsqueeze_dim::<3>(1);
            let n = features.dims()[1];
            let pooled = features.max_dim(2).reshape([batch, seq, n]);
            x = Tensor::cat(vec![x, pooled], 2);
        }
        let x = self.dropout.forward(x);
        let h = match (&self.lstm, &self.gru, &self.rnn) {
            (Some(lstm), _, _) => lstm.forward_input(SequenceInput::new(x).lengths(lengths)).0,
            (_, Some(gru), _) => gru.forward_input(SequenceInput::new(x).lengths(lengths)).0,
            (_, _, Some(rnn)) => rnn.forward_input(SequenceInput::new(x).lengths(lengths)).0,
            _ => unreachable!("TaggerModel::new builds exactly one recurrent layer"),
        };
        self.out.forward(self.dropout.forward(h))
    }

    /// The weights under PyTorch's names: `word_embed.weight`, `char_embed.weight`,
    /// `char_cnn.weight` (`[features, char_embed, kernel]`), `char_cnn.bias`,
    /// `rnn.weight_ih_l0`, `rnn.weight_ih_l0_reverse`, …, `out.weight` (`[tags, 2·hidden]`),
    /// `out.bias`.
    pub fn state_dict(&self) -> StateDict {
        let mut dict = if let Some(lstm) = &self.lstm {
            lstm.state_dict("rnn.")
        } else if let Some(gru) = &self.gru {
            gru.state_dict("rnn.")
        } else if let Some(rnn) = &self.rnn {
            rnn.state_dict("rnn.")
        } else {
            StateDict::default()
        };
        dict.insert(
            "word_embed.weight",
            self.word_embed.weight.val().into_data(),
        );
        if let Some(embed) = &self.char_embed {
            dict.insert("char_embed.weight", embed.weight.val().into_data());
        }
        if let Some(cnn) = &self.char_cnn {
            dict.insert("char_cnn.weight", cnn.weight.val().into_data());
            if let Some(bias) = &cnn.bias {
                dict.insert("char_cnn.bias", bias.val().into_data());
            }
        }
        dict.insert("out.weight", self.out.weight.val().transpose().into_data());
        if let Some(bias) = &self.out.bias {
            dict.insert("out.bias", bias.val().into_data());
        }
        dict
    }

    /// A network for `config` and `dims` with the weights of `dict` (as
    /// [`TaggerModel::state_dict`] writes them).
    ///
    /// Errors: [`TrainError::Invalid`] naming a missing or mis-shaped tensor.
    pub fn from_state_dict(
        config: &TaggerConfig,
        dims: TaggerDims,
        dict: &StateDict,
        device: &Device,
    ) -> Result<Self> {
        let mut model = Self::new(config, dims, device)?;
        let weights = |e: recurrent_cells::Error| TrainError::invalid("weights", e.to_string());
        model.word_embed.weight = Param::from_tensor(tensor(
            dict,
            "word_embed.weight",
            [dims.words, config.word_embed],
            device,
        )?);
        if let Some(embed) = model.char_embed.as_mut() {
            embed.weight = Param::from_tensor(tensor(
                dict,
                "char_embed.weight",
                [dims.chars, config.char_embed],
                device,
            )?);
        }
        if let Some(cnn) = model.char_cnn.as_mut() {
            cnn.weight = Param::from_tensor(tensor(
                dict,
                "char_cnn.weight",
                [config.char_features, config.char_embed, config.char_kernel],
                device,
            )?);
            if cnn.bias.is_some() {
                cnn.bias = Some(Param::from_tensor(tensor(
                    dict,
                    "char_cnn.bias",
                    [config.char_features],
                    device,
                )?));
            }
        }
        model.lstm = model
            .lstm
            .map(|l| l.load_state_dict(dict, "rnn."))
            .transpose()
            .map_err(weights)?;
        model.gru = model
            .gru
            .map(|l| l.load_state_dict(dict, "rnn."))
            .transpose()
            .map_err(weights)?;
        model.rnn = model
            .rnn
            .map(|l| l.load_state_dict(dict, "rnn."))
            .transpose()
            .map_err(weights)?;
        let out: Tensor<2> = tensor(dict, "out.weight", [dims.tags, 2 * config.hidden], device)?;
        model.out.weight = Param::from_tensor(out.transpose());
        if model.out.bias.is_some() {
            model.out.bias = Some(Param::from_tensor(tensor(
                dict,
                "out.bias",
                [dims.tags],
                device,
            )?));
        }
        Ok(model)
    }
}

/// The tensor `name` of `dict` with shape `shape`, on `device`.
fn tensor<const D: usize>(
    dict: &StateDict,
    name: &str,
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>> {
    let data: &TensorData = dict
        .get(name)
        .ok_or_else(|| TrainError::invalid("weights", format!("tensor {name:?} is missing")))?;
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
}

/// Checks the sizes and rates of a tagger network.
fn check(config: &TaggerConfig, dims: TaggerDims) -> Result<()> {
    let sizes = [
        ("word_embed", config.word_embed),
        ("hidden", config.hidden),
        ("layers", config.layers),
        ("word vocabulary", dims.words),
        ("tag vocabulary", dims.tags),
    ];
    for (name, value) in sizes {
        if value == 0 {
            return Err(TrainError::invalid(
                "tagger setting",
                format!("{name} is 0 (must be at least 1)"),
            ));
        }
    }
    if config.char_features > 0 {
        if config.char_embed == 0 || dims.chars == 0 {
            return Err(TrainError::invalid(
                "tagger setting",
                "char_embed is 0 while char_features is set (use char_features = 0 to turn \
                 character features off)",
            ));
        }
        if config.char_kernel.is_multiple_of(2) {
            return Err(TrainError::invalid(
                "char_kernel",
                format!(
                    "{} (must be odd, so the features centre on each character)",
                    config.char_kernel
                ),
            ));
        }
    }
    if !(0.0..1.0).contains(&config.dropout) {
        return Err(TrainError::invalid(
            "dropout",
            format!("{} (must be in [0, 1))", config.dropout),
        ));
    }
    Ok(())
}
