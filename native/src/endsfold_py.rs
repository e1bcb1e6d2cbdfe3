//! `analyzer._native.EndsFold`: [`crate::endsfold::EndsFold`] for Python
//! (`analyzer/report/ends_native.py`). A batch's string columns come whole as Arrow buffers (a
//! string column, or a dictionary's strings and indices: `ByteView`, no copy) with the rows folded,
//! coded here at those rows only; the numbers as numpy buffers; the results go back as
//! little-endian bytes (`owned.rs`) and a few Python lists. The GIL is released while folding.

use crate::endsfold::{EndsFold, Lines, Spec, Text, HOST, TEXT, VOCABS};
use crate::hash::{hash_bytes, is_set, NULL};
use crate::owned::{owned, Owned};
use crate::vocab::{check_valid, Vocab};
use std::collections::HashMap;
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

type Valid = Option<(ByteView, usize)>;
/// A string column: offsets, data, wide, validity; for a dictionary column those of its strings,
/// then its indices (signed, `width` bytes each), their width and validity.
type ColArgs = (ByteView, ByteView, bool, Valid, Option<ByteView>, usize, Valid);

fn bits(v: &Valid) -> Option<(&[u8], usize)> {
    v.as_ref().map(|(b, at)| (&b[..], *at))
}

fn valid_at(valid: Option<(&[u8], usize)>, i: usize) -> bool {
    valid.is_none_or(|(b, at)| is_set(b, at + i))
}

/// A string column's offsets (i32, or i64 when wide) read at the rows asked for only: each
/// row's slice checked then (within the data, not decreasing), not the whole column up front.
struct Strs<'a> {
    off: &'a [u8],
    data: &'a [u8],
    wide: bool,
    len: usize,
}

impl<'a> Strs<'a> {
    fn new(off: &'a [u8], data: &'a [u8], wide: bool) -> Result<Self, String> {
        let w = if wide { 8 } else { 4 };
        if off.len() % w != 0 || off.len() < w {
            return Err("the offsets buffer does not hold n + 1 offsets".into());
        }
        Ok(Strs { off, data, wide, len: off.len() / w - 1 })
    }

    fn offset(&self, i: usize) -> i64 {
        if self.wide {
            i64::from_le_bytes(self.off[8 * i..8 * i + 8].try_into().expect("8 bytes"))
        } else {
            i64::from(i32::from_le_bytes(self.off[4 * i..4 * i + 4].try_into().expect("4 bytes")))
        }
    }

    fn get(&self, i: usize) -> Result<&'a [u8], String> {
        if i >= self.len {
            return Err("a row past the column".into());
        }
        let (a, b) = (self.offset(i), self.offset(i + 1));
        if a < 0 || b < a || b as u64 > self.data.len() as u64 {
            return Err("offsets out of order or past the data".into());
        }
        Ok(&self.data[a as usize..b as usize])
    }
}

/// The codes of a column's values at `rows` in `vocab` (-1: null), new values in row order.
fn code_rows(vocab: &mut Vocab, col: &ColArgs, rows: &[usize]) -> Result<Vec<i64>, String> {
    let (off, data, wide, valid, indices, width, ivalid) = col;
    let strings = Strs::new(off, data, *wide)?;
    check_valid(bits(valid), strings.len)?;
    let full = || "the vocabulary is full".to_string();
    let mut out = Vec::with_capacity(rows.len());
    match indices {
        None => {
            // the last few distinct values and their codes (a column's folded lines repeat a
            // handful of values: a comparison, not a hash and a probe, for most rows)
            let mut recent: [(&[u8], i64); 4] = [(&[], -1); 4];
            let mut next = 0;
            for &r in rows {
                if r < strings.len && !valid_at(bits(valid), r) {
                    out.push(-1);
                    continue;
                }
                let s = strings.get(r)?;
                let code = match recent.iter().find(|(w, c)| *c >= 0 && *w == s) {
                    Some(&(_, c)) => c,
                    None => {
                        let c = vocab.code(s).ok_or_else(full)?;
                        recent[next] = (s, c);
                        next = (next + 1) % recent.len();
                        c
                    }
                };
                out.push(code);
            }
        }
        Some(idx) => {
            if !matches!(width, 1 | 2 | 4 | 8) || idx.len() % width != 0 {
                return Err("dictionary indices of 1, 2, 4 or 8 bytes".into());
            }
            let n = idx.len() / width;
            check_valid(bits(ivalid), n)?;
            // each dictionary entry's code looked up once
            let mut known: HashMap<usize, i64> = HashMap::new();
            for &r in rows {
                if r >= n {
                    return Err("a row past the column".into());
                }
                if !valid_at(bits(ivalid), r) {
                    out.push(-1);
                    continue;
                }
                let raw = &idx[r * width..(r + 1) * width];
                let mut b = [if raw[width - 1] & 0x80 != 0 { 0xff } else { 0 }; 8];
                b[..*width].copy_from_slice(raw);
                let at = usize::try_from(i64::from_le_bytes(b)).ok().filter(|&at| at < strings.len)
                    .ok_or("a dictionary index out of range")?;
                let code = match known.get(&at) {
                    Some(&c) => c,
                    None => {
                        let c = if valid_at(bits(valid), at) { vocab.code(strings.get(at)?).ok_or_else(full)? } else { -1 };
                        known.insert(at, c);
                        c
                    }
                };
                out.push(code);
            }
        }
    }
    Ok(out)
}

fn ints(b: &[u8]) -> Result<Vec<i64>, String> {
    if b.len() % 8 != 0 {
        return Err("8-byte numbers expected".into());
    }
    Ok(b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

fn bytes_of<T: Copy, const N: usize>(v: impl IntoIterator<Item = T>, to: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.into_iter().flat_map(to).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

type StepsOut<'py> = (Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>);
type EntryOut<'py> = (usize, i64, Vec<(i64, i64)>, Vec<i64>, Bound<'py, Owned>, StepsOut<'py>, Vec<Option<String>>);

/// The report window's limits (ns, None: open) and the detector tables' step (seconds).
#[derive(Clone, Copy)]
struct Window {
    since: Option<i64>,
    until: Option<i64>,
    step: i64,
}

impl Window {
    /// A time's side of the window: 0 before, 1 inside, 2 after (`SentFold._side`).
    fn side(&self, ns: i64) -> i64 {
        match (self.since, self.until) {
            (_, Some(u)) if ns >= u => 2,
            (Some(s), _) if ns < s => 0,
            _ => 1,
        }
    }
}

/// What a line without a time has for its second (`seconds_ns_arrow`'s).
const NULL_SEC: i64 = i64::MIN;

fn value_at(values: &[u8], r: usize) -> Result<[u8; 8], String> {
    values.get(8 * r..8 * r + 8).map(|b| b.try_into().expect("8 bytes")).ok_or_else(|| "a row past the column".to_string())
}

/// (ns, second) of each row's time (`seconds_ns_arrow`: 0 and [`NULL_SEC`] where there is none).
fn times(ts: &(ByteView, Valid, i64), rows: &[usize]) -> Result<(Vec<i64>, Vec<i64>), String> {
    let (values, valid, unit) = ts;
    let (mut ns, mut sec) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for &r in rows {
        let v = i64::from_le_bytes(value_at(values, r)?);
        if valid_at(bits(valid), r) {
            let t = v.checked_mul(*unit).ok_or("a time out of range")?;
            ns.push(t);
            sec.push(t.div_euclid(1_000_000_000));
        } else {
            ns.push(0);
            sec.push(NULL_SEC);
        }
    }
    Ok((ns, sec))
}

/// Each row's number as a float (NaN where there is none).
fn numbers(col: &(ByteView, Valid, bool), rows: &[usize]) -> Result<Vec<f64>, String> {
    let (values, valid, float) = col;
    rows.iter().map(|&r| {
        let b = value_at(values, r)?;
        Ok(if !valid_at(bits(valid), r) { f64::NAN } else if *float { f64::from_le_bytes(b) } else { i64::from_le_bytes(b) as f64 })
    }).collect()
}

/// Each row's client hash (`hash.rs`, as `analyzer.keyed.key_hash`) and whether it has one.
fn hashes(col: &ColArgs, rows: &[usize]) -> Result<(Vec<u64>, Vec<bool>), String> {
    if col.4.is_some() {
        return Err("the clients come decoded".into());
    }
    let strings = Strs::new(&col.0, &col.1, col.2)?;
    check_valid(bits(&col.3), strings.len)?;
    let mut out = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for &r in rows {
        let ok = r >= strings.len || valid_at(bits(&col.3), r);
        out.0.push(if ok { hash_bytes(strings.get(r)?) } else { NULL });
        out.1.push(ok);
    }
    Ok(out)
}

#[pyclass(name = "EndsFold", module = "analyzer._native")]
pub struct PyEndsFold(EndsFold, Window);

#[pymethods]
impl PyEndsFold {
    /// ``words``: the failure outcomes, the detected events, the abnormal events, the quiet
    /// outcomes; ``keep``: examples per detector key, candidates per entry; ``window``: since
    /// and until (ns, None: open) and the detector tables' step (seconds).
    #[new]
    fn new(words: (Vec<String>, Vec<String>, Vec<String>, Vec<String>), keep: (usize, usize),
           window: (Option<i64>, Option<i64>, i64)) -> PyResult<Self> {
        if window.2 <= 0 {
            return Err(PyValueError::new_err("the step is a positive number of seconds"));
        }
        let b = |v: Vec<String>| v.into_iter().map(String::into_bytes).collect();
        Ok(PyEndsFold(EndsFold::new(Spec { failures: b(words.0), detected: b(words.1), abnormal: b(words.2), quiet: b(words.3),
                                           examples: keep.0, candidates: keep.1 }),
                      Window { since: window.0, until: window.1, step: window.2 }))
    }

    /// Fold a batch: ``cols`` the whole columns event, smtp_stage, cause, fix_id, outcome,
    /// provider, source, host, severity and client_ip; ``rows`` (int64) the lines folded and
    /// ``order`` (int64) their input order; ``ts`` the whole time column (int64 values, validity,
    /// nanoseconds a unit), ``line`` the line numbers' (int64 or float64 values, validity, whether
    /// float). Returns the positions (int64) of the failed lines and of the new example
    /// candidates, whose texts :meth:`finish` takes.
    fn add<'py>(&mut self, py: Python<'py>, cols: Vec<ColArgs>, rows: ByteView, order: ByteView, ts: (ByteView, Valid, i64),
                line: (ByteView, Valid, bool)) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>)> {
        let (fold, window) = (&mut self.0, self.1);
        let got = py.detach(|| -> Result<_, String> {
            if cols.len() != HOST + 3 {
                return Err("ten columns expected".into());
            }
            let rows: Vec<usize> = ints(&rows)?.into_iter().map(|r| usize::try_from(r).map_err(|_| "a negative row".to_string()))
                .collect::<Result<_, _>>()?;
            let mut codes = Vec::with_capacity(VOCABS);
            for (k, col) in cols[..=HOST].iter().enumerate() {
                codes.push(code_rows(&mut fold.vocabs[k], col, &rows)?);
            }
            let mut severity = Vocab::new();
            let info_code = severity.code(b"info");
            let sev = code_rows(&mut severity, &cols[HOST + 1], &rows)?;
            let (client, has_client) = hashes(&cols[HOST + 2], &rows)?;
            let (ns, sec) = times(&ts, &rows)?;
            let lines = Lines {
                codes,
                info: sev.iter().map(|&c| Some(c) == info_code).collect(),
                side: ns.iter().map(|&t| window.side(t)).collect(),
                step: sec.iter().map(|&s| s.div_euclid(window.step).wrapping_mul(window.step)).collect(),
                ns,
                order: ints(&order)?,
                line: numbers(&line, &rows)?,
                client,
                has_client,
            };
            fold.add(&lines)
        });
        let (failed, need) = got.map_err(PyValueError::new_err)?;
        let b = |v: Vec<usize>| owned(py, bytes_of(v, |x| (x as i64).to_le_bytes()));
        Ok((b(failed), b(need)))
    }

    /// The batch's failed lines' masked texts (a string column, in :meth:`add`'s order) and its
    /// new candidates' texts.
    fn finish(&mut self, py: Python<'_>, texts: ColArgs, candidates: Vec<Option<String>>) -> PyResult<()> {
        let fold = &mut self.0;
        py.detach(|| -> Result<(), String> {
            let n = Strs::new(&texts.0, &texts.1, texts.2)?.len;
            let n = texts.4.as_ref().map_or(n, |idx| idx.len() / texts.5.max(1));
            let rows: Vec<usize> = (0..n).collect();
            let codes = code_rows(&mut fold.vocabs[TEXT], &texts, &rows)?;
            fold.finish(&codes, candidates)
        })
        .map_err(PyValueError::new_err)
    }

    /// Bytes held by part (vocabularies, ends' steps, failures' steps, cause lists).
    fn nbytes(&self) -> [usize; 4] {
        self.0.nbytes()
    }

    /// The strings of vocabulary ``k`` (0-8: event, smtp_stage, cause, fix_id, outcome, provider,
    /// source, host, masked text), in code order.
    fn words(&self, k: usize) -> PyResult<Vec<String>> {
        let v = self.0.vocabs.get(k).ok_or_else(|| PyValueError::new_err("no such vocabulary"))?;
        Ok((0..v.len()).map(|c| text(v.word(c))).collect())
    }

    /// Detector table ``k`` (0: ends, 1: failures): (counts: keys (6 int64 a key), n, ts_min,
    /// ts_max) and (examples: keys, (ts, order, source, host) int64 4 a line, line float64, -).
    fn steps<'py>(&self, py: Python<'py>, k: usize) -> PyResult<(StepsOut<'py>, StepsOut<'py>)> {
        let steps = [&self.0.ends, &self.0.fails].get(k).copied().ok_or_else(|| PyValueError::new_err("no such table"))?;
        let (counts, ex) = steps.sorted();
        let keys = |v: &[[i64; 6]]| owned(py, bytes_of(v.iter().flatten().copied(), i64::to_le_bytes));
        let c = (keys(&counts.iter().map(|x| x.0).collect::<Vec<_>>()),
                 owned(py, bytes_of(counts.iter().map(|x| x.1.n), i64::to_le_bytes)),
                 owned(py, bytes_of(counts.iter().map(|x| x.1.lo), i64::to_le_bytes)),
                 owned(py, bytes_of(counts.iter().map(|x| x.1.hi), i64::to_le_bytes)));
        let e = (keys(&ex.iter().map(|x| x.0).collect::<Vec<_>>()),
                 owned(py, bytes_of(ex.iter().flat_map(|(_, e)| [e.ts, e.order, e.source, e.host]), i64::to_le_bytes)),
                 owned(py, bytes_of(ex.iter().map(|x| x.1.line), f64::to_le_bytes)),
                 owned(py, Vec::new()));
        Ok((c, e))
    }

    /// ``session_ends.by_stage``'s counts: (stage, event, lines) in the order first counted.
    fn stages(&self) -> Vec<(String, String, i64)> {
        self.0.stages.iter().map(|(s, e, n)| (text(s), text(e), *n)).collect()
    }

    /// The entries' keys ("cause\0fix"), by number.
    fn keys(&self) -> Vec<String> {
        self.0.keys.iter().map(|k| text(k)).collect()
    }

    /// Cause list ``k``'s entries (0: states, 1: failed) in the order first folded: (number,
    /// lines, (outcome code, lines), event codes, clients (sorted uint64), candidates ((ts,
    /// order, source) int64 3 a line, line float64, -, -), their texts).
    fn entries<'py>(&self, py: Python<'py>, k: usize) -> PyResult<Vec<EntryOut<'py>>> {
        let list = self.0.lists.get(k).ok_or_else(|| PyValueError::new_err("no such list"))?;
        let mut out = Vec::with_capacity(list.order.len());
        for &kid in &list.order {
            let mut clients: Vec<u64> = list.clients[kid].iter().copied().collect();
            clients.sort_unstable();
            let mut events: Vec<i64> = list.events[kid].iter().copied().collect();
            events.sort_unstable();
            let cands = &list.candidates[kid];
            let texts = cands.iter().map(|c| match &c.text {
                Text::Known(t) => t.clone(),
                Text::Pending(_) => None,
            }).collect();
            let cand = (owned(py, bytes_of(cands.iter().flat_map(|c| [c.ts, c.order, c.source]), i64::to_le_bytes)),
                        owned(py, bytes_of(cands.iter().map(|c| c.line), f64::to_le_bytes)), owned(py, Vec::new()), owned(py, Vec::new()));
            out.push((kid, list.n[kid], list.outcomes[kid].iter().map(|(a, b)| (*a, *b)).collect(), events,
                      owned(py, bytes_of(clients, u64::to_le_bytes)), cand, texts));
        }
        Ok(out)
    }
}
