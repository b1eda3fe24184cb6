//! Weights under PyTorch's names: one trait for every module of the zoo, one shape-checked
//! loader, one prefix convention.
//!
//! A module writes its tensors as `{prefix}{name}`, and a child module's as
//! `{prefix}{child}.{name}` (PyTorch's `state_dict()` keys), in PyTorch's layouts: a
//! [`Linear`]'s weight is `[d_output, d_input]` (burn keeps its transpose), a [`Conv1d`]'s
//! `[channels_out, channels_in, kernel]`, a [`LayerNorm`]'s gain and bias are `weight` and
//! `bias`, and the recurrent layers use `torch.nn.LSTM`'s names (`weight_ih_l0`, ...).
//! So `model.state_dict("")` saved as safetensors loads into the same network written in
//! PyTorch with `load_state_dict`, and back.

use std::collections::BTreeSet;

use burn::module::Param;
use burn::nn::attention::MultiHeadAttention;
use burn::nn::conv::Conv1d;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use recurrent_cells::StateDict;

use crate::error::{Result, ZooError};

/// What [`PytorchWeights::export`] reads of each parameter.
#[derive(Clone, Copy)]
pub enum Export<'a> {
    /// The parameter's value.
    Values,
    /// Its gradient in `grads` (parameters without one are left out).
    Grads(&'a Gradients),
}

impl std::fmt::Debug for Export<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Values => f.write_str("Values"),
            Self::Grads(_) => f.write_str("Grads"),
        }
    }
}

impl Export<'_> {
    /// The value or gradient of `param`.
    pub fn read<const D: usize>(&self, param: &Param<Tensor<D>>) -> Option<TensorData> {
        match self {
            Self::Values => Some(param.val().into_data()),
            Self::Grads(grads) => param.val().grad(grads).map(|g| g.into_data()),
        }
    }
}

/// A module whose weights move in and out of PyTorch state dicts by PyTorch's names.
pub trait PytorchWeights: Sized {
    /// The weights (or their gradients) under `prefix`, in PyTorch's names and layouts.
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict;

    /// The module with the weights of `dict` under `prefix`; every tensor it needs must be
    /// there with the right shape. Tensors it does not need are ignored (see
    /// [`PytorchWeights::load_state_dict`] for the strict form).
    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self>;

    /// The weights under `prefix` (`""` for a whole model).
    fn state_dict(&self, prefix: &str) -> StateDict {
        self.export(prefix, Export::Values)
    }

    /// The gradients of the weights in `grads`, under the weights' names.
    fn grads(&self, grads: &Gradients, prefix: &str) -> StateDict {
        self.export(prefix, Export::Grads(grads))
    }

    /// Loads `dict` strictly, as PyTorch's `load_state_dict(strict=True)`: a missing or
    /// mis-shaped tensor is an error naming it, and so is a tensor under `prefix` that the
    /// module does not have.
    fn load_state_dict(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        let loaded = self.load(dict, prefix)?;
        let own = loaded.state_dict(prefix);
        let known: BTreeSet<&str> = own.names().collect();
        if let Some(name) = dict
            .names()
            .find(|n| n.starts_with(prefix) && !known.contains(n))
        {
            return Err(ZooError::UnexpectedTensor {
                name: name.to_owned(),
            });
        }
        Ok(loaded)
    }
}

/// The tensor `name` of `dict`, checked to have `shape`, on `device`.
///
/// Errors: [`ZooError::MissingTensor`] and [`ZooError::TensorShape`], naming it.
pub fn tensor<const D: usize>(
    dict: &StateDict,
    name: &str,
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>> {
    Ok(Tensor::from_data(tensor_data(dict, name, &shape)?, device))
}

/// The data of tensor `name` of `dict` as `f32`, checked to have `shape`.
pub(crate) fn tensor_data(dict: &StateDict, name: &str, shape: &[usize]) -> Result<TensorData> {
    let data = dict.get(name).ok_or_else(|| ZooError::MissingTensor {
        name: name.to_owned(),
    })?;
    let actual = data.shape().to_vec();
    if actual != shape {
        return Err(ZooError::TensorShape {
            name: name.to_owned(),
            expected: shape.to_vec(),
            actual,
        });
    }
    Ok(data.clone().convert::<f32>())
}

/// `param` with the value of tensor `name` of `dict`, which must have the parameter's own
/// shape; the parameter keeps its id and device.
pub fn load_param<const D: usize>(
    param: Param<Tensor<D>>,
    dict: &StateDict,
    name: &str,
) -> Result<Param<Tensor<D>>> {
    let value = param.val();
    let loaded = tensor(dict, name, value.dims(), &value.device())?;
    Ok(replace(param, loaded))
}

/// `param` with the value `tensor`, keeping its parameter id (so an optimiser's state
/// still refers to it).
pub fn replace<const D: usize>(param: Param<Tensor<D>>, tensor: Tensor<D>) -> Param<Tensor<D>> {
    let mut loaded = Param::from_tensor(tensor);
    loaded.id = param.id;
    loaded
}

/// Inserts `data` as `{prefix}{name}` when present.
pub(crate) fn put(dict: &mut StateDict, prefix: &str, name: &str, data: Option<TensorData>) {
    if let Some(data) = data {
        dict.insert(format!("{prefix}{name}"), data);
    }
}

/// [`load_param`] for a parameter the module may not have (a bias).
fn load_optional<const D: usize>(
    param: Option<Param<Tensor<D>>>,
    dict: &StateDict,
    name: &str,
) -> Result<Option<Param<Tensor<D>>>> {
    param.map(|p| load_param(p, dict, name)).transpose()
}

/// Transposes 2-D tensor data (`[a, b]` → `[b, a]`).
pub(crate) fn transpose(data: TensorData) -> TensorData {
    let [a, b] = [data.shape()[0], data.shape()[1]];
    let values = data
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data");
    let mut out = vec![0.0f32; a * b];
    for i in 0..a {
        for j in 0..b {
            out[j * a + i] = values[i * b + j];
        }
    }
    TensorData::new(out, [b, a])
}

impl PytorchWeights for Linear {
    /// `weight` `[d_output, d_input]` and `bias` `[d_output]` (`torch.nn.Linear`).
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = StateDict::default();
        put(
            &mut dict,
            prefix,
            "weight",
            what.read(&self.weight).map(transpose),
        );
        if let Some(bias) = &self.bias {
            put(&mut dict, prefix, "bias", what.read(bias));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        let device = self.weight.val().device();
        let [d_in, d_out] = self.weight.val().dims();
        // Transposed on the host: a contiguous weight runs the same matmul kernel as a
        // freshly initialised one, so a reloaded model reproduces its outputs bit for bit.
        let name = format!("{prefix}weight");
        let weight = transpose(tensor_data(dict, &name, &[d_out, d_in])?);
        self.weight = replace(self.weight, Tensor::from_data(weight, &device));
        self.bias = load_optional(self.bias, dict, &format!("{prefix}bias"))?;
        Ok(self)
    }
}

impl PytorchWeights for Embedding {
    /// `weight` `[n_embedding, d_model]` (`torch.nn.Embedding`).
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = StateDict::default();
        put(&mut dict, prefix, "weight", what.read(&self.weight));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.weight = load_param(self.weight, dict, &format!("{prefix}weight"))?;
        Ok(self)
    }
}

impl PytorchWeights for Conv1d {
    /// `weight` `[channels_out, channels_in / groups, kernel]` and `bias` `[channels_out]`
    /// (`torch.nn.Conv1d`).
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = StateDict::default();
        put(&mut dict, prefix, "weight", what.read(&self.weight));
        if let Some(bias) = &self.bias {
            put(&mut dict, prefix, "bias", what.read(bias));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.weight = load_param(self.weight, dict, &format!("{prefix}weight"))?;
        self.bias = load_optional(self.bias, dict, &format!("{prefix}bias"))?;
        Ok(self)
    }
}

impl PytorchWeights for LayerNorm {
    /// `weight` (burn's gamma) and `bias` (beta), `[d_model]` (`torch.nn.LayerNorm`).
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = StateDict::default();
        put(&mut dict, prefix, "weight", what.read(&self.gamma));
        if let Some(beta) = &self.beta {
            put(&mut dict, prefix, "bias", what.read(beta));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.gamma = load_param(self.gamma, dict, &format!("{prefix}weight"))?;
        self.beta = load_optional(self.beta, dict, &format!("{prefix}bias"))?;
        Ok(self)
    }
}

impl PytorchWeights for MultiHeadAttention {
    /// The four projections as `Linear`s: `query.*`, `key.*`, `value.*`, `output.*`.
    /// (`torch.nn.MultiheadAttention` packs the first three into `in_proj_weight
    /// [3 * d_model, d_model]` in that order and names the last `out_proj`.)
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = StateDict::default();
        for (name, linear) in [
            ("query", &self.query),
            ("key", &self.key),
            ("value", &self.value),
            ("output", &self.output),
        ] {
            dict.extend(linear.export(&format!("{prefix}{name}."), what));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.query = self.query.load(dict, &format!("{prefix}query."))?;
        self.key = self.key.load(dict, &format!("{prefix}key."))?;
        self.value = self.value.load(dict, &format!("{prefix}value."))?;
        self.output = self.output.load(dict, &format!("{prefix}output."))?;
        Ok(self)
    }
}

impl<T: PytorchWeights> PytorchWeights for Option<T> {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        self.as_ref()
            .map(|m| m.export(prefix, what))
            .unwrap_or_default()
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.map(|m| m.load(dict, prefix)).transpose()
    }
}

impl<T: PytorchWeights> PytorchWeights for Vec<T> {
    /// Element `k` under `{prefix}{k}.` (a `torch.nn.ModuleList`).
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = StateDict::default();
        for (k, m) in self.iter().enumerate() {
            dict.extend(m.export(&format!("{prefix}{k}."), what));
        }
        dict
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.into_iter()
            .enumerate()
            .map(|(k, m)| m.load(dict, &format!("{prefix}{k}.")))
            .collect()
    }
}

/// `{prefix}{child}.`: where a child module's tensors go.
pub fn child(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}.")
}
