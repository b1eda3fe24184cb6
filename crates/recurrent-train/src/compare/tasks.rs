//! The two synthetic long-range tasks of the comparison, generated from a seed: the adding
//! problem and the copy-memory task.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A synthetic task and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synthetic {
    /// The adding problem (Hochreiter & Schmidhuber 1997, in the form of Le, Jaitly &
    /// Hinton 2015): `T` steps of `(value, marker)`, values uniform in `[0, 1)`, one marker
    /// in each half; the target is the sum of the two marked values. Predicting the mean
    /// (1) scores MSE 1/6 ≈ 0.167.
    Adding {
        /// Sequence length.
        length: usize,
    },
    /// The copy-memory task (Arjovsky, Shah & Bengio 2016): 10 symbols from 8, `gap`
    /// blanks with a delimiter at the last one, 10 more blanks; the targets are blanks and
    /// then the 10 symbols. Inputs one-hot over 10 classes (blank 0, symbols 1..=8,
    /// delimiter 9). Predicting blanks and then uniform symbols scores cross-entropy
    /// `10 ln 8 / (gap + 20)`.
    Copy {
        /// Blanks between the symbols and the recall.
        gap: usize,
    },
}

/// Symbols recalled in the copy task.
pub const COPY_SYMBOLS: usize = 10;
/// Input and output classes of the copy task.
pub const COPY_CLASSES: usize = 10;

impl Synthetic {
    /// Steps per sequence.
    pub fn steps(self) -> usize {
        match self {
            Self::Adding { length } => length,
            Self::Copy { gap } => gap + 2 * COPY_SYMBOLS,
        }
    }

    /// Features per input step.
    pub fn d_input(self) -> usize {
        match self {
            Self::Adding { .. } => 2,
            Self::Copy { .. } => COPY_CLASSES,
        }
    }

    /// Outputs of the head: one value (adding) or the class logits of every step (copy).
    pub fn d_output(self) -> usize {
        match self {
            Self::Adding { .. } => 1,
            Self::Copy { .. } => COPY_CLASSES,
        }
    }

    /// The score of the trivial predictor: MSE 1/6 (adding), or the cross-entropy of
    /// blanks then uniform symbols (copy).
    pub fn chance(self) -> f64 {
        match self {
            Self::Adding { .. } => 1.0 / 6.0,
            Self::Copy { gap } => COPY_SYMBOLS as f64 * 8f64.ln() / (gap + 2 * COPY_SYMBOLS) as f64,
        }
    }

    /// `n` examples drawn with `seed`.
    pub fn sample(self, n: usize, seed: u64) -> Examples {
        let mut rng = StdRng::seed_from_u64(seed);
        let steps = self.steps();
        let d = self.d_input();
        let mut x = vec![0f32; n * steps * d];
        match self {
            Self::Adding { length } => {
                let mut y = Vec::with_capacity(n);
                let half = (length / 2).max(1);
                for row in 0..n {
                    let base = row * steps * d;
                    for t in 0..steps {
                        x[base + t * d] = rng.random::<f32>();
                    }
                    let first = rng.random_range(0..half);
                    let second = if length > 1 {
                        rng.random_range(half.min(length - 1)..length)
                    } else {
                        first
                    };
                    x[base + first * d + 1] = 1.0;
                    x[base + second * d + 1] = 1.0;
                    let sum = x[base + first * d] + x[base + second * d];
                    y.push(if first == second {
                        x[base + first * d]
                    } else {
                        sum
                    });
                }
                Examples {
                    task: self,
                    n,
                    x,
                    targets: Targets::Values(y),
                }
            }
            Self::Copy { gap } => {
                let mut y = vec![0i64; n * steps];
                for row in 0..n {
                    let base = row * steps;
                    let mut put = |t: usize, class: usize| x[(base + t) * d + class] = 1.0;
                    let symbols: Vec<usize> =
                        (0..COPY_SYMBOLS).map(|_| rng.random_range(1..=8)).collect();
                    for (t, &s) in symbols.iter().enumerate() {
                        put(t, s);
                    }
                    // Blanks, with the delimiter in place of the gap's last one.
                    let delimiter = COPY_SYMBOLS + gap - 1;
                    for t in COPY_SYMBOLS..steps {
                        put(t, if t == delimiter { 9 } else { 0 });
                    }
                    for (k, &s) in symbols.iter().enumerate() {
                        y[base + COPY_SYMBOLS + gap + k] = s as i64;
                    }
                }
                Examples {
                    task: self,
                    n,
                    x,
                    targets: Targets::Classes(y),
                }
            }
        }
    }
}

/// Targets of a batch.
#[derive(Debug, Clone)]
pub enum Targets {
    /// One value per sequence.
    Values(Vec<f32>),
    /// One class per step, `[n * steps]`.
    Classes(Vec<i64>),
}

/// Examples of a [`Synthetic`] task, on the host.
#[derive(Debug, Clone)]
pub struct Examples {
    /// The task.
    pub task: Synthetic,
    /// Sequences.
    pub n: usize,
    /// Inputs `[n, steps, d_input]`, row-major.
    pub x: Vec<f32>,
    /// Targets.
    pub targets: Targets,
}

impl Examples {
    /// Inputs on `device`.
    pub fn inputs(&self, device: &Device) -> Tensor<3> {
        let shape = [self.n, self.task.steps(), self.task.d_input()];
        Tensor::from_data(TensorData::new(self.x.clone(), shape), device)
    }

    /// Rows `start..start + len` (as a new set).
    pub fn slice(&self, start: usize, len: usize) -> Examples {
        let steps = self.task.steps();
        let d = self.task.d_input();
        Examples {
            task: self.task,
            n: len,
            x: self.x[start * steps * d..(start + len) * steps * d].to_vec(),
            targets: match &self.targets {
                Targets::Values(v) => Targets::Values(v[start..start + len].to_vec()),
                Targets::Classes(c) => {
                    Targets::Classes(c[start * steps..(start + len) * steps].to_vec())
                }
            },
        }
    }

    /// Value targets `[n, 1]` on `device` (adding).
    pub fn values(&self, device: &Device) -> Option<Tensor<2>> {
        match &self.targets {
            Targets::Values(v) => Some(Tensor::from_data(
                TensorData::new(v.clone(), [self.n, 1]),
                device,
            )),
            Targets::Classes(_) => None,
        }
    }

    /// Class targets `[n * steps]` on `device` (copy).
    pub fn classes(&self, device: &Device) -> Option<Tensor<1, Int>> {
        match &self.targets {
            Targets::Classes(c) => Some(Tensor::from_data(
                TensorData::new(c.clone(), [c.len()]),
                device,
            )),
            Targets::Values(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_examples_mark_one_value_in_each_half_and_sum_them() {
        let ex = Synthetic::Adding { length: 10 }.sample(50, 3);
        let Targets::Values(y) = &ex.targets else {
            panic!("values")
        };
        for (row, &target) in y.iter().enumerate() {
            let steps: Vec<(f32, f32)> = (0..10)
                .map(|t| (ex.x[(row * 10 + t) * 2], ex.x[(row * 10 + t) * 2 + 1]))
                .collect();
            let marked: Vec<usize> = (0..10).filter(|&t| steps[t].1 == 1.0).collect();
            assert_eq!(marked.len(), 2, "row {row}");
            assert!(marked[0] < 5 && marked[1] >= 5);
            let sum = steps[marked[0]].0 + steps[marked[1]].0;
            assert!((sum - target).abs() < 1e-6);
            assert!(steps.iter().all(|(v, _)| (0.0..1.0).contains(v)));
        }
    }

    #[test]
    fn copy_examples_recall_their_symbols_after_the_delimiter() {
        let task = Synthetic::Copy { gap: 5 };
        let ex = task.sample(4, 9);
        let steps = task.steps();
        assert_eq!(steps, 25);
        let Targets::Classes(y) = &ex.targets else {
            panic!("classes")
        };
        for row in 0..4 {
            let class = |t: usize| {
                (0..COPY_CLASSES)
                    .find(|&c| ex.x[((row * steps) + t) * COPY_CLASSES + c] == 1.0)
                    .unwrap()
            };
            // Each step is one-hot.
            for t in 0..steps {
                let ones = (0..COPY_CLASSES)
                    .filter(|&c| ex.x[((row * steps) + t) * COPY_CLASSES + c] == 1.0)
                    .count();
                assert_eq!(ones, 1);
            }
            let symbols: Vec<usize> = (0..10).map(class).collect();
            assert!(symbols.iter().all(|&s| (1..=8).contains(&s)));
            assert_eq!(class(14), 9, "the delimiter ends the gap");
            assert!((10..14).chain(15..25).all(|t| class(t) == 0));
            let targets = &y[row * steps..(row + 1) * steps];
            assert!(targets[..15].iter().all(|&c| c == 0));
            let recalled: Vec<usize> = targets[15..].iter().map(|&c| c as usize).collect();
            assert_eq!(recalled, symbols);
        }
        // Chance: 10 ln 8 / 25.
        assert!((task.chance() - 10.0 * 8f64.ln() / 25.0).abs() < 1e-12);
    }
}
