//! The Python face of the Exim row readers (`exim`): `analyzer._native.EximReader`.

use crate::exim::{read_threads, Columns, Spec, SpecSource, CONSTANT_COLUMNS};
use crate::exim_cols::{constant, Bits, NumCol, StrCol};
use pyo3::prelude::*;
use crate::owned::{owned, Owned};

/// (rows read, their positions int64, their 'local stamp' bytes, their columns)
pub(crate) type Read<'py> = (usize, Bound<'py, Owned>, Bound<'py, Owned>, Vec<Buffers<'py>>);
type Buffers<'py> = (&'static str, &'static str, usize, Bound<'py, Owned>, Bound<'py, Owned>, Option<Bound<'py, Owned>>);

/// The readers, built with the specification's regexes and rules (see analyzer/native_exim.py).
#[pyclass(frozen, name = "EximReader", module = "analyzer._native")]
pub struct EximReader {
    pub(crate) spec: Spec,
}

#[pymethods]
impl EximReader {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        code: String,
        enh_any: String,
        stage_text: String,
        queued: String,
        stage_rules: Vec<(String, String)>,
        deny_codes: Vec<(String, i16)>,
        deny_default: i16,
        defer_code: i16,
        text_codes: Vec<(String, i16)>,
        dropped_code: i16,
        auth_code: i16,
        sync_code: i16,
    ) -> PyResult<Self> {
        let src = SpecSource {
            code, enh_any, stage_text, queued, stage_rules, deny_codes, deny_default, defer_code, text_codes, dropped_code, auth_code, sync_code,
        };
        Spec::new(src).map(|spec| EximReader { spec }).map_err(pyo3::exceptions::PyValueError::new_err)
    }

    /// Read the lines of a string column (Arrow offsets sliced to it, and data). Returns (n,
    /// rows int64, local uint8, [(name, type, nulls, validity, values, data or None)]) for the
    /// rows read, "ts" and "pid" first.
    #[pyo3(signature = (offsets, data, threads=1))]
    fn read<'py>(&self, py: Python<'py>, offsets: crate::ByteView, data: crate::ByteView, threads: usize) -> PyResult<Read<'py>> {
        if data.len() > i32::MAX as usize {
            return Err(pyo3::exceptions::PyValueError::new_err("a batch over 2 GiB"));
        }
        let spec = &self.spec;
        let cols = py.detach(|| {
            let off = crate::arrow::offsets(&offsets);
            read_threads(spec, &off, &data, threads)
        });
        Ok(columns_out(py, cols))
    }
}

/// The Python form of rows read (see `EximReader.read`): (n, rows int64, local uint8, columns).
pub(crate) fn columns_out<'py>(py: Python<'py>, cols: Columns) -> Read<'py> {
    let b = |v: Vec<u8>| owned(py, v);
    let num = |name: &'static str, ty: &'static str, c: NumCol| -> Buffers<'py> {
        let nulls = c.valid.nulls;
        (name, ty, nulls, b(c.valid.into_bytes()), b(c.values), None)
    };
    let mut out: Vec<Buffers<'py>> = vec![num("ts", "ts", cols.ts), num("pid", "int32", cols.pid)];
    let strs = cols.strs.into_iter().map(|(name, c)| (name, c.finish(cols.n)));
    let same = CONSTANT_COLUMNS.iter().map(|&(name, v)| (name, constant(cols.n, v)));
    for (name, StrCol { offsets, data, valid }) in strs.chain(same) {
        let nulls = valid.nulls;
        out.push((name, "string", nulls, b(valid.into_bytes()), b(offsets), Some(b(data))));
    }
    for (group, ty) in [(cols.i16s, "int16"), (cols.i32s, "int32"), (cols.i64s, "int64"), (cols.f64s, "float64")] {
        for (name, c) in group {
            out.push(num(name, ty, c));
        }
    }
    for (name, c) in cols.bools {
        let nulls = c.valid.nulls;
        let values: Bits = c.values;
        out.push((name, "bool", nulls, b(c.valid.into_bytes()), b(values.into_bytes()), None));
    }
    (cols.n, b(cols.rows), b(cols.local), out)
}
