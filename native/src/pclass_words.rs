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
        usize::try_from(c).ok().filter(|&i| i < words.len()).ok_or_else(|| format!("code {c} is not one of {} words", words.len()))
    };
    let (mut size, mut nulls) = (0usize, 0usize);
    for c in codes.chunks_exact(CODE) {
        let (_, len, value) = words[word(c)?];
        size += len;
        nulls += usize::from(!value);
    }
    if size > i32::MAX as usize {
        return Err("the column's text exceeds 2 GiB".into());
    }
    // (every code is one of the words from here on)
    let at = codes.chunks_exact(CODE).map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as usize);
    let n = codes.len() / CODE;
    let mut offsets = vec![0u8; (n + 1) * 4];
    let mut validity = vec![if nulls > 0 { 0 } else { 0xFF }; n.div_ceil(8)];
    if nulls > 0 {
        for (k, i) in at.clone().enumerate() {
            validity[k / 8] |= u8::from(words[i].2) << (k % 8);
        }
    }
    let out = if words.iter().all(|w| w.1 <= PAD) {
        // every word copied as one fixed run of PAD bytes (its bytes, then zeros) where the row's
        // text starts, the next row's text written over its tail: no copy of a variable length
        // per row (a call to memcpy each); the data has PAD bytes of room past its end, cut off
        let padded: Vec<[u8; PAD]> = words
            .iter()
            .map(|&(start, len, _)| {
                let mut w = [0u8; PAD];
                w[..len].copy_from_slice(&data[start..start + len]);
                w
            })
            .collect();
        let mut out = vec![0u8; size + PAD];
        let mut end = 0usize;
        for (k, i) in at.enumerate() {
            out[end..end + PAD].copy_from_slice(&padded[i]);
            end += words[i].1;
            offsets[(k + 1) * 4..(k + 2) * 4].copy_from_slice(&(end as i32).to_le_bytes());
        }
        out.truncate(size);
        out
    } else {
        let mut out = Vec::with_capacity(size);
        for (k, i) in at.enumerate() {
            let (start, len, _) = words[i];
            out.extend_from_slice(&data[start..start + len]);
            offsets[(k + 1) * 4..(k + 2) * 4].copy_from_slice(&(out.len() as i32).to_le_bytes());
        }
        out
    };
    Ok(StringColumn { offsets, data: out, validity, nulls })
}

/// Words up to this many bytes are copied as fixed runs (`words_by_code`): the classification's
/// words (causes, fixes, outcomes ...) are shorter.
const PAD: usize = 32;

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

    #[test]
    fn short_and_long_words_laid_out_alike() {
        // words of every length around PAD, with and without one longer than PAD (the two ways)
        let long = "x".repeat(PAD + 5);
        let all: Vec<String> = (0..=PAD + 1).map(|k| "abcdefghijklmnopqrstuvwxyz0123456789".chars().cycle().take(k).collect()).collect();
        for with_long in [false, true] {
            let words: Vec<&str> = all.iter().map(String::as_str).filter(|w| with_long || w.len() <= PAD)
                .chain(with_long.then_some(long.as_str())).collect();
            let (off, data) = strings(&words);
            let valid: Vec<u8> = (0..words.len()).map(|w| u8::from(w % 7 != 3)).collect();
            let codes: Vec<i32> = (0..500).map(|k| ((k * 7919 + k / 3) % words.len()) as i32).collect();
            let col = words_by_code(&off, &data, Some(&valid), &bytes(&codes)).unwrap();
            let offs = arrow::offsets(&col.offsets);
            let mut nulls = 0;
            for (r, &c) in codes.iter().enumerate() {
                let w = words[c as usize].as_bytes();
                assert_eq!(&col.data[offs[r] as usize..offs[r + 1] as usize], w, "row {r}");
                let value = valid[c as usize] != 0;
                nulls += usize::from(!value);
                assert_eq!(col.validity[r / 8] >> (r % 8) & 1 == 1, value, "row {r}");
            }
            assert_eq!((col.nulls, col.data.len()), (nulls, *offs.last().unwrap() as usize));
        }
    }
}
