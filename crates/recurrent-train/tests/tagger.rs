//! The sequence tagger: it learns tags that depend on context and on word shape (unseen
//! capitalised words tagged right thanks to the character features), padding never changes a
//! sentence's scores, its scores are right on known inputs, its weights round-trip, and bad
//! files give `FILE:LINE` errors.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use recurrent_data::Sentence;
use recurrent_train::tagger::{
    InputFormat, TaggerData, TaggerTaskConfig, TaggerVocabs, encode, evaluate_part, gold_tags,
    make_batch, predict_tags, read_tagging_input, score, tag_probabilities, train_tagger,
    write_tagged,
};
use recurrent_zoo::{PytorchWeights, RecurrentKind};

/// burn's flex backend seeds one random generator for all its devices: tests that seed it
/// and draw weights hold this lock, so that each sees the weights its seed gives.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../recurrent-data/tests/fixtures/conll")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recurrent-tagger-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sentence(pairs: &[(&str, &str)]) -> Sentence {
    Sentence::new(
        pairs.iter().map(|p| p.0.to_owned()).collect(),
        pairs.iter().map(|p| p.1.to_owned()).collect(),
    )
}

/// A made-up word of `len` letters, capitalised or not.
fn word(rng: &mut StdRng, len: usize, capital: bool) -> String {
    let consonants = b"bdfgklmnprstvz";
    let vowels = b"aeiou";
    let mut s: String = (0..len)
        .map(|i| {
            let set: &[u8] = if i % 2 == 0 { consonants } else { vowels };
            set[rng.random_range(0..set.len())] as char
        })
        .collect();
    if capital {
        s[..1].make_ascii_uppercase();
    }
    s
}

/// A toy language whose tags need both context and word shape:
/// - `A saw B .`: A and B are capitalised names (NAME) or lower-case nouns (NOUN) in the same
///   positions, so only the word's shape tells them apart;
/// - `they run .` / `the run ended .`: `run` is a VERB after `they` and a NOUN after `the`.
///
/// Training names and nouns come from pools of 150 each, so many occur once and are
/// `<unk>` under `min_word_freq` 2; with `fresh`, every name and noun is new.
fn toy_corpus(n: usize, seed: u64, fresh: bool) -> Vec<Sentence> {
    let mut rng = StdRng::seed_from_u64(seed);
    let names: Vec<String> = (0..150).map(|_| word(&mut rng, 5, true)).collect();
    let nouns: Vec<String> = (0..150).map(|_| word(&mut rng, 5, false)).collect();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = rng.random_range(0..4);
        let s = match kind {
            0 => sentence(&[("they", "PRON"), ("run", "VERB"), (".", "PUNCT")]),
            1 => sentence(&[
                ("the", "DET"),
                ("run", "NOUN"),
                ("ended", "VERB"),
                (".", "PUNCT"),
            ]),
            _ => {
                let pick = |rng: &mut StdRng| -> (String, &'static str) {
                    let capital = rng.random_bool(0.5);
                    let len = rng.random_range(4..8);
                    match (capital, fresh) {
                        (true, true) => (word(rng, len, true), "NAME"),
                        (false, true) => (word(rng, len, false), "NOUN"),
                        (true, false) => (names[rng.random_range(0..names.len())].clone(), "NAME"),
                        (false, false) => (nouns[rng.random_range(0..nouns.len())].clone(), "NOUN"),
                    }
                };
                let (a, ta) = pick(&mut rng);
                let (b, tb) = pick(&mut rng);
                sentence(&[(&a, ta), ("saw", "VERB"), (&b, tb), (".", "PUNCT")])
            }
        };
        out.push(s);
    }
    out
}

fn small_config(char_features: usize) -> TaggerTaskConfig {
    let mut config = TaggerTaskConfig::new("toy.conll");
    config.model.d_word = 16;
    config.model.d_char = 8;
    config.model.char_features = char_features;
    config.model.d_hidden = 24;
    config.model.dropout = 0.1;
    config.batch_size = 16;
    config.min_word_freq = 2;
    config.fit.epochs = 40;
    config.fit.lr = 1e-2;
    config.fit.early_stopping = None;
    config
}

fn toy_data(config: &TaggerTaskConfig) -> TaggerData {
    TaggerData::from_parts(
        config,
        ("toy train".into(), toy_corpus(240, 1, false)),
        ("toy valid".into(), toy_corpus(40, 2, true)),
        ("toy test".into(), toy_corpus(120, 3, true)),
    )
    .unwrap()
}

/// Accuracy on the test tokens that are names or nouns never seen in training.
fn unseen_word_accuracy(config: &TaggerTaskConfig) -> (f64, f64) {
    let data = toy_data(config);
    let fitted = train_tagger(
        config,
        &data,
        7,
        &Device::flex().autodiff(),
        None,
        false,
        |_| {},
    )
    .unwrap();
    let records = fitted.history.records();
    assert_eq!(records.len(), config.fit.epochs);
    let (first, last) = (
        records[0].train["loss"],
        records[records.len() - 1].train["loss"],
    );
    assert!(
        last < first,
        "training loss did not fall: {first} -> {last}"
    );

    let device = Device::flex();
    let probs = tag_probabilities(
        std::slice::from_ref(&fitted.model),
        &data.test.encoded,
        data.vocabs.n_tags(),
        64,
        &device,
    )
    .unwrap();
    let n_tags = data.vocabs.n_tags();
    let (mut right, mut total) = (0, 0);
    let mut run_right = 0;
    let mut run_total = 0;
    for (p, s) in probs.iter().zip(&data.test.sentences) {
        let ids = recurrent_train::tagger::argmax_tags(p, n_tags);
        for (t, (token, gold)) in s.tokens.iter().zip(&s.tags).enumerate() {
            let predicted = data.vocabs.tags.tag(ids[t]).unwrap();
            if gold == "NAME" || (gold == "NOUN" && token != "run") {
                total += 1;
                right += usize::from(predicted == gold);
            }
            if token == "run" {
                run_total += 1;
                run_right += usize::from(predicted == gold);
            }
        }
    }
    assert!(run_total > 10);
    // `run` is tagged by its left neighbour in either model.
    assert_eq!(
        run_right, run_total,
        "`run` after `they` / `the` mis-tagged"
    );
    let scores = evaluate_part(
        std::slice::from_ref(&fitted.model),
        &data.test,
        &data.vocabs,
        64,
        &device,
    )
    .unwrap();
    (right as f64 / total as f64, scores.token_accuracy)
}

#[test]
fn learns_context_and_tags_unseen_capitalised_words_through_their_characters() {
    // Over weight seeds 1 to 16 the unseen-word accuracy with characters ran from 0.90 to
    // 1.0 (overall accuracy 0.975 to 1.0); without characters it stays at 0.48.
    let _rng = RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (with_chars, overall) = unseen_word_accuracy(&small_config(16));
    assert!(
        with_chars > 0.85,
        "unseen names/nouns with character features: {with_chars}"
    );
    assert!(overall > 0.95, "test token accuracy {overall}");
    // Without characters an unseen word is just <unk>: name or noun is a coin toss.
    let (without_chars, _) = unseen_word_accuracy(&small_config(0));
    eprintln!("unseen names/nouns: {with_chars:.3} with characters, {without_chars:.3} without");
    assert!(
        without_chars < 0.75,
        "unseen names/nouns without character features: {without_chars}"
    );
}

#[test]
fn padding_never_changes_a_sentences_scores() {
    let _rng = RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let train = toy_corpus(50, 4, false);
    for cell in [RecurrentKind::Lstm, RecurrentKind::Gru] {
        let mut config = small_config(8);
        config.model.kind = cell;
        config.model.n_layers = 2;
        let vocabs = TaggerVocabs::fit(&train, false, 1, 24).unwrap();
        let device = Device::flex();
        device.seed(3);
        let model = config.model_config(&vocabs).init(&device);
        let short = sentence(&[("Kim", "NAME"), ("saw", "VERB"), ("it", "NOUN")]);
        let long = sentence(&[
            ("the", "DET"),
            ("extraordinarilylongword", "NOUN"),
            ("saw", "VERB"),
            ("they", "PRON"),
            ("run", "VERB"),
            ("again", "NOUN"),
            ("and", "NOUN"),
            (".", "PUNCT"),
        ]);
        let (encoded, _) = encode(&vocabs, &[short, long]);
        let n_tags = vocabs.n_tags();
        let alone = make_batch(&[&encoded[0]], n_tags, &device).unwrap();
        let padded = make_batch(&[&encoded[1], &encoded[0]], n_tags, &device).unwrap();
        assert_eq!(padded.words.dims(), [2, 8]);
        assert!(padded.chars.dims()[2] > alone.chars.dims()[2]);
        let a: Tensor<3> = model.forward(alone.words, alone.chars, alone.lengths);
        let b: Tensor<3> = model.forward(padded.words, padded.chars, padded.lengths);
        let a: Vec<f32> = a.into_data().try_to_vec::<f32>().unwrap();
        let b: Vec<f32> = b
            .narrow(0, 1, 1)
            .narrow(1, 0, 3)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{cell}: {x} vs {y}");
        }
    }
}

#[test]
fn scores_known_predictions() {
    // Tags B-PER, I-PER, O (ids 0, 1, 2).
    let train = vec![sentence(&[
        ("Ana", "B-PER"),
        ("Silva", "I-PER"),
        ("ran", "O"),
    ])];
    let gold = vec![
        sentence(&[("Ana", "B-PER"), ("Silva", "I-PER"), ("ran", "O")]),
        sentence(&[("Bo", "B-PER"), ("ran", "O"), ("home", "O"), ("fast", "O")]),
    ];
    let config = small_config(8);
    let data = TaggerData::from_parts(
        &config,
        ("train".into(), train),
        ("valid".into(), gold.clone()),
        ("test".into(), gold),
    )
    .unwrap();
    assert!(data.vocabs.tags.is_bio());
    // Predictions: B-PER O O | B-PER I-PER O O  (two tokens wrong of seven).
    let one_hot = |ids: &[usize]| -> Vec<f32> {
        ids.iter()
            .flat_map(|&id| (0..3).map(move |k| if k == id { 0.8 } else { 0.1 }))
            .collect()
    };
    let probs = vec![one_hot(&[0, 2, 2]), one_hot(&[0, 1, 2, 2])];
    let scores = score(&probs, &data.test, &data.vocabs).unwrap();
    assert_eq!(scores.tokens, 7);
    assert!((scores.token_accuracy - 5.0 / 7.0).abs() < 1e-12);
    // Per tag: B-PER 2 TP -> F1 1; I-PER 0 TP, 1 FP, 1 FN -> F1 0; O 3 TP, 1 FP, 1 FN ->
    // 6/8. Macro: (1 + 0 + 0.75) / 3.
    assert!(
        (scores.macro_f1 - 1.75 / 3.0).abs() < 1e-12,
        "{}",
        scores.macro_f1
    );
    // Entities: gold {PER 0-2}, {PER 0-1}; predicted {PER 0-1}, {PER 0-2}: none match.
    assert_eq!(scores.entity_f1, Some(0.0));
    // Loss: gold probabilities 0.8 at the five right tokens, 0.1 at the two wrong ones.
    let expected = -(5.0 * 0.8f64.ln() + 2.0 * 0.1f64.ln()) / 7.0;
    assert!((scores.loss - expected).abs() < 1e-6, "{}", scores.loss);
}

#[test]
fn a_tag_never_seen_in_training_counts_as_an_error() {
    let train = vec![sentence(&[("a", "X"), ("b", "Y")])];
    let test = vec![sentence(&[("a", "X"), ("b", "Z")])];
    let config = small_config(8);
    let data = TaggerData::from_parts(
        &config,
        ("train".into(), train.clone()),
        ("valid".into(), train),
        ("test".into(), test),
    )
    .unwrap();
    assert_eq!(data.test.unseen_tags, 1);
    assert_eq!(data.test.encoded[0].tags, vec![0, 2]);
    // The model predicts X then Y (ids 0, 1): the Z token is wrong.
    let probs = vec![vec![0.9, 0.1, 0.2, 0.8]];
    let scores = score(&probs, &data.test, &data.vocabs).unwrap();
    assert!((scores.token_accuracy - 0.5).abs() < 1e-12);
    // X: F1 1; Y: predicted once, never gold -> 0; Z: gold once, never predicted -> 0.
    assert!((scores.macro_f1 - 1.0 / 3.0).abs() < 1e-12);
    // The loss covers the known tag only.
    assert!((scores.loss + 0.9f64.ln()).abs() < 1e-6);
    assert_eq!(scores.entity_f1, None);
}

#[test]
fn vocabularies_fit_on_training_words_and_keep_each_words_shape() {
    let train = vec![
        sentence(&[("The", "DET"), ("cat", "NOUN"), ("sat", "VERB")]),
        sentence(&[("the", "DET"), ("cat", "NOUN"), ("ran", "VERB")]),
    ];
    let vocabs = TaggerVocabs::fit(&train, true, 2, 6).unwrap();
    // Lower-cased: "The" and "the" are one word seen twice; "sat" and "ran" once each.
    assert_eq!(vocabs.words.tokens(), &["<pad>", "<unk>", "cat", "the"]);
    assert_eq!(vocabs.word_id("THE"), vocabs.word_id("the"));
    assert_eq!(vocabs.word_id("sat"), 1);
    // Characters keep their case: "T" is its own character.
    let t = vocabs.chars.id("T").unwrap();
    assert_ne!(Some(t), vocabs.chars.id("t"));
    assert_eq!(vocabs.char_ids("The")[0], t);
    // Too long: the first three and the last three characters; unseen ones are <unk>.
    let ids = vocabs.char_ids("catXYZsat");
    assert_eq!(ids.len(), 6);
    assert_eq!(vocabs.chars.token(ids[0]), Some("c"));
    assert_eq!(vocabs.chars.token(ids[2]), Some("t"));
    assert_eq!(vocabs.chars.token(ids[3]), Some("s"));
    assert_eq!(vocabs.char_ids("Q"), vec![1]);

    let dir = scratch("vocabs");
    vocabs.save(&dir).unwrap();
    let loaded = TaggerVocabs::load(&dir, true, 6).unwrap();
    assert_eq!(loaded, vocabs);
    std::fs::remove_file(dir.join("chars.json")).unwrap();
    let err = TaggerVocabs::load(&dir, true, 6).unwrap_err().to_string();
    assert!(err.contains("chars.json"), "{err}");
}

#[test]
fn weights_round_trip_through_pytorch_named_safetensors() {
    let _rng = RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let train = toy_corpus(20, 5, false);
    let config = small_config(8);
    let vocabs = TaggerVocabs::fit(&train, false, 1, 24).unwrap();
    let device = Device::flex();
    device.seed(11);
    let model = config.model_config(&vocabs).init(&device);
    let dict = model.state_dict("");
    for name in [
        "word_embed.weight",
        "char_cnn.embed.weight",
        "char_cnn.conv.weight",
        "char_cnn.conv.bias",
        "encoder.layers.0.forward.weight_ih_l0",
        "encoder.layers.0.backward.weight_hh_l0",
        "head.weight",
        "head.bias",
    ] {
        assert!(dict.get(name).is_some(), "{name} missing");
    }
    let out = dict.get("head.weight").unwrap().shape().to_vec();
    assert_eq!(out, vec![vocabs.n_tags(), 2 * config.model.d_hidden]);
    assert_eq!(
        dict.get("char_cnn.conv.weight").unwrap().shape().to_vec(),
        vec![8, 8, 3]
    );

    // A run directory as the task writes it, read back as `predict` reads it.
    use recurrent_train::tagger::{MODEL_FILE, load_run};
    let dir = scratch("weights");
    let run_dir = recurrent_train::RunDir::open(&dir).unwrap();
    recurrent_train::write_config(&run_dir, "tagger", "flex", &config).unwrap();
    vocabs.save(&dir).unwrap();
    recurrent_train::weights::save_weights(&model, &dir.join(MODEL_FILE)).unwrap();
    let loaded = load_run(&dir, &device).unwrap();
    assert_eq!(loaded.models.len(), 1);
    let tokens: Vec<Vec<String>> = train.iter().map(|s| s.tokens.clone()).collect();
    let a = predict_tags(std::slice::from_ref(&model), &vocabs, &tokens, 8, &device).unwrap();
    let b = predict_tags(&loaded.models, &loaded.vocabs, &tokens, 8, &device).unwrap();
    assert_eq!(a, b);

    // Settings that do not fit the weights: an error naming the file and the tensor.
    let mut other = config.clone();
    other.model.d_hidden = 12;
    recurrent_train::write_config(&run_dir, "tagger", "flex", &other).unwrap();
    let err = load_run(&dir, &device).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("weight"),
        "{err}"
    );
}

#[test]
fn an_ensemble_averages_its_members_probabilities() {
    let _rng = RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let train = toy_corpus(20, 6, false);
    let config = small_config(8);
    let vocabs = TaggerVocabs::fit(&train, false, 1, 24).unwrap();
    let device = Device::flex();
    device.seed(1);
    let m1 = config.model_config(&vocabs).init(&device);
    device.seed(2);
    let m2 = config.model_config(&vocabs).init(&device);
    let (encoded, _) = encode(&vocabs, &train);
    let n = vocabs.n_tags();
    let p1 = tag_probabilities(std::slice::from_ref(&m1), &encoded, n, 7, &device).unwrap();
    let p2 = tag_probabilities(std::slice::from_ref(&m2), &encoded, n, 7, &device).unwrap();
    let both = tag_probabilities(&[m1, m2], &encoded, n, 7, &device).unwrap();
    assert_ne!(p1, p2);
    for ((a, b), mean) in p1.iter().zip(&p2).zip(&both) {
        assert_eq!(mean.len(), encoded_len(a, n) * n);
        for ((x, y), m) in a.iter().zip(b).zip(mean) {
            assert!(((x + y) / 2.0 - m).abs() < 1e-6);
        }
        // Probabilities of each token add up to 1.
        for row in mean.chunks(n) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}

fn encoded_len(probs: &[f32], n_tags: usize) -> usize {
    probs.len() / n_tags
}

#[test]
fn reads_the_fixtures_and_splits_a_single_file() {
    let mut config = TaggerTaskConfig::new(fixture("pos_sample.tsv"));
    config.split = recurrent_data::SplitFractions::new(0.6, 0.2, 0.2);
    let data = TaggerData::load(&config).unwrap();
    let total = data.train.sentences.len() + data.valid.sentences.len() + data.test.sentences.len();
    assert_eq!(total, 10);
    assert_eq!(
        (
            data.train.sentences.len(),
            data.valid.sentences.len(),
            data.test.sentences.len()
        ),
        (6, 2, 2)
    );
    assert!(data.valid.source.contains("validation split"));
    assert!(!data.vocabs.tags.is_bio());

    // The NER sample: tag in the last column, BIO.
    let mut config = TaggerTaskConfig::new(fixture("ner_sample.conll"));
    config.valid = Some(fixture("ner_sample.conll"));
    config.test = Some(fixture("ner_sample.conll"));
    let data = TaggerData::load(&config).unwrap();
    assert!(data.vocabs.tags.is_bio());
    assert_eq!(data.train.sentences.len(), data.test.sentences.len());
    // The chunk column instead (0-based column 2).
    config.tag_column = Some(2);
    let data = TaggerData::load(&config).unwrap();
    assert!(data.vocabs.tags.tags().contains(&"B-NP".to_owned()));
}

#[test]
fn bad_files_are_file_line_errors() {
    let config = TaggerTaskConfig::new(fixture("missing_tag.conll"));
    let err = TaggerData::load(&config).unwrap_err().to_string();
    assert!(
        err.contains("missing_tag.conll:4") && err.contains("no tag"),
        "{err}"
    );

    let mut config = TaggerTaskConfig::new(fixture("pos_sample.tsv"));
    config.valid = Some(fixture("ragged.tsv"));
    let err = TaggerData::load(&config).unwrap_err().to_string();
    assert!(
        err.contains("ragged.tsv:5") && err.contains("columns"),
        "{err}"
    );

    let config = TaggerTaskConfig::new(fixture("does-not-exist.conll"));
    let err = TaggerData::load(&config).unwrap_err().to_string();
    assert!(err.contains("does-not-exist.conll"), "{err}");

    let mut config = TaggerTaskConfig::new(fixture("pos_sample.tsv"));
    config.tag_column = Some(4);
    let err = TaggerData::load(&config).unwrap_err().to_string();
    assert!(
        err.contains("pos_sample.tsv:1") && err.contains("column"),
        "{err}"
    );

    // Two sentences cannot make three parts.
    let dir = scratch("tiny");
    let tiny = dir.join("tiny.conll");
    std::fs::write(&tiny, "a\tX\n\nb\tY\n").unwrap();
    let err = TaggerData::load(&TaggerTaskConfig::new(&tiny))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tiny.conll") && err.contains("too few"),
        "{err}"
    );
}

#[test]
fn reads_files_to_tag_and_writes_tagged_lines() {
    let dir = scratch("input");
    let conll = dir.join("in.conll");
    std::fs::write(&conll, "# comment\nThe\tDET\ncat\tNOUN\n\nRuns\tVERB\n").unwrap();
    let input = read_tagging_input(&conll, None).unwrap();
    assert_eq!(input.format, InputFormat::Conll);
    assert_eq!(input.sentences.len(), 2);
    assert_eq!(input.sentences[1].line, 5);
    let tags = vec![vec!["A".to_owned(), "B".to_owned()], vec!["C".to_owned()]];
    let mut out = Vec::new();
    write_tagged(&mut out, &input, &tags, None).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "The\tA\ncat\tB\n\nRuns\tC\n\n"
    );
    assert_eq!(
        gold_tags(&input, None),
        Some(vec![
            vec!["DET".to_owned(), "NOUN".to_owned()],
            vec!["VERB".to_owned()]
        ])
    );

    // One column: the tag is added.
    let bare = dir.join("bare.conll");
    std::fs::write(&bare, "The\ncat\n").unwrap();
    let input = read_tagging_input(&bare, None).unwrap();
    let mut out = Vec::new();
    write_tagged(&mut out, &input, &[vec!["A".into(), "B".into()]], None).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "The\tA\ncat\tB\n\n");
    assert_eq!(gold_tags(&input, None), None);

    // Plain text: one sentence per line, whitespace-separated.
    let text = dir.join("in.txt");
    std::fs::write(&text, "The cat  sat .\n\n  Dogs bark\n").unwrap();
    let input = read_tagging_input(&text, None).unwrap();
    assert_eq!(input.format, InputFormat::Text);
    assert_eq!(input.sentences[0].tokens, vec!["The", "cat", "sat", "."]);
    assert_eq!(input.sentences[1].line, 3);

    // A ragged CoNLL file names the line.
    let ragged = dir.join("ragged.conll");
    std::fs::write(&ragged, "The\tDET\ncat\tNOUN\textra\n").unwrap();
    let err = read_tagging_input(&ragged, None).unwrap_err().to_string();
    assert!(err.contains("ragged.conll:2"), "{err}");
    // An empty file.
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let err = read_tagging_input(&empty, None).unwrap_err().to_string();
    assert!(err.contains("empty.txt"), "{err}");
}
