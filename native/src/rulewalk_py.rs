//! The Python face of `rulewalk`: `analyzer._native.RuleWalk` (used by `analyzer/rulematch.py`).
//! A call's columns come as buffers of little-endian int64 (numpy's, read in place), its texts
//! as Arrow offsets and data; the walk runs without the GIL.

use crate::arrow;
use crate::engine::Strings;
use crate::rulematch_py::PyRuleSet;
use crate::rulewalk::{Call, Lut, Step, Walk, KEYS};
use crate::ByteView;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A rule list in the order it is walked: its steps and their condition and code sets.
#[pyclass(frozen, name = "RuleWalk", module = "analyzer._native")]
pub struct PyRuleWalk {
    walk: Walk,
}

/// A step as Python gives it: (rule, condition sets, quit or -1, code set or -1, enhanced
/// group or -1, DSN group or -1, whether its text pattern must match).
type StepIn = (u32, Vec<usize>, i64, i64, i64, i64, bool);

fn index(v: i64) -> Option<usize> {
    usize::try_from(v).ok()
}

fn ints(raw: &[u8]) -> Vec<i64> {
    raw.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

#[pymethods]
impl PyRuleWalk {
    /// ``steps`` (see `StepIn`), ``sets`` as (key 0-4, sorted value ids), ``codes`` sorted.
    #[new]
    fn new(steps: Vec<StepIn>, sets: Vec<(usize, Vec<i64>)>, codes: Vec<Vec<i64>>) -> PyResult<Self> {
        let steps = steps
            .into_iter()
            .map(|(rule, conds, quit, code, enh, dsn, text)| Step {
                rule,
                conds,
                quit: (quit >= 0).then_some(quit),
                codes: index(code),
                enh: index(enh),
                dsn: index(dsn),
                text,
            })
            .collect();
        let walk = Walk { steps, sets, codes };
        walk.check().map_err(PyValueError::new_err)?;
        Ok(PyRuleWalk { walk })
    }

    fn __len__(&self) -> usize {
        self.walk.steps.len()
    }

    /// The winning rule of each of ``n`` combinations (little-endian int64, -1: none), or None
    /// when a rule's pattern cannot run in the core (the caller walks the rules itself).
    /// ``cols``: 10 x ``n`` int64, the columns event, status, stage, mta, provider, quit, code,
    /// enh, dsn, text; ``ids``: per key of the first five, each value code's id; ``enh`` and
    /// ``dsn``: (lookup table, number of groups); ``texts``: Arrow offsets and data;
    /// ``valid``: one byte per text (None: none is null).
    #[pyo3(signature = (rules, n, cols, ids, enh, dsn, offsets, data, valid=None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        rules: &PyRuleSet,
        n: usize,
        cols: ByteView,
        ids: Vec<ByteView>,
        enh: (ByteView, usize),
        dsn: (ByteView, usize),
        offsets: ByteView,
        data: ByteView,
        valid: Option<ByteView>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        if ids.len() != KEYS {
            return Err(PyValueError::new_err(format!("{} id maps, expected {KEYS}", ids.len())));
        }
        if cols.len() != 10 * 8 * n {
            return Err(PyValueError::new_err("the columns are not 10 x n int64"));
        }
        let (cols, ids_raw): (&[u8], Vec<&[u8]>) = (&cols, ids.iter().map(|b| &b[..]).collect());
        let (enh_bits, dsn_bits, off_raw, data, valid): (&[u8], &[u8], &[u8], &[u8], Option<&[u8]>) =
            (&enh.0, &dsn.0, &offsets, &data, valid.as_deref());
        let set = &rules.set;
        let got = py.detach(|| {
            let all = ints(cols);
            let id: Vec<Vec<i64>> = ids_raw.iter().map(|b| ints(b)).collect();
            let col = |k: usize| &all[k * n..(k + 1) * n];
            let off = arrow::offsets(off_raw);
            let texts = Strings { offsets: &off, data };
            let call = Call {
                n,
                keys: [col(0), col(1), col(2), col(3), col(4)],
                ids: [&id[0], &id[1], &id[2], &id[3], &id[4]],
                quit: col(5),
                code: col(6),
                enh: col(7),
                dsn: col(8),
                enh_lut: Lut { bits: enh_bits, groups: enh.1 },
                dsn_lut: Lut { bits: dsn_bits, groups: dsn.1 },
                text: col(9),
                n_texts: texts.len(),
                valid,
            };
            // each text scanned once for the patterns it may match (`rulematch_screen`); a
            // pattern's automaton runs only on those of its candidates
            let screen = set.screen();
            let marks = screen.marks(texts);
            let mut keep: Vec<u32> = Vec::new();
            self.walk.run(&call, |rule, cand| {
                if !screen.screens(rule) {
                    return set.hits(rule, texts, cand);
                }
                keep.clear();
                keep.extend(cand.iter().copied().filter(|&t| marks.may(t as usize, rule)));
                let got = if keep.is_empty() { Vec::new() } else { set.hits(rule, texts, &keep)? };
                let mut out = vec![false; cand.len()];
                let mut k = 0;
                for (j, &t) in cand.iter().enumerate() {
                    if keep.get(k) == Some(&t) {
                        out[j] = got[k];
                        k += 1;
                    }
                }
                Some(out)
            })
        });
        Ok(got.ok().map(|best| PyBytes::new(py, &crate::fold_py::le(&best, i64::to_le_bytes))))
    }
}
