//! The tutorial task's loop: deterministic under a seed, finite, one record per epoch, and
//! PyTorch-named weights.

use std::sync::Mutex;

use burn::tensor::Device;
use recurrent_train::{FitEvent, TutorialConfig, train_tutorial};
use recurrent_zoo::{PytorchWeights, RecurrentKind};

/// burn's device random generator is global to the process: tests that seed it and draw
/// weights take turns, so that a seed gives the same weights.
static RNG: Mutex<()> = Mutex::new(());

fn small(cell: RecurrentKind) -> TutorialConfig {
    let mut config = TutorialConfig::new(cell);
    config.samples = 64;
    config.fit.epochs = 3;
    config.batch_size = 16;
    config.fit.lr = 1e-2;
    config
}

#[test]
fn same_seed_same_run_and_one_record_per_epoch() {
    let _turn = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    for cell in RecurrentKind::ALL {
        let config = small(cell);
        let mut lines = 0;
        let (_, a) = train_tutorial(&config, &device, |e| {
            if matches!(e, FitEvent::EpochEnd(_)) {
                lines += 1
            }
        })
        .unwrap();
        let (_, b) = train_tutorial(&config, &device, |_| {}).unwrap();
        assert_eq!(lines, 3);
        assert_eq!(a.history.len(), 3);
        for (ra, rb) in a.history.records().iter().zip(b.history.records()) {
            let (la, lb) = (ra.train["loss"], rb.train["loss"]);
            assert!(la.is_finite() && (0.0..=1.0).contains(&ra.train["accuracy"]));
            assert_eq!(la, lb, "{cell:?}: same seed, different loss");
        }
    }
}

#[test]
fn training_fits_the_random_labels_a_little() {
    // With a high learning rate and many epochs, a model memorises part of 64 random
    // labels: the training loss falls below its first-epoch value.
    let _turn = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let mut config = small(RecurrentKind::Gru);
    config.fit.epochs = 30;
    let (_, run) = train_tutorial(&config, &device, |_| {}).unwrap();
    let records = run.history.records();
    let first = records[0].train["loss"];
    let last = records[records.len() - 1].train["loss"];
    assert!(last < first - 0.02, "loss {first} -> {last}");
}

#[test]
fn the_models_are_the_keras_tutorials_with_pytorch_names() {
    let _turn = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    // LSTM(64, return_sequences=True), LSTM(32), Dense(1).
    let model = small(RecurrentKind::Lstm).model_config().init(&device);
    let dict = model.state_dict("");
    let shape = |name: &str| dict.get(name).unwrap().shape().to_vec();
    assert_eq!(shape("rnn.layers.0.weight_ih_l0"), [4 * 64, 1]);
    assert_eq!(shape("rnn.layers.1.weight_hh_l0"), [4 * 32, 32]);
    assert_eq!(shape("head.weight"), [1, 32]);
    // SimpleRNN(64, activation='relu'), Dense(1): one layer.
    let config = small(RecurrentKind::Rnn).model_config();
    assert_eq!(config.widths, vec![64]);
    assert_eq!(config.activation, recurrent_cells::RnnActivation::Relu);
}

#[test]
fn zero_batch_size_is_an_error() {
    let mut config = small(RecurrentKind::Lstm);
    config.batch_size = 0;
    let err = train_tutorial(&config, &Device::flex().autodiff(), |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("batch size"), "{err}");
}
