//! The character-level language model: it learns a repetitive text, generates from its
//! vocabulary only, and refuses bad settings with clear errors.

use std::path::PathBuf;

use burn::tensor::Device;
use recurrent_train::FitEvent;
use recurrent_train::char_lm::{CharLmTaskConfig, Sampling, generate, train_char_lm};

fn text_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("recurrent-charlm-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn small(data: PathBuf) -> CharLmTaskConfig {
    let mut config = CharLmTaskConfig::new(data);
    config.seq_len = 20;
    config.batch_size = 8;
    config.model.d_embed = 8;
    config.model.d_hidden = 32;
    // One layer, no dropout and a constant rate: a tiny model that learns in four epochs.
    config.model.n_layers = 1;
    config.model.dropout = 0.0;
    config.fit.schedule = recurrent_train::fit::Schedule::Constant;
    config.fit.epochs = 4;
    config.fit.lr = 1e-2;
    config
}

#[test]
fn learns_a_repetitive_text_and_generates_from_its_vocabulary() {
    let text = "to be or not to be, that is the question.\n".repeat(60);
    let config = small(text_file("repeat.txt", &text));
    let mut epochs = 0;
    let run = train_char_lm(&config, &Device::flex().autodiff(), None, false, |e| {
        if matches!(e, FitEvent::EpochEnd(_)) {
            epochs += 1
        }
    })
    .unwrap();
    assert_eq!(epochs, 4);
    let records = run.history.records();
    let (first, last) = (records[0].train["loss"], records[3].train["loss"]);
    // Uniform guessing over the ~20 characters costs ln(20) ~ 3.0 nats.
    assert!(last < first && last < 2.0, "loss {first} -> {last}");
    assert!(run.val_loss.is_finite() && run.test_loss.is_finite());

    let device = Device::flex();
    let greedy = generate(
        &run.model,
        &run.tokenizer,
        "to be",
        40,
        Sampling::Greedy,
        1,
        &device,
    )
    .unwrap();
    let again = generate(
        &run.model,
        &run.tokenizer,
        "to be",
        40,
        Sampling::Greedy,
        2,
        &device,
    )
    .unwrap();
    assert_eq!(greedy, again, "greedy decoding does not depend on the seed");
    assert_eq!(greedy.chars().count(), 40);
    // A beam of one is greedy decoding; a wider beam still gives `length` characters.
    let beam1 = generate(
        &run.model,
        &run.tokenizer,
        "to be",
        40,
        Sampling::Beam { width: 1 },
        0,
        &device,
    )
    .unwrap();
    assert_eq!(beam1, greedy);
    let beam4 = generate(
        &run.model,
        &run.tokenizer,
        "to be",
        40,
        Sampling::Beam { width: 4 },
        0,
        &device,
    )
    .unwrap();
    assert_eq!(beam4.chars().count(), 40);
    assert!(
        generate(
            &run.model,
            &run.tokenizer,
            "to",
            5,
            Sampling::Beam { width: 0 },
            0,
            &device
        )
        .is_err()
    );
    let sampled = generate(
        &run.model,
        &run.tokenizer,
        "",
        60,
        Sampling::Random {
            temperature: 1.0,
            top_k: Some(5),
        },
        3,
        &device,
    )
    .unwrap();
    assert_eq!(sampled.chars().count(), 60);
    assert!(sampled.chars().all(|c| text.contains(c)), "{sampled:?}");

    let err = generate(
        &run.model,
        &run.tokenizer,
        "x",
        5,
        Sampling::Random {
            temperature: 0.0,
            top_k: None,
        },
        0,
        &device,
    )
    .unwrap_err();
    assert!(err.to_string().contains("temperature"), "{err}");
}

#[test]
fn a_text_too_short_for_one_window_names_the_file() {
    let config = small(text_file("short.txt", "too short\n"));
    let err = train_char_lm(&config, &Device::flex().autodiff(), None, false, |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("short.txt") && msg.contains("shorter than one window"),
        "{msg}"
    );
}

#[test]
fn every_cell_and_the_residual_stack_learn_and_reload_from_their_run_directory() {
    use recurrent_train::RunDir;
    use recurrent_train::char_lm::{CharLmTaskConfig, MODEL_FILE, TOKENIZER_FILE, load_run};
    use recurrent_train::weights::save_weights;
    use recurrent_zoo::RecurrentKind;
    let text = "to be or not to be, that is the question.\n".repeat(60);
    let variants: [(RecurrentKind, bool, f64); 4] = [
        (RecurrentKind::Gru, false, 0.0),
        (RecurrentKind::Rnn, false, 0.0),
        (RecurrentKind::LnLstm, false, 0.0),
        (RecurrentKind::Lstm, true, 0.2),
    ];
    for (cell, residual, recurrent_dropout) in variants {
        let mut config = small(text_file(&format!("repeat-{cell}-{residual}.txt"), &text));
        config.model.kind = cell;
        config.model.n_layers = if residual { 2 } else { 1 };
        config.model.residual = residual;
        config.model.recurrent_dropout = recurrent_dropout;
        let run = train_char_lm(&config, &Device::flex().autodiff(), None, false, |_| {}).unwrap();
        let records = run.history.records();
        let (first, last) = (
            records[0].train["loss"],
            records.last().unwrap().train["loss"],
        );
        assert!(last < first && last < 2.5, "{cell}: loss {first} -> {last}");
        // Written as a run directory, read back as `predict` reads it.
        let dir = std::env::temp_dir().join(format!(
            "recurrent-charlm-run-{}-{cell}-{residual}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let run_dir = RunDir::create(&dir).unwrap();
        recurrent_train::write_config(&run_dir, "char-lm", "flex", &config).unwrap();
        run.tokenizer.save(&dir.join(TOKENIZER_FILE)).unwrap();
        save_weights(&run.model, &dir.join(MODEL_FILE)).unwrap();
        let device = Device::flex();
        let reloaded = load_run(&dir, &device).unwrap();
        assert_eq!(reloaded.config, config);
        let sample = |model: &recurrent_zoo::models::LanguageModel| {
            generate(
                model,
                &run.tokenizer,
                "to be",
                30,
                Sampling::Greedy,
                0,
                &device,
            )
            .unwrap()
        };
        assert_eq!(sample(&run.model), sample(&reloaded.model), "{cell}");
        // Weights of another cell do not load: the error names the file and the tensor.
        let mut other: CharLmTaskConfig = config.clone();
        other.model.kind = if cell == RecurrentKind::Gru {
            RecurrentKind::Lstm
        } else {
            RecurrentKind::Gru
        };
        recurrent_train::write_config(&run_dir, "char-lm", "flex", &other).unwrap();
        let err = load_run(&dir, &device).unwrap_err().to_string();
        assert!(err.contains(MODEL_FILE) && err.contains("weight_"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn an_ensemble_scores_averaged_probabilities() {
    use recurrent_train::char_lm::{CharLmData, evaluate, evaluate_ensemble};
    let text = "to be or not to be, that is the question.\n".repeat(60);
    let mut config = small(text_file("ensemble.txt", &text));
    config.fit.epochs = 2;
    let autodiff = Device::flex().autodiff();
    let a = train_char_lm(&config, &autodiff, None, false, |_| {}).unwrap();
    config.fit.seed += 1;
    config.fit.lr = 3e-3;
    let b = train_char_lm(&config, &autodiff, None, false, |_| {}).unwrap();
    let data = CharLmData::load(&config).unwrap();
    let device = Device::flex();
    let single = evaluate(&a.model, &data.valid, 8, &device);
    let twice = evaluate_ensemble(&[&a.model, &a.model], &data.valid, 8, &device);
    assert!((single - twice).abs() < 1e-4, "{single} vs {twice}");
    // -log(mean p) <= mean(-log p) per character (Jensen), so the ensemble's loss is at
    // most the members' mean loss; with different members it is strictly lower.
    let (la, lb) = (a.val_loss, b.val_loss);
    let both = evaluate_ensemble(&[&a.model, &b.model], &data.valid, 8, &device);
    assert!(
        both < (la + lb) / 2.0,
        "ensemble {both} vs members {la} {lb}"
    );
    assert!(evaluate_ensemble(&[], &data.valid, 8, &device).is_nan());
}

#[test]
fn the_transformer_learns_reloads_and_generates_past_its_context() {
    use recurrent_train::char_lm::{MODEL_FILE, TOKENIZER_FILE, load_run};
    use recurrent_train::weights::save_weights;
    use recurrent_zoo::transformer::TransformerLmConfig;

    let text = "to be or not to be, that is the question.\n".repeat(60);
    let mut config = small(text_file("transformer.txt", &text));
    config.transformer = Some(
        TransformerLmConfig::new(0)
            .with_d_model(32)
            .with_n_heads(4)
            .with_d_ff(64)
            .with_n_layers(2)
            .with_dropout(0.0)
            .with_max_len(20),
    );
    config.fit.lr = 3e-3;
    let run = train_char_lm(&config, &Device::flex().autodiff(), None, false, |_| {}).unwrap();
    assert_eq!(run.model.family(), "transformer");
    let records = run.history.records();
    let (first, last) = (records[0].train["loss"], records[3].train["loss"]);
    assert!(last < first && last < 2.0, "loss {first} -> {last}");

    // The run reads back and generates the same 60 characters (three times its context).
    let dir = std::env::temp_dir().join(format!(
        "recurrent-charlm-transformer-run-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let run_dir = recurrent_train::RunDir::create(&dir).unwrap();
    recurrent_train::write_config(&run_dir, "char-lm", "flex", &config).unwrap();
    run.tokenizer.save(&dir.join(TOKENIZER_FILE)).unwrap();
    save_weights(&run.model, &dir.join(MODEL_FILE)).unwrap();
    let device = Device::flex();
    let reloaded = load_run(&dir, &device).unwrap();
    assert_eq!(reloaded.config, config);
    let sample = |model: &recurrent_zoo::models::LanguageModel, sampling| {
        generate(model, &run.tokenizer, "to be", 60, sampling, 3, &device).unwrap()
    };
    let greedy = sample(&run.model, Sampling::Greedy);
    assert_eq!(greedy.chars().count(), 60);
    assert_eq!(greedy, sample(&reloaded.model, Sampling::Greedy));
    let beam = sample(&run.model, Sampling::Beam { width: 3 });
    assert_eq!(beam.chars().count(), 60);

    // Windows longer than the context are refused by name.
    let mut long = config.clone();
    long.seq_len = 40;
    let err = train_char_lm(&long, &Device::flex().autodiff(), None, false, |_| {}).unwrap_err();
    assert!(err.to_string().contains("positions"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
