//! The twin of `analyzer/parsers/engine.py`'s `match_patterns`: run a list of patterns in order
//! over a column of strings; each row is taken by the first pattern (allowed for the row's
//! daemon) that matches, and that pattern's named groups are captured.
//!
//! The patterns are the Python tables' (passed in at start, rewritten by `translate`); the
//! `regex` crate runs in time linear in the input whatever the line holds.

use crate::translate::re2_to_rust;
use regex::bytes::{CaptureLocations, Regex};
use std::collections::HashMap;

/// A column of strings in Arrow's layout: `n + 1` offsets into `data`.
#[derive(Clone, Copy)]
pub struct Strings<'a> {
    pub offsets: &'a [i32],
    pub data: &'a [u8],
}

impl<'a> Strings<'a> {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        if a < 0 || b < a || b as usize > self.data.len() {
            return &[];
        }
        &self.data[a as usize..b as usize]
    }
}

pub struct Pattern {
    regex: Regex,
    /// a hand-read twin of this exact pattern (see `syslog`), when there is one
    fast: Option<fn(&[u8]) -> Option<[(usize, usize); 4]>>,
    /// (capture index in `regex`, column index in `Engine::names`)
    groups: Vec<(usize, usize)>,
    daemons: Option<Vec<Vec<u8>>>,
}

pub struct Engine {
    pub patterns: Vec<Pattern>,
    /// every group name of every pattern, in order of first appearance
    pub names: Vec<String>,
}

/// What a run found, rows in the order the Python engine gives them: by daemon (sorted, rows
/// without one last), then pattern, then row.
pub struct Found {
    pub rows: Vec<u32>,
    pub pats: Vec<u32>,
    /// spans of each found row's groups (`groups` of its pattern, in order), flattened
    start: Vec<u32>,
    spans: Vec<Option<(u32, u32)>>,
}

/// One output column: for each found row, `None` (its pattern has no such group) or the bytes
/// captured (empty when the group took no part in the match, as RE2 reports it).
pub enum Cell<'a> {
    Absent,
    Value(&'a [u8]),
}

impl Engine {
    pub fn new(regexes: &[String], daemons: Vec<Option<Vec<String>>>) -> Result<Engine, String> {
        if regexes.len() != daemons.len() {
            return Err("one daemon list (or None) per pattern".into());
        }
        let mut names: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns = Vec::with_capacity(regexes.len());
        for (src, ds) in regexes.iter().zip(daemons) {
            let translated = re2_to_rust(src)?;
            let regex = regex::bytes::RegexBuilder::new(&translated)
                .size_limit(64 << 20)
                .build()
                .map_err(|e| format!("{src:?}: {e}"))?;
            let mut groups = Vec::new();
            for (cap, name) in regex.capture_names().enumerate() {
                if let Some(name) = name {
                    let col = *index.entry(name.to_string()).or_insert_with(|| {
                        names.push(name.to_string());
                        names.len() - 1
                    });
                    groups.push((cap, col));
                }
            }
            let daemons = ds.map(|v| v.into_iter().map(String::into_bytes).collect());
            let fast = (src == crate::syslog::HEADER).then_some(crate::syslog::header as fn(&[u8]) -> _);
            patterns.push(Pattern { regex, fast, groups, daemons });
        }
        Ok(Engine { patterns, names })
    }

    /// Match every row of `msgs` (rows `lo..hi`); `keys` are the rows' daemons (None: no
    /// daemon limits apply, as for Exim and for headers).
    pub fn run(&self, msgs: Strings, keys: Option<(Strings, &[bool])>, lo: usize, hi: usize) -> Found {
        let mut found = Found { rows: Vec::new(), pats: Vec::new(), start: Vec::new(), spans: Vec::new() };
        let mut locs: Vec<CaptureLocations> = self.patterns.iter().map(|p| p.regex.capture_locations()).collect();
        // which patterns each distinct daemon may try
        let mut allowed: HashMap<&[u8], Vec<bool>> = HashMap::new();
        let all: Vec<bool> = vec![true; self.patterns.len()];
        for row in lo..hi {
            let hay = msgs.get(row);
            let ok: &[bool] = match keys {
                Some((k, valid)) if valid[row] => {
                    let d = k.get(row);
                    allowed.entry(d).or_insert_with(|| {
                        self.patterns
                            .iter()
                            .map(|p| p.daemons.as_ref().is_none_or(|ds| ds.iter().any(|x| x.as_slice() == d)))
                            .collect()
                    })
                }
                _ => &all,
            };
            for (i, p) in self.patterns.iter().enumerate() {
                if !ok[i] {
                    continue;
                }
                if let Some(fast) = p.fast {
                    // groups in capture order: stamp, host, tag, msg
                    let Some(spans) = fast(hay) else { continue };
                    found.rows.push(row as u32);
                    found.pats.push(i as u32);
                    found.start.push(found.spans.len() as u32);
                    found.spans.extend(spans.iter().map(|&(a, b)| Some((a as u32, b as u32))));
                    break;
                }
                let l = &mut locs[i];
                if p.regex.captures_read(l, hay).is_none() {
                    continue;
                }
                found.rows.push(row as u32);
                found.pats.push(i as u32);
                found.start.push(found.spans.len() as u32);
                for &(cap, _) in &p.groups {
                    found.spans.push(l.get(cap).map(|(a, b)| (a as u32, b as u32)));
                }
                break;
            }
        }
        found
    }

    /// For each row of `lo..hi`: 1 if the first pattern matches somewhere in it, else 0.
    pub fn is_match(&self, msgs: Strings, lo: usize, hi: usize) -> Vec<u8> {
        let re = &self.patterns[0].regex;
        (lo..hi).map(|row| u8::from(re.is_match(msgs.get(row)))).collect()
    }

    /// Join the results of runs over consecutive row ranges.
    pub fn join(parts: Vec<Found>) -> Found {
        let mut out = Found { rows: Vec::new(), pats: Vec::new(), start: Vec::new(), spans: Vec::new() };
        for p in parts {
            let base = out.spans.len() as u32;
            out.rows.extend(p.rows);
            out.pats.extend(p.pats);
            out.start.extend(p.start.into_iter().map(|s| s + base));
            out.spans.extend(p.spans);
        }
        out
    }

    /// Put found rows in the Python engine's order: daemon (byte order, none last), pattern, row.
    pub fn order(&self, found: &mut Found, keys: Option<(Strings, &[bool])>) {
        let n = found.rows.len();
        let mut idx: Vec<usize> = (0..n).collect();
        match keys {
            None => idx.sort_by_key(|&i| (found.pats[i], found.rows[i])),
            Some((k, valid)) => idx.sort_by(|&a, &b| {
                let ka = valid[found.rows[a] as usize].then(|| k.get(found.rows[a] as usize));
                let kb = valid[found.rows[b] as usize].then(|| k.get(found.rows[b] as usize));
                (ka.is_none(), ka).cmp(&(kb.is_none(), kb)).then(found.pats[a].cmp(&found.pats[b])).then(found.rows[a].cmp(&found.rows[b]))
            }),
        }
        found.rows = idx.iter().map(|&i| found.rows[i]).collect();
        found.pats = idx.iter().map(|&i| found.pats[i]).collect();
        found.start = idx.iter().map(|&i| found.start[i]).collect();
    }

    /// The cells of column `col` for each found row.
    pub fn column<'a>(&self, found: &Found, col: usize, msgs: Strings<'a>) -> Vec<Cell<'a>> {
        let mut out = Vec::with_capacity(found.rows.len());
        for k in 0..found.rows.len() {
            let p = &self.patterns[found.pats[k] as usize];
            match p.groups.iter().position(|&(_, c)| c == col) {
                None => out.push(Cell::Absent),
                Some(j) => {
                    let hay = msgs.get(found.rows[k] as usize);
                    match found.spans[(found.start[k] as usize) + j] {
                        Some((a, b)) => out.push(Cell::Value(&hay[a as usize..b as usize])),
                        None => out.push(Cell::Value(&[])),
                    }
                }
            }
        }
        out
    }

    /// The columns that some found row's pattern has.
    pub fn used_columns(&self, found: &Found) -> Vec<usize> {
        let mut used = vec![false; self.names.len()];
        let mut seen = vec![false; self.patterns.len()];
        for &p in &found.pats {
            if !seen[p as usize] {
                seen[p as usize] = true;
                for &(_, c) in &self.patterns[p as usize].groups {
                    used[c] = true;
                }
            }
        }
        (0..self.names.len()).filter(|&c| used[c]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strings;

    #[test]
    fn first_allowed_pattern_wins_and_order_follows_python() {
        let e = Engine::new(
            &[r"^connect from (?P<client>\S+)$".into(), r"^(?P<queue_id>[0-9A-F]+): (?P<detail>.*)$".into(), r"^(?P<detail>.*)$".into()],
            vec![Some(vec!["smtpd".into()]), None, None],
        )
        .unwrap();
        let (mo, md) = strings(&["connect from a[1.2.3.4]", "ABC12: removed", "connect from b[5]", "other"]);
        let (ko, kd) = strings(&["smtpd", "qmgr", "smtp", "smtpd"]);
        let msgs = Strings { offsets: &mo, data: &md };
        let keys = Some((Strings { offsets: &ko, data: &kd }, &[true, true, true, true][..]));
        let mut f = e.run(msgs, keys, 0, 4);
        e.order(&mut f, keys);
        // qmgr < smtp < smtpd; in smtpd, pattern 0 before pattern 2
        assert_eq!(f.rows, vec![1, 2, 0, 3]);
        assert_eq!(f.pats, vec![1, 2, 0, 2]);
        assert_eq!(e.names, vec!["client", "queue_id", "detail"]);
        let client = e.column(&f, 0, msgs);
        assert!(matches!(client[0], Cell::Absent));
        assert!(matches!(client[2], Cell::Value(b"a[1.2.3.4]")));
        let detail = e.column(&f, 2, msgs);
        assert!(matches!(detail[0], Cell::Value(b"removed")));
        assert!(matches!(detail[1], Cell::Value(b"connect from b[5]")));
    }

    #[test]
    fn group_outside_the_match_is_empty_not_absent() {
        let e = Engine::new(&[r"^a(?P<x>b)?c$".into()], vec![None]).unwrap();
        let (o, d) = strings(&["ac", "abc", "zz"]);
        let msgs = Strings { offsets: &o, data: &d };
        let f = e.run(msgs, None, 0, 3);
        assert_eq!(f.rows, vec![0, 1]);
        let x = e.column(&f, 0, msgs);
        assert!(matches!(x[0], Cell::Value(b"")));
        assert!(matches!(x[1], Cell::Value(b"b")));
    }

    #[test]
    fn split_runs_join_to_the_whole() {
        let e = Engine::new(&[r"^(?P<n>\d+)$".into(), r"^(?P<w>[a-z]+)$".into()], vec![None, None]).unwrap();
        let v: Vec<String> = (0..100).map(|i| if i % 3 == 0 { format!("{i}") } else { "ab".repeat(i % 5) }).collect();
        let refs: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        let (o, d) = strings(&refs);
        let msgs = Strings { offsets: &o, data: &d };
        let mut whole = e.run(msgs, None, 0, 100);
        let mut parts = Engine::join(vec![e.run(msgs, None, 0, 37), e.run(msgs, None, 37, 100)]);
        e.order(&mut whole, None);
        e.order(&mut parts, None);
        assert_eq!(whole.rows, parts.rows);
        assert_eq!(whole.pats, parts.pats);
    }
}
