"""The batch pipeline: a day split at every awkward place gives the all-at-once result; sinks
write the same table as the in-memory writer; the classifier cache answers like classify()."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analyzer.classify import classify
from analyzer.output import write_events
from analyzer.pipeline import Classifier, content_hash
from analyzer.reader import UnrecognisedLines, collect, open_stream, parse_logs
from analyzer.schema import to_pandas
from analyzer.sinks import SummaryFold, write_stream
from analyzer.summary import summarise, summarise_fold

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
REMOVED = "postfix/qmgr[7]: 4BCD1234: removed"


def _same(a, b) -> None:
    assert len(a.events) == len(b.events)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.counts == b.counts
    # not_mail is left out: analyzer.coalesce counts Exim-through-syslog lines as not mail when a
    # small file is matched with its neighbours, and not when alone (reported to its owner)
    drop = lambda fs: [{k: v for k, v in f.__dict__.items() if k != "not_mail"} for f in fs]  # noqa: E731
    assert drop(a.files) == drop(b.files)


@pytest.mark.parametrize("batch_lines", [1, 2, 3, 7, 50])
def test_sample_day_split_anywhere_equals_one_batch(batch_lines):
    # batch boundaries fall inside messages, across each rotated set, and between a mainlog
    # line and its rejectlog copy: the events, counts and file summaries stay the same
    whole = parse_logs([str(SAMPLES)], tz="UTC", batch_lines=1_000_000)
    assert whole.counts.duplicates > 0  # the rejectlog copies were merged
    split = parse_logs([str(SAMPLES)], tz="UTC", batch_lines=batch_lines)
    _same(whole, split)


def test_one_and_two_workers_are_identical():
    one = parse_logs([str(SAMPLES)], tz="UTC", batch_lines=5, workers=1)
    two = parse_logs([str(SAMPLES)], tz="UTC", batch_lines=5, workers=2)
    _same(one, two)


def test_new_year_across_batch_boundary(tmp_path):
    p = tmp_path / "mail.log"
    lines = [f"Dec 31 23:59:5{i} mx {REMOVED}" for i in range(3)] + [f"Jan  1 00:00:0{i} mx {REMOVED}" for i in range(3)]
    p.write_text("\n".join(lines) + "\n")
    jan = pd.Timestamp("2027-01-02T12:00:00Z").timestamp()
    os.utime(p, (jan, jan))
    for n in (1, 2, 3, 4, 100):
        ev = parse_logs([str(p)], tz="UTC", batch_lines=n).events
        assert list(ev["ts"].dt.year) == [2026] * 3 + [2027] * 3, n


def test_rejectlog_read_before_mainlog_still_merged_in_input_order(tmp_path):
    # a rejectlog given first is emitted after the mainlog by the stream; the collected table
    # is in input order and the copies are counted once, as in one pass over everything
    d = tmp_path / "exim"
    d.mkdir()
    shutil.copy(SAMPLES / "exim" / "mainlog.1", d / "mainlog.1")
    shutil.copy(SAMPLES / "exim" / "rejectlog", d / "rejectlog")
    ordered = parse_logs([str(d / "mainlog.1"), str(d / "rejectlog")], tz="UTC", batch_lines=3)
    reverse = parse_logs([str(d / "rejectlog"), str(d / "mainlog.1")], tz="UTC", batch_lines=3)
    assert ordered.counts.duplicates == reverse.counts.duplicates > 0
    key = ["ts", "event", "line_no"]
    pd.testing.assert_frame_equal(ordered.events.sort_values(key, ignore_index=True),
                                  reverse.events.sort_values(key, ignore_index=True))
    stream = open_stream([str(d / "rejectlog"), str(d / "mainlog.1")], tz="UTC", batch_lines=3)
    assert [b.source for b in stream][-1] == str(d / "rejectlog")
    # what is dropped: exactly the rejectlog events whose content the mainlog has
    main = parse_logs([str(d / "mainlog.1")], tz="UTC").events
    rej = parse_logs([str(d / "rejectlog")], tz="UTC").events
    tab = lambda df: pa.Table.from_pandas(df, preserve_index=False)  # noqa: E731
    dup = pd.Series(content_hash(tab(rej))).isin(content_hash(tab(main))).sum()
    assert ordered.counts.duplicates == dup


def test_content_hash_does_not_depend_on_the_batch():
    # an integer column hashes alike whether or not other rows of its batch are null
    ev = parse_logs([str(SAMPLES / "exim")], tz="UTC").events
    t = pa.Table.from_pandas(ev, preserve_index=False)
    whole = content_hash(t)
    parts = [content_hash(t.slice(i, 1)) for i in range(0, t.num_rows, 37)]
    assert [p[0] for p in parts] == list(whole[::37])


@pytest.mark.parametrize("sub", ["postfix", "exim/mainlog.1"])
def test_classifier_cache_equals_classify(sub):
    res = parse_logs([str(SAMPLES / sub)], tz="UTC")
    want = classify(res.events, attribute_causes=False)
    c = Classifier(limit=50, attributing=False)  # small: the cache is also emptied and refilled on the way
    got = collect(open_stream([str(SAMPLES / sub)], tz="UTC", batch_lines=40, classifier=c)).events
    pd.testing.assert_frame_equal(want, got)
    assert 0 < len(c._keys) <= (50 if sub == "postfix" else len(want))


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_stream_writer_equals_in_memory_writer(tmp_path, suffix):
    res = parse_logs([str(SAMPLES)], tz="UTC")
    want = tmp_path / f"want.{suffix}"
    write_events(classify(res.events), str(want))
    got = tmp_path / f"got.{suffix}"
    n = write_stream(open_stream([str(SAMPLES)], tz="UTC", batch_lines=64, classifier=Classifier()), str(got),
                     classified=True)
    assert n == len(res.events)
    if suffix == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(want), pd.read_parquet(got))
    elif suffix == "csv":
        assert want.read_bytes() == got.read_bytes()
    else:
        w, g = want.read_text(), got.read_text()
        assert [json.loads(x) for x in w.splitlines()] == [json.loads(x) for x in g.splitlines()]
        assert "postfix/smtp" in g and "\\/" not in g  # slashes are not escaped


def test_jsonl_keeps_backslashes_before_slashes(tmp_path):
    p = tmp_path / "mail.log"
    p.write_text("Nov 28 10:00:00 mx postfix/smtpd[1]: warning: odd\\/path a/b\n")
    out = tmp_path / "x.jsonl"
    write_stream(open_stream([str(p)], tz="UTC", year=2026), str(out))
    row = json.loads(out.read_text())
    assert row["program"] == "postfix/smtpd"
    assert "odd\\/path a/b" in json.dumps(row, ensure_ascii=False).replace("\\\\", "\\")


def test_empty_stream_writes_a_file_with_the_schema(tmp_path):
    p = tmp_path / "empty.log"
    p.write_text("")
    out = tmp_path / "e.parquet"
    assert write_stream(open_stream([str(p)], tz="UTC"), str(out), classified=True) == 0
    assert "cause" in pq.read_schema(out).names and pq.read_metadata(out).num_rows == 0


def test_failed_stream_leaves_no_output(tmp_path):
    p = tmp_path / "mail.log"
    p.write_text("Nov 28 10:00:00 mx postfix/smtpd[1]: something nobody logs\n")
    out = tmp_path / "x.parquet"
    stream = open_stream([str(p)], tz="UTC", year=2026)

    def checked():
        yield from stream
        raise UnrecognisedLines("strict")

    with pytest.raises(UnrecognisedLines):
        write_stream(checked(), str(out))
    assert not out.exists() and not list(tmp_path.glob(".x.parquet.*"))


def test_summary_fold_equals_summary_of_the_table():
    res = parse_logs([str(SAMPLES)], tz="UTC")
    res.events = classify(res.events)
    stream = open_stream([str(SAMPLES)], tz="UTC", batch_lines=33, classifier=Classifier())
    fold = SummaryFold().fold(stream)
    a = summarise(res)
    b = summarise_fold(fold, stream.counts, stream.files, stream.warnings)
    assert a == b
    assert a.by_cause and a.by_event[0][1] >= a.by_event[-1][1]


def test_gzip_input_streams_like_plain(tmp_path):
    src = (SAMPLES / "postfix" / "mail.log.1").read_bytes()
    (tmp_path / "a.log").write_bytes(src)
    with gzip.open(tmp_path / "b.log.gz", "wb") as fh:
        fh.write(src)
    a = parse_logs([str(tmp_path / "a.log")], tz="UTC", year=2026, batch_lines=9)
    b = parse_logs([str(tmp_path / "b.log.gz")], tz="UTC", year=2026, batch_lines=9)
    assert a.events.drop(columns=["source"]).equals(b.events.drop(columns=["source"]))
    assert to_pandas(pa.Table.from_pandas(a.events, preserve_index=False)).shape == a.events.shape


# --------------------------------------------------------------------------------------------
# search and trace: two streaming passes keep only the messages that can match


def _search_both(paths, filters):
    from analyzer.messages import link
    from analyzer.narrow import collect_matching, search_wanted
    from analyzer.search import search

    full = link(parse_logs(paths, tz="UTC").events)
    small = link(collect_matching(open_stream(paths, tz="UTC", batch_lines=17), search_wanted(filters)).events)
    a = search(full, filters).rows.drop(columns=["_msg"], errors="ignore")
    b = search(small, filters).rows.drop(columns=["_msg"], errors="ignore")
    return a, b, len(small.events), len(full.events)


@pytest.mark.parametrize("kw", [
    {"code": ["5xx"]}, {"code": ["4xx"]}, {"domain": ["*.example"]}, {"sender": ["*a*"]},
    {"code": ["550"], "domain": ["*"]}, {"text": "refused"}, {"cause": ["mailbox.unknown"]},
    {"recipient": ["b*"]}, {"code": ["2xx"], "sender": ["*e*"]}, {},
])
def test_two_pass_search_equals_search_of_everything(kw):
    from analyzer.search import Filters

    a, b, kept, total = _search_both([str(SAMPLES)], Filters(**kw))
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    if kw.get("code") == ["4xx"]:
        assert len(a) and kept < total / 3  # only the matching messages' lines were held


def test_two_pass_trace_equals_trace_of_everything():
    from analyzer.messages import link
    from analyzer.narrow import collect_matching, trace_wanted
    from analyzer.trace import trace

    full = link(parse_logs([str(SAMPLES)], tz="UTC").events)
    queries = list(full.messages["queue_id"].dropna().iloc[::40]) + list(full.messages["recipient"].dropna().iloc[:3])
    assert len(queries) >= 5
    for q in queries:
        small = link(collect_matching(open_stream([str(SAMPLES)], tz="UTC", batch_lines=11), trace_wanted(q)).events)
        got = trace(small, q)
        assert got == trace(full, q) and got, q


def test_jsonl_text_in_slices_equals_one_piece(monkeypatch):
    import analyzer.sink_jsonl as sink_jsonl
    import analyzer.sinks as sinks

    t = pa.Table.from_pandas(parse_logs([str(SAMPLES / "postfix")], tz="UTC").events, preserve_index=False)
    whole = sinks.jsonl_text(t)
    monkeypatch.setattr(sink_jsonl, "JSONL_ROWS", 7)
    assert sinks.jsonl_text(t) == whole and whole.count("\n") == t.num_rows


def test_jsonl_text_equals_pandas_json_on_awkward_values():
    """The Arrow-built JSON lines read back as pandas' to_json of the same rows (quotes,
    backslashes, tabs, C0/C1/bidi controls, non-ASCII, stamps with and without microseconds)."""
    import analyzer.sinks as sinks
    from analyzer.output import write_events

    t = pa.Table.from_pandas(classify(parse_logs([str(SAMPLES)], tz="UTC").events), preserve_index=False)
    odd = ['say "hi"', "back\\slash \\/", "tab\there", "nul\x00bell\x07", "c1\x85del\x7f", "bidi\u202e",
           "ünï €", "", "new\nline\r", None]
    n = len(odd)
    extra = t.slice(0, n)
    for name in ("reply_text", "detail", "sender"):
        i = extra.schema.get_field_index(name)
        extra = extra.set_column(i, extra.schema.field(i), pa.array(odd, pa.string()))
    i = extra.schema.get_field_index("ts")
    stamps = pd.Series(pd.to_datetime(["2026-11-28T10:00:00.123456Z"] * (n - 1) + [None], utc=True))
    extra = extra.set_column(i, extra.schema.field(i), pa.array(stamps, extra.schema.field(i).type))
    i = extra.schema.get_field_index("delay")
    extra = extra.set_column(i, extra.schema.field(i), pa.array([0.1, 2.0, 1e-7, None, 3.25, 0.0, 7.5, 1.0, 2.5, 9.0]))
    table = pa.concat_tables([t, extra])
    got = [json.loads(x) for x in sinks.jsonl_text(table).split("\n")[:-1]]
    import io
    buf = io.StringIO()
    from analyzer.output import _jsonl
    _jsonl(to_pandas(table), buf)
    want = [json.loads(x) for x in buf.getvalue().split("\n")[:-1]]
    assert got == want and len(got) == table.num_rows
    text = sinks.jsonl_text(table)
    assert "\x85" not in text and "\u202e" not in text and "\\u0085" in text  # inert on a terminal
    assert write_events  # the in-memory writer is the reference the stream writer is checked against


def _sample_lines() -> pa.Array:
    from bench.generate_logs import generate

    texts = [p.read_bytes().decode("utf-8", "replace") for p in sorted(SAMPLES.rglob("*")) if p.is_file()
             and p.suffix not in (".md", ".gz", ".bz2", ".xz", ".zst", ".json", ".jsonl")]
    for mta in ("postfix", "exim"):
        texts.append(generate(mta=mta, lines=3000, seed=5, start="2026-11-28T00:00:00", hours=24)["text"])
    lines = [ln for t in texts for ln in t.replace("\r\n", "\n").split("\n")]
    lines += ["", "x", "Nov 28 10:00:00 mx postfix/smtpd[1]: ", "2026-11-28 10:00:00 [12]", "2026-11-28 10:00:00 "]
    return pa.array(lines, pa.string())


def test_headers_without_the_message_capture_read_the_same():
    """Each header pattern's groups and message, with the message cut off by offsets (the
    pure-Python engine's way) and captured by the whole pattern, are equal on every sample line."""
    import pyarrow.compute as pc

    from analyzer.parsers.syslog import _HEAD_ONLY, HEADERS, _after

    lines = _sample_lines()
    for flavour, head in _HEAD_ONLY.items():
        full = pc.extract_regex(lines, pattern=HEADERS[flavour])
        part = pc.extract_regex(lines, pattern=head)
        assert full.is_valid().equals(part.is_valid()), flavour
        ok = full.is_valid()
        full, part = pc.filter(full, ok), pc.filter(part, ok)
        assert len(full) > 0 or flavour in ("rfc3339", "syslog_loose"), flavour
        for name in full.type.names:
            if name != "msg":
                assert full.field(name).equals(part.field(name)), (flavour, name)
        rest = _after(pc.filter(lines, ok), pc.binary_length(part.field("_head")))
        assert pc.coalesce(full.field("msg"), "").equals(rest), flavour


def test_patterns_without_their_tail_capture_read_the_same():
    """Every Postfix and Exim pattern ending in (?P<x>.*)$: extract_matched (the tail cut off by
    offsets) gives the groups extract_regex gives, on the messages that pattern matches."""
    import pyarrow.compute as pc

    from analyzer.parsers import exim, postfix
    from analyzer.parsers.engine import _split_tail, extract, extract_matched
    from analyzer.parsers.syslog import HEADERS

    g = pc.extract_regex(_sample_lines(), pattern=HEADERS["syslog"])
    msgs = pc.drop_null(g.field("msg"))
    g = pc.extract_regex(_sample_lines(), pattern=HEADERS["exim"])
    msgs = pa.concat_arrays([msgs, pc.drop_null(g.field("msg"))])
    split = tried = 0
    for pat in postfix.PATTERNS + exim.PATTERNS:
        if _split_tail(pat.regex) is None:
            continue
        split += 1
        rows = pc.filter(msgs, pc.match_substring_regex(msgs, pat.regex))
        if len(rows):
            tried += 1
            assert extract_matched(rows, pat.regex).equals(extract(rows, pat.regex)), pat.name
    assert split >= 40 and tried >= 20
    assert _split_tail(r"^a|b(?P<x>.*)$") is None and _split_tail(r"^(?:a(?P<x>.*))$") is None
    assert _split_tail(r"^[|(]x(?P<x>.*)$") == (r"^(?P<_head>[|(]x)", "x")


def test_small_files_read_together_equal_each_alone(tmp_path, monkeypatch):
    """Small rotated files whose headers are read in one pass (syslog, RFC 3339 and Exim files, a
    year turning inside a file and between files, files of different ages, lines without a
    header, NUL bytes, an empty file) give what reading each file's headers alone gives."""
    import datetime as dt

    from analyzer.parsers import syslog

    pf = "{} mx postfix/smtpd[7]: connect from a.example[192.0.2.{}]\n"
    texts = [
        pf.format("Dec 31 23:59:58", 1) + pf.format("Jan  1 00:00:01", 2),  # the year turns inside
        pf.format("Dec 31 23:59:59", 3),
        pf.format("Jan  1 00:00:05", 4) + "not a header line\n" + "\n",
        "",
        "2026-12-31T23:59:59.5+01:00 mx postfix/qmgr[9]: 3F2A1B: removed\n",
        "2026-12-31 23:00:00 [12] 1xX6VO-000Qo3-7b Completed\n2026-12-31 23:00:01 no such thing\n",
        pf.format("Feb 28 10:00:00", 5).replace("connect", "conn\x00ect"),
        pf.format("Nov 28 10:00:00", 6) + pf.format("Nov 28 10:00:01", 7),
    ] * 3
    d = tmp_path / "logs"
    d.mkdir()
    for i, text in enumerate(texts):
        p = d / f"mail.log.{len(texts) - i}"
        p.write_text(text)
        when = dt.datetime(2027 if i % 2 else 2026, 1 if i % 2 else 12, 5, tzinfo=dt.UTC).timestamp()
        os.utime(p, (when, when))

    def run():
        return collect(open_stream([str(d)], tz="UTC"))

    together = run()
    monkeypatch.setattr(syslog, "split_files",
                        lambda arrays, states: [syslog.split_headers(a, s) for a, s in zip(arrays, states, strict=True)])
    alone = run()
    pd.testing.assert_frame_equal(together.events, alone.events)
    assert together.counts == alone.counts and together.files == alone.files
    assert {f.flavour for f in together.files} >= {"syslog", "rfc3339", "exim", None}
    assert together.counts.nul == 3 and together.events["ts"].dt.year.nunique() >= 2
