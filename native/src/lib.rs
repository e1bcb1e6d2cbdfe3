//! maillens' native parsing core (`analyzer._native`): runs the Python pattern tables with the
//! `regex` crate, without the GIL. The tables stay in Python (the specification); this crate
//! holds no pattern of its own.

pub mod arrow;
pub mod batch;
pub mod bulkfold;
mod bulkfold_py;
pub mod engine;
pub mod exim;
pub mod exim_cols;
mod exim_py;
pub mod fields;
pub mod classkey;
mod classkey_py;
pub mod fold;
mod fold_py;
pub mod fold_exim;
mod fold_exim_py;
pub mod hash;
pub mod interleave;
mod interleave_py;
pub mod keymap;
mod keymap_py;
pub mod lines;
pub mod maskhand;
pub mod owned;
pub mod peerfold;
pub mod peerfold_ended;
pub mod peerfold_warn;
mod peerfold_py;
pub mod postfix;
pub mod pqdict;
mod pqdict_py;
pub mod rows;
pub mod rulematch;
pub mod rulematch_screen;
mod rulematch_py;
pub mod rulewalk;
mod rulewalk_py;
pub mod syslog;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod nparse_tests;
pub mod translate;
pub mod vocab;
mod vocab_py;

use engine::{Engine, Strings};
use owned::{owned, Owned};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::collections::HashMap;

/// Bytes handed in from Python without a copy: `bytes` as they are, or any C-contiguous buffer
/// (`pyarrow.Buffer`: a string array's offsets and data as Arrow holds them), held while in use.
pub enum ByteView {
    Bytes(PyBackedBytes),
    Buffer(pyo3::buffer::PyUntypedBuffer),
}

impl std::ops::Deref for ByteView {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ByteView::Bytes(b) => b,
            // SAFETY: a C-contiguous buffer (checked when it was taken), whose memory its
            // exporter keeps, unchanged (Arrow buffers are immutable), for as long as it is held
            ByteView::Buffer(b) if b.len_bytes() > 0 => unsafe {
                std::slice::from_raw_parts(b.buf_ptr() as *const u8, b.len_bytes())
            },
            ByteView::Buffer(_) => &[],
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for ByteView {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.extract::<PyBackedBytes>() {
            return Ok(ByteView::Bytes(b));
        }
        let buf = pyo3::buffer::PyUntypedBuffer::get(&obj)?;
        if !buf.is_c_contiguous() {
            return Err(pyo3::exceptions::PyValueError::new_err("a contiguous buffer is needed"));
        }
        Ok(ByteView::Buffer(buf))
    }
}

type Column<'py> = (usize, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, usize);

/// A compiled list of patterns (RE2 syntax, as the Python tables write them).
#[pyclass(frozen, name = "Engine", module = "analyzer._native")]
struct PyEngine {
    engine: Engine,
}

#[pymethods]
impl PyEngine {
    #[new]
    fn new(regexes: Vec<String>, daemons: Vec<Option<Vec<String>>>) -> PyResult<Self> {
        Engine::new(&regexes, daemons)
            .map(|engine| PyEngine { engine })
            .map_err(pyo3::exceptions::PyValueError::new_err)
    }

    /// The group names of all patterns, in order of first appearance.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.engine.names.clone()
    }

    /// Match a string column (Arrow offsets and data buffers, offsets sliced to the column).
    /// ``keys``: the rows' daemons (offsets, data, validity as one byte per row) or None.
    /// Returns (rows int64 bytes, pattern int32 bytes, [(column, offsets, data, validity, nulls)]).
    #[pyo3(signature = (offsets, data, keys=None, threads=1))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        offsets: PyBackedBytes,
        data: PyBackedBytes,
        keys: Option<(PyBackedBytes, PyBackedBytes, PyBackedBytes)>,
        threads: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Vec<Column<'py>>)> {
        let engine = &self.engine;
        let result = py.detach(|| {
            let off = arrow::offsets(&offsets);
            let msgs = Strings { offsets: &off, data: &data };
            let key_off = keys.as_ref().map(|k| arrow::offsets(&k.0));
            let key_valid: Option<Vec<bool>> = keys.as_ref().map(|k| k.2.iter().map(|&b| b != 0).collect());
            let ks = match (&keys, &key_off, &key_valid) {
                (Some(k), Some(o), Some(v)) => {
                    if o.len() != off.len() || v.len() + 1 != off.len() {
                        return Err("keys and messages differ in length".to_string());
                    }
                    Some((Strings { offsets: o, data: &k.1 }, v.as_slice()))
                }
                _ => None,
            };
            let n = msgs.len();
            let threads = threads.clamp(1, 64).min(n / 2048 + 1);
            let mut found = if threads == 1 {
                engine.run(msgs, ks, 0, n)
            } else {
                let step = n.div_ceil(threads);
                let parts = std::thread::scope(|s| {
                    let handles: Vec<_> = (0..threads)
                        .map(|t| {
                            let (lo, hi) = (t * step, ((t + 1) * step).min(n));
                            s.spawn(move || engine.run(msgs, ks, lo, hi))
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().expect("matcher thread")).collect::<Vec<_>>()
                });
                Engine::join(parts)
            };
            engine.order(&mut found, ks);
            let mut cols = Vec::new();
            for c in engine.used_columns(&found) {
                let cells = engine.column(&found, c, msgs);
                cols.push((c, arrow::build(&cells)?));
            }
            let rows: Vec<u8> = found.rows.iter().flat_map(|&r| (r as i64).to_le_bytes()).collect();
            let pats: Vec<u8> = found.pats.iter().flat_map(|&p| (p as i32).to_le_bytes()).collect();
            Ok((rows, pats, cols))
        });
        let (rows, pats, cols) = result.map_err(pyo3::exceptions::PyValueError::new_err)?;
        let cols = cols
            .into_iter()
            .map(|(c, col)| {
                (c, PyBytes::new(py, &col.offsets), PyBytes::new(py, &col.data), PyBytes::new(py, &col.validity), col.nulls)
            })
            .collect();
        Ok((PyBytes::new(py, &rows), PyBytes::new(py, &pats), cols))
    }

    /// One byte per row: whether the first pattern matches it (pyarrow's match_substring_regex).
    #[pyo3(signature = (offsets, data, threads=1))]
    fn is_match<'py>(&self, py: Python<'py>, offsets: PyBackedBytes, data: PyBackedBytes, threads: usize) -> Bound<'py, PyBytes> {
        let engine = &self.engine;
        let out = py.detach(|| {
            let off = arrow::offsets(&offsets);
            let msgs = Strings { offsets: &off, data: &data };
            let n = msgs.len();
            let threads = threads.clamp(1, 64).min(n / 4096 + 1);
            let step = n.div_ceil(threads.max(1)).max(1);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (lo, hi) = ((t * step).min(n), ((t + 1) * step).min(n));
                        s.spawn(move || engine.is_match(msgs, lo, hi))
                    })
                    .collect();
                handles.into_iter().flat_map(|h| h.join().expect("matcher thread")).collect::<Vec<u8>>()
            })
        });
        PyBytes::new(py, &out)
    }

}

type Buffers<'py> = (&'static str, &'static str, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, usize);

fn buffers<'py>(py: Python<'py>, rows: rows::Rows) -> (Bound<'py, Owned>, Vec<Buffers<'py>>) {
    let index: Vec<u8> = rows.rows.iter().flat_map(|&r| (r as i64).to_le_bytes()).collect();
    let cols = rows
        .columns()
        .into_iter()
        .map(|c| {
            let kind = match c.kind {
                rows::Kind::Str => "string",
                rows::Kind::I16 => "int16",
                rows::Kind::I32 => "int32",
                rows::Kind::I64 => "int64",
                rows::Kind::F64 => "float64",
                rows::Kind::Bool => "bool",
                rows::Kind::Ts => "ts",
            };
            (c.name, kind, owned(py, c.values), owned(py, c.data), owned(py, c.validity), c.nulls)
        })
        .collect();
    (owned(py, index), cols)
}

/// The whole-row fast path for Postfix lines (see `batch.rs`), set up from the Python tables.
#[pyclass(frozen, name = "FastPostfix", module = "analyzer._native")]
struct PyFast {
    fast: postfix::Fast,
    months: Vec<Vec<u8>>,
}

type Table = Vec<postfix::PatternSpec>;
type RowsOut<'py> = (Bound<'py, Owned>, Vec<Buffers<'py>>);

#[pymethods]
impl PyFast {
    /// ``table``: [(name, regex, event, daemons or None)] of the Postfix table in order;
    /// ``fields``: (code, enh_any, stage_text, queued_as) regexes of fields.py; ``stages``:
    /// fields.py's stage rules; ``months``: the month names.
    #[new]
    fn new(
        table: Table,
        directions: HashMap<String, String>,
        reject_actions: HashMap<String, String>,
        fields: (String, String, String, String),
        stages: Vec<(String, String)>,
        months: Vec<String>,
    ) -> PyResult<Self> {
        let f = fields::Fields::new(&fields.0, &fields.1, &fields.2, &fields.3, stages).map_err(pyo3::exceptions::PyValueError::new_err)?;
        Ok(PyFast { fast: postfix::Fast::new(table, directions, reject_actions, f), months: months.into_iter().map(String::into_bytes).collect() })
    }

    /// The names of the patterns read by hand (those the table still holds verbatim).
    #[getter]
    fn enabled(&self) -> Vec<&'static str> {
        self.fast.enabled.clone()
    }

    /// Read a batch (Arrow offsets and data of a string column). Returns (kind, months, days,
    /// secs, unusual, trailing_space, headers, rows); headers and rows are (row index int64
    /// bytes, [(column, type, values, data, validity, nulls)]).
    #[pyo3(signature = (offsets, data, threads=1))]
    #[allow(clippy::type_complexity)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        offsets: ByteView,
        data: ByteView,
        threads: usize,
    ) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, bool, bool, RowsOut<'py>, RowsOut<'py>)> {
        let b = py
            .detach(|| {
                let off = arrow::offsets(&offsets);
                let lines = Strings { offsets: &off, data: &data };
                batch::read_parallel(&self.fast, lines, &self.months, threads)
            })
            .map_err(pyo3::exceptions::PyValueError::new_err)?;
        let st = b.stamps;
        let secs: Vec<u8> = st.secs.iter().flat_map(|s| s.to_le_bytes()).collect();
        Ok((
            owned(py, b.kind),
            owned(py, st.months),
            owned(py, st.days),
            owned(py, secs),
            st.unusual,
            st.trailing_space,
            buffers(py, b.headers),
            buffers(py, b.rows),
        ))
    }
}

/// One 64-bit hash per value of a string column (Arrow offsets, sliced to the column, and data;
/// ``valid``: the validity bitmap and the bit of the first row, or None), as little-endian u64
/// bytes (`hash.rs`).
#[pyfunction]
#[pyo3(signature = (offsets, data, valid=None))]
fn hash_strings<'py>(
    py: Python<'py>,
    offsets: PyBackedBytes,
    data: PyBackedBytes,
    valid: Option<(PyBackedBytes, usize)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let off = arrow::offsets(&offsets);
        let col = Strings { offsets: &off, data: &data };
        let bits = valid.as_ref().map(|(b, at)| (&b[..], *at));
        if let Some((b, at)) = bits {
            if b.len() * 8 < at + col.len() {
                return Err("the validity bitmap is shorter than the column".to_string());
            }
        }
        Ok(hash::hash_column(col, bits).iter().flat_map(|h| h.to_le_bytes()).collect::<Vec<u8>>())
    });
    out.map(|b| PyBytes::new(py, &b)).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// A block's lines (`lines.rs`): (offsets, bytes without the newlines, whether a NUL is in
/// the block) for an Arrow string array, the two buffers handed over as they were built
/// (`owned.rs`: no copy into a `bytes`), or None where Python cuts the block (a CR in it, not
/// UTF-8, empty).
#[pyfunction]
#[pyo3(name = "split_lines")]
fn py_split_lines<'py>(py: Python<'py>, data: PyBackedBytes) -> Option<(Bound<'py, Owned>, Bound<'py, Owned>, bool)> {
    let got = py.detach(|| lines::split_lines(&data));
    got.map(|(off, body, nul)| (owned(py, off), owned(py, body), nul))
}

/// Rewrite an RE2 pattern into the regex crate's syntax (exposed for tests).
#[pyfunction]
#[pyo3(name = "translate")]
fn py_translate(re2: &str) -> PyResult<String> {
    translate::re2_to_rust(re2).map_err(pyo3::exceptions::PyValueError::new_err)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<PyFast>()?;
    m.add_class::<owned::Owned>()?;
    m.add_class::<exim_py::EximReader>()?;
    m.add_class::<rulematch_py::PyRuleSet>()?;
    m.add_class::<rulematch_py::PyTexts>()?;
    m.add_class::<rulewalk_py::PyRuleWalk>()?;
    m.add_function(wrap_pyfunction!(py_translate, m)?)?;
    m.add_function(wrap_pyfunction!(hash_strings, m)?)?;
    m.add_function(wrap_pyfunction!(py_split_lines, m)?)?;
    m.add_function(wrap_pyfunction!(fold_py::fold_postfix, m)?)?;
    m.add_function(wrap_pyfunction!(fold_py::naive_stamps, m)?)?;
    m.add_function(wrap_pyfunction!(fold_exim_py::fold_exim, m)?)?;
    m.add_function(wrap_pyfunction!(classkey_py::class_keys, m)?)?;

    m.add_class::<fold_py::PyMasker>()?;
    m.add_class::<fold_py::PyForeign>()?;

    m.add_function(wrap_pyfunction!(interleave_py::py_interleave, m)?)?;
    m.add_class::<vocab_py::PyVocab>()?;
    m.add_class::<keymap_py::PyKeyMap>()?;
    m.add_class::<peerfold_py::PyPfFold>()?;
    m.add_function(wrap_pyfunction!(peerfold_py::encode_rows, m)?)?;
    m.add_function(wrap_pyfunction!(peerfold_py::warning_texts, m)?)?;
    m.add_function(wrap_pyfunction!(peerfold_py::encode_pf_rows, m)?)?;
    m.add_function(wrap_pyfunction!(peerfold_py::pf_reject_reasons, m)?)?;

    m.add_class::<bulkfold_py::PyBulkFold>()?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    // the patterns that have a hand-read twin (used only while the Python table has them verbatim)
    m.add("FAST_PATTERNS", vec![syslog::HEADER, fields::CODE, maskhand::MASK, maskhand::OPAQUE_FIRST])?;
    m.add_class::<endsfold_py::PyEndsFold>()?;
    m.add_class::<peerfold_exim_py::PyExFold>()?;

    m.add_function(wrap_pyfunction!(fold_py::read_lines, m)?)?;

    m.add_function(wrap_pyfunction!(pqdict_py::parquet_dict_texts, m)?)?;
    m.add_function(wrap_pyfunction!(pqdict_py::parquet_dict_codes, m)?)?;
    m.add_function(wrap_pyfunction!(pqzstd_py::parquet_plain_texts, m)?)?;
    m.add_function(wrap_pyfunction!(pclass_words::py_words_by_code, m)?)?;
    m.add_function(wrap_pyfunction!(pclass3_mask::py_mask_texts, m)?)?;
    m.add_class::<pclass_near::PyKnownIndex>()?;
    m.add_function(wrap_pyfunction!(pclass_near::py_near_vote, m)?)?;

    m.add_function(wrap_pyfunction!(pqnum_py::parquet_numbers, m)?)?;
    Ok(())
}

pub mod endsfold;
mod endsfold_py;
pub mod peerfold_exim;
mod peerfold_exim_py;

pub mod pqzstd;
mod pqzstd_py;
pub mod pclass_words;

pub mod peerrows;
pub mod peerreasons;


pub mod pqnum;
mod pqnum_delta;
mod pqnum_py;
pub mod pqlevels;

pub mod nparse_items;
#[cfg(test)]
mod nparse_items_tests;

pub mod pclass3_mask;
pub mod pclass_near;

pub mod nparse_scan;
