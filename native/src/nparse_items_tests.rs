//! Tests of round 25's cuts (r25-nparse): each fast path against the way it replaces, on
//! random inputs, and near-misses it must leave to the slower path.

use crate::exim::{arrival_by_scans, message, Host, Row};
use crate::nparse_items::{arrival_items, may_start, Tries};
use crate::postfix::{patterns, reader, Read};
use crate::testutil::{edit, XorShift};

#[allow(clippy::type_complexity)]
fn host<'a>(h: &Host<'a>) -> (Option<&'a [u8]>, Option<&'a [u8]>, Option<&'a [u8]>, Option<i32>, bool) {
    (h.host, h.helo, h.ip, h.port, h.bad)
}

#[allow(clippy::type_complexity)]
fn arrival_cells<'a>(r: &Row<'a>) -> (Vec<Option<&'a [u8]>>, Option<i64>, Option<&'static str>, Option<&'a [u8]>) {
    let cells = vec![r.queue_id, r.sender, r.protocol, r.message_id, r.tls, r.sasl_username, r.client.host, r.client.helo, r.client.ip];
    let related = match &r.related_id {
        Some(std::borrow::Cow::Borrowed(b)) => Some(*b),
        _ => None,
    };
    (cells, r.size, r.direction, related)
}

/// `exim::arrival` (one pass over the `=` signs) against the item-by-item scans it replaced, on
/// arrival lines with keys repeated, glued to other words, emptied and cut.
#[test]
fn arrival_items_as_the_scans_read_them() {
    let seeds: [&[u8]; 5] = [
        b"emma@our.test H=(laptop-emma) [192.0.2.193]:26606 I=[192.0.2.10]:587 P=esmtpsa X=TLS1.3:T:128 A=dovecot_plain:emma@our.test S=22147 id=<d8@our.test>",
        b"<> R=1xVHTW-0000ZZ-KK U=mail P=local S=40",
        b"a@b H=mx.example (helo P=x) [1.2.3.4] P= P=smtp S= S=12 S=13 xid=1 id= id=<m@x> R=short R=1xVHTW-0000ZZ-KK",
        b"a@b H=bad H=mx [1.2.3.4] A=plain A=login:user X= X=TLS",
        b"s S=99999999999999999999 P=x",
    ];
    let alphabet: &[u8] = b" =HPSXARid<>[]():.0123456789aZ-\t";
    let mut rng = XorShift(0xA5A5_5A5A_0F0F_F0F0);
    let (mut same, mut read) = (0, 0);
    for seed in seeds {
        for i in 0..6000 {
            let mut m = seed.to_vec();
            if i > 0 {
                for _ in 0..(1 + rng.next() % 4) {
                    edit(&mut m, &mut rng, alphabet);
                }
            }
            let mut row = Row::default();
            let a = crate::exim::arrival(b"1xVHTW-0000ZZ-KK", &m, &mut row).map(|()| row);
            let b = arrival_by_scans(b"1xVHTW-0000ZZ-KK", &m);
            assert_eq!(a.is_some(), b.is_some(), "{}", String::from_utf8_lossy(&m));
            if let (Some(a), Some(b)) = (a, b) {
                assert_eq!(arrival_cells(&a), arrival_cells(&b), "{}", String::from_utf8_lossy(&m));
                assert_eq!(host(&a.client), host(&b.client), "{}", String::from_utf8_lossy(&m));
                read += 1;
            }
            same += 1;
        }
    }
    assert!(same == 30000 && read > 15000, "{read}");
    // the first H= decides (a later host is not looked for); `xid=` is no id
    assert_eq!(arrival_items(b" H=bad H=mx [1.2.3.4]")[0], Some(3));
    assert_eq!(arrival_items(b" xid=1 id=2")[3], Some(10));
    assert_eq!(arrival_items(b"P=x")[1], Some(2));
    assert!(message(&crate::exim::tests::spec(), b"1xVHTW-0000ZZ-KK <= a@b H=bad H=mx [1.2.3.4] P=x").is_none());
}

fn fields() -> crate::fields::Fields {
    crate::fields::Fields::new(
        crate::fields::CODE,
        r"(?:^|[\s(\[-])(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[\s,;:)\].])",
        r"(?:in reply to (?P<a>.+?) command)",
        crate::fields::QUEUED,
        vec![("RCPT".into(), "RCPT TO".into()), ("EHLO".into(), "HELO/EHLO".into()), ("DATA".into(), "DATA".into())],
    )
    .unwrap()
}

/// A reader left out for a message's first byte (`may_start` false) says No of every such
/// message: each reader's seed and mutations of it, with every first byte put in front or in
/// place of the first.
#[test]
fn readers_left_out_by_first_byte_say_no() {
    let seeds: &[&[u8]] = &[
        b"connect from mail.example.com[192.0.2.1]",
        b"disconnect from a[1.2.3.4]:25 ehlo=1 quit=1 commands=2",
        b"8BEA358063A: client=x[1.2.3.4], sasl_method=LOGIN, sasl_username=u",
        b"NOQUEUE: reject: RCPT from a[1.2.3.4]: 554 5.7.1 no; from=<a@b> to=<c@d> proto=ESMTP helo=<h>",
        b"8BEA358063A: reject: RCPT from a[1.2.3.4]: 554 5.7.1 no; from=<a@b> to=<c@d> proto=ESMTP helo=<h>",
        b"lost connection after EHLO (1/2 commands) from a[1.2.3.4]",
        b"improper command pipelining after CONNECT from a[1.2.3.4]: EHLO x\\r\\n",
        b"warning: non-SMTP command from unknown[1.2.3.4]: CONNECT 1.2.3.4:25 HTTP/1.0",
        b"warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=a",
        b"Anonymous TLS connection established from a[1.2.3.4]: TLSv1.3 with cipher X",
        b"Trusted TLS connection established to mx[1.2.3.4]:25: TLSv1.3 with cipher X",
        b"CONNECT from [1.2.3.4]:5 to [5.6.7.8]:25",
        b"DISCONNECT [1.2.3.4]:5",
        b"PASS OLD [1.2.3.4]:5",
        b"WHITELIST VETO [1.2.3.4]:5",
        b"DNSBL rank 3 for [1.2.3.4]:5",
        b"PREGREET 11 after 0.1 from [1.2.3.4]:5: EHLO x\\r\\n",
        b"HANGUP after 0.5 from [1.2.3.4]:5 in tests after SMTP handshake",
        b"addr 1.2.3.4 listed by domain zen.example as 127.0.0.2",
        b"8BEA358063A: message-id=<a@b>",
        b"8BEA358063A: from=<a@b>, size=12, nrcpt=1 (queue active)",
        b"8BEA358063A: removed",
        b"8BEA358063A: sender non-delivery notification: 150F2403BD2",
        b"635EFF9A641: uid=0 from=<> orig_id=150F2403BD2",
        b"8BEA358063A: to=<a@b>, relay=mx[1.2.3.4]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)",
        b"host mx[1.2.3.4]:25 refused to talk to me: 554 go away",
        b"connect to mx.example[1.2.3.4]:25: Connection refused",
        b"statistics: max connection rate 1/60s for (smtp:1.2.3.4) at Oct 26 18:13:50",
        b"statistics: max cache size 1 at Oct 26 18:13:50",
    ];
    let all = patterns();
    let table = all.iter().map(|(n, e, r)| (n.to_string(), r.clone(), e.to_string(), None)).collect();
    let mut actions = std::collections::HashMap::new();
    actions.insert("reject".to_string(), "reject".to_string());
    let fast = crate::postfix::Fast::new(table, std::collections::HashMap::new(), actions, fields());
    let alphabet: &[u8] = b" :[]<>\",;()=0123456789aZ.-\tNwcdPsh_";
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let (mut left_out, mut yes) = (0, 0);
    for &(name, _, _) in &all {
        let read = reader(name).unwrap();
        for seed in seeds {
            for i in 0..60 {
                let mut line = seed.to_vec();
                if i > 0 {
                    for _ in 0..(1 + rng.next() % 3) {
                        edit(&mut line, &mut rng, alphabet);
                    }
                }
                let mut row = crate::rows::Row::default();
                if let Some(&b) = line.first() {
                    if matches!(read(&fast, &line, &mut row), Read::Yes) {
                        assert!(may_start(name, b), "{name} took {}", String::from_utf8_lossy(&line));
                        yes += 1;
                    }
                }
                for b in 0..=255u8 {
                    if may_start(name, b) {
                        continue;
                    }
                    let mut put = vec![b];
                    put.extend_from_slice(&line);
                    let mut swapped = line.clone();
                    if let Some(f) = swapped.first_mut() {
                        *f = b;
                    }
                    for m in [put, swapped] {
                        let mut row = crate::rows::Row::default();
                        assert!(matches!(read(&fast, &m, &mut row), Read::No), "{name} on {}", String::from_utf8_lossy(&m));
                        left_out += 1;
                    }
                }
            }
        }
    }
    assert!(left_out > 100_000 && yes > 500, "{left_out} {yes}");
}

/// `Tries::of`: the kinds in their order, those that may start with the byte; all for an
/// empty message.
#[test]
fn tries_keep_the_order() {
    let names = ["smtpd.connect", "smtpd.lost", "smtpd.client", "smtpd.disconnect", "postscreen.pass"];
    let t = Tries::new(vec![0, 1, 2, 3, 4], |i| names[i]);
    assert_eq!(t.of(b"connect from x"), &[0, 1, 2]);
    assert_eq!(t.of(b"disconnect"), &[1, 2, 3]);
    assert_eq!(t.of(b"D"), &[1, 2, 4]);
    assert_eq!(t.of(b" x"), &[1]);
    assert_eq!(t.of(b""), &[0, 1, 2, 3, 4]);
}
