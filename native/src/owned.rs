//! Bytes built in Rust handed to Python without a copy: `analyzer._native.Owned` holds the
//! `Vec<u8>` and exports it through the buffer protocol (read-only), so `pa.py_buffer(obj)` and
//! `np.frombuffer(obj)` read it in place and keep it alive. Where `PyBytes::new` copied every
//! column of a batch once more, this hands the builder's memory over as it is.

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use std::os::raw::{c_int, c_void};

#[pyclass(frozen, name = "Owned", module = "analyzer._native")]
pub struct Owned {
    data: Vec<u8>,
}

#[pymethods]
impl Owned {
    fn __len__(&self) -> usize {
        self.data.len()
    }

    /// The bytes, copied (for tests and small uses).
    fn __bytes__(&self) -> Vec<u8> {
        self.data.clone()
    }

    /// # Safety
    /// Called by Python with a valid `view` to fill: the buffer protocol's export.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err("read-only bytes"));
        }
        let data = &slf.get().data;
        // SAFETY: `view` comes from the interpreter; the Vec never changes (the class is
        // frozen) and lives while the view holds a reference to `slf` (FillInfo takes one).
        let ret = unsafe {
            ffi::PyBuffer_FillInfo(view, slf.as_ptr(), data.as_ptr() as *mut c_void, data.len() as ffi::Py_ssize_t, 1, flags)
        };
        if ret == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    /// # Safety
    /// Called by Python when a view ends; nothing to free (the view's reference goes with it).
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// `data` as a Python object exporting it (no copy).
pub fn owned(py: Python<'_>, data: Vec<u8>) -> Bound<'_, Owned> {
    Bound::new(py, Owned { data }).expect("allocating a small Python object")
}
