//! The tutorial task's loop: deterministic under a seed, finite, one record per epoch, and
//! PyTorch-named weights.

use std::sync::Mutex;

use burn::tensor::Device;
use recurrent_train::{FitEvent, TutorialCell, TutorialConfig, train_tutorial};

/// burn's device random generator is global to the process: tests that seed it and draw
/// weights take turns, so that a seed gives the same weights.
static RNG: Mutex<()> = Mutex::new(());

fn small(cell: TutorialCell) -> TutorialConfig {
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
    for cell in [
        TutorialCell::SimpleRnn,
        TutorialCell::Lstm,
        TutorialCell::Gru,
    ] {
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
    let mut config = small(TutorialCell::Gru);
    config.fit.epochs = 30;
    let (_, run) = train_tutorial(&config, &device, |_| {}).unwrap();
    let records = run.history.records();
    let first = records[0].train["loss"];
    let last = records[records.len() - 1].train["loss"];
    assert!(last < first - 0.02, "loss {first} -> {last}");
}

#[test]
fn weights_carry_pytorch_names() {
    let _turn = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let model = recurrent_train::TutorialModel::new(TutorialCell::Lstm, &device);
    let dict = model.state_dict();
    let mut names: Vec<&str> = dict.names().collect();
    names.sort_unstable();
    assert!(names.contains(&"lstm.0.weight_ih_l0"), "{names:?}");
    assert!(names.contains(&"lstm.1.weight_hh_l0"), "{names:?}");
    assert_eq!(dict.get("dense.weight").unwrap().shape().to_vec(), [1, 32]);
}

#[test]
fn zero_batch_size_is_an_error() {
    let mut config = small(TutorialCell::Lstm);
    config.batch_size = 0;
    let err = train_tutorial(&config, &Device::flex().autodiff(), |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("batch size"), "{err}");
}
