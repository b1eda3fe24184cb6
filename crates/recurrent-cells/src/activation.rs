//! Activations as the cells compute them.
//!
//! On burn's CPU backends `tanh` and `sigmoid` are scalar loops over a libm call: on
//! `[32, 128]` with flex, `tanh` costs about twice `sigmoid`, and `sigmoid` itself more than
//! `exp` followed by two cheap elementwise ops (`cargo bench -p recurrent-cells --bench ops`).
//! So the cells compute
//!
//! - `tanh(x) = 2 * sigmoid(2x) - 1` (exact identity; agrees with `tanh` to about 1e-7 in
//!   float32, and autodiff differentiates it exactly: `4 s (1 - s) = 1 - tanh^2`), and
//! - `sigmoid(x) = 1 / (1 + exp(-x))` when the tensor is not tracked by autodiff (inference).
//!   With autodiff the fused `sigmoid` is kept: one backward node instead of four, and no
//!   `exp` overflow to differentiate through.

use burn::tensor::Tensor;
use burn::tensor::activation;

/// `sigmoid(x)`: `1 / (1 + exp(-x))` without autodiff, burn's `sigmoid` with it.
///
/// For `x < -88`, `exp(-x)` overflows to infinity and the result is exactly 0, as it should be.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.is_autodiff() {
        activation::sigmoid(x)
    } else {
        ((x * -1.0).exp() + 1.0).recip()
    }
}

/// `tanh(x)`, computed as `2 * sigmoid(2x) - 1`.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    sigmoid(x * 2.0) * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor};

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn agree_with_libm_with_and_without_autodiff() {
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 / 20.0).collect();
        for device in [Device::flex(), Device::flex().autodiff()] {
            let x = Tensor::<1>::from_floats(xs.as_slice(), &device);
            let tanh = values(super::tanh(x.clone()));
            let sigmoid = values(super::sigmoid(x));
            for ((x, t), s) in xs.iter().zip(tanh).zip(sigmoid) {
                assert!(
                    (x.tanh() - t).abs() < 3e-7,
                    "tanh({x}) = {} but got {t}",
                    x.tanh()
                );
                let expected = 1.0 / (1.0 + (-x).exp());
                assert!(
                    (expected - s).abs() < 2e-7,
                    "sigmoid({x}) = {expected} but got {s}"
                );
                assert!(t.is_finite() && s.is_finite());
            }
        }
    }
}
