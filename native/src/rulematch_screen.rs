//! A screen in front of the rules' text patterns: one scan of a text tells which patterns may
//! match it, so that the walk (`rulewalk`) runs each pattern's automaton only on those texts.
//! Nearly every text of a call is a candidate of nearly every phrase rule (the rules are tried
//! in order, few decide), and a pattern's lazy DFA read each byte of each of them: 700k
//! (pattern, text) runs, 38 MB, for the 1M Postfix day's parse, for ~1,000 matches.
//!
//! Each pattern's literal prefixes (`regex_syntax`'s extractor over the syntax tree of the
//! pattern with case kept: every match starts with one of them, or with a case variant of one
//! when case is ignored) are folded to lower-case ASCII and cut at their first other byte; a pattern with no such set (a prefix may be anything, or
//! a cut leaves nothing) is never screened out. A text is folded the same way, and one
//! Aho-Corasick scan of it finds every literal it holds. Sound because the patterns ignore case:
//! a text that holds a match holds its first literal, and its fold holds the literal's fold (the
//! only characters outside ASCII whose case folding reaches an ASCII letter are the Kelvin sign
//! and the long s, folded to k and s here; a test holds the regex crate to that).

use crate::engine::Strings;
use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::Hir;
use std::collections::HashMap;

/// A literal prefix shorter than this screens out too little to be worth a lookup.
const MIN_LEN: usize = 2;
/// Literals are cut to this many bytes: a text holding a literal holds its start, and the
/// shipped patterns' ~500 cut so are a few thousand distinct ones (the automaton's build, once
/// a process, grows with them), as selective as the whole.
const MAX_LEN: usize = 8;

/// `text` folded: ASCII letters lower-cased, the Kelvin sign (U+212A) as `k` and the long s
/// (U+017F) as `s`, every other byte as it is.
pub fn fold(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == 0xE2 && text.get(i + 1) == Some(&0x84) && text.get(i + 2) == Some(&0xAA) {
            out.push(b'k');
            i += 3;
        } else if b == 0xC5 && text.get(i + 1) == Some(&0xBF) {
            out.push(b's');
            i += 2;
        } else {
            out.push(b.to_ascii_lowercase());
            i += 1;
        }
    }
}

/// The folded literals one of which the fold of every text a pattern matches holds, case
/// ignored: from the syntax tree of its case-sensitive twin (a match ignoring case is, character
/// by character, a case variant of one of the twin's, assertions aside: the extractor reads
/// them as empty); None when it has no such set. These are its prefixes (`suffixes`: the same
/// from its matches' ends).
pub fn literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    side(hir, ExtractKind::Prefix)
}

/// As `literals`, from the ends of the pattern's matches (`regex_syntax`'s suffix extractor):
/// a text the pattern matches holds one of these too, so a pattern is screened by both sets
/// (r24-pclass: the prefixes alone let through ~125k (pattern, text) pairs of the 1M Postfix
/// report's texts for ~1.5k matches, and each pattern they let through is compiled).
pub fn suffixes(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    side(hir, ExtractKind::Suffix)
}

fn side(hir: &Hir, kind: ExtractKind) -> Option<Vec<Vec<u8>>> {
    let suffix = matches!(kind, ExtractKind::Suffix);
    let seq = Extractor::new().kind(kind).extract(hir);
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut buf = Vec::new();
    for lit in seq.literals()? {
        fold(lit.as_bytes(), &mut buf);
        // its longest run of ASCII (the first such; any piece of the literal is in the text, and a
        // byte outside ASCII may be another in a case variant), cut to MAX_LEN at the side the
        // literal is anchored to: reversed for a suffix, so that both are cut and deduplicated
        // as prefixes
        if suffix {
            buf.reverse();
        }
        let run = buf.split(|b| !b.is_ascii()).fold(&buf[..0], |a, r| if r.len() > a.len() { r } else { a });
        if run.len() < MIN_LEN {
            return None;
        }
        out.push(run[..run.len().min(MAX_LEN)].to_vec());
    }
    if out.is_empty() {
        return None; // (a pattern that matches nothing: left to its automaton)
    }
    // a literal that starts with another of the pattern's adds nothing: a text holding it holds
    // the other (sorted, such a literal comes right after the shortest one it starts with)
    out.sort();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(out.len());
    for lit in out {
        if kept.last().is_none_or(|k| !lit.starts_with(k)) {
            kept.push(lit);
        }
    }
    if suffix {
        kept.iter_mut().for_each(|l| l.reverse());
    }
    Some(kept)
}

/// The literals of a list of patterns in one automaton.
pub struct Screen {
    ac: Option<AhoCorasick>,
    /// per literal, the literal sets it stands for
    owners: Vec<Vec<u32>>,
    /// per literal set, whether it screens (else it lets every text through)
    screened: Vec<bool>,
    /// the patterns: set `k * patterns + p` is one of pattern `p`'s
    patterns: usize,
}

/// Per text of a call, the literal sets it holds a literal of (a bit each).
pub struct Marks<'a> {
    screen: &'a Screen,
    words: usize,
    bits: Vec<u64>,
}

impl Screen {
    /// From each pattern's literals (None: not screened).
    pub fn new(per_pattern: &[Option<&[Vec<u8>]>]) -> Screen {
        Screen::of_sets(per_pattern, per_pattern.len())
    }

    /// From literal sets, `patterns` a kind (prefixes, then suffixes ...): set `k * patterns + p`
    /// is pattern `p`'s of kind `k` (None: it does not screen); a text may match a pattern only
    /// where it holds a literal of each of its sets that screen.
    pub fn of_sets(sets: &[Option<&[Vec<u8>]>], patterns: usize) -> Screen {
        let mut index: HashMap<&[u8], usize> = HashMap::new();
        let mut lits: Vec<&[u8]> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        for (p, got) in sets.iter().enumerate() {
            for lit in got.iter().flat_map(|l| l.iter()) {
                let at = *index.entry(lit).or_insert_with(|| {
                    lits.push(lit);
                    owners.push(Vec::new());
                    lits.len() - 1
                });
                owners[at].push(p as u32);
            }
        }
        let ac = if lits.is_empty() { None } else { AhoCorasick::builder().match_kind(MatchKind::Standard).build(&lits).ok() };
        // without an automaton (it could not be built) no pattern is screened
        let screened = sets.iter().map(|p| p.is_some() && ac.is_some()).collect();
        Screen { ac, owners, screened, patterns: patterns.max(1) }
    }

    /// Whether pattern `p` is screened.
    pub fn screens(&self, p: usize) -> bool {
        p < self.patterns && self.screened.iter().skip(p).step_by(self.patterns).any(|&s| s)
    }

    /// The marks of `texts`: one overlapping scan of each one's fold.
    pub fn marks(&self, texts: Strings) -> Marks<'_> {
        let words = self.screened.len().div_ceil(64);
        let mut bits = vec![0u64; words * texts.len()];
        if let Some(ac) = &self.ac {
            let mut buf = Vec::new();
            for t in 0..texts.len() {
                fold(texts.get(t), &mut buf);
                let row = &mut bits[t * words..(t + 1) * words];
                for m in ac.find_overlapping_iter(&buf[..]) {
                    for &p in &self.owners[m.pattern().as_usize()] {
                        row[p as usize / 64] |= 1 << (p % 64);
                    }
                }
            }
        }
        Marks { screen: self, words, bits }
    }
}

impl Marks<'_> {
    /// Whether pattern `p` may match text `t` (always, for a pattern not screened or a text
    /// out of range): `t` holds a literal of each of `p`'s sets that screen.
    pub fn may(&self, t: usize, p: usize) -> bool {
        let s = self.screen;
        if p >= s.patterns || (t + 1) * self.words > self.bits.len() {
            return true;
        }
        let row = &self.bits[t * self.words..(t + 1) * self.words];
        (p..s.screened.len()).step_by(s.patterns).all(|k| !s.screened[k] || row[k / 64] >> (k % 64) & 1 == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edit, strings, XorShift};
    use crate::translate::re2_to_rust;
    use regex::bytes::RegexBuilder;
    use regex_automata::util::syntax;

    /// The case-sensitive syntax tree of a pattern (what `RuleSet` takes the literals from;
    /// the patterns run ignoring case)
    fn hir(p: &str) -> Hir {
        syntax::parse_with(&re2_to_rust(p).unwrap(), &syntax::Config::new().utf8(false)).unwrap()
    }

    #[test]
    fn only_the_kelvin_sign_and_the_long_s_fold_to_ascii_letters() {
        // the regex crate's case folding (what the patterns ignore case by) of every character
        let re = RegexBuilder::new(r"^[\x00-\x7F]$").case_insensitive(true).build().unwrap();
        let mut buf = [0u8; 4];
        let odd: Vec<u32> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| re.is_match(c.encode_utf8(&mut buf).as_bytes()))
            .map(|c| c as u32)
            .collect();
        assert_eq!(odd, vec![0x017F, 0x212A]);
        let mut out = Vec::new();
        fold("Mailbox \u{212A}ELVIN \u{017F}pam é".as_bytes(), &mut out);
        assert_eq!(out, "mailbox kelvin spam é".as_bytes());
    }

    #[test]
    fn literals_of_patterns() {
        assert_eq!(literals(&hir("quota")), Some(vec![b"quota".to_vec()]));
        assert_eq!(literals(&hir("Mailbox (is )?full|over quota")),
                   Some(vec![b"mailbox ".to_vec(), b"over quo".to_vec()]));
        // a literal that starts with another of the same pattern is dropped
        assert_eq!(literals(&hir("spam|spammer|ham")), Some(vec![b"ham".to_vec(), b"spam".to_vec()]));
        // a prefix that may be anything, or too short once cut at its first non-ASCII byte
        assert_eq!(literals(&hir(r"[^;]{0,20}blocked")), None);
        assert_eq!(literals(&hir("é")), None);
        // a literal's longest ASCII run stands for it (any piece of it is in a matching text)
        assert_eq!(literals(&hir("ébloui")), Some(vec![b"bloui".to_vec()]));
        assert_eq!(literals(&hir("réessayez plus tard|spät")), Some(vec![b"essayez ".to_vec(), b"sp".to_vec()]));
        assert_eq!(literals(&hir(r"\bspam")), Some(vec![b"spam".to_vec()]));
    }

    #[test]
    fn suffixes_of_patterns() {
        assert_eq!(suffixes(&hir("quota")), Some(vec![b"quota".to_vec()]));
        // cut to their last MAX_LEN bytes; one that ends with another of the same pattern dropped
        assert_eq!(suffixes(&hir("Mailbox (is )?full|over quota")),
                   Some(vec![b"er quota".to_vec(), b" is full".to_vec(), b"box full".to_vec()]));
        assert_eq!(suffixes(&hir("spam|antispam|ham")), Some(vec![b"ham".to_vec(), b"spam".to_vec()]));
        // a pattern whose prefixes may be anything is screened by its ends
        assert_eq!(literals(&hir(r"[^;]{0,20}blocked")), None);
        assert_eq!(suffixes(&hir(r"[^;]{0,20}blocked")), Some(vec![b"blocked".to_vec()]));
        assert_eq!(suffixes(&hir(r"user .*")), None);
        assert_eq!(suffixes(&hir("refusé")), Some(vec![b"refus".to_vec()]));
        assert_eq!(suffixes(&hir("éé")), None);
        assert_eq!(suffixes(&hir("éTRANGE")), Some(vec![b"trange".to_vec()]));
    }

    #[test]
    fn a_text_the_pattern_matches_is_never_screened_out() {
        let pats = [r"quota (usage |limit )?(is )?(exceed(ed)?|reached|full)", r"\bOXS(US|EU)?[0-9]*_514\b",
                    r"consid[eé]r[eé] comme (spam|ind[eé]sirable)|pourriel", r"(#|\b)(BL|ES)(~|0000\d*)($|[^a-z0-9])",
                    r"\bskip\b", r"kelvin|ſtop", r"^[45]\d\d ", r"user unknown", r"\(G30\)", r"x*",
                    r"(r[eé])?essayez plus tard|spät", r"[^;]{0,20}überfüllt"];
        let res: Vec<_> = pats.iter().map(|p| RegexBuilder::new(&re2_to_rust(p).unwrap()).case_insensitive(true).build().unwrap()).collect();
        let lits: Vec<Option<Vec<Vec<u8>>>> = pats.iter().map(|p| literals(&hir(p))).collect();
        let ends: Vec<Option<Vec<Vec<u8>>>> = pats.iter().map(|p| suffixes(&hir(p))).collect();
        let prefixes = Screen::new(&lits.iter().map(|l| l.as_deref()).collect::<Vec<_>>());
        let screen = Screen::of_sets(&lits.iter().chain(&ends).map(|l| l.as_deref()).collect::<Vec<_>>(), pats.len());
        assert!(screen.screens(0) && screen.screens(6) && !screen.screens(9));
        let seeds = ["QUOTA limit is EXCEEDED", "OXSEU12_514 x", "considéré comme SPAM", "#BL~ here", "\u{212A}ELVIN",
                     "\u{017F}KIP", "STOP", "550 user unknown", "(g30)", "Quota reached", "es0000 ", "nothing at all",
                     "RÉESSAYEZ PLUS TARD", "SPÄT", "Postfach ÜBERFÜLLT"];
        let mut rng = XorShift(0x51_7cc1_b727_220a);
        let mut texts: Vec<String> = Vec::new();
        for s in seeds {
            let mut l = s.as_bytes().to_vec();
            texts.push(s.to_string());
            for _ in 0..60 {
                edit(&mut l, &mut rng, "kKsSéE ~0#_".as_bytes());
                if let Ok(t) = std::str::from_utf8(&l) {
                    texts.push(t.to_string());
                }
            }
        }
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let (off, data) = strings(&refs);
        let marks = screen.marks(Strings { offsets: &off, data: &data });
        let first = prefixes.marks(Strings { offsets: &off, data: &data });
        let (mut out, mut fewer) = (0, 0);
        for (t, text) in texts.iter().enumerate() {
            for (p, re) in res.iter().enumerate() {
                let hit = re.is_match(text.as_bytes());
                assert!(!hit || marks.may(t, p), "{:?} matches {:?} but was screened out", pats[p], text);
                // both sides let through only what the prefixes alone would
                assert!(!marks.may(t, p) || first.may(t, p));
                out += usize::from(!marks.may(t, p));
                fewer += usize::from(first.may(t, p) && !marks.may(t, p));
            }
        }
        assert!(out > texts.len() * 4, "the screen keeps out most pairs ({out})");
        assert!(fewer > 0, "the suffixes keep out pairs the prefixes let through");
    }
}

