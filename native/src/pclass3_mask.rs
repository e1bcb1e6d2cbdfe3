//! `analyzer.classify.mask_texts` of a whole text column in Rust: each text masked by the
//! fold's [`Masker`] (`classkey.rs`: classify's MASK, then its OPAQUE passes, the patterns
//! compiled once per process, the MASK and first pass read by hand where `maskhand.rs` can). The
//! classifier masks each call's new texts, and the known replies' matcher masks them again
//! (`analyzer.similar.normalise`): in pyarrow each of those is ~3 RE2 passes whose patterns
//! compile at every call. The pyarrow passes stay the specification (and what runs with the
//! Python engine or without a masker): tests/test_mask_texts_native.py holds the two equal.

use crate::arrow;
use crate::classkey::Masker;
use crate::fold_py::PyMasker;
use crate::owned::{owned, Owned};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The texts (`offsets`, n + 1 of them; `data`) masked: (offsets as little-endian i32, data).
/// A row's bytes are masked as they are (a null row's, empty or not, are the caller's to drop).
pub fn mask_all(m: &Masker, offsets: &[i32], data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut off = Vec::with_capacity(offsets.len() * 4);
    let mut out = Vec::with_capacity(data.len());
    off.extend_from_slice(&0i32.to_le_bytes());
    for (i, w) in offsets.windows(2).enumerate() {
        let (a, b) = (usize::try_from(w[0]).ok(), usize::try_from(w[1]).ok());
        let text = a.zip(b).filter(|(a, b)| a <= b && *b <= data.len()).map(|(a, b)| &data[a..b]);
        out.extend_from_slice(&m.mask(text.ok_or_else(|| format!("text {i}: its offsets are out of range"))?));
        let end = i32::try_from(out.len()).map_err(|_| "the masked texts exceed 2 GiB".to_string())?;
        off.extend_from_slice(&end.to_le_bytes());
    }
    Ok((off, out))
}

/// ``mask_texts(masker, offsets, data)``: (offsets, data) of the texts masked (see [`mask_all`]),
/// without the GIL.
#[pyfunction]
#[pyo3(name = "mask_texts")]
pub fn py_mask_texts<'py>(
    py: Python<'py>,
    masker: PyRef<'py, PyMasker>,
    offsets: crate::ByteView,
    data: crate::ByteView,
) -> PyResult<(Bound<'py, Owned>, Bound<'py, Owned>)> {
    let m = &masker.0;
    let (off, out) = py.detach(|| mask_all(m, &arrow::offsets(&offsets), &data)).map_err(PyValueError::new_err)?;
    Ok((owned(py, off), owned(py, out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strings;

    fn masker() -> Masker {
        // classify.py's MASK and OPAQUE (maskhand.rs holds them verbatim)
        let passes = vec![
            (None, crate::maskhand::OPAQUE_FIRST.to_string(), crate::maskhand::OPAQUE_FIRST_REWRITE.to_string()),
            (Some(" KB/sec".to_string()), r"\b\d+ bytes in \d+(?:\.\d+)?, \d+(?:\.\d+)? KB/sec\b".to_string(),
             "~ bytes in ~, ~ KB/sec".to_string()),
        ];
        Masker::new(crate::maskhand::MASK, crate::maskhand::MASKED, passes, &[]).unwrap()
    }

    #[test]
    fn each_text_masked_as_the_masker_masks_it() {
        let m = masker();
        let texts = ["", "550 5.1.1 <bob@example.com>: unknown user", "connect from [192.0.2.1]",
                     "250 ok queued as 4ABC12", "2000 bytes in 0.074, 165.734 KB/sec", "Ünïcode 12345678 ok"];
        let (off, data) = strings(&texts);
        let (o, d) = mask_all(&m, &off, &data).unwrap();
        let o = arrow::offsets(&o);
        assert_eq!(o.len(), texts.len() + 1);
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(&d[o[i] as usize..o[i + 1] as usize], &*m.mask(t.as_bytes()), "{t}");
        }
        assert_eq!(&d[o[1] as usize..o[2] as usize], b"550 5.1.1 <~>: unknown user");
        assert!(mask_all(&m, &[0, 9], b"ab").is_err());
        assert!(mask_all(&m, &[3, 1], b"abc").is_err());
        assert_eq!(mask_all(&m, &[0], b"").unwrap(), (0i32.to_le_bytes().to_vec(), vec![]));
    }
}
