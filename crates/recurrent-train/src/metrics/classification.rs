//! Classification scores: accuracy (optionally masked), binary accuracy from probabilities,
//! a [`ConfusionMatrix`] with per-class precision, recall and F1, macro F1, and
//! entity-level precision, recall and F1 of BIO tag sequences ([`entity_f1`]).
//!
//! Conventions:
//!
//! - Class ids are `0..n_classes`; a [`ConfusionMatrix`] row is the **true** class and a
//!   column the **predicted** one (scikit-learn's `confusion_matrix` layout).
//! - Per-class F1 is `2·TP / (2·TP + FP + FN)`, the same number as `2PR/(P+R)` and 0 when
//!   there is no true positive.
//! - [`macro_f1`] averages per-class F1 over the classes that occur in the targets or in
//!   the predictions, like scikit-learn's `f1_score(average="macro")` with its default
//!   `labels`.
//! - [`entity_f1`] follows conlleval: an entity counts as correct only when its type and
//!   both of its boundaries match a gold entity; precision (recall) is 0 when nothing was
//!   predicted (nothing is in the gold data), F1 is 0 when both are 0. Scores are fractions
//!   (0 to 1), not conlleval's percentages.

use std::collections::{BTreeMap, HashSet};

use recurrent_data::tags::bio_spans;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError, same_len};

/// Checks a mask's length against `len`.
fn check_mask(what: &'static str, mask: Option<&[bool]>, len: usize) -> Result<()> {
    match mask {
        Some(mask) => same_len(what, len, mask.len()),
        None => Ok(()),
    }
}

/// The fraction of `hits` among `kept` positions, or [`TrainError::Empty`] when none is kept.
fn fraction(what: &'static str, hits: usize, kept: usize) -> Result<f64> {
    if kept == 0 {
        return Err(TrainError::Empty { what });
    }
    Ok(hits as f64 / kept as f64)
}

/// The fraction of positions where `pred` equals `target`, counting only the positions
/// where `mask` is `true` when a mask is given (padding masked out).
///
/// Errors: [`TrainError::LengthMismatch`] when the lengths differ, [`TrainError::Empty`]
/// when no position is counted (empty inputs or an all-`false` mask).
pub fn accuracy(pred: &[usize], target: &[usize], mask: Option<&[bool]>) -> Result<f64> {
    same_len("accuracy: pred vs target", pred.len(), target.len())?;
    check_mask("accuracy: values vs mask", mask, pred.len())?;
    let (mut hits, mut kept) = (0, 0);
    for (i, (p, t)) in pred.iter().zip(target).enumerate() {
        if mask.is_none_or(|mask| mask[i]) {
            kept += 1;
            hits += usize::from(p == t);
        }
    }
    fraction("accuracy", hits, kept)
}

/// Binary accuracy from predicted probabilities of the positive class: a probability above
/// 0.5 predicts positive, anything else (0.5 itself and NaN included) predicts negative —
/// Keras' `binary_accuracy` with its default threshold. `mask` as in [`accuracy`].
///
/// Errors as [`accuracy`].
pub fn binary_accuracy(
    probabilities: &[f64],
    target: &[bool],
    mask: Option<&[bool]>,
) -> Result<f64> {
    same_len(
        "binary accuracy: probabilities vs target",
        probabilities.len(),
        target.len(),
    )?;
    check_mask("binary accuracy: values vs mask", mask, target.len())?;
    let (mut hits, mut kept) = (0, 0);
    for (i, (&p, &t)) in probabilities.iter().zip(target).enumerate() {
        if mask.is_none_or(|mask| mask[i]) {
            kept += 1;
            hits += usize::from((p > 0.5) == t);
        }
    }
    fraction("binary accuracy", hits, kept)
}

/// Checks that both class ids are below `n_classes`.
fn check_classes(target: usize, pred: usize, n_classes: usize) -> Result<()> {
    for (role, class) in [("target", target), ("predicted", pred)] {
        if class >= n_classes {
            return Err(TrainError::invalid(
                "class id",
                format!("{role} class {class} is out of range for {n_classes} classes"),
            ));
        }
    }
    Ok(())
}

/// The most classes a [`ConfusionMatrix`] takes: its counts are dense, `n_classes²` of
/// them (4096 classes are 16 Mi counts, 128 MiB). [`macro_f1`] has no such limit.
pub const MAX_CONFUSION_CLASSES: usize = 4096;

/// Counts of (true class, predicted class) pairs over `n_classes` classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// The number of classes.
    n_classes: usize,
    /// Row-major `[true][predicted]` counts.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `n_classes` classes.
    ///
    /// Errors: [`TrainError::Invalid`] when `n_classes` is above
    /// [`MAX_CONFUSION_CLASSES`].
    pub fn new(n_classes: usize) -> Result<Self> {
        if n_classes > MAX_CONFUSION_CLASSES {
            return Err(TrainError::invalid(
                "class count",
                format!(
                    "a confusion matrix takes at most {MAX_CONFUSION_CLASSES} classes, got \
                     {n_classes}"
                ),
            ));
        }
        Ok(Self {
            n_classes,
            counts: vec![0; n_classes * n_classes],
        })
    }

    /// The matrix of `pred` against `target`. Errors: [`TrainError::LengthMismatch`], or
    /// [`TrainError::Invalid`] for a class id not below `n_classes` and as [`Self::new`].
    pub fn from_predictions(pred: &[usize], target: &[usize], n_classes: usize) -> Result<Self> {
        same_len("confusion matrix: pred vs target", pred.len(), target.len())?;
        let mut matrix = Self::new(n_classes)?;
        for (&p, &t) in pred.iter().zip(target) {
            matrix.add(t, p)?;
        }
        Ok(matrix)
    }

    /// Counts one position whose true class is `target` and predicted class `pred`.
    /// Errors: [`TrainError::Invalid`] when either is not below [`Self::n_classes`].
    pub fn add(&mut self, target: usize, pred: usize) -> Result<()> {
        check_classes(target, pred, self.n_classes)?;
        self.counts[target * self.n_classes + pred] += 1;
        Ok(())
    }

    /// Adds the counts of `other` (e.g. another batch). Errors: [`TrainError::Invalid`]
    /// when the class counts differ.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if other.n_classes != self.n_classes {
            return Err(TrainError::invalid(
                "confusion matrix",
                format!(
                    "cannot merge a matrix of {} classes into one of {}",
                    other.n_classes, self.n_classes
                ),
            ));
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        Ok(())
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// How many positions of true class `target` were predicted as `pred` (0 out of range).
    pub fn count(&self, target: usize, pred: usize) -> u64 {
        if target < self.n_classes && pred < self.n_classes {
            self.counts[target * self.n_classes + pred]
        } else {
            0
        }
    }

    /// All positions counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Correct predictions of `class` (the diagonal).
    pub fn true_positives(&self, class: usize) -> u64 {
        self.count(class, class)
    }

    /// Positions predicted as `class` whose true class is another (its column minus the
    /// diagonal).
    pub fn false_positives(&self, class: usize) -> u64 {
        (0..self.n_classes)
            .filter(|&t| t != class)
            .map(|t| self.count(t, class))
            .sum()
    }

    /// Positions of true class `class` predicted as another (its row minus the diagonal).
    pub fn false_negatives(&self, class: usize) -> u64 {
        (0..self.n_classes)
            .filter(|&p| p != class)
            .map(|p| self.count(class, p))
            .sum()
    }

    /// The fraction of positions on the diagonal; `None` when nothing was counted.
    pub fn accuracy(&self) -> Option<f64> {
        let total = self.total();
        let correct: u64 = (0..self.n_classes).map(|c| self.true_positives(c)).sum();
        (total > 0).then(|| correct as f64 / total as f64)
    }

    /// `TP / (TP + FP)` of `class`; `None` when `class` was never predicted.
    pub fn precision(&self, class: usize) -> Option<f64> {
        let tp = self.true_positives(class);
        let predicted = tp + self.false_positives(class);
        (predicted > 0).then(|| tp as f64 / predicted as f64)
    }

    /// `TP / (TP + FN)` of `class`; `None` when `class` never occurs as a target.
    pub fn recall(&self, class: usize) -> Option<f64> {
        let tp = self.true_positives(class);
        let actual = tp + self.false_negatives(class);
        (actual > 0).then(|| tp as f64 / actual as f64)
    }

    /// `2·TP / (2·TP + FP + FN)` of `class`; `None` when `class` occurs neither as a target
    /// nor as a prediction.
    pub fn f1(&self, class: usize) -> Option<f64> {
        let tp = self.true_positives(class);
        let denominator = 2 * tp + self.false_positives(class) + self.false_negatives(class);
        (denominator > 0).then(|| 2.0 * tp as f64 / denominator as f64)
    }

    /// The mean of [`Self::f1`] over the classes that occur as a target or a prediction,
    /// leaving out `exclude` when given; `None` when no class is left.
    pub fn macro_f1(&self, exclude: Option<usize>) -> Option<f64> {
        let scores: Vec<f64> = (0..self.n_classes)
            .filter(|&c| Some(c) != exclude)
            .filter_map(|c| self.f1(c))
            .collect();
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
    }
}

/// Macro-averaged F1 of `pred` against `target` over `n_classes` classes: per-class F1
/// averaged over the classes that occur in `target` or `pred`.
///
/// With `ignore = Some(id)`, positions whose **target** is `id` are left out entirely (a
/// padding or "don't care" label, like PyTorch's `ignore_index`; `id` may be outside
/// `0..n_classes`), and class `id` is left out of the average even if it is predicted
/// elsewhere — predicting it at a kept position still counts as a false negative of the
/// true class.
///
/// Errors: [`TrainError::LengthMismatch`], [`TrainError::Invalid`] for a class id (of a
/// kept position) not below `n_classes`, [`TrainError::Empty`] when no position is kept.
pub fn macro_f1(
    pred: &[usize],
    target: &[usize],
    n_classes: usize,
    ignore: Option<usize>,
) -> Result<f64> {
    same_len("macro F1: pred vs target", pred.len(), target.len())?;
    // (TP, FP, FN) of each class that occurs; sparse, so memory follows the data rather
    // than `n_classes`.
    let mut counts: BTreeMap<usize, (u64, u64, u64)> = BTreeMap::new();
    for (&p, &t) in pred.iter().zip(target) {
        if Some(t) == ignore {
            continue;
        }
        check_classes(t, p, n_classes)?;
        if p == t {
            counts.entry(t).or_default().0 += 1;
        } else {
            counts.entry(p).or_default().1 += 1;
            counts.entry(t).or_default().2 += 1;
        }
    }
    let scores: Vec<f64> = counts
        .iter()
        .filter(|&(&class, _)| Some(class) != ignore)
        .map(|(_, &(tp, fp, fn_))| 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64)
        .collect();
    // A kept position always counts its target class, which is not the ignored one: no
    // score means no kept position.
    if scores.is_empty() {
        return Err(TrainError::Empty { what: "macro F1" });
    }
    Ok(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Precision, recall and F1 (fractions, 0 to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrfScores {
    /// Correct entities among the predicted ones (0 when none was predicted).
    pub precision: f64,
    /// Correct entities among the gold ones (0 when there is none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

impl PrfScores {
    /// The scores of `correct` matches among `predicted` predicted and `gold` gold items,
    /// with conlleval's zero conventions.
    pub fn from_counts(correct: usize, predicted: usize, gold: usize) -> Self {
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let precision = ratio(correct, predicted);
        let recall = ratio(correct, gold);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            precision,
            recall,
            f1,
        }
    }
}

/// Entity-level precision, recall and F1 of predicted BIO (or IOBES) tag sequences against
/// gold ones, one `Vec` per sentence, with conlleval's chunking
/// ([`recurrent_data::tags::bio_spans`]: an `I-X` after `O` or after another type starts an
/// entity) and matching (type and both boundaries must agree). Counts are summed over all
/// sentences before the ratios are taken (micro average).
///
/// Errors: [`TrainError::LengthMismatch`] when the sentence counts differ,
/// [`TrainError::Invalid`] naming the sentence (0-based) whose tag counts differ.
pub fn entity_f1(pred_tags: &[Vec<String>], gold_tags: &[Vec<String>]) -> Result<PrfScores> {
    same_len(
        "entity F1: predicted vs gold sentences",
        pred_tags.len(),
        gold_tags.len(),
    )?;
    let (mut correct, mut predicted, mut gold) = (0, 0, 0);
    for (number, (pred, truth)) in pred_tags.iter().zip(gold_tags).enumerate() {
        if pred.len() != truth.len() {
            return Err(TrainError::invalid(
                "entity F1 input",
                format!(
                    "sentence {number} has {} predicted tags but {} gold tags",
                    pred.len(),
                    truth.len()
                ),
            ));
        }
        let spans = |tags: &[String]| {
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            bio_spans(&tags)
        };
        let pred_spans = spans(pred);
        let gold_spans: HashSet<_> = spans(truth).into_iter().collect();
        predicted += pred_spans.len();
        gold += gold_spans.len();
        correct += pred_spans
            .iter()
            .filter(|span| gold_spans.contains(*span))
            .count();
    }
    Ok(PrfScores::from_counts(correct, predicted, gold))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    fn tags(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn accuracy_with_and_without_mask() {
        // 3 of 4 equal
        close(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2], None).unwrap(), 0.75);
        // mask keeps positions 1 and 2: one hit of two
        let mask = [false, true, true, false];
        close(
            accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2], Some(&mask)).unwrap(),
            0.5,
        );
        assert!(matches!(
            accuracy(&[1], &[1], Some(&[false])),
            Err(TrainError::Empty { .. })
        ));
        assert!(accuracy(&[1], &[1], Some(&[true, true])).is_err());
    }

    #[test]
    fn binary_accuracy_threshold() {
        // 0.5 → negative (not above), 0.51 → positive, NaN → negative, 0.2 → negative
        let p = [0.5, 0.51, f64::NAN, 0.2];
        let t = [false, true, false, true];
        // hits: yes, yes, yes, no → 3/4
        close(binary_accuracy(&p, &t, None).unwrap(), 0.75);
    }

    #[test]
    fn confusion_matrix_counts() {
        // rows = target, columns = pred
        let m = ConfusionMatrix::from_predictions(&[0, 1, 1, 2, 0], &[0, 1, 2, 2, 1], 3).unwrap();
        assert_eq!(m.count(2, 1), 1);
        assert_eq!(m.count(1, 0), 1);
        assert_eq!(m.total(), 5);
        close(m.accuracy().unwrap(), 0.6);
        // class 1: predicted at positions 1, 2 (one right) → P = 1/2; true at 1, 4 → R = 1/2
        close(m.precision(1).unwrap(), 0.5);
        close(m.recall(1).unwrap(), 0.5);
        assert!(ConfusionMatrix::new(2).unwrap().add(2, 0).is_err());
        assert!(ConfusionMatrix::new(MAX_CONFUSION_CLASSES + 1).is_err());
        assert!(ConfusionMatrix::new(usize::MAX).is_err());
    }

    #[test]
    fn macro_f1_hand_computed() {
        // class 0: P = 1/2, R = 1/1 → F1 = 2·(1/2)/(3/2) = 2/3
        // class 1: P = 1/2, R = 1/2 → F1 = 1/2
        // class 2: P = 1/1, R = 1/2 → F1 = 2/3
        // mean = (2/3 + 1/2 + 2/3) / 3 = 11/18; class 3 never occurs and is not averaged
        let pred = [0, 1, 1, 2, 0];
        let target = [0, 1, 2, 2, 1];
        close(macro_f1(&pred, &target, 3, None).unwrap(), 11.0 / 18.0);
        close(macro_f1(&pred, &target, 4, None).unwrap(), 11.0 / 18.0);
    }

    #[test]
    fn macro_f1_ignores_padding_positions() {
        // target 9 is padding: positions 2 and 3 are dropped, whatever is predicted there.
        // kept: pred [0, 1], target [0, 0] → class 0: TP 1, FN 1 → 2/3; class 1: FP 1 → 0
        // mean = 1/3
        let pred = [0, 1, 5, 7];
        let target = [0, 0, 9, 9];
        close(macro_f1(&pred, &target, 2, Some(9)).unwrap(), 1.0 / 3.0);
        // all positions padding → error
        assert!(macro_f1(&[0], &[9], 2, Some(9)).is_err());
        assert!(macro_f1(&[], &[], 2, None).is_err());
        // a class id out of range at a kept position is an error
        assert!(macro_f1(&[2], &[0], 2, None).is_err());
    }

    #[test]
    fn macro_f1_memory_follows_the_data_not_the_class_count() {
        // one hit of class 5, one miss (target 7 predicted as 5):
        // class 5: TP 1, FP 1 → 2/3; class 7: FN 1 → 0; mean 1/3
        close(
            macro_f1(&[5, 5], &[5, 7], usize::MAX, None).unwrap(),
            1.0 / 3.0,
        );
    }

    #[test]
    fn entity_f1_conlleval_examples() {
        // I-LOC after O starts an entity in conlleval: matches gold B-LOC exactly
        let s = entity_f1(&[tags("O I-LOC O")], &[tags("O B-LOC O")]).unwrap();
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        // type mismatch with the same boundaries is wrong; boundary mismatch too
        let s = entity_f1(&[tags("B-ORG B-PER I-PER O")], &[tags("B-LOC B-PER O O")]).unwrap();
        // predicted ORG(0,1), PER(1,3); gold LOC(0,1), PER(1,2) → 0 correct
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn entity_f1_length_errors() {
        assert!(entity_f1(&[tags("O")], &[]).is_err());
        let err = entity_f1(&[tags("O"), tags("O O")], &[tags("O"), tags("O")]).unwrap_err();
        assert!(err.to_string().contains("sentence 1"), "{err}");
    }
}
