//! Convolutional front ends: causal padding never looks ahead, centred padding sees both
//! neighbours, pooling shortens lengths, and padding never reaches a valid output.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{lengths, max_diff, seeded, values};
use recurrent_cells::SequenceInput;
use recurrent_zoo::conv::{CharCnnConfig, CnnRecurrentConfig, ConvFrontEndConfig};
use recurrent_zoo::{RecurrentConfig, RecurrentKind};

#[test]
fn causal_convolution_never_sees_the_future() {
    let device = Device::flex();
    device.seed(11);
    // 32 channels: the ReLU after the convolution zeroes about half of them, so a
    // changed step shows in some channel whatever the random initialisation.
    let conv = ConvFrontEndConfig::new(2, 32)
        .with_kernel(3)
        .with_causal(true)
        .init(&device);
    let x = seeded([1, 6, 2], 1, &device);
    // Change steps 4 and 5: outputs 0..=3 stay, outputs 4 and 5 change.
    let later = Tensor::cat(
        vec![x.clone().narrow(1, 0, 4), seeded([1, 2, 2], 7, &device)],
        1,
    );
    let a = values(&conv.try_forward(x, None).unwrap().0);
    let b = values(&conv.try_forward(later, None).unwrap().0);
    assert_eq!(a[..4 * 32], b[..4 * 32]);
    assert_ne!(a[4 * 32..5 * 32], b[4 * 32..5 * 32]);
    assert_ne!(a[5 * 32..], b[5 * 32..]);
}

#[test]
fn centred_convolution_sees_the_next_step_and_pools_lengths() {
    let device = Device::flex();
    let conv = ConvFrontEndConfig::new(2, 4)
        .with_kernel(3)
        .with_pool(2)
        .init(&device);
    let x = seeded([2, 6, 2], 1, &device);
    let (y, l) = conv
        .try_forward(x, Some(lengths(&[6, 3], &device)))
        .unwrap();
    assert_eq!(y.dims(), [2, 3, 4]);
    let l: Vec<i64> = l
        .unwrap()
        .into_data()
        .convert::<i64>()
        .try_into_vec()
        .unwrap();
    assert_eq!(l, vec![3, 1]);
    let err = conv
        .try_forward(Tensor::zeros([1, 1, 2], &device), None)
        .unwrap_err();
    assert!(err.to_string().contains("seq >= 2"), "{err}");
    assert!(
        ConvFrontEndConfig::new(2, 4)
            .with_kernel(4)
            .try_init(&device)
            .is_err()
    );
}

#[test]
fn a_cnn_rnn_hybrid_ignores_padding() {
    let device = Device::flex();
    let model = CnnRecurrentConfig::stacked(
        ConvFrontEndConfig::new(3, 5),
        RecurrentConfig::new(RecurrentKind::Lstm, 0, 4),
    )
    .init(&device);
    let lens = [6, 2];
    let x = seeded([2, 6, 3], 2, &device);
    let mask = recurrent_cells::lengths_to_mask(lengths(&lens, &device), 6)
        .float()
        .unsqueeze_dim::<3>(2);
    let x2 = x.clone() * mask.clone() + seeded([2, 6, 3], 5, &device) * (mask.neg() + 1.0);
    let run = |t| {
        let (out, state, _) = model
            .try_forward_input(SequenceInput::new(t).lengths(lengths(&lens, &device)))
            .unwrap();
        (values(&out), values(&state.hidden()))
    };
    let (a, b) = (run(x), run(x2));
    assert!(max_diff(&a.0, &b.0) < 1e-6 && max_diff(&a.1, &b.1) < 1e-6);
}

#[test]
fn char_cnn_features_ignore_padding_characters() {
    let device = Device::flex();
    let cnn = CharCnnConfig::new(10)
        .with_features(6)
        .try_init(&device)
        .unwrap();
    // Token 0: "3 4 5"; token 1: "3 4" padded; token 2: no characters.
    let ids = |pad: i64| {
        Tensor::<3, Int>::from_data(
            TensorData::new(vec![3i64, 4, 5, 3, 4, pad, 0, 0, 0], [1, 3, 3]),
            &device,
        )
    };
    let a = values(&cnn.forward(ids(0)));
    let alone = values(&cnn.forward(Tensor::from_data(
        TensorData::new(vec![3i64, 4], [1, 1, 2]),
        &device,
    )));
    assert!(
        max_diff(&a[6..12], &alone) < 1e-6,
        "padding changes nothing"
    );
    assert!(
        a[12..18].iter().all(|&v| v == 0.0),
        "no characters: zero features"
    );
    assert!(a.iter().all(|&v| v >= 0.0));
}
