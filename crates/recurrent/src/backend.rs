//! Backends chosen at run time among those compiled in by Cargo features.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// A compute backend of burn that this build may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// burn-flex, pure-Rust CPU (feature `flex`, the default).
    Flex,
    /// burn-ndarray, CPU (feature `ndarray`).
    NdArray,
    /// burn-wgpu, GPU through Vulkan, Metal or DirectX (feature `wgpu`).
    Wgpu,
}

/// Why a backend cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The name is not a backend.
    #[error("unknown backend `{0}`: expected flex, ndarray or wgpu")]
    Unknown(String),
    /// The backend's Cargo feature was not enabled in this build.
    #[error(
        "backend `{backend}` is not compiled in: rebuild with the Cargo feature `{backend}` \
         (compiled in: {compiled})"
    )]
    NotCompiled {
        /// The backend asked for.
        backend: Backend,
        /// The backends this build has, comma separated.
        compiled: String,
    },
    /// No backend feature at all.
    #[error(
        "no backend is compiled in: enable one of the Cargo features `flex`, `ndarray` or `wgpu`"
    )]
    NoneCompiled,
    /// wgpu found no adapter (no GPU and no software Vulkan driver).
    #[error(
        "wgpu found no graphics adapter: install a Vulkan driver (on Debian or Ubuntu, \
         `apt-get install mesa-vulkan-drivers` gives a software one) or choose a CPU backend"
    )]
    NoAdapter,
}

impl Backend {
    /// Every backend, compiled in or not.
    pub const ALL: [Backend; 3] = [Backend::Flex, Backend::NdArray, Backend::Wgpu];

    /// The backend's name, as features and `--backend` options spell it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::NdArray => "ndarray",
            Backend::Wgpu => "wgpu",
        }
    }

    /// Whether this build includes the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::NdArray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The backends this build includes, in order of preference for CPU work.
    pub fn compiled() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The first compiled backend, `flex` when present.
    pub fn default_compiled() -> Result<Backend, BackendError> {
        Self::compiled()
            .into_iter()
            .next()
            .ok_or(BackendError::NoneCompiled)
    }

    /// Opens the backend's default device, checking first that it can run here.
    pub fn device(self) -> Result<Device, BackendError> {
        if !self.is_compiled() {
            let compiled = Self::compiled()
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(BackendError::NotCompiled {
                backend: self,
                compiled: if compiled.is_empty() {
                    "none".into()
                } else {
                    compiled
                },
            });
        }
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // burn-ndarray is deprecated in burn 0.22 but still supported.
            Backend::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => wgpu_device(),
            #[allow(unreachable_patterns)]
            _ => unreachable!("checked by is_compiled"),
        }
    }
}

/// A short description of the device a backend opened: the adapter's name on wgpu
/// (`llvmpipe (LLVM ...)` for Mesa's software rasterizer), the backend's name otherwise.
pub fn describe(backend: Backend, device: &Device) -> String {
    match backend {
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => match device.identity() {
            Some(identity) => format!("wgpu on {}", identity.name),
            None => "wgpu".to_string(),
        },
        _ => {
            let _ = device;
            backend.name().to_string()
        }
    }
}

/// Without an adapter, burn panics inside a worker thread at the first tensor; ask wgpu
/// first so the user gets a message instead.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, BackendError> {
    use burn::tensor::DeviceType;
    let devices = std::panic::catch_unwind(|| Device::enumerate(DeviceType::Wgpu));
    match devices {
        Ok(devices) if !devices.is_empty() => Ok(Device::wgpu(Default::default())),
        _ => Err(BackendError::NoAdapter),
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "flex" => Ok(Backend::Flex),
            "ndarray" => Ok(Backend::NdArray),
            "wgpu" => Ok(Backend::Wgpu),
            other => Err(BackendError::Unknown(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
        let err = "cuda".parse::<Backend>().unwrap_err().to_string();
        assert!(err.contains("cuda") && err.contains("flex"), "{err}");
    }

    #[test]
    fn a_backend_not_compiled_in_names_its_feature() {
        for b in Backend::ALL.into_iter().filter(|b| !b.is_compiled()) {
            let err = b.device().unwrap_err().to_string();
            assert!(err.contains(&format!("feature `{}`", b.name())), "{err}");
        }
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_opens() {
        let device = Backend::Flex.device().unwrap();
        let t = burn::tensor::Tensor::<1>::ones([3], &device);
        assert_eq!(t.sum().into_scalar::<f32>(), 3.0);
    }
}
