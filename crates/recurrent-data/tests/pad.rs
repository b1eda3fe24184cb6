//! Padding, masks, the per-batch padding batcher and bucketing: against Keras' own
//! `pad_sequences` (reference cases in `tests/reference/`), on both CPU backends, and as
//! properties.

#![allow(deprecated)] // Device::ndarray

use burn::data::dataloader::DataLoaderBuilder;
use burn::tensor::{Device, Tensor};
use proptest::prelude::*;
use recurrent_data::bucket::padding_ratio;
use recurrent_data::{
    BucketedDataset, LanguageModelDataset, LmWindows, PadOptions, Padding, SequenceBatcher,
    SequenceItem, Truncating, bucket_order, cap_length, pad_sequences, pad_steps,
};
use serde::Deserialize;

fn devices() -> Vec<(&'static str, Device)> {
    vec![("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

#[derive(Deserialize)]
struct KerasCase {
    sequences: Vec<Vec<i64>>,
    maxlen: Option<usize>,
    padding: String,
    truncating: String,
    value: i64,
    expected: Vec<Vec<i64>>,
}

#[derive(Deserialize)]
struct KerasCases {
    cases: Vec<KerasCase>,
}

#[test]
fn pad_sequences_matches_keras() {
    let text = include_str!("reference/keras_pad_sequences.json");
    let cases: KerasCases = serde_json::from_str(text).unwrap();
    assert_eq!(cases.cases.len(), 160);
    for case in &cases.cases {
        let mut options = PadOptions::new(case.value)
            .padding(case.padding.parse().unwrap())
            .truncating(case.truncating.parse().unwrap());
        options.maxlen = case.maxlen;
        let padded = pad_sequences(&case.sequences, &options).unwrap();
        let expected: Vec<i64> = case.expected.iter().flatten().copied().collect();
        assert_eq!(
            padded.values, expected,
            "maxlen {:?} padding {} truncating {} value {} on {:?}",
            case.maxlen, case.padding, case.truncating, case.value, case.sequences
        );
        let width = case.expected.first().map_or(0, Vec::len);
        assert_eq!(padded.maxlen, width);
        for (seq, &len) in case.sequences.iter().zip(&padded.lengths) {
            assert_eq!(len, seq.len().min(width));
        }
    }
}

#[test]
fn mask_marks_the_valid_side_and_tensors_land_on_the_device() {
    let seqs = vec![vec![1u32, 2, 3], vec![4], vec![5, 6]];
    for (name, device) in devices() {
        for padding in [Padding::Post, Padding::Pre] {
            let padded = pad_sequences(&seqs, &PadOptions::new(0).padding(padding)).unwrap();
            let mask = padded.mask(&device);
            assert_eq!(mask.device(), device, "{name}");
            let mask = mask.into_data().to_vec::<bool>().unwrap();
            let ids = padded.to_int_tensor(&device).unwrap();
            let ids = ids.into_data().convert::<i64>().to_vec::<i64>().unwrap();
            // Valid steps are exactly the non-zero ids here (no id is 0).
            let nonzero: Vec<bool> = ids.iter().map(|&v| v != 0).collect();
            assert_eq!(mask, nonzero, "{name} {padding:?}");
            let lengths = padded.lengths_tensor(&device).into_data();
            let lengths = lengths.convert::<i64>().to_vec::<i64>().unwrap();
            assert_eq!(lengths, [3, 1, 2]);
        }
    }
}

#[test]
fn steps_with_several_features_pad_whole_steps() {
    // Two features per step: [[1,10],[2,20]] and [[3,30]].
    let seqs = vec![vec![1.0f32, 10.0, 2.0, 20.0], vec![3.0, 30.0]];
    let padded = pad_steps(&seqs, 2, &PadOptions::new(-1.0)).unwrap();
    assert_eq!(padded.values, [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, -1.0, -1.0]);
    let tensor = padded.to_tensor3(&Device::flex());
    assert_eq!(tensor.dims(), [2, 2, 2]);
    let err = pad_steps(&[vec![1.0f32, 2.0, 3.0]], 2, &PadOptions::new(0.0)).unwrap_err();
    assert!(err.to_string().contains("sequence 0 has 3 values"), "{err}");
    let err = pad_sequences(&seqs, &PadOptions::new(0.0).maxlen(0)).unwrap_err();
    assert!(err.to_string().contains("maxlen"), "{err}");
}

#[test]
fn batcher_pads_each_batch_to_its_own_longest_item() {
    let items: Vec<SequenceItem> = [5usize, 2, 9, 1, 3]
        .iter()
        .map(|&n| SequenceItem::with_class((1..=n as u32).collect(), n as u32 % 2))
        .collect();
    let batcher = SequenceBatcher::new(0);
    let stats = batcher.stats.clone();
    for (_, device) in devices() {
        stats.reset();
        let loader = DataLoaderBuilder::new(batcher.clone())
            .batch_size(2)
            .set_device(device.clone())
            .build(burn::data::dataset::InMemDataset::new(items.clone()));
        let widths: Vec<usize> = loader
            .iter()
            .map(|batch| {
                let batch = batch.unwrap();
                assert_eq!(batch.tokens.device(), device);
                assert!(batch.classes.is_some() && batch.step_targets.is_none());
                batch.tokens.dims()[1]
            })
            .collect();
        assert_eq!(widths, [5, 9, 3]);
        // Padded cells: (5-2) + (9-1) + 0 = 11 of 2*5 + 2*9 + 3 = 31.
        assert_eq!(stats.padded_steps(), 11);
        assert_eq!(stats.valid_steps(), 20);
        assert!((stats.ratio() - 11.0 / 31.0).abs() < 1e-12);
    }
}

#[test]
fn batcher_caps_long_sequences_and_pads_step_targets() {
    let device = Device::flex();
    let items = vec![
        SequenceItem::with_steps(vec![1, 2, 3, 4, 5], vec![11, 12, 13, 14, 15]).unwrap(),
        SequenceItem::with_steps(vec![6, 7], vec![16, 17]).unwrap(),
    ];
    let batcher = SequenceBatcher::new(0)
        .target_pad(99)
        .max_len(3, Truncating::Post);
    let batch = batcher.try_batch(&items, &device).unwrap();
    let tokens = batch
        .tokens
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap();
    assert_eq!(tokens, [1, 2, 3, 6, 7, 0]);
    let targets = batch.step_targets.unwrap().into_data();
    let targets = targets.convert::<i64>().to_vec::<i64>().unwrap();
    assert_eq!(targets, [11, 12, 13, 16, 17, 99]);
    assert_eq!(batch.lengths_host, [3, 2]);
    assert!((batch.padding_ratio - 1.0 / 6.0).abs() < 1e-12);

    let mixed = vec![
        SequenceItem::with_class(vec![1], 0),
        SequenceItem::new(vec![2]),
    ];
    let err = batcher.try_batch(&mixed, &device).unwrap_err();
    assert!(err.to_string().contains("mix"), "{err}");
    let err = SequenceItem::with_steps(vec![1, 2], vec![1]).unwrap_err();
    assert!(
        err.to_string().contains("2 tokens but 1 step labels"),
        "{err}"
    );
}

#[test]
fn subtokens_become_a_padded_rank_three_tensor() {
    let device = Device::flex();
    let items = vec![
        SequenceItem::new(vec![1, 2])
            .with_subtokens(vec![vec![5, 6, 7], vec![8]])
            .unwrap(),
        SequenceItem::new(vec![3])
            .with_subtokens(vec![vec![9, 9]])
            .unwrap(),
    ];
    let batch = SequenceBatcher::new(0).try_batch(&items, &device).unwrap();
    let sub = batch.subtokens.unwrap();
    assert_eq!(sub.dims(), [2, 2, 3]);
    let sub = sub.into_data().convert::<i64>().to_vec::<i64>().unwrap();
    assert_eq!(sub, [5, 6, 7, 8, 0, 0, 9, 9, 0, 0, 0, 0]);
}

fn hamlet_line_lengths() -> Vec<usize> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/text_shakespeare_hamlet.txt"
    ))
    .unwrap();
    text.lines()
        .map(|l| l.chars().count())
        .filter(|&n| n > 0)
        .collect()
}

#[test]
fn bucketing_cuts_padding_on_real_lines() {
    let lengths = hamlet_line_lengths();
    assert!(lengths.len() > 3000);
    let shuffled = bucket_order(&lengths, 32, 1, 3).unwrap();
    let bucketed = bucket_order(&lengths, 32, 50, 3).unwrap();
    let plain = padding_ratio(&lengths, &shuffled, 32);
    let with_buckets = padding_ratio(&lengths, &bucketed, 32);
    assert!(plain > 0.3, "unbucketed padding {plain}");
    assert!(with_buckets < plain / 5.0, "{with_buckets} vs {plain}");
}

#[test]
fn bucketed_dataset_through_the_data_loader_reports_less_padding() {
    let lengths = hamlet_line_lengths();
    let items: Vec<SequenceItem> = lengths
        .iter()
        .map(|&n| SequenceItem::new(vec![1; n]))
        .collect();
    let device = Device::flex();
    let ratio = |bucketed: bool| {
        let batcher = SequenceBatcher::new(0);
        let stats = batcher.stats.clone();
        let builder = DataLoaderBuilder::new(batcher)
            .batch_size(64)
            .set_device(device.clone());
        let dataset = burn::data::dataset::InMemDataset::new(items.clone());
        let loader = if bucketed {
            builder.build(BucketedDataset::new(dataset, 64, 1).unwrap())
        } else {
            builder.shuffle(1).build(dataset)
        };
        let seen: usize = loader.iter().map(|b| b.unwrap().lengths_host.len()).sum();
        assert_eq!(seen, items.len());
        stats.ratio()
    };
    let (plain, bucketed) = (ratio(false), ratio(true));
    println!("padding: shuffled {plain:.3}, bucketed {bucketed:.3}");
    assert!(
        bucketed < plain / 4.0,
        "bucketed {bucketed}, shuffled {plain}"
    );
}

#[test]
fn language_model_windows_are_shifted_by_one() {
    let ids: Vec<u32> = (0..100).collect();
    let ds = LanguageModelDataset::new(
        ids,
        LmWindows {
            seq_len: 10,
            stride: 7,
        },
    )
    .unwrap();
    // starts 0, 7, ..., 84 (84 + 11 <= 100; 91 + 11 > 100)
    assert_eq!(ds.starts().len(), 13);
    for i in 0..ds.starts().len() {
        let (x, y) = ds.window(i);
        assert_eq!(x.len(), 10);
        assert!(x.iter().zip(y).all(|(a, b)| b - a == 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn padding_keeps_every_kept_value_once(
        seqs in prop::collection::vec(prop::collection::vec(1u32..1000, 0..12), 0..8),
        maxlen in prop::option::of(1usize..15),
        pre_pad in any::<bool>(),
        pre_trunc in any::<bool>(),
    ) {
        let padding = if pre_pad { Padding::Pre } else { Padding::Post };
        let truncating = if pre_trunc { Truncating::Pre } else { Truncating::Post };
        let mut options = PadOptions::new(0u32).padding(padding).truncating(truncating);
        options.maxlen = maxlen;
        let padded = pad_sequences(&seqs, &options).unwrap();
        let width = maxlen.unwrap_or_else(|| seqs.iter().map(Vec::len).max().unwrap_or(0));
        prop_assert_eq!(padded.values.len(), seqs.len() * width);
        let mask = padded.mask_values();
        for (row, seq) in seqs.iter().enumerate() {
            let kept = cap_length(seq, width, truncating);
            prop_assert_eq!(padded.lengths[row], kept.len());
            let cells = &padded.values[row * width..(row + 1) * width];
            let valid: Vec<u32> = cells
                .iter()
                .zip(&mask[row * width..(row + 1) * width])
                .filter(|(_, m)| **m)
                .map(|(v, _)| *v)
                .collect();
            // The valid cells are exactly the kept values, in order; the rest is padding.
            prop_assert_eq!(&valid[..], kept);
            prop_assert_eq!(cells.iter().filter(|&&v| v == 0).count(), width - kept.len());
        }
    }

    #[test]
    fn bucket_order_is_a_permutation_with_one_short_batch_last(
        lengths in prop::collection::vec(1usize..100, 0..300),
        batch in 1usize..20,
        pool in 1usize..5,
        seed in any::<u64>(),
    ) {
        let order = bucket_order(&lengths, batch, pool, seed).unwrap();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..lengths.len()).collect::<Vec<_>>());
        let chunks: Vec<&[usize]> = order.chunks(batch).collect();
        if let Some((_, full)) = chunks.split_last() {
            prop_assert!(full.iter().all(|c| c.len() == batch));
        }
    }

    #[test]
    fn lm_splits_are_disjoint_and_windows_stay_inside(
        n in 0usize..400,
        seq_len in 1usize..20,
        stride in 1usize..25,
    ) {
        let ids: Vec<u32> = (0..n as u32).collect();
        let fractions = recurrent_data::SplitFractions::new(0.7, 0.2, 0.1);
        let parts = LanguageModelDataset::splits(&ids, &fractions, LmWindows { seq_len, stride })
            .unwrap();
        let total: usize = parts.iter().map(|p| p.ids().len()).sum();
        prop_assert_eq!(total, n);
        let mut next = 0u32;
        for part in &parts {
            // Parts are consecutive runs of the stream: disjoint and in order.
            if let Some(&first) = part.ids().first() {
                prop_assert_eq!(first, next);
            }
            next += part.ids().len() as u32;
            let len = part.ids().len();
            let expected = if len > seq_len { (len - seq_len - 1) / stride + 1 } else { 0 };
            prop_assert_eq!(part.starts().len(), expected);
            for i in 0..part.starts().len() {
                let (x, y) = part.window(i);
                prop_assert!(part.ids().contains(&y[y.len() - 1]));
                prop_assert_eq!(x[0] + 1, y[0]);
            }
        }
    }
}

#[test]
fn padded_float_values_become_a_tensor() {
    let padded = pad_sequences(&[vec![0.5f32, 1.5], vec![2.5]], &PadOptions::new(0.0)).unwrap();
    let t: Tensor<2> = padded.to_tensor(&Device::flex()).unwrap();
    assert_eq!(t.into_data().to_vec::<f32>().unwrap(), [0.5, 1.5, 2.5, 0.0]);
}
