//! The forecaster's autoregressive roll-out: feeding every true row in one pass equals the
//! step-by-step roll-out fed the same rows; free running equals feeding none; the level
//! column changes what is fed.

use burn::tensor::{Device, Tensor, TensorData};
use recurrent_zoo::RecurrentKind;
use recurrent_zoo::models::ForecasterConfig;

#[test]
fn autoregressive_fast_path_matches_step_by_step_teacher_forcing() {
    let device = Device::flex();
    device.seed(3);
    let (b, lookback, horizon, f) = (2, 5, 4, 2);
    let model = ForecasterConfig::new(f, f)
        .with_kind(RecurrentKind::Gru)
        .with_d_hidden(6)
        .with_n_layers(2)
        .init(&device);
    let values: Vec<f32> = (0..b * lookback * f)
        .map(|i| (i as f32 * 0.37).sin())
        .collect();
    let x: Tensor<3> = Tensor::from_data(TensorData::new(values, [b, lookback, f]), &device);
    let truth_values: Vec<f32> = (0..b * horizon * f)
        .map(|i| (i as f32 * 0.91).cos())
        .collect();
    let truth: Tensor<3> =
        Tensor::from_data(TensorData::new(truth_values, [b, horizon, f]), &device);
    let ones = Tensor::<3>::ones([b, horizon - 1, 1], &device);
    let zeros = Tensor::<3>::zeros([b, horizon - 1, 1], &device);
    let fast = model
        .forward_autoregressive(
            x.clone(),
            horizon,
            Some((truth.clone(), ones.clone())),
            true,
            None,
        )
        .unwrap();
    let slow = model
        .forward_autoregressive(x.clone(), horizon, Some((truth.clone(), ones)), false, None)
        .unwrap();
    let free = model
        .forward_autoregressive(x.clone(), horizon, None, false, None)
        .unwrap();
    let never = model
        .forward_autoregressive(x.clone(), horizon, Some((truth, zeros)), false, None)
        .unwrap();
    assert_eq!(fast.dims(), [b, horizon, f]);
    let max_diff = |a: Tensor<3>, b: Tensor<3>| (a - b).abs().max().into_scalar::<f32>();
    assert!(max_diff(fast.clone(), slow) < 1e-5);
    assert!(max_diff(free.clone(), never) < 1e-6);
    // the first step sees no fed value; later steps differ between truth and prediction
    assert!(
        max_diff(
            fast.clone().slice([0..b, 0..1, 0..f]),
            free.clone().slice([0..b, 0..1, 0..f])
        ) < 1e-6
    );
    assert!(max_diff(fast, free) > 1e-4);

    // with a level column (last-level normalisation) the fed rows get `target + base`
    let model = ForecasterConfig::new(f + 1, f)
        .with_d_hidden(6)
        .with_n_layers(1)
        .init(&device);
    let level_x: Vec<f32> = (0..b * lookback * (f + 1))
        .map(|i| (i as f32 * 0.21).sin())
        .collect();
    let level_x: Tensor<3> =
        Tensor::from_data(TensorData::new(level_x, [b, lookback, f + 1]), &device);
    let base: Tensor<3> =
        Tensor::from_data(TensorData::new(vec![0.5f32, -1.0], [b, 1, 1]), &device);
    let truth: Tensor<3> = Tensor::from_data(
        TensorData::new(
            (0..b * horizon * f)
                .map(|i| i as f32 * 0.1)
                .collect::<Vec<f32>>(),
            [b, horizon, f],
        ),
        &device,
    );
    let ones = Tensor::<3>::ones([b, horizon - 1, 1], &device);
    let fast = model
        .forward_autoregressive(
            level_x.clone(),
            horizon,
            Some((truth.clone(), ones.clone())),
            true,
            Some(base.clone()),
        )
        .unwrap();
    let slow = model
        .forward_autoregressive(
            level_x.clone(),
            horizon,
            Some((truth.clone(), ones.clone())),
            false,
            Some(base.clone()),
        )
        .unwrap();
    assert!(max_diff(fast.clone(), slow) < 1e-5);
    // a different level changes the forecast after the first step
    let other = model
        .forward_autoregressive(
            level_x,
            horizon,
            Some((truth, ones)),
            true,
            Some(base.add_scalar(3.0)),
        )
        .unwrap();
    assert!(max_diff(fast, other) > 1e-4);
}
