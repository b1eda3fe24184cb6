//! CoNLL reading and writing, the tag vocabulary, BIO chunking and the CoNLL inspection
//! report: the formats real files come in, the errors broken files give (with their line),
//! and properties over arbitrary input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use recurrent_data::conll::{
    ConllOptions, Sentence, format_conll, parse_conll, read_conll, split_sentences, write_conll,
};
use recurrent_data::error::{DataError, IN_MEMORY, Location};
use recurrent_data::inspect::conll::inspect_conll;
use recurrent_data::split::SplitFractions;
use recurrent_data::tags::{TagVocab, UnknownTag, bio_spans};

/// A fixture under `tests/fixtures/conll/`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conll")
        .join(name)
}

/// A fresh, empty directory for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "recurrent-data-conll-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Parses in-memory text with the default options.
fn parse(text: &str) -> Result<Vec<Sentence>, DataError> {
    parse_conll(
        Path::new(IN_MEMORY),
        text.as_bytes(),
        &ConllOptions::default(),
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn tokens(sentences: &[Sentence]) -> Vec<Vec<&str>> {
    sentences
        .iter()
        .map(|s| s.tokens.iter().map(String::as_str).collect())
        .collect()
}

fn tags(sentences: &[Sentence]) -> Vec<Vec<&str>> {
    sentences
        .iter()
        .map(|s| s.tags.iter().map(String::as_str).collect())
        .collect()
}

/// Asserts that `err` displays as `PATH:LINE:…` and mentions `needle`.
fn assert_error_at(err: &DataError, path: &Path, line: usize, needle: &str) {
    let message = err.to_string();
    let prefix = format!("{}:{line}:", path.display());
    assert!(
        message.starts_with(&prefix),
        "expected {prefix:?} at the start of {message:?}"
    );
    assert!(
        message.contains(needle),
        "expected {needle:?} in {message:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

#[test]
fn tab_separated_two_columns() {
    let sentences = parse("The\tDET\ncat\tNOUN\n\nIt\tPRON\nsat\tVERB\n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["The", "cat"], vec!["It", "sat"]]);
    assert_eq!(
        tags(&sentences),
        [vec!["DET", "NOUN"], vec!["PRON", "VERB"]]
    );
    assert_eq!(sentences[0].line, 1);
    assert_eq!(sentences[1].line, 4);
    assert_eq!(sentences[0].extra, vec![Vec::<String>::new(); 2]);
    assert_eq!(sentences[0].len(), 2);
    assert!(!sentences[0].is_empty());
}

#[test]
fn space_separated_with_runs_of_spaces() {
    let sentences = parse("The   DET\n  cat NOUN  \n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["The", "cat"]]);
    assert_eq!(tags(&sentences), [vec!["DET", "NOUN"]]);
}

#[test]
fn tab_separated_tokens_may_hold_spaces() {
    let sentences = parse("New York\tB-LOC\n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["New York"]]);
}

#[test]
fn conll2003_four_columns_tag_last() {
    let text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n";
    let sentences = parse(text).unwrap();
    assert_eq!(sentences.len(), 1);
    let s = &sentences[0];
    assert_eq!(s.tokens, strings(&["EU", "rejects"]));
    assert_eq!(s.tags, strings(&["B-ORG", "O"]));
    assert_eq!(
        s.extra,
        vec![strings(&["NNP", "B-NP"]), strings(&["VBZ", "B-VP"])]
    );
    assert_eq!(s.line, 3);
}

#[test]
fn conll2003_four_columns_pos_as_tag() {
    let text = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n";
    let options = ConllOptions {
        tag_column: Some(1),
        ..ConllOptions::default()
    };
    let sentences = parse_conll(Path::new(IN_MEMORY), text.as_bytes(), &options).unwrap();
    assert_eq!(sentences[0].tags, strings(&["NNP", "VBZ"]));
    assert_eq!(
        sentences[0].extra,
        vec![strings(&["B-NP", "B-ORG"]), strings(&["B-VP", "O"])]
    );
}

#[test]
fn token_column_other_than_first() {
    let text = "1\tEU\tB-ORG\n2\trejects\tO\n";
    let options = ConllOptions {
        token_column: 1,
        ..ConllOptions::default()
    };
    let sentences = parse_conll(Path::new(IN_MEMORY), text.as_bytes(), &options).unwrap();
    assert_eq!(sentences[0].tokens, strings(&["EU", "rejects"]));
    assert_eq!(sentences[0].extra, vec![strings(&["1"]), strings(&["2"])]);
}

#[test]
fn docstart_is_skipped_and_ends_the_sentence() {
    let text = "a O\nb O\n-DOCSTART- -X- -X- O\nc O\n\n\n-DOCSTART- -X- -X- O\n";
    let sentences = parse(text).unwrap();
    assert_eq!(tokens(&sentences), [vec!["a", "b"], vec!["c"]]);
    assert_eq!(sentences[1].line, 4);
}

#[test]
fn comments_are_skipped_before_sentences() {
    let text = "# sent_id = 1\n# text = Hi there\nHi\tINTJ\nthere\tADV\n\n#newdoc\nBye\tINTJ\n";
    let sentences = parse(text).unwrap();
    assert_eq!(tokens(&sentences), [vec!["Hi", "there"], vec!["Bye"]]);
    assert_eq!(sentences[0].line, 3);
    assert_eq!(sentences[1].line, 7);
}

#[test]
fn hash_inside_a_sentence_is_a_token() {
    let sentences = parse("Use\tO\n#\tO\nnow\tO\n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["Use", "#", "now"]]);
}

#[test]
fn comments_can_be_kept_as_tokens() {
    let options = ConllOptions {
        skip_comments: false,
        ..ConllOptions::default()
    };
    let sentences =
        parse_conll(Path::new(IN_MEMORY), b"#rust\tB-TAG\nrocks\tO\n", &options).unwrap();
    assert_eq!(tokens(&sentences), [vec!["#rust", "rocks"]]);
}

#[test]
fn crlf_line_endings() {
    let sentences = parse("a\tB-X\r\nb\tI-X\r\n\r\nc\tO\r\n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["a", "b"], vec!["c"]]);
    assert_eq!(tags(&sentences), [vec!["B-X", "I-X"], vec!["O"]]);
}

#[test]
fn no_trailing_newline() {
    let sentences = parse("a O\nb O\n\nc O").unwrap();
    assert_eq!(tokens(&sentences), [vec!["a", "b"], vec!["c"]]);
}

#[test]
fn several_and_whitespace_only_blank_lines() {
    let sentences = parse("\n\n  \na O\n \t \n\n\nb O\n\n\n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["a"], vec!["b"]]);
    assert_eq!(sentences[0].line, 4);
    assert_eq!(sentences[1].line, 8);
}

#[test]
fn byte_order_mark_is_dropped() {
    let sentences = parse("\u{feff}a O\n").unwrap();
    assert_eq!(tokens(&sentences), [vec!["a"]]);
}

#[test]
fn ner_fixture_reads() {
    let path = fixture("ner_sample.conll");
    let sentences = read_conll(&path, &ConllOptions::default()).unwrap();
    assert_eq!(sentences.len(), 12);
    assert_eq!(sentences[0].tokens[..2], strings(&["Maria", "Okafor"]));
    assert_eq!(sentences[0].tags[..2], strings(&["B-PER", "I-PER"]));
    assert_eq!(sentences[0].extra[0], strings(&["NNP", "B-NP"]));
    assert_eq!(sentences[0].line, 3);
    assert!(
        sentences
            .iter()
            .all(|s| s.extra.iter().all(|e| e.len() == 2))
    );
}

#[test]
fn pos_fixture_reads() {
    let path = fixture("pos_sample.tsv");
    let sentences = read_conll(&path, &ConllOptions::default()).unwrap();
    assert_eq!(sentences.len(), 10);
    assert_eq!(sentences.iter().map(Sentence::len).sum::<usize>(), 56);
    assert_eq!(
        sentences[0].tags,
        strings(&["DET", "NOUN", "VERB", "ADP", "DET", "NOUN", "PUNCT"])
    );
}

// ---------------------------------------------------------------------------------------
// Broken input
// ---------------------------------------------------------------------------------------

#[test]
fn missing_tag_names_the_line() {
    let path = fixture("missing_tag.conll");
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    assert_error_at(&err, &path, 4, "token \"Oslo\" has no tag");
}

#[test]
fn ragged_columns_name_the_line_and_the_first_line() {
    let path = fixture("ragged.tsv");
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    assert_error_at(&err, &path, 5, "expected 3 columns like line 2, found 2");
}

#[test]
fn empty_tag_names_the_line_and_field() {
    let path = fixture("empty_tag.tsv");
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    assert_error_at(&err, &path, 5, "empty tag");
    assert!(err.to_string().contains(":5:2:"), "{err}");
}

#[test]
fn empty_token_is_refused() {
    let err = parse("a\tO\n\tO\n").unwrap_err();
    assert_error_at(&err, Path::new(IN_MEMORY), 2, "empty token");
}

#[test]
fn empty_file_is_empty() {
    let path = fixture("empty.conll");
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn whitespace_only_input_is_empty() {
    let err = parse(" \n\t\n\r\n").unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
}

#[test]
fn file_without_tokens_says_so() {
    let path = fixture("no_tokens.conll");
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("no tokens"), "{message}");
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let dir = temp_dir("invalid_utf8");
    let path = dir.join("bad.conll");
    std::fs::write(&path, b"ok O\n\nfine O\nca\xfff O\n").unwrap();
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Utf8 { .. }), "{err:?}");
    assert_error_at(&err, &path, 4, "invalid UTF-8");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:4:3:", path.display())),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_file_is_io_error() {
    let path = fixture("does_not_exist.conll");
    let err = read_conll(&path, &ConllOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
}

#[test]
fn tag_column_beyond_the_line() {
    let options = ConllOptions {
        tag_column: Some(3),
        ..ConllOptions::default()
    };
    let err = parse_conll(Path::new(IN_MEMORY), b"\n# c\na B c\n", &options).unwrap_err();
    assert_error_at(&err, Path::new(IN_MEMORY), 3, "only 3 columns");
}

#[test]
fn token_column_beyond_the_line() {
    let options = ConllOptions {
        token_column: 5,
        ..ConllOptions::default()
    };
    let err = parse_conll(Path::new(IN_MEMORY), b"a O\n", &options).unwrap_err();
    assert_error_at(&err, Path::new(IN_MEMORY), 1, "token column");
}

#[test]
fn token_column_equal_to_last_column() {
    let options = ConllOptions {
        token_column: 1,
        ..ConllOptions::default()
    };
    let err = parse_conll(Path::new(IN_MEMORY), b"a O\n", &options).unwrap_err();
    assert_error_at(&err, Path::new(IN_MEMORY), 1, "also the tag column");
}

#[test]
fn same_token_and_tag_column_is_invalid() {
    let options = ConllOptions {
        tag_column: Some(0),
        ..ConllOptions::default()
    };
    let err = parse_conll(Path::new(IN_MEMORY), b"a O\n", &options).unwrap_err();
    assert!(matches!(err, DataError::Invalid { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

fn sample_sentences() -> Vec<Sentence> {
    vec![
        Sentence {
            tokens: strings(&["EU", "rejects", "German", "call"]),
            tags: strings(&["B-ORG", "O", "B-MISC", "O"]),
            extra: vec![
                strings(&["NNP", "B-NP"]),
                strings(&["VBZ", "B-VP"]),
                strings(&["JJ", "B-NP"]),
                strings(&["NN", "I-NP"]),
            ],
            line: 0,
        },
        Sentence {
            tokens: strings(&["Peter", "Blackburn", "#1"]),
            tags: strings(&["B-PER", "I-PER", "O"]),
            extra: vec![
                strings(&["NNP", "B-NP"]),
                strings(&["NNP", "I-NP"]),
                strings(&["CD", "I-NP"]),
            ],
            line: 0,
        },
    ]
}

#[test]
fn round_trip_write_read() {
    let dir = temp_dir("round_trip");
    let path = dir.join("out.conll");
    let written = sample_sentences();
    write_conll(&path, &written).unwrap();
    let read = read_conll(&path, &ConllOptions::default()).unwrap();
    assert_eq!(read.len(), written.len());
    for (r, w) in read.iter().zip(&written) {
        assert_eq!(r.tokens, w.tokens);
        assert_eq!(r.tags, w.tags);
        assert_eq!(r.extra, w.extra);
    }
    assert_eq!(read[0].line, 1);
    assert_eq!(read[1].line, 6);
    // Writing what was read gives the same file.
    let again = format_conll(&read).unwrap();
    assert_eq!(again, std::fs::read_to_string(&path).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn format_is_tab_separated_with_blank_lines() {
    let text =
        format_conll(&[Sentence::new(strings(&["a", "b"]), strings(&["O", "B-X"]))]).unwrap();
    assert_eq!(text, "a\tO\nb\tB-X\n\n");
}

fn refused(sentence: Sentence, needle: &str) {
    let err = format_conll(&[sentence]).unwrap_err();
    assert!(matches!(err, DataError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains(needle), "{needle:?} not in {err}");
}

#[test]
fn writer_refuses_what_would_not_read_back() {
    let s = |tokens: &[&str], tags: &[&str]| Sentence::new(strings(tokens), strings(tags));
    refused(s(&["a\tb"], &["O"]), "tab or a line break");
    refused(s(&["a"], &["O\n"]), "tab or a line break");
    refused(s(&["a"], &["O\r"]), "tab or a line break");
    refused(s(&[""], &["O"]), "is empty");
    refused(s(&["a"], &[""]), "is empty");
    refused(s(&[" a"], &["O"]), "whitespace");
    refused(s(&["a"], &["O "]), "whitespace");
    refused(s(&["a", "b"], &["O"]), "must match");
    refused(s(&["-DOCSTART-"], &["O"]), "-DOCSTART-");
    refused(s(&["#tag"], &["O"]), "comment");
    refused(s(&[], &[]), "no tokens");
    let mut ragged = s(&["a", "b"], &["O", "O"]);
    ragged.extra = vec![strings(&["X"]), vec![]];
    refused(ragged, "extra column");
    let mut bad_extra = s(&["a"], &["O"]);
    bad_extra.extra = vec![strings(&["x y "])];
    refused(bad_extra, "whitespace");
}

#[test]
fn writer_refuses_different_extra_columns_across_sentences() {
    let mut first = Sentence::new(strings(&["a"]), strings(&["O"]));
    first.extra = vec![strings(&["NN"])];
    let second = Sentence::new(strings(&["b"]), strings(&["O"]));
    let err = format_conll(&[first, second]).unwrap_err();
    assert!(err.to_string().contains("sentence 2"), "{err}");
}

#[test]
fn split_by_position() {
    let sentences: Vec<Sentence> = (0..10)
        .map(|i| Sentence::new(vec![format!("w{i}")], strings(&["O"])))
        .collect();
    let [train, valid, test] =
        split_sentences(sentences, &SplitFractions::new(0.8, 0.1, 0.1)).unwrap();
    assert_eq!(train.len(), 8);
    assert_eq!(valid[0].tokens, strings(&["w8"]));
    assert_eq!(test[0].tokens, strings(&["w9"]));
    let err = split_sentences(Vec::new(), &SplitFractions::new(0.8, 0.8, 0.1)).unwrap_err();
    assert!(matches!(err, DataError::Invalid { .. }));
}

// ---------------------------------------------------------------------------------------
// Tag vocabulary
// ---------------------------------------------------------------------------------------

#[test]
fn vocab_is_alphabetical_and_from_training_only() {
    let train = read_conll(&fixture("ner_sample.conll"), &ConllOptions::default()).unwrap();
    let vocab = TagVocab::from_sentences(&train);
    assert_eq!(
        vocab.tags(),
        strings(&["B-LOC", "B-MISC", "B-ORG", "B-PER", "I-ORG", "I-PER", "O"])
    );
    assert_eq!(vocab.len(), 7);
    assert_eq!(vocab.id("O"), Some(6));
    assert_eq!(vocab.tag(0), Some("B-LOC"));
    assert_eq!(vocab.tag(7), None);
    assert_eq!(vocab.id("I-LOC"), None);
    assert!(vocab.is_bio());
    assert_eq!(vocab.decode(&[6, 0]), Some(vec!["O", "B-LOC"]));

    let shuffled: Vec<Sentence> = train.iter().rev().cloned().collect();
    assert_eq!(TagVocab::from_sentences(&shuffled), vocab);
}

#[test]
fn is_bio() {
    assert!(TagVocab::from_tags(["O", "B-X", "I-X"]).is_bio());
    assert!(!TagVocab::from_tags(["NOUN", "VERB"]).is_bio());
    assert!(!TagVocab::from_tags(["O", "B-"]).is_bio());
    assert!(!TagVocab::from_tags(["O", "S-X"]).is_bio());
    assert!(!TagVocab::from_tags(Vec::<String>::new()).is_bio());
}

#[test]
fn encode_unknown_tag_names_location_and_known_tags() {
    let vocab = TagVocab::from_tags(["O", "B-PER"]);
    let at = Location::line("dev.conll", 12);
    assert_eq!(vocab.encode("O", &at).unwrap(), 1);
    let err = vocab.encode("B-LOC", &at).unwrap_err();
    assert!(matches!(err, DataError::UnknownLabel { kind: "tag", .. }));
    assert_eq!(
        err.to_string(),
        "dev.conll:12: unknown tag \"B-LOC\" (known: B-PER, O)"
    );
}

fn dev_sentences() -> Vec<Sentence> {
    let text = "a O\nb B-PER\n\nc B-LOC\nd O\n\ne O\n";
    parse(text).unwrap()
}

#[test]
fn unknown_tag_policy_error() {
    let vocab = TagVocab::from_tags(["O", "B-PER"]);
    let err = vocab
        .encode_sentences(&dev_sentences(), &UnknownTag::Error, Path::new("dev.conll"))
        .unwrap_err();
    assert_error_at(&err, Path::new("dev.conll"), 4, "unknown tag \"B-LOC\"");
}

#[test]
fn unknown_tag_policy_map_to() {
    let vocab = TagVocab::from_tags(["O", "B-PER"]);
    let encoded = vocab
        .encode_sentences(
            &dev_sentences(),
            &UnknownTag::MapTo("O".into()),
            Path::new("dev.conll"),
        )
        .unwrap();
    assert_eq!(encoded.ids, vec![vec![1, 0], vec![1, 1], vec![1]]);
    assert_eq!(encoded.kept, vec![0, 1, 2]);
    assert_eq!(encoded.replaced, 1);

    let err = vocab
        .encode_sentences(
            &dev_sentences(),
            &UnknownTag::MapTo("MISC".into()),
            Path::new("dev.conll"),
        )
        .unwrap_err();
    assert!(matches!(err, DataError::Invalid { .. }), "{err:?}");
}

#[test]
fn unknown_tag_policy_skip() {
    let vocab = TagVocab::from_tags(["O", "B-PER"]);
    let encoded = vocab
        .encode_sentences(&dev_sentences(), &UnknownTag::Skip, Path::new("dev.conll"))
        .unwrap();
    assert_eq!(encoded.ids, vec![vec![1, 0], vec![1]]);
    assert_eq!(encoded.kept, vec![0, 2]);
    assert_eq!(encoded.skipped(3), 1);
    assert_eq!(encoded.replaced, 0);
}

#[test]
fn unknown_tag_in_memory_sentence_names_the_file() {
    let vocab = TagVocab::from_tags(["O"]);
    let sentence = Sentence::new(strings(&["x"]), strings(&["B-X"]));
    let err = vocab
        .encode_sentences(&[sentence], &UnknownTag::default(), Path::new(IN_MEMORY))
        .unwrap_err();
    assert!(err.to_string().starts_with("<input>: unknown tag"), "{err}");
}

#[test]
fn vocab_json_round_trip_and_bad_files() {
    let dir = temp_dir("vocab_json");
    let path = dir.join("tags.json");
    let vocab = TagVocab::from_tags(["O", "B-PER", "I-PER", "O"]);
    vocab.save(&path).unwrap();
    assert_eq!(TagVocab::load(&path).unwrap(), vocab);

    std::fs::write(&path, r#"{"tags": ["O", "B-X", "O"]}"#).unwrap();
    let err = TagVocab::load(&path).unwrap_err();
    assert!(matches!(err, DataError::Json { .. }), "{err:?}");
    assert!(err.to_string().contains("appears twice"), "{err}");

    std::fs::write(&path, r#"{"tags": ["O", ""]}"#).unwrap();
    assert!(
        TagVocab::load(&path)
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// BIO chunking
// ---------------------------------------------------------------------------------------

fn span(start: usize, end: usize, kind: &str) -> (usize, usize, String) {
    (start, end, kind.to_string())
}

#[test]
fn bio_spans_basic() {
    assert_eq!(
        bio_spans(&["B-PER", "I-PER", "O", "B-LOC"]),
        vec![span(0, 2, "PER"), span(3, 4, "LOC")]
    );
    assert_eq!(bio_spans(&[]), vec![]);
    assert_eq!(bio_spans(&["O", "O"]), vec![]);
    // A chunk running to the end of the sentence.
    assert_eq!(bio_spans(&["O", "B-X", "I-X"]), vec![span(1, 3, "X")]);
}

#[test]
fn bio_spans_adjacent_begins_are_separate() {
    assert_eq!(
        bio_spans(&["B-PER", "B-PER", "I-PER"]),
        vec![span(0, 1, "PER"), span(1, 3, "PER")]
    );
}

#[test]
fn bio_spans_i_after_o_or_other_type_starts_a_chunk() {
    assert_eq!(bio_spans(&["I-LOC", "I-LOC"]), vec![span(0, 2, "LOC")]);
    assert_eq!(
        bio_spans(&["O", "I-LOC", "O", "I-LOC"]),
        vec![span(1, 2, "LOC"), span(3, 4, "LOC")]
    );
    assert_eq!(
        bio_spans(&["B-PER", "I-LOC", "I-LOC"]),
        vec![span(0, 1, "PER"), span(1, 3, "LOC")]
    );
}

#[test]
fn bio_spans_iobes_and_plain_tags() {
    assert_eq!(
        bio_spans(&["S-PER", "B-LOC", "I-LOC", "E-LOC", "I-LOC"]),
        vec![span(0, 1, "PER"), span(1, 4, "LOC"), span(4, 5, "LOC")]
    );
    // IO tagging: a tag without a prefix is its own type.
    assert_eq!(
        bio_spans(&["PER", "PER", "O", "LOC"]),
        vec![span(0, 2, "PER"), span(3, 4, "LOC")]
    );
    // Types may hold hyphens.
    assert_eq!(bio_spans(&["B-GPE-LOC"]), vec![span(0, 1, "GPE-LOC")]);
}

// ---------------------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------------------

#[test]
fn inspect_ner_fixture() {
    let path = fixture("ner_sample.conll");
    let report = inspect_conll(&path).unwrap();
    assert_eq!(report.path, path);
    assert_eq!(report.bytes, 1460);
    assert_eq!(report.sentences, 12);
    assert_eq!(report.tokens, 83);
    assert_eq!(report.distinct_tokens, 64);
    assert_eq!(report.columns, 4);
    assert!(report.is_bio);
    let counts: Vec<(&str, usize)> = report
        .tags
        .iter()
        .map(|t| (t.tag.as_str(), t.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("O", 62),
            ("B-LOC", 5),
            ("B-ORG", 4),
            ("B-PER", 4),
            ("I-ORG", 3),
            ("I-PER", 3),
            ("B-MISC", 2),
        ]
    );
    assert!((report.tags[0].percent - 100.0 * 62.0 / 83.0).abs() < 1e-9);
    let l = &report.lengths;
    assert_eq!((l.min, l.p90, l.max), (4, 9, 9));
    assert!((l.median - 6.5).abs() < 1e-9);
    assert!((l.mean - 83.0 / 12.0).abs() < 1e-9);

    let text = report.to_string();
    assert!(text.contains("(1460 bytes)"), "{text}");
    assert!(text.contains("sentences   12"), "{text}");
    assert!(text.contains("tokens      83 (64 distinct)"), "{text}");
    assert!(text.contains("BIO tags    yes"), "{text}");
    assert!(text.contains("  O       62   74.7%"), "{text}");
    assert!(text.contains("  B-MISC   2    2.4%"), "{text}");
    assert!(!text.contains('{'), "no Debug dumps: {text}");
}

#[test]
fn inspect_pos_fixture() {
    let report = inspect_conll(&fixture("pos_sample.tsv")).unwrap();
    assert_eq!(
        (report.sentences, report.tokens, report.columns),
        (10, 56, 2)
    );
    assert!(!report.is_bio);
    assert_eq!(report.tags.len(), 11);
    assert_eq!(
        (report.tags[0].tag.as_str(), report.tags[0].count),
        ("NOUN", 12)
    );
    assert!(report.to_string().contains("BIO tags    no"));
}

#[test]
fn inspect_broken_file_fails_with_line() {
    let path = fixture("missing_tag.conll");
    let err = inspect_conll(&path).unwrap_err();
    assert_error_at(&err, &path, 4, "has no tag");
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// Sentences the writer accepts: tokens that are not `-DOCSTART-` and do not start with
/// `#`, tags like `O` or `B-X`, the same number of extra columns everywhere.
fn valid_sentences() -> impl Strategy<Value = Vec<Sentence>> {
    (0usize..3).prop_flat_map(|extra_columns| {
        let token = "[a-zA-Z0-9.,'][a-zA-Z0-9.,'#-]{0,7}";
        let tag = "O|[BIES]-[A-Z]{1,4}";
        let field = "[A-Z$:-][A-Za-z0-9 -]{0,3}[A-Za-z]";
        let row = (
            token,
            tag,
            proptest::collection::vec(field, extra_columns..=extra_columns),
        );
        proptest::collection::vec(proptest::collection::vec(row, 1..6), 1..6).prop_map(
            |sentences| {
                sentences
                    .into_iter()
                    .map(|rows| {
                        let mut s = Sentence::default();
                        for (token, tag, extra) in rows {
                            s.tokens.push(token);
                            s.tags.push(tag);
                            s.extra.push(extra);
                        }
                        s
                    })
                    .collect()
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match parse_conll(Path::new("fuzz.conll"), &bytes, &ConllOptions::default()) {
            Ok(sentences) => {
                prop_assert!(!sentences.is_empty());
                for s in &sentences {
                    prop_assert!(!s.is_empty());
                    prop_assert_eq!(s.tags.len(), s.len());
                    prop_assert_eq!(s.extra.len(), s.len());
                    prop_assert!(s.line >= 1);
                }
            }
            Err(err) => prop_assert!(err.to_string().starts_with("fuzz.conll"), "{}", err),
        }
    }

    #[test]
    fn small_alphabet_never_panics(
        text in "[ab \t\n\r#O-]{0,200}",
        tag_column in proptest::option::of(0usize..4),
        token_column in 0usize..3,
        skip_comments in any::<bool>(),
    ) {
        let options = ConllOptions { tag_column, token_column, skip_comments };
        match parse_conll(Path::new("fuzz.conll"), text.as_bytes(), &options) {
            Ok(sentences) => {
                for s in &sentences {
                    prop_assert!(!s.is_empty());
                    prop_assert!(s.tokens.iter().chain(&s.tags).all(|f| !f.is_empty()));
                }
                // What was read writes and reads back the same, unless the writer refuses
                // it (e.g. a token that would read as a comment).
                if let Ok(text) = format_conll(&sentences) {
                    let again = parse_conll(
                        Path::new("again"), text.as_bytes(), &ConllOptions::default(),
                    ).unwrap();
                    prop_assert_eq!(tokens(&again), tokens(&sentences));
                    prop_assert_eq!(tags(&again), tags(&sentences));
                }
            }
            Err(err) => {
                let message = err.to_string();
                prop_assert!(
                    message.starts_with("fuzz.conll") || message.starts_with("invalid"),
                    "{}", message
                );
            }
        }
    }

    #[test]
    fn write_parse_round_trips(sentences in valid_sentences()) {
        let text = format_conll(&sentences).unwrap();
        let read = parse_conll(Path::new("round.conll"), text.as_bytes(), &ConllOptions::default())
            .unwrap();
        prop_assert_eq!(read.len(), sentences.len());
        let mut line = 1;
        for (r, w) in read.iter().zip(&sentences) {
            prop_assert_eq!(&r.tokens, &w.tokens);
            prop_assert_eq!(&r.tags, &w.tags);
            prop_assert_eq!(&r.extra, &w.extra);
            prop_assert_eq!(r.line, line);
            line += w.len() + 1;
        }
        prop_assert_eq!(format_conll(&read).unwrap(), text);
    }

    #[test]
    fn spans_are_ordered_disjoint_and_in_range(
        tags in proptest::collection::vec("O|[BIES]-[XY]|X", 0..20),
    ) {
        let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let spans = bio_spans(&refs);
        let mut end = 0;
        for (s, e, kind) in &spans {
            prop_assert!(end <= *s && s < e && *e <= tags.len());
            prop_assert!(refs[*s..*e].iter().all(|t| *t != "O"));
            prop_assert!(!kind.is_empty());
            end = *e;
        }
    }
}
