//! Reading and writing a model's weights as a safetensors file under PyTorch's names.

use std::path::Path;

use recurrent_cells::StateDict;
use recurrent_zoo::PytorchWeights;

use crate::error::{Result, TrainError};

/// `model` with the weights of the safetensors file `path` (as [`save_weights`] writes
/// them), loaded strictly.
///
/// Errors: the file cannot be read ([`TrainError::Weights`], naming it), or a weight is
/// missing, mis-shaped or unexpected ([`TrainError::ModelFile`], naming the file and the
/// tensor).
pub fn load_weights<M: PytorchWeights>(model: M, path: &Path) -> Result<M> {
    let dict = StateDict::load(path)?;
    model
        .load_state_dict(&dict, "")
        .map_err(|source| TrainError::ModelFile {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes `model`'s weights to `path` as safetensors under PyTorch's names, atomically.
pub fn save_weights<M: PytorchWeights>(model: &M, path: &Path) -> Result<()> {
    model.state_dict("").save(path)?;
    Ok(())
}
