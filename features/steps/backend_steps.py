"""Steps about behaviour that must not depend on the backend."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from behave import given, then, when

_ZONE_NAMES = {"+09:00": "Asia/Tokyo"}


def _set_process_time_zone(context, zone):
    previous = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()

    def restore():
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()

    context.scenario_stack.callback(restore)


@given('a service whose database connections use the time zone "{offset}"')
def step_service_in_zone(context, offset):
    if context.backend == "postgresql":
        options = {"connect_args": {"options": f"-c TimeZone={_ZONE_NAMES[offset]}"}}
    elif context.backend == "mariadb":
        options = {"connect_args": {"init_command": f"SET time_zone = '{offset}'"}}
    else:  # SQLite has no connection time zone: shift the process's local time instead.
        _set_process_time_zone(context, _ZONE_NAMES[offset])
        options = {}
    context.zoned_service = context.open_service(context.database_url, **options)


@when("that service creates a session and appends a message")
def step_zoned_writes(context):
    context.zoned_session = context.zoned_service.create("time-traveller")
    context.zoned_message = context.zoned_service.append_message(
        context.zoned_session.id, "user", "what time is it?"
    )
    context.zoned_session = context.zoned_service.get(context.zoned_session.id)


@then("a service in UTC reads the same instants, to the microsecond")
def step_same_instants(context):
    session = context.service.get(context.zoned_session.id)
    (message,) = context.service.get_messages(session.id)
    assert session.created_at == context.zoned_session.created_at
    assert session.updated_at == context.zoned_session.updated_at
    assert message.created_at == context.zoned_message.created_at
    for moment in (session.created_at, session.updated_at, message.created_at):
        assert moment.utcoffset() == timedelta(0), moment
    assert (
        session.created_at.replace(tzinfo=None).isoformat()
        == context.zoned_session.created_at.astimezone(UTC).replace(tzinfo=None).isoformat()
    )


@then("those instants are within a minute of the current UTC time")
def step_near_now(context):
    now = datetime.now(UTC)
    for moment in (context.zoned_session.created_at, context.zoned_message.created_at):
        assert abs(now - moment) < timedelta(minutes=1), f"{moment} is not near {now}"


@given('sessions of the actors "{first}", "{second}", "{third}" and "{fourth}"')
def step_sessions_of_actors(context, first, second, third, fourth):
    for actor in (first, second, third, fourth):
        context.service.create(actor.replace("<space>", " "))


@then('exactly one session is listed, of the actor "{actor}"')
def step_exactly_one_listed(context, actor):
    names = [session.actor_name for session in context.listed]
    assert names == [actor], names
