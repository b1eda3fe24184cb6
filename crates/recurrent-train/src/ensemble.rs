//! Ensembles: `n` members trained with seeds `seed, seed + 1, ...`, each checkpointed in its
//! own run directory (`RUN/members/member-K`), or a single model in the run directory
//! itself.
//!
//! Each task averages its members' outputs its own way (probabilities for the language
//! model and the tagger, forecasts for the forecaster); what they share is the member loop
//! here and the layout of [`RunDir::member`] and [`RunDir::model_files`].

use crate::error::{Result, TrainError};
use crate::run_dir::RunDir;

/// Which member is being trained, and where.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// The member, 1-based.
    pub k: usize,
    /// Members in the ensemble.
    pub n: usize,
    /// Its seed: the run's seed plus `k - 1`.
    pub seed: u64,
    /// Its run directory: the run's own for a single model, else `RUN/members/member-K`.
    pub dir: RunDir,
    /// Whether it continues from its checkpoints.
    pub resume: bool,
}

impl MemberSpec {
    /// Whether this is a member of an ensemble of several (not a single model).
    pub fn in_ensemble(&self) -> bool {
        self.n > 1
    }

    /// A prefix for progress lines: `member K/N: ` in an ensemble, else empty.
    pub fn progress_prefix(&self) -> String {
        if self.in_ensemble() {
            format!("member {}/{}: ", self.k, self.n)
        } else {
            String::new()
        }
    }
}

/// One trained member.
#[derive(Debug)]
pub struct Member<T> {
    /// Which member it is.
    pub spec: MemberSpec,
    /// What training it produced.
    pub result: T,
}

/// Trains `n` members with `train_one` (seeds `seed`, `seed + 1`, ...): a single model in
/// `run_dir`, or each member in `run_dir/members/member-K`, continuing from checkpoints when
/// `resume` is set.
///
/// Errors: `n = 0`, a member directory that cannot be created, and `train_one`'s errors.
pub fn train_members<T>(
    run_dir: &RunDir,
    n: usize,
    seed: u64,
    resume: bool,
    mut train_one: impl FnMut(&MemberSpec) -> Result<T>,
) -> Result<Vec<Member<T>>> {
    if n == 0 {
        return Err(TrainError::invalid(
            "ensemble",
            "0 members (an ensemble needs at least one)",
        ));
    }
    let mut members = Vec::with_capacity(n);
    for k in 1..=n {
        let dir = if n == 1 {
            run_dir.clone()
        } else {
            run_dir.member(k, resume)?
        };
        let spec = MemberSpec {
            k,
            n,
            seed: seed.wrapping_add(k as u64 - 1),
            dir,
            resume,
        };
        let result = train_one(&spec)?;
        members.push(Member { spec, result });
    }
    Ok(members)
}
