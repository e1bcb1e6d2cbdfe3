//! The known replies' nearest neighbours (`analyzer/similar.py`'s `KnownReplies.nearest`) in the
//! native engine: a query's tokens (for an ASCII text, read here as `similar.tokens` reads it with
//! the shipped features; any other text comes as its tokens, read by Python), their TF-IDF weights,
//! the cosine scores against the table's inverted index, the `k` best rows and their vote. The
//! Python path is the specification and does each step in the same order with the same float
//! operations (sums in the same order, the same `ln`/`powf`/`sqrt`), so the answers are equal bit
//! for bit: tests/test_near_native.py holds the two equal. Each query's answer is its own; the
//! Python path scored 8 texts at a time in numpy (~30 numpy calls a slice) and voted in Python,
//! ~50 µs a text on the main thread of `parse`.

use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;

/// A reply is read up to this many characters (`similar.MAX_CHARS`).
pub const MAX_CHARS: usize = 2048;

/// Python's `\s` on an ASCII character (`str.isspace`: the file, group, record and unit
/// separators count).
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

/// Python's `\w` on an ASCII character.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn digits(t: &[u8], at: usize) -> usize {
    t.get(at..).map_or(0, |s| s.iter().take_while(|b| b.is_ascii_digit()).count())
}

fn number(d: &[u8]) -> u32 {
    d.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0'))
}

/// `similar._ENHANCED.search(t)`: `(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w.]*\d)`, the
/// class and the two numbers. A run of more than 3 digits never matches a `\d{1,3}` here (the
/// next character is a digit: neither the `\.` nor the look-ahead lets it through), and the
/// look-ahead fails exactly where the run of `[\w.]` after the number holds a digit.
fn enhanced(t: &[u8]) -> Option<(u8, u32, u32)> {
    for i in 0..t.len() {
        if !matches!(t[i], b'2' | b'4' | b'5') || (i > 0 && (is_word(t[i - 1]) || t[i - 1] == b'.')) {
            continue;
        }
        if t.get(i + 1) != Some(&b'.') {
            continue;
        }
        let a = i + 2;
        let la = digits(t, a);
        if !(1..=3).contains(&la) || t.get(a + la) != Some(&b'.') {
            continue;
        }
        let b = a + la + 1;
        let lb = digits(t, b);
        if !(1..=3).contains(&lb) {
            continue;
        }
        let after = &t[b + lb..];
        let run = after.iter().take_while(|&&c| is_word(c) || c == b'.');
        if run.clone().any(|c| c.is_ascii_digit()) {
            continue;
        }
        return Some((t[i] - b'0', number(&t[a..a + la]), number(&t[b..b + lb])));
    }
    None
}

/// `similar.tokens(text)` with the shipped features (codes; no bigrams, stems, stop words or
/// ids) for an ASCII text: the reply code and its class, the enhanced code and its subject, then
/// the words (runs of letters of at least 2 of a run of `[\w~]` holding no digit and no `~`).
pub fn tokens_ascii(text: &[u8]) -> Vec<String> {
    let t = &text[..text.len().min(MAX_CHARS)];
    let mut out = Vec::new();
    let s = t.iter().take_while(|&&b| is_space(b)).count();
    if let Some(c) = t.get(s..s + 3) {
        let next_ok = t.get(s + 3).is_none_or(|&b| is_space(b) || b == b'-');
        if (b'2'..=b'5').contains(&c[0]) && c[1].is_ascii_digit() && c[2].is_ascii_digit() && next_ok {
            out.push(format!("#{}{}{}", c[0] as char, c[1] as char, c[2] as char));
            out.push(format!("#{}xx", c[0] as char));
        }
    }
    if let Some((class, subject, detail)) = enhanced(t) {
        out.push(format!("={class}.{subject}.{detail}"));
        out.push(format!("={class}.{subject}"));
    }
    let chunk_byte = |b: &u8| is_word(*b) || *b == b'~';
    let mut i = 0;
    while i < t.len() {
        if !chunk_byte(&t[i]) {
            i += 1;
            continue;
        }
        let len = t[i..].iter().take_while(|b| chunk_byte(b)).count();
        let chunk = &t[i..i + len];
        if !chunk.iter().any(|b| b.is_ascii_digit() || *b == b'~') {
            for w in chunk.split(|&b| b == b'_').filter(|w| w.len() > 1) {
                out.push(String::from_utf8_lossy(w).into_owned());
            }
        }
        i += len;
    }
    out
}

/// A table's TF-IDF index as `similar.KnownReplies` holds it.
pub struct Index {
    pub vocab: HashMap<String, usize>,
    pub idf: Vec<f64>,
    pub indptr: Vec<usize>,
    pub post_rows: Vec<u32>,
    pub post_vals: Vec<f64>,
    pub rows: usize,
    pub idf_unseen: f64,
}

impl Index {
    /// A query's known tokens and their weights, as `KnownReplies._query_weights`: tokens in order
    /// of first appearance, each `(1 + ln count) * idf`, divided by the length of all of them
    /// (unknown tokens weigh `idf_unseen`), the squares summed in that order.
    pub fn weights(&self, toks: &[String]) -> Vec<(usize, f64)> {
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut counted: Vec<(&str, u32)> = Vec::new();
        for t in toks {
            match first.get(t.as_str()) {
                Some(&j) => counted[j].1 += 1,
                None => {
                    first.insert(t, counted.len());
                    counted.push((t, 1));
                }
            }
        }
        let mut norm2 = 0.0f64;
        let mut known = Vec::with_capacity(counted.len());
        for (t, c) in counted {
            let id = self.vocab.get(t).copied();
            let w = (1.0 + f64::from(c).ln()) * id.map_or(self.idf_unseen, |i| self.idf[i]);
            norm2 += w * w;
            if let Some(i) = id {
                known.push((i, w));
            }
        }
        let mut norm = norm2.sqrt();
        if norm == 0.0 {
            norm = 1.0;
        }
        known.into_iter().map(|(i, w)| (i, w / norm)).collect()
    }

    /// The `k` best rows of a query (highest score first, the lower row first among equal
    /// scores), only rows scored above 0; `scores` is a buffer of `rows` zeros, left so.
    pub fn best(&self, weights: &[(usize, f64)], k: usize, scores: &mut [f64]) -> Vec<(usize, f64)> {
        for &(tok, w) in weights {
            let (a, b) = (self.indptr[tok], self.indptr[tok + 1]);
            for (&r, &v) in self.post_rows[a..b].iter().zip(&self.post_vals[a..b]) {
                scores[r as usize] += v * w;
            }
        }
        let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let mut got: Vec<(usize, f64)> = scores.iter().enumerate().filter(|&(_, &s)| s > 0.0).map(|(r, &s)| (r, s)).collect();
        scores.fill(0.0);
        if k == 0 {
            got.clear();
        } else if got.len() > k {
            got.select_nth_unstable_by(k - 1, order);
            got.truncate(k);
        }
        got.sort_unstable_by(order);
        got
    }

    /// Whether the index's arrays agree with each other (sizes, row and token numbers).
    pub fn check(&self) -> Result<(), String> {
        let tokens = self.idf.len();
        if self.indptr.len() != tokens + 1 || self.vocab.len() != tokens || self.vocab.values().any(|&i| i >= tokens) {
            return Err("vocab, idf and indptr differ in size".into());
        }
        if self.indptr.windows(2).any(|w| w[0] > w[1]) || self.indptr.last() != Some(&self.post_rows.len()) {
            return Err("indptr is not the postings' bounds".into());
        }
        if self.post_vals.len() != self.post_rows.len() || self.post_rows.iter().any(|&r| r as usize >= self.rows) {
            return Err("postings out of range".into());
        }
        Ok(())
    }
}

/// `KnownReplies._vote`: `best` (a query's rows and similarities, best first) vote for their
/// causes (`cause_of` each row's), each with its similarity to the `power`; the cause with most
/// votes (then the closer best row, then the lower row) speaks through its closest row, with
/// support `s * votes / all votes` (at most 1). (-1, 0) when no row voted.
pub fn vote(best: &[(usize, f64)], cause_of: impl Fn(usize) -> i64, power: f64) -> (i64, f64) {
    // per cause in order of first vote: (cause, votes, best similarity, its row)
    let mut votes: Vec<(i64, f64, f64, usize)> = Vec::new();
    for &(i, s) in best {
        if s <= 0.0 {
            continue;
        }
        let c = cause_of(i);
        match votes.iter_mut().find(|v| v.0 == c) {
            Some(v) => {
                v.1 += s.powf(power);
                if s > v.2 || (s == v.2 && i < v.3) {
                    (v.2, v.3) = (s, i);
                }
            }
            None => votes.push((c, 0.0 + s.powf(power), s, i)),
        }
    }
    let Some(mut win) = votes.first().copied() else { return (-1, 0.0) };
    for v in &votes[1..] {
        let better = v.1 > win.1 || (v.1 == win.1 && (v.2 > win.2 || (v.2 == win.2 && v.3 < win.3)));
        if better {
            win = *v;
        }
    }
    let total = votes.iter().fold(0.0, |a, v| a + v.1);
    let x = win.2 * win.1 / total;
    (win.3 as i64, if x < 1.0 { x } else { 1.0 })
}

fn f64s(raw: &[u8]) -> Vec<f64> {
    raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
}

fn usizes(raw: &[u8]) -> PyResult<Vec<usize>> {
    raw.chunks_exact(8)
        .map(|c| usize::try_from(i64::from_le_bytes(c.try_into().expect("8 bytes"))))
        .collect::<Result<_, _>>()
        .map_err(|_| PyValueError::new_err("a negative index"))
}

/// A query as Python gives it: an ASCII text (normalised, read here) or its tokens.
#[derive(FromPyObject)]
pub enum Query {
    Text(String),
    Tokens(Vec<String>),
}

/// `analyzer._native.KnownIndex(vocab, idf, indptr, post_rows, post_vals, rows, idf_unseen)`:
/// vocab in token order, the arrays as little-endian float64 / int64 bytes.
#[pyclass(frozen, name = "KnownIndex", module = "analyzer._native")]
pub struct PyKnownIndex {
    index: Index,
}

#[pymethods]
impl PyKnownIndex {
    #[new]
    fn new(vocab: Vec<String>, idf: ByteView, indptr: ByteView, post_rows: ByteView, post_vals: ByteView, rows: usize, idf_unseen: f64) -> PyResult<Self> {
        let vocab = vocab.into_iter().enumerate().map(|(i, t)| (t, i)).collect();
        let index = Index {
            vocab,
            idf: f64s(&idf),
            indptr: usizes(&indptr)?,
            post_rows: usizes(&post_rows)?.into_iter().map(u32::try_from).collect::<Result<_, _>>().map_err(|_| PyValueError::new_err("a row past u32"))?,
            post_vals: f64s(&post_vals),
            rows,
            idf_unseen,
        };
        index.check().map_err(PyValueError::new_err)?;
        Ok(PyKnownIndex { index })
    }

    /// The `k` best rows of each query and their scores (best first; row -1 and 0.0 past a
    /// query's last row scored above 0), as little-endian int64 and float64 bytes, `k` a query.
    /// A text query must be ASCII (else an error: its tokens are Python's to read).
    fn neighbours<'py>(&self, py: Python<'py>, queries: Vec<Query>, k: usize) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        if queries.iter().any(|q| matches!(q, Query::Text(t) if !t.is_ascii())) {
            return Err(PyValueError::new_err("a text query must be ASCII"));
        }
        let (rows, sims) = py.detach(|| {
            let ix = &self.index;
            let mut scores = vec![0.0f64; ix.rows];
            let mut rows = Vec::with_capacity(queries.len() * k * 8);
            let mut sims = Vec::with_capacity(queries.len() * k * 8);
            for q in &queries {
                let toks = match q {
                    Query::Text(t) => tokens_ascii(t.as_bytes()),
                    Query::Tokens(t) => t.clone(),
                };
                let best = ix.best(&ix.weights(&toks), k, &mut scores);
                for j in 0..k {
                    let (r, s) = best.get(j).map_or((-1, 0.0), |&(r, s)| (r as i64, s));
                    rows.extend_from_slice(&r.to_le_bytes());
                    sims.extend_from_slice(&s.to_le_bytes());
                }
            }
            (rows, sims)
        });
        Ok((PyBytes::new(py, &rows), PyBytes::new(py, &sims)))
    }
}

/// ``near_vote(rows, sims, causes, k, power)``: `vote` for each query's `k` rows, similarities
/// and the rows' cause codes (int64 / float64 / int64 little-endian bytes, `k` a query, row -1
/// for none): (index int64 bytes, support float64 bytes).
#[pyfunction]
#[pyo3(name = "near_vote")]
pub fn py_near_vote<'py>(py: Python<'py>, rows: ByteView, sims: ByteView, causes: ByteView, k: usize, power: f64) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let r: Vec<i64> = rows.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
    let c: Vec<i64> = causes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
    let s = f64s(&sims);
    if k == 0 || r.len() != s.len() || r.len() != c.len() || r.len() % k != 0 {
        return Err(PyValueError::new_err("rows, sims and causes: k a query, equal in length"));
    }
    let (mut index, mut support) = (Vec::new(), Vec::new());
    for q in 0..r.len() / k {
        let cells = q * k..(q + 1) * k;
        let best: Vec<(usize, f64)> = cells.clone().filter(|&j| r[j] >= 0).map(|j| (r[j] as usize, s[j])).collect();
        let cause: HashMap<usize, i64> = cells.filter(|&j| r[j] >= 0).map(|j| (r[j] as usize, c[j])).collect();
        let (i, x) = vote(&best, |row| cause[&row], power);
        index.extend_from_slice(&i.to_le_bytes());
        support.extend_from_slice(&x.to_le_bytes());
    }
    Ok((PyBytes::new(py, &index), PyBytes::new(py, &support)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(t: &str) -> Vec<String> {
        tokens_ascii(t.as_bytes())
    }

    #[test]
    fn codes_enhanced_codes_and_words() {
        assert_eq!(toks("550 5.1.1 user unknown"), ["#550", "#5xx", "=5.1.1", "=5.1", "user", "unknown"]);
        assert_eq!(toks("  421-4.07.000 try_again a b2 x~y"), ["#421", "#4xx", "=4.7.0", "=4.7", "try", "again"]);
        assert_eq!(toks("5500 x"), Vec::<String>::new());
        assert_eq!(toks("550"), ["#550", "#5xx"]);
        assert_eq!(toks("550x 5.1.1a"), ["=5.1.1", "=5.1"]);
        assert_eq!(toks("a5.1.1 4.1234.1 2.1.1 "), ["=2.1.1", "=2.1"]);
        assert_eq!(toks("5.1.1.2 5.1.1.x"), ["=5.1.1", "=5.1"]);
        assert_eq!(toks("\x1c550 ok"), ["#550", "#5xx", "ok"]);
    }

    #[test]
    fn votes_go_to_the_cause_with_most_support() {
        let cause = |r: usize| if r < 10 { 1 } else { 2 };
        // two rows of cause 2 outweigh the single closest row of cause 1
        let (i, s) = vote(&[(3, 0.9), (11, 0.8), (12, 0.8)], cause, 2.0);
        assert_eq!(i, 11);
        let want = 0.8 * (0.0 + 0.8f64.powf(2.0) + 0.8f64.powf(2.0)) / (0.81 + (0.64 + 0.64));
        assert!((s - want).abs() < 1e-12);
        assert_eq!(vote(&[], cause, 2.0), (-1, 0.0));
        assert_eq!(vote(&[(4, 1.0)], cause, 2.0), (4, 1.0));
    }

    #[test]
    fn best_rows_are_by_score_then_row_and_the_buffer_is_left_zeroed() {
        let index = Index {
            vocab: [("a".to_string(), 0), ("b".to_string(), 1)].into_iter().collect(),
            idf: vec![1.0, 2.0],
            indptr: vec![0, 3, 5],
            post_rows: vec![0, 1, 2, 1, 3],
            post_vals: vec![0.5, 0.5, 0.5, 0.25, 0.5],
            rows: 4,
            idf_unseen: 3.0,
        };
        index.check().unwrap();
        let w = index.weights(&["a".into(), "zz".into()]);
        assert_eq!(w.len(), 1);
        assert!((w[0].1 - 1.0 / 10f64.sqrt()).abs() < 1e-15);
        let mut scores = vec![0.0; 4];
        let got = index.best(&[(0, 1.0), (1, 1.0)], 3, &mut scores);
        assert_eq!(got, vec![(1, 0.75), (0, 0.5), (2, 0.5)]);
        assert_eq!(index.best(&[(0, 1.0)], 2, &mut scores), vec![(0, 0.5), (1, 0.5)]);
        assert!(scores.iter().all(|&s| s == 0.0));
    }
}
