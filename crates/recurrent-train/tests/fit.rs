//! The shared training loop: a tiny model's loss falls, clipping bounds the update, a
//! killed run resumes to the same weights as an uninterrupted one, a NaN stops the run
//! naming epoch and step with the last checkpoint kept, early stopping restores the best
//! epoch, and the time budget still returns a validated model.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use recurrent_train::fit::{
    EarlyStoppingConfig, FitConfig, FitEvent, FitTask, Schedule, StepContext, StepOutput,
    StopReason, TeacherForcing, fit,
};
use recurrent_train::{Clipping, Mode, OptimizerKind, RunDir, TrainError, build_optimizer};

/// burn's device random generator is global: tests that seed it take turns.
static SEEDED: Mutex<()> = Mutex::new(());

#[derive(Module, Debug)]
struct Tiny {
    lin: Linear,
}

impl Tiny {
    fn new(device: &Device) -> Self {
        Self {
            lin: LinearConfig::new(3, 1).init(device),
        }
    }
}

/// Linear regression y = x·[1, -2, 0.5] + 0.3 on 64 fixed points, batches of 8.
struct Regression {
    x: Vec<f32>,
    y: Vec<f32>,
    device: Device,
    /// Return an error at this (epoch, step): a simulated crash.
    crash_at: Option<(usize, usize)>,
    /// Scale the loss by NaN at this (epoch, step).
    nan_at: Option<(usize, usize)>,
    /// Scripted validation losses per epoch (else the real one).
    scripted_valid: Option<Vec<f64>>,
    /// Teacher-forcing ratios seen, per epoch.
    ratios: std::cell::RefCell<BTreeMap<usize, f64>>,
    steps_run: Cell<usize>,
}

impl Regression {
    fn new(device: &Device) -> Self {
        let mut rng = StdRng::seed_from_u64(7);
        let x: Vec<f32> = (0..64 * 3)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        let y = x
            .chunks(3)
            .map(|r| r[0] - 2.0 * r[1] + 0.5 * r[2] + 0.3)
            .collect();
        Self {
            x,
            y,
            device: device.clone(),
            crash_at: None,
            nan_at: None,
            scripted_valid: None,
            ratios: Default::default(),
            steps_run: Cell::new(0),
        }
    }

    fn mse(&self, model: &Tiny, rows: &[usize], device: &Device) -> Tensor<1> {
        let n = rows.len();
        let xs: Vec<f32> = rows
            .iter()
            .flat_map(|&i| self.x[i * 3..i * 3 + 3].iter().copied())
            .collect();
        let ys: Vec<f32> = rows.iter().map(|&i| self.y[i]).collect();
        let x = Tensor::<2>::from_data(TensorData::new(xs, [n, 3]), device);
        let y = Tensor::<2>::from_data(TensorData::new(ys, [n, 1]), device);
        (model.lin.forward(x) - y)
            .powi_scalar(2)
            .mean()
            .reshape([1])
    }
}

impl FitTask for Regression {
    type Model = Tiny;
    type Batch = Vec<usize>;

    fn train_batches(
        &self,
        _epoch: usize,
        rng: &mut StdRng,
    ) -> recurrent_train::Result<Vec<Vec<usize>>> {
        let mut order: Vec<usize> = (0..64).collect();
        order.shuffle(rng);
        Ok(order.chunks(8).map(<[usize]>::to_vec).collect())
    }

    fn step(
        &self,
        model: &Tiny,
        batch: &Vec<usize>,
        ctx: &mut StepContext<'_>,
    ) -> recurrent_train::Result<StepOutput> {
        if self.crash_at == Some((ctx.epoch, ctx.step)) {
            return Err(TrainError::invalid("test", "simulated crash"));
        }
        self.ratios
            .borrow_mut()
            .insert(ctx.epoch, ctx.teacher_forcing);
        self.steps_run.set(self.steps_run.get() + 1);
        let mut loss = self.mse(model, batch, &self.device);
        if self.nan_at == Some((ctx.epoch, ctx.step)) {
            loss = loss * f32::NAN;
        }
        Ok(StepOutput::new(loss, batch.len() as f64).with_metric("rows", batch.len() as f64, 1.0))
    }

    fn validate(&self, model: &Tiny) -> recurrent_train::Result<BTreeMap<String, f64>> {
        let epoch = self.ratios.borrow().keys().last().copied().unwrap_or(0);
        let loss = match &self.scripted_valid {
            Some(script) => script[epoch - 1],
            None => {
                let all: Vec<usize> = (0..64).collect();
                let device = model.devices().first().cloned().unwrap_or_default();
                f64::from(self.mse(model, &all, &device).into_scalar::<f32>())
            }
        };
        Ok(BTreeMap::from([("loss".to_owned(), loss)]))
    }
}

fn device() -> Device {
    Device::flex().autodiff()
}

fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("recurrent-fit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
}

fn weights(model: &Tiny) -> Vec<f32> {
    let mut w = model
        .lin
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    w.extend(
        model
            .lin
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
    );
    w
}

fn config(epochs: usize) -> FitConfig {
    FitConfig::new(epochs, 0.05)
}

#[test]
fn a_tiny_model_learns_and_the_epoch_metrics_add_up() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    device.seed(1);
    let task = Regression::new(&device);
    let mut lines = Vec::new();
    let fitted = fit(&config(30), &task, Tiny::new(&device), None, false, |e| {
        if let FitEvent::EpochEnd(r) = e {
            lines.push(r.epoch);
        }
    })
    .unwrap();
    assert_eq!(lines, (1..=30).collect::<Vec<_>>());
    let records = fitted.history.records();
    let (first, last) = (records[0].train["loss"], records[29].train["loss"]);
    assert!(last < first / 20.0, "loss {first} -> {last}");
    assert!(records[29].valid["loss"] < 0.01, "{:?}", records[29].valid);
    // 8 batches of 8 rows: the metric sums 8 per step over 8 steps.
    assert_eq!(records[0].train["rows"], 8.0);
    assert_eq!(fitted.stop, StopReason::Completed);
    let w = weights(&fitted.model);
    for (got, want) in w.iter().zip([1.0, -2.0, 0.5, 0.3]) {
        assert!((got - want).abs() < 0.1, "weights {w:?}");
    }
}

#[test]
fn clipping_by_norm_bounds_the_update() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    device.seed(2);
    let model = Tiny::new(&device);
    let before = model
        .lin
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let step = |clipping: Option<Clipping>| {
        // A loss with a huge gradient: 1000 * sum(w).
        let loss = model.lin.weight.val().sum().reshape([1]) * 1000.0;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let mut optim = build_optimizer(OptimizerKind::Sgd, clipping);
        let after = optim.step(0.1, model.clone(), grads);
        let w = after
            .lin
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        w.iter()
            .zip(&before)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    // The gradient of the weight is 1000 in each of 3 entries: norm 1732.
    let free = step(None);
    assert!((free - 0.1 * 1000.0 * 3f64.sqrt()).abs() < 1e-2, "{free}");
    let clipped = step(Some(Clipping::Norm(1.0)));
    assert!(
        (clipped - 0.1).abs() < 1e-4,
        "update norm {clipped} (lr 0.1 x clip 1)"
    );
    let by_value = step(Some(Clipping::Value(0.5)));
    assert!(
        (by_value - 0.1 * 0.5 * 3f64.sqrt()).abs() < 1e-4,
        "{by_value}"
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_one() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    let mut cfg = config(5);
    cfg.schedule = Schedule::Cosine { min_lr: 0.001 };
    cfg.optimizer = OptimizerKind::Adam;

    device.seed(3);
    let straight_dir = RunDir::create(scratch("straight")).unwrap();
    let task = Regression::new(&device);
    let straight = fit(
        &cfg,
        &task,
        Tiny::new(&device),
        Some(&straight_dir),
        false,
        |_| {},
    )
    .unwrap();

    device.seed(3);
    let path = scratch("killed");
    let dir = RunDir::create(&path).unwrap();
    let mut crashing = Regression::new(&device);
    crashing.crash_at = Some((4, 3));
    let err = fit(
        &cfg,
        &crashing,
        Tiny::new(&device),
        Some(&dir),
        false,
        |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("simulated crash"), "{err}");
    assert_eq!(dir.latest_complete_checkpoint().unwrap().0, 3);

    // A new process: a fresh model with other weights, the same directory.
    device.seed(99);
    let dir = RunDir::open(&path).unwrap();
    let task = Regression::new(&device);
    let mut resumed_at = None;
    let resumed = fit(&cfg, &task, Tiny::new(&device), Some(&dir), true, |e| {
        if let FitEvent::Resumed { epoch } = e {
            resumed_at = Some(epoch);
        }
    })
    .unwrap();
    assert_eq!(resumed_at, Some(3));
    assert_eq!(task.steps_run.get(), 2 * 8, "only epochs 4 and 5 ran");
    let epochs: Vec<usize> = resumed.history.records().iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, [1, 2, 3, 4, 5]);
    assert_eq!(weights(&resumed.model), weights(&straight.model));
    for (a, b) in resumed
        .history
        .records()
        .iter()
        .zip(straight.history.records())
    {
        assert_eq!(a.train["loss"], b.train["loss"], "epoch {}", a.epoch);
    }
    let csv = std::fs::read_to_string(dir.metrics_csv_path()).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    // Old checkpoints are pruned; the latest is complete.
    assert!(!dir.checkpoint_dir(1).exists());
    assert_eq!(dir.latest_complete_checkpoint().unwrap().0, 5);
}

#[test]
fn a_nan_loss_names_epoch_and_step_and_keeps_the_last_checkpoint() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    device.seed(4);
    let dir = RunDir::create(scratch("nan")).unwrap();
    let mut task = Regression::new(&device);
    task.nan_at = Some((2, 3));
    let err = fit(
        &config(5),
        &task,
        Tiny::new(&device),
        Some(&dir),
        false,
        |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFiniteLoss {
                epoch: 2,
                step: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("epoch 2, step 3"), "{err}");
    assert_eq!(dir.latest_complete_checkpoint().unwrap().0, 1);
}

#[test]
fn early_stopping_stops_and_restores_the_best_epoch() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    device.seed(5);
    let dir = RunDir::create(scratch("early")).unwrap();
    let mut task = Regression::new(&device);
    // Best at epoch 2, then two epochs without improvement: stop after epoch 4.
    task.scripted_valid = Some(vec![0.9, 0.5, 0.6, 0.7, 0.1, 0.1]);
    let mut cfg = config(6);
    cfg.early_stopping = Some(EarlyStoppingConfig {
        monitor: "loss".into(),
        patience: 2,
        min_delta: 0.0,
        mode: Mode::Min,
    });
    let fitted = fit(&cfg, &task, Tiny::new(&device), Some(&dir), false, |_| {}).unwrap();
    assert_eq!(fitted.stop, StopReason::EarlyStopped { epoch: 4 });
    assert_eq!(fitted.history.len(), 4);
    assert_eq!(fitted.best_epoch, Some(2));
    // The best epoch's checkpoint is kept, and the returned weights are its weights.
    let kept = dir.checkpoint_dir(2).join("model.bpk");
    assert!(kept.is_file());
    let record = burn::store::ModuleRecord::load(&kept).unwrap();
    let best = Tiny::new(&Device::flex()).load_record(record);
    assert_eq!(weights(&fitted.model), weights(&best));
    assert_ne!(weights(&fitted.model), {
        let last = dir.checkpoint_dir(4).join("model.bpk");
        let record = burn::store::ModuleRecord::load(last).unwrap();
        weights(&Tiny::new(&Device::flex()).load_record(record))
    });
    // A monitor the task does not report is a clear error.
    let mut task = Regression::new(&device);
    task.scripted_valid = None;
    cfg.early_stopping.as_mut().unwrap().monitor = "mase".into();
    let err = fit(&cfg, &task, Tiny::new(&device), None, false, |_| {}).unwrap_err();
    assert!(err.to_string().contains("\"mase\""), "{err}");
}

#[test]
fn the_time_budget_stops_mid_epoch_and_still_validates() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    device.seed(6);
    let task = Regression::new(&device);
    let mut cfg = config(100_000);
    cfg.max_minutes = Some(0.002 / 60.0);
    let fitted = fit(&cfg, &task, Tiny::new(&device), None, false, |_| {}).unwrap();
    let StopReason::TimeLimit { epoch } = fitted.stop else {
        panic!("{:?}", fitted.stop)
    };
    assert!(epoch < 100_000);
    assert_eq!(fitted.history.len(), epoch);
    assert!(fitted.history.last().unwrap().valid["loss"].is_finite());
    assert!(fitted.train_seconds >= 0.002 && fitted.train_seconds < 30.0);
}

#[test]
fn teacher_forcing_decays_linearly_per_epoch() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    device.seed(7);
    let task = Regression::new(&device);
    let mut cfg = config(6);
    cfg.teacher_forcing = TeacherForcing {
        start: 1.0,
        end: 0.2,
        decay_epochs: 4,
    };
    fit(&cfg, &task, Tiny::new(&device), None, false, |_| {}).unwrap();
    let seen: Vec<f64> = task.ratios.borrow().values().copied().collect();
    let want = [1.0, 0.8, 0.6, 0.4, 0.2, 0.2];
    for (got, want) in seen.iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{seen:?}");
    }
    assert_eq!(TeacherForcing::always().ratio(9), 1.0);
}

#[test]
fn schedules_parse_and_bad_settings_are_refused() {
    assert_eq!(Schedule::parse("constant").unwrap(), Schedule::Constant);
    assert_eq!(
        Schedule::parse("step:3:0.5").unwrap(),
        Schedule::Step {
            every_epochs: 3,
            gamma: 0.5
        }
    );
    assert_eq!(
        Schedule::parse("cosine").unwrap(),
        Schedule::Cosine { min_lr: 0.0 }
    );
    let err = Schedule::parse("warmup:3").unwrap_err();
    assert!(err.to_string().contains("\"warmup:3\""), "{err}");

    let device = device();
    let task = Regression::new(&device);
    let mut cfg = config(1);
    cfg.lr = 0.0;
    let err = fit(&cfg, &task, Tiny::new(&device), None, false, |_| {}).unwrap_err();
    assert!(err.to_string().contains("learning rate"), "{err}");
}

#[test]
fn resume_falls_back_past_a_truncated_or_corrupted_checkpoint() {
    let _guard = SEEDED.lock().unwrap();
    let device = device();
    type Damage = fn(&std::path::Path);
    let damages: [(&str, &str, Damage); 3] = [
        ("truncated", "model.bpk", |dir| {
            let file = dir.join("model.bpk");
            let bytes = std::fs::read(&file).unwrap();
            std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("corrupted", "optimizer.bpk", |dir| {
            let file = dir.join("optimizer.bpk");
            let mut bytes = std::fs::read(&file).unwrap();
            for b in bytes.iter_mut().take(64) {
                *b ^= 0xA5;
            }
            std::fs::write(&file, bytes).unwrap();
        }),
        ("corrupted", "state.json", |dir| {
            std::fs::write(dir.join("state.json"), "{\"epoch\": 3, \"histo").unwrap();
        }),
    ];
    for (how, file, damage) in damages {
        device.seed(3);
        let path = scratch(&format!("fallback-{file}"));
        let dir = RunDir::create(&path).unwrap();
        let task = Regression::new(&device);
        fit(
            &config(3),
            &task,
            Tiny::new(&device),
            Some(&dir),
            false,
            |_| {},
        )
        .unwrap();
        // The newest checkpoint and the one before it are kept.
        assert_eq!(dir.latest_complete_checkpoint().unwrap().0, 3);
        assert!(
            dir.checkpoint_dir(2).is_dir(),
            "the previous checkpoint is kept"
        );
        damage(&dir.checkpoint_dir(3));

        let dir = RunDir::open(&path).unwrap();
        let task = Regression::new(&device);
        let (mut skipped, mut resumed_at) = (Vec::new(), None);
        let run = fit(
            &config(4),
            &task,
            Tiny::new(&device),
            Some(&dir),
            true,
            |e| match e {
                FitEvent::SkippedCheckpoint { epoch, reason } => {
                    skipped.push((epoch, reason.to_owned()))
                }
                FitEvent::Resumed { epoch } => resumed_at = Some(epoch),
                _ => {}
            },
        )
        .unwrap();
        assert_eq!(skipped.len(), 1, "{how} {file}: {skipped:?}");
        assert_eq!(skipped[0].0, 3);
        assert!(
            skipped[0].1.contains(file),
            "{how} {file}: {}",
            skipped[0].1
        );
        assert_eq!(resumed_at, Some(2), "{how} {file}");
        assert_eq!(task.steps_run.get(), 2 * 8, "epochs 3 and 4 ran again");
        let epochs: Vec<usize> = run.history.records().iter().map(|r| r.epoch).collect();
        assert_eq!(epochs, [1, 2, 3, 4]);
    }

    // With every checkpoint damaged, resuming is an error naming the newest's file.
    device.seed(3);
    let path = scratch("fallback-none");
    let dir = RunDir::create(&path).unwrap();
    let task = Regression::new(&device);
    fit(
        &config(2),
        &task,
        Tiny::new(&device),
        Some(&dir),
        false,
        |_| {},
    )
    .unwrap();
    for epoch in [1, 2] {
        std::fs::write(dir.checkpoint_dir(epoch).join("model.bpk"), b"not a record").unwrap();
    }
    let err = fit(
        &config(3),
        &task,
        Tiny::new(&device),
        Some(&dir),
        true,
        |_| {},
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("epoch-0002") && message.contains("model.bpk"),
        "{message}"
    );
}
