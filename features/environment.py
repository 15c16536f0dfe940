"""Behave fixtures: one backend per run (``-D backend=...``), a fresh world per scenario.

- The run provisions one throwaway database of the chosen backend and migrates it once.
- Every scenario starts on empty tables (``context.database_url``) with the run's service on it
  (``context.service``). ``context.open_service(url, **options)`` opens more services;
  ``context.provision_database()`` gives an extra, empty, un-migrated database. Everything a
  scenario opens is closed after it.
- A backend the run cannot reach skips every feature with one line, or fails when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
from typing import Any

from behave.model import Feature, Scenario
from behave.runner import Context

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.database import create_database_engine, upgrade
from testsupport.async_facade import BlockingAsyncService, EventLoopThread
from testsupport.databases import (
    BACKENDS,
    BackendUnavailable,
    empty_tables,
    provision_database,
    unavailable_is_failure,
)


def _run_database(context: Context) -> str:
    url = context.run_stack.enter_context(provision_database(context.backend))
    engine = create_database_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


def _service(context: Context, url: str, **options: Any) -> Any:
    """A sync service, or with ``-D service=async`` the async one behind the same interface."""
    if context.loop_thread is None:
        return PersistentSessionService.from_url(url, **options)
    return BlockingAsyncService.from_url(context.loop_thread, url, **options)


def before_all(context: Context) -> None:
    context.backend = context.config.userdata.get("backend", "sqlite")
    kind = context.config.userdata.get("service", "sync")
    if kind not in ("sync", "async"):
        raise ValueError(f"-D service={kind}: expected sync or async")
    context.loop_thread = EventLoopThread() if kind == "async" else None
    if context.backend not in BACKENDS:
        raise ValueError(f"-D backend={context.backend}: expected one of {', '.join(BACKENDS)}")
    context.run_stack = contextlib.ExitStack()
    if context.loop_thread is not None:
        context.run_stack.callback(context.loop_thread.close)
    context.unavailable = None
    try:
        context.run_database_url = _run_database(context)
        context.run_engine = create_database_engine(context.run_database_url)
        context.run_stack.callback(context.run_engine.dispose)
        # One service for the run: opening one runs the checks at open (the drift doctor
        # among them), which would otherwise cost every scenario a few dozen milliseconds.
        context.run_service = _service(context, context.run_database_url)
        context.run_stack.callback(context.run_service.close)
    except BackendUnavailable as exc:
        if unavailable_is_failure():
            raise
        context.unavailable = f"backend {context.backend} unavailable, scenarios skipped: {exc}"
        print(context.unavailable)


def before_feature(context: Context, feature: Feature) -> None:
    if context.unavailable:
        feature.skip(context.unavailable)


def _open_service(context: Context, url: str, **options: Any) -> Any:
    service = _service(context, url, **options)
    context.scenario_stack.callback(service.close)
    return service


def _provision(context: Context) -> str:
    return str(context.scenario_stack.enter_context(provision_database(context.backend)))


def before_scenario(context: Context, scenario: Scenario) -> None:
    context.scenario_stack = contextlib.ExitStack()
    context.open_service = lambda url, **options: _open_service(context, url, **options)
    context.provision_database = lambda: _provision(context)
    empty_tables(context.run_engine)
    context.database_url = context.run_database_url
    context.service = context.run_service


def after_scenario(context: Context, scenario: Scenario) -> None:
    context.scenario_stack.close()


def after_all(context: Context) -> None:
    context.run_stack.close()
