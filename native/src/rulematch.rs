//! The knowledge base's text patterns run over the distinct reply texts: the twin of pyarrow's
//! `match_substring_regex(texts.take(candidates), pattern, ignore_case=True)`, which
//! `analyzer/classify.py`'s `_match` ran once per rule and call (compiling the pattern each time).
//! Here each pattern is compiled once per process, when first used, and the texts of a call are
//! held once (`Texts`) for all the rules that read them.
//!
//! The patterns are the knowledge base's (`analyzer/rules`, passed in at start, rewritten from
//! RE2 by `translate`); this module holds none of its own. A pattern that cannot be rewritten or
//! compiled is reported (`usable` is false) and left to the caller's RE2 path. The `regex`
//! crate runs in time linear in the text whatever it holds.

use crate::engine::Strings;
use crate::translate::re2_to_rust;
use regex::bytes::{Regex, RegexBuilder};
use std::sync::OnceLock;

pub struct RuleSet {
    sources: Vec<String>,
    ignore_case: bool,
    compiled: Vec<OnceLock<Option<Regex>>>,
}

/// A column of texts, owned (offsets and data copied once from Arrow's buffers).
pub struct Texts {
    pub offsets: Vec<i32>,
    pub data: Vec<u8>,
}

impl Texts {
    pub fn strings(&self) -> Strings<'_> {
        Strings { offsets: &self.offsets, data: &self.data }
    }
}

impl RuleSet {
    pub fn new(patterns: Vec<String>, ignore_case: bool) -> RuleSet {
        let compiled = patterns.iter().map(|_| OnceLock::new()).collect();
        RuleSet { sources: patterns, ignore_case, compiled }
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Pattern `i`, compiled on first use; None when it cannot be rewritten or compiled.
    pub fn regex(&self, i: usize) -> Option<&Regex> {
        self.compiled[i]
            .get_or_init(|| {
                let t = re2_to_rust(&self.sources[i]).ok()?;
                RegexBuilder::new(&t).case_insensitive(self.ignore_case).size_limit(64 << 20).build().ok()
            })
            .as_ref()
    }

    /// Whether pattern `i` runs here (else the caller runs it).
    pub fn usable(&self, i: usize) -> bool {
        i < self.len() && self.regex(i).is_some()
    }

    /// One flag per candidate (indices into `texts`; out of range reads as an empty text):
    /// whether pattern `i` matches it. None when the pattern is not usable.
    pub fn hits(&self, i: usize, texts: Strings, cand: &[u32]) -> Option<Vec<bool>> {
        if i >= self.len() {
            return None;
        }
        let re = self.regex(i)?;
        let n = texts.len();
        Some(cand.iter().map(|&t| re.is_match(if (t as usize) < n { texts.get(t as usize) } else { b"" })).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strings;

    fn set(pats: &[&str], ignore_case: bool) -> RuleSet {
        RuleSet::new(pats.iter().map(|p| p.to_string()).collect(), ignore_case)
    }

    #[test]
    fn hits_on_candidates_ignoring_case() {
        let rs = set(&["quota", r"mailbox (is )?full", r"\bOFR(_|\d)"], true);
        let (off, data) = strings(&["Mailbox full, QUOTA exceeded", "nothing here", "ofr_7 User Unknown", "xOFR1"]);
        let texts = Strings { offsets: &off, data: &data };
        assert_eq!(rs.hits(0, texts, &[0, 1, 2]), Some(vec![true, false, false]));
        assert_eq!(rs.hits(1, texts, &[1, 0]), Some(vec![false, true]));
        // RE2's \b is ASCII, a word character before OFR: no boundary
        assert_eq!(rs.hits(2, texts, &[2, 3, 9]), Some(vec![true, false, false]));
        assert_eq!(rs.hits(3, texts, &[0]), None);
    }

    #[test]
    fn case_kept_when_asked_and_bad_patterns_left_out() {
        let rs = set(&["Quota", r"\pL+x", "(unclosed", r"^\d+$"], false);
        assert!(rs.usable(0) && !rs.usable(1) && !rs.usable(2) && rs.usable(3));
        let (off, data) = strings(&["quota", "Quota", "\u{0663}", "42"]); // an Arabic-Indic digit is no \d in RE2
        let texts = Strings { offsets: &off, data: &data };
        assert_eq!(rs.hits(0, texts, &[0, 1]), Some(vec![false, true]));
        assert_eq!(rs.hits(1, texts, &[0]), None);
        assert_eq!(rs.hits(3, texts, &[2, 3]), Some(vec![false, true]));
    }
}
