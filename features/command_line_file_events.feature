Feature: File events and external ids on the command line
  Operators see what a session's messages did to files: `sessions files` counts the events on
  each path, `sessions events` lists them in the order recorded, `sessions show` puts them under
  their messages, and `sessions list` shows external ids. Every command has a `--json` form.

  Background:
    Given the session "coder" with 4 messages
    And its message 2 recorded these file events:
      | type    | path          | command        | diff                                   |
      | read    | src/parser.py |                |                                        |
      | read    | README.md     |                |                                        |
      | command |               | pytest -q      |                                        |
    And its message 4 recorded these file events:
      | type    | path          | command        | diff                                   |
      | edit    | src/parser.py |                | @@ -1,2 +1,3 @@\n-a\n+b\n+c\n d         |
      | command | src/          | ruff check .   |                                        |
      | rename  | docs/guide.md |                |                                        |

  Scenario: The files a session touched, with counts by type, as a table
    When I run "agent-sessions --url {database} sessions files {session}"
    Then the files table has these rows, in path order:
      | path          | read | write | edit | delete | rename | command | total |
      | README.md     | 1    | 0     | 0    | 0      | 0      | 0       | 1     |
      | docs/guide.md | 0    | 0     | 0    | 0      | 1      | 0       | 1     |
      | src/          | 0    | 0     | 0    | 0      | 0      | 1       | 1     |
      | src/parser.py | 1    | 0     | 1    | 0      | 0      | 0       | 2     |
    And each row's last event time is that of the path's last recorded event

  Scenario: The files a session touched, as JSON
    When I run "agent-sessions --url {database} sessions files {session} --json"
    Then the JSON files list names "README.md, docs/guide.md, src/, src/parser.py" in that order
    And in the JSON files list "src/parser.py" has the counts "read 1, edit 1" and total 2
    And in the JSON files list each last_event_at is that of the path's last recorded event

  Scenario: A session whose messages touched no file says so, as text and as JSON
    Given the session "quiet" with 2 messages
    When I run "agent-sessions --url {database} sessions files {session}"
    Then the output is exactly "no files touched"
    When I run "agent-sessions --url {database} sessions files {session} --json"
    Then the output is exactly "[]"

  Scenario: The events of a session in the order recorded, as a table
    When I run "agent-sessions --url {database} sessions events {session}"
    Then the events table lists, in the order recorded:
      | message | type    | diff lines | path or command         |
      | 2       | read    | -          | src/parser.py           |
      | 2       | read    | -          | README.md               |
      | 2       | command | -          | pytest -q               |
      | 4       | edit    | 5          | src/parser.py           |
      | 4       | command | -          | ruff check . (path src/) |
      | 4       | rename  | -          | docs/guide.md           |

  Scenario Outline: Filtering and paging the events
    When I run "agent-sessions --url {database} sessions events {session} <options>"
    Then the events table lists the events numbered <numbers> of the ones recorded

    Examples:
      | options                           | numbers |
      | --type command                    | 3, 5    |
      | --path src/parser.py              | 1, 4    |
      | --offset 2 --limit 3              | 3, 4, 5 |
      | --type read --path src/parser.py  | 1       |

  Scenario: The events of a session as JSON records of the export format
    When I run "agent-sessions --url {database} sessions events {session} --type edit --json"
    Then the JSON events are the export records of the events numbered 4 of the ones recorded
    When I run "agent-sessions --url {database} sessions events {session} --offset 1 --limit 2 --json"
    Then the JSON events are the export records of the events numbered 2, 3 of the ones recorded

  Scenario: A session without events lists none
    Given the session "quiet" with 1 messages
    When I run "agent-sessions --url {database} sessions events {session}"
    Then the output is exactly "no file events"
    When I run "agent-sessions --url {database} sessions events {session} --json"
    Then the output is exactly "[]"

  Scenario: Showing a session puts each message's events under it, with diffs summarised
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the lines under the message "[4] assistant: message 4" are, indented:
      """
      edit    src/parser.py (+2 -1 lines)
      command ruff check . (path src/)
      rename  docs/guide.md
      """
    And the lines under the message "[1]      user: message 1" are, indented:
      """
      """
    And the output never shows "+c"

  Scenario: Showing a session as JSON gives each message a list of its file events
    When I run "agent-sessions --url {database} sessions show {session} --json"
    Then the JSON messages hold the export records of the events numbered "none; 1, 2, 3; none; 4, 5, 6"

  Scenario: The session list shows external ids only when a session has one
    When I run "agent-sessions --url {database} sessions list"
    Then the output never shows "EXTERNAL ID"
    When the actor "importer" starts a session with the external id "claude-code:7f3e9c2a"
    And I run "agent-sessions --url {database} sessions list"
    Then the sessions table shows the external id "claude-code:7f3e9c2a" for "importer" and none for "coder"
    When I run "agent-sessions --url {database} sessions list --json"
    Then the JSON sessions give "importer" the external id "claude-code:7f3e9c2a" and "coder" null

  Scenario: Showing a session with an external id names it
    Given the actor "importer" starts a session with the external id "claude-code:7f3e9c2a"
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the output shows "  external id claude-code:7f3e9c2a"
    When I run "agent-sessions --url {database} sessions show {session} --json"
    Then the JSON session has the external id "claude-code:7f3e9c2a"

  Scenario: Paths and commands with control characters stay on one line of the table
    Given its message 1 recorded these file events:
      | type    | path                | command                  | diff |
      | write   | notes\nrm -rf ~.txt |                          |      |
      | command |                     | printf '\x1b[2J'\necho a |      |
    When I run "agent-sessions --url {database} sessions events {session} --offset 6"
    Then the events table lists, in the order recorded:
      | message | type    | diff lines | path or command          |
      | 1       | write   | -          | notes\nrm -rf ~.txt      |
      | 1       | command | -          | printf '\x1b[2J'\necho a |

  Scenario Outline: Bad arguments print one line naming the argument and exit with status 1
    When I run "agent-sessions --url {database} <command>"
    Then the command fails with one error line saying "<error>"

    Examples:
      | command                                             | error                               |
      | sessions files not-a-ulid                           | invalid session_id                  |
      | sessions events not-a-ulid                          | invalid session_id                  |
      | sessions events {session} --type frobnicate         | invalid --type: 'frobnicate' is not one of read, write, edit, delete, rename, command |
      | sessions events {session} --path '  '               | invalid --path                      |
      | sessions events {session} --limit 0                 | invalid --limit                     |
      | sessions events {session} --limit 100001            | invalid --limit                     |
      | sessions events {session} --offset -1               | invalid --offset                    |
      | sessions files 01ARZ3NDEKTSV4RRFFQ69G5FAV           | session '01ARZ3NDEKTSV4RRFFQ69G5FAV' does not exist |
      | sessions events 01ARZ3NDEKTSV4RRFFQ69G5FAV          | session '01ARZ3NDEKTSV4RRFFQ69G5FAV' does not exist |
      | sessions events 01ARZ3NDEKTSV4RRFFQ69G5FAV --json   | session '01ARZ3NDEKTSV4RRFFQ69G5FAV' does not exist |
