//! The Python face of `interleave`: `analyzer._native.interleave(from_b, columns)`.
//!
//! The columns' buffers are pyarrow `Buffer`s read in place through the buffer protocol: the
//! one `unsafe` here turns a held, contiguous, read-only buffer into a byte slice.

use crate::interleave::{interleave, runs, Layout, Side};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use crate::owned::{owned, Owned};

/// One side of a column: (validity or None, values, data or None, offset, len).
type PySide<'py> = (Option<Bound<'py, PyAny>>, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>, usize, usize);
/// (validity, nulls, values, data)
type PyOut<'py> = (Bound<'py, Owned>, usize, Bound<'py, Owned>, Bound<'py, Owned>);

/// A buffer held while it is read: pyarrow exports its buffers as signed bytes ("b"), bytes
/// objects as unsigned ones ("B").
enum Buf {
    U8(PyBuffer<u8>),
    I8(PyBuffer<i8>),
}

struct Held {
    buf: Option<Buf>,
}

impl Held {
    fn get(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Held> {
        let Some(obj) = obj else { return Ok(Held { buf: None }) };
        let buf = match PyBuffer::<u8>::get(obj) {
            Ok(b) => Buf::U8(b),
            Err(_) => Buf::I8(PyBuffer::<i8>::get(obj)?),
        };
        let contiguous = match &buf {
            Buf::U8(b) => b.is_c_contiguous(),
            Buf::I8(b) => b.is_c_contiguous(),
        };
        if !contiguous {
            return Err(pyo3::exceptions::PyValueError::new_err("a buffer that is not contiguous"));
        }
        Ok(Held { buf: Some(buf) })
    }

    fn bytes(&self) -> &[u8] {
        let (ptr, len) = match &self.buf {
            None => return &[],
            Some(Buf::U8(b)) => (b.buf_ptr(), b.len_bytes()),
            Some(Buf::I8(b)) => (b.buf_ptr(), b.len_bytes()),
        };
        if len == 0 {
            return &[];
        }
        // SAFETY: the buffer is held (PyBuffer keeps the exporter alive and its memory in place
        // until dropped, after this slice's last use), C-contiguous, `len` bytes of one-byte
        // items, and only read.
        unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
    }
}

fn side(h: &[Held; 3], offset: usize, len: usize) -> Side<'_> {
    Side { validity: h[0].buf.as_ref().map(|_| h[0].bytes()), values: h[1].bytes(), data: h[2].bytes(), offset, len }
}

fn layout(kind: &str) -> PyResult<Layout> {
    Ok(match kind {
        "string" => Layout::Str,
        "bool" => Layout::Bool,
        "1" => Layout::Fixed(1),
        "2" => Layout::Fixed(2),
        "4" => Layout::Fixed(4),
        "8" => Layout::Fixed(8),
        _ => return Err(pyo3::exceptions::PyValueError::new_err(format!("no such layout: {kind}"))),
    })
}

/// Columns of two tables put together: ``from_b`` one byte per output row (0: the next row of
/// the first table, else of the second); ``columns`` [(layout, side a, side b)] with layout
/// "string", "bool" or the width in bytes ("1", "2", "4", "8"). Returns [(validity, nulls,
/// values, data)] per column.
#[pyfunction]
#[pyo3(name = "interleave")]
pub fn py_interleave<'py>(py: Python<'py>, from_b: &[u8], columns: Vec<(String, PySide<'py>, PySide<'py>)>) -> PyResult<Vec<PyOut<'py>>> {
    let order = runs(from_b);
    let mut out = Vec::with_capacity(columns.len());
    for (kind, a, b) in &columns {
        let lay = layout(kind)?;
        let ha = [Held::get(a.0.as_ref())?, Held::get(Some(&a.1))?, Held::get(a.2.as_ref())?];
        let hb = [Held::get(b.0.as_ref())?, Held::get(Some(&b.1))?, Held::get(b.2.as_ref())?];
        let (sa, sb) = (side(&ha, a.3, a.4), side(&hb, b.3, b.4));
        let got = py.detach(|| interleave(lay, &order, sa, sb)).map_err(pyo3::exceptions::PyValueError::new_err)?;
        out.push((owned(py, got.validity), got.nulls, owned(py, got.values), owned(py, got.data)));
    }
    Ok(out)
}
