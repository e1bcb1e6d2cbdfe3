//! `analyzer._native.class_keys`: the classification keys of a table's rows without the relay
//! host (`classkey.rs`, [`Masker::key_of_fields`]), from the Arrow buffers of its CLASS_KEY
//! columns (`analyzer/parallel.py` mixes the relay host's provider in with
//! `analyzer.class_cache.folded_key`). Any table with the event schema's types: the native
//! readers' rows and the Python engine's alike.

use crate::classkey::{Field, MaskCache};
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

/// A string column read in place: its offsets' bytes (n + 1 of them, as Arrow lays them out),
/// data and validity. A value whose offsets are out of order or past the data reads as empty
/// (as `engine::Strings::get`).
struct Col<'a> {
    offsets: &'a [u8],
    data: &'a [u8],
    valid: Option<(&'a [u8], usize)>,
}

impl<'a> Col<'a> {
    fn new(offsets: &'a [u8], data: &'a [u8], valid: Option<(&'a [u8], usize)>, n: usize) -> PyResult<Col<'a>> {
        if offsets.len() != 4 * (n + 1) {
            return Err(PyValueError::new_err("a column shorter than the table"));
        }
        Ok(Col { offsets, data, valid })
    }

    #[inline]
    fn offset(&self, i: usize) -> i32 {
        i32::from_le_bytes(self.offsets[4 * i..4 * i + 4].try_into().unwrap())
    }

    /// Row `i`'s bounds in the data (None: null).
    #[inline]
    fn bounds(&self, i: usize) -> Option<(usize, usize)> {
        if !cell(self.valid, i) {
            return None;
        }
        let (a, b) = (self.offset(i), self.offset(i + 1));
        if a < 0 || b < a || b as usize > self.data.len() {
            return Some((0, 0));
        }
        Some((a as usize, b as usize))
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.bounds(i).map(|(a, b)| &self.data[a..b])
    }

    #[inline]
    fn field(&self, i: usize) -> Field {
        self.bounds(i).map_or_else(Field::default, |(a, b)| Field::at(self.data, a, b))
    }
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
    let cols = strs.iter().map(|(o, d, v)| Col::new(o, d, valid_at(v, n)?, n)).collect::<PyResult<Vec<_>>>()?;
    if reply_code.0.len() < 2 * n || quit.0.len() * 8 < quit.1 + n {
        return Err(PyValueError::new_err("a column shorter than the table"));
    }
    let (code_valid, quit_valid) = (valid_at(&reply_code.1, n)?, valid_at(&quit.2, n)?);
    let m = &masker.0;
    let keys = py.detach(|| {
        let mut cache = MaskCache::default();
        (0..n)
            .map(|i| {
                let c = &cols[..9];
                let short = [c[0].field(i), c[1].field(i), c[2].field(i), c[3].field(i), c[4].field(i), c[5].field(i), c[8].field(i)];
                let code = cell(code_valid, i).then(|| i16::from_le_bytes([reply_code.0[2 * i], reply_code.0[2 * i + 1]]));
                let q = cell(quit_valid, i).then(|| is_set(&quit.0, quit.1 + i));
                m.key_of_fields(&short, code, q, cols[6].get(i), cols[7].get(i), &mut cache)
            })
            .collect::<Vec<u64>>()
    });
    Ok(owned(py, le(&keys, u64::to_le_bytes)))
}
