//! A screen in front of the rules' text patterns: one scan of a text tells which patterns may
//! match it, so that the walk (`rulewalk`) runs each pattern's automaton only on those texts.
//! Nearly every text of a call is a candidate of nearly every phrase rule (the rules are tried
//! in order, few decide), and a pattern's lazy DFA read each byte of each of them: 700k
//! (pattern, text) runs, 38 MB, for the 1M Postfix day's parse, for ~1,000 matches.
//!
//! Each pattern's literal prefixes (`regex_syntax`'s extractor over the syntax tree of the
//! pattern with case kept: every match starts with one of them, or with a case variant of one
//! when case is ignored) are folded, character by character, to one member of their simple
//! case-folding orbit (`fold`: the regex crate's orbits, so Cyrillic, Greek and accented
//! letters fold too; r25-pclass, before only ASCII letters and literals' ASCII runs) and cut to
//! `MAX_LEN` bytes; a pattern with no such set (a prefix may be anything, or a literal is shorter
//! than `MIN_LEN`) is never screened out. A text is folded the same way, and one Aho-Corasick
//! scan of it finds every literal it holds. Sound because the patterns ignore case: a text that
//! holds a match holds its first literal's case variant, and its fold holds the literal's fold
//! (a test holds `fold` to the regex crate's orbits for every character).

use crate::engine::Strings;
use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange, Hir};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A literal prefix shorter than this screens out too little to be worth a lookup.
const MIN_LEN: usize = 2;
/// Literals are cut to this many bytes: a text holding a literal holds its start, and the
/// shipped patterns' ~500 cut so are a few thousand distinct ones (the automaton's build, once
/// a process, grows with them), as selective as the whole.
const MAX_LEN: usize = 8;

/// Characters below this fold through a table made once (Latin, Greek, Cyrillic, Armenian);
/// others are folded one by one (`canonical`).
const TABLE: u32 = 0x600;

/// The character every member of `c`'s simple case-folding orbit (the regex crate's: what a
/// pattern ignoring case lets stand for `c`) folds to: the orbit's least character, lower-cased
/// where that is an ASCII letter (the Kelvin sign and the long s fold to `k` and `s`).
fn canonical(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
    class.case_fold_simple();
    let least = class.ranges().first().map_or(c, |r| r.start());
    least.to_ascii_lowercase()
}

fn table() -> &'static [char] {
    static T: OnceLock<Vec<char>> = OnceLock::new();
    T.get_or_init(|| (0..TABLE).map(|u| char::from_u32(u).map_or('\0', canonical)).collect())
}

/// The length of the valid UTF-8 character at the start of `b` and the character (None: `b`
/// starts with a byte that begins none).
fn decode(b: &[u8]) -> Option<(char, usize)> {
    let n = match b.first()? {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(b.get(..n)?).ok()?;
    s.chars().next().map(|c| (c, n))
}

/// `text` folded: each valid UTF-8 character as its orbit's `canonical` one (a text that holds
/// a case variant of a string holds, folded, the string's fold: the characters of a match and
/// of the string fold alike one by one, and a valid character of the text is never read across,
/// whatever bytes come before it), every other byte as it is.
pub fn fold(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let table = table();
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b.is_ascii() {
            out.push(b.to_ascii_lowercase());
            i += 1;
            continue;
        }
        match decode(&text[i..]) {
            Some((c, n)) => {
                let f = table.get(c as usize).copied().unwrap_or_else(|| canonical(c));
                let mut buf = [0u8; 4];
                out.extend_from_slice(f.encode_utf8(&mut buf).as_bytes());
                i += n;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// The longest piece of `lit` that is whole valid characters, folded (the first such; a byte
/// outside them may be a character cut by the extractor, whose variants fold otherwise).
fn folded_run(lit: &[u8], buf: &mut Vec<u8>) -> Vec<u8> {
    let mut best: Vec<u8> = Vec::new();
    for piece in lit.utf8_chunks() {
        fold(piece.valid().as_bytes(), buf);
        if buf.len() > best.len() {
            best.clone_from(buf);
        }
    }
    best
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
        // its longest run of whole characters, folded (any piece of the literal is in the text),
        // cut to MAX_LEN at the side the literal is anchored to: reversed for a suffix, so that
        // both are cut and deduplicated as prefixes (a cut may split a character: a text that
        // holds the fold holds any piece of it)
        let mut run = folded_run(lit.as_bytes(), &mut buf);
        if suffix {
            run.reverse();
        }
        if run.len() < MIN_LEN {
            return None;
        }
        run.truncate(MAX_LEN);
        out.push(run);
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

/// A pattern's screen literals: its prefixes' set, then its suffixes' (`literals`, `suffixes`;
/// None: that side does not screen).
pub type Sides = [Option<Vec<Vec<u8>>>; 2];

/// The start of `encode_sets`'s bytes: changes whenever what a pattern's literals are changes
/// (`MIN_LEN`, `MAX_LEN`, the fold, the extractor's settings, the branches), so that literals
/// kept by an older build are never read as this one's.
const FORMAT: &[u8] = b"maillens-screen 3 2 8\n";
/// A side without a set (`None`) in `encode_sets`'s bytes.
const NO_SET: u16 = u16::MAX;

/// The literals of patterns as bytes (kept between runs: reading the literals off the patterns
/// is ~80% of a screen's build, `RuleSet::screen`): `FORMAT`, the number of patterns (u32 LE),
/// then per pattern its number of branches (u32 LE) and per branch and side its number of
/// literals (u16 LE, `NO_SET` for None) and each one's length (a byte) and bytes.
pub fn encode_sets(sets: &[Vec<Sides>]) -> Vec<u8> {
    let mut out = FORMAT.to_vec();
    out.extend_from_slice(&(sets.len() as u32).to_le_bytes());
    for pattern in sets {
        out.extend_from_slice(&(pattern.len() as u32).to_le_bytes());
        for side in pattern.iter().flatten() {
            match side {
                // (a side of more literals than a count holds is kept as one that does not
                // screen: it lets more through, never less)
                Some(lits) if lits.len() < usize::from(NO_SET) => {
                    out.extend_from_slice(&(lits.len() as u16).to_le_bytes());
                    for l in lits {
                        out.push(l.len() as u8);
                        out.extend_from_slice(l);
                    }
                }
                _ => out.extend_from_slice(&NO_SET.to_le_bytes()),
            }
        }
    }
    out
}

/// `encode_sets`'s bytes read back, for `n` patterns; None unless they are exactly that
/// (another format, another number of patterns, a cut or a literal no pattern's could be).
pub fn decode_sets(bytes: &[u8], n: usize) -> Option<Vec<Vec<Sides>>> {
    fn take<'a>(b: &mut &'a [u8], k: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..k)?, b.get(k..)?);
        *b = rest;
        Some(head)
    }
    fn count(b: &mut &[u8]) -> Option<u16> {
        Some(u16::from_le_bytes(take(b, 2)?.try_into().ok()?))
    }
    let mut b = bytes.strip_prefix(FORMAT)?;
    let patterns = u32::from_le_bytes(take(&mut b, 4)?.try_into().ok()?) as usize;
    if patterns != n || sets_too_many(patterns, b.len()) {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = u32::from_le_bytes(take(&mut b, 4)?.try_into().ok()?);
        let mut branches = Vec::new();
        for _ in 0..k {
            let mut sides: Sides = [None, None];
            for side in sides.iter_mut() {
                let k = count(&mut b)?;
                if k == NO_SET {
                    continue;
                }
                let mut lits = Vec::new();
                for _ in 0..k {
                    let len = usize::from(*take(&mut b, 1)?.first()?);
                    if !(MIN_LEN..=MAX_LEN).contains(&len) {
                        return None;
                    }
                    lits.push(take(&mut b, len)?.to_vec());
                }
                if lits.is_empty() {
                    return None;
                }
                *side = Some(lits);
            }
            branches.push(sides);
        }
        out.push(branches);
    }
    b.is_empty().then_some(out)
}

/// Whether `n` patterns cannot fit in `left` bytes (each takes at least 4: its branches' count).
fn sets_too_many(n: usize, left: usize) -> bool {
    n.checked_mul(4).is_none_or(|need| need > left)
}

/// The literals of a list of patterns in one automaton.
pub struct Screen {
    ac: Option<AhoCorasick>,
    /// per literal, the literal sets it stands for
    owners: Vec<Vec<u32>>,
    /// the number of literal sets (a bit each in a text's marks)
    sets: usize,
    /// per branch, the literal sets a text must hold a literal of each of (empty: the branch
    /// does not screen, and no text is kept from its pattern)
    branches: Vec<Vec<u32>>,
    /// per pattern, its branches (a range of `branches`); a pattern may match a text where one
    /// of its branches lets it through
    of_pattern: Vec<std::ops::Range<usize>>,
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
        let patterns = patterns.max(1);
        let branches = (0..patterns)
            .map(|p| (p..sets.len()).step_by(patterns).filter(|&k| sets[k].is_some()).map(|k| k as u32).collect())
            .collect();
        Screen::build(sets, branches, (0..patterns).map(|p| p..p + 1).collect())
    }

    /// From each pattern's branches' literals (`RuleSet::literal_sets`: the top alternation's
    /// branches, each with its prefixes and suffixes): a text may match a pattern where it holds,
    /// for one of its branches, a literal of each of the branch's sides that screen.
    pub fn of_branches(own: &[Vec<Sides>]) -> Screen {
        let mut sets: Vec<Option<&[Vec<u8>]>> = Vec::new();
        let mut branches = Vec::new();
        let mut of_pattern = Vec::with_capacity(own.len());
        for pattern in own {
            let first = branches.len();
            for sides in pattern {
                let mut held = Vec::new();
                for side in sides.iter().flatten() {
                    held.push(sets.len() as u32);
                    sets.push(Some(side.as_slice()));
                }
                branches.push(held);
            }
            if branches.len() == first {
                branches.push(Vec::new()); // (no branch: never kept out)
            }
            of_pattern.push(first..branches.len());
        }
        Screen::build(&sets, branches, of_pattern)
    }

    fn build(sets: &[Option<&[Vec<u8>]>], branches: Vec<Vec<u32>>, of_pattern: Vec<std::ops::Range<usize>>) -> Screen {
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
        Screen { ac, owners, sets: sets.len(), branches, of_pattern }
    }

    /// Whether pattern `p` is screened: each of its branches screens (and the automaton could be
    /// built: without it no pattern is screened).
    pub fn screens(&self, p: usize) -> bool {
        self.ac.is_some() && self.of_pattern.get(p).is_some_and(|r| self.branches[r.clone()].iter().all(|b| !b.is_empty()))
    }

    /// The marks of `texts`: one overlapping scan of each one's fold.
    pub fn marks(&self, texts: Strings) -> Marks<'_> {
        let words = self.sets.div_ceil(64);
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
    /// out of range): for one of `p`'s branches, `t` holds a literal of each of its sets.
    pub fn may(&self, t: usize, p: usize) -> bool {
        let s = self.screen;
        let Some(r) = s.of_pattern.get(p) else { return true };
        if s.ac.is_none() || (t + 1) * self.words > self.bits.len() {
            return true;
        }
        // (a pattern with an empty branch is not screened: that branch's `all` holds, so it may)
        let row = &self.bits[t * self.words..(t + 1) * self.words];
        s.branches[r.clone()].iter().any(|b| b.iter().all(|&k| row[k as usize / 64] >> (k % 64) & 1 == 1))
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

    /// `s` folded, as a string (the tests' literals)
    fn f(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        fold(s.as_bytes(), &mut out);
        out
    }

    #[test]
    fn every_character_of_an_orbit_folds_alike() {
        // the regex crate's simple case folding (what the patterns ignore case by) of every
        // character: each member of its orbit folds to the same character, and only the members
        // of an ASCII letter's orbit (the Kelvin sign, the long s) fold into ASCII
        let mut buf = [0u8; 4];
        let mut odd = Vec::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
            class.case_fold_simple();
            let want = f(c.encode_utf8(&mut buf));
            for r in class.ranges() {
                for m in (r.start() as u32..=r.end() as u32).filter_map(char::from_u32) {
                    assert_eq!(f(m.encode_utf8(&mut buf)), want, "{c:?} and {m:?}");
                }
            }
            if !c.is_ascii() && want.is_ascii() {
                odd.push(c as u32);
            }
        }
        assert_eq!(odd, vec![0x017F, 0x212A]);
        assert_eq!(f("Mailbox \u{212A}ELVIN \u{017F}pam"), b"mailbox kelvin spam");
        assert_eq!(f("ПЕРЕПОЛНЕН"), f("переполнен"));
        assert_eq!(f("ÉTÉ ΣΑΣ"), f("été σας"));
        // bytes of no valid character as they are; the characters after them read whole
        assert_eq!(f("\u{0}A"), b"\0a");
        let mut out = Vec::new();
        fold(b"\xFF\xC3\x89\xC3A\xE2\x84", &mut out);
        assert_eq!(out, [&[0xFF][..], &f("é"), &[0xC3, b'a', 0xE2, 0x84]].concat());
    }

    #[test]
    fn literals_of_patterns() {
        assert_eq!(literals(&hir("quota")), Some(vec![b"quota".to_vec()]));
        assert_eq!(literals(&hir("Mailbox (is )?full|over quota")),
                   Some(vec![b"mailbox ".to_vec(), b"over quo".to_vec()]));
        // a literal that starts with another of the same pattern is dropped
        assert_eq!(literals(&hir("spam|spammer|ham")), Some(vec![b"ham".to_vec(), b"spam".to_vec()]));
        // a prefix that may be anything, or too short
        assert_eq!(literals(&hir(r"[^;]{0,20}blocked")), None);
        assert_eq!(literals(&hir("a")), None);
        // letters outside ASCII fold too (cut at MAX_LEN bytes, maybe within a character)
        assert_eq!(literals(&hir("é")), Some(vec![f("é")]));
        assert_eq!(literals(&hir("ÉBLOUI")), Some(vec![f("ébloui")]));
        assert_eq!(literals(&hir("réessayez plus tard|spät")), Some(vec![f("réessay")[..MAX_LEN].to_vec(), f("spät")]));
        assert_eq!(literals(&hir("размер|サイズ")), Some(vec![f("разм"), "サイズ".as_bytes()[..MAX_LEN].to_vec()]));
        // a literal's longest run of whole characters stands for it (a byte of none: cut there)
        assert_eq!(folded_run(b"\xFFSpam\xC3", &mut Vec::new()), b"spam");
        assert_eq!(folded_run(b"ab\xE2\x84Spam", &mut Vec::new()), b"spam");
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
        assert_eq!(suffixes(&hir("refusé")), Some(vec![f("refusé")]));
        assert_eq!(suffixes(&hir("éé")), Some(vec![f("éé")]));
        assert_eq!(suffixes(&hir("éTRANGE")), Some(vec![f("étrange")]));
    }

    #[test]
    fn a_text_the_pattern_matches_is_never_screened_out() {
        let pats = [r"quota (usage |limit )?(is )?(exceed(ed)?|reached|full)", r"\bOXS(US|EU)?[0-9]*_514\b",
                    r"consid[eé]r[eé] comme (spam|ind[eé]sirable)|pourriel", r"(#|\b)(BL|ES)(~|0000\d*)($|[^a-z0-9])",
                    r"\bskip\b", r"kelvin|ſtop", r"^[45]\d\d ", r"user unknown", r"\(G30\)", r"x*",
                    r"(r[eé])?essayez plus tard|spät", r"[^;]{0,20}überfüllt",
                    r"переполнен|ящик полон|容量", r"\bΣΑΣ\b|été"];
        let res: Vec<_> = pats.iter().map(|p| RegexBuilder::new(&re2_to_rust(p).unwrap()).case_insensitive(true).build().unwrap()).collect();
        let lits: Vec<Option<Vec<Vec<u8>>>> = pats.iter().map(|p| literals(&hir(p))).collect();
        let ends: Vec<Option<Vec<Vec<u8>>>> = pats.iter().map(|p| suffixes(&hir(p))).collect();
        let prefixes = Screen::new(&lits.iter().map(|l| l.as_deref()).collect::<Vec<_>>());
        let screen = Screen::of_sets(&lits.iter().chain(&ends).map(|l| l.as_deref()).collect::<Vec<_>>(), pats.len());
        assert!(screen.screens(0) && screen.screens(6) && !screen.screens(9));
        let seeds = ["QUOTA limit is EXCEEDED", "OXSEU12_514 x", "considéré comme SPAM", "#BL~ here", "\u{212A}ELVIN",
                     "\u{017F}KIP", "STOP", "550 user unknown", "(g30)", "Quota reached", "es0000 ", "nothing at all",
                     "RÉESSAYEZ PLUS TARD", "SPÄT", "Postfach ÜBERFÜLLT",
                     "ПЕРЕПОЛНЕН", "Ящик ПОЛОН", "容量 full", "σας ÉTÉ", "ΣΑΣ"];
        let mut rng = XorShift(0x51_7cc1_b727_220a);
        let mut texts: Vec<String> = Vec::new();
        for s in seeds {
            let mut l = s.as_bytes().to_vec();
            texts.push(s.to_string());
            for _ in 0..60 {
                edit(&mut l, &mut rng, "kKsSéEЯяσςΣ ~0#_".as_bytes());
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
                // a pattern the screen does not screen: every text may
                assert!(screen.screens(p) || marks.may(t, p), "{:?} not screened yet {:?} kept out", pats[p], text);
                out += usize::from(!marks.may(t, p));
                fewer += usize::from(first.may(t, p) && !marks.may(t, p));
            }
        }
        assert!(out > texts.len() * 4, "the screen keeps out most pairs ({out})");
        assert!(fewer > 0, "the suffixes keep out pairs the prefixes let through");
    }
}


