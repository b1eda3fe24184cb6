//! PyTorch state dicts in safetensors files: named tensors in and out.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::{DType, TensorData};
use safetensors::tensor::{Dtype, TensorView};

use crate::{Error, Result};

/// Named tensors, as PyTorch's `state_dict()` holds them, plus the file's string metadata.
///
/// Read and write it with [`StateDict::load`] and [`StateDict::save`] (safetensors); move a
/// layer's weights in and out with `load_state_dict` and `state_dict` on the layer.
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    tensors: BTreeMap<String, TensorData>,
    /// The file's `__metadata__` (string keys and values).
    pub metadata: BTreeMap<String, String>,
}

impl StateDict {
    /// Reads a state dict: a PyTorch checkpoint (`.pt`, `.pth`, `.bin`: `torch.save` of a
    /// state dict) or, for any other extension, a safetensors file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let is_pytorch = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "pt" | "pth" | "bin"));
        if is_pytorch {
            Self::load_pytorch(path, None)
        } else {
            Self::load_safetensors(path)
        }
    }

    /// Reads a PyTorch checkpoint written by `torch.save(model.state_dict(), path)`, or the
    /// state dict stored under `top_level_key` of a checkpoint dictionary (for example
    /// `"state_dict"` or `"model"`), with burn's `pytorch-reader` (no Python needed).
    pub fn load_pytorch(path: impl AsRef<Path>, top_level_key: Option<&str>) -> Result<Self> {
        use pytorch_reader::DType as Pt;
        let path = path.as_ref();
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let reader = match top_level_key {
            Some(key) => pytorch_reader::PytorchReader::with_top_level_key(path, key),
            None => pytorch_reader::PytorchReader::new(path),
        }
        .map_err(|e| format_error(format!("not a readable PyTorch checkpoint: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, tensor) in reader.into_tensors() {
            let dtype = match tensor.dtype() {
                Pt::F32 => DType::F32,
                Pt::F64 => DType::F64,
                Pt::F16 => DType::F16,
                Pt::BF16 => DType::BF16,
                Pt::I64 => DType::I64,
                Pt::I32 => DType::I32,
                Pt::U8 => DType::U8,
                other => {
                    return Err(format_error(format!(
                        "tensor `{name}` has unsupported dtype {other:?}"
                    )));
                }
            };
            let bytes = tensor.read().map_err(|e| format_error(e.to_string()))?;
            let data = TensorData::from_bytes_vec(bytes, tensor.shape().to_vec(), dtype);
            tensors.insert(name, data);
        }
        Ok(Self {
            tensors,
            metadata: BTreeMap::new(),
        })
    }

    /// Reads a safetensors file.
    pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|message| Error::Format {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses safetensors bytes; the error says what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| format!("not a safetensors file: {e}"))?;
        let metadata = header
            .metadata()
            .clone()
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let file = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| format!("not a safetensors file: {e}"))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let dtype = match view.dtype() {
                Dtype::F32 => DType::F32,
                Dtype::F64 => DType::F64,
                Dtype::F16 => DType::F16,
                Dtype::BF16 => DType::BF16,
                Dtype::I64 => DType::I64,
                Dtype::I32 => DType::I32,
                Dtype::U8 => DType::U8,
                other => return Err(format!("tensor `{name}` has unsupported dtype {other:?}")),
            };
            let data =
                TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype);
            tensors.insert(name, data);
        }
        Ok(Self { tensors, metadata })
    }

    /// Writes the tensors as a safetensors file, atomically: to a temporary file beside
    /// `path`, then renamed over it, so a crash never leaves a half-written file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes().map_err(|message| Error::Format {
            path: path.to_path_buf(),
            message,
        })?;
        write_atomic(path, &bytes)
    }

    /// Serialises the tensors to safetensors bytes.
    pub fn to_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        let mut views = Vec::with_capacity(self.tensors.len());
        for (name, data) in &self.tensors {
            let dtype = match data.dtype() {
                DType::F32 => Dtype::F32,
                DType::F64 => Dtype::F64,
                DType::F16 => Dtype::F16,
                DType::BF16 => Dtype::BF16,
                DType::I64 => Dtype::I64,
                DType::I32 => Dtype::I32,
                DType::U8 => Dtype::U8,
                other => return Err(format!("tensor `{name}`: cannot save dtype {other:?}")),
            };
            let view = TensorView::new(dtype, data.shape().to_vec(), data.as_bytes())
                .map_err(|e| format!("tensor `{name}`: {e}"))?;
            views.push((name.clone(), view));
        }
        let metadata = (!self.metadata.is_empty()).then(|| {
            self.metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
        safetensors::serialize(views, metadata).map_err(|e| e.to_string())
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&TensorData> {
        self.tensors.get(name)
    }

    /// Adds or replaces a tensor.
    pub fn insert(&mut self, name: impl Into<String>, data: TensorData) {
        self.tensors.insert(name.into(), data);
    }

    /// Removes and returns a tensor.
    pub fn remove(&mut self, name: &str) -> Option<TensorData> {
        self.tensors.remove(name)
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// All tensors with their names, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TensorData)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Adds every tensor of `other` (replacing tensors of the same name).
    pub fn extend(&mut self, other: StateDict) {
        self.tensors.extend(other.tensors);
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Format {
            path: path.to_path_buf(),
            message: "not a file path".into(),
        })?
        .to_string_lossy();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}
