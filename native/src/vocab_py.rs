//! `analyzer._native.Vocab`: [`crate::vocab::Vocab`] for Python (`analyzer/peer_vocab.py`). The
//! columns come as Arrow buffers (`ByteView`: no copy), the codes go back as little-endian int64
//! bytes and the strings as an Arrow column's buffers (`owned.rs`); the GIL is released meanwhile.

use crate::owned::{owned, Owned};
use crate::vocab::{Column, Vocab};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

type Valid = Option<(ByteView, usize)>;

fn bits(v: &Valid) -> Option<(&[u8], usize)> {
    v.as_ref().map(|(b, at)| (&b[..], *at))
}

fn codes_out(py: Python<'_>, codes: Result<Vec<i64>, String>) -> PyResult<Bound<'_, Owned>> {
    let codes = codes.map_err(PyValueError::new_err)?;
    let mut out = Vec::with_capacity(8 * codes.len());
    for c in codes {
        out.extend_from_slice(&c.to_le_bytes());
    }
    Ok(owned(py, out))
}

#[pyclass(name = "Vocab", module = "analyzer._native")]
pub struct PyVocab(pub(crate) Vocab);

#[pymethods]
impl PyVocab {
    #[new]
    fn new() -> Self {
        PyVocab(Vocab::new())
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// Bytes held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.0.nbytes()
    }

    /// The code of each row of a string column (offsets sliced to it: i32, or i64 when
    /// ``wide``; data; ``valid``: validity bitmap and first row's bit, or None), -1 for null.
    #[pyo3(signature = (offsets, data, wide=false, valid=None))]
    fn encode<'py>(&mut self, py: Python<'py>, offsets: ByteView, data: ByteView, wide: bool, valid: Valid) -> PyResult<Bound<'py, Owned>> {
        let vocab = &mut self.0;
        let got = py.detach(|| Column::new(&offsets, &data, wide).and_then(|col| vocab.encode(&col, bits(&valid))));
        codes_out(py, got)
    }

    /// The code of each row of a dictionary column: its dictionary as in `encode` (with
    /// ``dict_valid``), ``indices`` (signed, ``width`` bytes each, sliced to the column) and
    /// their ``valid``ity.
    #[pyo3(signature = (offsets, data, wide, dict_valid, indices, width, valid=None))]
    #[allow(clippy::too_many_arguments)]
    fn encode_dict<'py>(&mut self, py: Python<'py>, offsets: ByteView, data: ByteView, wide: bool, dict_valid: Valid,
                        indices: ByteView, width: usize, valid: Valid) -> PyResult<Bound<'py, Owned>> {
        let vocab = &mut self.0;
        let got = py.detach(|| {
            Column::new(&offsets, &data, wide).and_then(|dict| vocab.encode_dict(&dict, bits(&dict_valid), &indices, width, bits(&valid)))
        });
        codes_out(py, got)
    }

    /// The strings of ``codes`` (little-endian int64): (offsets, data, wide) of an Arrow string
    /// column (i64 offsets, a large_string, when ``wide``).
    fn take<'py>(&self, py: Python<'py>, codes: ByteView) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>, bool)> {
        if codes.len() % 8 != 0 {
            return Err(PyValueError::new_err("codes are 8-byte integers"));
        }
        let vocab = &self.0;
        let got = py.detach(|| {
            let codes: Vec<i64> = codes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
            vocab.take(&codes)
        });
        let (off, data, wide) = got.map_err(PyValueError::new_err)?;
        Ok((owned(py, off), owned(py, data), wide))
    }
}
