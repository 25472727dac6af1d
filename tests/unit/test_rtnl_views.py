"""rtnetlink views over hostile input: exact attribute lengths (FRA_UID_RANGE,
FRA_SPORT_RANGE, RTA_ENCAP_TYPE, NDA_VLAN ...) and fuzzed messages for every view."""

from __future__ import annotations

import pathlib
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.codec import NLA_F, Builder, iter_messages
from netring.errors import DecodeError
from netring.subsystems.rtnetlink import (
    FRA,
    NDA,
    OBJECT_CLASSES,
    RTA,
    RTM,
    Address,
    Link,
    Neighbour,
    Route,
    RtnlObject,
    Rule,
)
from netring.subsystems.rtnetlink.structs import fib_rule_hdr, ndmsg, rtmsg

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "rtnl"
VIEW_CLASSES: list[type[RtnlObject]] = [Link, Address, Route, Neighbour, Rule]
FIRST_ATTR = 16 + 12  # rtmsg, fib_rule_hdr and ndmsg are all 12 bytes


def build(msg_type: int, hdr: struct.Struct, hdr_values: tuple[int, ...],
          attrs: list[tuple[int, bytes]]) -> bytes:
    b = Builder(2048)
    b.begin(msg_type, 0, seq=1, portid=0)
    b.put_struct(hdr, *hdr_values)
    for t, payload in attrs:
        b.attr(t, payload)
    b.end()
    return b.tobytes()


def rule(*attrs: tuple[int, bytes]) -> Rule:
    return Rule(build(RTM.NEWRULE, fib_rule_hdr, (2, 0, 0, 0, 254, 0, 0, 1, 0), list(attrs)))


def route(*attrs: tuple[int, bytes]) -> Route:
    return Route(build(RTM.NEWROUTE, rtmsg, (2, 0, 0, 0, 254, 4, 0, 1, 0), list(attrs)))


def neighbour(*attrs: tuple[int, bytes]) -> Neighbour:
    return Neighbour(build(RTM.NEWNEIGH, ndmsg, (7, 3, 0x80, 0, 0), list(attrs)))


# (name, view maker, attribute type, good payload, property, expected value)
EXACT_CASES: list[tuple[str, Callable[..., RtnlObject], int, bytes, str, Any]] = [
    ("FRA_UID_RANGE", rule, FRA.UID_RANGE, struct.pack("=II", 1000, 2000), "uid_range",
     (1000, 2000)),
    ("FRA_SPORT_RANGE", rule, FRA.SPORT_RANGE, struct.pack("=HH", 80, 90), "sport_range",
     (80, 90)),
    ("FRA_DPORT_RANGE", rule, FRA.DPORT_RANGE, struct.pack("=HH", 53, 53), "dport_range",
     (53, 53)),
    ("RTA_ENCAP_TYPE", route, RTA.ENCAP_TYPE, struct.pack("=H", 1), "encap_type", 1),
    ("NDA_VLAN", neighbour, NDA.VLAN, struct.pack("=H", 100), "vlan", 100),
]


@pytest.mark.parametrize(("name", "make", "t", "good", "prop", "value"), EXACT_CASES,
                         ids=[c[0] for c in EXACT_CASES])
def test_exact_length_good_payload(name: str, make: Callable[..., RtnlObject], t: int,
                                   good: bytes, prop: str, value: Any) -> None:
    assert getattr(make((t, good)), prop) == value
    assert getattr(make((t, good), (FRA.PRIORITY, b"\x07\0\0\0")), prop) == value


@pytest.mark.parametrize(("name", "make", "t", "good", "prop", "value"), EXACT_CASES,
                         ids=[c[0] for c in EXACT_CASES])
@pytest.mark.parametrize("where", ["last", "followed"])
@pytest.mark.parametrize("delta", [-2, +2, +4])
def test_exact_length_wrong_payload_raises_decode_error(
        name: str, make: Callable[..., RtnlObject], t: int, good: bytes, prop: str,
        value: Any, where: str, delta: int) -> None:
    """A short payload at the end of the message used to raise struct.error; followed by
    another attribute it silently read that one (uid_range returned (393224, 7))."""
    payload = good[:len(good) + delta] if delta < 0 else good + bytes(delta)
    attrs = [(t, payload)]
    if where == "followed":
        attrs.append((6, struct.pack("=I", 7)))  # FRA_PRIORITY / RTA_PREFSRC / NDA_PORT
    view = make(*attrs)
    with pytest.raises(DecodeError) as ei:
        getattr(view, prop)
    assert ei.value.offset == FIRST_ATTR and name in ei.value.reason
    if isinstance(view, Rule):  # ip -j rule prints these; route/neigh JSON omits them
        with pytest.raises(DecodeError):
            view.to_dict()


def test_net_byteorder_attribute_is_read_big_endian() -> None:
    r = route((RTA.PRIORITY | int(NLA_F.NET_BYTEORDER), struct.pack("!I", 300)))
    assert r.priority == 300 and r.to_dict()["metric"] == 300


# -- fuzzing -----------------------------------------------------------------------------
def _public_reads(obj: RtnlObject) -> list[Callable[[], object]]:
    cls = type(obj)
    reads: list[Callable[[], object]] = [
        lambda p=p: getattr(obj, p)  # type: ignore[misc]
        for p in dir(cls) if not p.startswith("_") and isinstance(getattr(cls, p), property)]
    reads += [obj.to_dict, obj.attr_names, lambda: repr(obj), lambda: list(obj.attrs())]
    if isinstance(obj, Link):
        reads.append(lambda: obj.to_dict(stats=True))
    if isinstance(obj, Route):
        reads.append(obj.key)
    return reads


def _read_everything(data: bytes, cls: type[RtnlObject]) -> None:
    try:
        obj = cls(data)
    except DecodeError:
        return
    for read in _public_reads(obj):
        try:
            read()
        except DecodeError:
            pass


@st.composite
def framed_messages(draw: st.DrawFn) -> tuple[bytes, type[RtnlObject]]:
    """A view class and a message for it: random family header, well-framed attributes
    of the class's known types (and some unknown ones) with random payload lengths,
    nested or not, possibly with the message ending inside them."""
    cls = draw(st.sampled_from(VIEW_CLASSES))
    assert cls.ATTR is not None
    types = [int(t) for t in cls.ATTR] + [200]
    attrs = draw(st.lists(st.tuples(st.sampled_from(types), st.binary(max_size=40),
                                    st.sampled_from([0, int(NLA_F.NESTED),
                                                     int(NLA_F.NET_BYTEORDER)])),
                          max_size=8))
    body = draw(st.binary(min_size=cls.HDR.size, max_size=cls.HDR.size))
    for t, payload, flag in attrs:
        body += struct.pack("=HH", 4 + len(payload), t | flag) + payload
        body += bytes(-len(body) % 4)
    msg_type = draw(st.sampled_from(sorted(t for t, c in OBJECT_CLASSES.items() if c is cls)))
    cut = draw(st.integers(0, 12))
    length = max(16 + cls.HDR.size, 16 + len(body) - cut)
    return struct.pack("=IHHII", length, msg_type, 0, 0, 0) + body, cls


@settings(max_examples=400, deadline=None)
@given(framed_messages())
def test_fuzzed_views_raise_only_decode_error(case: tuple[bytes, type[RtnlObject]]) -> None:
    """Every public property, to_dict() and repr of every view raise only DecodeError."""
    data, cls = case
    _read_everything(data, cls)


def _golden_messages() -> list[tuple[bytes, type[RtnlObject]]]:
    out = []
    for f in sorted(GOLDEN.glob("*.bin")):
        for m in iter_messages(f.read_bytes()):
            cls = OBJECT_CLASSES.get(m.type)
            if cls is not None:
                out.append((m.tobytes(), cls))
    return out


GOLDEN_MESSAGES = _golden_messages()


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(GOLDEN_MESSAGES), st.integers(0, 4096), st.integers(0, 255),
       st.integers(0, 4096))
def test_truncated_and_mutated_kernel_messages_raise_only_decode_error(
        case: tuple[bytes, type[RtnlObject]], at: int, value: int, keep: int) -> None:
    """Real kernel messages with one byte changed and the message cut short."""
    data, cls = case
    buf = bytearray(data)
    if len(buf) > 16:
        buf[16 + at % (len(buf) - 16)] = value
    length = 16 + cls.HDR.size + keep % (len(buf) - 16 - cls.HDR.size + 1)
    struct.pack_into("=I", buf, 0, length)
    _read_everything(bytes(buf), cls)
