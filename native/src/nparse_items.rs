//! Round 25's cuts in the per-line work (r25-nparse): Exim arrival items found in one pass, the
//! Postfix readers tried by a message's first byte.

use crate::fields::is_space;

/// Where the values of an Exim arrival's items start in `f` (the items after the sender), in
/// the order H, P, S, id, X, A, R: for each key, the first ` KEY=` (at the start of `f` or after
/// a space, as `exim::key_starts` finds them) whose value is what `exim::arrival` reads — any
/// for H (its first one decides), a digit for S, a non-space byte (a non-empty `\S+`) for the
/// rest. One pass over the `=` signs, not one scan of the items per key.
pub fn arrival_items(f: &[u8]) -> [Option<usize>; 7] {
    let mut at = [None; 7];
    let mut left = 7;
    for q in memchr::memchr_iter(b'=', f) {
        // the key before the '=': "id", or one byte of H P S X A R
        let (slot, start) = if q >= 2 && f[q - 1] == b'd' && f[q - 2] == b'i' {
            (3, q - 2)
        } else if q >= 1 {
            let slot = match f[q - 1] {
                b'H' => 0,
                b'P' => 1,
                b'S' => 2,
                b'X' => 4,
                b'A' => 5,
                b'R' => 6,
                _ => continue,
            };
            (slot, q - 1)
        } else {
            continue;
        };
        if at[slot].is_some() || (start > 0 && f[start - 1] != b' ') {
            continue;
        }
        let v = q + 1;
        let takes = match slot {
            0 => true,
            2 => f.get(v).is_some_and(u8::is_ascii_digit),
            _ => f.get(v).is_some_and(|&b| !is_space(b)),
        };
        if takes {
            at[slot] = Some(v);
            left -= 1;
            if left == 0 {
                break;
            }
        }
    }
    at
}

/// Whether a Postfix reader (by its pattern's name) may say anything but No of a message that
/// starts with byte `b`: its pattern's fixed start (a word, a queue id, `\w+`) cannot start with
/// another. A name not listed here may start with any byte.
pub fn may_start(name: &str, b: u8) -> bool {
    let alnum = b.is_ascii_alphanumeric();
    match name {
        "smtpd.connect" | "smtp.connect_failed" => b == b'c',
        "smtpd.disconnect" => b == b'd',
        // `QID: ` (a queue id is alphanumeric), or NOQUEUE / host for these two
        "smtpd.client" | "smtpd.reject" | "cleanup.message_id" | "qmgr.active" | "qmgr.removed" | "delivery.status"
        | "bounce.notice" | "pickup" | "smtp.refused_to_talk" => alnum,
        "smtpd.sasl_failed" | "smtpd.non_smtp" => b == b'w',
        "smtpd.pipelining" => b == b'i',
        "tls.in" | "tls.out" => alnum || b == b'_',
        "postscreen.pregreet" => b == b'P',
        "postscreen.hangup" => b == b'H',
        "postscreen.connect" => b == b'C',
        "postscreen.disconnect" | "postscreen.dnsbl" => b == b'D',
        "postscreen.pass" => matches!(b, b'P' | b'W' | b'B' | b'A' | b'D'),
        "dnsblog.listed" => b == b'a',
        "anvil.max" | "stats" => b == b's',
        // lost, timeout, too many errors: their words anywhere make the reader unsure
        _ => true,
    }
}

/// A daemon's readers (indices into the kinds, in table order) by a message's first byte: the
/// readers that would say No of it left out.
pub struct Tries {
    all: Vec<usize>,
    at: Box<[u8; 256]>,
    lists: Vec<Vec<usize>>,
}

impl Tries {
    /// `kinds`: the daemon's readers in order; `name(i)`: reader i's pattern name.
    pub fn new<'n>(kinds: Vec<usize>, name: impl Fn(usize) -> &'n str) -> Tries {
        let mut at = Box::new([0u8; 256]);
        let mut lists: Vec<Vec<usize>> = Vec::new();
        for b in 0..=255u8 {
            let list: Vec<usize> = kinds.iter().copied().filter(|&i| may_start(name(i), b)).collect();
            let k = lists.iter().position(|l| *l == list).unwrap_or_else(|| {
                lists.push(list);
                lists.len() - 1
            });
            at[b as usize] = k as u8; // at most 256 lists
        }
        Tries { all: kinds, at, lists }
    }

    /// The readers to try on `msg`, in order.
    #[inline]
    pub fn of(&self, msg: &[u8]) -> &[usize] {
        match msg.first() {
            Some(&b) => &self.lists[self.at[b as usize] as usize],
            None => &self.all,
        }
    }
}
