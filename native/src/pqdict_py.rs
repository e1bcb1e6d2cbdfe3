//! `pqdict.rs` for Python (`analyzer/parquet_dict.py`): Arrow chunks come as their buffers
//! (`ByteView`, no copy), the pages go back as `bytes` (zstd-compressed at `level`, if given:
//! `pqzstd.rs`); the GIL is released while encoding.

use crate::pqdict::{from_codes, from_texts, Pages, Rows, Texts};
use crate::pqzstd::{Page, Squeeze};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

pub(crate) type Valid = Option<(ByteView, usize)>;
/// (dictionary page body, its size uncompressed, words, data page body, its size uncompressed,
/// rows, nulls, bytes of the rows' text)
type Got<'py> = (Bound<'py, PyBytes>, usize, usize, Bound<'py, PyBytes>, usize, usize, usize, u64);

pub(crate) fn rows(len: usize, valid: &Valid) -> Rows<'_> {
    Rows { len, valid: valid.as_ref().map(|(b, at)| (&b[..], *at)) }
}

/// `p`'s two pages compressed at `level` (None: as they are).
fn squeezed(p: Pages, level: Option<i32>) -> Result<(Page, Page, Pages), String> {
    let mut sq = Squeeze::new(level)?;
    let mut p = p;
    let dict = sq.page(std::mem::take(&mut p.dict), p.words)?;
    let data = sq.page(std::mem::take(&mut p.data), p.rows)?;
    Ok((dict, data, p))
}

fn got(py: Python<'_>, (dict, data, p): (Page, Page, Pages)) -> Got<'_> {
    (PyBytes::new(py, &dict.body), dict.size, p.words, PyBytes::new(py, &data.body), data.size, p.rows, p.nulls, p.text_bytes)
}

/// A column chunk of text arrays (each: rows, validity (bitmap, bit of the first row) or None,
/// int32 offsets buffer, index of the first row's offset, data buffer) dictionary-encoded:
/// (dictionary page body, its size, words, data page body, its size, rows, nulls, text bytes),
/// the bodies zstd-compressed at ``level`` if given, or None when the dictionary page would
/// pass ``limit`` bytes.
#[pyfunction]
#[pyo3(signature = (chunks, limit, level=None))]
pub fn parquet_dict_texts<'py>(py: Python<'py>, chunks: Vec<(usize, Valid, ByteView, usize, ByteView)>, limit: usize,
                               level: Option<i32>) -> PyResult<Option<Got<'py>>> {
    let pages = py.detach(|| {
        let c: Vec<(Rows, Texts)> = chunks
            .iter()
            .map(|(len, valid, off, at, data)| (rows(*len, valid), Texts { offsets: off, at: *at, data }))
            .collect();
        from_texts(&c, limit)?.map(|p| squeezed(p, level)).transpose()
    });
    Ok(pages.map_err(PyValueError::new_err)?.map(|p| got(py, p)))
}

/// A column chunk of dictionary arrays sharing the dictionary ``words`` (int32 offsets buffer,
/// index of its first offset, data buffer) of ``count`` words (each chunk: rows, validity or
/// None, int32 indices buffer, index of the first row's): its pages as `parquet_dict_texts`'.
#[pyfunction]
#[pyo3(signature = (chunks, words, count, level=None))]
pub fn parquet_dict_codes<'py>(py: Python<'py>, chunks: Vec<(usize, Valid, ByteView, usize)>,
                               words: (ByteView, usize, ByteView), count: usize, level: Option<i32>) -> PyResult<Got<'py>> {
    let pages = py.detach(|| {
        let c: Vec<(Rows, &[u8], usize)> = chunks.iter().map(|(len, valid, idx, at)| (rows(*len, valid), &idx[..], *at)).collect();
        squeezed(from_codes(&c, Texts { offsets: &words.0, at: words.1, data: &words.2 }, count)?, level)
    });
    Ok(got(py, pages.map_err(PyValueError::new_err)?))
}
