"""Pure netlink codec: messages, attributes, lazy message views, in-place builder,
errors, reply checks.

Imports no OS module; everything here works on plain buffers.
"""

from __future__ import annotations

from .align import (
    NLA_ALIGNTO,
    NLA_HDRLEN,
    NLMSG_ALIGNTO,
    NLMSG_HDRLEN,
    nla_align,
    nlmsg_align,
    nlmsg_length,
    nlmsg_space,
)
from .attribute import Attr, attr_index, attr_table, iter_attrs, walk_attrs
from .builder import Builder
from .constants import (
    NETLINK,
    NLA_F,
    NLA_TYPE_MASK,
    NLM_F,
    NLMSG,
    NLMSGERR_ATTR,
    nlm_f_str,
)
from .debug import dump_messages
from .errmsg import ErrorMessage, parse_done, parse_error
from .message import Message, as_memoryview, iter_messages
from .reply import NOTIFY, OURS, STALE, AckCollector, ReplyCollector, classify
from .view import MessageView

__all__ = [
    "NLA_ALIGNTO",
    "NLA_HDRLEN",
    "NLMSG_ALIGNTO",
    "NLMSG_HDRLEN",
    "nla_align",
    "nlmsg_align",
    "nlmsg_length",
    "nlmsg_space",
    "Attr",
    "attr_index",
    "attr_table",
    "iter_attrs",
    "walk_attrs",
    "Builder",
    "NETLINK",
    "NLA_F",
    "NLA_TYPE_MASK",
    "NLM_F",
    "NLMSG",
    "NLMSGERR_ATTR",
    "nlm_f_str",
    "dump_messages",
    "ErrorMessage",
    "parse_done",
    "parse_error",
    "Message",
    "as_memoryview",
    "iter_messages",
    "NOTIFY",
    "OURS",
    "STALE",
    "AckCollector",
    "ReplyCollector",
    "classify",
    "MessageView",
]
