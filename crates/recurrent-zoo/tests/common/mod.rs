//! Helpers shared by the zoo's integration tests.
#![allow(dead_code)]

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The CPU backends every test runs on.
#[allow(deprecated)] // burn-ndarray is deprecated in burn 0.22 but still a supported backend.
pub fn cpu_devices() -> Vec<(&'static str, Device)> {
    vec![("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

/// Deterministic values in [-scale, scale) from a 64-bit LCG (independent of the backend's
/// random stream).
pub fn lcg_values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * unit - 1.0) * scale
        })
        .collect()
}

/// A deterministic tensor of [`lcg_values`].
pub fn seeded<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(lcg_values(n, seed, 1.0), shape), device)
}

/// Host values of a tensor.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

/// Lengths on `device`.
pub fn lengths(values: &[usize], device: &Device) -> Tensor<1, Int> {
    recurrent_cells::lengths_tensor(values, device)
}

/// Largest absolute difference.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// `x` (`[batch, seq, d]`) with each sequence's first `lengths[b]` steps reversed in place
/// (padding left where it is): what a backward direction reads.
pub fn reverse_valid(x: &Tensor<3>, lengths: &[usize]) -> Tensor<3> {
    let [batch, seq, d] = x.dims();
    let v = values(x);
    let mut out = v.clone();
    for (b, &length) in lengths.iter().enumerate().take(batch) {
        for t in 0..length {
            let src = (b * seq + (length - 1 - t)) * d;
            let dst = (b * seq + t) * d;
            out[dst..dst + d].copy_from_slice(&v[src..src + d]);
        }
    }
    Tensor::from_data(TensorData::new(out, [batch, seq, d]), &x.device())
}
