//! `pqnum.rs` for Python (`analyzer/parquet_dict.py`): a chunk of numbers, times or booleans.

use crate::pqdict_py::{rows, Valid};
use crate::pqnum::{delta as delta_pages, dictionary, plain, Kind, Values};
use crate::pqzstd::Squeeze;
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// (page body, its size uncompressed, rows or dictionary values)
type PyPage<'py> = (Bound<'py, PyBytes>, usize, usize);
/// (the dictionary page or None, the data pages, nulls, (min, max) or None)
type Got<'py> = (Option<PyPage<'py>>, Vec<PyPage<'py>>, usize, Option<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>);

/// A column chunk of ``kind`` (int16, int32, int64, double, bool: a timestamp's int64) arrays
/// (each: rows, validity (bitmap, bit of the first row) or None, values buffer, index of the
/// first row's value): dictionary-encoded (None when the dictionary page would pass ``limit``
/// bytes) or PLAIN pages of at most ``page_rows`` rows / ``page_bytes`` bytes, each
/// zstd-compressed at ``level`` if given: (dictionary page (body, size, values) or None,
/// [(page body, size, rows)], nulls, (min, max) as PLAIN bytes or None). ``delta`` (integers,
/// not ``dictionary_encoded``): DELTA_BINARY_PACKED pages in place of PLAIN ones.
#[pyfunction]
#[pyo3(signature = (kind, chunks, dictionary_encoded, limit, page_rows, page_bytes, level=None, delta=false))]
#[allow(clippy::too_many_arguments)]
pub fn parquet_numbers<'py>(py: Python<'py>, kind: &str, chunks: Vec<(usize, Valid, ByteView, usize)>, dictionary_encoded: bool,
                            limit: usize, page_rows: usize, page_bytes: usize, level: Option<i32>, delta: bool) -> PyResult<Option<Got<'py>>> {
    let kind = Kind::parse(kind).map_err(PyValueError::new_err)?;
    let made = py.detach(|| {
        let c: Vec<Values> = chunks.iter().map(|(len, valid, data, at)| Values { rows: rows(*len, valid), data, at: *at }).collect();
        let mut sq = Squeeze::new(level)?;
        if delta {
            delta_pages(kind, &c, page_rows, page_bytes, &mut sq).map(Some)
        } else if dictionary_encoded {
            dictionary(kind, &c, limit, page_rows, &mut sq)
        } else {
            plain(kind, &c, page_rows, page_bytes, &mut sq).map(Some)
        }
    });
    let Some(m) = made.map_err(PyValueError::new_err)? else { return Ok(None) };
    let page = |p: &crate::pqzstd::Page, n: usize| (PyBytes::new(py, &p.body), p.size, n);
    Ok(Some((
        m.dict.as_ref().map(|(p, n)| page(p, *n)),
        m.pages.iter().map(|p| page(p, p.rows)).collect(),
        m.nulls,
        m.stats.as_ref().map(|(lo, hi)| (PyBytes::new(py, lo), PyBytes::new(py, hi))),
    )))
}
