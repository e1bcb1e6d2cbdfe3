//! `analyzer._native.PfFold`: [`crate::peerfold::PfFold`] for Python (`analyzer/peer_native.py`).
//! The columns come as numpy buffers (`ByteView`: read once into typed vectors), the GIL released
//! while a flush is folded; the state goes back as little-endian arrays (`owned.rs`).

use crate::owned::{owned, Owned};
use crate::peerfold::{Agg, PfFold, PfRows};
use crate::peerfold_warn::{texts, Fields, Texts};
use crate::vocab_py::PyVocab;
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

pub(crate) fn typed<const W: usize, T>(b: &[u8], from: fn([u8; W]) -> T) -> PyResult<Vec<T>> {
    if !b.len().is_multiple_of(W) {
        return Err(PyValueError::new_err(format!("a column of {W}-byte values has {} bytes", b.len())));
    }
    Ok(b.chunks_exact(W).map(|c| from(c.try_into().expect("W bytes"))).collect())
}

pub(crate) fn out<'py, T: Copy, const W: usize>(py: Python<'py>, v: &[T], to: fn(T) -> [u8; W]) -> Bound<'py, Owned> {
    let mut bytes = Vec::with_capacity(W * v.len());
    for &x in v {
        bytes.extend_from_slice(&to(x));
    }
    owned(py, bytes)
}

type AggOut<'py> = (Bound<'py, Owned>, Vec<Bound<'py, Owned>>, Bound<'py, Owned>, Bound<'py, Owned>);

fn agg_out<'py>(py: Python<'py>, a: &Agg) -> AggOut<'py> {
    let ints = a.ints.iter().map(|v| out(py, v, i64::to_le_bytes)).collect();
    (out(py, &a.codes, i32::to_le_bytes), ints, out(py, &a.delay_sum, f64::to_le_bytes), out(py, &a.max_delay, f64::to_le_bytes))
}

/// A string column as Python hands it: offsets sliced to it, data, wide (i64 offsets), validity
/// bitmap and first bit (or None).
pub(crate) type Strs = (ByteView, ByteView, bool, Option<(ByteView, usize)>);

pub(crate) fn texts_of(s: &Strs) -> Result<Texts<'_>, String> {
    let (off, data, wide, valid) = s;
    Texts::new(off, data, *wide, valid.as_ref().map(|(b, at)| (&b[..], *at)))
}

/// `texts_of` with the offsets of the rows ``rows`` checked only (the others read as null).
pub(crate) fn texts_at(s: &Strs, rows: impl IntoIterator<Item = usize>) -> Result<Texts<'_>, String> {
    let (off, data, wide, valid) = s;
    Texts::rows(off, data, *wide, valid.as_ref().map(|(b, at)| (&b[..], *at)), rows)
}

#[pyclass(name = "PfFold", module = "analyzer._native")]
pub struct PyPfFold(PfFold);

#[pymethods]
impl PyPfFold {
    #[new]
    fn new() -> Self {
        PyPfFold(PfFold::new())
    }

    /// Fold a flush: per row prog, event, status, bits (uint8), h (uint64), size (int64), sender,
    /// client, rcpt, domain (int32), delay (float64); ``reply``: the reply texts (offsets sliced to
    /// the column, data, wide, validity bitmap and first bit or None); see `peerfold.rs`.
    #[allow(clippy::too_many_arguments)]
    fn add(&mut self, py: Python<'_>, prog: ByteView, event: ByteView, status: ByteView, bits: ByteView, h: ByteView,
           size: ByteView, sender: ByteView, client: ByteView, rcpt: ByteView, domain: ByteView, delay: ByteView,
           reply: Strs) -> PyResult<()> {
        let fold = &mut self.0;
        py.detach(|| {
            let (h, size) = (typed(&h, u64::from_le_bytes)?, typed(&size, i64::from_le_bytes)?);
            let (sender, client) = (typed(&sender, i32::from_le_bytes)?, typed(&client, i32::from_le_bytes)?);
            let (rcpt, domain) = (typed(&rcpt, i32::from_le_bytes)?, typed(&domain, i32::from_le_bytes)?);
            let delay = typed(&delay, f64::from_le_bytes)?;
            let reply = texts_of(&reply).map_err(PyValueError::new_err)?;
            let rows = PfRows { prog: &prog, event: &event, status: &status, bits: &bits, h: &h, size: &size, sender: &sender,
                                client: &client, rcpt: &rcpt, domain: &domain, delay: &delay,
                                reply };
            fold.add(&rows).map_err(PyValueError::new_err)
        })
    }

    /// The lines still waiting folded (size 0 where never read): once, at the end.
    fn finish(&mut self) {
        self.0.finish()
    }

    /// Bytes held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.0.nbytes()
    }

    /// `PfFold.COUNTS`, in order.
    fn counts(&self) -> Vec<i64> {
        self.0.n.to_vec()
    }

    /// Per queue id (slot order): flags (uint8), size (int64), sender, client (int32).
    fn qids<'py>(&self, py: Python<'py>) -> (Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>) {
        let f = &self.0;
        (owned(py, f.flags.clone()), owned(py, f.size.le_bytes()), out(py, &f.sender, i32::to_le_bytes),
         out(py, &f.client, i32::to_le_bytes))
    }

    /// The messages ended at their `removed` line (`peerfold_ended.rs`): the senders with one
    /// (codes int32 ascending, messages, bytes int64), the pairs of the senders without a domain
    /// (sender, client codes int32), and how many had a deferral.
    #[allow(clippy::type_complexity)]
    fn ended<'py>(&self, py: Python<'py>) -> (Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>,
                                              Bound<'py, Owned>, i64) {
        let e = &self.0.ended;
        let (codes, messages, bytes) = e.senders();
        let (ps, pc) = e.pairs();
        (out(py, &codes, i32::to_le_bytes), out(py, &messages, i64::to_le_bytes), out(py, &bytes, i64::to_le_bytes),
         out(py, &ps, i32::to_le_bytes), out(py, &pc, i32::to_le_bytes), e.deferred)
    }

    /// The recipients (``domains`` False) or domains: key codes (int32), integer sums (int64),
    /// delays' sum and maximum (float64), in the order first folded.
    fn agg<'py>(&self, py: Python<'py>, domains: bool) -> AggOut<'py> {
        agg_out(py, if domains { &self.0.domains } else { &self.0.recipients })
    }
}

/// The code in ``vocab`` of each row of a string ``column`` (`Strs`) where ``rows`` (one byte
/// per row) is set, -1 elsewhere and for null: only those rows
/// are hashed and looked up (`Vocab.encode` of a column whose other rows are null).
#[pyfunction]
pub fn encode_rows<'py>(py: Python<'py>, mut vocab: PyRefMut<'py, PyVocab>, column: Strs, rows: ByteView) -> PyResult<Bound<'py, Owned>> {
    let v = &mut vocab.0;
    let got = py.detach(|| -> Result<Vec<i64>, String> {
        let col = texts_of(&column)?;
        if rows.len() != col.len() {
            return Err("the rows' mask and the column differ in length".into());
        }
        let mut out = vec![-1i64; rows.len()];
        for (i, c) in out.iter_mut().enumerate() {
            if let Some(s) = col.get(i).filter(|_| rows[i] != 0) {
                *c = v.code(s).ok_or("a vocabulary of 2^31 - 1 strings or 4 GiB")?;
            }
        }
        Ok(out)
    });
    Ok(out(py, &got.map_err(PyValueError::new_err)?, i64::to_le_bytes))
}


/// pflogsumm's warning texts (`peerfold_warn.rs`) of ``rows`` (int64 row numbers) of ``kinds``
/// (uint8 per row given), from the columns detail, client host, client IP, queue id, SASL user
/// and reply text (each: offsets sliced to it, data, wide, validity): (i64 offsets, data,
/// validity bitmap, nulls) of an Arrow large_string column.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn warning_texts<'py>(py: Python<'py>, rows: ByteView, kinds: ByteView, cols: [Strs; 6])
                          -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, usize)> {
    let rows = typed(&rows, i64::from_le_bytes)?;
    let got = py.detach(|| -> Result<_, String> {
        if rows.len() != kinds.len() || rows.iter().any(|&r| r < 0) {
            return Err("a warning row out of range".into());
        }
        let rows: Vec<usize> = rows.into_iter().map(|r| r as usize).collect();
        // (the warning lines' offsets checked only: a batch's few among its rows)
        let t = cols.iter().map(|c| texts_at(c, rows.iter().copied())).collect::<Result<Vec<_>, _>>()?;
        let n = t[0].len();
        if t.iter().any(|c| c.len() != n) {
            return Err("the warnings' columns differ in length".into());
        }
        let mut t = t.into_iter();
        let mut next = || t.next().expect("six columns");
        let f = Fields { detail: next(), host: next(), ip: next(), qid: next(), user: next(), reply: next() };
        Ok(texts(&f, &rows, &kinds))
    });
    let (off, data, valid, nulls) = got.map_err(PyValueError::new_err)?;
    Ok((out(py, &off, i64::to_le_bytes), owned(py, data), owned(py, valid), nulls))
}

/// A stream batch's Postfix lines ``at`` (int64 row numbers) coded for the fold step
/// (`peerrows.rs`): ``vocabs`` the six columns' vocabularies, ``cols`` the batch's program,
/// detail, sender, client host, client IP, recipient, queue id and reply text (`Strs`),
/// ``event`` and ``status`` the rows' ids (uint8 per row of ``at``). Returns the six columns'
/// codes (int64 per row), the queue ids' hashes (uint64), has a queue id and forwarded (uint8).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn encode_pf_rows<'py>(py: Python<'py>, vocabs: [PyRefMut<'py, PyVocab>; crate::peerrows::CODED], cols: [Strs; 8],
                           at: ByteView, event: ByteView, status: ByteView)
                           -> PyResult<(Vec<Bound<'py, Owned>>, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>)> {
    let at = typed(&at, i64::from_le_bytes)?;
    let mut vocabs = vocabs;
    let got = {
        let mut v: Vec<&mut crate::vocab::Vocab> = vocabs.iter_mut().map(|r| &mut r.0).collect();
        py.detach(|| -> Result<_, String> {
            let t = cols.iter().map(|(off, data, wide, valid)| {
                crate::peerrows::Lazy::new(off, data, *wide, valid.as_ref().map(|(b, at)| (&b[..], *at)))
            }).collect::<Result<Vec<_>, _>>()?;
            let t: [crate::peerrows::Lazy; 8] = t.try_into().map_err(|_| "eight columns")?;
            if at.iter().any(|&r| r < 0) {
                return Err("a negative row".into());
            }
            let at: Vec<usize> = at.iter().map(|&r| r as usize).collect();
            let v: &mut [&mut crate::vocab::Vocab; crate::peerrows::CODED] = (&mut v[..]).try_into().map_err(|_| "six vocabularies")?;
            crate::peerrows::encode(v, &t, &at, &event, &status)
        })
    };
    let c = got.map_err(PyValueError::new_err)?;
    Ok((c.codes.iter().map(|v| out(py, v, i64::to_le_bytes)).collect(), out(py, &c.h, u64::to_le_bytes),
        owned(py, c.has), owned(py, c.forwarded)))
}

/// pflogsumm's reject reasons (`peerreasons.rs`) of a string ``column`` (`Strs`; a null read as
/// empty) for MAIL rejects (``mail``) or others: (i64 offsets, data) of an Arrow large_string column.
#[pyfunction]
pub fn pf_reject_reasons<'py>(py: Python<'py>, column: Strs, mail: bool) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>)> {
    let got = py.detach(|| -> Result<(Vec<i64>, Vec<u8>), String> {
        let (off, data, wide, valid) = &column;
        let col = crate::peerrows::Lazy::new(off, data, *wide, valid.as_ref().map(|(b, at)| (&b[..], *at)))?;
        let (mut offsets, mut text) = (Vec::with_capacity(col.len() + 1), Vec::new());
        offsets.push(0i64);
        for i in 0..col.len() {
            text.extend_from_slice(&crate::peerreasons::reason(col.get(i)?.unwrap_or(b""), mail));
            offsets.push(text.len() as i64);
        }
        Ok((offsets, text))
    });
    let (offsets, text) = got.map_err(PyValueError::new_err)?;
    Ok((out(py, &offsets, i64::to_le_bytes), owned(py, text)))
}
