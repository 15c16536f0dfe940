Feature: Command line
  Operators drive agent-sessions from the `agent-sessions` command: migrate a database, list,
  show, export, import and delete sessions. Expected errors print one line and exit non-zero.

  Scenario: The demo records a sample conversation in the default SQLite file and shows it
    Given an empty working folder
    When I run "agent-sessions demo"
    Then the command succeeds
    And the output shows "Planning a trip to Kyoto"
    And the output shows "[5] assistant: April for cherry blossoms"
    And the working folder now holds "agent_sessions.db"
    And "agent-sessions sessions list" then lists "demo-agent"

  Scenario: Migrating and checking a fresh database
    Given a fresh database for the command line
    When I run "agent-sessions --url {database} db upgrade"
    Then the output shows "to 0005_owners_and_holds"
    When I run "agent-sessions --url {database} db current"
    Then the output is exactly "0005_owners_and_holds"
    When I run "agent-sessions --url {database} db check"
    Then the output shows "the schema matches"
    When I run "agent-sessions --url {database} db upgrade"
    Then the output shows "is already at revision 0005_owners_and_holds"

  Scenario: Checking a database with fatal drift fails naming it, as opening the store does
    Given a fresh database for the command line
    And I run "agent-sessions --url {database} db upgrade"
    And the column "session_messages.token_count" was dropped behind the library's back
    When I run "agent-sessions --url {database} db check"
    Then the command fails with one error line saying "session_messages.token_count (missing column)"
    And the printed report shows "FATAL: session_messages.token_count (missing_column)"

  Scenario: Listing an empty database says so
    When I run "agent-sessions --url {database} sessions list"
    Then the output is exactly "no sessions"

  Scenario: Importing an export document from standard input
    Given the session "piped" with 2 messages
    And its export document is on standard input
    When I run "agent-sessions --url {database} sessions import -"
    Then the output shows "(2 messages) for actor piped"

  Scenario: A database server that cannot be reached gives one line without the password
    When I run "agent-sessions --url postgresql://operator:s3cret@127.0.0.1:1/x db current"
    Then the command fails with one error line saying "operator:***@127.0.0.1:1/x"

  Scenario: Checking a database that was never migrated fails and says how to fix it
    Given a fresh database for the command line
    When I run "agent-sessions --url {database} db check"
    Then the command fails with one error line saying "run `agent-sessions db upgrade`"
    When I run "agent-sessions --url {database} db current"
    Then the output is exactly "none"

  Scenario: Listing and showing sessions as text and as JSON
    Given the session "support-bot" with 3 messages
    When I run "agent-sessions --url {database} sessions list --actor support-bot"
    Then the output shows "support-bot"
    When I run "agent-sessions --url {database} sessions show {session} --json"
    Then the JSON output has 3 messages in sequence order
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the output shows "[3]      user: message 3"

  Scenario: The database URL comes from AGENT_SESSIONS_URL when --url is absent
    Given the session "env-bot" with 1 messages
    And AGENT_SESSIONS_URL names the database
    When I run "agent-sessions sessions list --json"
    Then the JSON output lists the actor "env-bot"

  Scenario: Exporting to a file and importing it again
    Given the session "exporter" with 3 messages
    When I run "agent-sessions --url {database} sessions export {session} -o {file}"
    And I run "agent-sessions --url {database} sessions import {file}"
    Then the output shows "(3 messages) for actor exporter"
    And the service now holds 2 sessions of "exporter" with the same messages

  Scenario: Exporting to standard output gives a verifiable export document
    Given the session "streamer" with 2 messages
    When I run "agent-sessions --url {database} sessions export {session}"
    Then the output is an export document with a valid checksum

  Scenario: Deleting a session
    Given the session "short-lived" with 2 messages
    When I run "agent-sessions --url {database} sessions delete {session}"
    Then the output shows "deleted session"
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the command fails with one error line saying "does not exist"

  Scenario Outline: Expected errors print one line and exit with status 1
    Given the session "careful" with 1 messages
    And a file "{file}" holding <content>
    When I run "agent-sessions --url {database} <command>"
    Then the command fails with one error line saying "<error>"

    Examples:
      | command                        | content               | error                         |
      | sessions show not-a-ulid       | nothing               | invalid session_id            |
      | sessions import {file}         | a tampered export     | checksum mismatch             |
      | sessions import {file}         | text that is not JSON | is not valid JSON             |
      | sessions import {file}         | bytes that are not UTF-8 | is not UTF-8 text          |
      | sessions import missing.json   | nothing               | cannot read missing.json      |
      | sessions list --limit 0        | nothing               | invalid --limit               |
      | sessions export {session} -o / | nothing               | cannot write /                |

  Scenario: Reading commands never create a database file that does not exist
    Given an empty working folder
    When I run "agent-sessions --url sqlite:///typo.db sessions list"
    Then the command fails with one error line saying "has never been migrated"
    When I run "agent-sessions --url sqlite:///typo.db db current"
    Then the command fails with one error line saying "no such database file"
    And the working folder does not hold "typo.db"

  Scenario: An unsupported database URL is refused with a clear line
    When I run "agent-sessions --url oracle://scott@db/orcl sessions list"
    Then the command fails with one error line saying "backend 'oracle' is not supported"

  Scenario: "python -m agent_sessions" is the same command
    When I run "python -m agent_sessions --url {database} db current"
    Then the output is exactly "0005_owners_and_holds"

  Scenario: A malformed command line exits with status 2 and a usage message
    When I run "agent-sessions sessions frobnicate"
    Then the command exits with status 2

  Scenario Outline: agent-sessions completion <shell> prints the script that completes the command in <shell>
    When I run "agent-sessions completion <shell>"
    Then the output shows "<line>"

    Examples:
      | shell | line                                                      |
      | bash  | complete -o nospace -o default -o bashdefault -F _python_argcomplete agent-sessions |
      | zsh   | compdef _python_argcomplete agent-sessions                |
      | fish  | complete --command agent-sessions                         |

  Scenario: Tab offers the commands and an option's values, without loading the database libraries
    When the shell completes "agent-sessions sessions ex"
    Then it offers "export" and loaded neither SQLAlchemy nor Alembic
    When the shell completes "agent-sessions sessions export ID --format "
    Then it offers "json, jsonl" and loaded neither SQLAlchemy nor Alembic

  Scenario: Importing agent_sessions and asking for --help load no database library
    When a new Python process imports agent_sessions and runs "agent-sessions --help"
    Then it printed the usage and loaded neither SQLAlchemy nor Alembic
    And every public name of agent_sessions was there and listed, RetryPolicy once asked for

  Scenario Outline: On a terminal <width> columns wide a table fits, ids whole; through a pipe its lines are whole
    Given the session "wide" titled "[bold]Fix[/bold] \x1b[2J the parser" and 100 more characters
    And a session of actor "an actor whose name is long" titled "Kyoto trip"
    When I run "agent-sessions --url {database} sessions list" on a terminal <width> columns wide
    Then every line of the output fits in <width> columns, the title's cut with "…"
    And each session's line shows its whole id and its title's first <shown> characters, escaped
    When I run "agent-sessions --url {database} sessions list"
    Then the output shows the whole title, escaped

    Examples:
      | width | shown |
      | 140   | 30    |
      | 80    | 20    |
      | 60    | 30    |
      | 40    | 8     |

  Scenario: sessions show keeps a message's lines, escaping what would drive the terminal
    Given the session "poet" with the message "first line\nsecond \x1b[31mline"
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the output shows "[1]      user: first line"
    And the line after it is "second \x1b[31mline", under the message's first line
