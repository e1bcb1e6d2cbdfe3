//! `pqdict.rs` for Python (`analyzer/parquet_dict.py`): Arrow chunks come as their buffers
//! (`ByteView`, no copy), the pages go back as `bytes`; the GIL is released while encoding.

use crate::pqdict::{from_codes, from_texts, Pages, Rows, Texts};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

type Valid = Option<(ByteView, usize)>;
/// (dictionary page body, words, data page body, rows, nulls, bytes of the rows' text)
type Got<'py> = (Bound<'py, PyBytes>, usize, Bound<'py, PyBytes>, usize, usize, u64);

fn rows(len: usize, valid: &Valid) -> Rows<'_> {
    Rows { len, valid: valid.as_ref().map(|(b, at)| (&b[..], *at)) }
}

fn got(py: Python<'_>, p: Pages) -> Got<'_> {
    (PyBytes::new(py, &p.dict), p.words, PyBytes::new(py, &p.data), p.rows, p.nulls, p.text_bytes)
}

/// A column chunk of text arrays (each: rows, validity (bitmap, bit of the first row) or None,
/// int32 offsets buffer, index of the first row's offset, data buffer) dictionary-encoded:
/// (dictionary page body, words, data page body, rows, nulls, text bytes), or None when the
/// dictionary page would pass ``limit`` bytes.
#[pyfunction]
pub fn parquet_dict_texts<'py>(py: Python<'py>, chunks: Vec<(usize, Valid, ByteView, usize, ByteView)>, limit: usize)
                               -> PyResult<Option<Got<'py>>> {
    let pages = py.detach(|| {
        let c: Vec<(Rows, Texts)> = chunks
            .iter()
            .map(|(len, valid, off, at, data)| (rows(*len, valid), Texts { offsets: off, at: *at, data }))
            .collect();
        from_texts(&c, limit)
    });
    Ok(pages.map_err(PyValueError::new_err)?.map(|p| got(py, p)))
}

/// A column chunk of dictionary arrays sharing the dictionary ``words`` (int32 offsets buffer,
/// index of its first offset, data buffer) of ``count`` words (each chunk: rows, validity or
/// None, int32 indices buffer, index of the first row's): its pages as `parquet_dict_texts`'.
#[pyfunction]
pub fn parquet_dict_codes<'py>(py: Python<'py>, chunks: Vec<(usize, Valid, ByteView, usize)>,
                               words: (ByteView, usize, ByteView), count: usize) -> PyResult<Got<'py>> {
    let pages = py.detach(|| {
        let c: Vec<(Rows, &[u8], usize)> = chunks.iter().map(|(len, valid, idx, at)| (rows(*len, valid), &idx[..], *at)).collect();
        from_codes(&c, Texts { offsets: &words.0, at: words.1, data: &words.2 }, count)
    });
    Ok(got(py, pages.map_err(PyValueError::new_err)?))
}
