//! Keras' `Bidirectional` wrapper: a layer run forwards and a copy run backwards, their
//! outputs merged by `concat | sum | mul | ave`, or both returned.

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use recurrent_cells::{SequenceInput, StateDict};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ZooError};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentState};
use crate::weights::{Export, PytorchWeights, child};

/// How the two directions' outputs are combined (Keras' `merge_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMode {
    /// `[forward, backward]` along the features: `2 * d_hidden` (PyTorch's
    /// `bidirectional=True`, Keras' default).
    #[default]
    Concat,
    /// `forward + backward`.
    Sum,
    /// `forward * backward`.
    Mul,
    /// `(forward + backward) / 2`.
    Ave,
    /// No merge: both sequences are returned (Keras' `merge_mode=None`).
    None,
}

impl MergeMode {
    /// The width of a merged step for directions of `d_hidden` each (`None` counts both).
    pub fn d_output(self, d_hidden: usize) -> usize {
        match self {
            Self::Concat | Self::None => 2 * d_hidden,
            Self::Sum | Self::Mul | Self::Ave => d_hidden,
        }
    }

    /// Merges `forward` and `backward` (same shape `[..., d]`): `[..., d]`, or `[..., 2d]`
    /// for `concat`. `None` concatenates too (its callers keep the two parts apart).
    pub fn merge<const D: usize>(self, forward: Tensor<D>, backward: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Concat | Self::None => Tensor::cat(vec![forward, backward], D - 1),
            Self::Sum => forward + backward,
            Self::Mul => forward * backward,
            Self::Ave => (forward + backward) * 0.5,
        }
    }

    /// The name on command lines and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Concat => "concat",
            Self::Sum => "sum",
            Self::Mul => "mul",
            Self::Ave => "ave",
            Self::None => "none",
        }
    }
}

impl fmt::Display for MergeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MergeMode {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "concat" => Ok(Self::Concat),
            "sum" => Ok(Self::Sum),
            "mul" => Ok(Self::Mul),
            "ave" | "avg" | "mean" => Ok(Self::Ave),
            "none" => Ok(Self::None),
            other => Err(ZooError::config(
                "merge",
                format!("{other:?} (expected concat, sum, mul, ave or none)"),
            )),
        }
    }
}

/// Configuration of a [`Bidirectional`] wrapper.
#[derive(Config, Debug)]
pub struct BidirectionalConfig {
    /// The layer of each direction (unidirectional, not reversed: the wrapper makes the
    /// backward copy).
    pub layer: RecurrentConfig,
    /// How the outputs are combined.
    #[config(default = "MergeMode::Concat")]
    pub merge: MergeMode,
}

impl BidirectionalConfig {
    /// Builds the wrapper on `device`: two independent layers of the same configuration.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`BidirectionalConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> Bidirectional {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the wrapper, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<Bidirectional> {
        if self.layer.bidirectional || self.layer.reverse {
            return Err(ZooError::config(
                "layer",
                "the wrapped layer must be unidirectional and not reversed (the wrapper runs \
                 the backward copy itself)",
            ));
        }
        Ok(Bidirectional {
            forward: self.layer.try_init(device)?,
            backward: self.layer.clone().with_reverse(true).try_init(device)?,
            merge: self.merge,
        })
    }
}

/// What a [`Bidirectional`] returns.
#[derive(Debug, Clone)]
pub struct BidirectionalOutput {
    /// The merged outputs `[batch, seq, merge.d_output(d_hidden)]`; `None` for
    /// [`MergeMode::None`].
    pub output: Option<Tensor<3>>,
    /// The forward direction's outputs, `[batch, seq, d_hidden]`.
    pub forward: Tensor<3>,
    /// The backward direction's outputs, aligned with the input steps: `[batch, seq,
    /// d_hidden]`, step `t` having read steps `t..length`.
    pub backward: Tensor<3>,
    /// The forward direction's final state (at each sequence's last valid step).
    pub state_forward: RecurrentState,
    /// The backward direction's final state (after reading step 0).
    pub state_backward: RecurrentState,
}

/// Keras' `Bidirectional(layer, merge_mode=...)` over any [`Recurrent`] layer.
///
/// With lengths, the backward direction starts at each sequence's last valid step (as
/// PyTorch's packed sequences), and padding outputs are exactly 0 in both directions and so
/// after every merge. A wrapped layer of several layers runs as two independent stacks
/// (Keras' semantics), unlike [`RecurrentConfig::bidirectional`], where each layer reads
/// both directions of the one below (PyTorch's).
///
/// ```rust
/// use burn::tensor::{Device, Tensor};
/// use recurrent_zoo::{BidirectionalConfig, MergeMode, RecurrentConfig, RecurrentKind};
///
/// let device = Device::flex();
/// let layer = RecurrentConfig::new(RecurrentKind::Lstm, 8, 16);
/// let bi = BidirectionalConfig::new(layer).with_merge(MergeMode::Sum).init(&device);
/// let out = bi.forward(Tensor::<3>::zeros([4, 10, 8], &device), None);
/// assert_eq!(out.output.unwrap().dims(), [4, 10, 16]);
/// ```
///
/// Weights: the forward layer under `forward.` and the backward one under `backward.`, each
/// with PyTorch's recurrent names.
#[derive(Module, Debug)]
pub struct Bidirectional {
    /// The forward direction.
    pub forward: Recurrent,
    /// The backward direction (a reversed layer).
    pub backward: Recurrent,
    /// How outputs are merged.
    #[module(skip)]
    pub merge: MergeMode,
}

impl Bidirectional {
    /// Runs both directions from `state` (`(forward, backward)`, zeros when `None`).
    ///
    /// `input`: `[batch, seq, d_input]`; see [`BidirectionalOutput`] for what comes back.
    ///
    /// # Panics
    ///
    /// On a wrong shape; [`Bidirectional::try_forward_input`] returns the error instead.
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<(RecurrentState, RecurrentState)>,
    ) -> BidirectionalOutput {
        self.try_forward_input(SequenceInput::new(input).state_opt(state))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs both directions over `input.input` with `input.lengths` respected.
    pub fn try_forward_input(
        &self,
        input: SequenceInput<(RecurrentState, RecurrentState)>,
    ) -> Result<BidirectionalOutput> {
        let (state_f, state_b) = match input.state {
            Some((f, b)) => (Some(f), Some(b)),
            None => (None, None),
        };
        let mut fwd = SequenceInput::new(input.input.clone()).state_opt(state_f);
        let mut bwd = SequenceInput::new(input.input).state_opt(state_b);
        if let Some(lengths) = input.lengths {
            fwd = fwd.lengths(lengths.clone());
            bwd = bwd.lengths(lengths);
        }
        let (forward, state_forward) = self.forward.try_forward_input(fwd)?;
        let (backward, state_backward) = self.backward.try_forward_input(bwd)?;
        let output = (self.merge != MergeMode::None)
            .then(|| self.merge.merge(forward.clone(), backward.clone()));
        Ok(BidirectionalOutput {
            output,
            forward,
            backward,
            state_forward,
            state_backward,
        })
    }

    /// Size of each direction's hidden state.
    pub fn d_hidden(&self) -> usize {
        self.forward.d_hidden()
    }

    /// Size of a merged output step.
    pub fn d_output(&self) -> usize {
        self.merge.d_output(self.d_hidden())
    }
}

impl PytorchWeights for Bidirectional {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.forward.export(&child(prefix, "forward"), what);
        dict.extend(self.backward.export(&child(prefix, "backward"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.forward = self.forward.load(dict, &child(prefix, "forward"))?;
        self.backward = self.backward.load(dict, &child(prefix, "backward"))?;
        Ok(self)
    }
}
