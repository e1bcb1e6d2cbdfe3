//! The classification key of a folded row, computed where the row is folded (`fold.rs`): the
//! texts masked as `analyzer.classify.mask_texts` masks them, the detail only where classify
//! reads it, hashed (`hash.rs`). The Python side stays the specification: the patterns, the
//! replacements and the events whose detail is ignored are passed in from `analyzer/classify.py`
//! (`analyzer.native.masker`), the RE2 patterns rewritten by `translate.rs`, and
//! tests/test_class_cache_native.py holds the masks equal to pyarrow's over generated texts.
//!
//! The key leaves out the relay host: classify reads only the provider it names, whose
//! signatures are Python regexes of the knowledge base; the main process mixes the provider's
//! hash in (`analyzer.fast_summary`). The `regex` crate runs in time linear in the text.

use crate::hash::{hash_bytes, mix_step as mix, NULL};
use crate::maskhand;
use crate::rows::Row;
use crate::translate::re2_to_rust;
use regex::bytes::{NoExpand, Regex, RegexBuilder};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One masking pass after the first: run only over texts holding `literal` (None: all).
struct Pass {
    literal: Option<memchr::memmem::Finder<'static>>,
    regex: Regex,
    replacement: Vec<u8>,
}

/// `mask_texts` in Rust, and the events whose detail classify ignores.
pub struct Masker {
    mask: Regex,
    masked: Vec<u8>,
    passes: Vec<Pass>,
    detail_ignored: Vec<String>,
    /// `detail_ignored` as [`Field`]s (the row keys compare the events' fields with them)
    ignored: Vec<Field>,
    /// the mask and the first pass are `maskhand.rs`'s, verbatim: read by hand where it can
    by_hand: bool,
}

fn build(re2: &str) -> Result<Regex, String> {
    let rust = re2_to_rust(re2)?;
    RegexBuilder::new(&rust).size_limit(64 << 20).build().map_err(|e| format!("{re2:?}: {e}"))
}

/// An RE2 rewrite string (`\1` a group, `\\` a backslash) in the regex crate's syntax.
pub fn rewrite(re2: &str) -> Result<String, String> {
    let mut out = String::with_capacity(re2.len() + 8);
    let mut it = re2.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(d) if d.is_ascii_digit() => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('\\') => out.push('\\'),
                other => return Err(format!("unsupported rewrite \\{other:?} in {re2:?}")),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Masker {
    /// `mask` (replaced by the literal `masked`), then each (literal, pattern, rewrite) pass;
    /// `detail_ignored`: classify's DETAIL_IGNORED.
    pub fn new(mask: &str, masked: &str, passes: Vec<(Option<String>, String, String)>, detail_ignored: &[String]) -> Result<Masker, String> {
        let by_hand = mask == maskhand::MASK
            && masked == maskhand::MASKED
            && passes.first().is_some_and(|(lit, pat, rw)| lit.is_none() && pat == maskhand::OPAQUE_FIRST && rw == maskhand::OPAQUE_FIRST_REWRITE);
        let passes = passes
            .into_iter()
            .map(|(literal, pattern, rw)| Ok(Pass { literal: literal.map(|l| memchr::memmem::Finder::new(l.as_bytes()).into_owned()), regex: build(&pattern)?, replacement: rewrite(&rw)?.into_bytes() }))
            .collect::<Result<Vec<_>, String>>()?;
        let detail_ignored = detail_ignored.to_vec();
        let ignored = detail_ignored.iter().map(|e| Field::of(Some(e.as_bytes()))).collect();
        Ok(Masker { mask: build(mask)?, masked: masked.as_bytes().to_vec(), passes, detail_ignored, ignored, by_hand })
    }

    /// Whether the mask and the first pass are read by hand where they can be (`maskhand.rs`).
    pub fn by_hand(&self) -> bool {
        self.by_hand
    }

    /// A text as classify reads it.
    pub fn mask<'t>(&self, text: &'t [u8]) -> Cow<'t, [u8]> {
        let (mut out, done) = match self.by_hand.then(|| maskhand::mask(text)).flatten() {
            Some(out) => (out, 1), // the mask and the first pass
            None => (self.mask.replace_all(text, NoExpand(&self.masked)), 0),
        };
        for p in &self.passes[done..] {
            if p.literal.as_ref().is_some_and(|l| l.find(&out).is_none()) {
                continue;
            }
            if let Cow::Owned(v) = p.regex.replace_all(&out, p.replacement.as_slice()) {
                out = Cow::Owned(v);
            }
        }
        out
    }

    /// The row's key: its CLASS_KEY values (analyzer/class_cache.py), texts masked, the detail
    /// only where there is no reply text and the event's detail is a reason, hashed; without
    /// the relay host (see the module's doc).
    pub fn key(&self, r: &Row, buf: &mut Vec<u8>) -> u64 {
        self.key_of(&Fields::of(r), buf)
    }

    /// [`Masker::key`] of a row's values however its reader holds them (`fold_exim.rs`).
    pub fn key_of(&self, f: &Fields, buf: &mut Vec<u8>) -> u64 {
        let text = f.reply_text.map(|t| self.mask(t));
        let read = f.reply_text.is_none() && f.event.is_some_and(|e| !self.detail_ignored.iter().any(|d| d.as_bytes() == e));
        let detail = if read { f.detail.map(|t| self.mask(t)) } else { None };
        encode(f, None, text.as_deref(), detail.as_deref(), buf);
        match hash_bytes(buf) {
            NULL => NULL ^ 1,
            h => h,
        }
    }
}

/// The hashes of texts masked by [`Masker::key_cached`], by the hash of the raw text: a
/// batch's rows repeat their reply texts and details (one masking per distinct text, as
/// `class_key` masks a column's dictionary, not its rows). Keyed by 64-bit hashes, as the
/// classification cache itself is.
#[derive(Default)]
pub struct MaskCache {
    masked: HashMap<u64, u64, BuildHasherDefault<Identity>>,
}

/// The hasher of keys that are hashes already.
#[derive(Default)]
pub struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl MaskCache {
    /// The hash of `text` masked.
    fn masked(&mut self, m: &Masker, text: &[u8]) -> u64 {
        *self.masked.entry(hash_lanes(text)).or_insert_with(|| hash_lanes(&m.mask(text)))
    }
}

/// The four lanes' starting states of [`hash_lanes`] and of a row's key (any distinct odd words).
const LANES: [u64; 4] = [0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7345, 0xA409_3822_299F_31D1, 0x082E_FA98_EC4E_6C89];

#[inline]
fn rd64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[inline]
fn rd32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}

/// Up to 7 bytes (a text's last ones, past its whole words) as one word, one to one for a
/// given length: 4 to 7, the first four and the last four; 1 to 3, the first, middle and
/// last byte.
#[inline]
fn tail_word(b: &[u8]) -> u64 {
    let n = b.len();
    debug_assert!(n < 8);
    if n >= 4 {
        rd32(b, 0) | rd32(b, n - 4) << 32
    } else if n > 0 {
        u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16
    } else {
        0
    }
}

/// The four lanes folded into one hash with the count of what went in.
#[inline]
fn finish(l: [u64; 4], count: u64) -> u64 {
    let h = mix(l[0] ^ count);
    let h = mix(h ^ l[1]);
    let h = mix(h ^ l[2]);
    mix(h ^ l[3])
}

/// A 64-bit hash of `b` as [`hash_bytes`] makes one (each step a bijection of the state for a
/// given word, so two texts of one length collide only by chance), the words taken by four
/// lanes side by side: a long text's steps do not wait for each other (~3x faster on reply
/// texts of ~100 bytes). Another hash than `hash_bytes`'s.
pub fn hash_lanes(b: &[u8]) -> u64 {
    let mut l = LANES;
    let mut blocks = b.chunks_exact(32);
    for c in &mut blocks {
        for (j, lane) in l.iter_mut().enumerate() {
            *lane = mix(*lane ^ rd64(c, 8 * j));
        }
    }
    let rest = blocks.remainder();
    let mut words = rest.chunks_exact(8);
    let mut j = 0;
    for w in &mut words {
        l[j] = mix(l[j] ^ rd64(w, 0));
        j += 1;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        l[j] = mix(l[j] ^ tail_word(tail));
    }
    finish(l, b.len() as u64)
}

/// `(1 << 8k) - 1`: the low `k` bytes of a word (k ≤ 8)
const LOW_BYTES: [u64; 9] = [0, 0xFF, 0xFFFF, 0xFF_FFFF, 0xFFFF_FFFF, 0xFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF, 0xFF_FFFF_FFFF_FFFF, u64::MAX];

/// A field's tag in a row's key: null 0, a text of up to 16 bytes its length + 1 (its words
/// its bytes, zeros past its end), a longer one [`LONG`] (its first word its hash).
const LONG: u64 = 18;

/// A text field as a row's key holds it: its tag and two words, one to one with its value but
/// for a long text (hashed).
#[derive(Clone, Copy, Default)]
pub struct Field {
    tag: u64,
    w: [u64; 2],
}

impl Field {
    /// A value (None: null).
    pub fn of(v: Option<&[u8]>) -> Field {
        match v {
            None => Field::default(),
            Some(b) if b.len() <= 16 => {
                let mut w = [0u8; 16];
                w[..b.len()].copy_from_slice(b);
                Field { tag: b.len() as u64 + 1, w: [rd64(&w, 0), rd64(&w, 8)] }
            }
            Some(b) => Field { tag: LONG, w: [hash_lanes(b), 0] },
        }
    }

    /// The value `data[s..e]` (`s ≤ e ≤ data.len()`): a short one read in two loads where 16
    /// bytes of `data` follow its start, the bytes past its end masked off.
    #[inline]
    pub fn at(data: &[u8], s: usize, e: usize) -> Field {
        let n = e - s;
        match data.get(s..s + 16) {
            Some(w) if n <= 16 => Field { tag: n as u64 + 1, w: [rd64(w, 0) & LOW_BYTES[n.min(8)], rd64(w, 8) & LOW_BYTES[n.saturating_sub(8)]] },
            _ => Field::of(Some(&data[s..e])),
        }
    }

    /// Whether this is the value `word`'s (a long one: by its hash).
    fn is(&self, word: &Field) -> bool {
        self.tag == word.tag && self.w == word.w
    }
}

impl Masker {
    /// A key that parts rows as [`Masker::key`] does (equal keys, equal keys here), each
    /// distinct text masked once (`cache`) and put in by its masked text's hash: another hash
    /// than [`Masker::key`]'s.
    pub fn key_cached(&self, f: &Fields, cache: &mut MaskCache) -> u64 {
        let short = [f.event, f.status, f.smtp_stage, f.mta, f.dsn, f.enhanced_code, f.direction].map(Field::of);
        self.key_of_fields(&short, f.reply_code, f.quit, f.reply_text, f.detail, cache)
    }

    /// [`Masker::key_cached`] of a row whose event, status, stage, MTA, DSN, enhanced code and
    /// direction are `short` ([`Field`]s, in this order): the words of the key (two of tags,
    /// two a field, the masked texts' hashes) hashed four lanes side by side, without a row's
    /// bytes laid out first. Each step of a lane is a bijection of its state for a given word.
    #[inline]
    pub fn key_of_fields(&self, short: &[Field; 7], reply_code: Option<i16>, quit: Option<bool>, reply_text: Option<&[u8]>,
                         detail: Option<&[u8]>, cache: &mut MaskCache) -> u64 {
        let text = reply_text.map(|t| cache.masked(self, t));
        let detail = match (reply_text, detail) {
            (None, Some(d)) if short[0].tag != 0 && !self.ignored.iter().any(|x| x.is(&short[0])) => Some(cache.masked(self, d)),
            _ => None,
        };
        let mut tags = u64::from(text.is_some()) << 35 | u64::from(detail.is_some()) << 36;
        for (k, f) in short.iter().enumerate() {
            tags |= f.tag << (5 * k);
        }
        let code = reply_code.map_or(0, |c| u64::from(c as u16) | 1 << 16);
        let quit = quit.map_or(0, |q| 1 | u64::from(q) << 1);
        let w = [
            tags, code | quit << 17, text.unwrap_or(0), detail.unwrap_or(0),
            short[0].w[0], short[0].w[1], short[1].w[0], short[1].w[1],
            short[2].w[0], short[2].w[1], short[3].w[0], short[3].w[1],
            short[4].w[0], short[4].w[1], short[5].w[0], short[5].w[1],
            short[6].w[0], short[6].w[1], 0, 0,
        ];
        let mut l = LANES;
        for c in w.chunks_exact(4) {
            l[0] = mix(l[0] ^ c[0]);
            l[1] = mix(l[1] ^ c[1]);
            l[2] = mix(l[2] ^ c[2]);
            l[3] = mix(l[3] ^ c[3]);
        }
        match finish(l, w.len() as u64) {
            NULL => NULL ^ 1,
            h => h,
        }
    }
}

/// A row's CLASS_KEY values but the relay host, as the column writers write them (None: null).
#[derive(Default, Clone, Copy)]
pub struct Fields<'r> {
    pub event: Option<&'r [u8]>,
    pub status: Option<&'r [u8]>,
    pub smtp_stage: Option<&'r [u8]>,
    pub mta: Option<&'r [u8]>,
    pub dsn: Option<&'r [u8]>,
    pub enhanced_code: Option<&'r [u8]>,
    pub reply_code: Option<i16>,
    pub quit: Option<bool>,
    pub reply_text: Option<&'r [u8]>,
    pub detail: Option<&'r [u8]>,
    pub direction: Option<&'r [u8]>,
}

impl<'r> Fields<'r> {
    /// A Postfix reader's row (`rows.rs`).
    pub fn of(r: &'r Row) -> Fields<'r> {
        Fields {
            event: r.event.map(str::as_bytes),
            status: r.status.as_deref(),
            smtp_stage: r.smtp_stage.map(str::as_bytes),
            mta: r.mta.map(str::as_bytes),
            dsn: r.dsn.as_deref(),
            enhanced_code: r.enhanced_code.as_deref(),
            reply_code: r.reply_code,
            quit: r.quit,
            reply_text: r.reply_text.as_deref(),
            detail: r.detail.as_deref(),
            direction: r.direction.map(str::as_bytes),
        }
    }
}

/// A row's CLASS_KEY values as bytes (nulls told from empty texts), with `relay_host`,
/// `reply_text` and `detail` in place of the row's (`fold.rs` and `fold_exim.rs` group by the
/// raw ones, this module by the masked texts and no relay host).
pub fn encode(r: &Fields, relay_host: Option<&[u8]>, reply_text: Option<&[u8]>, detail: Option<&[u8]>, out: &mut Vec<u8>) {
    out.clear();
    let mut put = |v: Option<&[u8]>| match v {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        }
    };
    put(r.event);
    put(r.status);
    put(r.smtp_stage);
    put(r.mta);
    put(r.dsn);
    put(r.enhanced_code);
    put(r.reply_code.map(i16::to_le_bytes).as_ref().map(|b| &b[..]));
    put(r.quit.map(|q| [u8::from(q)]).as_ref().map(|b| &b[..]));
    put(relay_host);
    put(reply_text);
    put(detail);
    put(r.direction);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker() -> Masker {
        // analyzer/classify.py's MASK and OPAQUE at the time of writing (the Python test passes the live ones)
        let mask = r#"(?i)[^\s<>()\[\],;:"']+@[^\s<>()\[\],;:"']+|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b|\b[a-z0-9]*\d[a-z0-9]*[a-z][a-z0-9]*\d[a-z0-9._-]*|\d{6,}"#;
        let passes = vec![
            (None, r"(<~> )[A-Za-z0-9+/=~_-]+( Saved)\b|\b(queued as )[0-9A-Za-z]+".to_string(), r"\1\3~\2".to_string()),
            (Some(" KB/sec".to_string()), r"\b\d+ bytes in \d+(?:\.\d+)?, \d+(?:\.\d+)? KB/sec\b".to_string(), "~ bytes in ~, ~ KB/sec".to_string()),
        ];
        Masker::new(mask, "~", passes, &["connect".to_string()]).unwrap()
    }

    /// The same patterns as Python spells them: the mask and the first pass read by hand.
    fn hand_masker() -> Masker {
        let passes = vec![
            (None, maskhand::OPAQUE_FIRST.to_string(), maskhand::OPAQUE_FIRST_REWRITE.to_string()),
            (Some(" KB/sec".to_string()), r"\b\d+ bytes in \d+(?:\.\d+)?, \d+(?:\.\d+)? KB/sec\b".to_string(), "~ bytes in ~, ~ KB/sec".to_string()),
        ];
        Masker::new(maskhand::MASK, maskhand::MASKED, passes, &["connect".to_string()]).unwrap()
    }

    #[test]
    fn masks_addresses_ips_ids_and_opaque_tokens() {
        assert!(!masker().by_hand() && hand_masker().by_hand());
        for m in [masker(), hand_masker()] {
        assert_eq!(&*m.mask(b"550 5.1.1 <bob@example.com>: user unknown"), b"550 5.1.1 <~>: user unknown");
        assert_eq!(&*m.mask(b"connect to 10.1.2.3 refused"), b"connect to ~ refused");
        assert_eq!(&*m.mask(b"250 2.0.0 Ok: queued as F83037DEDEA"), b"250 2.0.0 Ok: queued as ~");
        assert_eq!(&*m.mask(b"250 2.0.0 <a@b> CwKQ92SG/jPb Saved"), b"250 2.0.0 <~> ~ Saved");
        assert_eq!(&*m.mask(b"2000 bytes in 0.074, 165.734 KB/sec x"), b"~ bytes in ~, ~ KB/sec x");
        assert!(matches!(m.mask(b"plain text"), Cow::Borrowed(_)));
        assert_eq!(&*m.mask(b"from 2001:db8::1 at 12:34:56"), b"from ~ at ~");
        }
    }

    #[test]
    fn cached_keys_part_rows_as_the_keys() {
        let m = masker();
        let (mut buf, mut cache) = (Vec::new(), MaskCache::default());
        let row = |ev: &'static str, text: Option<&'static [u8]>, detail: Option<&'static [u8]>, code: Option<i16>| Row {
            event: Some(ev),
            reply_text: text.map(Cow::Borrowed),
            detail: detail.map(Cow::Borrowed),
            reply_code: code,
            ..Row::default()
        };
        let rows = [
            row("reject", None, Some(b"from 1.2.3.4"), None),
            row("reject", None, Some(b"from 5.6.7.8"), None),
            row("reject", None, Some(b"from host"), None),
            row("connect", None, Some(b"x 9"), None),
            row("connect", None, Some(b"y"), None),
            row("deliver", Some(b"250 2.0.0 Ok: queued as F83037DEDEA"), None, None),
            row("deliver", Some(b"250 2.0.0 Ok: queued as AB12"), None, None),
            row("deliver", Some(b"250 2.0.0 Ok: queued as AB12"), None, Some(250)),
            row("deliver", Some(b""), None, None),
            row("deliver", None, None, None),
            row("deliver", Some(b"250 2.0.0 Ok: queued as F83037DEDEA"), Some(b"d"), None),
        ];
        let plain: Vec<u64> = rows.iter().map(|r| m.key(r, &mut buf)).collect();
        let cached: Vec<u64> = rows.iter().map(|r| m.key_cached(&Fields::of(r), &mut cache)).collect();
        for i in 0..rows.len() {
            for j in 0..rows.len() {
                assert_eq!(plain[i] == plain[j], cached[i] == cached[j], "rows {i} and {j}");
            }
        }
        assert_eq!(cache.masked.len(), 6); // the details of "connect" are not read
    }

    #[test]
    fn a_field_read_in_place_is_the_field_of_its_bytes() {
        let data: Vec<u8> = (0u8..48).map(|i| b'a' + i % 26).chain(*b"x\xffy").collect();
        for s in 0..data.len() {
            for e in s..=data.len().min(s + 24) {
                let (a, b) = (Field::at(&data, s, e), Field::of(Some(&data[s..e])));
                assert!(a.is(&b) && b.is(&a), "{s}..{e}");
            }
        }
        assert!(!Field::of(Some(b"")).is(&Field::of(None)));
        assert!(!Field::of(Some(b"ab")).is(&Field::of(Some(b"ab\0"))));
    }

    #[test]
    fn lanes_hash_every_byte_and_the_length() {
        let mut rng = crate::testutil::XorShift(0x9e37_79b9);
        let mut seen = std::collections::HashSet::new();
        for n in 0..100usize {
            let text: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            assert!(seen.insert(hash_lanes(&text)), "length {n}");
            for at in 0..n {
                let mut edited = text.clone();
                edited[at] ^= 1 << (at % 8);
                assert!(seen.insert(hash_lanes(&edited)), "length {n}, byte {at}");
            }
            let mut longer = text.clone();
            longer.push(0);
            assert_ne!(hash_lanes(&longer), hash_lanes(&text));
        }
    }

    #[test]
    fn keys_of_fields_tell_every_field_apart() {
        let m = masker();
        let mut cache = MaskCache::default();
        let base = Fields { event: Some(b"reject"), status: Some(b"deferred"), mta: Some(b"postfix"), reply_code: Some(450), quit: Some(false),
                            reply_text: Some(b"450 4.7.1 try later"), direction: Some(b"inbound"), ..Fields::default() };
        let key = |f: &Fields, c: &mut MaskCache| m.key_cached(f, c);
        let k0 = key(&base, &mut cache);
        let variants = [
            Fields { event: None, ..base }, Fields { event: Some(b"rejecT"), ..base }, Fields { status: Some(b""), ..base },
            Fields { status: None, ..base }, Fields { smtp_stage: Some(b"RCPT"), ..base }, Fields { mta: Some(b"postfix-a-long-mta-name"), ..base },
            Fields { dsn: Some(b"4.7.1"), ..base }, Fields { enhanced_code: Some(b"4.7.1"), ..base }, Fields { reply_code: None, ..base },
            Fields { reply_code: Some(451), ..base }, Fields { quit: None, ..base }, Fields { quit: Some(true), ..base },
            Fields { reply_text: None, ..base }, Fields { reply_text: Some(b"450 4.7.2 try later"), ..base },
            Fields { direction: Some(b"outbound"), ..base }, Fields { direction: None, ..base },
            // a field's bytes moved to the next field
            Fields { event: Some(b"rejectdeferred"), status: Some(b""), ..base },
        ];
        let mut seen = std::collections::HashSet::from([k0]);
        for (i, v) in variants.iter().enumerate() {
            assert!(seen.insert(key(v, &mut cache)), "variant {i}");
        }
        // masked alike, keyed alike; the same row again, the same key
        assert_eq!(key(&Fields { reply_text: Some(b"450 4.7.1 try later <a@b.c>"), ..base }, &mut cache),
                   key(&Fields { reply_text: Some(b"450 4.7.1 try later <x@y.z>"), ..base }, &mut cache));
        assert_eq!(key(&base, &mut MaskCache::default()), k0);
    }

    #[test]
    fn rewrites() {
        assert_eq!(rewrite(r"\1\3~\2").unwrap(), "${1}${3}~${2}");
        assert_eq!(rewrite("a$b").unwrap(), "a$$b");
        assert!(rewrite(r"\x").is_err());
    }

    #[test]
    fn detail_only_where_read() {
        let m = masker();
        let mut buf = Vec::new();
        let with = |d: &'static [u8], ev| Row { event: Some(ev), detail: Some(Cow::Borrowed(d)), ..Row::default() };
        // an ignored event's detail is not in the key; another's is, masked
        assert_eq!(m.key(&with(b"a", "connect"), &mut buf), m.key(&with(b"b", "connect"), &mut buf));
        assert_ne!(m.key(&with(b"a", "reject"), &mut buf), m.key(&with(b"b", "reject"), &mut buf));
        assert_eq!(m.key(&with(b"from 1.2.3.4", "reject"), &mut buf), m.key(&with(b"from 5.6.7.8", "reject"), &mut buf));
    }
}
