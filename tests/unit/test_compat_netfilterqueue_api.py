"""netring.compat.netfilterqueue without the kernel: NetfilterQueue 1.1's names and
signatures, the protocol table, argument checks, and a packet made by hand."""

from __future__ import annotations

import inspect

import pytest

import netring.compat.netfilterqueue as nfq
from netring.compat.netfilterqueue import (
    COPY_META,
    COPY_NONE,
    COPY_PACKET,
    PROTOCOLS,
    NetfilterQueue,
    Packet,
)


def test_the_one_import_line_gives_netfilterqueues_names() -> None:
    assert (COPY_NONE, COPY_META, COPY_PACKET) == (0, 1, 2)
    assert {"NetfilterQueue", "Packet", "COPY_NONE", "COPY_META", "COPY_PACKET",
            "PROTOCOLS"} <= set(nfq.__all__)
    assert nfq.VERSION == (1, 1, 0)


def test_signatures_are_netfilterqueue_1_1s() -> None:
    init = inspect.signature(NetfilterQueue)
    assert [(p.name, p.kind, p.default) for p in init.parameters.values()][:2] == [
        ("af", inspect.Parameter.KEYWORD_ONLY, 2),
        ("sockfd", inspect.Parameter.KEYWORD_ONLY, -1)]
    bind = inspect.signature(NetfilterQueue.bind)
    assert [(p.name, p.default) for p in bind.parameters.values()] == [
        ("self", inspect.Parameter.empty), ("queue_num", inspect.Parameter.empty),
        ("user_callback", inspect.Parameter.empty), ("max_len", 1024), ("mode", COPY_PACKET),
        ("range", 65535), ("sock_len", 1024 * 4796 // 2)]
    assert list(inspect.signature(NetfilterQueue.run).parameters) == ["self", "block"]
    assert inspect.signature(NetfilterQueue.run).parameters["block"].default is True
    assert list(inspect.signature(NetfilterQueue.run_socket).parameters) == ["self", "s"]
    for name in ("unbind", "get_fd"):
        assert list(inspect.signature(getattr(NetfilterQueue, name)).parameters) == ["self"]
    for name in ("get_hw", "get_payload", "get_payload_len", "get_timestamp", "get_mark",
                 "set_payload", "set_mark", "retain", "accept", "drop", "repeat"):
        assert callable(getattr(Packet, name)), name
    for name in ("id", "hook", "hw_protocol", "mark", "indev", "outdev", "physindev",
                 "physoutdev"):
        assert isinstance(getattr(Packet, name), property), name


def test_tracebacks_name_the_loops_as_netfilterqueue_does() -> None:
    assert NetfilterQueue.run.__code__.co_name == "NetfilterQueue.run"
    assert NetfilterQueue.run_socket.__code__.co_name == "NetfilterQueue.run_socket"


def test_protocol_names_are_the_ones_str_prints() -> None:
    assert (PROTOCOLS[1], PROTOCOLS[6], PROTOCOLS[17], PROTOCOLS[58]) == (
        "ICMP", "TCP", "UDP", "IPv6-ICMP")
    assert PROTOCOLS[4] == "IP" and PROTOCOLS[61] == "any host internal protocol"
    assert PROTOCOLS[140] == "Shim6" and PROTOCOLS[255] == "Reserved"
    assert sorted(PROTOCOLS) == [*range(141), 255]
    assert 141 not in PROTOCOLS  # prints "Unknown protocol", as 1.1 does


def test_a_packet_made_by_hand() -> None:
    p = Packet()
    assert str(p) == "0 byte packet, contents unretained"
    assert (p.id, p.hook, p.mark, p.indev, p.get_hw(), p.get_timestamp()) == (0, 0, 0, 0, None,
                                                                              0.0)
    with pytest.raises(RuntimeError, match="Packet has no payload"):
        p.get_payload()
    with pytest.raises(RuntimeError, match="Parent queue has already been unbound"):
        p.accept()
    p.set_payload(b"\x45" + bytes(8) + b"\x11" + bytes(18))
    assert p.get_payload()[9] == 17
    p.retain()  # keeps what get_payload() returns: the payload given
    p.set_payload(None)
    assert str(p) == "UDP packet, 0 bytes" and p.get_payload()[9] == 17
    p.set_mark(0xFFFFFFFF)
    assert p.get_mark() == 0xFFFFFFFF and p.mark == 0


def test_arguments_are_checked_as_a_c_extension_checks_them() -> None:
    p = Packet()
    with pytest.raises(TypeError, match="expected bytes, got bytearray"):
        p.set_payload(bytearray(b"x"))  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        p.set_mark(-1)
    with pytest.raises(OverflowError):
        p.set_mark(1 << 32)
    with pytest.raises(TypeError):
        p.set_mark("7")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        p.id = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        NetfilterQueue(2)  # type: ignore[misc]
    with pytest.raises(OverflowError):
        NetfilterQueue(af=-1)
