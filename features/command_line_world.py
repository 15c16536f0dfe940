"""Running the ``agent-sessions`` command line in-process, for the steps that drive it.

Kept out of ``features/steps/`` because Behave executes every module there as a step module.
A command line's placeholders are replaced before it is split as a shell would split it:
``{database}``, ``{session}``, ``{file}`` (a scratch file of the scenario), the copied
migrations' ``{lock}`` and ``{scripts}``, and any name in ``context.cli_names``.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import shlex
import sys
import tempfile
from pathlib import Path

from agent_sessions.infrastructure.cli import main

__all__ = ["run_command_line", "scratch_file", "substitute", "unescaped"]

_ESCAPED = re.compile(r"\\(n|x[0-9a-f]{2}|u[0-9a-f]{4})")


def unescaped(text):
    r"""Read ``\n``, ``\xNN`` and ``\uNNNN`` in a feature's text as those characters."""

    def character(match):
        code = match.group(1)
        return "\n" if code == "n" else chr(int(code[1:], 16))

    return _ESCAPED.sub(character, text)


def substitute(context, command_line):
    """Return ``command_line`` with the scenario's placeholders replaced by their values."""
    values = {
        "{database}": getattr(context, "cli_url", context.database_url),
        "{session}": getattr(context, "cli_session_id", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        "{file}": str(scratch_file(context)),
    }
    if hasattr(context, "copy"):  # a copy of the migrations (history_steps.py)
        values["{lock}"] = str(context.copy.lock_path)
        values["{scripts}"] = context.copy.script_location
    # Other names a scenario gave values to, such as a fork's title (cli_history_steps.py).
    values.update(
        {f"{{{name}}}": value for name, value in getattr(context, "cli_names", {}).items()}
    )
    for placeholder, value in values.items():
        command_line = command_line.replace(placeholder, value)
    return command_line


def scratch_file(context):
    """Return the path of the scenario's scratch file (``{file}``), in a folder of its own."""
    if not hasattr(context, "cli_file"):
        folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
        context.cli_file = Path(folder) / "session.json"
    return context.cli_file


def run_command_line(context, command_line, stdout=None):
    """Run ``command_line`` in-process; keep its status, stdout and stderr in ``context``."""
    arguments = shlex.split(substitute(context, command_line))
    stdout, stderr = stdout or io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            if arguments[:3] == ["python", "-m", "agent_sessions"]:
                previous_argv = sys.argv
                sys.argv = ["agent_sessions", *arguments[3:]]
                try:
                    runpy.run_module("agent_sessions", run_name="__main__", alter_sys=True)
                finally:
                    sys.argv = previous_argv
            else:
                assert arguments[0] == "agent-sessions", arguments
                context.cli_status = main(arguments[1:])
        except SystemExit as exc:
            context.cli_status = exc.code
    context.cli_stdout, context.cli_stderr = stdout.getvalue(), stderr.getvalue()
