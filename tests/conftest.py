"""What every pytest suite shares: the backends of the run.

``AGENT_SESSIONS_TEST_BACKEND`` names them, comma separated (``sqlite``, ``postgresql``,
``mariadb``; SQLite without it). Every test that uses a database runs once per backend, in one
process: its module gets one fresh database of each (see ``tests/provisioning.py``).
"""

from __future__ import annotations

import os

import pytest

from testsupport.databases import BACKENDS

BACKEND_ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_TEST_BACKEND"


def _backends_of_the_run() -> list[str]:
    named = os.environ.get(BACKEND_ENVIRONMENT_VARIABLE, "sqlite").split(",")
    unknown = [name for name in named if name not in BACKENDS]
    if unknown:
        raise pytest.UsageError(
            f"{BACKEND_ENVIRONMENT_VARIABLE} names {', '.join(unknown)}: "
            f"expected a comma-separated list of {', '.join(BACKENDS)}"
        )
    return named


@pytest.fixture(scope="module", params=_backends_of_the_run())
def backend(request: pytest.FixtureRequest) -> str:
    """Return the backend of this test (it runs once per backend of the run)."""
    return str(request.param)
