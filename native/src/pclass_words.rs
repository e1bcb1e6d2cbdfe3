//! A classification column's strings made from its codes (`analyzer/class_codes.py`'s
//! `RowCodes.column`): each row's code names one of a short list of words (the cache's answers:
//! causes, fixes, outcomes ...), and the column of a batch is the words laid out row by row.
//! Arrow's `take` of the words by code did it at ~10 ns a row (7 columns of each 28k-row batch:
//! the stream's costliest step after the classification of new keys, r24-pclass); this lays out
//! offsets and bytes in one pass. The Python take stays the specification (and what runs with
//! the Python engine): tests/test_words_by_code.py holds the two equal.

use crate::arrow::{self, StringColumn};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use crate::owned::{owned, Owned};
use pyo3::prelude::*;

/// The column whose row `i` is word `codes[i]` of the words (`offsets`, `data`: an Arrow string
/// array's; `valid`: one byte per word, 0 for a null word; None: none is null). A code outside
/// the words is an error, as Arrow's take's. `codes` are read `CODE` bytes at a time, native order.
pub fn words_by_code(offsets: &[i32], data: &[u8], valid: Option<&[u8]>, codes: &[u8]) -> Result<StringColumn, String> {
    // each word's (start, length, whether it is a value)
    let words: Vec<(usize, usize, bool)> = offsets
        .windows(2)
        .enumerate()
        .map(|(w, p)| {
            let (a, b) = (usize::try_from(p[0]).ok(), usize::try_from(p[1]).ok());
            let span = a.zip(b).filter(|(a, b)| a <= b && *b <= data.len());
            let value = valid.is_none_or(|v| v.get(w).is_some_and(|&x| x != 0));
            span.map(|(a, b)| (a, b - a, value)).ok_or_else(|| format!("word {w}: its offsets are out of range"))
        })
        .collect::<Result<_, _>>()?;
    let word = |c: &[u8]| {
        let c = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        usize::try_from(c).ok().and_then(|i| words.get(i)).ok_or_else(|| format!("code {c} is not one of {} words", words.len()))
    };
    let (mut size, mut nulls) = (0usize, 0usize);
    for c in codes.chunks_exact(CODE) {
        let (_, len, value) = word(c)?;
        size += len;
        nulls += usize::from(!value);
    }
    if size > i32::MAX as usize {
        return Err("the column's text exceeds 2 GiB".into());
    }
    let n = codes.len() / CODE;
    let mut out = StringColumn {
        offsets: Vec::with_capacity((n + 1) * 4),
        data: Vec::with_capacity(size),
        validity: vec![if nulls > 0 { 0 } else { 0xFF }; n.div_ceil(8)],
        nulls,
    };
    out.offsets.extend_from_slice(&0i32.to_le_bytes());
    for (i, c) in codes.chunks_exact(CODE).enumerate() {
        let &(start, len, value) = word(c)?;
        out.data.extend_from_slice(&data[start..start + len]);
        if nulls > 0 && value {
            out.validity[i / 8] |= 1 << (i % 8);
        }
        out.offsets.extend_from_slice(&(out.data.len() as i32).to_le_bytes());
    }
    Ok(out)
}

/// The bytes of one code (int32).
const CODE: usize = 4;

/// ``words_by_code(offsets, data, valid, codes)``: (offsets, data, validity, nulls) of the column
/// (see `words_by_code`; ``codes``: int32, native order, any contiguous buffer), without the GIL.
#[pyfunction]
#[pyo3(name = "words_by_code", signature = (offsets, data, valid, codes))]
pub fn py_words_by_code<'py>(
    py: Python<'py>,
    offsets: ByteView,
    data: ByteView,
    valid: Option<ByteView>,
    codes: ByteView,
) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>, Bound<'py, Owned>, usize)> {
    if codes.len() % CODE != 0 {
        return Err(PyValueError::new_err("codes: int32 expected"));
    }
    let col = py
        .detach(|| words_by_code(&arrow::offsets(&offsets), &data, valid.as_deref(), &codes))
        .map_err(PyValueError::new_err)?;
    // the built buffers handed over as they are (analyzer._native.Owned): not copied into bytes, with the GIL held
    Ok((owned(py, col.offsets), owned(py, col.data), owned(py, col.validity), col.nulls))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strings;

    fn bytes(codes: &[i32]) -> Vec<u8> {
        codes.iter().flat_map(|c| c.to_ne_bytes()).collect()
    }

    #[test]
    fn rows_take_their_words_nulls_and_bad_codes() {
        let (off, data) = strings(&["", "cause.a", "fix", ""]);
        let valid = [0u8, 1, 1, 1]; // word 0 null, word 3 an empty string
        let col = words_by_code(&off, &data, Some(&valid), &bytes(&[1, 0, 2, 2, 3, 1])).unwrap();
        assert_eq!(arrow::offsets(&col.offsets), vec![0, 7, 7, 10, 13, 13, 20]);
        assert_eq!(col.data, b"cause.afixfixcause.a");
        assert_eq!((col.validity.clone(), col.nulls), (vec![0b111101], 1));
        let none = words_by_code(&off, &data, None, &bytes(&[0, 3])).unwrap();
        assert_eq!((none.nulls, arrow::offsets(&none.offsets)), (0, vec![0, 0, 0]));
        assert!(words_by_code(&off, &data, None, &bytes(&[4])).is_err());
        assert!(words_by_code(&off, &data, None, &bytes(&[-1])).is_err());
        assert!(words_by_code(&[0, 9], b"ab", None, &bytes(&[0])).is_err());
        assert_eq!(words_by_code(&off, &data, None, &bytes(&[])).unwrap().nulls, 0);
    }
}
