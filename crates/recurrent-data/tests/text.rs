//! Tokenizers, vocabularies and language-model splits on the vendored Shakespeare text,
//! and the text inspector on real and broken files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use recurrent_data::inspect::text::inspect_text;
use recurrent_data::{
    DataError, LanguageModelDataset, LmWindows, SpecialTokens, SplitFractions, Tokenizer,
    TokenizerKind, Vocab, VocabBuilder, split_text,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

fn hamlet() -> String {
    std::fs::read_to_string(data("text_shakespeare_hamlet.txt")).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recurrent-data-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn char_tokenizer_round_trips_hamlet_exactly() {
    let text = hamlet();
    let tok = Tokenizer::fit(TokenizerKind::Char, &text, VocabBuilder::new()).unwrap();
    let distinct: HashSet<char> = text.chars().collect();
    assert_eq!(tok.vocab_size(), distinct.len() + 4);
    let ids = tok.encode(&text).unwrap();
    assert_eq!(ids.len(), text.chars().count());
    assert_eq!(tok.decode(&ids), text);
    // Specials take the first ids; then the most frequent character (a space here).
    let v = &tok.vocab;
    assert_eq!(
        [v.pad_id(), v.unk_id(), v.bos_id(), v.eos_id()],
        [Some(0), Some(1), Some(2), Some(3)]
    );
    let most = distinct
        .iter()
        .max_by_key(|c| (text.matches(**c).count(), std::cmp::Reverse(**c)))
        .unwrap();
    assert_eq!(v.token(4), Some(most.to_string().as_str()));
}

#[test]
fn vocabulary_comes_from_the_training_split_only() {
    let text = hamlet();
    let [train, valid, test] = split_text(&text, &SplitFractions::new(0.8, 0.1, 0.1)).unwrap();
    assert_eq!(format!("{train}{valid}{test}"), text);
    assert!(train.ends_with('\n') && valid.ends_with('\n'));
    let tok = Tokenizer::fit(
        TokenizerKind::Word { lowercase: true },
        train,
        VocabBuilder::new(),
    )
    .unwrap();
    let train_words: HashSet<String> = TokenizerKind::Word { lowercase: true }
        .pieces(train)
        .into_iter()
        .map(|p| p.into_owned())
        .collect();
    let unseen: Vec<String> = TokenizerKind::Word { lowercase: true }
        .pieces(test)
        .into_iter()
        .map(|p| p.into_owned())
        .filter(|w| !train_words.contains(w))
        .collect();
    assert!(
        !unseen.is_empty(),
        "the test part has words the train part lacks"
    );
    for word in &unseen {
        assert_eq!(
            tok.vocab.id(word),
            None,
            "{word} leaked into the vocabulary"
        );
        assert_eq!(tok.encode(word).unwrap(), [tok.vocab.unk_id().unwrap()]);
    }
}

#[test]
fn min_freq_and_max_size_trim_the_vocabulary() {
    let mut builder = VocabBuilder::new().min_freq(2);
    builder.extend(["b", "a", "a", "c", "c", "c", "b", "d"]);
    let vocab = builder.build().unwrap();
    assert_eq!(vocab.tokens()[4..], ["c", "a", "b"]);

    let mut builder = VocabBuilder::new().max_size(6);
    builder.extend(["b", "a", "a", "c", "c", "c", "b", "d"]);
    // a and b tie at 2: the one that sorts first wins.
    assert_eq!(builder.build().unwrap().tokens()[4..], ["c", "a"]);

    let err = VocabBuilder::new().max_size(2).build().unwrap_err();
    assert!(err.to_string().contains("special tokens"), "{err}");

    let mut builder = VocabBuilder::new().specials(SpecialTokens::none());
    builder.extend(["x"]);
    let vocab = builder.build().unwrap();
    let err = vocab.id_or_unk("y").unwrap_err();
    assert!(err.to_string().contains("\"y\""), "{err}");
}

#[test]
fn word_tokenizer_splits_punctuation_and_keeps_apostrophes() {
    let kind = TokenizerKind::Word { lowercase: false };
    let pieces: Vec<String> = kind
        .pieces("To be, or not to be: 'tis nobler--isn't it?")
        .into_iter()
        .map(|p| p.into_owned())
        .collect();
    assert_eq!(
        pieces,
        [
            "To", "be", ",", "or", "not", "to", "be", ":", "'tis", "nobler", "-", "-", "isn't",
            "it", "?"
        ]
    );
    let tok = Tokenizer::fit(
        TokenizerKind::Word { lowercase: true },
        "the cat sat. The dog sat!",
        VocabBuilder::new(),
    )
    .unwrap();
    let ids = tok.encode_with_bounds("The cat sat.").unwrap();
    assert_eq!(ids.first(), tok.vocab.bos_id().as_ref());
    assert_eq!(ids.last(), tok.vocab.eos_id().as_ref());
    assert_eq!(tok.decode(&ids), "the cat sat.");
}

#[test]
fn tokenizer_json_round_trips_and_bad_json_names_the_file() {
    let tok = Tokenizer::fit(TokenizerKind::Char, &hamlet(), VocabBuilder::new()).unwrap();
    let path = scratch("tokenizer.json");
    tok.save(&path).unwrap();
    assert_eq!(Tokenizer::load(&path).unwrap(), tok);

    let bad = scratch("bad_vocab.json");
    std::fs::write(
        &bad,
        r#"{"specials":{"pad":"<pad>","unk":null,"bos":null,"eos":null},"tokens":["<pad>","a","a"]}"#,
    )
    .unwrap();
    let err = Vocab::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad_vocab.json") && err.contains("\"a\" appears twice"),
        "{err}"
    );
    std::fs::write(&bad, "{\"specials\": ").unwrap();
    let err = Vocab::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad_vocab.json") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn language_model_splits_cover_the_8_plays_without_overlap() {
    let text = std::fs::read_to_string(data("text_shakespeare_8plays.txt")).unwrap();
    let fractions = SplitFractions::new(0.9, 0.05, 0.05);
    let [train, valid, test] = split_text(&text, &fractions).unwrap();
    let tok = Tokenizer::fit(TokenizerKind::Char, train, VocabBuilder::new()).unwrap();
    let windows = LmWindows::new(100);
    let parts: Vec<LanguageModelDataset> = [train, valid, test]
        .iter()
        .map(|part| LanguageModelDataset::new(tok.encode(part).unwrap(), windows).unwrap())
        .collect();
    for part in &parts {
        assert_eq!(part.starts().len(), (part.ids().len() - 101) / 100 + 1);
    }
    // The decoded windows of the validation part are pieces of the validation text.
    let (x, y) = parts[1].window(3);
    assert!(valid.contains(&tok.decode(x)));
    assert_eq!(tok.decode(&y[..99]), tok.decode(&x[1..]));
    assert_eq!(
        parts.iter().map(|p| p.ids().len()).sum::<usize>(),
        text.chars().count()
    );
}

#[test]
fn inspect_text_counts_hamlet() {
    let path = data("text_shakespeare_hamlet.txt");
    let text = hamlet();
    let report = inspect_text(&path).unwrap();
    assert_eq!(report.bytes, 173_943);
    assert_eq!(
        report.lines,
        text.bytes().filter(|&b| b == b'\n').count() + usize::from(!text.ends_with('\n'))
    );
    assert_eq!(report.chars, text.len());
    assert_eq!(
        report.char_counts.len(),
        text.chars().collect::<HashSet<_>>().len()
    );
    assert!(report.ascii);
    let shown = report.to_string();
    assert!(
        shown.contains("173943 bytes") && shown.contains("distinct"),
        "{shown}"
    );
}

#[test]
fn inspect_text_rejects_broken_files_with_their_line() {
    let bad = scratch("latin1.txt");
    std::fs::write(&bad, b"first line\nsecond line\ncaf\xe9 au lait\n").unwrap();
    let err = inspect_text(&bad).unwrap_err();
    assert!(matches!(err, DataError::Utf8 { .. }));
    let msg = err.to_string();
    assert!(msg.contains("latin1.txt:3:4: invalid UTF-8"), "{msg}");

    let empty = scratch("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let msg = inspect_text(&empty).unwrap_err().to_string();
    assert!(msg.contains("empty.txt: the file is empty"), "{msg}");

    let missing = scratch("no_such_file.txt");
    let msg = inspect_text(&missing).unwrap_err().to_string();
    assert!(msg.contains("no_such_file.txt"), "{msg}");
}

#[test]
fn unknown_chars_are_the_characters_outside_the_vocabulary_with_their_positions() {
    let mut builder = VocabBuilder::new().specials(SpecialTokens::default());
    builder.extend(["a", "b", " "]);
    let vocab = builder.build().unwrap();
    assert!(vocab.unknown_chars("ab ba").is_empty());
    assert_eq!(vocab.unknown_chars("aé b€"), [(1, 'é'), (4, '€')]);
    // A special token's text is not a character of the vocabulary.
    assert_eq!(vocab.unknown_chars("<"), [(0, '<')]);
}
