//! The loss guard: a NaN or infinite loss stops training with an error that says where it
//! happened, before a broken model can overwrite a good checkpoint.

use crate::error::{Result, TrainError};

/// `Ok(())` when `loss` is finite, else [`TrainError::NonFiniteLoss`] naming `epoch` and
/// `step`, e.g. `loss became NaN at epoch 3, step 17; the last good checkpoint is kept`.
pub fn check_finite(loss: f64, epoch: usize, step: usize) -> Result<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(TrainError::NonFiniteLoss {
            value: loss,
            epoch,
            step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_losses_pass() {
        assert!(check_finite(0.0, 1, 1).is_ok());
        assert!(check_finite(-3.5, 1, 1).is_ok());
        assert!(check_finite(f64::MAX, 1, 1).is_ok());
    }

    #[test]
    fn nan_and_infinite_losses_name_epoch_and_step() {
        let err = check_finite(f64::NAN, 3, 17).unwrap_err();
        assert_eq!(
            err.to_string(),
            "loss became NaN at epoch 3, step 17; the last good checkpoint is kept"
        );
        let err = check_finite(f64::INFINITY, 1, 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "loss became inf at epoch 1, step 2; the last good checkpoint is kept"
        );
        assert!(matches!(
            check_finite(f64::NEG_INFINITY, 4, 0),
            Err(TrainError::NonFiniteLoss {
                epoch: 4,
                step: 0,
                ..
            })
        ));
    }
}
