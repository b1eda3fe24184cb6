//! Tensor data whose buffer goes back to the [pool](super::pool) when the backend drops it.
//!
//! A layer's outputs leave the kernels as the backend's tensor. Built from a plain `Vec`, the
//! buffer went back to the allocator when burn dropped it, and the next call took a new one
//! and cleared it first (`pool::zeros`: 0.9 ms for each 13 MiB output of a config-C layer, on
//! both threads, before the directions could start). Here the buffer is handed to burn's
//! [`Bytes`] through an allocation controller that gives it back to the pool on drop, and the
//! next call takes it as it is: the kernels write every value, padding's as zeros, before
//! anyone reads it.
//!
//! burn-flex keeps a tensor's `Bytes` as its storage, so on flex the buffer comes back when the
//! tensor is dropped. A backend that turns the data into a `Vec` of its own (ndarray) takes the
//! buffer over without a copy ([`AllocationController::try_detach`]); it then goes back to the
//! allocator as before.
//!
//! A bidirectional layer's outputs are pooled always, a one-direction layer's in inference only
//! (without autodiff). In training, a config-B RNN step ran 5% slower with them pooled: with
//! the pool holding a buffer of the outputs' size, burn's own temporaries of that size (the
//! gradient of the outputs) came from fresh pages that faulted in (`perf`: `clear_page` under
//! burn-flex's fill), and the saving of one clear of 6 MiB did not pay for them. In inference
//! no such temporaries follow: config-A forward 0.92-0.96 of the time, B RNN 0.95, B LSTM and
//! GRU 0.99.
//!
//! The controller's byte views of the buffer need `unsafe`: this module and [`super::gemm`]
//! are the crate's only `unsafe` code, each with `// SAFETY:` comments and tests.
#![allow(unsafe_code)]

use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr::NonNull;

use burn::tensor::{DType, TensorData};
use burn_std::{AccessError, AccessPolicy, AllocationController, AllocationProperty, Bytes};

use super::pool;

/// `values` as `f32` tensor data of `shape`, the buffer owned by a [`Pooled`] controller.
///
/// # Panics
///
/// When `shape` does not hold `values.len()` elements.
pub(crate) fn tensor_data(values: Vec<f32>, shape: &[usize]) -> TensorData {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "tensor_data: {} values for shape {shape:?}",
        values.len()
    );
    let len = std::mem::size_of_val(values.as_slice());
    // SAFETY: `from_controller` needs the first `len` bytes of the controller's memory to be
    // initialized: they are the bytes of `values`' `len()` floats, all initialized (a `Vec`'s
    // first `len()` elements are).
    let bytes = unsafe { Bytes::from_controller(Box::new(Pooled { values }), len) };
    TensorData::from_bytes(bytes, shape.to_vec(), DType::F32)
}

/// An allocation controller over a `Vec<f32>` that gives it to the pool when dropped.
#[derive(Debug)]
struct Pooled {
    values: Vec<f32>,
}

impl Pooled {
    /// The whole allocation (`capacity` floats) as bytes.
    fn bytes(&self) -> &[MaybeUninit<u8>] {
        let len = self.values.capacity() * size_of::<f32>();
        // SAFETY: the `Vec` owns an allocation of `capacity` floats, `len` bytes from its
        // pointer (non-null and dangling only when `len` is 0), borrowed here for as long as
        // `self` is. `MaybeUninit<u8>` has alignment 1 and no invalid values, so every byte,
        // initialized or not, may be viewed as one.
        unsafe { std::slice::from_raw_parts(self.values.as_ptr().cast(), len) }
    }

    /// The whole allocation as bytes, mutably.
    fn bytes_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        let len = self.values.capacity() * size_of::<f32>();
        // SAFETY: as in `bytes`, borrowed uniquely through `&mut self`. Any bytes written
        // through this view leave floats that are valid whatever their bits (`f32` has no
        // invalid values); the callers of `memory_mut` promise to write initialized data.
        unsafe { std::slice::from_raw_parts_mut(self.values.as_mut_ptr().cast(), len) }
    }
}

impl AllocationController for Pooled {
    fn alloc_align(&self) -> usize {
        align_of::<f32>()
    }

    fn property(&self) -> AllocationProperty {
        AllocationProperty::Other
    }

    unsafe fn memory_mut(
        &mut self,
        _policy: AccessPolicy,
    ) -> Result<&mut [MaybeUninit<u8>], AccessError> {
        Ok(self.bytes_mut())
    }

    fn memory(&self, _policy: AccessPolicy) -> Result<&[MaybeUninit<u8>], AccessError> {
        Ok(self.bytes())
    }

    /// Hands the buffer over: it was allocated by the global allocator as a `Vec<f32>`
    /// (`alloc_align` is `f32`'s, the size its capacity's), which is what `Bytes::try_into_vec`
    /// rebuilds. The controller keeps an empty `Vec`.
    fn try_detach(&mut self) -> Option<NonNull<u8>> {
        let mut values = ManuallyDrop::new(std::mem::take(&mut self.values));
        NonNull::new(values.as_mut_ptr().cast())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.values));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_reads_back_and_converts_to_a_vec_without_loss() {
        let values: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5 - 7.0).collect();
        let data = tensor_data(values.clone(), &[10, 100]);
        assert_eq!(data.shape().to_vec(), vec![10, 100]);
        assert_eq!(data.as_slice::<f32>().expect("f32 values"), &values[..]);
        // Taken over as a `Vec` (the detach path), the values are intact.
        assert_eq!(data.try_into_vec::<f32>().expect("a Vec"), values);
    }

    #[test]
    fn a_dropped_tensor_gives_its_buffer_back_to_the_pool() {
        // A size no other test uses (the pool is shared by the whole process), above the
        // pool's minimum.
        let n = (1 << 14) * 5 + 3;
        let values = vec![1.5; n];
        let address = values.as_ptr();
        let data = tensor_data(values, &[n]);
        drop(data);
        let again = pool::take(n);
        assert_eq!(
            again.as_ptr(),
            address,
            "the next request of that size reuses the buffer"
        );
        pool::give(again);
    }

    #[test]
    fn a_shape_that_does_not_hold_the_values_is_refused() {
        let result = std::panic::catch_unwind(|| tensor_data(vec![0.0; 6], &[4, 2]));
        assert!(result.is_err());
    }

    #[test]
    #[allow(deprecated)] // burn-ndarray, still a supported backend
    fn tensors_made_from_it_compute_and_drop_on_the_cpu_backends() {
        use burn::tensor::{Device, Tensor};
        let values: Vec<f32> = (0..24).map(|i| i as f32).collect();
        for device in [Device::flex(), Device::ndarray()] {
            let t = Tensor::<2>::from_data(tensor_data(values.clone(), &[4, 6]), &device);
            let doubled = (t.clone() + t).into_data();
            assert_eq!(
                doubled.as_slice::<f32>().expect("f32")[5],
                10.0,
                "{device:?}"
            );
            let t = Tensor::<2>::from_data(tensor_data(values.clone(), &[4, 6]), &device);
            assert_eq!(t.sum().into_scalar::<f32>(), 276.0, "{device:?}");
        }
    }
}
