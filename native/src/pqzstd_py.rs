//! `pqzstd.rs` for Python (`analyzer/parquet_dict.py`): a chunk of plain text's pages.

use crate::pqdict::{Rows, Texts};
use crate::pqdict_py::{rows, Valid};
use crate::pqzstd::{plain_pages, Squeeze};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A column chunk of text arrays (as `parquet_dict_texts` takes them) as PLAIN v1 data pages of
/// at most ``page_rows`` rows (cut once their values reach ``page_bytes``), zstd-compressed at ``level`` if given: ([(page body, its size
/// uncompressed, rows)], nulls, bytes of the rows' text).
#[pyfunction]
#[pyo3(signature = (chunks, page_rows, page_bytes, level=None))]
#[allow(clippy::type_complexity)]
pub fn parquet_plain_texts<'py>(py: Python<'py>, chunks: Vec<(usize, Valid, ByteView, usize, ByteView)>, page_rows: usize,
                                page_bytes: usize, level: Option<i32>) -> PyResult<(Vec<(Bound<'py, PyBytes>, usize, usize)>, usize, u64)> {
    let got = py.detach(|| {
        let c: Vec<(Rows, Texts)> = chunks
            .iter()
            .map(|(len, valid, off, at, data)| (rows(*len, valid), Texts { offsets: off, at: *at, data }))
            .collect();
        plain_pages(&c, page_rows, page_bytes, &mut Squeeze::new(level)?)
    });
    let p = got.map_err(PyValueError::new_err)?;
    Ok((p.pages.iter().map(|g| (PyBytes::new(py, &g.body), g.size, g.rows)).collect(), p.nulls, p.text_bytes))
}
