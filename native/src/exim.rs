//! Whole-row readers for the most frequent lines of an Exim mainlog (Exim's own file format):
//! the line's stamp and pid, then the message read by hand for its kind, then the event-table
//! columns derived as `analyzer/parsers/__init__.py` (`_parse_mta`, `_exim_after`,
//! `_exim_reply_codes`) and `fields.py` derive them from `exim.py`'s pattern table.
//!
//! The Python tables stay the specification: the reply-text regexes, the stage rules and the
//! reply-code defaults are passed in (`Spec`); the hand-read kinds are the table's patterns
//! `exim.arrival`, `exim.delivery` (=> and ->), `exim.deferral`, `exim.failure`,
//! `exim.completed`, `exim.quit`, `exim.conn_lost`, `exim.conn_closed`, `exim.connect`,
//! `exim.no_mail`, `exim.unexpected` and `exim.reject` (RCPT, MAIL, after DATA ...), each only
//! in the plain shape whose reading is certain. A line the readers are not sure of gets `None`
//! and goes to the Python path; differential tests hold the two equal.

use crate::exim_cols::{BoolCol, NumCol, SparseStr};
use crate::fields::{is_word, CLOSE};
use crate::nparse_scan::{not_alnum_and, spaces_and, until, until_from, Stops, SPACES};
use crate::translate::re2_to_rust;
use regex::bytes::Regex;
use std::borrow::Cow;

/// What the Python side passes in: fields.py's reply-text patterns and stage rules, exim.py's
/// reply-code defaults.
pub struct Spec {
    code: Regex,
    /// the code pattern is `fields::CODE`: `fields::leading_codes` reads the common shape
    code_by_hand: bool,
    enh_any: Regex,
    stage_text: Regex,
    /// the stage pattern is `fields::STAGE_TEXT`: `fields::stage_capture` reads it
    stage_by_hand: bool,
    queued: Regex,
    /// the queued-as pattern is `fields::QUEUED`: `fields::queued_id` reads it
    queued_by_hand: bool,
    /// (upper-case key, canonical stage), in order: the first key inside the text wins
    stage_rules: Vec<(String, String)>,
    deny_codes: Vec<(String, i16)>,
    deny_default: i16,
    defer_code: i16,
    text_codes: Vec<(Vec<u8>, i16)>,
    dropped_code: i16,
    auth_code: i16,
    sync_code: i16,
}

pub struct SpecSource {
    pub code: String,
    pub enh_any: String,
    pub stage_text: String,
    pub queued: String,
    pub stage_rules: Vec<(String, String)>,
    pub deny_codes: Vec<(String, i16)>,
    pub deny_default: i16,
    pub defer_code: i16,
    pub text_codes: Vec<(String, i16)>,
    pub dropped_code: i16,
    pub auth_code: i16,
    pub sync_code: i16,
}

fn compile(re2: &str) -> Result<Regex, String> {
    Regex::new(&re2_to_rust(re2)?).map_err(|e| format!("{re2:?}: {e}"))
}

impl Spec {
    /// What `fields::STAGE_TEXT` captures in `text` (the first non-empty group), by hand where
    /// the pattern is that one and the hand-read decides, else by the regex.
    fn stage_capture<'t>(&self, text: &'t [u8]) -> Option<&'t [u8]> {
        if let Some(got) = self.stage_by_hand.then(|| crate::fields::stage_capture(text)).flatten() {
            return got;
        }
        // most texts name no stage: asked without captures first (no allocation)
        if !self.stage_text.is_match(text) {
            return None;
        }
        let c = self.stage_text.captures(text)?;
        ["a", "b", "c", "d", "e", "f"].iter().find_map(|g| c.name(g).map(|m| m.as_bytes()).filter(|b| !b.is_empty()))
    }

    pub fn new(s: SpecSource) -> Result<Spec, String> {
        Ok(Spec {
            code: compile(&s.code)?,
            code_by_hand: s.code == crate::fields::CODE,
            enh_any: compile(&s.enh_any)?,
            stage_text: compile(&s.stage_text)?,
            stage_by_hand: s.stage_text == crate::fields::STAGE_TEXT,
            queued: compile(&s.queued)?,
            queued_by_hand: s.queued == crate::fields::QUEUED,
            stage_rules: s.stage_rules,
            deny_codes: s.deny_codes,
            deny_default: s.deny_default,
            defer_code: s.defer_code,
            text_codes: s.text_codes.into_iter().map(|(k, v)| (k.into_bytes(), v)).collect(),
            dropped_code: s.dropped_code,
            auth_code: s.auth_code,
            sync_code: s.sync_code,
        })
    }

    /// fields.canonical_stage of a raw stage, after `_stage_column`'s trim (at ':' or '<', 60 chars).
    pub(crate) fn stage(&self, raw: &[u8]) -> &str {
        let cut = raw.iter().position(|&b| b == b':' || b == b'<').unwrap_or(raw.len());
        // ASCII (every generated stage): on the stack, no Strings (~1,500 instructions a reject)
        match crate::fields::ascii_stage(&raw[..cut], &self.stage_rules) {
            Some(s) => s,
            None => self.stage_of_text(&raw[..cut]),
        }
    }

    /// [`Spec::stage`] of any text (cut), through Strings: the first 60 characters upper-cased.
    pub(crate) fn stage_of_text(&self, cut: &[u8]) -> &str {
        let text = String::from_utf8_lossy(cut);
        let short: String = text.chars().take(60).collect();
        let up = short.to_uppercase().replace('_', " ");
        for (key, stage) in &self.stage_rules {
            if up.contains(key.as_str()) {
                return stage;
            }
        }
        "other"
    }
}

/// RE2's `\s` (one bit test, not a comparison with each of the five).
fn is_space(b: u8) -> bool {
    crate::fields::is_space(b)
}

fn is_mid_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `MID` of exim.py followed by a space: the id's length. The runs of id characters scanned
/// eight bytes a step (`nparse_scan::until`).
pub(crate) fn mid(m: &[u8]) -> Option<usize> {
    // the first run is six characters, then '-': six id characters and the '-' say the same
    let first: &[u8; 7] = m.get(..7)?.try_into().ok()?;
    if first[6] != b'-' || !first[..6].iter().all(|&b| is_mid_char(b)) {
        return None;
    }
    let b = until_from(m, 7, &NOT_MID) - 7;
    if !(6..=11).contains(&b) || m.get(7 + b) != Some(&b'-') {
        return None;
    }
    let c = until_from(m, 8 + b, &NOT_MID) - (8 + b);
    if !(2..=4).contains(&c) || m.get(8 + b + c) != Some(&b' ') {
        return None;
    }
    Some(8 + b + c)
}

/// The end of a run of [`is_mid_char`]s.
static NOT_MID: Stops = not_alnum_and(b"");

/// Positions of `needle` in `hay`, in order. Needles here are a few bytes long and hay is one
/// line, so a scan for one byte beats building a substring searcher per call: the first, or the
/// second where the first is a space (a line's most frequent byte: each one was a comparison).
pub(crate) fn find_iter<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let k = usize::from(needle.len() > 1 && needle[0] == b' ');
    // a needle at p has that byte at p + k: the scan of hay[k..] finds it at p
    memchr::memchr_iter(needle[k], hay.get(k..).unwrap_or_default()).filter(move |&p| hay[p..].starts_with(needle))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_iter(hay, needle).next()
}

/// `\S+` from `i`: its end.
fn token_end(s: &[u8], i: usize) -> usize {
    until_from(s, i, &SPACES)
}

fn digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |a, &b| a * 10 + i64::from(b - b'0')))
}

/// An Exim `H=` value: name (helo) [ip]:port, split as fields.py's `_split_exim_h` splits it.
#[derive(Clone, Copy, Default)]
pub struct Host<'a> {
    pub host: Option<&'a [u8]>,
    pub helo: Option<&'a [u8]>,
    pub ip: Option<&'a [u8]>,
    pub port: Option<i32>,
    /// a port too long for int32: the row is left to the Python path
    pub bad: bool,
}

/// Where the name before an `H=` value's `(helo)`/`[ip]` ends (`[^\s()\[\]]+`).
static NAME_ENDS: Stops = spaces_and(b"()[]");

fn nonempty(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty()).then_some(s)
}

/// exim.py's `H` at `i` (`(?:[^\s()\[\]]+ )?(?:\([^)]*\) )?\[[^\]]+\](?::\d+)?`), tried in the
/// regex's order of preference. Returns the end and the split value; None where it does not
/// match, or where the port would not fit the schema's int32.
fn host_at(s: &[u8], i: usize) -> Option<(usize, Host<'_>)> {
    let name_end = {
        let n = until(&s[i..], &NAME_ENDS);
        (n > 0 && s.get(i + n) == Some(&b' ')).then_some(i + n)
    };
    for name in [name_end, None] {
        let j0 = name.map_or(i, |e| e + 1);
        let helo_end = if s.get(j0) == Some(&b'(') {
            memchr::memchr(b')', &s[j0..]).map(|p| j0 + p).filter(|&e| s.get(e + 1) == Some(&b' '))
        } else {
            None
        };
        for helo in [helo_end, None] {
            let j = helo.map_or(j0, |e| e + 2);
            if s.get(j) != Some(&b'[') {
                if helo.is_none() {
                    break;
                }
                continue;
            }
            let close = until(&s[j + 1..], &CLOSE);
            let Some(close) = (j + 1 + close < s.len()).then_some(close) else {
                if helo.is_none() {
                    break;
                }
                continue;
            };
            if close == 0 {
                if helo.is_none() {
                    break;
                }
                continue;
            }
            let ip = &s[j + 1..j + 1 + close];
            let mut end = j + 2 + close;
            let mut port = None;
            let mut bad = false;
            if s.get(end) == Some(&b':') {
                let d = digits(&s[end + 1..]);
                if d > 0 {
                    port = parse_i64(&s[end + 1..end + 1 + d]).and_then(|v| i32::try_from(v).ok());
                    bad = port.is_none();
                    end += 1 + d;
                }
            }
            let host = name.map(|e| &s[i..e]);
            let helo_v = helo.and_then(|e| nonempty(&s[j0 + 1..e]));
            return Some((end, Host { host, helo: helo_v, ip: Some(ip), port, bad }));
        }
        if name.is_none() {
            break;
        }
    }
    None
}

/// The first `" H=" + H` of some items (fields.py's `_EXIM_FIELDS["H"]`); Err where the
/// reader is not sure of it.
/// Err also where a ` H=` is not a host: trying every later one could take time quadratic in the
/// line (the Python path reads such lines).
fn field_host(f: &[u8]) -> Result<Host<'_>, ()> {
    match key_starts(f, b"H=").next() {
        None => Ok(Host::default()),
        Some(v) => match host_at(f, v) {
            Some((_, h)) if !h.bad => Ok(h),
            _ => Err(()),
        },
    }
}

/// Positions just after `" " + key` in `" " + f` (the virtual leading space of fields.py's
/// `" " + fields`), in order.
fn key_starts<'a>(f: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    find_iter(f, key).filter(move |&p| p == 0 || f[p - 1] == b' ').map(move |p| p + key.len())
}

/// `" KEY=(?P<v>\S+)"`: the first such value.
fn field_token<'a>(f: &'a [u8], key: &'a [u8]) -> Option<&'a [u8]> {
    key_starts(f, key).find_map(|v| nonempty(&f[v..token_end(f, v)]))
}

/// `" T=(?P<v>\S*smtp\S*)"`: whether some T= value names an SMTP transport.
fn field_smtp_transport(f: &[u8]) -> bool {
    key_starts(f, b"T=").any(|v| find(&f[v..token_end(f, v)], b"smtp").is_some())
}

/// `" F=(?P<v><[^>]*>|\S+)"`.
fn field_f(f: &[u8]) -> Option<&[u8]> {
    let mut closes = true; // once no '>' follows, none follows a later item either
    key_starts(f, b"F=").find_map(|v| {
        if closes && f.get(v) == Some(&b'<') {
            match f[v..].iter().position(|&b| b == b'>') {
                Some(p) => return Some(&f[v..v + p + 1]),
                None => closes = false,
            }
        }
        nonempty(&f[v..token_end(f, v)])
    })
}

/// `" C=\"(?P<v>(?:[^\"\\]|\\.)*)\""`, with `\"` read as `"`; Err where the first such item
/// is not closed (trying every later one could take time quadratic in the line).
fn field_c(f: &[u8]) -> Result<Option<Cow<'_, [u8]>>, ()> {
    if let Some(v) = key_starts(f, b"C=\"").next() {
        let mut i = v;
        let mut escaped = false;
        let found = loop {
            match f.get(i) {
                None => break None,
                Some(b'"') => break Some(i),
                Some(b'\\') => match f.get(i + 1) {
                    None | Some(b'\n') => break None,
                    Some(_) => {
                        escaped = true;
                        // `\\.`: the dot takes one character, whatever its length
                        let step = utf8_len(f[i + 1]);
                        i += 1 + step;
                    }
                },
                Some(_) => i += 1,
            }
        };
        let Some(end) = found else { return Err(()) };
        {
            let raw = &f[v..end];
            if !escaped || find(raw, b"\\\"").is_none() {
                return Ok(Some(Cow::Borrowed(raw)));
            }
            let mut out = Vec::with_capacity(raw.len());
            let mut k = 0;
            while k < raw.len() {
                if raw[k] == b'\\' && raw.get(k + 1) == Some(&b'"') {
                    out.push(b'"');
                    k += 2;
                } else {
                    out.push(raw[k]);
                    k += 1;
                }
            }
            return Ok(Some(Cow::Owned(out)));
        }
    }
    Ok(None)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// fields.py's `_exim_duration` of a ` QT=` value; None where the reader is not sure (the
/// caller falls back).
fn duration(v: &[u8]) -> Option<f64> {
    let mut total: Option<f64> = None;
    let mut i = 0;
    let mut last = 0usize; // index into the unit order w d h m s reached so far
    let units = [(b'w', 604800.0), (b'd', 86400.0), (b'h', 3600.0), (b'm', 60.0), (b's', 1.0)];
    let mut parts = [0.0f64; 5];
    while i < v.len() {
        let d = v[i..].iter().take_while(|&&b| b.is_ascii_digit() || b == b'.').count();
        if d == 0 || i + d >= v.len() {
            return None;
        }
        let num = &v[i..i + d];
        let unit = v[i + d];
        let k = units.iter().position(|&(u, _)| u == unit)?;
        if k < last {
            return None;
        }
        let dots = num.iter().filter(|&&b| b == b'.').count();
        if (k < 4 && dots > 0) || dots > 1 || num[0] == b'.' || num[num.len() - 1] == b'.' {
            return None;
        }
        parts[k] = std::str::from_utf8(num).ok()?.parse::<f64>().ok()?;
        last = k + 1;
        i += d + 1;
    }
    if i == 0 {
        return None;
    }
    for (k, &(_, mult)) in units.iter().enumerate() {
        let v = parts[k] * mult;
        total = Some(total.map_or(v, |t| t + v));
    }
    total
}

/// The derived columns of one row (the message part; stamp and pid come from the header).
#[derive(Clone, Default)]
pub struct Row<'a> {
    pub queue_id: Option<&'a [u8]>,
    pub event: &'static str,
    pub direction: Option<&'static str>,
    pub client: Host<'a>,
    pub relay: Host<'a>,
    pub sender: Option<&'a [u8]>,
    pub recipient: Option<&'a [u8]>,
    pub orig_recipient: Option<&'a [u8]>,
    pub status: Option<&'static str>,
    /// a status in the line's own words (exim.frozen)
    pub status_text: Option<&'a str>,
    pub reply_code: Option<i16>,
    pub enhanced_code: Option<(usize, usize)>, // span in reply_text
    pub code_origin: Option<&'static str>,
    pub smtp_stage: Option<&'a str>,
    pub reply_text: Option<Cow<'a, [u8]>>,
    pub delay: Option<f64>,
    pub size: Option<i64>,
    pub quit: Option<bool>,
    pub message_id: Option<&'a [u8]>,
    pub related_id: Option<Cow<'a, [u8]>>,
    pub sasl_username: Option<&'a [u8]>,
    pub protocol: Option<&'a [u8]>,
    pub tls: Option<&'a [u8]>,
    pub detail: Option<&'a [u8]>,
}

/// `_strip_brackets`: empty is null; `<x>` is `x` (so `<>` is the empty string).
fn strip_brackets(s: &[u8]) -> Option<&[u8]> {
    if s.is_empty() {
        return None;
    }
    if s.len() >= 2 && s[0] == b'<' && s[s.len() - 1] == b'>' {
        return Some(&s[1..s.len() - 1]);
    }
    Some(s)
}

/// Reply code, enhanced code, stage and "queued as" id from a reply text (fields.py's
/// reply_codes, stage_from_text and finish).
fn from_text<'s, 'a>(spec: &'s Spec, row: &mut Row<'a>, stage_from_text: bool)
where
    's: 'a,
{
    let Some(text) = row.reply_text.as_ref() else { return };
    let text: &[u8] = text;
    let mut enh = None;
    if let Some((code, at)) = spec.code_by_hand.then(|| crate::fields::leading_codes(text)).flatten() {
        row.reply_code = Some(code);
        enh = Some(at);
    } else if let Some(c) = spec.code.is_match(text).then(|| spec.code.captures(text)).flatten() {
        if let Some(m) = c.name("code").filter(|m| !m.as_bytes().is_empty()) {
            row.reply_code = std::str::from_utf8(m.as_bytes()).ok().and_then(|s| s.parse().ok());
        }
        enh = c.name("enh").filter(|m| !m.as_bytes().is_empty()).map(|m| (m.start(), m.end()));
    }
    // asked without captures first: most texts that reach here hold no enhanced code
    if enh.is_none() && text.contains(&b'.') && spec.enh_any.is_match(text) {
        if let Some(c) = spec.enh_any.captures(text) {
            enh = c.name("enh").filter(|m| !m.as_bytes().is_empty()).map(|m| (m.start(), m.end()));
        }
    }
    row.enhanced_code = enh;
    if stage_from_text && row.smtp_stage.is_none() {
        if let Some(raw) = spec.stage_capture(text) {
            row.smtp_stage = Some(spec.stage(raw));
        }
    }
    if row.related_id.is_none() {
        if spec.queued_by_hand {
            // (queued_id searches for "queued as" itself)
            row.related_id = crate::fields::queued_id(text).map(|q| Cow::Owned(q.to_vec()));
        } else if find(text, b"queued as").is_some() {
            if let Some(c) = spec.queued.captures(text) {
                if let Some(m) = c.name("q").filter(|m| !m.as_bytes().is_empty()) {
                    row.related_id = Some(Cow::Owned(m.as_bytes().to_vec()));
                }
            }
        }
    }
}

/// `reply_text` without a trailing ` DT=<duration>` (fields.py strips it).
fn strip_dt(t: &[u8]) -> &[u8] {
    if let Some(p) = memchr::memmem::rfind(t, b" DT=") {
        let rest = &t[p + 4..];
        if !rest.is_empty() && rest.iter().all(|&b| b.is_ascii_digit() || b"smhdw.".contains(&b)) {
            return &t[..p];
        }
    }
    t
}

/// direction as `_exim_after` sets it for deliveries (and lost connections).
fn delivery_direction(row: &Row) -> &'static str {
    if row.relay.ip.is_some() {
        "outbound"
    } else if row.client.ip.is_some() {
        "inbound"
    } else {
        "local"
    }
}

/// Fields that make a line's reading uncertain for every kind here: H= inside the items of a
/// kind whose host is already read, a syslog tag (`_unwrap_syslog_in_exim`).
fn refuse(f: &[u8]) -> bool {
    key_starts(f, b"H=").next().is_some()
}

/// `MID <= sender fields` (exim.arrival).
pub(crate) fn arrival<'a>(qid: &'a [u8], m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    let s_end = token_end(m, 0);
    if s_end == 0 {
        return None;
    }
    let f = &m[s_end..];
    row.queue_id = Some(qid);
    row.event = "received";
    row.sender = strip_brackets(&m[..s_end]);
    // the items' values found in one pass over the `=` signs (seven scans of the items before)
    let [h, p, s, id, x, a, r] = crate::nparse_items::arrival_items(f);
    row.client = match h {
        None => Host::default(),
        Some(v) => match host_at(f, v) {
            Some((_, h)) if !h.bad => h,
            _ => return None,
        },
    };
    let token = |v: Option<usize>| v.map(|v| &f[v..token_end(f, v)]);
    row.protocol = token(p);
    if let Some(v) = s {
        row.size = Some(parse_i64(&f[v..v + digits(&f[v..])])?);
    }
    row.message_id = token(id).and_then(strip_brackets);
    row.tls = token(x);
    if let Some(a) = token(a) {
        row.sasl_username = a.iter().position(|&b| b == b':').map(|p| &a[p + 1..]);
    }
    if let Some(r) = token(r) {
        let six = r.len() > 6 && r[..6].iter().all(|&b| is_mid_char(b)) && r[6] == b'-';
        if six {
            row.related_id = Some(Cow::Borrowed(r));
        }
    }
    row.direction = Some(if row.client.ip.is_some() { "inbound" } else { "local" });
    Some(())
}

/// [`arrival`] as it read the items before (one scan per item): the reference the one pass is
/// tested against.
#[cfg(test)]
pub(crate) fn arrival_by_scans<'a>(qid: &'a [u8], m: &'a [u8]) -> Option<Row<'a>> {
    let s_end = token_end(m, 0);
    if s_end == 0 {
        return None;
    }
    let f = &m[s_end..];
    let mut row = Row { queue_id: Some(qid), event: "received", sender: strip_brackets(&m[..s_end]), ..Row::default() };
    row.client = field_host(f).ok()?;
    row.protocol = field_token(f, b"P=");
    if let Some(v) = key_starts(f, b"S=").find_map(|v| nonempty(&f[v..v + digits(&f[v..])])) {
        row.size = Some(parse_i64(v)?);
    }
    row.message_id = field_token(f, b"id=").and_then(strip_brackets);
    row.tls = field_token(f, b"X=");
    if let Some(a) = field_token(f, b"A=") {
        row.sasl_username = a.iter().position(|&b| b == b':').map(|p| &a[p + 1..]);
    }
    if let Some(r) = field_token(f, b"R=") {
        let six = r.len() > 6 && r[..6].iter().all(|&b| is_mid_char(b)) && r[6] == b'-';
        if six {
            row.related_id = Some(Cow::Borrowed(r));
        }
    }
    row.direction = Some(if row.client.ip.is_some() { "inbound" } else { "local" });
    Some(row)
}

/// `MID => rcpt <orig> fields` and `->` (exim.delivery).
fn delivery<'a>(spec: &'a Spec, qid: &'a [u8], flag: &[u8], m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    let r_end = token_end(m, 0);
    if r_end == 0 {
        return None;
    }
    let rcpt = &m[..r_end];
    if flag == b"=>" && rcpt == b"blackhole" && m[r_end..].starts_with(b" (") {
        return None; // exim.blackhole comes first
    }
    let mut f = &m[r_end..];
    row.queue_id = Some(qid);
    row.event = "delivery";
    row.status = Some("sent");
    row.recipient = strip_brackets(rcpt);
    if f.starts_with(b" <") {
        if let Some(p) = f.iter().position(|&b| b == b'>') {
            row.orig_recipient = strip_brackets(&f[1..p + 1]);
            f = &f[p + 1..];
        }
    }
    if find(f, b"defer (").is_some() {
        return None; // errno is read only when the batch has reply texts
    }
    let outbound_t = field_smtp_transport(f);
    row.relay = field_host(f).ok()?;
    row.sender = field_f(f).and_then(strip_brackets);
    row.tls = field_token(f, b"X=");
    row.reply_text = field_c(f).ok()?.filter(|c| !c.is_empty()).map(strip_dt_cow);
    if let Some(v) = key_starts(f, b"QT=").find_map(|v| {
        let n = f[v..].iter().take_while(|&&b| b.is_ascii_digit() || b"smhdw.".contains(&b)).count();
        nonempty(&f[v..v + n])
    }) {
        row.delay = Some(duration(v)?);
    }
    if flag == b"->" {
        row.detail = Some(b"->");
    }
    from_text(spec, row, true);
    row.direction = Some(if outbound_t { "outbound" } else { delivery_direction(row) });
    row.code_origin = row.reply_code.map(|_| "logged");
    Some(())
}

fn strip_dt_cow(c: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    match c {
        Cow::Borrowed(b) => Cow::Borrowed(strip_dt(b)),
        Cow::Owned(v) => Cow::Owned(strip_dt(&v).to_vec()),
    }
}

/// `MID == rcpt <orig> fields: reason` (exim.deferral) and `**` (exim.failure).
fn failed<'a>(spec: &'a Spec, qid: &'a [u8], status: &'static str, m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    let r_end = token_end(m, 0);
    if r_end == 0 {
        return None;
    }
    row.queue_id = Some(qid);
    row.event = "delivery";
    row.status = Some(status);
    if m[r_end - 1] == b':' {
        // "addr: reason": the shortest recipient ends before the colon, and there are no items
        if r_end < 2 || m.get(r_end) != Some(&b' ') {
            return None;
        }
        row.recipient = strip_brackets(&m[..r_end - 1]);
        row.reply_text = nonempty(&m[r_end + 1..]).map(|t| Cow::Borrowed(strip_dt(t)));
        from_text(spec, row, true);
        row.direction = Some("local");
        row.code_origin = row.reply_code.map(|_| "logged");
        return Some(());
    }
    row.recipient = strip_brackets(&m[..r_end]);
    let mut rest = &m[r_end..];
    if rest.starts_with(b" <") {
        let p = rest.iter().position(|&b| b == b'>')?;
        row.orig_recipient = strip_brackets(&rest[1..p + 1]);
        rest = &rest[p + 1..];
    }
    // fields: " " then the shortest text before " : " or ": "
    if !rest.starts_with(b" ") {
        return None;
    }
    let p = find(&rest[1..], b": ")? + 1;
    let (f, text) = if rest[p - 1] == b' ' && p >= 2 { (&rest[..p - 1], &rest[p + 2..]) } else { (&rest[..p], &rest[p + 2..]) };
    let outbound_t = field_smtp_transport(f);
    row.relay = field_host(f).ok()?;
    row.sender = field_f(f).and_then(strip_brackets);
    row.tls = field_token(f, b"X=");
    if let Some(v) = key_starts(f, b"QT=").find_map(|v| {
        let n = f[v..].iter().take_while(|&&b| b.is_ascii_digit() || b"smhdw.".contains(&b)).count();
        nonempty(&f[v..v + n])
    }) {
        row.delay = Some(duration(v)?);
    }
    // errno: "defer (-44)" anywhere in the items
    if let Some(p) = find(f, b"defer (") {
        let s = &f[p + 7..];
        let neg = usize::from(s.first() == Some(&b'-'));
        let d = digits(&s[neg..]);
        if d > 0 && s.get(neg + d) == Some(&b')') {
            row.detail = Some(&f[p..p + 7 + neg + d + 1]);
        } else if find_iter(f, b"defer (").nth(1).is_some() {
            return None;
        }
    }
    row.reply_text = match nonempty(text) {
        Some(t) => Some(Cow::Borrowed(strip_dt(t))),
        None => field_c(f).ok()?.filter(|c| !c.is_empty()).map(strip_dt_cow),
    };
    from_text(spec, row, true);
    row.direction = Some(if outbound_t { "outbound" } else { delivery_direction(row) });
    row.code_origin = row.reply_code.map(|_| "logged");
    Some(())
}

/// `SMTP connection from HOST ...` (exim.quit, conn_lost, conn_closed, connect) and the lines
/// with a HOST after a fixed lead (exim.no_mail, exim.unexpected).
fn session<'a>(m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    if let Some(rest) = m.strip_prefix(b"SMTP connection ") {
        let mut i = 0;
        if rest.starts_with(b"Ci=") {
            i = token_end(rest, 0) + 1;
            if i > rest.len() {
                return None;
            }
        }
        let at = rest[i..].strip_prefix(b"from ")?;
        let (end, host) = host_at(at, 0).filter(|(_, h)| !h.bad)?;
        let tail = &at[end..];
        row.client = host;
        if tail.ends_with(b" closed by QUIT") {
            let f = &tail[..tail.len() - 15];
            if refuse(f) {
                return None;
            }
            row.event = "disconnect";
            row.quit = Some(true);
            row.smtp_stage = Some("QUIT");
            row.reply_code = Some(221);
            row.code_origin = Some("inferred");
            row.direction = row.client.ip.map(|_| "inbound");
        } else if let Some(p) = find(tail, b" lost") {
            if refuse(&tail[..p]) {
                return None;
            }
            row.event = "lost_connection";
            row.quit = Some(false);
            row.detail = nonempty(&tail[p + 5..]);
            row.direction = Some(delivery_direction(row));
        } else if let Some(p) = find(tail, b" closed ") {
            if refuse(&tail[..p]) {
                return None;
            }
            row.event = "disconnect";
            row.quit = Some(false);
            row.detail = Some(&tail[p + 1..]);
            row.direction = row.client.ip.map(|_| "inbound");
        } else {
            if refuse(tail) {
                return None;
            }
            row.event = "connect";
            row.direction = row.client.ip.map(|_| "inbound");
        }
        return Some(());
    }
    if let Some(at) = m.strip_prefix(b"no MAIL in SMTP connection from ") {
        let (end, host) = host_at(at, 0).filter(|(_, h)| !h.bad)?;
        let f = &at[end..];
        if refuse(f) {
            return None;
        }
        let quit = key_starts(f, b"C=").any(|v| find(&f[v..token_end(f, v)], b"QUIT").is_some());
        row.client = host;
        row.event = "disconnect";
        row.quit = Some(quit);
        if quit {
            row.smtp_stage = Some("QUIT");
            row.reply_code = Some(221);
            row.code_origin = Some("inferred");
        }
        row.direction = row.client.ip.map(|_| "inbound");
        return Some(());
    }
    if let Some(at) = m.strip_prefix(b"unexpected disconnection while reading SMTP command from ") {
        let (end, host) = host_at(at, 0).filter(|(_, h)| !h.bad)?;
        if refuse(&at[end..]) {
            return None;
        }
        row.client = host;
        row.event = "lost_connection";
        row.quit = Some(false);
        row.direction = Some(delivery_direction(row));
        return Some(());
    }
    None
}

/// `MID Frozen ...`, `Message is frozen`, `unfrozen by root` ... (exim.frozen): the words are
/// the status, the rest the detail.
fn frozen<'a>(qid: &'a [u8], m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    const WORDS: [(&[u8], bool); 7] = [
        (b"Frozen", false), (b"Unfrozen", false), (b"Message is frozen", false), (b"frozen by ", true),
        (b"Message frozen", false), (b"unfrozen by ", true), (b"cancelled by ", true),
    ];
    let &(word, to_end) = WORDS.iter().find(|(w, _)| m.starts_with(w))?;
    let cut = if to_end { m.len() } else { word.len() };
    let status = std::str::from_utf8(&m[..cut]).ok()?;
    row.queue_id = Some(qid);
    row.event = "frozen";
    row.detail = nonempty(&m[cut..]);
    row.status_text = Some(status);
    Some(())
}

/// `SMTP command timeout on [TLS ]connection from HOST items` (exim.cmd_timeout) and `SMTP call
/// from HOST[ I=...] dropped: why` (exim.dropped).
fn session_end<'a>(spec: &Spec, m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    if let Some(rest) = m.strip_prefix(b"SMTP command timeout on ") {
        let at = rest.strip_prefix(b"TLS ").unwrap_or(rest).strip_prefix(b"connection from ")?;
        let (end, host) = host_at(at, 0).filter(|(_, h)| !h.bad)?;
        if refuse(&at[end..]) {
            return None;
        }
        row.client = host;
        row.event = "timeout";
        row.quit = Some(false);
        row.direction = Some(delivery_direction(row));
        return Some(());
    }
    let at = m.strip_prefix(b"SMTP call from ")?;
    let (mut end, host) = host_at(at, 0).filter(|(_, h)| !h.bad)?;
    if at[end..].starts_with(b" I=") {
        end = token_end(at, end + 1);
    }
    let detail = at[end..].strip_prefix(b" dropped: ")?;
    row.client = host;
    row.event = "too_many_errors";
    row.quit = Some(false);
    row.detail = nonempty(detail);
    row.reply_code = Some(spec.dropped_code);
    row.code_origin = Some("inferred");
    row.direction = row.client.ip.map(|_| "inbound");
    Some(())
}

/// `driver[ (tag)] authenticator failed for HOST[ ITEMS]: text[ (set_id=name)]` (exim.auth_failed).
fn auth_failed<'a>(spec: &'a Spec, m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    if mid(m).is_some() {
        return None;
    }
    let w = m.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-').count();
    if w > 0 && m[w..].starts_with(b": ") {
        return None; // a "name: " lead the pattern skips
    }
    let d_end = token_end(m, 0);
    if d_end == 0 || m[..d_end].contains(&b'=') {
        return None; // "NAME=..." leads are the reject patterns' (earlier in the table)
    }
    let mut rest = &m[d_end..];
    if rest.starts_with(b" [") || rest.starts_with(b" (") {
        let close = rest.iter().position(|&b| b == b']' || b == b')')?;
        rest = &rest[close + 1..];
    }
    rest = rest.strip_prefix(b" authenticator failed ")?;
    rest = rest.strip_prefix(b"for ").unwrap_or(rest);
    rest = rest.strip_prefix(b"H=").unwrap_or(rest);
    let (end, host) = host_at(rest, 0).filter(|(_, h)| !h.bad)?;
    // items " NAME=value" (greedy), an optional colon, a space
    let mut i = end;
    loop {
        let k = rest[i..].iter().skip(1).take_while(|b| b.is_ascii_alphabetic()).count();
        let item = rest.get(i) == Some(&b' ') && rest.get(i + 1).is_some_and(u8::is_ascii_uppercase) && rest.get(i + 1 + k) == Some(&b'=');
        if !item || token_end(rest, i + 2 + k) == i + 2 + k {
            break;
        }
        i = token_end(rest, i + 2 + k);
    }
    let items = &rest[end..i];
    if refuse(items) {
        return None;
    }
    if rest.get(i) == Some(&b':') {
        i += 1;
    }
    if rest.get(i) != Some(&b' ') {
        return None;
    }
    let tail = &rest[i + 1..];
    // the text, then " (set_id=name)" at the very end (the earliest such start)
    let mut text = tail;
    let mut user = None;
    if tail.ends_with(b")") {
        // the name holds no ')': only a start after the last ')' but the closing one will do
        let after = tail[..tail.len() - 1].iter().rposition(|&b| b == b')').map_or(0, |p| p + 1);
        let from = after.saturating_sub(8);
        if let Some(q) = find(&tail[from..], b" (set_id=").map(|q| q + from) {
            if q + 9 < tail.len() {
                text = &tail[..q];
                user = nonempty(&tail[q + 9..tail.len() - 1]);
            }
        }
    }
    row.client = host;
    row.event = "auth_failure";
    row.status = Some("failed");
    row.smtp_stage = Some("AUTH");
    row.detail = Some(&m[..d_end]);
    row.sasl_username = user;
    row.reply_text = nonempty(text).map(|t| Cow::Borrowed(strip_dt(t)));
    from_text(spec, row, false);
    row.code_origin = Some(if row.reply_code.is_some() { "logged" } else { "inferred" });
    row.reply_code = row.reply_code.or(Some(spec.auth_code));
    row.direction = row.client.ip.map(|_| "inbound");
    Some(())
}

/// `TLS error on connection from HOST detail` (exim.tls_error).
fn tls_error<'a>(m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    let mut rest = m.strip_prefix(b"TLS error on ")?;
    rest = rest.strip_prefix(b"connection ").unwrap_or(rest);
    rest = rest.strip_prefix(b"from ").or_else(|| rest.strip_prefix(b"to ")).unwrap_or(rest);
    let (end, host) = host_at(rest, 0).filter(|(_, h)| !h.bad)?;
    let d = rest[end..].iter().take_while(|&&b| is_space(b)).count();
    row.client = host;
    row.event = "tls";
    row.status = Some("failed");
    row.smtp_stage = Some("STARTTLS");
    row.detail = nonempty(&rest[end + d..]);
    row.direction = row.client.ip.map(|_| "inbound");
    Some(())
}

/// `Start queue run: pid=N` / `End queue run: pid=N` (exim.queue_run:
/// `^(?P<status>Start|End) (?:\w+ )?queue run:?(?P<detail>.*)$`). No earlier pattern of the table
/// takes a line that starts so: theirs start with a message id, a fixed word, `[A-Z]=`/`Name=`
/// items or (auth_failed) one word and then ` authenticator failed`.
fn queue_run<'a>(m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    let (status, rest) = match m.strip_prefix(b"Start ") {
        Some(r) => ("Start", r),
        None => ("End", m.strip_prefix(b"End ")?),
    };
    // the optional word, then "queue run" (at most one of the two ways fits: a word before
    // "queue run" that is itself "queue" would need "queue queue run" to start "queue run")
    let rest = match rest.strip_prefix(b"queue run") {
        Some(r) => r,
        None => {
            let w = rest.iter().take_while(|&&b| is_word(b)).count();
            if w == 0 || rest.get(w) != Some(&b' ') {
                return None;
            }
            rest[w + 1..].strip_prefix(b"queue run")?
        }
    };
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    row.event = "queue_run";
    row.status = Some(status);
    row.detail = nonempty(rest);
    Some(())
}

/// `SMTP protocol synchronization error (why): rejected connection from H=HOST items`
/// (exim.sync_error).
fn sync_error<'a>(spec: &'a Spec, m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    let rest = m.strip_prefix(b"SMTP protocol synchronization error (")?;
    let close = rest.iter().position(|&b| b == b')')?;
    let detail = &rest[..close];
    let mut rest = rest[close..].strip_prefix(b"): rejected ")?;
    let stage = if rest.starts_with(b"connection") {
        &rest[..10]
    } else if rest.starts_with(b"\"") {
        let q = rest[1..].iter().position(|&b| b == b'"')?;
        &rest[..q + 2]
    } else {
        return None;
    };
    rest = &rest[stage.len()..];
    rest = rest.strip_prefix(b" from").unwrap_or(rest);
    rest = rest.strip_prefix(b" H=")?;
    let (end, host) = host_at(rest, 0).filter(|(_, h)| !h.bad)?;
    if refuse(&rest[end..]) {
        return None;
    }
    row.client = host;
    row.event = "protocol_error";
    row.status = Some("synchronization");
    row.detail = nonempty(detail);
    row.smtp_stage = Some(spec.stage(stage));
    row.reply_code = Some(spec.sync_code);
    row.code_origin = Some("inferred");
    row.direction = row.client.ip.map(|_| "inbound");
    Some(())
}

/// `[MID ]H=... F=<...> [temporarily ]rejected STAGE [<addr>][: text]` (exim.reject).
fn reject<'a>(spec: &'a Spec, qid: Option<&'a [u8]>, m: &'a [u8], row: &mut Row<'a>) -> Option<()> {
    // the items must start with a NAME=
    let k = m.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if k == 0 || !m[0].is_ascii_uppercase() || m.get(k) != Some(&b'=') {
        return None;
    }
    let p = find(m, b" rejected ")?;
    let (f_end, temp) = if m[..p].ends_with(b" temporarily") { (p - 12, true) } else { (p, false) };
    let f = &m[..f_end];
    if f.is_empty() || f.ends_with(b":") || find(f, b": ").is_some() {
        return None;
    }
    let s = &m[p + 10..];
    let (stage, mut i) = if s.starts_with(b"after DATA") {
        (&s[..10], 10)
    } else {
        let n = s.iter().take_while(|b| b.is_ascii_uppercase()).count();
        if n == 0 {
            return None;
        }
        (&s[..n], n)
    };
    if s[i..].starts_with(b" from ") || s[i..].starts_with(b" in \"") {
        return None;
    }
    let mut addr: Option<&[u8]> = None;
    if s.get(i) == Some(&b' ') {
        if s.get(i + 1) == Some(&b'<') {
            if let Some(q) = s[i + 1..].iter().position(|&b| b == b'>') {
                addr = Some(&s[i + 1..i + 2 + q]);
                i += 2 + q;
            }
        }
        if addr.is_none() {
            let n = s[i + 1..].iter().take_while(|&&b| !is_space(b) && b != b':').count();
            if n > 0 {
                addr = Some(&s[i + 1..i + 1 + n]);
                i += 1 + n;
            }
        }
    }
    if s[i..].starts_with(b" in \"") {
        return None;
    }
    let mut t = &s[i..];
    if t.starts_with(b":") {
        t = &t[1..];
    }
    if t.starts_with(b" ") {
        t = &t[1..];
    }
    row.queue_id = qid;
    row.event = "reject";
    row.client = field_host(f).ok()?;
    row.sender = field_f(f).and_then(strip_brackets);
    if let Some(a) = addr.and_then(strip_brackets) {
        match stage {
            b"RCPT" | b"VRFY" | b"EXPN" => row.recipient = Some(a),
            b"MAIL" if row.sender.is_none() => row.sender = Some(a),
            _ => {}
        }
    }
    row.status = Some(if temp { "tempfailed" } else { "rejected" });
    row.smtp_stage = Some(spec.stage(stage));
    row.reply_text = nonempty(t).map(|t| Cow::Borrowed(strip_dt(t)));
    from_text(spec, row, true);
    row.direction = row.client.ip.map(|_| "inbound");
    if row.reply_code.is_some() {
        row.code_origin = Some("logged");
    } else {
        let stage = row.smtp_stage.unwrap_or("");
        let mut deny = spec.deny_codes.iter().find(|(k, _)| k == stage).map_or(spec.deny_default, |&(_, v)| v);
        let text: &[u8] = row.reply_text.as_deref().unwrap_or(b"");
        for (needle, v) in &spec.text_codes {
            if find(text, needle).is_some() {
                deny = *v;
            }
        }
        row.reply_code = Some(if temp { spec.defer_code } else { deny });
        row.code_origin = Some("inferred");
    }
    Some(())
}

/// Whether a message starts as `_WRAPPED` of parsers/__init__.py (`host program[pid]: `).
pub(crate) fn wrapped(m: &[u8]) -> bool {
    let a = until(m, &NOT_HOST_WORD);
    if a == 0 || m.get(a) != Some(&b' ') {
        return false;
    }
    let p = a + 1;
    let b = until_from(m, p, &TAG_ENDS) - p;
    if b == 0 || m.get(p + b) != Some(&b'[') {
        return false;
    }
    let q = p + b + 1;
    let d = digits(&m[q..]);
    (1..=10).contains(&d) && m[q + d..].starts_with(b"]: ")
}

/// The end of `[\w.-]+` (ASCII: the bytes `wrapped` took one by one).
static NOT_HOST_WORD: Stops = not_alnum_and(b"_.-");
/// The end of `[^\s\[\]:]+`.
static TAG_ENDS: Stops = spaces_and(b"[]:");

/// Read one message (the part after Exim's stamp and pid).
pub fn message<'a>(spec: &'a Spec, m: &'a [u8]) -> Option<Row<'a>> {
    let mut row = Row::default();
    message_into(spec, m, &mut row).then_some(row)
}

/// [`message`] into `row`, which must be `Row::default()`: whether some reader is sure of the
/// message (the row is then its reading; otherwise it holds anything). The readers write their
/// columns where the caller keeps the row (returned by value, each row was copied once or twice
/// a line); one that says No after writing some is followed by a row set back to the default.
pub fn message_into<'a>(spec: &'a Spec, m: &'a [u8], row: &mut Row<'a>) -> bool {
    // the readers in the table's order, the row set back after each one that said No
    macro_rules! first {
        ($($read:expr),+) => {{
            $( if $read.is_some() { return true; } *row = Row::default(); )+
            false
        }};
    }
    if let Some(n) = mid(m) {
        let qid = &m[..n];
        let rest = &m[n + 1..];
        if rest.len() >= 3 && rest[2] == b' ' {
            // a three-byte flag then a space: never a wrapped syslog line (its tag would end in `[`)
            let body = &rest[3..];
            return match &rest[..2] {
                b"<=" => arrival(qid, body, row),
                b"=>" | b"->" => delivery(spec, qid, &rest[..2], body, row),
                b"==" => failed(spec, qid, "deferred", body, row),
                b"**" => failed(spec, qid, "bounced", body, row),
                _ => None,
            }
            .is_some();
        }
        if wrapped(m) {
            return false; // a syslog line inside an Exim file (_unwrap_syslog_in_exim)
        }
        if rest == b"Completed" {
            row.queue_id = Some(qid);
            row.event = "removed";
            row.status = Some("completed");
            return true;
        }
        if frozen(qid, rest, row).is_some() {
            return true;
        }
        *row = Row::default();
        return rest.starts_with(b"H=") && reject(spec, Some(qid), rest, row).is_some();
    }
    if wrapped(m) {
        return false; // a syslog line inside an Exim file (_unwrap_syslog_in_exim)
    }
    match m.first() {
        Some(b'S' | b'n' | b'u') => first!(
            session(m, row),
            session_end(spec, m, row),
            sync_error(spec, m, row),
            reject(spec, None, m, row),
            auth_failed(spec, m, row),
            queue_run(m, row)
        ),
        Some(b'T') => first!(reject(spec, None, m, row), tls_error(m, row), auth_failed(spec, m, row)),
        Some(b'E') => first!(reject(spec, None, m, row), auth_failed(spec, m, row), queue_run(m, row)),
        Some(b'A'..=b'Z') => first!(reject(spec, None, m, row), auth_failed(spec, m, row)),
        Some(_) => first!(auth_failed(spec, m, row)),
        None => false,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn num(s: &[u8]) -> i64 {
    s.iter().fold(0i64, |a, &b| a * 10 + i64::from(b - b'0'))
}

/// Days in month `mo` (1-12) of year `y` (Gregorian leap years).
pub(crate) fn month_days(y: i64, mo: i64) -> i64 {
    const DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
    DAYS[(mo - 1) as usize] + i64::from(leap)
}

/// A little-endian word with `byte` in each of the lanes `at` (0: the first byte), 0 elsewhere.
const fn lanes(at: &[usize], byte: u8) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < at.len() {
        w |= (byte as u64) << (8 * at[i]);
        i += 1;
    }
    w
}

/// Whether `h` is shaped `dddd-dd-dd dd:dd:dd` (d an ASCII digit), eight bytes a test: bytes
/// 0-7, 8-15 and 11-18 as little-endian words, each digit's lane tested at once (x = byte ^ '0'
/// is a digit's value where x < 10: x + 0x76 and x both keep the lane's top bit clear exactly
/// then), the other lanes compared with their literal. A lane can carry into the next only where
/// x >= 0x8A, a lane that fails its own test; so the words' answer is the bytes' one.
pub(crate) fn stamp_shape(h: &[u8; 19]) -> bool {
    let word = |at: usize| u64::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3], h[at + 4], h[at + 5], h[at + 6], h[at + 7]]);
    // per word: the digit lanes (0x80 in each), the literal lanes (0xFF each) and their bytes
    const DIGITS_0: u64 = lanes(&[0, 1, 2, 3, 5, 6], 0x80); // bytes 0-3, 5, 6
    const LIT_0: (u64, u64) = (lanes(&[4, 7], 0xFF), lanes(&[4, 7], b'-'));
    const DIGITS_1: u64 = lanes(&[0, 1, 3, 4, 6, 7], 0x80); // bytes 8, 9, 11, 12, 14, 15
    const LIT_1: (u64, u64) = (lanes(&[2, 5], 0xFF), lanes(&[2], b' ') | lanes(&[5], b':'));
    const DIGITS_2: u64 = DIGITS_1; // bytes 11, 12, 14, 15, 17, 18
    const LIT_2: (u64, u64) = (lanes(&[2, 5], 0xFF), lanes(&[2, 5], b':'));
    let ok = |w: u64, digits: u64, (mask, lit): (u64, u64)| {
        let x = w ^ 0x3030_3030_3030_3030;
        (x.wrapping_add(0x7676_7676_7676_7676) | x) & digits == 0 && w & mask == lit
    };
    ok(word(0), DIGITS_0, LIT_0) && ok(word(8), DIGITS_1, LIT_1) && ok(word(11), DIGITS_2, LIT_2)
}

/// The stamp and pid of an Exim log line (`HEADERS["exim"]`): (micros, whether the stamp is
/// local time, pid, message). None for anything the reader is not sure of.
pub fn header(line: &[u8]) -> Option<(i64, bool, Option<i32>, &[u8])> {
    let d = |i: usize| line.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| line.get(i) == Some(&c);
    // the stamp's 19 bytes at once (no bounds check a byte), checked as three words
    // (`stamp_shape`), then two digits a number
    let h: &[u8; 19] = line.get(..19)?.try_into().ok()?;
    if !stamp_shape(h) {
        return None;
    }
    let two = |i: usize| i64::from(h[i] - b'0') * 10 + i64::from(h[i + 1] - b'0');
    let (y, mo, dd) = (two(0) * 100 + two(2), two(5), two(8));
    let (hh, mi, ss) = (two(11), two(14), two(17));
    if y < 1000 || !(1..=12).contains(&mo) || dd < 1 || dd > month_days(y, mo) || hh > 23 || mi > 59 || ss > 59 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if at(i, b'.') {
        let n = digits(&line[i + 1..]);
        if n == 0 || n > 6 {
            return None;
        }
        micros = num(&line[i + 1..i + 1 + n]) * 10i64.pow((6 - n) as u32);
        i += 1 + n;
        if line.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
    }
    let mut offset: Option<i64> = None;
    if at(i, b' ') && (at(i + 1, b'+') || at(i + 1, b'-')) && (i + 2..i + 6).all(d) && !d(i + 6) {
        let (oh, om) = (num(&line[i + 2..i + 4]), num(&line[i + 4..i + 6]));
        if oh > 23 || om > 59 {
            return None;
        }
        let sign = if at(i + 1, b'-') { -1 } else { 1 };
        offset = Some(sign * (oh * 3600 + om * 60));
        i += 6;
    }
    let mut pid = None;
    if at(i, b' ') && at(i + 1, b'[') {
        let n = digits(&line[i + 2..]);
        if n == 0 || n > 10 {
            return None;
        }
        let mut j = i + 2 + n;
        if at(j, b':') {
            let k = digits(&line[j + 1..]);
            if k == 0 {
                return None;
            }
            j += 1 + k;
        }
        if !at(j, b']') || !at(j + 1, b' ') {
            return None;
        }
        let v = num(&line[i + 2..i + 2 + n]);
        pid = Some(i32::try_from(v).ok()?);
        i = j + 1;
    }
    if !at(i, b' ') {
        return None;
    }
    let msg = &line[i + 1..];
    match msg.first() {
        None | Some(b'[') => return None,
        _ => {}
    }
    // the header pattern's `.*$` stops at a newline; a trailing space would be trimmed
    let last = *msg.last()?;
    if !(0x21..0x7f).contains(&last) || memchr::memchr(b'\n', msg).is_some() {
        return None;
    }
    let secs = days_from_civil(y, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss - offset.unwrap_or(0);
    Some((secs * 1_000_000 + micros, offset.is_none(), pid, msg))
}

/// The columns of the rows read, in the event schema's names and types.
#[derive(Default)]
pub struct Columns {
    pub rows: Vec<u8>, // int64 positions of the rows read
    pub n: usize,
    pub ts: NumCol,
    pub local: Vec<u8>, // one byte per row: the stamp had no offset (local time in the file's zone)
    pub pid: NumCol,
    pub strs: Vec<(&'static str, SparseStr)>, // laid out for all rows by `SparseStr::finish`
    pub i16s: Vec<(&'static str, NumCol)>,
    pub i32s: Vec<(&'static str, NumCol)>,
    pub i64s: Vec<(&'static str, NumCol)>,
    pub f64s: Vec<(&'static str, NumCol)>,
    pub bools: Vec<(&'static str, BoolCol)>,
}

/// The text columns a row sets (`mta` and `program`, "exim" in every row, are laid out whole
/// after them: [`exim_cols::constant`](crate::exim_cols::constant)).
pub const STR_COLUMNS: [&str; 22] = [
    "queue_id", "event", "direction", "client_host", "client_ip", "helo", "relay_host", "relay_ip", "sender",
    "recipient", "orig_recipient", "status", "enhanced_code", "code_origin", "smtp_stage", "reply_text",
    "message_id", "related_id", "sasl_username", "protocol", "tls", "detail",
];

/// The text columns every row holds the same value of: `mta` and `program`.
pub const CONSTANT_COLUMNS: [(&str, &[u8]); 2] = [("mta", b"exim"), ("program", b"exim")];

impl Columns {
    pub fn new() -> Columns {
        Columns::with_capacity(0)
    }

    /// Room for `n` rows in every column but the texts (which grow as they come): a batch's
    /// columns grown from empty were copied over and over as they doubled.
    pub fn with_capacity(n: usize) -> Columns {
        let num = |name: &'static str, width: usize| (name, NumCol::with_capacity(n, width));
        Columns {
            rows: Vec::with_capacity(8 * n),
            n: 0,
            ts: NumCol::with_capacity(n, 8),
            local: Vec::with_capacity(n),
            pid: NumCol::with_capacity(n, 4),
            strs: STR_COLUMNS.iter().map(|&name| (name, SparseStr::default())).collect(),
            i16s: vec![num("reply_code", 2)],
            i32s: vec![num("client_port", 4), num("relay_port", 4)],
            i64s: vec![num("size", 8)],
            f64s: vec![num("delay", 8)],
            bools: vec![("quit", BoolCol::with_capacity(n))],
        }
    }

    pub fn push(&mut self, row_no: usize, ts: i64, local: bool, pid: Option<i32>, r: &Row) {
        self.rows.extend_from_slice(&(row_no as i64).to_le_bytes());
        let k = self.n;
        self.n += 1;
        self.ts.push_i64(Some(ts));
        self.local.push(u8::from(local));
        self.pid.push_i32(pid);
        let text: Option<&[u8]> = r.reply_text.as_deref();
        let enh = r.enhanced_code.and_then(|(a, b)| text.map(|t| &t[a..b]));
        let s = |v: &'static str| Some(v.as_bytes());
        let vals: [Option<&[u8]>; 22] = [
            r.queue_id,
            s(r.event),
            r.direction.map(str::as_bytes),
            r.client.host,
            r.client.ip,
            r.client.helo,
            r.relay.host,
            r.relay.ip,
            r.sender,
            r.recipient,
            r.orig_recipient,
            r.status.or(r.status_text).map(str::as_bytes),
            enh,
            r.code_origin.map(str::as_bytes),
            r.smtp_stage.map(str::as_bytes),
            text,
            r.message_id,
            r.related_id.as_deref(),
            r.sasl_username,
            r.protocol,
            r.tls,
            r.detail,
        ];
        for ((_, col), v) in self.strs.iter_mut().zip(vals) {
            if let Some(v) = v {
                col.set(k, v);
            }
        }
        self.i16s[0].1.push_i16(r.reply_code);
        self.i32s[0].1.push_i32(r.client.port);
        self.i32s[1].1.push_i32(r.relay.port);
        self.i64s[0].1.push_i64(r.size);
        self.f64s[0].1.push_f64(r.delay);
        self.bools[0].1.push(r.quit);
    }
}

impl Columns {
    /// Append the rows another run read (rows after this one's).
    pub fn append(&mut self, o: Columns) {
        self.rows.extend_from_slice(&o.rows);
        for ((_, a), (_, b)) in self.strs.iter_mut().zip(&o.strs) {
            a.append(b, self.n);
        }
        self.n += o.n;
        self.ts.append(&o.ts);
        self.local.extend_from_slice(&o.local);
        self.pid.append(&o.pid);
        for (mine, theirs) in [(&mut self.i16s, &o.i16s), (&mut self.i32s, &o.i32s), (&mut self.i64s, &o.i64s), (&mut self.f64s, &o.f64s)] {
            for ((_, a), (_, b)) in mine.iter_mut().zip(theirs) {
                a.append(b);
            }
        }
        for ((_, a), (_, b)) in self.bools.iter_mut().zip(&o.bools) {
            a.append(b);
        }
    }
}

/// `read` over `threads` consecutive row ranges at once, joined in row order.
pub fn read_threads(spec: &Spec, offsets: &[i32], data: &[u8], threads: usize) -> Columns {
    let parts = over_threads(offsets.len().saturating_sub(1), threads, |lo, hi| read(spec, offsets, data, lo, hi));
    let mut it = parts.into_iter();
    let mut out = it.next().unwrap_or_else(Columns::new);
    for p in it {
        out.append(p);
    }
    out
}

/// `f(lo, hi)` over consecutive ranges of `0..n` on up to `threads` threads (one per 4096 rows
/// at the most), the results in range order.
pub fn over_threads<T: Send>(n: usize, threads: usize, f: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, 64).min(n / 4096 + 1);
    if threads == 1 {
        return vec![f(0, n)];
    }
    let step = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (lo, hi) = ((t * step).min(n), ((t + 1) * step).min(n));
                s.spawn(move || f(lo, hi))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("exim reader thread")).collect()
    })
}

/// Read rows `lo..hi` of a string column (Arrow offsets and data): the rows some reader is
/// sure of, with all their columns.
pub fn read(spec: &Spec, offsets: &[i32], data: &[u8], lo: usize, hi: usize) -> Columns {
    let mut out = Columns::with_capacity(hi.saturating_sub(lo));
    // the row pushed where the reader left it (moved into a closure, each row was copied)
    each_message(offsets, data, lo, hi, |row, ts, local, pid, msg| {
        let mut r = Row::default();
        if message_into(spec, msg, &mut r) {
            out.push(row, ts, local, pid, &r);
        }
    });
    out
}

/// `f(position, stamp, local, pid, row)` of each of rows `lo..hi` some reader is sure of, in order.
pub fn each_row<'a>(spec: &'a Spec, offsets: &[i32], data: &'a [u8], lo: usize, hi: usize,
                    mut f: impl FnMut(usize, i64, bool, Option<i32>, &Row<'a>)) {
    // the row handed where the reader left it (by value, it was copied once more a line)
    each_message(offsets, data, lo, hi, |row, ts, local, pid, msg| {
        let mut r = Row::default();
        if message_into(spec, msg, &mut r) {
            f(row, ts, local, pid, &r);
        }
    });
}

/// `f(position, stamp, local, pid, message)` of each of rows `lo..hi` with an Exim header.
fn each_message<'a>(offsets: &[i32], data: &'a [u8], lo: usize, hi: usize, mut f: impl FnMut(usize, i64, bool, Option<i32>, &'a [u8])) {
    for row in lo..hi {
        let (a, b) = (offsets[row], offsets[row + 1]);
        if a < 0 || b < a || b as usize > data.len() {
            continue;
        }
        let line = &data[a as usize..b as usize];
        let Some((ts, local, pid, msg)) = header(line) else { continue };
        f(row, ts, local, pid, msg);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn spec() -> Spec {
        // fields.py's and exim.py's values (the Python tests pass the live ones)
        let rules = [
            ("END OF DATA", "end of DATA"), ("AFTER DATA", "end of DATA"), ("GREETING", "greeting"),
            ("STARTTLS", "STARTTLS"), ("EHLO", "HELO/EHLO"), ("HELO", "HELO/EHLO"), ("AUTH", "AUTH"),
            ("MAIL", "MAIL FROM"), ("RCPT", "RCPT TO"), ("DATA", "DATA"), ("QUIT", "QUIT"), ("CONNECT", "connect"),
        ];
        Spec::new(SpecSource {
            code: r"(?:^|: |\(|\s)(?P<code>[2-5][0-9][0-9])(?:[ -]|$)(?:[2-5][0-9][0-9][ -])?(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3}\b)?".into(),
            enh_any: r"(?:^|[\s(\[-])(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[\s,;:)\].])".into(),
            stage_text: r"(?:in reply to (?P<a>.+?) command|(?P<b>refused to talk to me)|while (?P<c>[^:()]+)|remote mail server after (?P<d>[^:]+?)(?::|$| [2-5]\d\d)|timed out while (?P<e>.+)|in response to (?P<f>.+))".into(),
            queued: r"queued as (?P<q>[0-9A-Za-z-]{5,})".into(),
            stage_rules: rules.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            deny_codes: vec![("AUTH".into(), 503), ("ETRN".into(), 458)],
            deny_default: 550,
            defer_code: 451,
            text_codes: vec![("message too big".into(), 552), ("SIZE".into(), 552)],
            dropped_code: 421,
            auth_code: 535,
            sync_code: 554,
        })
        .unwrap()
    }

    fn s(b: Option<&[u8]>) -> Option<&str> {
        b.map(|b| std::str::from_utf8(b).unwrap())
    }

    #[test]
    fn header_reads_stamp_offset_and_pid() {
        let (ts, local, pid, msg) = header(b"2026-11-23 00:00:02.500 +0100 [2205] x").unwrap();
        assert_eq!(ts, (days_from_civil(2026, 11, 22) * 86400 + 23 * 3600 + 2) * 1_000_000 + 500_000);
        assert!(!local);
        assert_eq!(pid, Some(2205));
        assert_eq!(msg, b"x");
        let (_, local, pid, _) = header(b"2026-11-23 00:00:02 y").unwrap();
        assert!(local && pid.is_none());
        assert!(header(b"2026-02-29 00:00:02 y").is_none()); // no such day
        assert!(header(b"2026-11-23 00:00:02 [12]x").is_none());
        assert!(header(b"2026-11-23 00:00:02 y ").is_none()); // trailing space: trimmed by Python
        assert!(header(b"2026-11-23 00:00:02.1234567 y").is_none());
    }

    #[test]
    fn arrival_reads_items() {
        let sp = spec();
        let r = message(&sp, b"1xVHTW-0000ZZ-KK <= emma@our.test H=(laptop-emma) [192.0.2.193]:26606 I=[192.0.2.10]:587 P=esmtpsa X=TLS1.3:T:128 A=dovecot_plain:emma@our.test S=22147 id=<d8@our.test>").unwrap();
        assert_eq!(r.event, "received");
        assert_eq!(s(r.sender), Some("emma@our.test"));
        assert_eq!(s(r.client.helo), Some("laptop-emma"));
        assert_eq!(s(r.client.ip), Some("192.0.2.193"));
        assert_eq!(r.client.port, Some(26606));
        assert!(r.client.host.is_none());
        assert_eq!(s(r.protocol), Some("esmtpsa"));
        assert_eq!(r.size, Some(22147));
        assert_eq!(s(r.message_id), Some("d8@our.test"));
        assert_eq!(s(r.sasl_username), Some("emma@our.test"));
        assert_eq!(r.direction, Some("inbound"));
        let r = message(&sp, b"1xVHTW-0000aM-Kb <= <> R=1xVHTW-0000ZZ-KK U=mail P=local S=40").unwrap();
        assert_eq!(s(r.sender), Some(""));
        assert_eq!(r.related_id.as_deref(), Some(&b"1xVHTW-0000ZZ-KK"[..]));
        assert_eq!(r.direction, Some("local"));
    }

    #[test]
    fn delivery_reads_reply_and_relay() {
        let sp = spec();
        let r = message(&sp, b"1xVHTW-0000aM-Kb => y@c.test R=dnslookup T=remote_smtp H=mx2.c.test [203.0.113.68] C=\"250 2.0.0 Ok: queued as A4871A341B3\" QT=1m2s").unwrap();
        assert_eq!(r.status, Some("sent"));
        assert_eq!(s(r.relay.host), Some("mx2.c.test"));
        assert_eq!(r.reply_code, Some(250));
        assert_eq!(r.related_id.as_deref(), Some(&b"A4871A341B3"[..]));
        assert_eq!(r.delay, Some(62.0));
        assert_eq!(r.direction, Some("outbound"));
        assert_eq!(r.code_origin, Some("logged"));
        let r = message(&sp, b"1xVHTX-0000kJ-4Y -> priya <priya@our.test> R=local_user T=maildir_home").unwrap();
        assert_eq!(s(r.orig_recipient), Some("priya@our.test"));
        assert_eq!(s(r.detail), Some("->"));
        assert_eq!(r.direction, Some("local"));
        assert!(message(&sp, b"1xVHTX-0000kJ-4Y => blackhole (DATA ACL discarded recipients): x").is_none());
    }

    #[test]
    fn deferral_splits_items_from_reason() {
        let sp = spec();
        let r = message(&sp, b"1xVHTs-0000pv-9q == p@i.test R=dnslookup T=remote_smtp defer (-44) H=mx1.i.test [203.0.113.85] X=TLS1.2:E:256 CV=yes: SMTP error from remote mail server after RCPT TO:<p@i.test>: 451 4.7.1 Greylisting").unwrap();
        assert_eq!(r.status, Some("deferred"));
        assert_eq!(s(r.detail), Some("defer (-44)"));
        assert_eq!(s(r.tls), Some("TLS1.2:E:256"));
        assert_eq!(r.reply_code, Some(451));
        assert_eq!(r.enhanced_code.map(|(a, b)| &r.reply_text.as_ref().unwrap()[a..b]), Some(&b"4.7.1"[..]));
        assert_eq!(r.smtp_stage, Some("RCPT TO"));
        let r = message(&sp, b"1xVHXt-0003Zk-6S ** w@nosuch.test: Unrouteable address").unwrap();
        assert_eq!((s(r.recipient), r.direction), (Some("w@nosuch.test"), Some("local")));
        assert_eq!(r.reply_text.as_deref(), Some(&b"Unrouteable address"[..]));
        let r = message(&sp, b"10HmaY-000000005vi-0000 ** userx@bad.ex : Unrouteable address").unwrap();
        assert_eq!(s(r.recipient), Some("userx@bad.ex"));
        let r = message(&sp, b"1xVHTs-0000pv-9q ** p@i.test R=dnslookup T=remote_smtp H=mx [1.2.3.4]: 550 no DT=2s").unwrap();
        assert_eq!(r.status, Some("bounced"));
        assert_eq!(r.reply_text.as_deref(), Some(&b"550 no"[..]));
    }

    #[test]
    fn queue_runs() {
        let sp = spec();
        let r = message(&sp, b"Start queue run: pid=14831").unwrap();
        assert_eq!((r.event, r.status, s(r.detail)), ("queue_run", Some("Start"), Some(" pid=14831")));
        let r = message(&sp, b"End 2nd_pass queue run").unwrap();
        assert_eq!((r.status, r.detail), (Some("End"), None));
        let r = message(&sp, b"Start queue queue run:x").unwrap();
        assert_eq!(s(r.detail), Some("x"));
        for no in [&b"Start two-stage queue run: pid=1"[..], b"Start  queue run", b"End queue", b"Ended queue run"] {
            assert!(message(&sp, no).is_none(), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn sessions_and_rejects() {
        let sp = spec();
        let r = message(&sp, b"SMTP connection from (laptop) [192.0.2.193]:26606 I=[192.0.2.10]:587 closed by QUIT").unwrap();
        assert_eq!((r.event, r.quit, r.reply_code, r.code_origin), ("disconnect", Some(true), Some(221), Some("inferred")));
        let r = message(&sp, b"SMTP connection from [198.51.100.62]:15313 I=[192.0.2.10]:25 lost D=0s").unwrap();
        assert_eq!((r.event, s(r.detail), r.direction), ("lost_connection", Some(" D=0s"), Some("inbound")));
        let r = message(&sp, b"SMTP connection from [198.51.100.79]:44945 I=[192.0.2.10]:25 (TCP/IP connection count = 1)").unwrap();
        assert_eq!(r.event, "connect");
        let r = message(&sp, b"no MAIL in SMTP connection from (x) [1.2.3.4]:47132 I=[192.0.2.10]:25 D=1s C=EHLO,QUIT").unwrap();
        assert_eq!((r.quit, r.reply_code), (Some(true), Some(221)));
        let r = message(&sp, b"H=a.test (ylmf-pc) [198.51.100.105]:33718 I=[192.0.2.10]:25 F=<q@g.test> temporarily rejected RCPT <i@our.test>: greylisted.").unwrap();
        assert_eq!((r.status, r.reply_code, r.smtp_stage), (Some("tempfailed"), Some(451), Some("RCPT TO")));
        assert_eq!((s(r.sender), s(r.recipient), s(r.client.host)), (Some("q@g.test"), Some("i@our.test"), Some("a.test")));
        let r = message(&sp, b"H=m.test [198.51.100.222]:40990 F=<t@d.test> rejected after DATA: message too big").unwrap();
        assert_eq!((r.reply_code, r.smtp_stage, r.code_origin), (Some(552), Some("end of DATA"), Some("inferred")));
        assert!(message(&sp, b"H=x [1.2.3.4] rejected EHLO from [1.2.3.4]: bad").is_none());
    }

    #[test]
    fn frozen_timeouts_and_drops() {
        let sp = spec();
        let r = message(&sp, b"1j4ZTB-0001Sv-P4 Message is frozen").unwrap();
        assert_eq!((r.event, r.status_text, r.detail), ("frozen", Some("Message is frozen"), None));
        let r = message(&sp, b"1j4ZTB-0001Sv-P4 unfrozen by root").unwrap();
        assert_eq!(r.status_text, Some("unfrozen by root"));
        let r = message(&sp, b"SMTP command timeout on connection from ([1.2.3.4]) [1.2.3.4]:4367 I=[192.0.2.10]:25 D=300s").unwrap();
        assert_eq!((r.event, r.quit, r.direction), ("timeout", Some(false), Some("inbound")));
        let r = message(&sp, b"SMTP call from x (y) [1.2.3.4]:60411 I=[192.0.2.10]:25 dropped: too many syntax errors").unwrap();
        assert_eq!((r.event, r.reply_code, s(r.detail)), ("too_many_errors", Some(421), Some("too many syntax errors")));
    }

    #[test]
    fn auth_tls_and_sync() {
        let sp = spec();
        let r = message(&sp, b"dovecot_login authenticator failed for (User) [198.51.100.157]:19450 I=[192.0.2.10]:587: 535 Incorrect authentication data (set_id=postmaster@our.test)").unwrap();
        assert_eq!((r.event, r.reply_code, r.code_origin), ("auth_failure", Some(535), Some("logged")));
        assert_eq!((s(r.sasl_username), s(r.detail), s(r.client.helo)), (Some("postmaster@our.test"), Some("dovecot_login"), Some("User")));
        assert_eq!(r.reply_text.as_deref(), Some(&b"535 Incorrect authentication data"[..]));
        let r = message(&sp, b"plain authenticator failed for ([1.2.3.5]) [1.2.3.4]:55379: bad (set_id=a (set_id=b)").unwrap();
        assert_eq!((s(r.sasl_username), r.reply_code, r.code_origin), (Some("a (set_id=b"), Some(535), Some("inferred")));
        assert!(message(&sp, b"x: plain authenticator failed for [1.2.3.4]: bad").is_none());
        let r = message(&sp, b"TLS error on connection from (localhost) [198.51.100.102]:2857 I=[192.0.2.10]:25 (SSL_accept): eof").unwrap();
        assert_eq!((r.event, s(r.detail)), ("tls", Some("I=[192.0.2.10]:25 (SSL_accept): eof")));
        let r = message(&sp, b"SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[198.51.100.216]:65070 I=[192.0.2.10]:25 input=\"EHLO x\"").unwrap();
        assert_eq!((r.event, r.reply_code, r.smtp_stage), ("protocol_error", Some(554), Some("connect")));
    }

    #[test]
    fn hosts_in_the_patterns_order() {
        let (end, h) = host_at(b"name (he lo) [1.2.3.4]:25 x", 0).unwrap();
        assert_eq!(end, 25);
        assert_eq!((s(h.host), s(h.helo), h.port), (Some("name"), Some("he lo"), Some(25)));
        let (_, h) = host_at(b"([1.2.3.4]) [1.2.3.4]", 0).unwrap();
        assert_eq!(s(h.helo), Some("[1.2.3.4]"));
        assert!(host_at(b"name x", 0).is_none());
        assert!(host_at(b"[1.2.3.4]:99999999999", 0).unwrap().1.bad);
    }

    #[test]
    fn threads_give_the_rows_of_one_run() {
        let sp = spec();
        let lines: Vec<String> = (0..20000)
            .map(|i| match i % 4 {
                0 => format!("2026-11-23 00:00:{:02} [{i}] SMTP connection from [1.2.3.{}]:25 closed by QUIT", i % 60, i % 250),
                1 => "2026-11-23 00:00:03 [2288] 1xVHTX-0000kJ-4Y Completed".to_string(),
                2 => "not a line".to_string(),
                _ => format!("2026-11-23 00:00:03 [1] 1xVHTX-0000kJ-4Y => a{i}@b.test R=r T=remote_smtp H=mx [1.2.3.4] C=\"250 ok\""),
            })
            .collect();
        let mut offsets = vec![0i32];
        let mut data = Vec::new();
        for l in &lines {
            data.extend_from_slice(l.as_bytes());
            offsets.push(data.len() as i32);
        }
        let one = read_threads(&sp, &offsets, &data, 1);
        let four = read_threads(&sp, &offsets, &data, 4);
        assert_eq!(one.n, 15000);
        assert_eq!((one.rows, one.local), (four.rows, four.local));
        for ((_, a), (_, b)) in one.strs.into_iter().zip(four.strs) {
            let (a, b) = (a.finish(one.n), b.finish(four.n));
            assert_eq!((a.offsets, a.data, a.valid.into_bytes()), (b.offsets, b.data, b.valid.into_bytes()));
        }
        assert_eq!(one.i16s[0].1.values, four.i16s[0].1.values);
        assert_eq!(one.bools[0].1.valid.as_bytes(), four.bools[0].1.valid.as_bytes());
        assert_eq!(one.bools[0].1.values.as_bytes(), four.bools[0].1.values.as_bytes());
    }

    #[test]
    fn durations() {
        assert_eq!(duration(b"1d2h3m4s"), Some(86400.0 + 7200.0 + 180.0 + 4.0));
        assert_eq!(duration(b"0.5s"), Some(0.5));
        assert_eq!(duration(b"1s2m"), None);
        assert_eq!(duration(b"s"), None);
    }
}
