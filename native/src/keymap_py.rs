//! `analyzer._native.KeyMap`: [`crate::keymap::KeyMap`] for Python (`analyzer/keyed.py`). The keys
//! come as a buffer of little-endian u64 (a numpy array: `ByteView`, no copy), the slots go back
//! as little-endian int64 bytes (`owned.rs`); the GIL is released meanwhile.

use crate::keymap::KeyMap;
use crate::owned::{owned, Owned};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn words(keys: &[u8]) -> PyResult<Vec<u64>> {
    if keys.len() % 8 != 0 {
        return Err(PyValueError::new_err("keys are 8-byte integers"));
    }
    Ok(keys.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

fn slots_out(py: Python<'_>, slots: Vec<i64>) -> Bound<'_, Owned> {
    owned(py, slots.iter().flat_map(|s| s.to_le_bytes()).collect())
}

#[pyclass(name = "KeyMap", module = "analyzer._native")]
pub struct PyKeyMap(KeyMap);

#[pymethods]
impl PyKeyMap {
    #[new]
    fn new() -> Self {
        PyKeyMap(KeyMap::new())
    }

    /// The slots in use or free (one more than the largest slot given).
    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// The keys held.
    #[getter]
    fn live(&self) -> usize {
        self.0.live()
    }

    /// Bytes held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.0.nbytes()
    }

    /// The slot of each key (little-endian u64), -1 for a key not held.
    fn locate<'py>(&self, py: Python<'py>, keys: ByteView) -> PyResult<Bound<'py, Owned>> {
        let map = &self.0;
        let got = py.detach(|| words(&keys).map(|k| map.locate(&k)))?;
        Ok(slots_out(py, got))
    }

    /// The slot of each key, the keys not held added first (in their order).
    fn ensure<'py>(&mut self, py: Python<'py>, keys: ByteView) -> PyResult<Bound<'py, Owned>> {
        let map = &mut self.0;
        let got = py.detach(|| words(&keys).and_then(|k| map.ensure(&k).map_err(PyValueError::new_err)))?;
        Ok(slots_out(py, got))
    }

    /// Remove each key: the slot it held (now free, given to a later new key), -1 for a key not held.
    fn remove<'py>(&mut self, py: Python<'py>, keys: ByteView) -> PyResult<Bound<'py, Owned>> {
        let map = &mut self.0;
        let got = py.detach(|| words(&keys).map(|k| map.remove(&k)))?;
        Ok(slots_out(py, got))
    }

    /// Each slot's key, in slot order (little-endian u64; a free slot's: the key it held last).
    fn keys<'py>(&self, py: Python<'py>) -> Bound<'py, Owned> {
        owned(py, self.0.keys().iter().flat_map(|k| k.to_le_bytes()).collect())
    }
}
