//! `analyzer._native.BulkFold`: [`crate::bulkfold::BulkFold`] for Python
//! (`analyzer/anomalies/bulk_native.py`). A batch's columns come as buffers (`ByteView`: numpy
//! arrays and Arrow buffers, no copy) and small lists of words; the result goes back once, each
//! column as little-endian bytes (`owned.rs`). The GIL is released while a batch is folded.

use crate::bulkfold::{BulkFold, Coded, Entry, Ints, Options, Prim, Qid, Texts, NULL_SEC};
use crate::owned::{owned, Owned};
use crate::vocab::Column;
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

type Valid = Option<(ByteView, usize)>;
/// (values, first row, validity)
type PrimIn = (ByteView, usize, Valid);
/// (words, codes, code width in bytes)
type CodedIn = (Vec<Option<String>>, ByteView, usize);
/// (offsets, data, wide, validity)
type TextsIn = (ByteView, ByteView, bool, Valid);

fn bits(v: &Valid) -> Option<(&[u8], usize)> {
    v.as_ref().map(|(b, at)| (&b[..], *at))
}

fn prim(p: &PrimIn) -> Prim<'_> {
    Prim { values: &p.0, at: p.1, valid: bits(&p.2) }
}

fn coded(c: &CodedIn, len: usize) -> Result<Coded<'_>, String> {
    Ok(Coded { words: c.0.clone(), codes: Ints::new(&c.1, c.2, len)? })
}

fn texts(t: &TextsIn) -> Result<Texts<'_>, String> {
    Ok(Texts { col: Column::new(&t.0, &t.1, t.2)?, valid: bits(&t.3) })
}

fn le<T, const N: usize>(items: impl ExactSizeIterator<Item = T>, f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = vec![0u8; N * items.len()];
    for (o, x) in out.chunks_exact_mut(N).zip(items) {
        o.copy_from_slice(&f(x));
    }
    out
}

type Entries<'py> = Vec<Bound<'py, Owned>>;

/// (qid u64, sec i64, ts i64 (0 without a time), order i64, sender i32) of held entries, as bytes.
fn entries(es: &[Entry]) -> Vec<Vec<u8>> {
    let sec = |e: &Entry| if e.ts == NULL_SEC { NULL_SEC } else { e.ts.div_euclid(1_000_000_000) };
    vec![
        le(es.iter(), |e| e.qid.to_le_bytes()),
        le(es.iter(), |e| sec(e).to_le_bytes()),
        le(es.iter(), |e| if e.ts == NULL_SEC { 0i64 } else { e.ts }.to_le_bytes()),
        le(es.iter(), |e| e.order.to_le_bytes()),
        le(es.iter(), |e| e.sender.to_le_bytes()),
    ]
}

fn owned_all(py: Python<'_>, bufs: Vec<Vec<u8>>) -> Vec<Bound<'_, Owned>> {
    bufs.into_iter().map(|b| owned(py, b)).collect()
}

#[pyclass(name = "BulkFold", module = "analyzer._native")]
pub struct PyBulkFold(BulkFold);

type Result3<'py> = (Vec<Bound<'py, Owned>>, [Vec<String>; 3], Option<Entries<'py>>, Option<Entries<'py>>);

#[pymethods]
impl PyBulkFold {
    /// ``split``: the second that splits each chunk's first entries (None: every entry kept).
    #[new]
    #[pyo3(signature = (split=None, deferred_only=false, looked_up_only=false))]
    fn new(split: Option<i64>, deferred_only: bool, looked_up_only: bool) -> Self {
        PyBulkFold(BulkFold::new(Options { split, deferred_only, looked_up_only }))
    }

    /// Fold a batch of ``n`` rows: ``mask`` (a byte per row), the first row's ``order``, ``ts``
    /// (int64 ns), ``line`` (float64) and ``quit`` (bits) as (values, first row, validity);
    /// the coded columns as (words, codes, width); ``queue_id``/``sender`` as (offsets, data,
    /// wide, validity); ``cause_ref``: whether the batch has that column, and its validity.
    #[pyo3(signature = (n, mask, order, ts, ts_unit, line, line_float, quit, event, direction, program, status, source, host,
                        all_rows, reply_class, queue_id, sender, has_cause_ref, cause_ref))]
    #[allow(clippy::too_many_arguments)]
    fn add(&mut self, py: Python<'_>, n: usize, mask: ByteView, order: i64, ts: PrimIn, ts_unit: i64, line: PrimIn, line_float: bool,
           quit: Option<PrimIn>, event: CodedIn, direction: CodedIn, program: TextsIn, status: Option<CodedIn>, source: TextsIn,
           host: TextsIn, all_rows: bool, reply_class: CodedIn, queue_id: Option<TextsIn>, sender: Option<TextsIn>,
           has_cause_ref: bool, cause_ref: Valid) -> PyResult<()> {
        let fold = &mut self.0;
        py.detach(|| {
            let batch = crate::bulkfold::Batch {
                len: n,
                mask: &mask,
                order,
                ts: prim(&ts),
                ts_unit,
                line: prim(&line),
                line_float,
                quit: quit.as_ref().map(prim),
                event: coded(&event, n)?,
                direction: coded(&direction, n)?,
                program: texts(&program)?,
                status: status.as_ref().map(|s| coded(s, n)).transpose()?,
                source: texts(&source)?,
                host: texts(&host)?,
                all_rows,
                reply_class: coded(&reply_class, n)?,
                queue_id: queue_id.as_ref().map(texts).transpose()?,
                sender: sender.as_ref().map(texts).transpose()?,
                cause_ref: has_cause_ref.then(|| bits(&cause_ref)),
            };
            fold.add(&batch)
        })
        .map_err(PyValueError::new_err)
    }

    /// The folded table's columns (sec, source, host, reply_class as codes i32, kind i8, n,
    /// sessions, closed, unclosed, ts_min, ts_max, last_order, last_line f64), the key columns'
    /// values (code 1 on), and the qids' and senders' entries (None: no batch gave one).
    fn result<'py>(&mut self, py: Python<'py>) -> PyResult<Result3<'py>> {
        let fold = &mut self.0;
        // (the columns made into bytes with the GIL released too: ~450k entries a 1M-line day)
        let (table, names, qids, senders) = py.detach(|| -> Result<_, String> {
            let (table, names, qids, senders) = fold.result_columns()?;
            let qids = qids.map(|q| {
                let es: Vec<Entry> = q.iter().map(|e: &Qid| Entry { qid: e.qid, ts: e.ts, order: 0, sender: 0 }).collect();
                let mut got = entries(&es);
                got.truncate(3);
                got
            });
            Ok((table, names, qids, senders.map(|s| entries(&s))))
        }).map_err(PyValueError::new_err)?;
        Ok((owned_all(py, table), names, qids.map(|q| owned_all(py, q)), senders.map(|s| owned_all(py, s))))
    }

    /// The senders' words in code order: (offsets, data, wide) of an Arrow string column.
    fn sender_words<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>, bool)> {
        let v = &self.0.sender_words;
        let codes: Vec<i64> = (0..v.len() as i64).collect();
        let (off, data, wide) = v.take(&codes).map_err(PyValueError::new_err)?;
        Ok((owned(py, off), owned(py, data), wide))
    }

    /// Bytes held by part (entries, first times, senders, deferred, looked up).
    fn nbytes(&self) -> [usize; 5] {
        self.0.nbytes()
    }

    /// Empty the senders' words (after their result was taken).
    fn clear_senders(&mut self) {
        self.0.sender_words = crate::vocab::Vocab::new();
    }
}
