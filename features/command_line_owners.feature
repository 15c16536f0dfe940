Feature: Owners, holds and erasure on the command line
  Operators list the sessions of one owner (an end user or tenant) with `sessions list --owner`,
  narrow a listing by external id and by time, keep a session from erasure with `sessions hold`
  (and `sessions release`), and delete everything an owner stored with `owners erase`, which
  asks for `--yes` and prints a receipt. Owners are shown escaped, like all stored text.

  Scenario: Listing the sessions of one owner
    Given 2 sessions of owner "alice" with 3 messages each
    And 1 session of owner "bob" with 2 messages
    And the session "planner" with 1 messages
    When I run "agent-sessions --url {database} sessions list --owner alice"
    Then the table has an OWNER column and lists the 2 sessions of owner "alice" alone
    When I run "agent-sessions --url {database} sessions list --owner alice --json"
    Then the JSON sessions are the 2 sessions of owner "alice", each naming its owner

  Scenario: A listing without owners has no OWNER column
    Given the session "planner" with 1 messages
    When I run "agent-sessions --url {database} sessions list"
    Then the table has no OWNER column

  Scenario: Listing the session of one external id
    Given the session "planner" with 1 messages
    And the actor "importer" starts a session with the external id "ses_8f2c1a"
    When I run "agent-sessions --url {database} sessions list --external-id ses_8f2c1a --json"
    Then the JSON sessions are the session alone, with the external id "ses_8f2c1a"

  Scenario: Listing by time takes ISO 8601 times with an offset, Z included
    Given 1 session of owner "alice" with 1 messages
    When I run "agent-sessions --url {database} sessions list --created-after 2000-01-01T00:00:00Z --json"
    Then the JSON sessions are the 1 sessions of owner "alice", each naming its owner
    When I run "agent-sessions --url {database} sessions list --updated-before 2000-01-01T01:00:00+01:00"
    Then the output is exactly "no sessions"

  Scenario Outline: A time without an offset is refused naming its option
    When I run "agent-sessions --url {database} sessions list <option> <time>"
    Then the command fails with one error line saying "invalid <option>: <reason>"

    Examples:
      | option           | time                | reason                           |
      | --created-after  | 2026-12-01T09:30:00 | must give its offset from UTC    |
      | --updated-before | 2026-12-01          | must give its offset from UTC    |
      | --created-before | yesterday           | must be an ISO 8601 time such as |

  Scenario: A hold and its release show in the session's header
    Given the session "planner" with 2 messages
    When I run "agent-sessions --url {database} sessions hold {session} --reason 'legal case 12'"
    Then the output says the session is held because "legal case 12"
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the header says the session is held since its hold's time, because "legal case 12"
    When I run "agent-sessions --url {database} sessions release {session} --json"
    Then the JSON session has no hold
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the header says nothing of a hold

  Scenario: Erasing an owner asks for --yes and deletes nothing without it
    Given 2 sessions of owner "alice" with 3 messages each
    When I run "agent-sessions --url {database} owners erase alice"
    Then the command fails with one error line saying "every session of owner alice"
    And owner "alice" still has 2 sessions

  Scenario: Erasing an owner prints the receipt and leaves other owners alone
    Given 2 sessions of owner "alice" with 3 messages each
    And 1 session of owner "bob" with 2 messages
    When I run "agent-sessions --url {database} owners erase alice --yes"
    Then the receipt says 2 sessions, 2 rows of sessions and 6 rows of session_messages
    And owner "alice" has no session left and owner "bob" still has 1
    When I run "agent-sessions --url {database} owners erase alice --yes --json"
    Then the JSON receipt counts 0 sessions and 0 rows in every table

  Scenario: An owner with a held session is not erased
    Given 2 sessions of owner "alice" with 1 messages each
    And the first session of owner "alice" is held because "audit"
    When I run "agent-sessions --url {database} owners erase alice --yes"
    Then the command fails with one error line saying "owner_id"
    And owner "alice" still has 2 sessions

  Scenario: A hostile owner name is shown escaped
    Given 1 session of owner "eve\x1b[2J\nmallory\u202e" with 1 messages
    When I run "agent-sessions --url {database} sessions list"
    Then the output shows "eve\x1b[2J\nmallory\u202e"
    And the output holds no control character
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the output shows "  owner eve\x1b[2J\nmallory\u202e"
    And the output holds no control character
    When I run "agent-sessions --url {database} owners erase '{owner}'"
    Then the command fails with one error line saying "owner eve\x1b[2J\nmallory\u202e"

  Scenario: The shell completes the owners commands from the parser
    When the shell completes "agent-sessions owners er"
    Then it offers "erase" and loaded neither SQLAlchemy nor Alembic
    When the shell completes "agent-sessions sessions list --own"
    Then it offers "--owner" and loaded neither SQLAlchemy nor Alembic
