//! `analyzer._native.fold_postfix`: [`crate::fold`] for Python (`analyzer/fast_summary.py`).

use crate::engine::Strings;
use crate::classkey::Masker;
use crate::fold::{fold_parallel, reps, Col};
use crate::{arrow, buffers, PyFast, RowsOut};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

type ColOut<'py> = (Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, usize);
type FoldOut<'py> = (
    (Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, bool, bool),
    RowsOut<'py>,
    (Bound<'py, PyBytes>, Bound<'py, PyBytes>, RowsOut<'py>, ColOut<'py>, ColOut<'py>, Bound<'py, PyBytes>),
);

fn col<'py>(py: Python<'py>, c: &Col) -> ColOut<'py> {
    let off: Vec<u8> = if c.offsets.is_empty() { vec![0; 4] } else { c.offsets.iter().flat_map(|o| o.to_le_bytes()).collect() };
    (PyBytes::new(py, &off), PyBytes::new(py, &c.data), PyBytes::new(py, &c.valid), c.nulls)
}

/// `v` as little-endian bytes, each value by `f` (an Arrow buffer's).
pub(crate) fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

/// Fold a block (Arrow offsets and data of its lines) with `fast`'s readers. Returns
/// ((kind, months, days, secs, unusual, trailing_space), headers, (rows int64, gid uint32,
/// groups, queue_id, recipient, ckeys)); headers and groups as `FastPostfix.run` gives rows;
/// queue_id and recipient as (offsets, data, validity, nulls) of a string column, one cell per
/// row; ckeys: the groups' classification keys without the relay host (uint64, `classkey.rs`),
/// empty bytes without a `masker`.
#[pyfunction]
#[pyo3(signature = (fast, offsets, data, threads=1, masker=None))]
pub fn fold_postfix<'py>(py: Python<'py>, fast: PyRef<'py, PyFast>, offsets: PyBackedBytes, data: PyBackedBytes, threads: usize,
                         masker: Option<PyRef<'py, PyMasker>>) -> PyResult<FoldOut<'py>> {
    let (fp, months) = (&fast.fast, &fast.months);
    let m = masker.as_ref().map(|m| &m.0);
    let off = arrow::offsets(&offsets);
    let got = py.detach(|| {
        let lines = Strings { offsets: &off, data: &data };
        let f = fold_parallel(fp, lines, months, threads, m)?;
        let groups = reps(&f)?;
        Ok::<_, String>((f, groups))
    });
    let (f, groups) = got.map_err(pyo3::exceptions::PyValueError::new_err)?;
    let b = |v: &[u8]| PyBytes::new(py, v);
    let st = &f.stamps;
    let head = (b(&f.kind), b(&st.months), b(&st.days), b(&le(&st.secs, u32::to_le_bytes)), st.unusual, st.trailing_space);
    let rows = (b(&le(&f.rows, |r| i64::from(r).to_le_bytes())), b(&le(&f.gid, u32::to_le_bytes)), buffers(py, groups),
                col(py, &f.queue_id), col(py, &f.recipient), b(&if m.is_some() { le(&f.ckeys, u64::to_le_bytes) } else { Vec::new() }));
    let headers = buffers(py, f.headers);
    Ok((head, headers, rows))
}

/// `analyzer._native.Masker(mask, masked, passes, detail_ignored)`: `analyzer.classify.mask_texts`
/// in Rust (`classkey.rs`) for the fold's classification keys; `mask(text)` masks one text.
#[pyclass(name = "Masker", frozen)]
pub struct PyMasker(pub Masker);

#[pymethods]
impl PyMasker {
    #[new]
    fn new(mask: &str, masked: &str, passes: Vec<(Option<String>, String, String)>, detail_ignored: Vec<String>) -> PyResult<Self> {
        Masker::new(mask, masked, passes, &detail_ignored).map(PyMasker).map_err(pyo3::exceptions::PyValueError::new_err)
    }

    /// One text masked (bytes in, bytes out).
    fn mask<'py>(&self, py: Python<'py>, text: &[u8]) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.mask(text))
    }
}
