//! The Python face of `rulematch`: `analyzer._native.RuleSet` and `Texts` (used by
//! `analyzer/rulematch.py`).

use crate::arrow;
use crate::rulematch::{RuleSet, Texts};
use crate::rulematch_screen as screen;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

/// A list of patterns (RE2 syntax), each compiled when first used.
#[pyclass(frozen, name = "RuleSet", module = "analyzer._native")]
pub struct PyRuleSet {
    pub(crate) set: RuleSet,
}

/// A string column held for several `RuleSet.hits` calls.
#[pyclass(frozen, name = "Texts", module = "analyzer._native")]
pub struct PyTexts {
    pub(crate) texts: Texts,
}

#[pymethods]
impl PyTexts {
    /// From Arrow offsets (sliced to the column) and data; nulls read as empty strings.
    #[new]
    fn new(offsets: PyBackedBytes, data: PyBackedBytes) -> Self {
        PyTexts { texts: Texts { offsets: arrow::offsets(&offsets), data: data.to_vec() } }
    }

    fn __len__(&self) -> usize {
        self.texts.strings().len()
    }
}

#[pymethods]
impl PyRuleSet {
    #[new]
    #[pyo3(signature = (patterns, ignore_case=true))]
    fn new(patterns: Vec<String>, ignore_case: bool) -> Self {
        PyRuleSet { set: RuleSet::new(patterns, ignore_case) }
    }

    /// Whether pattern ``i`` runs here (compiles it); else the caller runs it.
    fn usable(&self, py: Python<'_>, i: usize) -> bool {
        py.detach(|| self.set.usable(i))
    }

    /// Compile patterns `start..end` (all by default) now, in one call without the GIL (a call
    /// per pattern took the GIL back ~500 times, each a wait of up to the interpreter's switch
    /// interval where another thread runs Python); the number of them that are usable.
    #[pyo3(signature = (start=0, end=None))]
    fn compile_all(&self, py: Python<'_>, start: usize, end: Option<usize>) -> usize {
        let end = end.unwrap_or(self.set.len()).min(self.set.len());
        py.detach(|| (start.min(end)..end).filter(|&i| self.set.usable(i)).count())
    }

    /// Build the screen (`prepare_screen`) and compile the patterns it does not screen, now,
    /// without the GIL (`RuleSet::compile_unscreened`); the number of them that are usable.
    fn compile_unscreened(&self, py: Python<'_>) -> usize {
        py.detach(|| self.set.compile_unscreened())
    }

    /// Build now, without the GIL, the screen the rule walk puts in front of the patterns
    /// (`rulematch_screen`; the literals of the patterns not compiled yet read without
    /// compiling them): once a process, else in the first walk.
    fn prepare_screen(&self, py: Python<'_>) {
        py.detach(|| {
            self.set.screen();
        });
    }

    /// The screen's literals of every pattern as bytes (`rulematch_screen::encode_sets`), to keep
    /// for a later run of the same patterns (`screen_from`); the screen is built from them now
    /// where it is not yet. Without the GIL.
    fn screen_literals<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let got = py.detach(|| {
            let own = self.set.literal_sets();
            self.set.screen_from(&own);
            screen::encode_sets(&own)
        });
        PyBytes::new(py, &got)
    }

    /// Build the screen from ``literals``, what `screen_literals` gave for these very patterns
    /// (the caller keys them by the patterns and this build), unless it is built already.
    /// False (nothing built) where they are not such bytes for this many patterns. Without the GIL.
    fn screen_from(&self, py: Python<'_>, literals: &[u8]) -> bool {
        py.detach(|| screen::decode_sets(literals, self.set.len()).is_some_and(|own| self.set.screen_from(&own)))
    }

    /// How many patterns are compiled so far (each is when first used).
    fn compiled(&self) -> usize {
        self.set.compiled_count()
    }

    /// What the screen in front of the patterns (`rulematch_screen`, used by the rule walk)
    /// lets through: per text of ``texts``, per pattern, 1 where the pattern may match the text
    /// (always where it is not screened), text-major.
    fn screen_marks<'py>(&self, py: Python<'py>, texts: &PyTexts) -> Bound<'py, PyBytes> {
        let got = py.detach(|| {
            let screen = self.set.screen();
            let strs = texts.texts.strings();
            let marks = screen.marks(strs);
            (0..strs.len()).flat_map(|t| (0..self.set.len()).map(move |p| (t, p))).map(|(t, p)| u8::from(marks.may(t, p))).collect::<Vec<u8>>()
        });
        PyBytes::new(py, &got)
    }

    /// One byte per pattern of ``which`` (little-endian u32 indices) and text of ``texts``,
    /// pattern-major: 1 where the pattern matches the text (``hits`` of each pattern over every
    /// text, in one call: the GIL let go of once, not once a pattern). None when one of the
    /// patterns is not usable.
    fn hits_every<'py>(&self, py: Python<'py>, texts: &PyTexts, which: &[u8]) -> Option<Bound<'py, PyBytes>> {
        let got = py.detach(|| {
            let strs = texts.texts.strings();
            // each text scanned once by the screen (`rulematch_screen`, as the rule walk does): a
            // pattern's automaton runs only on the texts it lets through to it (a text it keeps
            // out could only have been found not to match)
            let screen = self.set.screen();
            let marks = screen.marks(strs);
            let mut out = vec![0u8; which.len() / 4 * strs.len()];
            let mut cand: Vec<u32> = Vec::with_capacity(strs.len());
            for (row, c) in out.chunks_exact_mut(strs.len().max(1)).zip(which.chunks_exact(4)) {
                let i = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize;
                cand.clear();
                cand.extend((0..strs.len() as u32).filter(|&t| !screen.screens(i) || marks.may(t as usize, i)));
                let got = if cand.is_empty() && self.set.usable(i) { Vec::new() } else { self.set.hits(i, strs, &cand)? };
                for (&t, hit) in cand.iter().zip(got) {
                    row[t as usize] = u8::from(hit);
                }
            }
            Some(out)
        })?;
        Some(PyBytes::new(py, &got))
    }

    /// One byte per candidate (little-endian u32 indices into ``texts``): 1 where pattern ``i``
    /// matches the text. None when the pattern is not usable.
    fn hits<'py>(&self, py: Python<'py>, texts: &PyTexts, i: usize, cand: &[u8]) -> Option<Bound<'py, PyBytes>> {
        let got = py.detach(|| {
            let idx: Vec<u32> = cand.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            self.set.hits(i, texts.texts.strings(), &idx)
        })?;
        let bytes: Vec<u8> = got.into_iter().map(u8::from).collect();
        Some(PyBytes::new(py, &bytes))
    }
}
