//! Our layers against burn-nn's in the same run, on the flex CPU backend.
//!
//! Config A of `shared/anchors`: batch 32, seq 50, d_input 32, d_hidden 128; forward, and
//! forward plus backward of `output.sum()`. Run with `cargo xtask bench` (or
//! `cargo bench -p recurrent-cells --bench rnn`); the ratio ours / burn-nn is the figure
//! to report, since absolute times on a shared machine are noisy.
#![allow(missing_docs)] // criterion's macros generate undocumented items.

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use recurrent_cells::prelude::*;

const BATCH: usize = 32;
const SEQ: usize = 50;
const D_INPUT: usize = 32;
const D_HIDDEN: usize = 128;

fn input(device: &Device) -> Tensor<3> {
    Tensor::random(
        [BATCH, SEQ, D_INPUT],
        Distribution::Uniform(-1.0, 1.0),
        device,
    )
}

/// Times `forward` alone on `device` and forward + backward on its autodiff twin.
fn pair(
    c: &mut Criterion,
    name: &str,
    forward: impl Fn(Tensor<3>) -> Tensor<3>,
    forward_ad: impl Fn(Tensor<3>) -> Tensor<3>,
) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let x = input(&device);
    let x_ad = input(&ad);
    c.bench_function(&format!("{name}/fwd"), |b| {
        b.iter(|| forward(x.clone()).into_data())
    });
    c.bench_function(&format!("{name}/fwd+bwd"), |b| {
        b.iter(|| {
            let grads = forward_ad(x_ad.clone()).sum().backward();
            drop(grads);
        })
    });
}

fn lstm(c: &mut Criterion) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let ours = LstmConfig::new(D_INPUT, D_HIDDEN).init(&device);
    let ours_ad = LstmConfig::new(D_INPUT, D_HIDDEN).init(&ad);
    pair(
        c,
        "lstm/ours",
        |x| ours.forward(x, None).0,
        |x| ours_ad.forward(x, None).0,
    );
    let theirs = burn::nn::LstmConfig::new(D_INPUT, D_HIDDEN, true).init(&device);
    let theirs_ad = burn::nn::LstmConfig::new(D_INPUT, D_HIDDEN, true).init(&ad);
    pair(
        c,
        "lstm/burn-nn",
        |x| theirs.forward(x, None).0,
        |x| theirs_ad.forward(x, None).0,
    );
}

fn gru(c: &mut Criterion) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let ours = GruConfig::new(D_INPUT, D_HIDDEN).init(&device);
    let ours_ad = GruConfig::new(D_INPUT, D_HIDDEN).init(&ad);
    pair(
        c,
        "gru/ours",
        |x| ours.forward(x, None).0,
        |x| ours_ad.forward(x, None).0,
    );
    let theirs = burn::nn::GruConfig::new(D_INPUT, D_HIDDEN, true).init(&device);
    let theirs_ad = burn::nn::GruConfig::new(D_INPUT, D_HIDDEN, true).init(&ad);
    pair(
        c,
        "gru/burn-nn",
        |x| theirs.forward(x, None),
        |x| theirs_ad.forward(x, None),
    );
}

fn rnn(c: &mut Criterion) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let ours = RnnConfig::new(D_INPUT, D_HIDDEN).init(&device);
    let ours_ad = RnnConfig::new(D_INPUT, D_HIDDEN).init(&ad);
    pair(
        c,
        "rnn-tanh/ours",
        |x| ours.forward(x, None).0,
        |x| ours_ad.forward(x, None).0,
    );
    let theirs = burn::nn::RnnConfig::new(D_INPUT, D_HIDDEN, true).init(&device);
    let theirs_ad = burn::nn::RnnConfig::new(D_INPUT, D_HIDDEN, true).init(&ad);
    pair(
        c,
        "rnn-tanh/burn-nn",
        |x| theirs.forward(x, None).0,
        |x| theirs_ad.forward(x, None).0,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(4));
    targets = lstm, gru, rnn
}
criterion_main!(benches);
