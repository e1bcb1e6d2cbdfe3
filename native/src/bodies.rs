//! A block's body (its lines' bytes, `lines::read_lines`) allocated before it is filled, and its
//! place shown first to an advice Python may register (`analyzer.heap.huge_bodies`: the 2 MiB
//! pages wholly inside it asked for as transparent huge pages). A body is ~4-8 MiB written once
//! from start to end; in 4 KiB pages each of its pages is a minor fault the first time it is
//! written (~2,000 a block where the memory is fresh: the blocks folded ahead, the first blocks
//! of each thread). The advice must come before the first write, so the room is made here, with
//! the GIL held, and filled after it is released. No advice registered: nothing is called.

use pyo3::prelude::*;
use std::sync::Mutex;

static ADVICE: Mutex<Option<Py<PyAny>>> = Mutex::new(None);

/// Register `advice(address, capacity)`, called with each body's room before it is filled
/// (None: no advice from now on).
#[pyfunction]
#[pyo3(signature = (advice=None))]
pub fn advise_bodies(advice: Option<Py<PyAny>>) {
    *ADVICE.lock().unwrap_or_else(|e| e.into_inner()) = advice;
}

/// Room for a body of `len` bytes (none at 2 GiB or more: `read_lines` refuses such a range),
/// not yet written, shown to the registered advice. An advice that raises is the caller's error.
pub fn room(py: Python<'_>, len: u64) -> PyResult<Vec<u8>> {
    if len == 0 || len >= (1 << 31) {
        return Ok(Vec::new());
    }
    let body = Vec::with_capacity(len as usize);
    let advice = ADVICE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|a| a.clone_ref(py));
    if let Some(a) = advice {
        a.call1(py, (body.as_ptr() as usize, body.capacity()))?;
    }
    Ok(body)
}
