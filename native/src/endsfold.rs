//! The report's abnormal session ends folded in Rust (`analyzer/report/ends_native.py`, #12): the
//! state of `analyzer.report.ends_fold.EndsFold` (the specification) held per key, not as numpy
//! arrays re-sorted every batch. A batch's lines come coded by this fold's own vocabularies (the
//! codes the Python fold gives: each column's strings in the order first folded), with their side
//! of the window, step, time, input order, line number and client hash; what the Python fold
//! reads of the reply texts (masked failure texts, an example's meaningful text) stays in Python
//! and comes in a second call ([`EndsFold::finish`]) for the failed lines and for the few new
//! example candidates only. Everything is linear in the lines (hash maps over codes, examples kept
//! sorted at most 5 or 200 a key); the maps over log texts use the standard library's keyed hash.

use crate::vocab::Vocab;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The coded columns, in the order the Python wrapper hands them.
pub const EVENT: usize = 0;
pub const STAGE: usize = 1;
pub const CAUSE: usize = 2;
pub const FIX: usize = 3;
pub const OUTCOME: usize = 4;
pub const PROVIDER: usize = 5;
pub const SOURCE: usize = 6;
pub const HOST: usize = 7;
/// The masked failure texts (coded in [`EndsFold::finish`]).
pub const TEXT: usize = 8;
pub const VOCABS: usize = 9;

/// The word lists the fold tests (the Python module's constants, handed in).
pub struct Spec {
    /// The outcomes that are failures (`FAILURES`).
    pub failures: Vec<Vec<u8>>,
    /// The events the session-end detector counts (`DETECTED`).
    pub detected: Vec<Vec<u8>>,
    /// The events `session_ends.by_stage` counts (`ABNORMAL`).
    pub abnormal: Vec<Vec<u8>>,
    /// The outcomes that, with an info severity, went well (`("ok", "info")`).
    pub quiet: Vec<Vec<u8>>,
    /// Examples kept per detector key (`EXAMPLES`) and candidates per cause-list entry (`CANDIDATES`).
    pub examples: usize,
    pub candidates: usize,
}

/// One batch's folded lines: per column its codes (-1: null; [`TEXT`] unused), whether the
/// severity is "info", and the numbers the Python fold works out (side 0/1/2, step, ns, order).
#[derive(Default)]
pub struct Lines {
    pub codes: Vec<Vec<i64>>,
    pub info: Vec<bool>,
    pub side: Vec<i64>,
    pub step: Vec<i64>,
    pub ns: Vec<i64>,
    pub order: Vec<i64>,
    pub line: Vec<f64>,
    pub client: Vec<u64>,
    pub has_client: Vec<bool>,
}

pub type Key = [i64; 6];

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agg {
    pub n: i64,
    pub lo: i64,
    pub hi: i64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Example {
    pub ts: i64,
    pub order: i64,
    pub source: i64,
    pub line: f64,
    pub host: i64,
}

/// Lines counted per key (side, step, codes) with each key's first examples by (time, order),
/// ties in the order folded (the Python fold's stable sorts).
#[derive(Default)]
pub struct Steps {
    keys: HashMap<Key, (Agg, Vec<Example>)>,
}

impl Steps {
    fn add(&mut self, key: Key, ex: Example, keep: usize) {
        let (a, examples) = self.keys.entry(key).or_insert((Agg { n: 0, lo: i64::MAX, hi: i64::MIN }, Vec::new()));
        a.n += 1;
        a.lo = a.lo.min(ex.ts);
        a.hi = a.hi.max(ex.ts);
        insert_first(examples, ex, keep, |e| (e.ts, e.order));
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The counts by key, and the examples by key and then (time, order).
    pub fn sorted(&self) -> (Vec<(Key, Agg)>, Vec<(Key, Example)>) {
        let mut keys: Vec<(&Key, &(Agg, Vec<Example>))> = self.keys.iter().collect();
        keys.sort_unstable_by_key(|(k, _)| **k);
        let counts = keys.iter().map(|(k, (a, _))| (**k, *a)).collect();
        let examples = keys.iter().flat_map(|(k, (_, ex))| ex.iter().map(move |e| (**k, *e))).collect();
        (counts, examples)
    }
}

/// `item` into `held` (sorted by `by`, at most `keep`) after the items it equals.
fn insert_first<T, K: PartialOrd>(held: &mut Vec<T>, item: T, keep: usize, by: impl Fn(&T) -> K) -> bool {
    let k = by(&item);
    let at = held.partition_point(|e| by(e) <= k);
    if at >= keep {
        return false;
    }
    if held.len() == held.capacity() {
        // (grown by doubling up to `keep`, not past it: most keys hold a few examples)
        held.reserve_exact((2 * held.len()).clamp(1, keep.max(1)).saturating_sub(held.len()).max(1));
    }
    held.insert(at, item);
    held.truncate(keep);
    true
}

/// An example candidate of a cause-list entry: its text comes in [`EndsFold::finish`] (`Pending`:
/// the line's position in its batch until then).
#[derive(Clone, Debug, PartialEq)]
pub enum Text {
    Pending(usize),
    Known(Option<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub ts: i64,
    pub order: i64,
    pub source: i64,
    pub line: f64,
    pub text: Text,
}

/// One cause list's entries, indexed by the entry's number.
#[derive(Default)]
pub struct List {
    pub order: Vec<usize>,
    pub n: Vec<i64>,
    pub outcomes: Vec<BTreeMap<i64, i64>>,
    pub events: Vec<HashSet<i64>>,
    pub clients: Vec<HashSet<u64>>,
    pub candidates: Vec<Vec<Candidate>>,
}

impl List {
    fn grow(&mut self, top: usize) {
        if self.n.len() < top {
            self.n.resize(top, 0);
            self.outcomes.resize_with(top, Default::default);
            self.events.resize_with(top, Default::default);
            self.clients.resize_with(top, Default::default);
            self.candidates.resize_with(top, Default::default);
        }
    }
}

/// Per vocabulary code whether its word is in a list (worked out once per word).
#[derive(Default)]
struct Flags(Vec<bool>);

impl Flags {
    fn test(&mut self, vocab: &Vocab, set: &[Vec<u8>], code: i64) -> bool {
        if code < 0 {
            return false;
        }
        while self.0.len() < vocab.len() {
            let w = vocab.word(self.0.len());
            self.0.push(set.iter().any(|s| s == w));
        }
        self.0.get(code as usize).copied().unwrap_or(false)
    }
}

pub struct EndsFold {
    pub spec: Spec,
    pub vocabs: Vec<Vocab>,
    pub ends: Steps,
    pub fails: Steps,
    /// (stage or "unknown", event) -> lines, in the order first counted.
    pub stages: Vec<(Vec<u8>, Vec<u8>, i64)>,
    stage_at: HashMap<(Vec<u8>, Vec<u8>), usize>,
    /// The entries' keys ("cause\0fix"), numbered in the order first folded.
    pub keys: Vec<Vec<u8>>,
    key_at: HashMap<Vec<u8>, usize>,
    pub lists: [List; 2],
    failed: Flags,
    quiet: Flags,
    detected: Flags,
    abnormal: Flags,
    /// The batch's failed lines waiting for their texts (their key but the text, an example).
    waiting: Vec<(Key, Example)>,
    /// The batch's new candidates waiting for their texts: (list, entry).
    pending: Vec<(usize, usize)>,
}

fn check(lines: &Lines) -> Result<usize, String> {
    let n = lines.side.len();
    let lens = [lines.info.len(), lines.step.len(), lines.ns.len(), lines.order.len(), lines.line.len(), lines.client.len(),
                lines.has_client.len()];
    if lens.iter().any(|&l| l != n) || lines.codes.len() < HOST + 1 || lines.codes[..=HOST].iter().any(|c| c.len() != n) {
        return Err("the batch's columns differ in length".into());
    }
    Ok(n)
}

impl Steps {
    /// Bytes held (the table's buckets and each key's examples).
    pub fn nbytes(&self) -> usize {
        use std::mem::size_of;
        self.keys.capacity() * (size_of::<(Key, (Agg, Vec<Example>))>() + 1)
            + self.keys.values().map(|(_, ex)| size_of::<Example>() * ex.capacity()).sum::<usize>()
    }
}

impl EndsFold {
    /// Bytes held, by part: the vocabularies, the detectors' steps (ends, failures), the lists.
    pub fn nbytes(&self) -> [usize; 4] {
        let list = |l: &List| {
            8 * (l.order.capacity() + l.n.capacity()) + l.outcomes.iter().map(|m| 48 * m.len()).sum::<usize>()
                + l.events.iter().map(|e| 9 * e.capacity()).sum::<usize>()
                + l.clients.iter().map(|e| 9 * e.capacity()).sum::<usize>()
                + l.candidates.iter().map(|c| std::mem::size_of::<Candidate>() * c.capacity()).sum::<usize>()
        };
        [self.vocabs.iter().map(Vocab::nbytes).sum(), self.ends.nbytes(), self.fails.nbytes(),
         self.lists.iter().map(list).sum()]
    }

    pub fn new(spec: Spec) -> Self {
        EndsFold {
            spec,
            vocabs: (0..VOCABS).map(|_| Vocab::new()).collect(),
            ends: Steps::default(),
            fails: Steps::default(),
            stages: Vec::new(),
            stage_at: HashMap::new(),
            keys: Vec::new(),
            key_at: HashMap::new(),
            lists: [List::default(), List::default()],
            failed: Flags::default(),
            quiet: Flags::default(),
            detected: Flags::default(),
            abnormal: Flags::default(),
            waiting: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn word_or_none(&self, col: usize, code: i64) -> &[u8] {
        if code < 0 { b"None" } else { self.vocabs[col].word(code as usize) }
    }

    /// Fold a batch's lines but for what needs their texts: returns the positions of the failed
    /// lines (whose masked texts [`finish`](Self::finish) takes, in this order) and of the new
    /// example candidates (whose meaningful texts it takes, in this order).
    pub fn add(&mut self, l: &Lines) -> Result<(Vec<usize>, Vec<usize>), String> {
        if !self.waiting.is_empty() || !self.pending.is_empty() {
            return Err("the batch before was not finished".into());
        }
        let n = check(l)?;
        let c = &l.codes;
        let mut failed_at = Vec::new();
        let mut lists: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut bad: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for i in 0..n {
            let failed = self.failed.test(&self.vocabs[OUTCOME], &self.spec.failures, c[OUTCOME][i]);
            let ex = Example { ts: l.ns[i], order: l.order[i], source: c[SOURCE][i], line: l.line[i], host: c[HOST][i] };
            if failed {
                failed_at.push(i);
                let spike = i64::from(!l.info[i]);
                self.waiting.push(([l.side[i], l.step[i], c[CAUSE][i], c[PROVIDER][i], -1, spike], ex));
            } else if self.detected.test(&self.vocabs[EVENT], &self.spec.detected, c[EVENT][i]) {
                self.ends.add([l.side[i], l.step[i], c[EVENT][i], c[STAGE][i], c[CAUSE][i], 0], ex, self.spec.examples);
            }
            if l.side[i] != 1 {
                continue;
            }
            if self.abnormal.test(&self.vocabs[EVENT], &self.spec.abnormal, c[EVENT][i]) {
                let stage = if c[STAGE][i] < 0 { -2 } else { c[STAGE][i] };
                *bad.entry((stage, c[EVENT][i])).or_insert(0) += 1;
            }
            if failed {
                lists[1].push(i);
            } else if !(l.info[i] && self.quiet.test(&self.vocabs[OUTCOME], &self.spec.quiet, c[OUTCOME][i])) {
                lists[0].push(i);
            }
        }
        for ((stage, event), k) in bad {
            let s = if stage == -2 { b"unknown".to_vec() } else { self.vocabs[STAGE].word(stage as usize).to_vec() };
            let key = (s, self.word_or_none(EVENT, event).to_vec());
            match self.stage_at.get(&key) {
                Some(&at) => self.stages[at].2 += k,
                None => {
                    self.stage_at.insert(key.clone(), self.stages.len());
                    self.stages.push((key.0, key.1, k));
                }
            }
        }
        let mut need = Vec::new();
        for (li, at) in lists.iter().enumerate() {
            if !at.is_empty() {
                self.add_entries(li, at, l, &mut need);
            }
        }
        Ok((failed_at, need))
    }

    /// A cause list's lines (positions `at` of the batch) into its entries and their candidates.
    fn add_entries(&mut self, li: usize, at: &[usize], l: &Lines, need: &mut Vec<usize>) {
        let c = &l.codes;
        // the entries' keys (cause and fix, the cause where there is no fix), numbered in the
        // order of their (cause, fix) codes within the batch, as the Python fold's np.unique
        let mut pairs: BTreeMap<(i64, i64), usize> = at.iter().map(|&i| ((c[CAUSE][i], c[FIX][i]), 0)).collect();
        let mut fresh = Vec::new();
        for ((cause, fix), kid) in pairs.iter_mut() {
            let mut name = self.word_or_none(CAUSE, *cause).to_vec();
            name.push(0);
            name.extend_from_slice(if *fix < 0 { self.word_or_none(CAUSE, *cause) } else { self.vocabs[FIX].word(*fix as usize) });
            *kid = match self.key_at.get(&name) {
                Some(&k) => k,
                None => {
                    self.key_at.insert(name.clone(), self.keys.len());
                    self.keys.push(name);
                    self.keys.len() - 1
                }
            };
            fresh.push(*kid);
        }
        let list = &mut self.lists[li];
        list.grow(self.keys.len());
        let mut listed = HashSet::new(); // (two pairs can name one key)
        for kid in fresh {
            if list.n[kid] == 0 && listed.insert(kid) {
                list.order.push(kid);
            }
        }
        let mut new: BTreeMap<usize, Vec<Candidate>> = BTreeMap::new();
        for &i in at {
            let kid = pairs[&(c[CAUSE][i], c[FIX][i])];
            list.n[kid] += 1;
            if c[OUTCOME][i] >= 0 {
                *list.outcomes[kid].entry(c[OUTCOME][i]).or_insert(0) += 1;
            }
            if c[EVENT][i] >= 0 {
                list.events[kid].insert(c[EVENT][i]);
            }
            if l.has_client[i] {
                list.clients[kid].insert(l.client[i]);
            }
            if c[SOURCE][i] >= 0 && !l.line[i].is_nan() {
                let cand = Candidate { ts: l.ns[i], order: l.order[i], source: c[SOURCE][i], line: l.line[i], text: Text::Pending(i) };
                insert_first(new.entry(kid).or_default(), cand, self.spec.candidates, |e| (e.ts, e.order));
            }
        }
        for (kid, cands) in new {
            let held = &mut list.candidates[kid];
            for cand in cands {
                insert_first(held, cand, self.spec.candidates, |e| (e.ts, e.order));
            }
            for cand in held.iter() {
                if let Text::Pending(i) = cand.text {
                    need.push(i);
                    self.pending.push((li, kid));
                }
            }
        }
    }

    /// The batch's failed lines' masked text codes (in the order `add` gave their positions)
    /// and its new candidates' texts (likewise).
    pub fn finish(&mut self, text_codes: &[i64], texts: Vec<Option<String>>) -> Result<(), String> {
        if text_codes.len() != self.waiting.len() || texts.len() != self.pending.len() {
            return Err("the texts do not match the batch's lines".into());
        }
        for ((mut key, ex), &t) in std::mem::take(&mut self.waiting).into_iter().zip(text_codes) {
            key[4] = t;
            self.fails.add(key, ex, self.spec.examples);
        }
        let mut texts = texts.into_iter();
        let pending = std::mem::take(&mut self.pending);
        let mut k = 0;
        while k < pending.len() {
            let (li, kid) = pending[k];
            for cand in self.lists[li].candidates[kid].iter_mut() {
                if matches!(cand.text, Text::Pending(_)) {
                    cand.text = Text::Known(texts.next().expect("as many texts as pending"));
                    k += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn fold() -> EndsFold {
        EndsFold::new(Spec {
            failures: words(&["transient_failure", "permanent_failure"]),
            detected: words(&["lost_connection", "timeout"]),
            abnormal: words(&["lost_connection", "timeout", "too_many_errors"]),
            quiet: words(&["ok", "info"]),
            examples: 2,
            candidates: 2,
        })
    }

    /// Lines of (event, stage, cause, outcome, side, ns) coded in `f`'s vocabularies.
    fn lines(f: &mut EndsFold, rows: &[(&str, &str, &str, &str, i64, i64)]) -> Lines {
        let mut l = Lines { codes: vec![Vec::new(); VOCABS], ..Default::default() };
        for (i, &(event, stage, cause, outcome, side, ns)) in rows.iter().enumerate() {
            for (col, w) in [(EVENT, event), (STAGE, stage), (CAUSE, cause), (OUTCOME, outcome), (SOURCE, "f"), (HOST, "h")] {
                let code = if w.is_empty() { -1 } else { f.vocabs[col].code(w.as_bytes()).unwrap() };
                l.codes[col].push(code);
            }
            for col in [FIX, PROVIDER] {
                l.codes[col].push(-1);
            }
            l.info.push(false);
            l.side.push(side);
            l.step.push(ns / 60 * 60);
            l.ns.push(ns);
            l.order.push(i as i64);
            l.line.push(i as f64);
            l.client.push(i as u64 % 2);
            l.has_client.push(true);
        }
        l
    }

    #[test]
    fn counts_examples_stages_and_entries() {
        let mut f = fold();
        let l = lines(&mut f, &[("timeout", "", "session.lost", "deferred", 1, 30), ("timeout", "data", "session.lost", "deferred", 1, 10),
                                ("lost_connection", "", "session.lost", "deferred", 1, 20), ("too_many_errors", "", "proto", "permanent_failure", 1, 5),
                                ("timeout", "", "session.lost", "deferred", 0, 1)]);
        let (failed, need) = f.add(&l).unwrap();
        assert_eq!(failed, vec![3]);
        assert!(f.add(&l).is_err(), "a batch must be finished first");
        f.finish(&[0], need.iter().map(|i| Some(format!("t{i}"))).collect()).unwrap();
        let (counts, ex) = f.ends.sorted();
        assert_eq!(counts.iter().map(|(_, a)| a.n).sum::<i64>(), 4);
        assert_eq!(ex.len(), 4, "two keys inside and one before, at most two examples each");
        assert_eq!(f.fails.sorted().0.len(), 1);
        let stages: Vec<_> = f.stages.iter().map(|(s, e, n)| (String::from_utf8_lossy(s).into_owned(), String::from_utf8_lossy(e).into_owned(), *n)).collect();
        assert_eq!(stages, vec![("unknown".into(), "timeout".into(), 1), ("unknown".into(), "lost_connection".into(), 1),
                                ("unknown".into(), "too_many_errors".into(), 1), ("data".into(), "timeout".into(), 1)]);
        assert_eq!(f.keys, vec![b"session.lost\0session.lost".to_vec(), b"proto\0proto".to_vec()]);
        let states = &f.lists[0];
        assert_eq!(states.n[0], 3);
        assert_eq!(states.clients[0].len(), 2);
        let c: Vec<i64> = states.candidates[0].iter().map(|c| c.ts).collect();
        assert_eq!(c, vec![10, 20], "the first two by time");
        assert!(states.candidates[0].iter().all(|c| matches!(c.text, Text::Known(Some(_)))));
        assert_eq!(f.lists[1].order, vec![1]);
    }

    #[test]
    fn candidates_keep_the_first_by_time_ties_in_order() {
        let mut f = fold();
        let l = lines(&mut f, &[("timeout", "", "c", "deferred", 1, 5), ("timeout", "", "c", "deferred", 1, 5)]);
        let (_, need) = f.add(&l).unwrap();
        assert_eq!(need, vec![0, 1]);
        f.finish(&[], vec![None, Some("x".into())]).unwrap();
        // a later batch with an earlier line: it comes first, the held tie keeps its place
        let mut l2 = lines(&mut f, &[("timeout", "", "c", "deferred", 1, 1)]);
        l2.order[0] = 9;
        let (_, need) = f.add(&l2).unwrap();
        assert_eq!(need, vec![0]);
        f.finish(&[], vec![Some("y".into())]).unwrap();
        let got: Vec<(i64, Text)> = f.lists[0].candidates[0].iter().map(|c| (c.ts, c.text.clone())).collect();
        assert_eq!(got, vec![(1, Text::Known(Some("y".into()))), (5, Text::Known(None))]);
        assert!(f.finish(&[1], vec![]).is_err());
    }
}
