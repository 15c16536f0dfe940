"""Fixtures of the driver regressions: an empty database of each backend of the run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.provisioning import provisioned_url


@pytest.fixture(scope="module")
def database_url(backend: str) -> Iterator[str]:
    """Yield the URL of a fresh, empty database of the test's backend."""
    with contextlib.ExitStack() as stack:
        yield provisioned_url(stack, backend)
