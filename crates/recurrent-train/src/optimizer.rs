//! Optimisers by name (Adam, AdamW, SGD with momentum, RMSProp), built from burn-optim's
//! own implementations, with gradient clipping by norm or by value.

use std::str::FromStr;

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Keras and PyTorch defaults: betas 0.9/0.999, epsilon 1e-7 as Keras).
    Adam,
    /// AdamW with weight decay 0.01 (PyTorch's default).
    AdamW,
    /// SGD with momentum 0.9 (Nesterov off).
    Sgd,
    /// RMSProp (alpha 0.99, as PyTorch).
    RmsProp,
}

impl FromStr for OptimizerKind {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self, TrainError> {
        match s.to_ascii_lowercase().as_str() {
            "adam" => Ok(Self::Adam),
            "adamw" => Ok(Self::AdamW),
            "sgd" => Ok(Self::Sgd),
            "rmsprop" => Ok(Self::RmsProp),
            other => Err(TrainError::invalid(
                "optimizer",
                format!("{other:?} (expected adam, adamw, sgd or rmsprop)"),
            )),
        }
    }
}

/// Gradient clipping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Clipping {
    /// Rescale the gradient of each parameter when its L2 norm exceeds this.
    Norm(f32),
    /// Clamp every gradient value into `[-v, v]`.
    Value(f32),
}

impl Clipping {
    fn config(self) -> GradientClippingConfig {
        match self {
            Clipping::Norm(n) => GradientClippingConfig::Norm(n),
            Clipping::Value(v) => GradientClippingConfig::Value(v),
        }
    }
}

/// Builds the optimiser `kind` with optional `clipping`.
pub fn build_optimizer(kind: OptimizerKind, clipping: Option<Clipping>) -> ModuleOptimizer {
    let clip = clipping.map(Clipping::config);
    match kind {
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(1e-7)
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::AdamW => AdamWConfig::new().with_grad_clipping(clip).init(),
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum(Some(MomentumConfig::new().with_momentum(0.9)))
            .with_gradient_clipping(clip)
            .init(),
        OptimizerKind::RmsProp => RmsPropConfig::new().with_grad_clipping(clip).init(),
    }
}
