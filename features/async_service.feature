Feature: The async service: every method of the sync service, awaited
  `AsyncPersistentSessionService` serves asyncio agent cores. It runs on SQLAlchemy's asyncio
  engine (aiosqlite, psycopg's async mode, aiomysql) and calls the very same service logic as
  the sync service through SQLAlchemy's greenlet bridge, so every rule (validation, sequences,
  retries, exactly-once writes, export format, errors) is the sync service's own. A write that
  has begun finishes even if the task awaiting it is cancelled.

  Scenario: The async port has a coroutine for every method of the sync port
    Then every public method of SessionService has an awaitable form on AsyncSessionService
    And AsyncPersistentSessionService implements all of them

  Scenario: A session written and read entirely through the async service
    Given an async service on the scenario's database
    When I run a session through every method of the async service
    Then each call gave what the sync service gives for it
    And the sync service sees the same session, messages and file events

  Scenario Outline: <call>, awaited, gives what the sync service then reads back
    Given an async service on the scenario's database
    And a session of 6 messages, compacted through 3, forked at 4 and rewound to 5
    When I await <call> on that session
    Then the sync service reads back what the async service returned

    Examples:
      | call                                  |
      | fork_session at 2                     |
      | lineage of its fork                   |
      | list forked_from                      |
      | rewind to 4                           |
      | undo_rewind                           |
      | list_rewinds                          |
      | compact through 4                     |
      | list_compactions                      |
      | context_messages with limit 1         |
      | get_messages including the rewound    |
      | set_hold                              |
      | release_hold                          |
      | erase_owner of its owner              |

  Scenario: The async service refuses what the sync service refuses, with the same errors
    Given an async service on the scenario's database
    When I await an append to a session that does not exist
    Then the call fails with SessionNotFoundError
    When I await the creation of a session with an empty actor name
    Then the call is refused with InvalidInputError naming "actor_name"
    And no session is stored

  Scenario: An async iteration over a session reads it in pages, in order
    Given an async service on the scenario's database
    And a session with 25 messages appended through it
    When I iterate over its messages asynchronously, 10 at a time
    Then I get the sequences 1 to 25 in order
    When I iterate asynchronously over a session that does not exist
    Then the call fails with SessionNotFoundError

  Scenario: 50 sessions served at once from one event loop keep their sequences
    Given an async service on the scenario's database
    When 50 tasks on one event loop each append 20 messages to a session of their own
    Then every one of the 50 sessions holds the sequences 1 to 20 without gap
    And the async service's verify finds no problem in them

  Scenario: A write whose awaiting task is cancelled half-way still completes
    Given an async service on the scenario's database
    And a session with 1 message appended through it
    And another connection holds the session's row lock
    When a task starts appending "finish me" to the session and is cancelled while it waits
    And the other connection lets go of the lock
    Then the cancelled task ends with CancelledError
    And the session holds 2 messages, the last one "finish me"

  Scenario: A retry after a lost acknowledgement writes once, and its back-off does not block the loop
    Given an async service on the scenario's database whose retries wait 200 ms
    And a session with 1 message appended through it
    When the next commit's acknowledgement is lost while I await an append beside a ticking task
    Then the session holds 2 messages
    And the ticking task kept running while the append waited to retry

  Scenario: Opening an unmigrated database is refused, as the sync service refuses it
    When I open an async service on a new, unmigrated database
    Then the call fails with SchemaMismatchError

  Scenario: A URL whose driver has no asyncio mode is refused before anything connects
    When I open an async service on "mysql+mysqldb://user@127.0.0.1:1/db"
    Then the call is refused with InvalidInputError naming "url"
    And the error message mentions "has no asyncio mode"

  Scenario: The how-to's example runs as written
    When I run the Python example of "docs/how-to/async.md" on a new database
    Then it prints what the how-to says it prints

  Scenario: A missing asyncio driver is named, with the extra that installs it
    When I open an async service on "postgresql+asyncpg://user@127.0.0.1:1/db"
    Then the call is refused with InvalidInputError naming "url"
    And the error message mentions "'asyncpg', which is not installed"
    And the error message mentions "agent-sessions[asyncio]"
