//! `analyzer._native.fold_postfix`: [`crate::fold`] for Python (`analyzer/fast_summary.py`).

use crate::engine::Strings;
use crate::classkey::Masker;
use crate::fold::{fold_parallel, reps, Col, Foreign};
use crate::owned::{owned, Owned};
use crate::{arrow, buffers, PyFast, RowsOut};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

type Buf<'py> = Bound<'py, Owned>;
type ColOut<'py> = (Buf<'py>, Buf<'py>, Buf<'py>, usize);
type FoldOut<'py> = (
    (Buf<'py>, Buf<'py>, Buf<'py>, Buf<'py>, bool, bool),
    RowsOut<'py>,
    (Buf<'py>, Buf<'py>, RowsOut<'py>, ColOut<'py>, ColOut<'py>, Buf<'py>),
    Vec<(String, u64, u32)>,
    Option<(Buf<'py>, ColOut<'py>)>,
);

/// A string column's buffers handed over without a copy (`owned.rs`).
pub(crate) fn col(py: Python<'_>, c: Col) -> ColOut<'_> {
    let off: Vec<u8> = if c.offsets.is_empty() { vec![0; 4] } else { le(&c.offsets, i32::to_le_bytes) };
    (owned(py, off), owned(py, c.data), owned(py, c.valid), c.nulls)
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
///
/// `classes` (with a `masker`): the groups come merged by classification key (`fold::classes`:
/// the representatives and ckeys of the classes, each the first group of its key), and the
/// fifth item is (each group's class, uint32; the groups' reply texts, a string column); else None.
#[pyfunction]
#[pyo3(signature = (fast, offsets, data, threads=1, masker=None, foreign=None, classes=false))]
#[allow(clippy::too_many_arguments)]
pub fn fold_postfix<'py>(py: Python<'py>, fast: PyRef<'py, PyFast>, offsets: crate::ByteView, data: crate::ByteView, threads: usize,
                         masker: Option<PyRef<'py, PyMasker>>, foreign: Option<PyRef<'py, PyForeign>>,
                         classes: bool) -> PyResult<FoldOut<'py>> {
    let (fp, months) = (&fast.fast, &fast.months);
    let m = masker.as_ref().map(|m| &m.0);
    let fo = foreign.as_ref().map(|f| &f.0);
    let classes = classes && m.is_some();
    let off = arrow::offsets(&offsets);
    let got = py.detach(|| {
        let lines = Strings { offsets: &off, data: &data };
        let mut f = fold_parallel(fp, lines, months, threads, m, fo)?;
        let merged = classes.then(|| crate::fold::classes(&mut f));
        let groups = reps(&f)?;
        Ok::<_, String>((f, groups, merged))
    });
    let (f, groups, merged) = got.map_err(pyo3::exceptions::PyValueError::new_err)?;
    let st = f.stamps;
    let head = (owned(py, f.kind), owned(py, st.months), owned(py, st.days), owned(py, le(&st.secs, u32::to_le_bytes)), st.unusual, st.trailing_space);
    let ckeys = if m.is_some() { le(&f.ckeys, u64::to_le_bytes) } else { Vec::new() };
    let rows = (owned(py, le(&f.rows, |r| i64::from(r).to_le_bytes())), owned(py, le(&f.gid, u32::to_le_bytes)), buffers(py, groups),
                col(py, f.queue_id), col(py, f.recipient), owned(py, ckeys));
    let headers = buffers(py, f.headers);
    let counts = f.foreign.counts.iter().map(|(k, n, line)| (String::from_utf8_lossy(k).into_owned(), *n, *line)).collect();
    let merged = merged.map(|(cid, texts)| (owned(py, le(&cid, u32::to_le_bytes)), col(py, texts)));
    Ok((head, headers, rows, counts, merged))
}

/// `analyzer._native.Foreign(postfix_program, exim_program, exim_wrapped)`: what a line of
/// another program is (`fold::Foreign`), for `fold_postfix(..., foreign=)`: such lines are
/// counted by program (the fold's fourth item: [(program, lines, first line)] in order of
/// first appearance), their kind 3.
#[pyclass(name = "Foreign", frozen)]
pub struct PyForeign(pub Foreign);

#[pymethods]
impl PyForeign {
    #[new]
    fn new(postfix: &str, exim: &str, wrapped: &str) -> PyResult<Self> {
        Foreign::new(postfix, exim, wrapped).map(PyForeign).map_err(pyo3::exceptions::PyValueError::new_err)
    }
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

    /// Whether the mask and the first pass are read by hand where they can be (`maskhand.rs`).
    #[getter]
    fn by_hand(&self) -> bool {
        self.0.by_hand()
    }
}

/// `syslog::naive_stamps` for Python (`analyzer.parsers.classic`): the headers' months, days
/// (uint8) and seconds (uint32 little-endian bytes) as the fold or `FastPostfix.run` gives
/// them, the clock's (year, month) before them -> (int64 microseconds of the local wall clock,
/// the clock's year and month after them).
#[pyfunction]
pub fn naive_stamps<'py>(py: Python<'py>, months: crate::ByteView, days: crate::ByteView, secs: crate::ByteView, year: i64,
                         prev_month: u8) -> PyResult<(Buf<'py>, i64, u8)> {
    if days.len() != months.len() || secs.len() != 4 * months.len() {
        return Err(pyo3::exceptions::PyValueError::new_err("months, days and seconds differ in length"));
    }
    let (ts, year, prev) = py.detach(|| {
        let secs = secs.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        crate::syslog::naive_stamps(&months, &days, secs, year, prev_month)
    });
    Ok((owned(py, le(&ts, i64::to_le_bytes)), year, prev))
}

/// Bytes `start..end` of the file at `path` as a block's lines (`lines::read_lines`: read in
/// chunks, each checked, cut and copied while in cache): (offsets, bytes without the newlines,
/// whether a NUL is in them, the bytes read) for an Arrow string array, or None where Python
/// reads and cuts the block (nothing read, a CR, not UTF-8, 2 GiB or more). OSError as Python's
/// `open`/`read` would raise it.
#[pyfunction]
pub fn read_lines<'py>(py: Python<'py>, path: std::path::PathBuf, start: u64, end: u64) -> PyResult<Option<(Buf<'py>, Buf<'py>, bool, usize)>> {
    use std::io::{Seek, SeekFrom};
    let got = py.detach(|| -> std::io::Result<_> {
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(start))?;
        crate::lines::read_lines(&mut f, end.saturating_sub(start))
    })?;
    Ok(got.map(|(off, body, nul, n)| (owned(py, off), owned(py, body), nul, n)))
}
