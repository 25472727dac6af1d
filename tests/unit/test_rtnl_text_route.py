"""The streaming route renderer and the reader's sink, over golden captures and
synthetic datagrams: the fast paths must print exactly what the one-route
renderers print."""

from __future__ import annotations

import json
import pathlib
import struct

import pytest

from netring.subsystems.rtnetlink import DumpReader, Route, Rule
from netring.subsystems.rtnetlink.filters import RouteSelector, route_selector_words
from netring.subsystems.rtnetlink.requests import parse_prefix
from netring.subsystems.rtnetlink.text import TextContext
from netring.subsystems.rtnetlink.text.route import RouteStream, route_line
from netring.subsystems.rtnetlink.text.rule import rule_line

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "rtnl"
META = json.loads((GOLDEN / "meta.json").read_text())
NAMES = {int(k): v for k, v in META["names"].items()}
CTX = TextContext(names=NAMES)

SEQ = 7
NLM_F_MULTI = 2
RTM_NEWROUTE = 24


def _attr(t: int, payload: bytes) -> bytes:
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + bytes(-len(a) & 3)


def _route(dst: bytes, *, oif: int = 2, table: int = 254, proto: int = 3, scope: int = 253,
           rtype: int = 1, plen: int = 32, gateway: bytes | None = None,
           priority: int | None = None) -> bytes:
    """One RTM_NEWROUTE as the kernel sends it in a dump (RTA_TABLE, RTA_DST, ...)."""
    body = struct.pack("=BBBBBBBBI", 2, plen, 0, 0, min(table, 255), proto, scope, rtype, 0)
    body += _attr(15, struct.pack("=I", table)) + _attr(1, dst)
    if priority is not None:
        body += _attr(6, struct.pack("=I", priority))
    if gateway is not None:
        body += _attr(5, gateway)
    body += _attr(4, struct.pack("=I", oif))
    return struct.pack("=IHHII", 16 + len(body), RTM_NEWROUTE, NLM_F_MULTI, SEQ, 0) + body


def _done() -> bytes:
    return struct.pack("=IHHIIi", 20, 3, NLM_F_MULTI, SEQ, 0, 0)


def _datagram(n: int, odd: set[int] = frozenset()) -> bytes:  # type: ignore[assignment]
    parts = []
    for i in range(n):
        dst = bytes((10, (i >> 16) & 255, (i >> 8) & 255, i & 255))
        if i in odd:
            parts.append(_route(dst, gateway=bytes((10, 0, 0, 2)), priority=7, proto=4,
                                scope=0))
        else:
            parts.append(_route(dst))
    return b"".join(parts)


def _stream(data: bytes, stream: RouteStream, seq: int = SEQ) -> tuple[bytes, DumpReader[Route]]:
    out: list[bytes] = []

    def sink(chunk: bytes, offsets: list[int]) -> bool:
        out.append(stream.render(chunk, offsets))
        return False

    r: DumpReader[Route] = DumpReader(Route, seq, keep=False, sink=sink)
    assert r.feed(data)
    return b"".join(out), r


def _one_by_one(data: bytes, seq: int = SEQ, **kw: object) -> list[Route]:
    r: DumpReader[Route] = DumpReader(Route, seq, keep=True)
    r.feed(data)
    return r.objects


def test_golden_routes_stream_equals_route_line() -> None:
    data = (GOLDEN / "routes.bin").read_bytes()
    views = _one_by_one(data, META["seq"]["routes"])
    text, reader = _stream(data, RouteStream(CTX), META["seq"]["routes"])
    assert reader.count == len(views) > 10 and reader.objects == []
    assert text.decode() == "".join(route_line(v, CTX) + "\n" for v in views)
    assert "nexthop via" in text.decode() and "mtu lock" in text.decode()


def test_golden_routes_stream_json_equals_to_dict() -> None:
    data = (GOLDEN / "routes.bin").read_bytes()
    views = _one_by_one(data, META["seq"]["routes"])
    text, _ = _stream(data, RouteStream(CTX, json=True, dumps=json.dumps),
                      META["seq"]["routes"])
    lines = [json.loads(x) for x in text.decode().splitlines()]
    assert [list(d.items()) for d in lines] == [list(v.to_dict(NAMES).items()) for v in views]


@pytest.mark.parametrize("odd", [set(), {0}, {5, 6, 300}, set(range(0, 700, 3))])
def test_runs_of_one_shape_render_like_one_route_at_a_time(odd: set[int]) -> None:
    data = _datagram(700, odd) + _done()
    views = _one_by_one(data)
    stream = RouteStream(CTX)
    text, reader = _stream(data, stream)
    assert reader.count == 700
    expect = "".join(route_line(v, CTX) + "\n" for v in views)
    assert text.decode() == expect
    assert stream.count == 700
    assert expect.count(" via 10.0.0.2 dev veth1 proto static metric 7 \n") == len(odd)
    assert stream.shapes <= 2  # one rendering per shape, not one per route


def test_runs_json_and_filters() -> None:
    data = _datagram(300, {10, 11}) + _done()
    views = _one_by_one(data)
    sel = RouteSelector(protocol=4)
    stream = RouteStream(CTX, json=True, dumps=json.dumps, hide=sel.hidden(),
                         keep=sel.shape_ok)
    text, _ = _stream(data, stream)
    want = []
    for v in views:
        if v.protocol == 4:
            d = v.to_dict(NAMES)
            del d["protocol"]  # ip leaves out what its filter fixes
            want.append(d)
    assert [json.loads(x) for x in text.decode().splitlines()] == want
    assert len(want) == 2


def test_prefix_selectors() -> None:
    data = _datagram(300) + _done()
    views = _one_by_one(data)
    for mode, pfx, n in (("root", "10.0.1.0/24", 44), ("exact", "10.0.0.7/32", 1),
                         ("match", "10.0.0.9", 1), ("root", "10.0.0.0/8", 300)):
        fam, raw, plen = parse_prefix(pfx)
        sel = RouteSelector(prefix=(mode, fam, raw, plen))
        stream = RouteStream(CTX, keep=sel.shape_ok, select=sel.dst_ok)
        text, _ = _stream(data, stream)
        lines = text.decode().splitlines()
        assert len(lines) == n, (mode, pfx)
        assert lines == [route_line(v, CTX) for v in views if sel.dst_ok(v)]


def test_sink_stop_drains_the_rest() -> None:
    data = _datagram(50)
    seen = []

    def sink(chunk: bytes, offsets: list[int]) -> bool:
        seen.append(len(offsets))
        return True

    r: DumpReader[Route] = DumpReader(Route, SEQ, keep=False, sink=sink)
    assert not r.feed(data)
    assert r.stopped and seen == [50]
    assert r.feed(_datagram(20) + _done())
    assert seen == [50] and r.count == 70


def test_streaming_reader_wants_bytes() -> None:
    r: DumpReader[Route] = DumpReader(Route, SEQ, keep=False, sink=lambda d, o: False)
    with pytest.raises(TypeError):
        r.feed(bytearray(_datagram(2)))


def test_route_selector_words() -> None:
    assert route_selector_words(["dev", "v0", "table", "100", "10.0.0.0/8"]) == {
        "dev": "v0", "table": "100", "exact": "10.0.0.0/8"}
    assert route_selector_words(["to", "root", "10.0.0.0/8", "proto", "static"]) == {
        "root": "10.0.0.0/8", "protocol": "static"}
    from netring.errors import EncodeError

    with pytest.raises(EncodeError):
        route_selector_words(["dev"])
    with pytest.raises(EncodeError):
        route_selector_words(["10.0.0.0/8", "match", "10.1.0.0/16"])


def test_golden_rules_text() -> None:
    data = (GOLDEN / "rules4.bin").read_bytes()
    r: DumpReader[Rule] = DumpReader(Rule, META["seq"]["rules4"], keep=True)
    r.feed(data)
    lines = [rule_line(x, CTX) for x in r.objects]
    assert lines[0] == "0:\tfrom all lookup local"
    assert lines[-1] == "32767:\tfrom all lookup default"
    assert all("srclen" not in x and "uid_start" not in x for x in lines)
