//! A time-series forecaster: direct multi-horizon, or one step rolled out autoregressively.

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use recurrent_cells::StateDict;
use serde::{Deserialize, Serialize};

use crate::attention::{AttentionInput, DotAttention, DotAttentionConfig, LuongScore};
use crate::conv::{ConvFrontEnd, ConvFrontEndConfig};
use crate::error::{Result, ZooError, check_rate, check_size};
use crate::heads::{ForecastHead, ForecastHeadConfig};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentKind, RecurrentState};
use crate::weights::{Export, PytorchWeights, child};

/// The forecaster's network before its read-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForecastArchitecture {
    /// A recurrent layer; the read-out takes its last output.
    #[default]
    Recurrent,
    /// A causal convolution over the window (local shapes), then the recurrent layer.
    CnnRecurrent,
    /// The recurrent layer, then Luong (`general`) attention of its last output over all
    /// its outputs; the read-out takes both.
    RecurrentAttention,
}

impl ForecastArchitecture {
    /// The name in configuration files: `recurrent`, `cnn-recurrent`,
    /// `recurrent-attention`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Recurrent => "recurrent",
            Self::CnnRecurrent => "cnn-recurrent",
            Self::RecurrentAttention => "recurrent-attention",
        }
    }
}

impl fmt::Display for ForecastArchitecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ForecastArchitecture {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "recurrent" => Ok(Self::Recurrent),
            "cnn-recurrent" => Ok(Self::CnnRecurrent),
            "recurrent-attention" => Ok(Self::RecurrentAttention),
            other => Err(ZooError::config(
                "architecture",
                format!("{other:?} (expected recurrent, cnn-recurrent or recurrent-attention)"),
            )),
        }
    }
}

/// Configuration of a [`Forecaster`]: the network only.
#[derive(Config, Debug, PartialEq)]
pub struct ForecasterConfig {
    /// Features per input step (the series' columns, and any derived ones).
    pub d_input: usize,
    /// Values read out at once: the horizon (direct), or one row of the series' columns
    /// (autoregressive).
    pub n_outputs: usize,
    /// The network before the read-out.
    #[config(default = "ForecastArchitecture::Recurrent")]
    pub architecture: ForecastArchitecture,
    /// The recurrent cell.
    #[config(default = "RecurrentKind::Lstm")]
    pub kind: RecurrentKind,
    /// Hidden size.
    #[config(default = 32)]
    pub d_hidden: usize,
    /// Stacked recurrent layers.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Filters of `cnn-recurrent`'s convolution.
    #[config(default = 32)]
    pub conv_channels: usize,
    /// Width (in steps) of `cnn-recurrent`'s causal convolution.
    #[config(default = 3)]
    pub conv_kernel: usize,
    /// Dropout between recurrent layers, training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ForecasterConfig {
    /// Builds the forecaster on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`ForecasterConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> Forecaster {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the forecaster, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<Forecaster> {
        check_size("d_input", self.d_input)?;
        check_size("n_outputs", self.n_outputs)?;
        check_rate("dropout", self.dropout)?;
        let conv = match self.architecture {
            ForecastArchitecture::CnnRecurrent => Some(
                ConvFrontEndConfig::new(self.d_input, self.conv_channels)
                    .with_kernel(self.conv_kernel)
                    .with_causal(true)
                    .try_init(device)?,
            ),
            _ => None,
        };
        let d_rnn_input = if conv.is_some() {
            self.conv_channels
        } else {
            self.d_input
        };
        let rnn = RecurrentConfig::new(self.kind, d_rnn_input, self.d_hidden)
            .with_n_layers(self.n_layers)
            .with_dropout(self.dropout)
            .try_init(device)?;
        let attention = match self.architecture {
            ForecastArchitecture::RecurrentAttention => Some(
                DotAttentionConfig::new(self.d_hidden, self.d_hidden)
                    .with_score(LuongScore::General)
                    .try_init(device)?,
            ),
            _ => None,
        };
        let d_read = if attention.is_some() {
            2 * self.d_hidden
        } else {
            self.d_hidden
        };
        Ok(Forecaster {
            conv,
            rnn,
            attention,
            head: ForecastHeadConfig::new(d_read, self.n_outputs).try_init(device)?,
        })
    }
}

/// A forecaster over windows of a (scaled) series:
///
/// ```text
/// x [batch, lookback, d_input] ── [cnn-recurrent: causal ConvFrontEnd]
///   ── Recurrent (rnn | lstm | gru | ln-lstm, n_layers) ── last output h_T
///   ── [recurrent-attention: context = Luong-general attention of h_T over all outputs;
///       read [h_T, context]]
///   ── ForecastHead ── [batch, n_outputs]
/// ```
///
/// Used directly ([`Forecaster::forward_direct`]: all `horizon` values at once) or as a
/// one-step model rolled out over the horizon ([`Forecaster::forward_autoregressive`],
/// `recurrent` only: the other two need the whole window at every step).
///
/// Weights: `conv.conv.*`, `rnn.weight_ih_l0`, ... (a `torch.nn.LSTM` named `rnn`),
/// `attention.Wa.weight`, `head.weight` `[n_outputs, d]`, `head.bias`.
#[derive(Module, Debug)]
pub struct Forecaster {
    /// The causal convolution of `cnn-recurrent`.
    pub conv: Option<ConvFrontEnd>,
    /// The recurrent layer.
    pub rnn: Recurrent,
    /// The attention of `recurrent-attention`.
    pub attention: Option<DotAttention>,
    /// The read-out.
    pub head: ForecastHead,
}

impl Forecaster {
    /// Whether this network can be rolled out one step at a time.
    pub fn steps(&self) -> bool {
        self.conv.is_none() && self.attention.is_none()
    }

    /// Runs the layers before the read-out over `x` (`[batch, steps, d_input]`) from
    /// `state`: every recurrent output `[batch, steps, d_hidden]` and the final state.
    fn encode(&self, x: Tensor<3>, state: Option<RecurrentState>) -> (Tensor<3>, RecurrentState) {
        let x = match &self.conv {
            Some(conv) => {
                conv.try_forward(x, None)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .0
            }
            None => x,
        };
        self.rnn.forward(x, state)
    }

    /// The read-out of the last step of `out` (`[batch, steps, d_hidden]`): `[batch,
    /// n_outputs]`.
    fn read_last(&self, out: Tensor<3>) -> Tensor<2> {
        let [b, s, h] = out.dims();
        let last = out.clone().narrow(1, s - 1, 1); // [b, 1, h]
        let features = match &self.attention {
            Some(attention) => {
                let context = attention
                    .forward(AttentionInput::new(last.clone(), out))
                    .context;
                Tensor::cat(vec![last, context], 2).reshape([b, 2 * h])
            }
            None => last.reshape([b, h]),
        };
        self.head.forward(features)
    }

    /// Direct multi-step forecast: `x` `[batch, lookback, d_input]` → `[batch, n_outputs]`.
    pub fn forward_direct(&self, x: Tensor<3>) -> Tensor<2> {
        let (out, _) = self.encode(x, None);
        self.read_last(out)
    }

    /// Autoregressive roll-out over `horizon` steps: `x` `[batch, lookback, d_input]` →
    /// `[batch, horizon, n_outputs]`, step `h` predicting the row after step `h − 1`.
    ///
    /// The input of future step `h ≥ 2` is, per window, the true row `truth[:, h − 2]`
    /// where `feed_truth[:, h − 2]` is 1 and the prediction of step `h − 1` where it is 0
    /// (`truth` `[batch, horizon, n_outputs]`, `feed_truth` `[batch, horizon − 1, 1]` of 0
    /// or 1). Without `truth`, every step feeds back the model's own prediction (free
    /// running, as at forecast time). With `truth` and `all_truth`, every step is fed the
    /// truth and the whole window runs as one sequence (plain teacher forcing, faster).
    ///
    /// `level` (`[batch, 1, 1]`) is added to the first column of each fed row to form an
    /// extra input column (a window normalised by its last level also sees the level).
    ///
    /// Errors: a network that cannot step ([`Forecaster::steps`]), or outputs that cannot be
    /// fed back (`n_outputs` plus the level column must be `d_input`).
    pub fn forward_autoregressive(
        &self,
        x: Tensor<3>,
        horizon: usize,
        truth: Option<(Tensor<3>, Tensor<3>)>,
        all_truth: bool,
        level: Option<Tensor<3>>,
    ) -> Result<Tensor<3>> {
        if !self.steps() {
            return Err(ZooError::config(
                "architecture",
                "an autoregressive roll-out needs the plain recurrent forecaster (the \
                 convolution and the attention read the whole window at every step)",
            ));
        }
        let [b, lookback, d_x] = x.dims();
        let outputs = self.head.n_outputs();
        let fed = outputs + usize::from(level.is_some());
        if d_x != fed {
            return Err(ZooError::config(
                "n_outputs",
                format!(
                    "a roll-out feeds each step's {outputs} outputs{} back as the next input, \
                     but the input has {d_x} features",
                    if level.is_some() {
                        " and the level"
                    } else {
                        ""
                    }
                ),
            ));
        }
        // A fed row `[batch, steps, features]` with its level column when there is one.
        let with_level = |rows: Tensor<3>| -> Tensor<3> {
            match &level {
                Some(base) => {
                    let [b, s, _] = rows.dims();
                    let target = rows.clone().slice([0..b, 0..s, 0..1]);
                    Tensor::cat(vec![rows, target + base.clone().repeat_dim(1, s)], 2)
                }
                None => rows,
            }
        };
        if all_truth && let Some((truth, _)) = &truth {
            let [_, _, f] = truth.dims();
            let fed = if horizon > 1 {
                let rows = truth.clone().slice([0..b, 0..horizon - 1, 0..f]);
                Tensor::cat(vec![x, with_level(rows)], 1)
            } else {
                x
            };
            let (out, _) = self.encode(fed, None);
            let [_, steps, hidden] = out.dims();
            return Ok(self
                .head
                .forward(out.slice([0..b, lookback - 1..steps, 0..hidden])));
        }
        let (out, mut state) = self.encode(x, None);
        let mut prediction = self.read_last(out);
        let [_, f] = prediction.dims();
        let mut predictions = vec![prediction.clone()];
        for h in 1..horizon {
            let fed: Tensor<3> = prediction.reshape([b, 1, f]);
            let fed = match &truth {
                Some((truth, mask)) => {
                    let row = truth.clone().slice([0..b, h - 1..h, 0..f]);
                    let m = mask.clone().slice([0..b, h - 1..h, 0..1]);
                    let keep = m.clone().neg().add_scalar(1.0);
                    row * m + fed * keep
                }
                None => fed,
            };
            let (out, next) = self.encode(with_level(fed), Some(state));
            state = next;
            prediction = self.read_last(out);
            predictions.push(prediction.clone());
        }
        Ok(Tensor::stack(predictions, 1))
    }
}

impl PytorchWeights for Forecaster {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.conv.export(&child(prefix, "conv"), what);
        dict.extend(self.rnn.export(&child(prefix, "rnn"), what));
        dict.extend(self.attention.export(&child(prefix, "attention"), what));
        dict.extend(self.head.export(&child(prefix, "head"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.conv = self.conv.load(dict, &child(prefix, "conv"))?;
        self.rnn = self.rnn.load(dict, &child(prefix, "rnn"))?;
        self.attention = self.attention.load(dict, &child(prefix, "attention"))?;
        self.head = self.head.load(dict, &child(prefix, "head"))?;
        Ok(self)
    }
}
