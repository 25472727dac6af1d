"""Shared fixtures.  Integration tests run against the real kernel inside private
network namespaces created and removed by the ``netns`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nsutil import Netns, have_ip, have_root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.kernel)


@pytest.fixture
def netns() -> Iterator[Netns]:
    """A fresh private network namespace with ``lo`` up; deleted afterwards."""
    if not have_root():
        pytest.skip("needs root: creates a network namespace")
    if not have_ip():
        pytest.skip("needs iproute2's `ip` to create a network namespace")
    ns = Netns()
    try:
        yield ns
    finally:
        ns.close()
