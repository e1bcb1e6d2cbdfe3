//! The knowledge base's text patterns run over the distinct reply texts: the twin of pyarrow's
//! `match_substring_regex(texts.take(candidates), pattern, ignore_case=True)`, which
//! `analyzer/classify.py`'s `_match` ran once per rule and call (compiling the pattern each time).
//! Here each pattern is compiled once per process, when first used, and the texts of a call are
//! held once (`Texts`) for all the rules that read them. A call asks only whether each text
//! holds a match, so a pattern is compiled to what that needs: a forward NFA without capture
//! states, run by a lazy DFA (`Engine`), a third of what a full `regex::bytes::Regex` costs to
//! build (reverse NFA, literal prefilters, one-pass DFA): 0.05 vs 0.16 CPU-s for the 507
//! shipped patterns, the warm-up thread of `parse` 0.18 -> 0.07 CPU-s.
//!
//! The patterns are the knowledge base's (`analyzer/rules`, passed in at start, rewritten from
//! RE2 by `translate`); this module holds none of its own. A pattern that cannot be rewritten or
//! compiled is reported (`usable` is false) and left to the caller's RE2 path. The `regex`
//! crate runs in time linear in the text whatever it holds.

use crate::engine::Strings;
use crate::rulematch_screen::{self as screen, Screen, Sides};
use crate::translate::re2_to_rust;
use regex::bytes::{Regex, RegexBuilder};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{self, pikevm::PikeVM, WhichCaptures, NFA};
use regex_automata::util::syntax;
use regex_syntax::hir::{Hir, HirKind};
use regex_automata::Input;
use std::sync::{Mutex, OnceLock};

/// The NFA size limit (as the `regex` crate's `size_limit` was before).
const SIZE_LIMIT: usize = 64 << 20;

/// A compiled pattern. A match/no-match question needs neither captures nor a reverse
/// automaton nor the literal prefilters that `regex::Regex` builds (those were ~2/3 of its
/// compile time here: 0.16 vs 0.05 CPU-s for the shipped 507 patterns), so a pattern is its
/// forward Thompson NFA (no capture states) searched by a lazy DFA, with caches kept per pattern.
enum Engine {
    Lazy(Box<Lazy>),
    /// where the lazy DFA cannot be built (its minimum cache too large for the NFA)
    Meta(Regex),
}

struct Lazy {
    dfa: DFA,
    nfa: NFA,
    caches: Mutex<Vec<Cache>>,
    slow: OnceLock<PikeVM>,
}

/// The screen's literals of a pattern (`rulematch_screen`), read without compiling it: the
/// screen folds case, so only a pattern that ignores it is screened, by the literals of its
/// case-sensitive twin (a few each; ignoring case multiplies them by the variants): its
/// prefixes' and its suffixes'. None: none, or the pattern cannot be rewritten or parsed (it is
/// never screened, as before).
///
/// Read per branch of the pattern's top alternation (a match of the pattern is one of a
/// branch, which starts with one of the branch's prefixes and ends with one of its suffixes):
/// the pattern's sets as a whole let a text through that holds one branch's prefix and another's
/// suffix, and each pattern let through is compiled (r30-ncomp: 174 of the 234 patterns the 1M
/// Postfix day's texts got through so never matched one).
fn screen_literals(source: &str, ignore_case: bool) -> Vec<Sides> {
    let hir = ignore_case
        .then(|| re2_to_rust(source).ok())
        .flatten()
        .and_then(|t| syntax::parse_with(&t, &syntax::Config::new().utf8(false)).ok());
    let Some(h) = hir else { return vec![[None, None]] };
    let branches: Vec<&Hir> = match h.kind() {
        HirKind::Alternation(v) => v.iter().collect(),
        _ => vec![&h],
    };
    branches.into_iter().map(|b| [screen::literals(b), screen::suffixes(b)]).collect()
}

impl Engine {
    /// The pattern compiled (its screen's literals apart: `screen_literals`).
    fn build(source: &str, ignore_case: bool) -> Option<Engine> {
        let t = re2_to_rust(source).ok()?;
        // the same syntax options as regex::bytes::RegexBuilder's (utf8 off in the bytes API)
        let hir = syntax::parse_with(&t, &syntax::Config::new().case_insensitive(ignore_case).utf8(false)).ok()?;
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().which_captures(WhichCaptures::None).nfa_size_limit(Some(SIZE_LIMIT)))
            .build_from_hir(&hir)
            .ok()?;
        let engine = match DFA::builder().build_from_nfa(nfa.clone()) {
            Ok(dfa) => Engine::Lazy(Box::new(Lazy { dfa, nfa, caches: Mutex::new(Vec::new()), slow: OnceLock::new() })),
            Err(_) => Engine::Meta(RegexBuilder::new(&t).case_insensitive(ignore_case).size_limit(SIZE_LIMIT).build().ok()?),
        };
        Some(engine)
    }

    /// Whether each text holds a match (in order).
    fn matches<'a>(&self, texts: impl Iterator<Item = &'a [u8]>) -> Vec<bool> {
        match self {
            Engine::Meta(re) => texts.map(|t| re.is_match(t)).collect(),
            Engine::Lazy(lazy) => {
                let Lazy { dfa, nfa, caches, slow } = &**lazy;
                let taken = caches.lock().map(|mut c| c.pop()).unwrap_or(None);
                let mut cache = taken.unwrap_or_else(|| dfa.create_cache());
                let out = texts
                    .map(|t| {
                        let input = Input::new(t).earliest(true);
                        match dfa.try_search_fwd(&mut cache, &input) {
                            Ok(m) => m.is_some(),
                            // the lazy DFA gave up (it quits on nothing here and never gives up
                            // by default): the PikeVM answers from the same NFA
                            Err(_) => {
                                let vm = slow.get_or_init(|| PikeVM::new_from_nfa(nfa.clone()).expect("a PikeVM of a built NFA"));
                                vm.is_match(&mut vm.create_cache(), input)
                            }
                        }
                    })
                    .collect();
                if let Ok(mut c) = caches.lock() {
                    c.push(cache);
                }
                out
            }
        }
    }
}

pub struct RuleSet {
    sources: Vec<String>,
    ignore_case: bool,
    /// each pattern compiled when first used (None: it cannot be)
    compiled: Vec<OnceLock<Option<Engine>>>,
    /// every pattern's literals in one automaton, built when the walk first asks
    screen: OnceLock<Screen>,
}

/// The screen of patterns whose literals are `own` (one per pattern).
fn screen_of(own: &[Vec<Sides>]) -> Screen {
    Screen::of_branches(own)
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
        RuleSet { sources: patterns, ignore_case, compiled, screen: OnceLock::new() }
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Pattern `i`, compiled on first use; None when it cannot be rewritten or compiled.
    fn engine(&self, i: usize) -> Option<&Engine> {
        self.compiled[i].get_or_init(|| Engine::build(&self.sources[i], self.ignore_case)).as_ref()
    }

    /// The screen of every pattern, built without compiling them: their literals are read from
    /// their case-sensitive syntax trees (a parse ignoring case, the costliest part of a
    /// compile, is not needed for them), and each pattern is compiled when the screen first
    /// lets a text through to it. Most never meet one: a 1M-line day's walks compile ~250 of
    /// the ~600 shipped text patterns (the warm-up compiled them all). A pattern the core
    /// cannot compile is reported when a text reaches it (`hits`: None), as before; one the
    /// screen keeps every text from could only have been found not to match.
    pub fn screen(&self) -> &Screen {
        self.screen.get_or_init(|| screen_of(&self.literal_sets()))
    }

    /// Every pattern's screen literals (`screen_literals`), as `screen` reads them.
    pub fn literal_sets(&self) -> Vec<Vec<Sides>> {
        self.sources.iter().map(|p| screen_literals(p, self.ignore_case)).collect()
    }

    /// Build the screen from `own`, each pattern's literals as `literal_sets` gives them (kept
    /// from an earlier run of the same patterns: reading them is ~80% of the build), unless it
    /// is built already. False when `own` is not one per pattern (nothing is built).
    pub fn screen_from(&self, own: &[Vec<Sides>]) -> bool {
        if own.len() != self.len() {
            return false;
        }
        self.screen.get_or_init(|| screen_of(own));
        true
    }

    /// Compile now every pattern the screen does not screen (its literals could not be read:
    /// mostly alternations in several scripts): the first walk that reaches its rule with any
    /// text compiles it, so a run with failures compiles most of them anyway (r24-pclass: 79 of
    /// the 646 shipped, ~0.025 CPU-s; the 1M Postfix day's first classification call compiles
    /// 63 of them, the Exim day's 78). How many of them are usable.
    pub fn compile_unscreened(&self) -> usize {
        let screen = self.screen();
        (0..self.len()).filter(|&i| !self.sources[i].is_empty() && !screen.screens(i) && self.usable(i)).count()
    }

    /// How many patterns are compiled so far (a pattern that could not be counts too).
    pub fn compiled_count(&self) -> usize {
        self.compiled.iter().filter(|c| c.get().is_some()).count()
    }

    /// Whether pattern `i` runs here (else the caller runs it).
    pub fn usable(&self, i: usize) -> bool {
        i < self.len() && self.engine(i).is_some()
    }

    /// One flag per candidate (indices into `texts`; out of range reads as an empty text):
    /// whether pattern `i` matches it. None when the pattern is not usable.
    pub fn hits(&self, i: usize, texts: Strings, cand: &[u32]) -> Option<Vec<bool>> {
        if i >= self.len() {
            return None;
        }
        let engine = self.engine(i)?;
        let n = texts.len();
        Some(engine.matches(cand.iter().map(|&t| if (t as usize) < n { texts.get(t as usize) } else { b"" })))
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

    #[test]
    fn the_screen_compiles_nothing_and_screens_as_the_compiled_patterns_would() {
        let pats = ["quota", r"mailbox (is )?full", r"\bOFR(_|\d)", "(unclosed", r"\pL+x", r"^\d+$", "",
                    r"(?:over|exceed)(ed|s)? .{0,20}limit", "ab|c"];
        let lazy = set(&pats, true);
        let eager = set(&pats, true);
        let usable: Vec<bool> = (0..pats.len()).map(|i| eager.usable(i)).collect();
        assert_eq!(eager.compiled_count(), pats.len());
        assert_eq!(usable, [true, true, true, false, false, true, true, true, true]);
        let (off, data) = strings(&["Mailbox is FULL", "quota", "ofr_1", "42", "exceeded the limit", "nothing", "C"]);
        let texts = Strings { offsets: &off, data: &data };
        let (a, b) = (lazy.screen().marks(texts), eager.screen().marks(texts));
        assert_eq!(lazy.compiled_count(), 0);
        for p in 0..pats.len() {
            assert_eq!(lazy.screen().screens(p), eager.screen().screens(p), "pattern {p}");
            for t in 0..7 {
                assert_eq!(a.may(t, p), b.may(t, p), "pattern {p}, text {t}");
            }
        }
        // compiled when first asked, then usable as ever
        assert_eq!(lazy.hits(0, texts, &[0, 1]), Some(vec![false, true]));
        assert_eq!(lazy.compiled_count(), 1);
        assert_eq!(lazy.hits(3, texts, &[0]), None);
    }

    #[test]
    fn a_screen_from_kept_literals_screens_as_one_read_off_the_patterns() {
        let pats = ["quota", r"[^;]{0,20}blocked", "réessayez|спам", r"a.*b", "", "(unclosed", r"mailbox (is )?full",
                    r"\bOFR(_|\d)", r"x|.*y", "ab|c"];
        let read = set(&pats, true);
        let kept = screen::encode_sets(&read.literal_sets());
        let back = screen::decode_sets(&kept, pats.len()).unwrap();
        assert_eq!(back, read.literal_sets());
        let from = set(&pats, true);
        assert!(from.screen_from(&back));
        assert_eq!(from.compiled_count(), 0);
        let (off, data) = strings(&["Mailbox is FULL", "QUOTA", "ofr_1", "was blocked", "СПАМ", "abc", "C", ""]);
        let texts = Strings { offsets: &off, data: &data };
        let (a, b) = (read.screen().marks(texts), from.screen().marks(texts));
        for p in 0..pats.len() {
            assert_eq!(read.screen().screens(p), from.screen().screens(p), "pattern {p}");
            for t in 0..8 {
                assert_eq!(a.may(t, p), b.may(t, p), "pattern {p}, text {t}");
            }
        }
        // literals of another number of patterns build nothing; a built screen stays
        let other = set(&pats[..3], true);
        assert!(!other.screen_from(&back) && other.screen.get().is_none());
        assert!(from.screen_from(&back[..].to_vec()));
    }

    #[test]
    fn kept_literals_are_read_only_whole_and_of_this_format() {
        let pats = ["quota", r"a.*b", "spam|ham", "réessayez"];
        let rs = set(&pats, true);
        let kept = screen::encode_sets(&rs.literal_sets());
        assert!(screen::decode_sets(&kept, 4).is_some());
        assert!(screen::decode_sets(&kept, 3).is_none() && screen::decode_sets(&kept, 5).is_none());
        for cut in 0..kept.len() {
            assert!(screen::decode_sets(&kept[..cut], 4).is_none(), "cut at {cut}");
        }
        let mut longer = kept.clone();
        longer.push(0);
        assert!(screen::decode_sets(&longer, 4).is_none());
        // another format tag; a literal shorter or longer than any pattern's could be
        let mut other = kept.clone();
        other[0] ^= 1;
        assert!(screen::decode_sets(&other, 4).is_none());
        let one = |len: u8| {
            let mut b = screen::encode_sets(&[vec![[None, None]]]);
            b.truncate(b.len() - 4); // (the branch's two sides)
            b.extend_from_slice(&[1, 0, len]);
            b.extend(std::iter::repeat_n(b'x', usize::from(len)));
            b.extend_from_slice(&u16::MAX.to_le_bytes());
            b
        };
        assert!(screen::decode_sets(&one(2), 1).is_some() && screen::decode_sets(&one(8), 1).is_some());
        assert!(screen::decode_sets(&one(1), 1).is_none() && screen::decode_sets(&one(9), 1).is_none());
        // a side of more literals than a count holds is kept as one that does not screen
        let many: Vec<Vec<u8>> = (0..70_000u32).map(|i| format!("x{i:06}").into_bytes()).collect();
        let back = screen::decode_sets(&screen::encode_sets(&[vec![[Some(many), Some(vec![b"ab".to_vec()])]]]), 1).unwrap();
        assert_eq!(back, vec![vec![[None, Some(vec![b"ab".to_vec()])]]]);
        // a count of patterns the bytes cannot hold is refused before anything is made for it
        let mut huge = screen::encode_sets(&[]);
        let at = huge.len() - 4;
        huge[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(screen::decode_sets(&huge, u32::MAX as usize).is_none());
    }

    #[test]
    fn a_text_is_let_through_by_one_branch_not_by_pieces_of_two() {
        let rs = set(&["spam detected|virus found", "spam", r"a.*b|over quota"], true);
        assert_eq!(rs.literal_sets().iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 2]);
        let (off, data) = strings(&["virus forwarded, detected", "VIRUS FOUND", "spam detected", "nothing", "ax"]);
        let texts = Strings { offsets: &off, data: &data };
        let m = rs.screen().marks(texts);
        assert!(rs.screen().screens(0) && rs.screen().screens(1) && !rs.screen().screens(2));
        assert_eq!((0..5).map(|t| m.may(t, 0)).collect::<Vec<_>>(), [false, true, true, false, false]);
        assert!((0..5).all(|t| m.may(t, 2))); // a branch that does not screen lets every text through
    }

    #[test]
    fn the_screen_by_branches_keeps_out_no_text_a_pattern_matches() {
        use crate::testutil::{edit, XorShift};
        let pats = ["spam detected|virus found", r"quota (usage |limit )?(is )?(exceed(ed)?|reached|full)|mailbox full",
                    r"consid[eé]r[eé] comme (spam|ind[eé]sirable)|pourriel|ПЕРЕПОЛНЕН", r"\bskip\b|kelvin|ſtop",
                    r"(user|recipient) (unknown|not found)|no such (user|mailbox)", r"[^;]{0,20}blocked|denied.*policy",
                    r"(?:over|exceed)(ed|s)? .{0,20}limit|too many", r"x*|quota"];
        let rs = set(&pats, true);
        let res: Vec<Regex> = pats.iter()
            .map(|p| RegexBuilder::new(&re2_to_rust(p).unwrap()).case_insensitive(true).build().unwrap()).collect();
        let seeds = ["Virus found", "spam was detected", "QUOTA limit is EXCEEDED", "Mailbox FULL", "considéré comme spam",
                     "переполнен", "\u{212A}ELVIN", "\u{017F}KIP", "STOP", "user not found", "no such mailbox",
                     "relay blocked", "denied by policy", "exceeded the limit", "too many", "nothing"];
        let mut rng = XorShift(0x7f4a_7c15_9e37_79b9);
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for s in seeds {
            let mut l = s.as_bytes().to_vec();
            lines.push(l.clone());
            for _ in 0..80 {
                edit(&mut l, &mut rng, "kKsSéEЯяσςΣ ~0#_|".as_bytes());
                lines.push(l.clone());
            }
        }
        let texts: Vec<&str> = lines.iter().map(|l| std::str::from_utf8(l).unwrap_or("")).collect();
        let (off, data) = strings(&texts);
        let marks = rs.screen().marks(Strings { offsets: &off, data: &data });
        let mut out = 0;
        for (t, text) in texts.iter().enumerate() {
            for (p, re) in res.iter().enumerate() {
                assert!(!re.is_match(text.as_bytes()) || marks.may(t, p), "{:?} matches {:?} but was screened out", pats[p], text);
                out += usize::from(!marks.may(t, p));
            }
        }
        assert!(out > texts.len() * 3, "the screen keeps out most pairs ({out})");
    }

    #[test]
    fn compiles_ahead_only_what_the_screen_cannot_screen() {
        // screened: by prefixes, by suffixes, by letters outside ASCII ("réessayez", "спам": r25);
        // not: no literal (".*", "x|.*y"), an empty source, a bad one
        let pats = ["quota", r"[^;]{0,20}blocked", "réessayez", r"a.*b", "спам|quota", "", "(unclosed", r"x|.*y"];
        let rs = set(&pats, true);
        let screened: Vec<bool> = (0..pats.len()).map(|p| rs.screen().screens(p)).collect();
        assert_eq!(screened, [true, true, true, false, true, false, false, false]);
        assert_eq!(rs.compile_unscreened(), 2); // the bad one is tried, and is not usable
        assert_eq!(rs.compiled_count(), 3);
        assert!(rs.compiled[3].get().is_some() && rs.compiled[7].get().is_some() && rs.compiled[4].get().is_none());
    }

    #[test]
    fn lazy_dfa_answers_as_the_regex_crate() {
        use crate::testutil::{edit, XorShift};
        // case folding beyond ASCII (Kelvin sign, long s), anchors, ASCII \b beside non-ASCII
        // letters, alternations, repetitions, a class with a range
        let pats = [r"quota", r"^4\d\d ", r"user (unknown|not found)$", r"\bspam\b", r"k+ilo",
                    r"s[a-f]{2,}t", r"(?:over|exceed)(ed|s)? .{0,20}limit", r"mailbox\s+full", r"\d{3}\.\d\.\d"];
        let rs = set(&pats, true);
        let want: Vec<Regex> = pats.iter()
            .map(|p| RegexBuilder::new(&re2_to_rust(p).unwrap()).case_insensitive(true).build().unwrap()).collect();
        let seeds = ["QUOTA exceeded", "452 4.2.2 Mailbox FULL", "550 5.1.1 User unknown", "\u{212A}ILO", "ſadt",
                     "ſpam é", "éspamé", "overs your limit", "exceeded the daily limit", "421 4.7.0 try later"];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for s in seeds {
            let mut l = s.as_bytes().to_vec();
            lines.push(l.clone());
            for _ in 0..40 {
                edit(&mut l, &mut rng, "aeksS K.4 5\u{212A}".as_bytes());
                lines.push(l.clone());
            }
        }
        let texts: Vec<&str> = lines.iter().map(|l| std::str::from_utf8(l).unwrap_or("")).collect();
        let (off, data) = strings(&texts);
        let strs = Strings { offsets: &off, data: &data };
        let cand: Vec<u32> = (0..texts.len() as u32).collect();
        for (i, re) in want.iter().enumerate() {
            let got = rs.hits(i, strs, &cand).unwrap();
            for (j, t) in texts.iter().enumerate() {
                assert_eq!(got[j], re.is_match(t.as_bytes()), "pattern {:?} on {:?}", pats[i], t);
            }
            // a second call reuses the pattern's cache
            assert_eq!(rs.hits(i, strs, &cand).unwrap(), got);
        }
    }
}

