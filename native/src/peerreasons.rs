//! pflogsumm's reject "reason" of a Postfix reply text (`analyzer/report/peers_pf_rejects.py`'s
//! `_pf_reject_reason_of`, the specification: Arrow's RE2 rewrites there, the same patterns here,
//! compiled once). Both engines match leftmost-first with the same greediness and anchors; `\d`
//! is written `[0-9]` (RE2's is ASCII). The patterns run over bytes (no Unicode classes: each
//! match and group starts and ends beside an ASCII byte or an end of the text, so on UTF-8 text
//! they match where the Unicode ones do). `tests/test_peer_rows.py` holds the two equal.

use regex::bytes::{Regex, RegexBuilder};
use std::sync::OnceLock;

struct Rules {
    mail: Regex,
    other: Vec<(Regex, &'static str)>,
    recipient: Regex,
    tail: Vec<(Regex, &'static str)>,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let re = |p: &str| RegexBuilder::new(p).unicode(false).build().expect("a valid pattern");
        Rules {
            mail: re(r"^[0-9]{3} (?:<.+>: )?([^;:]+)[;:]?.*$"),
            other: vec![
                (re(r"^([0-9]{3} <).*?(>:)"), "${1}${2}"),
                (re(r"^(?:[0-9]{3} [0-9]\.[0-9]\.[0-9] )(Protocol error);.*$"), "${1}"),
                (re(r"^(?:.*?[:;] )(?:\[[^\]]+\] )?([^;,]+)[;,].*$"), "${1}"),
                (re(r"^((?:Sender|Recipient) address rejected: [^:]+):.*$"), "${1}"),
                (re(r"(client|Client host|Sender address) .+? blocked"), "blocked"),
            ],
            recipient: re(r"^(Recipient address rejected:|User unknown( |$))"),
            tail: vec![
                (re(r"^.*?[0-9]{3} (Improper use of SMTP command pipelining);.*$"), "${1}"),
                (re(r"^.*?[0-9]{3} (Message size exceeds fixed limit);.*$"), "${1}"),
                (re(r"^.*?[0-9]{3} (Server configuration (?:error|problem));.*$"), "(Local) ${1}"),
            ],
        }
    })
}

/// The reason of reply ``text`` (a null one read as empty) for a MAIL reject (``mail``) or another.
pub fn reason(text: &[u8], mail: bool) -> Vec<u8> {
    let r = rules();
    // the envelope maillens keeps apart ('; from=<...> to=<...>') ends the reason, as in the log line
    let mut s = [text, b"; from=<>"].concat();
    if mail {
        s = r.mail.replacen(&s, 1, &b"${1}"[..]).into_owned();
    } else {
        for (re, with) in &r.other {
            s = re.replacen(&s, 1, with.as_bytes()).into_owned();
        }
    }
    if s.starts_with(b"Sender address rejected:") || r.recipient.is_match(&s) {
        return s;
    }
    for (re, with) in &r.tail {
        if re.is_match(&s) {
            return re.replacen(&s, 1, with.as_bytes()).into_owned();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    fn reason(text: &str, mail: bool) -> String {
        String::from_utf8(super::reason(text.as_bytes(), mail)).unwrap()
    }

    #[test]
    fn reasons_of_each_rule() {
        assert_eq!(reason("550 5.1.1 <a@b>: Recipient address rejected: User unknown in local table", false),
                   "Recipient address rejected: User unknown in local table");
        assert_eq!(reason("554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using zen", false),
                   "blocked using zen");
        assert_eq!(reason("553 5.7.1 <x@y>: Sender address rejected: not owned by user u", true), "5.7.1 <x@y>");
        assert_eq!(reason("503 5.5.0 <a>: Improper use of SMTP command pipelining; x", false),
                   "Improper use of SMTP command pipelining");
        assert_eq!(reason("501 5.5.2 Protocol error; junk", false), "Protocol error");
        assert_eq!(reason("501 5.5.2 Protocol error; junk", true), "5.5.2 Protocol error");
        assert_eq!(reason("", false), "; from=<>");
    }
}
