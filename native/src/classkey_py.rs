//! `analyzer._native.class_keys`: the classification keys of a table's rows without the relay
//! host (`classkey.rs`, [`Masker::key_cached`]), from the Arrow buffers of its CLASS_KEY
//! columns (`analyzer/parallel.py` mixes the relay host's provider in with
//! `analyzer.class_cache.folded_key`). Any table with the event schema's types: the native
//! readers' rows and the Python engine's alike.

use crate::arrow;
use crate::classkey::{Fields, MaskCache};
use crate::engine::Strings;
use crate::fold_py::{le, PyMasker};
use crate::hash::is_set;
use crate::owned::{owned, Owned};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

/// A validity bitmap and the bit of the column's first row (None: no nulls).
type Valid = Option<(PyBackedBytes, usize)>;
/// A string column: offsets (sliced to the column: n + 1 of them), data, validity; the offsets
/// and data as `bytes` or as the Arrow buffers themselves (not copied).
type StrIn = (crate::ByteView, crate::ByteView, Valid);

/// The string columns `class_keys` takes, in this order.
pub const STRINGS: [&str; 9] = ["event", "status", "smtp_stage", "mta", "dsn", "enhanced_code", "reply_text", "detail", "direction"];

fn valid_at(v: &Valid, n: usize) -> PyResult<Option<(&[u8], usize)>> {
    match v {
        None => Ok(None),
        Some((b, at)) if b.len() * 8 >= at + n => Ok(Some((&b[..], *at))),
        Some(_) => Err(PyValueError::new_err("a validity bitmap shorter than its column")),
    }
}

fn cell(v: Option<(&[u8], usize)>, i: usize) -> bool {
    v.is_none_or(|(b, at)| is_set(b, at + i))
}

/// The keys of `n` rows (little-endian u64): ``strs`` the [`STRINGS`] columns as (offsets,
/// data, validity), ``reply_code`` (int16 values sliced to the column, validity), ``quit``
/// (the value bits, the bit of the first row, validity).
#[pyfunction]
pub fn class_keys<'py>(
    py: Python<'py>,
    masker: PyRef<'py, PyMasker>,
    n: usize,
    strs: Vec<StrIn>,
    reply_code: (PyBackedBytes, Valid),
    quit: (PyBackedBytes, usize, Valid),
) -> PyResult<Bound<'py, Owned>> {
    if strs.len() != STRINGS.len() {
        return Err(PyValueError::new_err(format!("{} string columns, expected {}", strs.len(), STRINGS.len())));
    }
    let offs: Vec<Vec<i32>> = strs.iter().map(|(o, _, _)| arrow::offsets(o)).collect();
    if offs.iter().any(|o| o.len() != n + 1) || reply_code.0.len() < 2 * n || quit.0.len() * 8 < quit.1 + n {
        return Err(PyValueError::new_err("a column shorter than the table"));
    }
    let valids = strs.iter().map(|(_, _, v)| valid_at(v, n)).collect::<PyResult<Vec<_>>>()?;
    let (code_valid, quit_valid) = (valid_at(&reply_code.1, n)?, valid_at(&quit.2, n)?);
    let cols: Vec<Strings> = offs.iter().zip(&strs).map(|(o, (_, d, _))| Strings { offsets: o, data: &d[..] }).collect();
    let m = &masker.0;
    let keys = py.detach(|| {
        let (mut buf, mut cache) = (Vec::new(), MaskCache::default());
        let s = |c: usize, i: usize| cell(valids[c], i).then(|| cols[c].get(i));
        (0..n)
            .map(|i| {
                let f = Fields {
                    event: s(0, i),
                    status: s(1, i),
                    smtp_stage: s(2, i),
                    mta: s(3, i),
                    dsn: s(4, i),
                    enhanced_code: s(5, i),
                    reply_code: cell(code_valid, i).then(|| i16::from_le_bytes([reply_code.0[2 * i], reply_code.0[2 * i + 1]])),
                    quit: cell(quit_valid, i).then(|| is_set(&quit.0, quit.1 + i)),
                    reply_text: s(6, i),
                    detail: s(7, i),
                    direction: s(8, i),
                };
                m.key_cached(&f, &mut buf, &mut cache)
            })
            .collect::<Vec<u64>>()
    });
    Ok(owned(py, le(&keys, u64::to_le_bytes)))
}
