//! Fused gate weights shared by every cell, and their mapping to PyTorch's layout.
//!
//! A cell with `G` gates keeps two matrices instead of `2 * G` small ones:
//! `weight_ih: [d_input, G * d_hidden]` and `weight_hh: [d_hidden, G * d_hidden]`. The input
//! projection of a whole sequence is then one matmul, and each step one more. PyTorch stores
//! the same numbers transposed (`[G * d_hidden, d_input]`), and its gate order may differ from
//! the order a cell computes in; [`GateOrder`] records that permutation so weights move
//! between the two layouts exactly.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor, TensorData};

use crate::{Error, Result};

/// How the gate blocks of a cell are ordered relative to PyTorch's.
///
/// `internal[k] = pytorch[order[k]]`: block `k` of our fused matrices holds PyTorch's gate
/// block `order[k]`.
#[derive(Debug, Clone, Copy)]
pub struct GateOrder(pub &'static [usize]);

impl GateOrder {
    /// Number of gates.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no gates (never true for a real cell).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The weights of one cell in one direction of one layer.
#[derive(Module, Debug)]
pub struct FusedGates {
    /// Input-to-hidden weights, `[d_input, n_gates * d_hidden]`.
    pub weight_ih: Param<Tensor<2>>,
    /// Hidden-to-hidden weights, `[d_hidden, n_gates * d_hidden]`.
    pub weight_hh: Param<Tensor<2>>,
    /// Input-to-hidden bias, `[n_gates * d_hidden]`.
    pub bias_ih: Option<Param<Tensor<1>>>,
    /// Hidden-to-hidden bias, `[n_gates * d_hidden]`.
    pub bias_hh: Option<Param<Tensor<1>>>,
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state.
    pub d_hidden: usize,
    /// Number of gate blocks.
    pub n_gates: usize,
}

impl FusedGates {
    /// New weights drawn by `initializer`, or PyTorch's `U(-1/sqrt(d_hidden), 1/sqrt(d_hidden))`
    /// when it is `None`.
    pub fn new(
        d_input: usize,
        d_hidden: usize,
        n_gates: usize,
        bias: bool,
        initializer: Option<&Initializer>,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (d_hidden as f64).sqrt();
        let default = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        let init = initializer.unwrap_or(&default);
        let width = n_gates * d_hidden;
        let fan_in_ih = Some(d_input);
        let fan_in_hh = Some(d_hidden);
        let fan_out = Some(width);
        Self {
            weight_ih: init.init_with([d_input, width], fan_in_ih, fan_out, device),
            weight_hh: init.init_with([d_hidden, width], fan_in_hh, fan_out, device),
            bias_ih: bias.then(|| init.init_with([width], fan_in_ih, fan_out, device)),
            bias_hh: bias.then(|| init.init_with([width], fan_in_hh, fan_out, device)),
            d_input,
            d_hidden,
            n_gates,
        }
    }

    /// Projects inputs onto every gate, adding the biases that sit outside the recurrence.
    ///
    /// `input: [..., d_input]` → `[..., n_gates * d_hidden]`. `bias_hh` is added here too when
    /// `fold_hidden_bias` is true (every cell but GRU's candidate gate can fold it).
    ///
    /// A sequence is projected as `[seq, batch, d_input]`, a batch of `seq` matmuls: on the
    /// CPU backends that is several times faster than one `[seq * batch, d_input]` matmul,
    /// whose narrow inner dimension their kernels handle poorly (7x on flex, 1.7x on ndarray
    /// for 50 steps of `[32, 32] x [32, 512]`).
    pub fn project<const D: usize>(&self, input: Tensor<D>, fold_hidden_bias: bool) -> Tensor<D> {
        let mut out = input.matmul(self.weight_ih.val().unsqueeze::<D>());
        let bias = match (&self.bias_ih, &self.bias_hh, fold_hidden_bias) {
            (Some(ih), Some(hh), true) => Some(ih.val() + hh.val()),
            (Some(ih), _, _) => Some(ih.val()),
            (None, Some(hh), true) => Some(hh.val()),
            _ => None,
        };
        if let Some(bias) = bias {
            out = out + bias.unsqueeze::<D>();
        }
        out
    }

    /// Loads PyTorch's tensors (`weight_ih [G*H, d_input]`, `weight_hh [G*H, H]`, and the
    /// biases `[G*H]` when this cell has them) into these weights.
    ///
    /// `names` gives the PyTorch name of each tensor, used in error messages.
    pub fn load_pytorch(
        mut self,
        order: GateOrder,
        tensors: PytorchGates<'_>,
        device: &Device,
    ) -> Result<Self> {
        let width = self.n_gates * self.d_hidden;
        let [w_ih_name, w_hh_name, b_ih_name, b_hh_name] = tensors.names;
        let w_ih = to_internal_matrix(tensors.weight_ih, w_ih_name, [width, self.d_input], order)?;
        let w_hh = to_internal_matrix(tensors.weight_hh, w_hh_name, [width, self.d_hidden], order)?;
        self.weight_ih = replace(self.weight_ih, w_ih, device);
        self.weight_hh = replace(self.weight_hh, w_hh, device);
        match (self.bias_ih.take(), tensors.bias_ih) {
            (Some(p), Some(data)) => {
                let b = to_internal_vector(data, b_ih_name, width, order)?;
                self.bias_ih = Some(replace(p, b, device));
            }
            (Some(_), None) => return Err(missing(b_ih_name)),
            (None, Some(_)) => return Err(unexpected(b_ih_name)),
            (None, None) => {}
        }
        match (self.bias_hh.take(), tensors.bias_hh) {
            (Some(p), Some(data)) => {
                let b = to_internal_vector(data, b_hh_name, width, order)?;
                self.bias_hh = Some(replace(p, b, device));
            }
            (Some(_), None) => return Err(missing(b_hh_name)),
            (None, Some(_)) => return Err(unexpected(b_hh_name)),
            (None, None) => {}
        }
        Ok(self)
    }

    /// These weights in PyTorch's layout, in the order `weight_ih, weight_hh, bias_ih, bias_hh`
    /// (biases only when present).
    ///
    /// `read` turns each internal parameter into data: its value, or its gradient. A `None`
    /// from `read` leaves that tensor out.
    pub fn export_pytorch(
        &self,
        order: GateOrder,
        read: &dyn Fn(ParamRef<'_>) -> Option<TensorData>,
    ) -> [Option<TensorData>; 4] {
        let w_ih = read(ParamRef::Matrix(&self.weight_ih)).map(|d| to_pytorch_matrix(d, order));
        let w_hh = read(ParamRef::Matrix(&self.weight_hh)).map(|d| to_pytorch_matrix(d, order));
        let b_ih = self
            .bias_ih
            .as_ref()
            .and_then(|p| read(ParamRef::Vector(p)))
            .map(|d| to_pytorch_vector(d, order));
        let b_hh = self
            .bias_hh
            .as_ref()
            .and_then(|p| read(ParamRef::Vector(p)))
            .map(|d| to_pytorch_vector(d, order));
        [w_ih, w_hh, b_ih, b_hh]
    }
}

/// A parameter of [`FusedGates`], handed to the reader of [`FusedGates::export_pytorch`].
#[derive(Debug, Clone, Copy)]
pub enum ParamRef<'a> {
    /// A weight matrix.
    Matrix(&'a Param<Tensor<2>>),
    /// A bias vector.
    Vector(&'a Param<Tensor<1>>),
}

/// PyTorch's tensors of one cell, borrowed from a state dict, with their names.
#[derive(Debug)]
pub struct PytorchGates<'a> {
    /// `weight_ih_l{k}`.
    pub weight_ih: &'a TensorData,
    /// `weight_hh_l{k}`.
    pub weight_hh: &'a TensorData,
    /// `bias_ih_l{k}`, if the state dict has it.
    pub bias_ih: Option<&'a TensorData>,
    /// `bias_hh_l{k}`, if the state dict has it.
    pub bias_hh: Option<&'a TensorData>,
    /// The four PyTorch names, for error messages.
    pub names: [&'a str; 4],
}

fn missing(name: &str) -> Error {
    Error::MissingTensor {
        name: name.to_string(),
        available: "the other tensors of this cell, but no bias".to_string(),
    }
}

fn unexpected(name: &str) -> Error {
    Error::UnexpectedTensor {
        name: name.to_string(),
    }
}

pub(crate) fn replace<const D: usize>(
    param: Param<Tensor<D>>,
    data: TensorData,
    device: &Device,
) -> Param<Tensor<D>> {
    let mut loaded = Param::from_tensor(Tensor::<D>::from_data(data, device));
    loaded.id = param.id;
    loaded
}

/// Reads a float tensor as `f32`, whatever float type it was stored in.
pub(crate) fn f32_values(data: &TensorData, name: &str) -> Result<Vec<f32>> {
    use burn::tensor::DType;
    match data.dtype() {
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => Ok(data
            .try_to_vec_as::<f32>()
            .expect("a float tensor converts to f32")),
        other => Err(Error::DType {
            name: name.to_string(),
            dtype: format!("{other:?}"),
        }),
    }
}

fn check_shape(data: &TensorData, name: &str, expected: &[usize]) -> Result<()> {
    let actual = data.shape().as_slice();
    if actual != expected {
        return Err(Error::shape(name, expected, actual));
    }
    Ok(())
}

/// PyTorch `[G*H, cols]` → internal `[cols, G*H]` with gate blocks reordered.
fn to_internal_matrix(
    data: &TensorData,
    name: &str,
    shape: [usize; 2],
    order: GateOrder,
) -> Result<TensorData> {
    check_shape(data, name, &shape)?;
    let values = f32_values(data, name)?;
    let [rows, cols] = shape;
    let hidden = rows / order.len();
    let mut out = vec![0.0f32; rows * cols];
    for (block, &src_block) in order.0.iter().enumerate() {
        for r in 0..hidden {
            let src_row = src_block * hidden + r;
            let dst_col = block * hidden + r;
            for c in 0..cols {
                out[c * rows + dst_col] = values[src_row * cols + c];
            }
        }
    }
    Ok(TensorData::new(out, [cols, rows]))
}

pub(crate) fn to_internal_vector(
    data: &TensorData,
    name: &str,
    width: usize,
    order: GateOrder,
) -> Result<TensorData> {
    check_shape(data, name, &[width])?;
    let values = f32_values(data, name)?;
    let hidden = width / order.len();
    let mut out = vec![0.0f32; width];
    for (block, &src_block) in order.0.iter().enumerate() {
        out[block * hidden..(block + 1) * hidden]
            .copy_from_slice(&values[src_block * hidden..(src_block + 1) * hidden]);
    }
    Ok(TensorData::new(out, [width]))
}

/// Internal `[cols, G*H]` → PyTorch `[G*H, cols]`.
fn to_pytorch_matrix(data: TensorData, order: GateOrder) -> TensorData {
    let [cols, rows] = [data.shape()[0], data.shape()[1]];
    let values = data.try_into_vec_as::<f32>().expect("f32 data");
    let hidden = rows / order.len();
    let mut out = vec![0.0f32; rows * cols];
    for (block, &dst_block) in order.0.iter().enumerate() {
        for r in 0..hidden {
            let src_col = block * hidden + r;
            let dst_row = dst_block * hidden + r;
            for c in 0..cols {
                out[dst_row * cols + c] = values[c * rows + src_col];
            }
        }
    }
    TensorData::new(out, [rows, cols])
}

pub(crate) fn to_pytorch_vector(data: TensorData, order: GateOrder) -> TensorData {
    let width = data.shape()[0];
    let values = data.try_into_vec_as::<f32>().expect("f32 data");
    let hidden = width / order.len();
    let mut out = vec![0.0f32; width];
    for (block, &dst_block) in order.0.iter().enumerate() {
        out[dst_block * hidden..(dst_block + 1) * hidden]
            .copy_from_slice(&values[block * hidden..(block + 1) * hidden]);
    }
    TensorData::new(out, [width])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_layout_round_trips_with_reordered_gates() {
        // Four gates of hidden size 1 over two input columns: PyTorch rows are
        // i=[1,2], f=[3,4], g=[5,6], o=[7,8]; internally the order is i, f, o, g.
        let order = GateOrder(&[0, 1, 3, 2]);
        let pytorch = TensorData::new(vec![1.0f32, 2., 3., 4., 5., 6., 7., 8.], [4, 2]);
        let internal = to_internal_matrix(&pytorch, "w", [4, 2], order).unwrap();
        assert_eq!(internal.shape().as_slice(), &[2, 4]);
        // Column k of the internal matrix is gate block k: i, f, o, g.
        assert_eq!(
            internal.try_to_vec::<f32>().unwrap(),
            vec![1.0, 3.0, 7.0, 5.0, 2.0, 4.0, 8.0, 6.0]
        );
        let back = to_pytorch_matrix(internal, order);
        assert_eq!(
            back.try_to_vec::<f32>().unwrap(),
            pytorch.try_to_vec::<f32>().unwrap()
        );

        let bias = TensorData::new(vec![1.0f32, 2., 3., 4.], [4]);
        let internal = to_internal_vector(&bias, "b", 4, order).unwrap();
        assert_eq!(
            internal.try_to_vec::<f32>().unwrap(),
            vec![1.0, 2.0, 4.0, 3.0]
        );
        let back = to_pytorch_vector(internal, order);
        assert_eq!(back.try_to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn wrong_shape_names_the_tensor_and_both_shapes() {
        let order = GateOrder(&[0]);
        let data = TensorData::new(vec![0.0f32; 6], [3, 2]);
        let err = to_internal_matrix(&data, "weight_ih_l0", [4, 2], order).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("weight_ih_l0"), "{msg}");
        assert!(msg.contains("[4, 2]") && msg.contains("[3, 2]"), "{msg}");
    }
}
