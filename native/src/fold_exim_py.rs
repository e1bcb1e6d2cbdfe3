//! `analyzer._native.fold_exim`: [`crate::fold_exim`] for Python (`analyzer/fast_summary_exim.py`).

use crate::exim_cols::StrCol;
use crate::exim_py::{columns_out, EximReader, Read};
use crate::fold_exim::{fold_threads, reps};
use crate::fold_py::{le, PyMasker};
use crate::owned::{owned, Owned};
use pyo3::prelude::*;

type ColOut<'py> = (Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, usize);
type FoldOut<'py> = (Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, ColOut<'py>, ColOut<'py>, Read<'py>, Bound<'py, Owned>,
                      Option<(Bound<'py, Owned>, ColOut<'py>)>);

fn col(py: Python<'_>, c: StrCol) -> ColOut<'_> {
    let StrCol { offsets, data, valid } = c;
    let nulls = valid.nulls;
    (owned(py, offsets), owned(py, data), owned(py, valid.into_bytes()), nulls)
}

/// Fold a block (Arrow offsets and data of its lines) with `reader`'s readers. Returns (rows
/// int64, gid uint32, ts int64 micros, local uint8, queue_id, recipient, groups, ckeys): one cell per
/// line read; queue_id and recipient as (offsets, data, validity, nulls) of a string column;
/// the groups' representatives as `EximReader.read` gives rows; ckeys: the groups'
/// classification keys without the relay host (uint64, `classkey.rs`), empty without a `masker`.
/// `classes` (with a `masker`): groups and ckeys are the classes' (the groups merged by key,
/// `fold_exim::classes`) and the ninth item is (each group's class, uint32; the groups' reply
/// texts, a string column); else None.
#[pyfunction]
#[pyo3(signature = (reader, offsets, data, threads=1, masker=None, classes=false))]
#[allow(clippy::too_many_arguments)]
pub fn fold_exim<'py>(py: Python<'py>, reader: PyRef<'py, EximReader>, offsets: crate::ByteView, data: crate::ByteView, threads: usize,
                      masker: Option<PyRef<'py, PyMasker>>, classes: bool) -> PyResult<FoldOut<'py>> {
    if data.len() > i32::MAX as usize {
        return Err(pyo3::exceptions::PyValueError::new_err("a batch over 2 GiB"));
    }
    let spec = &reader.spec;
    let off = crate::arrow::offsets(&offsets);
    let m = masker.as_ref().map(|m| &m.0);
    let classes = classes && m.is_some();
    let (rows, gid, ts, local, qid, rcpt, groups, ckeys, merged) = py.detach(|| {
        let f = fold_threads(spec, &off, &data, threads, m);
        let (groups, ckeys, merged) = if classes {
            let (firsts, cid, texts) = crate::fold_exim::classes(&f);
            let ckeys = le(&firsts.iter().map(|r| r.ckey).collect::<Vec<_>>(), u64::to_le_bytes);
            (crate::fold_exim::columns(firsts.into_iter()), ckeys, Some((le(&cid, u32::to_le_bytes), texts)))
        } else {
            let ckeys = if m.is_some() { le(&f.groups.reps.iter().map(|r| r.ckey).collect::<Vec<_>>(), u64::to_le_bytes) } else { Vec::new() };
            (reps(&f), ckeys, None)
        };
        let rows = le(&f.rows, |r| i64::from(r).to_le_bytes());
        let gid = le(&f.gid, u32::to_le_bytes);
        let ts = le(&f.ts, i64::to_le_bytes);
        (rows, gid, ts, f.local, f.queue_id, f.recipient, groups, ckeys, merged)
    });
    let merged = merged.map(|(cid, texts)| (owned(py, cid), crate::fold_py::col(py, texts)));
    Ok((owned(py, rows), owned(py, gid), owned(py, ts), owned(py, local), col(py, qid), col(py, rcpt), columns_out(py, groups), owned(py, ckeys),
        merged))
}
