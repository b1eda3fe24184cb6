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
