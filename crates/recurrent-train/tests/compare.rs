//! `compare`: sizes worked out from the configuration equal the built weights, and a tiny
//! comparison runs end to end and writes its report.

use burn::module::Module;
use burn::tensor::Device;
use recurrent_train::compare::{self, CompareConfig, Synthetic};
use recurrent_zoo::models::{BackboneConfig, BackboneKind};

#[test]
fn worked_out_parameters_equal_the_built_weights() {
    let device = Device::flex();
    for kind in BackboneKind::ALL {
        for (d_input, d_model, layers) in [(3, 8, 1), (8, 8, 2), (10, 12, 3)] {
            let config = BackboneConfig::new(kind, d_input, d_model)
                .with_n_layers(layers)
                .with_n_heads(4)
                .with_max_len(16);
            let built = config.try_init(&device).unwrap();
            assert_eq!(
                config.parameters(),
                built.num_params(),
                "{kind} {d_input}->{d_model} x{layers}"
            );
        }
    }
}

#[test]
fn flops_follow_the_cells_and_grow_with_attention_length() {
    let flops = |kind| BackboneConfig::new(kind, 64, 64).flops_per_step(100);
    let [rnn, lstm, gru, ln_lstm, transformer] = BackboneKind::ALL.map(flops);
    // The products dominate: 2 x gates x d x (d_in + d) per step.
    assert!((rnn - 2.0 * 64.0 * 128.0).abs() / rnn < 0.05, "{rnn}");
    assert!((lstm / rnn - 4.0).abs() < 0.2 && (gru / rnn - 3.0).abs() < 0.2);
    assert!(ln_lstm > lstm);
    let longer = BackboneConfig::new(BackboneKind::Transformer, 64, 64).flops_per_step(400);
    assert!(longer > transformer);
}

#[test]
fn a_tiny_comparison_runs_and_writes_its_report() {
    let mut config = CompareConfig::quick(None);
    config.models = BackboneKind::ALL.to_vec();
    config.d_model = 8;
    config.batch_size = 4;
    config.adding_lengths = vec![6, 8];
    config.copy_gaps = vec![3];
    config.steps = 4;
    config.eval_every = 2;
    config.test_size = 8;
    config.throughput_len = 6;
    config.throughput_reps = 1;
    let report = compare::run(&config, &Device::flex(), &mut |_| {}).unwrap();
    assert_eq!(report.models.len(), 5);
    for m in &report.models {
        assert_eq!(m.parameters, m.parameters_counted, "{}", m.label);
        assert!(m.sequences_per_second > 0.0);
        assert_eq!(m.adding.len(), 2);
        assert_eq!(m.copy.len(), 1);
        assert_eq!(
            m.adding[0].curve.len(),
            2,
            "an evaluation every 2 of 4 steps"
        );
        assert!(m.adding.iter().all(|r| r.test_loss.is_finite()));
        let chance = Synthetic::Copy { gap: 3 }.chance();
        assert!((m.copy[0].chance - chance).abs() < 1e-12);
    }
    let dir = std::env::temp_dir().join(format!("recurrent-compare-{}", std::process::id()));
    compare::write_report(
        &report,
        &dir,
        "cargo xtask compare --quick",
        "test machine",
        "flex",
    )
    .unwrap();
    let md = std::fs::read_to_string(dir.join("compare.md")).unwrap();
    for label in [
        "SimpleRNN",
        "LSTM",
        "GRU",
        "LN-LSTM",
        "Transformer",
        "adding T=8 MSE",
    ] {
        assert!(md.contains(label), "{label} missing from\n{md}");
    }
    for png in [
        "compare_adding.png",
        "compare_copy.png",
        "compare_curves.png",
    ] {
        assert!(
            std::fs::metadata(dir.join(png)).unwrap().len() > 1000,
            "{png}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_models_are_named() {
    let err = compare::parse_models("lstm,mamba").unwrap_err();
    assert!(err.to_string().contains("mamba"), "{err}");
}
