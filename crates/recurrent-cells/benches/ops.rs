//! The burn ops a recurrent step is made of, on flex and ndarray: the measurements behind the
//! cells' design choices (batched input projection, `tanh` through `sigmoid`).
//!
//! `cargo bench -p recurrent-cells --bench ops`
#![allow(missing_docs)] // criterion's macros generate undocumented items.

use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
}

#[allow(deprecated)] // burn-ndarray is deprecated in burn 0.22 but still supported.
fn devices() -> [(&'static str, Device); 2] {
    [("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

fn projection(c: &mut Criterion) {
    // Config A's input projection: 50 steps of [32, 32] x [32, 512].
    for (name, device) in devices() {
        let w = random([32, 512], &device);
        let flat = random([50 * 32, 32], &device);
        let batched = random([50, 32, 32], &device);
        c.bench_function(&format!("{name}/projection/flat [1600,32]x[32,512]"), |b| {
            b.iter(|| flat.clone().matmul(w.clone()).into_data())
        });
        c.bench_function(
            &format!("{name}/projection/batched 50x[32,32]x[32,512]"),
            |b| {
                b.iter(|| {
                    batched
                        .clone()
                        .matmul(w.clone().unsqueeze::<3>())
                        .into_data()
                })
            },
        );
    }
}

fn activations(c: &mut Criterion) {
    for (name, device) in devices() {
        let x = random([32, 128], &device);
        c.bench_function(&format!("{name}/tanh [32,128]"), |b| {
            b.iter(|| tanh(x.clone()).into_data())
        });
        c.bench_function(&format!("{name}/2*sigmoid(2x)-1 [32,128]"), |b| {
            b.iter(|| (sigmoid(x.clone() * 2.0) * 2.0 - 1.0).into_data())
        });
        c.bench_function(&format!("{name}/sigmoid [32,128]"), |b| {
            b.iter(|| sigmoid(x.clone()).into_data())
        });
        let h = random([32, 128], &device);
        let w = random([128, 512], &device);
        c.bench_function(&format!("{name}/hidden matmul [32,128]x[128,512]"), |b| {
            b.iter(|| h.clone().matmul(w.clone()).into_data())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = projection, activations
}
criterion_main!(benches);
