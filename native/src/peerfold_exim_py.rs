//! `analyzer._native.ExFold`: [`crate::peerfold_exim::ExFold`] for Python (`analyzer/peer_native_exim.py`).
//! The columns come as numpy buffers and Arrow string columns, the GIL released while a flush is
//! folded; the tables go back as little-endian arrays (`owned.rs`) and Arrow strings.

use crate::owned::{owned, Owned};
use crate::peerfold_exim::{ExFold, ExRows, Sums};
use crate::peerfold_py::{out, texts_of, typed, Strs};
use crate::peerfold_warn::Texts;
use crate::hash::hash_bytes;
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Whether the rows ``sel`` marks of a string column are all ASCII (each row's text read: the
/// other rows of a batch handed over whole are not folded).
fn ascii_rows(t: &Texts, sel: &[u8]) -> bool {
    sel.iter().enumerate().all(|(i, &s)| s == 0 || t.get(i).is_none_or(<[u8]>::is_ascii))
}

/// Whether a string column's text (its data from the first offset to the last, checked by
/// `texts_of`) is all ASCII.
fn ascii(s: &Strs) -> bool {
    let (off, data, wide, _) = s;
    let w = if *wide { 8 } else { 4 };
    let at = |i: usize| off.get(i * w..i * w + w).map_or(0, |b| {
        let mut x = [0u8; 8];
        x[..w].copy_from_slice(b);
        i64::from_le_bytes(x) as usize
    });
    let n = off.len() / w;
    n == 0 || data.get(at(0)..at(n - 1)).is_none_or(|b| b.is_ascii())
}

#[pyclass(name = "ExFold", module = "analyzer._native")]
pub struct PyExFold(ExFold);

type Sum<'py> = (Bound<'py, Owned>, Vec<Bound<'py, Owned>>);

fn sums_out<'py, const K: usize>(py: Python<'py>, s: &Sums<K>) -> Sum<'py> {
    let vals = (0..K).map(|k| out(py, &s.vals.iter().map(|v| v[k]).collect::<Vec<_>>(), i64::to_le_bytes)).collect();
    (out(py, &s.codes, i64::to_le_bytes), vals)
}

#[pymethods]
impl PyExFold {
    #[new]
    fn new() -> Self {
        PyExFold(ExFold::new())
    }

    /// Fold a flush: ``texts`` the event, status, detail, direction and reply text columns, then
    /// those of `peerfold_exim::LOW`, then the queue ids; ``low`` per `LOW` column its values
    /// lower-cased, or None; per row ``has`` (uint8: a queue id), ``h`` (uint64), ``size``, ``ts``
    /// (microseconds). Returns (0, the rows of our rejects: one byte each), or (the bits of the
    /// `LOW` columns that hold non-ASCII text and came without ``low``, None): nothing folded.
    /// An Exim id's first characters are ASCII (else ValueError before anything is folded).
    /// ``sel`` (a byte per row, or None: all): the rows folded, the others read as no line.
    /// ``h`` empty: each row's queue id hashed here (`hash::hash_bytes`, as `keyed.key_hash`
    /// hashes it) where ``has`` marks one, 0 elsewhere.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (texts, low, has, h, size, ts, sel=None))]
    fn add<'py>(&mut self, py: Python<'py>, texts: [Strs; 14], low: [Option<Strs>; 8], has: ByteView, h: ByteView,
                size: ByteView, ts: ByteView, sel: Option<ByteView>) -> PyResult<(u32, Option<Bound<'py, Owned>>)> {
        let fold = &mut self.0;
        let got = py.detach(|| -> PyResult<(u32, Option<Vec<u8>>)> {
            let mut h = typed(&h, u64::from_le_bytes)?;
            let (size, ts) = (typed(&size, i64::from_le_bytes)?, typed(&ts, i64::from_le_bytes)?);
            let t = texts.iter().map(texts_of).collect::<Result<Vec<_>, _>>().map_err(PyValueError::new_err)?;
            let l = low.iter().map(|c| c.as_ref().map(texts_of).transpose()).collect::<Result<Vec<_>, _>>()
                .map_err(PyValueError::new_err)?;
            if h.is_empty() {
                if t[13].len() != has.len() {
                    return Err(PyValueError::new_err("the queue ids and the rows differ in length"));
                }
                h = has.iter().enumerate()
                    .map(|(i, &on)| if on != 0 { t[13].get(i).map_or(0, hash_bytes) } else { 0 }).collect();
            }
            let sel = sel.as_deref();
            if sel.is_some_and(|s| s.len() != has.len() || t.iter().any(|c| c.len() != s.len())) {
                return Err(PyValueError::new_err("the rows folded and the columns differ in length"));
            }
            // (the whole column's text first: one pass over its bytes; its rows only where that is not all ASCII)
            let plain = |c: usize| ascii(&texts[5 + c]) || sel.is_some_and(|s| ascii_rows(&t[5 + c], s));
            let need = (0..8).filter(|&c| l[c].is_none() && !plain(c)).fold(0, |acc, c| acc | 1 << c);
            if need != 0 {
                return Ok((need, None));
            }
            let mut t = t.into_iter();
            let mut next = || t.next().expect("14 columns");
            let (event, status, detail, direction, reply) = (next(), next(), next(), next(), next());
            let text = std::array::from_fn(|_| next());
            let mut l = l.into_iter();
            let low = std::array::from_fn(|_| l.next().expect("8 columns"));
            let rows = ExRows { event, status, detail, direction, reply, text, low, has: &has, h: &h, size: &size, ts: &ts,
                                qid: next(), sel };
            let rejected = fold.add(&rows).map_err(PyValueError::new_err)?;
            Ok((0, Some(rejected.into_iter().map(u8::from).collect::<Vec<u8>>())))
        });
        let (need, rejected) = got?;
        Ok((need, rejected.map(|r| owned(py, r))))
    }

    /// The lines still waiting folded, the times on the queue held counted: once, at the end.
    fn finish(&mut self) -> PyResult<()> {
        self.0.finish().map_err(PyValueError::new_err)
    }

    /// Bytes held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.0.nbytes()
    }

    /// Queue ids held.
    #[getter]
    fn held(&self) -> usize {
        self.0.held()
    }

    /// `ExFold.COUNTS`, in order; then delayed and failed (`ExFold.totals`).
    fn counts(&self) -> Vec<i64> {
        let mut n = self.0.n.to_vec();
        n.extend(self.0.delayed_failed());
        n
    }

    /// The times on the queue per bucket: all messages, those with a remote delivery.
    fn queue(&self) -> (Vec<i64>, Vec<i64>) {
        (self.0.queue[0].to_vec(), self.0.queue[1].to_vec())
    }

    /// A table (0 sources, 1 destinations, 2 local destinations, 3 transports): each key's code
    /// (int64; of the vocabulary of the same number, a transport's 0 remote, 1 local, 2
    /// blackhole) and its sums (int64), in the order first folded.
    fn table<'py>(&self, py: Python<'py>, which: u8) -> PyResult<Sum<'py>> {
        let f = &self.0;
        Ok(match which {
            0 => sums_out(py, &f.sources),
            1 => sums_out(py, &f.dest),
            2 => sums_out(py, &f.local),
            3 => sums_out(py, &f.transports),
            _ => return Err(PyValueError::new_err("no such table")),
        })
    }

    /// The relayed pairs (slot order): from and to codes (vocabularies 3 and 4), count, first line (int64).
    fn pairs<'py>(&self, py: Python<'py>) -> [Bound<'py, Owned>; 4] {
        let f = &self.0;
        let (from, to) = f.pair_codes();
        [out(py, &from, i64::to_le_bytes), out(py, &to, i64::to_le_bytes), out(py, &f.pair_count, i64::to_le_bytes),
         out(py, &f.pair_first, i64::to_le_bytes)]
    }

    /// The strings of ``codes`` (int64) in vocabulary ``which`` (`peerfold_exim::W_*`): (offsets,
    /// data, wide) of an Arrow string column.
    fn words<'py>(&self, py: Python<'py>, which: usize, codes: ByteView) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>, bool)> {
        let v = self.0.words.get(which).ok_or_else(|| PyValueError::new_err("no such vocabulary"))?;
        let codes = typed(&codes, i64::from_le_bytes)?;
        let (off, data, wide) = v.take(&codes).map_err(PyValueError::new_err)?;
        Ok((owned(py, off), owned(py, data), wide))
    }
}
