//! Helpers shared by the integration tests.
#![allow(dead_code)]

use burn::tensor::{Device, Distribution, Tensor};

/// The CPU backends every test runs on.
#[allow(deprecated)] // burn-ndarray is deprecated in burn 0.22 but still a supported backend.
pub fn cpu_devices() -> Vec<(&'static str, Device)> {
    vec![("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

/// The default test device.
pub fn device() -> Device {
    Device::flex()
}

/// A seeded uniform random tensor in [-1, 1).
pub fn uniform<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
}

/// Host values of a tensor.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().try_into_vec_as::<f32>().unwrap()
}

/// Largest absolute difference between two tensors of the same shape.
pub fn max_diff<const D: usize>(a: &Tensor<D>, b: &Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    values(a)
        .iter()
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Deterministic uniform values in [-scale, scale) from a 64-bit LCG, so that tests do not
/// depend on the backend's random stream (shared by tests running in parallel).
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
    Tensor::from_data(
        burn::tensor::TensorData::new(lcg_values(n, seed, 1.0), shape),
        device,
    )
}

/// Replaces every weight of `layer` with deterministic values in [-0.5, 0.5).
pub fn seeded_weights<L: recurrent_cells::RecurrentLayer>(layer: L, seed: u64) -> L {
    let mut dict = layer.state_dict("");
    let names: Vec<String> = dict.names().map(str::to_string).collect();
    for (k, name) in names.iter().enumerate() {
        let shape = dict.get(name).unwrap().shape().to_vec();
        let n = shape.iter().product();
        let values = lcg_values(n, seed + k as u64, 0.5);
        dict.insert(name.clone(), burn::tensor::TensorData::new(values, shape));
    }
    layer.load_state_dict(&dict, "").unwrap()
}
