"""Property tests: arbitrary bytes raise only DecodeError; every builder path round-trips."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netring import DecodeError
from netring.codec import (
    NLMSG,
    Attr,
    Builder,
    dump_messages,
    iter_attrs,
    iter_messages,
    parse_done,
    parse_error,
)

GETTERS = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "be16", "be32", "be64",
           "uint", "string", "text", "ipv4", "ipv6", "ip", "lladdr", "bytes")


def _exercise_attrs(attrs: Any, depth: int = 0) -> int:
    n = 0
    for a in attrs:
        n += 1
        for g in GETTERS:
            try:
                getattr(a, g)()
            except DecodeError:
                pass
        if depth < 3:
            try:
                n += _exercise_attrs(a.nested(), depth + 1)
            except DecodeError:
                pass
    return n


def _walk_everything(buf: bytes) -> None:
    try:
        for m in iter_messages(buf):
            if m.type == NLMSG.ERROR:
                try:
                    parse_error(m)
                except DecodeError:
                    pass
            elif m.type == NLMSG.DONE:
                try:
                    parse_done(m)
                except DecodeError:
                    pass
            for hdrlen in (0, 4, 12, 16):
                try:
                    _exercise_attrs(m.attrs(hdrlen))
                except DecodeError:
                    pass
    except DecodeError as exc:
        assert 0 <= exc.offset <= len(buf)
    try:
        _exercise_attrs(iter_attrs(buf))
    except DecodeError as exc:
        assert 0 <= exc.offset <= len(buf)
    assert isinstance(dump_messages(buf, 4), str)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    _walk_everything(data)


def _message_like() -> st.SearchStrategy[bytes]:
    """Bytes that look like netlink (plausible lengths) so parsers get deep."""
    import struct

    def build(parts: list[tuple[int, int, int, bytes]]) -> bytes:
        out = b""
        for length_delta, type_, flags, body in parts:
            length = max(0, 16 + len(body) + length_delta)
            out += struct.pack("=IHHII", length, type_, flags, 1, 0) + body
            out += b"\0" * (-len(out) % 4)
        return out

    return st.lists(
        st.tuples(
            st.integers(-20, 8),
            st.sampled_from([1, 2, 3, 16, 24, 100]),
            st.integers(0, 0xFFFF),
            st.binary(max_size=64),
        ),
        max_size=4,
    ).map(build)


@settings(max_examples=400, deadline=None)
@given(_message_like())
def test_message_like_bytes_fed_whole_and_truncated(data: bytes) -> None:
    for cut in range(len(data) + 1):
        _walk_everything(data[:cut])


# ---------------------------------------------------------------------------
# round trips

INT_KINDS = {
    "u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
    "s8": (-(2**7), 2**7 - 1), "s16": (-(2**15), 2**15 - 1), "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1), "be16": (0, 2**16 - 1), "be32": (0, 2**32 - 1),
    "be64": (0, 2**64 - 1),
}

leaf = st.one_of(
    *[
        st.tuples(st.just(k), st.integers(lo, hi))
        for k, (lo, hi) in INT_KINDS.items()
    ],
    st.tuples(st.just("str"), st.text(alphabet=st.characters(blacklist_characters="\0",
                                                              blacklist_categories=("Cs",)),
                                       max_size=20)),
    st.tuples(st.just("bytes"), st.binary(max_size=40)),
    st.tuples(st.just("ipv4"), st.ip_addresses(v=4).map(str)),
    st.tuples(st.just("ipv6"), st.ip_addresses(v=6).map(str)),
    st.tuples(st.just("flag"), st.none()),
)

attr_tree = st.recursive(
    st.tuples(st.integers(1, 0x3FFF), leaf),
    lambda children: st.tuples(st.integers(1, 0x3FFF), st.tuples(st.just("nest"), st.lists(children, max_size=4))),
    max_leaves=12,
)


def _put(b: Builder, node: tuple[int, tuple[str, Any]]) -> None:
    t, (kind, value) = node
    if kind == "nest":
        tok = b.nest_start(t)
        for child in value:
            _put(b, child)
        b.nest_end(tok)
    elif kind == "str":
        b.attr_str(t, value)
    elif kind == "bytes":
        b.attr(t, value)
    elif kind in ("ipv4", "ipv6"):
        b.attr_ip(t, value)
    elif kind == "flag":
        b.attr_flag(t)
    else:
        getattr(b, f"attr_{kind}")(t, value)


def _check(a: Attr, node: tuple[int, tuple[str, Any]]) -> None:
    t, (kind, value) = node
    assert a.type == t
    if kind == "nest":
        kids = list(a.nested())
        assert len(kids) == len(value)
        for k, child in zip(kids, value, strict=True):
            _check(k, child)
    elif kind == "str":
        assert a.string() == value
    elif kind == "bytes":
        assert a.bytes() == value
    elif kind == "ipv4":
        assert a.ipv4() == value
    elif kind == "ipv6":
        assert a.ipv6() == value
    elif kind == "flag":
        assert a.payload_len == 0
    else:
        assert getattr(a, kind)() == value


messages = st.lists(
    st.tuples(
        st.integers(0x10, 0xFFFF),
        st.integers(0, 0xFFFF),
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
        st.binary(max_size=16),
        st.lists(attr_tree, max_size=5),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_builder_round_trip(spec: list[Any]) -> None:
    b = Builder(1 << 16)
    for type_, flags, seq, portid, header, attrs in spec:
        b.begin(type_, flags, seq, portid)
        b.put(header)
        for node in attrs:
            _put(b, node)
        b.end()
    decoded = list(iter_messages(b.view()))
    assert len(decoded) == len(spec)
    for m, (type_, flags, seq, portid, header, attrs) in zip(decoded, spec, strict=True):
        assert (m.type, m.flags, m.seq, m.portid) == (type_, flags, seq, portid)
        hlen = (len(header) + 3) & ~3
        assert m.payload[: len(header)].tobytes() == header
        got = list(m.attrs(hlen))
        assert len(got) == len(attrs)
        for a, node in zip(got, attrs, strict=True):
            _check(a, node)
