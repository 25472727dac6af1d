#!/usr/bin/env python3
"""Record the golden netlink core captures in this folder from the real kernel.

Run as root: ``python tests/golden/core/record.py``.  Each capture is the exact
bytes one ``recv`` returned, made inside a throw-away network namespace.
"""

from __future__ import annotations

import pathlib
import socket
import struct

from netring.codec import NLM_F, Builder
from netring.tools.sandbox import run_in_new_netns

HERE = pathlib.Path(__file__).parent
SOL_NETLINK, NETLINK_EXT_ACK, NETLINK_CAP_ACK = 270, 11, 10
RTM_NEWLINK, RTM_GETLINK = 16, 18
IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1


def _record() -> dict[str, bytes]:
    out = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as s:
        s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        s.bind((0, 0))
        b = Builder(256)
        b.begin(RTM_NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq=1)
        b.put(struct.pack("=BxHiII", 0, 0, 0, 0, 0))
        b.attr_str(IFLA_IFNAME, "bogus0")
        nest = b.nest_start(IFLA_LINKINFO)
        b.attr_str(IFLA_INFO_KIND, "nosuchkind")
        b.nest_end(nest)
        b.end()
        s.send(b.view())
        out["error_uncapped_extack.bin"] = s.recv(65536)
        s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        b.reset()
        b.begin(RTM_NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq=2)
        b.put(struct.pack("=BxHiII", 0, 0, 0, 0, 0))
        b.attr_str(IFLA_IFNAME, "lo")
        b.end()
        s.send(b.view())
        out["error_capped_eexist.bin"] = s.recv(65536)
        b.reset()
        b.begin(RTM_GETLINK, NLM_F.REQUEST | NLM_F.DUMP, seq=3)
        b.put(struct.pack("=BxHiII", 0, 0, 0, 0, 0))
        b.end()
        s.send(b.view())
        chunks = []
        while True:
            data = s.recv(65536)
            chunks.append(data)
            if struct.unpack_from("=H", data, len(data) - 20 + 4)[0] == 3 or len(chunks) > 10:
                break
        out["dump_links_lo.bin"] = b"".join(chunks)
    return out


if __name__ == "__main__":
    for name, data in run_in_new_netns(_record).items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
