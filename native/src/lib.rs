//! maillens' native parsing core (`analyzer._native`): runs the Python pattern tables with the
//! `regex` crate, without the GIL. The tables stay in Python (the specification); this crate
//! holds no pattern of its own.

pub mod arrow;
pub mod engine;
pub mod exim;
pub mod exim_cols;
mod exim_py;
pub mod syslog;
pub mod translate;

use engine::{Engine, Strings};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

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

/// Rewrite an RE2 pattern into the regex crate's syntax (exposed for tests).
#[pyfunction]
#[pyo3(name = "translate")]
fn py_translate(re2: &str) -> PyResult<String> {
    translate::re2_to_rust(re2).map_err(pyo3::exceptions::PyValueError::new_err)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<exim_py::EximReader>()?;
    m.add_function(wrap_pyfunction!(py_translate, m)?)?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    // the patterns that have a hand-read twin (used only while the Python table has them verbatim)
    m.add("FAST_PATTERNS", vec![syslog::HEADER])?;
    Ok(())
}
