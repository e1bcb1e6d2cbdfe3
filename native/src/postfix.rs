//! Whole rows for the most frequent Postfix lines, read by hand: the twin of
//! `analyzer/parsers/postfix.py`'s patterns of the same names followed by the derivations of
//! `fields.py` and `parsers/__init__.py` (`_parse_mta`, `_postfix_specifics`, `_postfix_after`).
//!
//! A reader is used only while the Python table holds its pattern verbatim, with the same event
//! and daemons ([`Fast::new`] compares them); a line a reader is not sure of (any check fails)
//! is left to the Python engine, which the differential tests hold equal.
//!
//! Each reader stands for one pattern and is tried only on lines that no earlier pattern of the
//! table can take (each kind starts with words no earlier pattern of its daemons accepts).

use crate::fields::{digits, is_space, is_word, nonempty, split_hostport, strip_brackets, text, Fields};
use crate::fields::{split_hostport_at, HOST_ENDS};
use crate::nparse_items::Tries;
use crate::nparse_scan::{byte_from, until_low_from};
use crate::rows::Row;
use std::borrow::Cow;
use memchr::memmem::Finder;
use std::collections::HashMap;
use std::sync::OnceLock;

const QID: &str = "(?:[0-9A-F]{5,24}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,20})";
const CLIENT: &str = r"[^\s\[\]]*\[[^\]]*\](?::\d+)?";
const ADDR: &str = "<(?:\\\"[^\\\"]*\\\"|[^>\\\"])*>";

/// (name, event, regex) of the patterns read here, as the Python table writes them.
pub fn patterns() -> Vec<(&'static str, &'static str, String)> {
    let env = format!(
        r"(?:; from=(?P<sender>{ADDR}))?(?:,? to=(?P<recipient>{ADDR}))?(?:,? proto=(?P<protocol>[^\s,]+))?(?:,? helo=<(?P<helo>[^>]*)>)?"
    );
    let loose = format!(r"(?:{ADDR}|[^<>,\s]+)");
    vec![
        ("smtpd.connect", "connect", format!(r"^connect from (?P<client>{CLIENT})$")),
        ("smtpd.disconnect", "disconnect", format!(r"^disconnect from (?P<client>{CLIENT})(?: (?P<detail>.*))?$")),
        ("smtpd.client", "received", format!(r"^(?P<queue_id>{QID}): client=(?P<client>{CLIENT})(?:, (?P<kv>.*))?$")),
        (
            "smtpd.reject",
            "reject",
            format!(
                r"^(?:(?P<queue_id>{QID})|NOQUEUE): (?P<action>reject|reject_warning|milter-reject|proxy-reject): (?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}): (?P<reply_text>.*?){env}$"
            ),
        ),
        (
            "smtpd.lost",
            "lost_connection",
            format!(r"^(?:(?:{QID}|NOQUEUE): )?lost connection after (?P<stage>[A-Z][A-Z-]*)(?: \([^)]*\))? from (?P<client>{CLIENT})$"),
        ),
        (
            "smtpd.timeout",
            "timeout",
            format!(r"^(?:(?:{QID}|NOQUEUE): )?timeout after (?P<stage>[A-Z][A-Z-]*)(?: \([^)]*\))? from (?P<client>{CLIENT})$"),
        ),
        (
            "smtpd.too_many_errors",
            "too_many_errors",
            format!(r"^(?:(?:{QID}|NOQUEUE): )?too many errors after (?P<stage>[A-Z][A-Z-]*)(?: \([^)]*\))? from (?P<client>{CLIENT})$"),
        ),
        (
            "smtpd.sasl_failed",
            "auth_failure",
            format!(
                r"^warning: (?P<client>{CLIENT}): SASL (?P<detail>[\w-]+) authentication failed:? ?(?P<reply_text>.*?)(?:, sasl_username=(?P<sasl_username>.*))?$"
            ),
        ),
        (
            "smtpd.pipelining",
            "protocol_error",
            format!(r"^improper command pipelining after (?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}):? ?(?P<detail>.*)$"),
        ),
        ("smtpd.non_smtp", "protocol_error", format!(r"^warning: non-SMTP command from (?P<client>{CLIENT}): (?P<detail>.*)$")),
        ("tls.in", "tls", format!(r"^(?P<tls_trust>\w+) TLS connection established from (?P<client>{CLIENT}): (?P<tls>.*)$")),
        ("postscreen.connect", "connect", format!(r"^CONNECT from (?P<client>{CLIENT}) to \[(?P<server>[^\]]*)\]:\d+$")),
        ("postscreen.disconnect", "disconnect", format!(r"^DISCONNECT (?P<client>{CLIENT})$")),
        (
            "postscreen.pass",
            "screen",
            format!(r"^(?P<status>PASS NEW|PASS OLD|WHITELISTED|BLACKLISTED|ALLOWLISTED|DENYLISTED|WHITELIST VETO|ALLOWLIST VETO) (?P<client>{CLIENT})$"),
        ),
        ("postscreen.dnsbl", "dnsbl", format!(r"^DNSBL rank (?P<detail>\d+) for (?P<client>{CLIENT})$")),
        (
            "postscreen.pregreet",
            "protocol_error",
            format!(r"^PREGREET (?P<count>\d+) after (?P<secs>\S+) from (?P<client>{CLIENT}): (?P<detail>.*)$"),
        ),
        ("postscreen.hangup", "lost_connection", format!(r"^HANGUP after (?P<secs>\S+) from (?P<client>{CLIENT}) in (?P<detail>.*)$")),
        ("dnsblog.listed", "dnsbl", r"^addr (?P<client_ip>\S+) listed by domain (?P<detail>\S+) as (?P<dnsbl_reply>\S+)$".to_string()),
        ("cleanup.message_id", "message_id", format!(r"^(?P<queue_id>{QID}): (?:resent-)?message-id=(?P<message_id>.*)$")),
        (
            "qmgr.active",
            "queued",
            format!(r"^(?P<queue_id>{QID}): from=(?P<sender>(?:{ADDR}|[^<>,\s]*)), size=(?P<size>\d+), nrcpt=(?P<nrcpt>\d+) \(queue active\)$"),
        ),
        ("qmgr.removed", "removed", format!(r"^(?P<queue_id>{QID}): removed$")),
        (
            "delivery.status",
            "delivery",
            format!(
                r"^(?P<queue_id>{QID}): to=(?P<recipient>{loose}),(?: orig_to=(?P<orig_recipient>{loose}),)? relay=(?P<relay>[^,]+?),(?: conn_use=\d+,)? delay=(?P<delay>[\d.]+), delays=(?P<delays>[\d./]+), dsn=(?P<dsn>\d\.\d{{1,3}}\.\d{{1,3}}), status=(?P<status>[\w-]+)(?: \((?P<reply_text>.*?)\)?)?$"
            ),
        ),
        ("tls.out", "tls", format!(r"^(?P<tls_trust>\w+) TLS connection established to (?P<relay>{CLIENT}): (?P<tls>.*)$")),
        (
            "bounce.notice",
            "bounce_notice",
            format!(r"^(?P<queue_id>{QID}): (?P<status>(?:sender|postmaster) (?:non-delivery|delay|delivery status|success) notification): (?P<related_id>{QID})$"),
        ),
        ("pickup", "received", format!(r"^(?P<queue_id>{QID}): uid=(?P<uid>\d+) from=(?P<sender>{ADDR})(?: orig_id=(?P<related_id>{QID}))?$")),
        (
            "smtp.refused_to_talk",
            "reply",
            format!(r"^(?:(?P<queue_id>{QID}): )?host (?P<relay>\S+) refused to talk to me: (?P<reply_text>.*)$"),
        ),
        (
            "smtp.connect_failed",
            "connect_failure",
            r"^connect to (?P<relay>[^\s\[]*\[[^\]]*\](?::\d+)?|[^\s:]+(?::\d+)?): (?P<reply_text>.*)$".to_string(),
        ),
        (
            "anvil.max",
            "stats",
            r"^statistics: (?P<detail>max .*?) for \((?P<service>[a-z][\w/.-]*|[\d.]+:\d+|\[[^\]]*\]:\d+):(?P<client_ip>[^)]+)\) at .*$".to_string(),
        ),
        ("stats", "stats", r"^statistics: (?P<detail>.*)$".to_string()),
    ]
}

/// What a reader says about a line.
pub enum Read<'a> {
    /// the pattern cannot match: try the next one
    No,
    /// not sure: leave the line to Python
    Unsure,
    /// the row is read (filled in place)
    Yes,
    #[doc(hidden)]
    _Lifetime(std::marker::PhantomData<&'a ()>),
}

pub(crate) type Reader = for<'a> fn(&'a Fast, &'a [u8], &mut Row<'a>) -> Read<'a>;

struct Kind {
    name: &'static str,
    event: &'static str,
    read: Reader,
    daemons: Option<Vec<Vec<u8>>>,
}

/// The Postfix readers, set up from the Python tables.
pub struct Fast {
    kinds: Vec<Kind>,
    pub fields: Fields,
    directions: Vec<(Vec<u8>, String)>,
    /// per daemon named by a kind or a direction, sorted by name: its direction and the kinds it
    /// may try, in order
    daemons: Vec<(Vec<u8>, Option<usize>, Tries)>,
    /// the kinds every daemon may try (those without a daemon list)
    any_daemon: Tries,
    reject_actions: Vec<(Vec<u8>, &'static str)>,
    /// the names of the readers in use (those whose Python pattern is unchanged)
    pub enabled: Vec<&'static str>,
}

pub(crate) fn reader(name: &str) -> Option<Reader> {
    Some(match name {
        "smtpd.connect" => read_connect,
        "smtpd.disconnect" => read_disconnect,
        "smtpd.client" => read_client,
        "smtpd.reject" => read_reject,
        "smtpd.lost" => read_lost,
        "smtpd.timeout" => read_timeout,
        "smtpd.too_many_errors" => read_too_many_errors,
        "smtpd.sasl_failed" => read_sasl_failed,
        "smtpd.pipelining" => read_pipelining,
        "smtpd.non_smtp" => read_non_smtp,
        "postscreen.pregreet" => read_screen_pregreet,
        "postscreen.hangup" => read_screen_hangup,
        "tls.in" => read_tls_in,
        "postscreen.connect" => read_screen_connect,
        "postscreen.disconnect" => read_screen_disconnect,
        "postscreen.pass" => read_screen_pass,
        "postscreen.dnsbl" => read_screen_dnsbl,
        "dnsblog.listed" => read_dnsblog,
        "cleanup.message_id" => read_message_id,
        "qmgr.active" => read_active,
        "qmgr.removed" => read_removed,
        "delivery.status" => read_delivery,
        "tls.out" => read_tls_out,
        "bounce.notice" => read_bounce_notice,
        "pickup" => read_pickup,
        "smtp.refused_to_talk" => read_refused_to_talk,
        "smtp.connect_failed" => read_connect_failed,
        "anvil.max" => read_anvil_max,
        "stats" => read_stats,
        _ => return None,
    })
}

/// Equal byte strings, compared inline (short names: cheaper than a memcmp call).
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// One pattern of the Python table: name, regex, event, daemons (None: all).
pub type PatternSpec = (String, String, String, Option<Vec<String>>);

impl Fast {
    /// `table`: the whole Python pattern list in order; `directions`: `DAEMON_DIRECTION`;
    /// `reject_actions`: `_REJECT_ACTIONS`. A reader is enabled only if its pattern is in the
    /// table verbatim and every pattern before it (that is not read here) is one the reader's
    /// lines cannot match by construction — checked by name against the table as written today.
    pub fn new(table: Vec<PatternSpec>, directions: HashMap<String, String>, reject_actions: HashMap<String, String>, fields: Fields) -> Fast {
        let known = patterns();
        let names_in: Vec<String> = table.iter().map(|p| p.0.clone()).collect();
        let mut kinds = Vec::new();
        let mut enabled = Vec::new();
        for (name, regex, event, daemons) in table {
            let Some(&(n, ev, ref rx)) = known.iter().find(|p| p.0 == name) else { continue };
            if *rx != regex || ev != event {
                continue;
            }
            kinds.push(Kind {
                name: n,
                event: ev,
                read: reader(n).expect("a reader per known pattern"),
                daemons: daemons.map(|v| v.into_iter().map(String::into_bytes).collect()),
            });
            enabled.push(n);
        }
        // a reader whose lines an earlier pattern also takes is used only while that one is read here
        for (later, earlier) in [("stats", "anvil.max")] {
            let before = names_in.iter().any(|n| n == earlier);
            if before && !enabled.contains(&earlier) {
                if let Some(i) = kinds.iter().position(|k| k.name == later) {
                    kinds.remove(i);
                    enabled.retain(|n| *n != later);
                }
            }
        }
        let actions: [&'static str; 2] = ["reject", "reject_warning"];
        let reject_actions = reject_actions
            .into_iter()
            .filter_map(|(k, v)| actions.iter().find(|a| **a == v).map(|a| (k.into_bytes(), *a)))
            .collect();
        let directions: Vec<(Vec<u8>, String)> = directions.into_iter().map(|(k, v)| (k.into_bytes(), v)).collect();
        let mut names: Vec<Vec<u8>> = directions.iter().map(|(d, _)| d.clone()).collect();
        for k in &kinds {
            names.extend(k.daemons.iter().flatten().cloned());
        }
        names.sort();
        names.dedup();
        let allowed = |k: &Kind, d: &[u8]| k.daemons.as_ref().is_none_or(|ds| ds.iter().any(|x| x.as_slice() == d));
        let daemons = names
            .into_iter()
            .map(|d| {
                let dir = directions.iter().position(|(x, _)| *x == d);
                let ks = (0..kinds.len()).filter(|&i| allowed(&kinds[i], &d)).collect();
                (d, dir, Tries::new(ks, |i| kinds[i].name))
            })
            .collect();
        let any_daemon = Tries::new((0..kinds.len()).filter(|&i| kinds[i].daemons.is_none()).collect(), |i| kinds[i].name);
        Fast { kinds, fields, directions, daemons, any_daemon, reject_actions, enabled }
    }

    /// Read one Postfix message (`daemon`: the program's last part) into `row` (which holds the
    /// header's columns); false where Python reads it.
    pub fn read<'a>(&'a self, daemon: &[u8], msg: &'a [u8], row: &mut Row<'a>) -> bool {
        self.read_at(self.daemon_at(daemon), msg, row)
    }

    /// Where `daemon` is among the daemons a reader or a direction names (None: another one);
    /// [`Fast::read_at`] takes it (a caller that meets a program again need not look again).
    pub fn daemon_at(&self, daemon: &[u8]) -> Option<usize> {
        self.daemons.iter().position(|(d, _, _)| same(d, daemon))
    }

    /// [`Fast::read`] of a message whose daemon is at `daemon` ([`Fast::daemon_at`]).
    pub fn read_at<'a>(&'a self, daemon: Option<usize>, msg: &'a [u8], row: &mut Row<'a>) -> bool {
        // the patterns for every daemon that come before the ones read here
        // (first byte tested first: a slice comparison is a memcmp call, three a line otherwise)
        if matches!(msg.first(), Some(b'i' | b'd'))
            && (msg.starts_with(b"ignoring ") || msg.starts_with(b"disabling ") || msg.starts_with(b"discarding EHLO keywords: "))
        {
            return false;
        }
        // a few daemons: their names compared by hand (length first), not by memcmp calls
        // the readers that may take a message starting with its first byte (the others say No)
        let (direction, kinds) = match daemon.map(|i| &self.daemons[i]) {
            Some((_, dir, ks)) => (dir.map(|i| self.directions[i].1.as_str()), ks.of(msg)),
            None => (None, self.any_daemon.of(msg)),
        };
        for &i in kinds {
            let k = &self.kinds[i];
            // a reader that says No has not touched the row
            row.event = Some(k.event);
            row.pattern = Some(k.name);
            row.direction = direction;
            match (k.read)(self, msg, row) {
                Read::No => continue,
                Read::Yes => return true,
                _ => return false,
            }
        }
        false
    }

    /// reply_text and what fields.py reads from it (codes, stage unless known, queued as).
    fn reply<'a>(&'a self, row: &mut Row<'a>, reply: &'a [u8], stage_known: bool) -> bool {
        let Some(t) = nonempty(reply) else { return true };
        row.reply_text = Some(Cow::Borrowed(t));
        let (code, enh) = self.fields.reply_codes(t);
        row.reply_code = code;
        row.enhanced_code = text(enh);
        if !stage_known {
            match self.fields.stage_from_text(t) {
                Ok(s) => row.smtp_stage = s,
                Err(()) => return false,
            }
        }
        row.related_id = text(self.fields.queued_as(t));
        true
    }
}

/// A queue id (`QID`): the whole of `s`.
fn is_qid(s: &[u8]) -> bool {
    let hex = (5..=24).contains(&s.len()) && s.iter().all(|&b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    hex || ((10..=20).contains(&s.len()) && s.iter().all(|&b| b.is_ascii_alphanumeric() && !b"AEIOUaeiou".contains(&b)))
}

/// Per byte, the `QID` alphabets that hold it: 1 `[0-9A-F]`, 2 `[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]`.
static QID_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let hex = c.is_ascii_digit() || (c >= b'A' && c <= b'F');
        let vowel = matches!(c, b'A' | b'E' | b'I' | b'O' | b'U' | b'a' | b'e' | b'i' | b'o' | b'u');
        t[b] = hex as u8 | ((c.is_ascii_alphanumeric() && !vowel) as u8) << 1;
        b += 1;
    }
    t
};

/// `QID: ` at the start: the id and the rest. One pass over the id's bytes (the id is all of
/// one alphabet, so it ends at the message's first ':' exactly where that follows a run of
/// them; the first ':' searched and the id read twice were ~5% of the fold: every qmgr,
/// cleanup and delivery line and every smtpd line the reject reader is tried on).
fn qid_prefix(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    let lim = msg.len().min(25);
    let (mut n, mut both) = (0, 3u8);
    while n < lim {
        let c = QID_BYTES[msg[n] as usize];
        if c == 0 {
            break;
        }
        both &= c;
        n += 1;
    }
    let ok = (both & 1 != 0 && (5..=24).contains(&n)) || (both & 2 != 0 && (10..=20).contains(&n));
    (ok && msg[n..].starts_with(b": ")).then(|| (&msg[..n], &msg[n + 2..]))
}

/// `CLIENT` at the start of `s`: the end of the spec with its `:port` and without it (the
/// regex tries the port first and gives it back if what follows does not match), and the
/// spec's `[` and `]`.
fn client(s: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let open = until_low_from(s, 0, &HOST_ENDS, *b"[]");
    if s.get(open) != Some(&b'[') {
        return None;
    }
    let close = byte_from(s, open + 1, b']');
    if close == s.len() {
        return None;
    }
    let bare = close + 1;
    let mut end = bare;
    if s.get(end) == Some(&b':') {
        let d = s[end + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if d > 0 {
            end += 1 + d;
        }
    }
    Some((end, bare, open, close))
}

/// A client spec at the start of a text (`client_at`): its end, and its `[` and `]`.
#[derive(Clone, Copy)]
struct Spec {
    end: usize,
    open: usize,
    close: usize,
}

/// `CLIENT` followed by exactly `tail` (None: anything, accepted by `follow`): the spec.
fn client_at(s: &[u8], follow: impl Fn(&[u8]) -> bool) -> Option<Spec> {
    let (with_port, bare, open, close) = client(s)?;
    let end = if follow(&s[with_port..]) {
        with_port
    } else if with_port != bare && follow(&s[bare..]) {
        bare
    } else {
        return None;
    };
    Some(Spec { end, open, close })
}

/// [`client_at`]'s end.
fn client_then(s: &[u8], follow: impl Fn(&[u8]) -> bool) -> Option<usize> {
    client_at(s, follow).map(|c| c.end)
}

/// Set the client columns from a spec; false where Python must decide (a port too big).
fn set_client<'a>(row: &mut Row<'a>, spec: &'a [u8]) -> bool {
    let Ok((h, ip, port)) = split_hostport(spec) else { return false };
    row.client_host = text(h);
    row.client_ip = text(ip);
    row.client_port = port;
    true
}

/// [`set_client`] of `&s[..c.end]`, the spec [`client_at`] found at the start of `s`: its
/// brackets as that scan found them (r27-nparse: the spec was scanned twice).
fn set_client_at<'a>(row: &mut Row<'a>, s: &'a [u8], c: Spec) -> bool {
    let Ok((h, ip, port)) = split_hostport_at(&s[..c.end], c.open, c.close) else { return false };
    row.client_host = text(h);
    row.client_ip = text(ip);
    row.client_port = port;
    true
}

fn set_relay<'a>(row: &mut Row<'a>, spec: &'a [u8]) -> bool {
    let Ok((h, ip, port)) = split_hostport(spec) else { return false };
    row.relay_host = text(h);
    row.relay_ip = text(ip);
    row.relay_port = port;
    true
}

fn done<'a>(_row: &mut Row<'a>) -> Read<'a> {
    Read::Yes
}

/// `CLIENT` to the end of `s`, as the whole rest: the client columns.
fn client_only<'a>(row: &mut Row<'a>, s: &'a [u8]) -> Read<'a> {
    match client_at(s, <[u8]>::is_empty) {
        Some(c) if set_client_at(row, s, c) => done(row),
        _ => Read::Unsure,
    }
}

fn read_connect<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"connect from ") else { return Read::No };
    client_only(row, rest)
}

fn read_disconnect<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"disconnect from ") else { return Read::No };
    let Some(c) = client_at(rest, |t| t.is_empty() || t[0] == b' ') else { return Read::Unsure };
    let end = c.end;
    if !set_client_at(row, rest, c) {
        return Read::Unsure;
    }
    let detail = if end < rest.len() { nonempty(&rest[end + 1..]) } else { None };
    row.detail = text(detail);
    // _postfix_after: the command counts say whether the client sent QUIT (answered 221)
    if let Some(d) = detail {
        if finder(&COMMANDS, b"commands=").find(d).is_some() {
            let quit = has_quit(d);
            row.quit = Some(quit);
            if quit {
                row.smtp_stage = Some("QUIT");
                row.reply_code = Some(221);
                row.code_origin = Some("inferred");
            }
        }
    }
    done(row)
}

static COMMANDS: OnceLock<Finder<'static>> = OnceLock::new();
static QUIT1: OnceLock<Finder<'static>> = OnceLock::new();

/// A substring finder built once.
pub fn finder(cell: &'static OnceLock<Finder<'static>>, needle: &'static [u8]) -> &'static Finder<'static> {
    cell.get_or_init(|| Finder::new(needle))
}

/// `(?:^| )quit=1(?: |$)` somewhere in `s`.
fn has_quit(s: &[u8]) -> bool {
    let word = b"quit=1";
    finder(&QUIT1, b"quit=1").find_iter(s).any(|i| (i == 0 || s[i - 1] == b' ') && (i + word.len() == s.len() || s[i + word.len()] == b' '))
}

/// The first `key` followed by one or more characters other than ',' (an unanchored
/// `key(?P<v>[^,]+)`): those characters.
fn kv<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    s.windows(key.len()).enumerate().filter(|(_, w)| *w == key).map(|(i, _)| i).find_map(|i| {
        let v = &s[i + key.len()..];
        let n = v.iter().position(|&b| b == b',').unwrap_or(v.len());
        (n > 0).then(|| &v[..n])
    })
}

fn read_client<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    let Some(rest) = rest.strip_prefix(b"client=") else { return Read::No };
    let Some(c) = client_at(rest, |t| t.is_empty() || t.starts_with(b", ")) else { return Read::Unsure };
    let end = c.end;
    if !set_client_at(row, rest, c) {
        return Read::Unsure;
    }
    row.queue_id = Some(Cow::Borrowed(id));
    if end < rest.len() {
        let extra = &rest[end + 2..];
        row.sasl_username = text(kv(extra, b"sasl_username="));
        row.detail = text(kv(extra, b"sasl_method="));
        row.related_id = text(kv(extra, b"orig_queue_id="));
    }
    done(row)
}

/// `ADDR` at the start of `s`: its length.
fn addr(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'<') {
        return None;
    }
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'>' => return Some(i + 1),
            b'"' => i += s[i + 1..].iter().position(|&b| b == b'"')? + 2,
            _ => i += 1,
        }
    }
    None
}

type Envelope<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Option<&'a [u8]>, Option<&'a [u8]>);

/// `_ENVELOPE` matched against all of `s`: sender, recipient (with brackets), proto, helo.
fn envelope(s: &[u8]) -> Option<Envelope<'_>> {
    let mut p = 0;
    let mut out: Envelope = (None, None, None, None);
    if let Some(r) = s.strip_prefix(b"; from=") {
        let n = addr(r)?;
        out.0 = Some(&r[..n]);
        p = 7 + n;
    }
    let comma = |p: usize, key: &[u8]| -> Option<usize> {
        let q = if s[p..].starts_with(b",") { p + 1 } else { p };
        s[q..].starts_with(key).then_some(q + key.len())
    };
    if let Some(q) = comma(p, b" to=") {
        let n = addr(&s[q..])?;
        out.1 = Some(&s[q..q + n]);
        p = q + n;
    }
    if let Some(q) = comma(p, b" proto=") {
        let n = s[q..].iter().take_while(|&&b| !is_space(b) && b != b',').count();
        if n == 0 {
            return None;
        }
        out.2 = Some(&s[q..q + n]);
        p = q + n;
    }
    if let Some(q) = comma(p, b" helo=<") {
        let n = s[q..].iter().position(|&b| b == b'>')?;
        out.3 = Some(&s[q..q + n]);
        p = q + n + 1;
    }
    (p == s.len()).then_some(out)
}

/// `(?P<reply_text>.*?){_ENVELOPE}$`: the shortest reply text whose rest is an envelope.
/// None where the line has too many places to try (Python reads it).
fn split_envelope(s: &[u8]) -> Option<(&[u8], Envelope<'_>)> {
    let mut tried = 0;
    // every key holds one '=', its only one: the keys' places found from the '='s (a reply text
    // has few; its spaces, each a place to try seven keys at, were ~2,000 instructions a
    // reject). A key's place is before its '=' and after any earlier '=' (its bytes before
    // the '=' hold none), so the places come in the order a scan of the text meets them, and
    // at one '=' the longer key (", x=") starts before the shorter (" x=").
    for e in memchr::memchr_iter(b'=', s) {
        for p in envelope_keys_at(s, e).into_iter().flatten() {
            tried += 1;
            if tried > 16 {
                return None;
            }
            if let Some(env) = envelope(&s[p..]) {
                return Some((&s[..p], env));
            }
        }
    }
    Some((s, (None, None, None, None)))
}

/// The places of the envelope's keys (`; from=`, `[,] to=`, `[,] proto=`, `[,] helo=<`) whose
/// '=' is at `e`, first to last.
#[inline]
fn envelope_keys_at(s: &[u8], e: usize) -> [Option<usize>; 2] {
    let ends = |word: &[u8]| e >= word.len() && &s[e - word.len()..e] == word;
    let pair = |word: &[u8]| -> [Option<usize>; 2] {
        // " word=" at e - len - 1, and ", word=" one before it
        let n = word.len();
        if e < n + 1 || s[e - n - 1] != b' ' || !ends(word) {
            return [None, None];
        }
        let p = e - n - 1;
        [(p >= 1 && s[p - 1] == b',').then(|| p - 1), Some(p)]
    };
    match s[..e].last() {
        Some(b'm') if e >= 6 && &s[e - 6..e] == b"; from" => [Some(e - 6), None],
        Some(b'o') if s[..e].ends_with(b"proto") => pair(b"proto"),
        Some(b'o') if s[..e].ends_with(b"helo") => match s.get(e + 1) {
            Some(b'<') => pair(b"helo"),
            _ => [None, None],
        },
        Some(b'o') => pair(b"to"),
        _ => [None, None],
    }
}

fn read_reject<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let (id, rest) = match qid_prefix(msg) {
        Some((id, rest)) => (Some(id), rest),
        None => match msg.strip_prefix(b"NOQUEUE: ") {
            Some(rest) => (None, rest),
            None => return Read::No,
        },
    };
    let Some(colon) = memchr::memchr(b':', rest) else { return Read::No };
    let action = &rest[..colon];
    let Some(event) = f.reject_actions.iter().find(|(a, _)| a.as_slice() == action).map(|(_, e)| *e) else { return Read::No };
    let Some(rest) = rest[colon..].strip_prefix(b": ") else { return Read::No };
    // (?P<stage>[A-Z][A-Z-]*) from CLIENT: ...
    let n = rest.iter().take_while(|b| b.is_ascii_uppercase() || **b == b'-').count();
    if n == 0 || !rest[0].is_ascii_uppercase() || !rest[n..].starts_with(b" from ") {
        return Read::Unsure;
    }
    let stage = &rest[..n];
    let rest = &rest[n + 6..];
    let Some(c) = client_at(rest, |t| t.starts_with(b": ")) else { return Read::Unsure };
    let end = c.end;
    if !set_client_at(row, rest, c) {
        return Read::Unsure;
    }
    let Some((reply, (sender, recipient, proto, helo))) = split_envelope(&rest[end + 2..]) else { return Read::Unsure };
    row.queue_id = text(id);
    row.event = Some(event);
    row.sender = text(sender.and_then(strip_brackets));
    row.recipient = text(recipient.and_then(strip_brackets));
    row.protocol = text(proto.and_then(nonempty));
    row.helo = text(helo.and_then(nonempty));
    let Some(st) = f.fields.stage(stage) else { return Read::Unsure };
    row.smtp_stage = Some(st);
    if !f.reply(row, reply, true) {
        return Read::Unsure;
    }
    // status: rejected, or tempfailed for a 4xx reply (_postfix_after)
    row.status = Some(Cow::Borrowed(if row.reply_code.map(|c| c / 100) == Some(4) { b"tempfailed" } else { b"rejected" }));
    if action == b"milter-reject" || action == b"proxy-reject" {
        row.detail = Some(Cow::Borrowed(action));
    }
    row.code_origin = row.reply_code.map(|_| "logged");
    // cleanup (the one rejecter without a daemon direction): our milter judging a client
    row.direction = row.direction.or(Some("inbound"));
    done(row)
}

/// `[QID: ]WORDS after STAGE[ (...)] from CLIENT` (smtpd.lost, smtpd.timeout,
/// smtpd.too_many_errors: the same pattern but for the words; quit false). A line with a queue id
/// or NOQUEUE before the words is left to Python.
fn read_after<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>, words: &'static [u8]) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(words) else {
        // the pattern is anchored: its words start the message or follow `QID: `/`NOQUEUE: `
        // (neither holds a ':', so that is the message's first ':'); elsewhere they cannot
        // match (the whole message searched for them, three searches a line of the smtpd
        // lines the readers before did not take, was ~2% of the fold)
        let after_id = memchr::memchr(b':', msg).and_then(|c| msg[c..].strip_prefix(b": "));
        return if after_id.is_some_and(|r| r.starts_with(words)) { Read::Unsure } else { Read::No };
    };
    let n = rest.iter().take_while(|b| b.is_ascii_uppercase() || **b == b'-').count();
    if n == 0 || !rest[0].is_ascii_uppercase() {
        return Read::Unsure;
    }
    let stage = &rest[..n];
    let mut rest = &rest[n..];
    if rest.starts_with(b" (") {
        let Some(close) = rest.iter().position(|&b| b == b')') else { return Read::Unsure };
        rest = &rest[close + 1..];
    }
    let Some(spec) = rest.strip_prefix(b" from ") else { return Read::Unsure };
    let Some(st) = f.fields.stage(stage) else { return Read::Unsure };
    row.smtp_stage = Some(st);
    row.quit = Some(false);
    client_only(row, spec)
}

fn read_lost<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    read_after(f, msg, row, b"lost connection after ")
}

fn read_timeout<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    read_after(f, msg, row, b"timeout after ")
}

fn read_too_many_errors<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    read_after(f, msg, row, b"too many errors after ")
}

static SASL_USER: OnceLock<Finder<'static>> = OnceLock::new();

/// `warning: CLIENT: SASL MECH authentication failed[:][ ]TEXT[, sasl_username=NAME]`
/// (smtpd.sasl_failed): the text ends at the first `, sasl_username=` (the lazy group). No
/// earlier pattern for smtpd starts with `warning: `.
fn read_sasl_failed<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"warning: ") else { return Read::No };
    let Some(end) = client_then(rest, |t| t.starts_with(b": SASL ")) else {
        return if rest.windows(7).any(|w| w == b": SASL ") { Read::Unsure } else { Read::No };
    };
    let spec = &rest[..end];
    let rest = &rest[end + 7..];
    let n = rest.iter().take_while(|&&b| is_word(b) || b == b'-').count();
    let Some(rest) = rest[n..].strip_prefix(b" authentication failed").filter(|_| n > 0) else { return Read::Unsure };
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let (reply, user) = match finder(&SASL_USER, b", sasl_username=").find(rest) {
        Some(p) => (&rest[..p], Some(&rest[p + 16..])),
        None => (rest, None),
    };
    if !set_client(row, spec) {
        return Read::Unsure;
    }
    let detail = &msg[9 + end + 7..9 + end + 7 + n];
    row.detail = Some(Cow::Borrowed(detail));
    row.status = Some(Cow::Borrowed(b"failed"));
    row.smtp_stage = Some("AUTH");
    row.sasl_username = text(user.and_then(nonempty));
    if !f.reply(row, reply, true) {
        return Read::Unsure;
    }
    row.code_origin = row.reply_code.map(|_| "logged");
    done(row)
}

/// `improper command pipelining after STAGE from CLIENT[:][ ]DETAIL` (smtpd.pipelining): the
/// detail takes any rest, so the port, the colon and the space are each taken where present.
fn read_pipelining<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"improper command pipelining after ") else { return Read::No };
    let n = rest.iter().take_while(|b| b.is_ascii_uppercase() || **b == b'-').count();
    if n == 0 || !rest[0].is_ascii_uppercase() {
        return Read::Unsure;
    }
    let stage = &rest[..n];
    let Some(rest) = rest[n..].strip_prefix(b" from ") else { return Read::Unsure };
    let Some(c) = client_at(rest, |_| true) else { return Read::Unsure };
    let end = c.end;
    if !set_client_at(row, rest, c) {
        return Read::Unsure;
    }
    let tail = &rest[end..];
    let tail = tail.strip_prefix(b":").unwrap_or(tail);
    let tail = tail.strip_prefix(b" ").unwrap_or(tail);
    let Some(st) = f.fields.stage(stage) else { return Read::Unsure };
    row.smtp_stage = Some(st);
    row.status = Some(Cow::Borrowed(b"pipelining"));
    row.detail = text(nonempty(tail));
    done(row)
}

/// `warning: non-SMTP command from CLIENT: DETAIL` (smtpd.non_smtp; smtpd.sasl_failed before it
/// cannot take such a line: its client is the first word after `warning: `).
fn read_non_smtp<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"warning: non-SMTP command from ") else { return Read::No };
    let Some(c) = client_at(rest, |t| t.starts_with(b": ")) else { return Read::Unsure };
    let end = c.end;
    if !set_client_at(row, rest, c) {
        return Read::Unsure;
    }
    row.status = Some(Cow::Borrowed(b"non-smtp command"));
    row.detail = text(nonempty(&rest[end + 2..]));
    done(row)
}

/// `after SECS from CLIENT` then `tail` (postscreen's PREGREET and HANGUP): the client's spec and
/// what follows `tail`; None where Python decides.
fn screen_after<'a>(rest: &'a [u8], tail: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let rest = rest.strip_prefix(b"after ")?;
    // \S+ then " from ": the token ends at the first whitespace
    let n = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
    if n == 0 {
        return None;
    }
    let spec = rest[n..].strip_prefix(b" from ")?;
    let end = client_then(spec, |t| t.starts_with(tail))?;
    Some((&spec[..end], &spec[end + tail.len()..]))
}

fn read_screen_pregreet<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"PREGREET ") else { return Read::No };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(rest) = rest[n..].strip_prefix(b" ") else { return Read::Unsure };
    let Some((spec, detail)) = screen_after(rest, b": ").filter(|_| n > 0) else { return Read::Unsure };
    if !set_client(row, spec) {
        return Read::Unsure;
    }
    row.status = Some(Cow::Borrowed(b"pregreet"));
    row.smtp_stage = Some("greeting");
    row.detail = text(nonempty(detail));
    done(row)
}

fn read_screen_hangup<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"HANGUP ") else { return Read::No };
    let Some((spec, detail)) = screen_after(rest, b" in ") else { return Read::Unsure };
    if !set_client(row, spec) {
        return Read::Unsure;
    }
    row.status = Some(Cow::Borrowed(b"hangup"));
    row.quit = Some(false);
    row.detail = text(nonempty(detail));
    done(row)
}

/// `\w+ TLS connection established {from|to} CLIENT: tls`: (trust, spec, tls); Err(true) where
/// Python must decide, Err(false) where the pattern does not match.
#[allow(clippy::type_complexity)]
fn tls<'a>(msg: &'a [u8], dir: &[u8]) -> Result<(&'a [u8], &'a [u8], &'a [u8]), bool> {
    let n = msg.iter().take_while(|&&b| is_word(b)).count();
    let rest = &msg[n..];
    if n == 0 || !rest.starts_with(b" TLS connection established ") || !rest[28..].starts_with(dir) {
        return Err(false);
    }
    let rest = &rest[28 + dir.len()..];
    let end = client_then(rest, |t| t.starts_with(b": ")).ok_or(true)?;
    Ok((&msg[..n], &rest[..end], &rest[end + 2..]))
}

fn set_tls<'a>(row: &mut Row<'a>, trust: &'a [u8], t: &'a [u8]) {
    row.status = Some(Cow::Borrowed(b"established"));
    row.smtp_stage = Some("STARTTLS");
    row.tls = nonempty(t).map(|t| Cow::Owned([trust, b" ", t].concat()));
}

fn read_tls_in<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    match tls(msg, b"from ") {
        Err(false) => Read::No,
        Err(true) => Read::Unsure,
        Ok((trust, spec, t)) => {
            if !set_client(row, spec) {
                return Read::Unsure;
            }
            set_tls(row, trust, t);
            done(row)
        }
    }
}

fn read_tls_out<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    match tls(msg, b"to ") {
        Err(false) => Read::No,
        Err(true) => Read::Unsure,
        Ok((trust, spec, t)) => {
            if !set_relay(row, spec) {
                return Read::Unsure;
            }
            set_tls(row, trust, t);
            done(row)
        }
    }
}

fn read_screen_connect<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"CONNECT from ") else { return Read::No };
    // CLIENT to \[[^\]]*\]:\d+$
    let server = |t: &[u8]| -> bool {
        let Some(t) = t.strip_prefix(b" to [") else { return false };
        let Some(close) = t.iter().position(|&b| b == b']') else { return false };
        let t = &t[close + 1..];
        t.len() > 1 && t[0] == b':' && t[1..].iter().all(u8::is_ascii_digit)
    };
    let Some(c) = client_at(rest, server) else { return Read::Unsure };
    if !set_client_at(row, rest, c) {
        return Read::Unsure;
    }
    done(row)
}

fn read_screen_disconnect<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"DISCONNECT ") else { return Read::No };
    client_only(row, rest)
}

fn read_screen_pass<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    const WORDS: [&[u8]; 8] =
        [b"PASS NEW", b"PASS OLD", b"WHITELISTED", b"BLACKLISTED", b"ALLOWLISTED", b"DENYLISTED", b"WHITELIST VETO", b"ALLOWLIST VETO"];
    for w in WORDS {
        if msg.starts_with(w) && msg.get(w.len()) == Some(&b' ') {
            let rest = &msg[w.len() + 1..];
            // "WHITELIST VETO x" is not "WHITELISTED": no other word is a prefix of a match
            row.status = Some(Cow::Borrowed(w));
            return match client_only(row, rest) {
                Read::Yes => Read::Yes,
                _ => Read::Unsure,
            };
        }
    }
    Read::No
}

fn read_screen_dnsbl<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"DNSBL rank ") else { return Read::No };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(spec) = rest[n..].strip_prefix(b" for ") else { return Read::Unsure };
    if n == 0 {
        return Read::Unsure;
    }
    row.detail = Some(Cow::Borrowed(&rest[..n]));
    client_only(row, spec)
}

fn read_dnsblog<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"addr ") else { return Read::No };
    // \S+ runs separated by the fixed words; a run cannot hold a space, so each ends at the first
    let word = |s: &'a [u8]| -> (&'a [u8], &'a [u8]) {
        let n = s.iter().position(|&b| is_space(b)).unwrap_or(s.len());
        (&s[..n], &s[n..])
    };
    let (ip, rest) = word(rest);
    let Some(rest) = rest.strip_prefix(b" listed by domain ") else { return Read::Unsure };
    let (domain, rest) = word(rest);
    let Some(rest) = rest.strip_prefix(b" as ") else { return Read::Unsure };
    let (reply, rest) = word(rest);
    if ip.is_empty() || domain.is_empty() || reply.is_empty() || !rest.is_empty() {
        return Read::Unsure;
    }
    row.client_ip = Some(Cow::Borrowed(ip));
    row.detail = Some(Cow::Borrowed(domain));
    done(row)
}

fn read_message_id<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    let rest = rest.strip_prefix(b"resent-").unwrap_or(rest);
    let Some(mid) = rest.strip_prefix(b"message-id=") else { return Read::No };
    row.queue_id = Some(Cow::Borrowed(id));
    row.message_id = text(strip_brackets(mid));
    done(row)
}

fn read_active<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    let Some(rest) = rest.strip_prefix(b"from=") else { return Read::No };
    // a bracketed sender only (the unbracketed form and quoted local parts go to Python)
    let Some(n) = addr(rest) else { return Read::Unsure };
    if rest[..n].contains(&b'"') {
        return Read::Unsure;
    }
    let sender = &rest[..n];
    let Some(rest) = rest[n..].strip_prefix(b", size=") else { return Read::Unsure };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(size) = digits(&rest[..n], 18) else { return Read::Unsure };
    let Some(rest) = rest[n..].strip_prefix(b", nrcpt=") else { return Read::Unsure };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(nrcpt) = digits(&rest[..n], 9) else { return Read::Unsure };
    if &rest[n..] != b" (queue active)" {
        return Read::Unsure;
    }
    row.queue_id = Some(Cow::Borrowed(id));
    row.sender = text(strip_brackets(sender));
    row.size = Some(size);
    row.nrcpt = Some(nrcpt as i32);
    done(row)
}

fn read_removed<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    if rest != b"removed" {
        return if rest.starts_with(b"removed") { Read::Unsure } else { Read::No };
    }
    row.queue_id = Some(Cow::Borrowed(id));
    done(row)
}

/// `QID: (sender|postmaster) (non-delivery|delay|delivery status|success) notification: QID`
/// (bounce.notice; the bounce, defer and trace daemons have no earlier pattern but the EHLO ones).
fn read_bounce_notice<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    const KINDS: [&[u8]; 4] = [b"non-delivery", b"delay", b"delivery status", b"success"];
    let Some(after) = rest.strip_prefix(b"sender ").or_else(|| rest.strip_prefix(b"postmaster ")) else { return Read::Unsure };
    let Some(kind) = KINDS.iter().find(|k| after.starts_with(k) && after[k.len()..].starts_with(b" notification: ")) else {
        return Read::Unsure;
    };
    let status_len = rest.len() - after.len() + kind.len() + 13; // + " notification"
    let related = &rest[status_len + 2..];
    if !is_qid(related) {
        return Read::Unsure;
    }
    row.queue_id = Some(Cow::Borrowed(id));
    row.status = Some(Cow::Borrowed(&rest[..status_len]));
    row.related_id = Some(Cow::Borrowed(related));
    done(row)
}

/// `QID: uid=N from=<sender>[ orig_id=QID]` (pickup; its daemon has no earlier pattern but the
/// EHLO ones). A quoted local part goes to Python, as in qmgr.active.
fn read_pickup<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    let Some(rest) = rest.strip_prefix(b"uid=") else { return Read::No };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(rest) = rest[n..].strip_prefix(b" from=").filter(|_| n > 0) else { return Read::Unsure };
    let Some(a) = addr(rest) else { return Read::Unsure };
    if rest[..a].contains(&b'"') {
        return Read::Unsure;
    }
    let tail = &rest[a..];
    let related = if tail.is_empty() {
        None
    } else {
        match tail.strip_prefix(b" orig_id=") {
            Some(q) if is_qid(q) => Some(q),
            _ => return Read::Unsure,
        }
    };
    row.queue_id = Some(Cow::Borrowed(id));
    row.sender = text(strip_brackets(&rest[..a]));
    row.related_id = text(related);
    done(row)
}

/// `[QID: ]host RELAY refused to talk to me: TEXT` (smtp.refused_to_talk; smtp.said before it
/// cannot take such a line: its relay is the same first word, which " said: " must follow).
fn read_refused_to_talk<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let (id, rest) = match qid_prefix(msg) {
        Some((id, rest)) => (Some(id), rest),
        None => (None, msg),
    };
    let Some(rest) = rest.strip_prefix(b"host ") else { return Read::No };
    // \S+ then a space: the relay ends at the first whitespace
    let n = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
    let Some(reply) = rest[n..].strip_prefix(b" refused to talk to me: ") else {
        return if finder(&REFUSED, b" refused to talk to me: ").find(rest).is_some() { Read::Unsure } else { Read::No };
    };
    if n == 0 || !set_relay(row, &rest[..n]) {
        return Read::Unsure;
    }
    row.queue_id = text(id);
    staged_reply(f, row, "greeting", reply)
}

/// A pattern's constant stage, then the reply text and what is read from it (a code it holds
/// was logged).
fn staged_reply<'a>(f: &'a Fast, row: &mut Row<'a>, stage: &'static str, reply: &'a [u8]) -> Read<'a> {
    row.smtp_stage = Some(stage);
    if !f.reply(row, reply, true) {
        return Read::Unsure;
    }
    row.code_origin = row.reply_code.map(|_| "logged");
    done(row)
}

static REFUSED: OnceLock<Finder<'static>> = OnceLock::new();

/// `connect to RELAY: TEXT` (smtp.connect_failed): RELAY is `host[ip][:port]` (the host may hold
/// `]`) or `name[:port]`; each alternative is tried with its port, then without, as the regex
/// does. No earlier pattern of the delivery clients starts with `connect to `.
fn read_connect_failed<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"connect to ") else { return Read::No };
    let port_then = |at: usize| -> Option<usize> {
        // (?::\d+)? then ": ": the end of the relay
        if rest[at..].starts_with(b":") {
            let d = rest[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if d > 0 && rest[at + 1 + d..].starts_with(b": ") {
                return Some(at + 1 + d);
            }
        }
        rest[at..].starts_with(b": ").then_some(at)
    };
    // [^\s\[]*\[[^\]]*\]
    let bracketed = rest.iter().position(|&b| b == b'[' || is_space(b)).filter(|&o| rest[o] == b'[').and_then(|o| {
        let close = rest[o + 1..].iter().position(|&b| b == b']')? + o + 1;
        port_then(close + 1)
    });
    let end = bracketed.or_else(|| {
        // [^\s:]+
        let n = rest.iter().position(|&b| b == b':' || is_space(b)).unwrap_or(rest.len());
        (n > 0).then(|| port_then(n)).flatten()
    });
    let Some(end) = end else { return Read::Unsure };
    if !set_relay(row, &rest[..end]) {
        return Read::Unsure;
    }
    row.status = Some(Cow::Borrowed(b"failed"));
    staged_reply(f, row, "connect", &rest[end + 2..])
}

static FOR_PAREN: OnceLock<Finder<'static>> = OnceLock::new();

/// `statistics: max ... for (SERVICE:CLIENT_IP) at ...` (anvil.max): the detail ends at the
/// first ` for (` whose rest matches; a line where that one does not and a later one might is
/// left to Python (one try per line). A line no ` for (` can match is anvil's `stats`.
fn read_anvil_max<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"statistics: ") else { return Read::No };
    if !rest.starts_with(b"max ") {
        return Read::No;
    }
    let fin = finder(&FOR_PAREN, b" for (");
    let Some(p) = fin.find(&rest[4..]).map(|p| p + 4) else { return Read::No };
    let t = &rest[p + 6..];
    let run = |s: &[u8], ok: fn(&u8) -> bool| s.iter().take_while(|b| ok(b)).count();
    // (?P<service>[a-z][\w/.-]*|[\d.]+:\d+|\[[^\]]*\]:\d+) then ':': the alternatives start apart
    let service = match t.first() {
        Some(b'a'..=b'z') => Some(run(t, |&b| is_word(b) || matches!(b, b'/' | b'.' | b'-'))),
        Some(b'0'..=b'9' | b'.') => {
            let a = run(t, |&b| b.is_ascii_digit() || b == b'.');
            let d = if t.get(a) == Some(&b':') { run(&t[a + 1..], u8::is_ascii_digit) } else { 0 };
            (d > 0).then_some(a + 1 + d)
        }
        Some(b'[') => t.iter().position(|&b| b == b']').and_then(|c| {
            let d = if t.get(c + 1) == Some(&b':') { run(&t[c + 2..], u8::is_ascii_digit) } else { 0 };
            (d > 0).then_some(c + 2 + d)
        }),
        _ => None,
    };
    // :(?P<client_ip>[^)]+)\) at
    let ip = service.filter(|&n| t.get(n) == Some(&b':')).and_then(|n| {
        let ip = &t[n + 1..];
        let k = ip.iter().position(|&b| b == b')')?;
        (k > 0 && ip[k..].starts_with(b") at ")).then(|| &ip[..k])
    });
    let Some(ip) = ip else {
        return if fin.find(t).is_some() { Read::Unsure } else { Read::No };
    };
    row.detail = Some(Cow::Borrowed(&rest[..p]));
    row.client_ip = Some(Cow::Borrowed(ip));
    done(row)
}

/// `statistics: DETAIL` (stats, every daemon: no earlier pattern starts with `statistics: ` but
/// anvil.max, which [`Fast::new`] requires read here before this one is).
fn read_stats<'a>(_: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some(rest) = msg.strip_prefix(b"statistics: ") else { return Read::No };
    row.detail = text(nonempty(rest));
    done(row)
}

/// A bracketed address without quotes, then `,`: the address.
fn plain_addr(s: &[u8]) -> Option<&[u8]> {
    let n = addr(s)?;
    (!s[..n].contains(&b'"') && s.get(n) == Some(&b',')).then(|| &s[..n])
}

/// `[\d.]+` that Arrow's cast to float64 reads: digits, or digits '.' digits.
fn decimal(s: &[u8]) -> Option<f64> {
    let dots = s.iter().filter(|&&b| b == b'.').count();
    let ok = !s.is_empty() && dots <= 1 && s[0].is_ascii_digit() && s[s.len() - 1].is_ascii_digit() && s.len() <= 24;
    if !ok {
        return None;
    }
    // up to 15 digits: the digits as an integer (exact in an f64) over a power of ten (exact
    // up to 1e22), one correctly rounded division: the nearest f64 to the decimal, as `parse`
    // gives it (the std parser was ~300 instructions a delivery line)
    if s.len() <= 15 {
        let (mut m, mut scale) = (0u64, 1u64);
        for &b in s {
            if b == b'.' {
                scale = 1;
            } else {
                m = m * 10 + u64::from(b - b'0');
                scale *= 10;
            }
        }
        if dots == 0 {
            scale = 1;
        }
        return Some(m as f64 / scale as f64);
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `\d\.\d{1,3}\.\d{1,3}`, the whole of `d` (no parts collected: no allocation per line).
fn is_dsn(d: &[u8]) -> bool {
    let mut parts = d.split(|&b| b == b'.');
    let num = |p: Option<&[u8]>, max: usize| p.is_some_and(|p| (1..=max).contains(&p.len()) && p.iter().all(u8::is_ascii_digit));
    num(parts.next(), 1) && num(parts.next(), 3) && num(parts.next(), 3) && parts.next().is_none()
}

fn read_delivery<'a>(f: &'a Fast, msg: &'a [u8], row: &mut Row<'a>) -> Read<'a> {
    let Some((id, rest)) = qid_prefix(msg) else { return Read::No };
    let Some(rest) = rest.strip_prefix(b"to=") else { return Read::No };
    let Some(to) = plain_addr(rest) else { return Read::Unsure };
    let mut rest = &rest[to.len() + 1..];
    let mut orig = None;
    if let Some(r) = rest.strip_prefix(b" orig_to=") {
        let Some(o) = plain_addr(r) else { return Read::Unsure };
        orig = Some(o);
        rest = &r[o.len() + 1..];
    }
    let Some(rest) = rest.strip_prefix(b" relay=") else { return Read::Unsure };
    let Some(comma) = memchr::memchr(b',', rest) else { return Read::Unsure };
    let relay = &rest[..comma];
    if relay.is_empty() {
        return Read::Unsure;
    }
    let mut rest = &rest[comma + 1..];
    if let Some(r) = rest.strip_prefix(b" conn_use=") {
        let n = r.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || r.get(n) != Some(&b',') {
            return Read::Unsure;
        }
        rest = &r[n + 1..];
    }
    let Some(rest) = rest.strip_prefix(b" delay=") else { return Read::Unsure };
    let n = rest.iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count();
    let Some(delay) = decimal(&rest[..n]) else { return Read::Unsure };
    let Some(rest) = rest[n..].strip_prefix(b", delays=") else { return Read::Unsure };
    let n = rest.iter().take_while(|b| b.is_ascii_digit() || **b == b'.' || **b == b'/').count();
    let Some(rest) = rest[n..].strip_prefix(b", dsn=") else { return Read::Unsure };
    if n == 0 {
        return Read::Unsure;
    }
    // \d\.\d{1,3}\.\d{1,3}
    let Some(comma) = memchr::memchr(b',', rest) else { return Read::Unsure };
    let dsn = &rest[..comma];
    let dsn_ok = is_dsn(dsn);
    let Some(rest) = rest[comma..].strip_prefix(b", status=") else { return Read::Unsure };
    if !dsn_ok {
        return Read::Unsure;
    }
    let n = rest.iter().take_while(|&&b| is_word(b) || b == b'-').count();
    if n == 0 {
        return Read::Unsure;
    }
    let status = &rest[..n];
    let tail = &rest[n..];
    let reply: &[u8] = if tail.is_empty() {
        b""
    } else if let Some(t) = tail.strip_prefix(b" (") {
        t.strip_suffix(b")").unwrap_or(t)
    } else {
        return Read::Unsure;
    };
    if !set_relay(row, relay) {
        return Read::Unsure;
    }
    row.queue_id = Some(Cow::Borrowed(id));
    row.recipient = text(strip_brackets(to));
    row.orig_recipient = text(orig.and_then(strip_brackets));
    row.delay = Some(delay);
    row.dsn = Some(Cow::Borrowed(dsn));
    row.status = Some(Cow::Borrowed(status));
    if !f.reply(row, reply, false) {
        return Read::Unsure;
    }
    row.code_origin = row.reply_code.map(|_| "logged");
    done(row)
}

#[cfg(test)]
#[path = "postfix_envelope_tests.rs"]
mod envelope_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edit, XorShift};
    use crate::translate::re2_to_rust;
    use regex::bytes::Regex;

    /// [`qid_prefix`] as the first ':' and [`is_qid`] read it, on ids of both alphabets,
    /// vowels, other bytes and lengths about the bounds.
    #[test]
    fn qid_prefix_as_the_first_colon() {
        let by_colon = |msg: &[u8]| -> Option<(Vec<u8>, Vec<u8>)> {
            let colon = msg.iter().position(|&b| b == b':')?;
            let (id, rest) = (&msg[..colon], &msg[colon..]);
            (is_qid(id) && rest.starts_with(b": ")).then(|| (id.to_vec(), rest[2..].to_vec()))
        };
        let alphabet: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:: -.\xc3";
        let mut rng = XorShift(0x51D_0CAB);
        let mut hits = 0;
        for _ in 0..200_000 {
            let n = (rng.next() % 30) as usize;
            let kind = rng.next() % 3;
            let mut msg: Vec<u8> = (0..n)
                .map(|_| match kind {
                    0 => b"0123456789ABCDEF"[(rng.next() % 16) as usize],
                    1 => b"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"[(rng.next() % 51) as usize],
                    _ => alphabet[(rng.next() % alphabet.len() as u64) as usize],
                })
                .collect();
            if rng.next() % 8 == 0 && !msg.is_empty() {
                let at = (rng.next() % msg.len() as u64) as usize;
                msg[at] = alphabet[(rng.next() % alphabet.len() as u64) as usize];
            }
            msg.extend_from_slice([&b": removed"[..], b":x", b": ", b"", b" : a", b"::"][(rng.next() % 6) as usize]);
            let got = qid_prefix(&msg).map(|(a, b)| (a.to_vec(), b.to_vec()));
            assert_eq!(got, by_colon(&msg), "{}", String::from_utf8_lossy(&msg));
            hits += usize::from(got.is_some());
        }
        assert!(hits > 20_000, "{hits}");
    }

    /// [`decimal`] as the std parser reads the same text, on numbers of 1-24 bytes.
    #[test]
    fn decimal_as_parse() {
        let mut rng = XorShift(0xDEC_0DE5);
        let mut read = 0;
        for _ in 0..300_000 {
            let n = 1 + (rng.next() % 24) as usize;
            let mut t: Vec<u8> = (0..n).map(|_| b"0123456789"[(rng.next() % 10) as usize]).collect();
            if rng.next() % 4 != 0 {
                let at = (rng.next() % n as u64) as usize;
                t[at] = b'.';
            }
            if rng.next() % 50 == 0 {
                let at = (rng.next() % n as u64) as usize;
                t[at] = b'.';
            }
            let want = (t.iter().filter(|&&b| b == b'.').count() <= 1 && t[0] != b'.' && t[n - 1] != b'.')
                .then(|| std::str::from_utf8(&t).unwrap().parse::<f64>().unwrap());
            let got = decimal(&t);
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{}", String::from_utf8_lossy(&t));
            read += usize::from(got.is_some());
        }
        assert!(read > 100_000, "{read}");
    }

    #[test]
    fn qids() {
        assert!(is_qid(b"8BEA358063A"));
        assert!(is_qid(b"3xYzbcdfgh"));
        assert!(!is_qid(b"NOQUEUE"));
        assert!(!is_qid(b"abcde"));
    }

    #[test]
    fn dsn_as_the_pattern() {
        let re = Regex::new(r"^\d\.\d{1,3}\.\d{1,3}$").unwrap();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for seed in [&b"2.0.0"[..], b"5.1.10", b"4.7.123", b"2.0"] {
            for _ in 0..3000 {
                let mut d = seed.to_vec();
                for _ in 0..(rng.next() % 3) {
                    edit(&mut d, &mut rng, b".0123456789a");
                }
                assert_eq!(is_dsn(&d), re.is_match(&d), "{}", String::from_utf8_lossy(&d));
            }
        }
    }

    #[test]
    fn envelope_split_is_the_shortest() {
        let (text, e) = split_envelope(b"550 5.1.1 <a@b>: no; from=<s@x> to=<r@y> proto=ESMTP helo=<h>").unwrap();
        assert_eq!(text, b"550 5.1.1 <a@b>: no");
        assert_eq!(e, (Some(&b"<s@x>"[..]), Some(&b"<r@y>"[..]), Some(&b"ESMTP"[..]), Some(&b"h"[..])));
        let (text, e) = split_envelope(b"no to=<a> here; from=<s>").unwrap();
        assert_eq!((text, e.0, e.1), (&b"no to=<a> here"[..], Some(&b"<s>"[..]), None));
    }

    /// Every reader's spans agree with its pattern run by the regex crate, on mutated lines:
    /// where the regex does not match, the reader says No or Unsure.
    #[test]
    fn readers_never_take_a_line_their_pattern_does_not_match() {
        let seeds: [(&str, &[u8]); 30] = [
            ("smtpd.connect", b"connect from mail.example.com[192.0.2.1]"),
            ("smtpd.disconnect", b"disconnect from a[1.2.3.4]:25 ehlo=1 quit=1 commands=2"),
            ("smtpd.client", b"8BEA358063A: client=x[1.2.3.4], sasl_method=LOGIN, sasl_username=u"),
            ("smtpd.reject", b"NOQUEUE: reject: RCPT from a[1.2.3.4]: 554 5.7.1 no; from=<a@b> to=<c@d> proto=ESMTP helo=<h>"),
            ("smtpd.lost", b"lost connection after EHLO (1/2 commands) from a[1.2.3.4]"),
            ("smtpd.timeout", b"timeout after DATA (0/1 commands) from a[1.2.3.4]:25"),
            ("smtpd.too_many_errors", b"too many errors after RCPT from a[1.2.3.4]"),
            ("smtpd.pipelining", b"improper command pipelining after CONNECT from a[1.2.3.4]: EHLO x\\r\\n"),
            ("smtpd.non_smtp", b"warning: non-SMTP command from unknown[1.2.3.4]: CONNECT 1.2.3.4:25 HTTP/1.0"),
            ("smtpd.sasl_failed", b"warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=a"),
            ("tls.in", b"Anonymous TLS connection established from a[1.2.3.4]: TLSv1.3 with cipher X"),
            ("postscreen.connect", b"CONNECT from [1.2.3.4]:5 to [5.6.7.8]:25"),
            ("postscreen.pass", b"PASS OLD [1.2.3.4]:5"),
            ("postscreen.dnsbl", b"DNSBL rank 3 for [1.2.3.4]:5"),
            ("postscreen.pregreet", b"PREGREET 11 after 0.1 from [1.2.3.4]:5: EHLO x\\r\\n"),
            ("postscreen.hangup", b"HANGUP after 0.5 from [1.2.3.4]:5 in tests after SMTP handshake"),
            ("dnsblog.listed", b"addr 1.2.3.4 listed by domain zen.example as 127.0.0.2"),
            ("qmgr.active", b"8BEA358063A: from=<a@b>, size=12, nrcpt=1 (queue active)"),
            ("bounce.notice", b"8BEA358063A: sender non-delivery notification: 150F2403BD2"),
            ("pickup", b"635EFF9A641: uid=1000 from=<backup>"),
            ("pickup", b"635EFF9A641: uid=0 from=<> orig_id=150F2403BD2"),
            ("delivery.status", b"8BEA358063A: to=<a@b>, relay=mx[1.2.3.4]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)"),
            ("smtp.refused_to_talk", b"8BEA358063A: host mx[1.2.3.4] refused to talk to me: 421 busy"),
            ("smtp.refused_to_talk", b"host mx[1.2.3.4]:25 refused to talk to me: 554 go away"),
            ("smtp.connect_failed", b"connect to mx.example[1.2.3.4]:25: Connection refused"),
            ("smtp.connect_failed", b"connect to private/dovecot-lmtp: No such file or directory"),
            ("smtp.connect_failed", b"connect to a]b[1.2.3.4]: Connection timed out"),
            ("anvil.max", b"statistics: max connection rate 1/60s for (smtp:1.2.3.4) at Oct 26 18:13:50"),
            ("anvil.max", b"statistics: max connection count 3 for ([::1]:25:2001:db8::1) at now"),
            ("stats", b"statistics: max cache size 1 at Oct 26 18:13:50"),
        ];
        let all = patterns();
        let alphabet: &[u8] = b" :[]<>\",;()=0123456789aZ.-\t";
        let mut rng = XorShift(0x2545F4914F6CDD1D);
        let fields = Fields::new(
            r"(?:^|: |\(|\s)(?P<code>[2-5][0-9][0-9])(?:[ -]|$)(?:[2-5][0-9][0-9][ -])?(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3}\b)?",
            r"(?:^|[\s(\[-])(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[\s,;:)\].])",
            r"(?:in reply to (?P<a>.+?) command)",
            r"queued as (?P<q>[0-9A-Za-z-]{5,})",
            vec![("RCPT".into(), "RCPT TO".into()), ("EHLO".into(), "HELO/EHLO".into())],
        )
        .unwrap();
        let table = all.iter().map(|(n, e, r)| (n.to_string(), r.clone(), e.to_string(), None)).collect();
        let mut actions = HashMap::new();
        actions.insert("reject".to_string(), "reject".to_string());
        let fast = Fast::new(table, HashMap::new(), actions, fields);
        assert_eq!(fast.enabled.len(), all.len());
        let mut taken = 0;
        for (name, seed) in seeds {
            let (_, _, rx) = all.iter().find(|p| p.0 == name).unwrap();
            let re = Regex::new(&re2_to_rust(rx).unwrap()).unwrap();
            let k = fast.kinds.iter().find(|k| k.name == name).unwrap();
            for i in 0..3000 {
                let mut line = seed.to_vec();
                if i > 0 {
                    for _ in 0..(1 + rng.next() % 3) {
                        edit(&mut line, &mut rng, alphabet);
                    }
                }
                let mut row = Row::default();
                let got = (k.read)(&fast, &line, &mut row);
                if let Read::Yes = got {
                    assert!(re.is_match(&line), "{name} took {}", String::from_utf8_lossy(&line));
                    taken += 1;
                }
                if i == 0 {
                    assert!(matches!(got, Read::Yes), "{name} seed");
                }
            }
        }
        assert!(taken > 3000);
    }

    /// `set_client_at` with the brackets `client_at` found sets the columns `set_client` sets
    /// from the spec alone (r27-nparse: the spec is no longer scanned twice).
    #[test]
    fn client_spans_set_the_columns_as_the_spec_does() {
        let mut rng = XorShift(0x0027_C11E_5EED_0001);
        let seeds: [&[u8]; 5] = [
            b"mail.example.org[192.0.2.1]:25: x",
            b"unknown[2001:db8::1]",
            b"[198.51.100.7]:4294967296, sasl_method=PLAIN",
            b"h[]:12 to [192.0.2.10]:25",
            b"a b[1.2.3.4]:99999999999",
        ];
        let tails: [fn(&[u8]) -> bool; 4] = [<[u8]>::is_empty, |t| t.starts_with(b": "), |t| t.is_empty() || t.starts_with(b", "), |_| true];
        let alphabet: &[u8] = b"[]:0123456789 ,.-a\t\xc3";
        let mut found = 0;
        for k in 0..40_000usize {
            let mut s = seeds[k % seeds.len()].to_vec();
            for _ in 0..(rng.next() % 3) {
                edit(&mut s, &mut rng, alphabet);
            }
            for follow in tails {
                let Some(c) = client_at(&s, follow) else { continue };
                assert_eq!(client_then(&s, follow), Some(c.end));
                found += 1;
                let (mut a, mut b) = (Row::default(), Row::default());
                let (ok_a, ok_b) = (set_client_at(&mut a, &s, c), set_client(&mut b, &s[..c.end]));
                assert_eq!(ok_a, ok_b, "{:?}", String::from_utf8_lossy(&s));
                if ok_a {
                    assert_eq!((&a.client_host, &a.client_ip, a.client_port), (&b.client_host, &b.client_ip, b.client_port));
                }
            }
        }
        assert!(found > 20_000, "{found}");
    }
}
