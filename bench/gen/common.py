"""What both simulations draw on: the name and address pools of the simulated world, our own
server's identity, id and duration formatting, remote destinations and daemon pid pools."""

from __future__ import annotations

import bisect

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy", "oscar", "pat", "quinn", "sam", "tina", "uma", "yusuf", "zoe", "li", "maria", "jose", "anna", "lukas", "sofia", "noah", "emma", "omar", "fatima", "chen", "priya"]
LAST = ["smith", "jones", "garcia", "mueller", "rossi", "dubois", "tanaka", "kim", "novak", "silva", "khan", "nguyen", "ivanova", "larsen", "okafor", "schmidt", "lopez", "brown", "wilson", "moreau"]
ROLES = ["info", "sales", "support", "billing", "noreply", "newsletter", "hr", "admin", "office", "contact", "orders", "jobs"]
WORDS = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "wonka", "tyrell", "cyberdyne", "soylent", "oceanic", "aperture", "blackmesa", "massive", "dynamic", "nakatomi", "gringotts", "monarch", "piedpiper", "prestige", "sirius", "virtucon", "zorg", "ajax", "bluth", "dunder", "krusty", "planet", "contoso", "fabrikam", "northwind", "tailspin", "adatum", "litware", "proseware", "wingtip", "woodgrove", "fourthcoffee"]
SUFFIX = ("", "", "-mail", "-corp", "-group", "shop", "news", "-hq", "labs", "-online")
TLDS = (".example", ".test", ".example", ".test", ".example.com", ".example.net")
BRUTE_NAMES = ("admin", "info", "test", "webmaster", "postmaster", "sales", "support", "user",
               "office", "contact")
SPAM_HELO = ("User", "ylmf-pc", "localhost", "WIN-CLJ1B0GQ6JP", "[{ip}]", "mail.{dom}",
             "{dom}", "smtp.{dom}")
NONSMTP = ("GET / HTTP/1.1", "CONNECT 203.0.113.80:25 HTTP/1.0", "\\x16\\x03\\x01",
           "USER root", "HEAD / HTTP/1.0")

TLS13 = ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
         "server-signature RSA-PSS (2048 bits) server-digest SHA256")
TLS13b = ("TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 "
          "server-signature ECDSA (P-256) server-digest SHA256")
TLS12 = "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"
EXIM_TLS = ("TLS1.3:TLS_AES_256_GCM_SHA384:256", "TLS1.3:TLS_AES_128_GCM_SHA256:128",
            "TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256")

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

MY_IP = "192.0.2.10"
OUR_DOMAINS = ("ourdomain.test", "ourbrand.test")
MS_KINDS = ("ms", "m365")


def b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 62)
        out.append(B62[d])
    return "".join(reversed(out))


def fmt_delay(x: float) -> str:
    """Postfix style: 0.47, 5.9, 23, 0."""
    if x < 0.005:
        return "0"
    if x < 1:
        s = f"{x:.2f}"
    elif x < 10:
        s = f"{x:.1f}"
    else:
        return str(int(x))
    s = s.rstrip("0").rstrip(".")
    return s


def exim_dur(x: float) -> str:
    s = int(x)
    if s < 60:
        return f"{s}s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            out.append(f"{s // size}{unit}")
            s %= size
    if s:
        out.append(f"{s}s")
    return "".join(out)


class Dest:
    """A remote destination domain with its MX hosts and behaviour."""

    __slots__ = ("domain", "greylist", "incident_prone", "kind", "mxs", "p_unknown")

    def __init__(self, domain, mxs, kind, greylist=False, p_unknown=0.015):
        self.domain = domain
        self.mxs = mxs  # list of (hostname, ip)
        self.kind = kind  # gmail, ms, m365, yahoo, tail
        self.greylist = greylist
        self.p_unknown = p_unknown
        self.incident_prone = False


class Pool:
    """Long-lived daemon processes: a session gets a pid that is not busy at that time."""

    __slots__ = ("gen", "size", "slots")

    def __init__(self, gen, size):
        self.gen = gen
        self.size = size
        self.slots = {}

    def get(self, a: float, b: float) -> int:
        slot = int(a // 900)
        lst = self.slots.get(slot)
        if lst is None:
            base = slot * 900.0
            lst = [[self.gen.new_pid(base), [], []] for _ in range(self.size)]
            self.slots[slot] = lst
        rr = self.gen.r.randrange
        for _ in range(5):
            e = lst[rr(len(lst))]
            starts, ends = e[1], e[2]
            i = bisect.bisect_left(starts, a)
            if i > 0 and ends[i - 1] > a:
                continue
            if i < len(starts) and starts[i] < b:
                continue
            starts.insert(i, a)
            ends.insert(i, b)
            return e[0]
        e = [self.gen.new_pid(a), [a], [b]]
        lst.append(e)
        return e[0]



def cumulative(table) -> tuple[list, list, float]:
    """Weighted choices ``((fn, weight), ...)`` -> (fns, cumulative weights, total)."""
    fns, cum, acc = [], [], 0.0
    for fn, w in table:
        acc += w
        fns.append(fn)
        cum.append(acc)
    return fns, cum, acc


def merge_groups(groups: list) -> list:
    """Recipient groups ``[(dest, [(rcpt, orig), ...]), ...]`` with one group per destination
    (a Dest by domain, "lmtp"/"local" by name), in order of first appearance."""
    merged: dict = {}
    for d, rc in groups:
        key = d if isinstance(d, str) else d.domain
        if key in merged:
            merged[key][1].extend(rc)
        else:
            merged[key] = (d, list(rc))
    return list(merged.values())


def ms_block_reply(s3150: bool, srv: str, stamp: str) -> str:
    """Microsoft's refusal of our IP: the S3150 block list (5.7.1) or the banned-IP 5.7.606."""
    if s3150:
        return (f"550 5.7.1 Unfortunately, messages from [{MY_IP}] weren't sent. Please "
                f"contact your Internet service provider since part of their network is "
                f"on our block list (S3150). You can also refer your provider to "
                f"http://mail.live.com/mail/troubleshooting.aspx#errors. [{srv} {stamp}]")
    return (f"550 5.7.606 Access denied, banned sending IP [{MY_IP}]. To request "
            f"removal from this list please visit https://sender.office.com/ and "
            f"follow the directions. For more information please go to  "
            f"http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [{srv} {stamp}]")
