//! The knowledge base's rules walked over the distinct combinations of one classification call,
//! in one native call: the twin of `analyzer/rulematch.py`'s `walk` (the specification, and
//! what runs with `MAILLENS_ENGINE=python`). The rules come in their order (score, then place),
//! each one's conditions as the Python side worked them out once per rule list: sets of values
//! (by id) of the event, status, stage, MTA or provider, the quit it needs, a set of reply
//! codes, a group of enhanced / DSN code patterns (answered per value by the Python side: a
//! lookup table per call), whether its text pattern must match (run by `rulematch::RuleSet`).
//!
//! The first rule that holds for a combination decides it; a combination already decided is
//! not tried again, and a rule's pattern runs only on the distinct texts of the combinations it
//! may still decide. This module holds no rule of its own.

/// The keys a condition set names a value of, in this order: event, status, stage, mta, provider.
pub const KEYS: usize = 5;

/// One rule as the walk tries it.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// the rule's index (that of its text pattern in the `RuleSet`), the answer where it decides
    pub rule: u32,
    /// indices into `Walk::sets`: each must accept the combination's value of its key
    pub conds: Vec<usize>,
    /// the quit column's value it needs (1: no quit, 2: quit), if any
    pub quit: Option<i64>,
    /// index into `Walk::codes`: the reply codes it accepts, if it names any
    pub codes: Option<usize>,
    /// the group of enhanced code patterns (a column of the call's table) it needs, if any
    pub enh: Option<usize>,
    /// the group of DSN patterns it needs, if any
    pub dsn: Option<usize>,
    /// whether its text pattern must match the combination's text
    pub text: bool,
}

/// A rule list, walked by [`Walk::run`] once per call.
#[derive(Clone, Debug, Default)]
pub struct Walk {
    pub steps: Vec<Step>,
    /// condition sets: (key, the ids of the values it accepts, sorted)
    pub sets: Vec<(usize, Vec<i64>)>,
    /// code sets, sorted
    pub codes: Vec<Vec<i64>>,
}

/// Per value code of a call (row-major: `bits[value * groups + group]`), whether each group of
/// patterns accepts it; a code past the table is accepted by none.
#[derive(Clone, Copy)]
pub struct Lut<'a> {
    pub bits: &'a [u8],
    pub groups: usize,
}

impl Lut<'_> {
    fn get(&self, value: i64, group: usize) -> bool {
        if value < 0 || group >= self.groups {
            return false;
        }
        let at = (value as usize).checked_mul(self.groups).and_then(|v| v.checked_add(group));
        at.and_then(|a| self.bits.get(a)).is_some_and(|&b| b != 0)
    }
}

/// One call's distinct combinations (columns of `n` codes) and what they index.
pub struct Call<'a> {
    pub n: usize,
    /// per key, each combination's value code (0: null)
    pub keys: [&'a [i64]; KEYS],
    /// per key, the id of each value code's value (-1: no condition names it)
    pub ids: [&'a [i64]; KEYS],
    pub quit: &'a [i64],
    /// the effective reply code (-1: none)
    pub code: &'a [i64],
    pub enh: &'a [i64],
    pub dsn: &'a [i64],
    pub enh_lut: Lut<'a>,
    pub dsn_lut: Lut<'a>,
    /// the text code (0: no text; text `t - 1` of the call's texts)
    pub text: &'a [i64],
    pub n_texts: usize,
    /// per text, whether it is a value (a null text matches nothing); None: all are
    pub valid: Option<&'a [u8]>,
}

fn at(col: &[i64], r: usize) -> i64 {
    col.get(r).copied().unwrap_or(-1)
}

impl Walk {
    /// Whether every index the steps hold is in range (checked when the walk is made).
    pub fn check(&self) -> Result<(), String> {
        for (k, s) in self.steps.iter().enumerate() {
            if s.conds.iter().any(|&c| c >= self.sets.len()) || s.codes.is_some_and(|c| c >= self.codes.len()) {
                return Err(format!("step {k}: a set index out of range"));
            }
        }
        if self.sets.iter().any(|(key, _)| *key >= KEYS) {
            return Err("a condition set of an unknown key".into());
        }
        Ok(())
    }

    /// The winning rule of each combination (-1: none). `hits(rule, candidates)` answers, per
    /// candidate (0-based text index), whether the rule's pattern matches; None when the
    /// pattern cannot run there: the walk then stops and gives that rule back (`Err`).
    pub fn run(&self, c: &Call, mut hits: impl FnMut(usize, &[u32]) -> Option<Vec<bool>>) -> Result<Vec<i64>, u32> {
        let n = c.n;
        let mut best = vec![-1i64; n];
        // the combinations still undecided, in order
        let mut open: Vec<u32> = (0..n as u32).collect();
        // per condition set, per value code of its key: whether it accepts it (built when first
        // needed), and whether it accepts any value of the call
        let mut luts: Vec<Option<(Vec<bool>, bool)>> = vec![None; self.sets.len()];
        let mut rows: Vec<u32> = Vec::new();
        let mut cand: Vec<u32> = Vec::new();
        // per text code: the step that last asked for it / found it matching (stamps)
        let mut asked = vec![0u32; c.n_texts + 1];
        let mut found = vec![0u32; c.n_texts + 1];
        let mut stamp = 0u32;
        for step in &self.steps {
            if open.is_empty() {
                break;
            }
            let mut none = false;
            for &s in &step.conds {
                let (key, ids) = &self.sets[s];
                let (_, any) = luts[s].get_or_insert_with(|| {
                    // (value code 0 is a null: no condition accepts it)
                    let lut: Vec<bool> =
                        c.ids[*key].iter().enumerate().map(|(v, id)| v > 0 && *id >= 0 && ids.binary_search(id).is_ok()).collect();
                    let any = lut.iter().skip(1).any(|&b| b);
                    (lut, any)
                });
                none |= !*any;
            }
            if none {
                continue; // no value of this call meets one of its conditions
            }
            rows.clear();
            rows.extend(open.iter().copied().filter(|&r| {
                let r = r as usize;
                step.conds.iter().all(|&s| {
                    let lut = &luts[s].as_ref().expect("built above").0;
                    let v = at(c.keys[self.sets[s].0], r);
                    v >= 0 && lut.get(v as usize).copied().unwrap_or(false)
                }) && step.quit.is_none_or(|q| at(c.quit, r) == q)
                    && step.codes.is_none_or(|k| self.codes[k].binary_search(&at(c.code, r)).is_ok())
                    && step.enh.is_none_or(|g| c.enh_lut.get(at(c.enh, r), g))
                    && step.dsn.is_none_or(|g| c.dsn_lut.get(at(c.dsn, r), g))
            }));
            if rows.is_empty() {
                continue;
            }
            if step.text {
                // the pattern runs only on the distinct texts still undecided for this rule
                stamp += 1;
                cand.clear();
                for &r in &rows {
                    let t = at(c.text, r as usize);
                    if t > 0 && (t as usize) <= c.n_texts && asked[t as usize] != stamp {
                        asked[t as usize] = stamp;
                        cand.push((t - 1) as u32);
                    }
                }
                if cand.is_empty() {
                    continue;
                }
                let got = hits(step.rule as usize, &cand).ok_or(step.rule)?;
                for (&t, &hit) in cand.iter().zip(&got) {
                    let valid = c.valid.is_none_or(|v| v.get(t as usize).is_some_and(|&b| b != 0));
                    if hit && valid {
                        found[t as usize + 1] = stamp;
                    }
                }
                rows.retain(|&r| {
                    let t = at(c.text, r as usize);
                    t > 0 && (t as usize) <= c.n_texts && found[t as usize] == stamp
                });
                if rows.is_empty() {
                    continue;
                }
            }
            for &r in &rows {
                best[r as usize] = step.rule as i64;
            }
            open.retain(|&r| best[r as usize] < 0);
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    /// The walk written as plainly as the Python specification: every rule over every
    /// combination, in order, the first that holds wins (its pattern: a substring here).
    fn plain(w: &Walk, c: &Call, texts: &[&str], pats: &[&str]) -> Vec<i64> {
        (0..c.n)
            .map(|r| {
                for s in &w.steps {
                    let ok = s.conds.iter().all(|&k| {
                        let (key, ids) = &w.sets[k];
                        let v = c.keys[*key][r] as usize;
                        v > 0 && ids.contains(&c.ids[*key][v])
                    }) && s.quit.is_none_or(|q| c.quit[r] == q)
                        && s.codes.is_none_or(|k| w.codes[k].contains(&c.code[r]))
                        && s.enh.is_none_or(|g| c.enh_lut.get(c.enh[r], g))
                        && s.dsn.is_none_or(|g| c.dsn_lut.get(c.dsn[r], g))
                        && (!s.text || {
                            let t = c.text[r];
                            t > 0 && c.valid.is_none_or(|v| v[t as usize - 1] != 0)
                                && texts[t as usize - 1].contains(pats[s.rule as usize])
                        });
                    if ok {
                        return s.rule as i64;
                    }
                }
                -1
            })
            .collect()
    }

    fn pick(rng: &mut XorShift, n: u64) -> i64 {
        (rng.next() % n) as i64
    }

    #[test]
    fn first_rule_in_order_that_holds_wins_as_the_plain_walk() {
        let texts = ["mailbox full", "user unknown", "spam detected", "", "full quota"];
        let pats = ["full", "unknown", "spam", "quota", "", "mailbox"];
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for round in 0..300 {
            let n = 1 + pick(&mut rng, 40) as usize;
            let vocab = 4usize; // value codes 0..=4 per key (0 = null)
            // ids of the call's values: some named by no condition
            let ids: Vec<Vec<i64>> = (0..KEYS).map(|_| (0..=vocab).map(|v| if v == 0 { -1 } else { pick(&mut rng, 4) - 1 }).collect()).collect();
            let keys: Vec<Vec<i64>> = (0..KEYS).map(|_| (0..n).map(|_| pick(&mut rng, vocab as u64 + 1)).collect()).collect();
            let col = |rng: &mut XorShift, m: u64, off: i64| -> Vec<i64> { (0..n).map(|_| pick(rng, m) + off).collect() };
            let (quit, code, enh, dsn, text) =
                (col(&mut rng, 3, 0), col(&mut rng, 4, 549), col(&mut rng, 4, 0), col(&mut rng, 3, 0), col(&mut rng, 6, 0));
            let enh_bits: Vec<u8> = (0..4 * 3).map(|_| pick(&mut rng, 2) as u8).collect();
            let dsn_bits: Vec<u8> = (0..3 * 2).map(|_| pick(&mut rng, 2) as u8).collect();
            let sets: Vec<(usize, Vec<i64>)> = (0..8).map(|_| {
                let mut v: Vec<i64> = (0..3).filter(|_| rng.next() % 2 == 0).collect();
                v.sort();
                (pick(&mut rng, KEYS as u64) as usize, v)
            }).collect();
            let codes = vec![vec![549, 550], vec![551], vec![550, 551, 552]];
            let steps: Vec<Step> = (0..12).map(|_| Step {
                rule: pick(&mut rng, pats.len() as u64) as u32,
                conds: (0..pick(&mut rng, 3)).map(|_| pick(&mut rng, sets.len() as u64) as usize).collect(),
                quit: (rng.next() % 4 == 0).then(|| 1 + pick(&mut rng, 2)),
                codes: (rng.next() % 3 == 0).then(|| pick(&mut rng, 3) as usize),
                enh: (rng.next() % 3 == 0).then(|| pick(&mut rng, 3) as usize),
                dsn: (rng.next() % 4 == 0).then(|| pick(&mut rng, 2) as usize),
                text: rng.next() % 2 == 0,
            }).collect();
            let w = Walk { steps, sets, codes };
            w.check().unwrap();
            let valid: Vec<u8> = (0..texts.len()).map(|i| u8::from(i != 2 || round % 2 == 0)).collect();
            let call = Call {
                n,
                keys: [&keys[0], &keys[1], &keys[2], &keys[3], &keys[4]],
                ids: [&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]],
                quit: &quit, code: &code, enh: &enh, dsn: &dsn,
                enh_lut: Lut { bits: &enh_bits, groups: 3 },
                dsn_lut: Lut { bits: &dsn_bits, groups: 2 },
                text: &text, n_texts: texts.len(),
                valid: (round % 3 != 0).then_some(&valid[..]),
            };
            let got = w.run(&call, |rule, cand| {
                // each candidate text at most once per step
                let mut seen = cand.to_vec();
                seen.sort();
                seen.dedup();
                assert_eq!(seen.len(), cand.len());
                Some(cand.iter().map(|&t| texts[t as usize].contains(pats[rule])).collect())
            }).unwrap();
            assert_eq!(got, plain(&w, &call, &texts, &pats), "round {round}");
        }
    }

    #[test]
    fn a_pattern_that_cannot_run_stops_the_walk() {
        let w = Walk { steps: vec![Step { rule: 3, text: true, ..Step::default() }], sets: vec![], codes: vec![] };
        let (z, t) = (vec![0i64; 2], vec![1i64, 0]);
        let call = Call {
            n: 2, keys: [&z, &z, &z, &z, &z], ids: [&z, &z, &z, &z, &z], quit: &z, code: &z, enh: &z, dsn: &z,
            enh_lut: Lut { bits: &[], groups: 0 }, dsn_lut: Lut { bits: &[], groups: 0 },
            text: &t, n_texts: 1, valid: None,
        };
        assert_eq!(w.run(&call, |_, _| None), Err(3));
        // out-of-range codes read as nothing, never a panic
        let t = vec![7i64, -3];
        let call = Call { text: &t, ..call };
        assert_eq!(w.run(&call, |_, c| Some(vec![true; c.len()])), Ok(vec![-1, -1]));
        let bad = Walk { steps: vec![Step { conds: vec![0], ..Step::default() }], sets: vec![], codes: vec![] };
        assert!(bad.check().is_err());
    }
}
