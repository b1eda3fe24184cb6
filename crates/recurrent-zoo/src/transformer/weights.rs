//! burn's Transformer layers under PyTorch's names (`nn.TransformerEncoderLayer`,
//! `nn.TransformerDecoderLayer`, `nn.MultiheadAttention` with its packed input projection).

use burn::nn::attention::MultiHeadAttention;
use burn::nn::transformer::{
    PositionWiseFeedForward, TransformerDecoderLayer, TransformerEncoderLayer,
};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Tensor, TensorData};
use recurrent_cells::StateDict;

use crate::error::Result;
use crate::weights::{Export, PytorchWeights, child, put, replace, tensor_data, transpose};

/// Rows of 2-D (or 1-D) `parts` stacked into one tensor, PyTorch's `torch.cat(dim=0)`.
fn cat_rows(parts: Vec<TensorData>) -> TensorData {
    let cols: usize = parts[0].shape().iter().skip(1).product();
    let rows: usize = parts.iter().map(|p| p.shape()[0]).sum();
    let mut shape = parts[0].shape().to_vec();
    shape[0] = rows;
    let mut values = Vec::with_capacity(rows * cols);
    for part in parts {
        values.extend(
            part.convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 weights"),
        );
    }
    TensorData::new(values, shape)
}

/// Rows `[k * n, (k + 1) * n)` of `data` (2-D or 1-D).
fn rows(data: &TensorData, k: usize, n: usize) -> TensorData {
    let cols: usize = data.shape().iter().skip(1).product();
    let values = data
        .clone()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 weights");
    let mut shape = data.shape().to_vec();
    shape[0] = n;
    TensorData::new(values[k * n * cols..(k + 1) * n * cols].to_vec(), shape)
}

/// `nn.MultiheadAttention`'s names: `in_proj_weight` `[3 d, d]` (query, key, value rows),
/// `in_proj_bias` `[3 d]`, `out_proj.weight`, `out_proj.bias`.
pub(crate) fn export_packed_attention(
    mha: &MultiHeadAttention,
    prefix: &str,
    what: Export<'_>,
) -> StateDict {
    let mut dict = StateDict::default();
    let projections = [&mha.query, &mha.key, &mha.value];
    let weights: Option<Vec<TensorData>> = projections
        .iter()
        .map(|l| what.read(&l.weight).map(transpose))
        .collect();
    put(&mut dict, prefix, "in_proj_weight", weights.map(cat_rows));
    let biases: Option<Vec<TensorData>> = projections
        .iter()
        .map(|l| l.bias.as_ref().and_then(|b| what.read(b)))
        .collect();
    put(&mut dict, prefix, "in_proj_bias", biases.map(cat_rows));
    dict.extend(mha.output.export(&child(prefix, "out_proj"), what));
    dict
}

/// Loads what [`export_packed_attention`] writes.
pub(crate) fn load_packed_attention(
    mut mha: MultiHeadAttention,
    dict: &StateDict,
    prefix: &str,
) -> Result<MultiHeadAttention> {
    let d = mha.d_model;
    let weight = tensor_data(dict, &format!("{prefix}in_proj_weight"), &[3 * d, d])?;
    let bias = tensor_data(dict, &format!("{prefix}in_proj_bias"), &[3 * d])?;
    let load = |linear: Linear, k: usize| -> Linear {
        let device = linear.weight.val().device();
        let mut linear = linear;
        let w = transpose(rows(&weight, k, d));
        linear.weight = replace(linear.weight, Tensor::from_data(w, &device));
        linear.bias = linear
            .bias
            .map(|b| replace(b, Tensor::from_data(rows(&bias, k, d), &device)));
        linear
    };
    mha.query = load(mha.query, 0);
    mha.key = load(mha.key, 1);
    mha.value = load(mha.value, 2);
    mha.output = mha.output.load(dict, &child(prefix, "out_proj"))?;
    Ok(mha)
}

impl PytorchWeights for PositionWiseFeedForward {
    /// The layer-level names PyTorch gives the feed-forward: `linear1.*`, `linear2.*`.
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.linear_inner.export(&child(prefix, "linear1"), what);
        dict.extend(self.linear_outer.export(&child(prefix, "linear2"), what));
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.linear_inner = self.linear_inner.load(dict, &child(prefix, "linear1"))?;
        self.linear_outer = self.linear_outer.load(dict, &child(prefix, "linear2"))?;
        Ok(self)
    }
}

/// burn's encoder layer keeps its norms under other names than PyTorch: post-norm
/// `norm_1` (after attention) and `norm_2` (after the feed-forward) are PyTorch's `norm1`
/// and `norm2`; pre-norm applies `norm_2` before attention and `norm_1` before the
/// feed-forward, so the names swap.
fn encoder_norms(layer: &TransformerEncoderLayer) -> [(&'static str, &LayerNorm); 2] {
    if layer.norm_first {
        [("norm1", &layer.norm_2), ("norm2", &layer.norm_1)]
    } else {
        [("norm1", &layer.norm_1), ("norm2", &layer.norm_2)]
    }
}

impl PytorchWeights for TransformerEncoderLayer {
    /// `nn.TransformerEncoderLayer`'s names: `self_attn.in_proj_weight`,
    /// `self_attn.in_proj_bias`, `self_attn.out_proj.*`, `linear1.*`, `linear2.*`,
    /// `norm1.*`, `norm2.*`.
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = export_packed_attention(&self.mha, &child(prefix, "self_attn"), what);
        dict.extend(self.pwff.export(prefix, what));
        for (name, norm) in encoder_norms(self) {
            dict.extend(norm.export(&child(prefix, name), what));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.mha = load_packed_attention(self.mha, dict, &child(prefix, "self_attn"))?;
        self.pwff = self.pwff.load(dict, prefix)?;
        let (first, second) = if self.norm_first {
            ("norm2", "norm1")
        } else {
            ("norm1", "norm2")
        };
        self.norm_1 = self.norm_1.load(dict, &child(prefix, first))?;
        self.norm_2 = self.norm_2.load(dict, &child(prefix, second))?;
        Ok(self)
    }
}

impl PytorchWeights for TransformerDecoderLayer {
    /// `nn.TransformerDecoderLayer`'s names: `self_attn.*`, `multihead_attn.*` (packed as
    /// above), `linear1.*`, `linear2.*`, `norm1.*` (self-attention), `norm2.*`
    /// (cross-attention), `norm3.*` (feed-forward). burn's post-norm `norm_1`, `norm_2`,
    /// `norm_3` are those; pre-norm it applies `norm_3`, `norm_1`, `norm_2` in that order.
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = export_packed_attention(&self.self_attn, &child(prefix, "self_attn"), what);
        dict.extend(export_packed_attention(
            &self.cross_attn,
            &child(prefix, "multihead_attn"),
            what,
        ));
        dict.extend(self.pwff.export(prefix, what));
        let norms = if self.norm_first {
            [&self.norm_3, &self.norm_1, &self.norm_2]
        } else {
            [&self.norm_1, &self.norm_2, &self.norm_3]
        };
        for (name, norm) in ["norm1", "norm2", "norm3"].into_iter().zip(norms) {
            dict.extend(norm.export(&child(prefix, name), what));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.self_attn = load_packed_attention(self.self_attn, dict, &child(prefix, "self_attn"))?;
        self.cross_attn =
            load_packed_attention(self.cross_attn, dict, &child(prefix, "multihead_attn"))?;
        self.pwff = self.pwff.load(dict, prefix)?;
        let [n1, n2, n3] = if self.norm_first {
            ["norm2", "norm3", "norm1"]
        } else {
            ["norm1", "norm2", "norm3"]
        };
        self.norm_1 = self.norm_1.load(dict, &child(prefix, n1))?;
        self.norm_2 = self.norm_2.load(dict, &child(prefix, n2))?;
        self.norm_3 = self.norm_3.load(dict, &child(prefix, n3))?;
        Ok(self)
    }
}
