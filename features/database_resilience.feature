Feature: Database resilience and clear failures
  Transient database errors (a busy SQLite file, a lost connection, a deadlock) re-run the whole
  transaction a bounded number of times; other database errors are never retried and surface as
  one DatabaseError that names the database without its password: a DatabaseUnavailableError
  for a connection that failed, a DatabaseTimeoutError for a lock that was never released, a
  DatabaseConflictError for a deadlock or serialization failure. Bad URLs are refused before
  anything connects.

  Scenario: A SQLite append waits out another writer's lock by retrying, then succeeds
    Given a SQLite store that does not wait on locks by itself and retries up to 50 times
    And another process holds the SQLite write lock and releases it shortly
    When I append a message to the SQLite store's session
    Then the message is stored at sequence 1
    And the log shows that the whole transaction was retried

  Scenario: Past the retry bound a locked SQLite file fails clearly and writes nothing
    Given a SQLite store that does not wait on locks by itself and retries up to 3 times
    And another process holds the SQLite write lock until the scenario ends
    When I try to append a message to the SQLite store's session
    Then the call fails with DatabaseTimeoutError saying "database is locked"
    And after the lock is released the session still has no messages

  Scenario: A database error that is not transient is raised at once, not retried
    Given a separate migrated database whose session_messages table was dropped behind its back
    When I try to append a message to a session in that database
    Then it fails with a DatabaseError that names the database
    And the log shows no retry

  Scenario Outline: Unusable database URLs are refused with InvalidInputError naming the url
    When I open a service on the URL "<url>"
    Then the call is refused with InvalidInputError naming "url" saying "<reason>"

    Examples:
      | url                             | reason                         |
      | oracle://scott@db/orcl          | backend 'oracle' is not supported |
      | this is not a url               | cannot be parsed               |
      | postgresql+psycopg2://u@h/db    | 'psycopg2' is not installed    |
      | sqlite+nosuchdriver:///x.db     | Can't load plugin              |

  Scenario: A URL that is not a string is refused before anything else happens
    When I open a service on a URL given as the number 5432
    Then the call is refused with InvalidInputError naming "url" saying "must be a string, got int"

  Scenario Outline: An impossible retry policy is refused, naming the setting
    When I make a retry policy with <setting> set to <value>
    Then the call is refused with InvalidInputError naming "<setting>" saying "<reason>"

    Examples:
      | setting       | value | reason                 |
      | attempts      | 0     | must be at least 1     |
      | attempts      | 2.5   | must be an integer     |
      | total_seconds | -1    | must be a number of seconds |
      | max_wait      | True  | must be a number of seconds |

  Scenario: An engine option the database engine does not accept is refused by name
    When I open a service with the misspelt option "retry_attempt" set to 3
    Then the call is refused with InvalidInputError naming "options" saying "retry_attempt"

  Scenario: A server that cannot be reached gives a DatabaseUnavailableError without the password
    When I open a service on the URL "postgresql://operator:s3cret@127.0.0.1:1/sessions"
    Then opening fails with a DatabaseUnavailableError that hides the password "s3cret"

  Scenario: The repositories work on their own, each call its own transaction
    Given the session and message repositories bound to an engine of the database
    When I store a session and append two messages through them
    Then the session repository finds the session with message_count 2
    And the message repository counts 2 messages and returns them in order
    And the session repository lists the session and deletes it

  Scenario Outline: Each dialect's classifier retries exactly its transient errors, and names them
    When the <driver> driver raises <error>
    Then the library <verdict> the whole transaction
    And past the retry bound the store raises <raised>

    Examples: PostgreSQL, by SQLSTATE
      | driver  | error                                        | verdict        | raised                   |
      | psycopg | SQLSTATE 40001 (serialization failure)       | retries        | DatabaseConflictError    |
      | psycopg | SQLSTATE 40P01 (deadlock detected)           | retries        | DatabaseConflictError    |
      | psycopg | SQLSTATE 57P01 (admin shutdown)              | retries        | DatabaseUnavailableError |
      | psycopg | SQLSTATE 08006 (connection failure)          | retries        | DatabaseUnavailableError |
      | psycopg | a connection error without SQLSTATE          | retries        | DatabaseUnavailableError |
      | psycopg | SQLSTATE 23505 (unique violation)            | does not retry | DatabaseError            |
      | psycopg | SQLSTATE 42P01 (undefined table)             | does not retry | DatabaseError            |
      | psycopg | SQLSTATE 22P02 (invalid text representation) | does not retry | DatabaseError            |

    Examples: MariaDB and MySQL, by error number
      | driver  | error                                   | verdict        | raised                   |
      | pymysql | error 1213 (deadlock)                   | retries        | DatabaseConflictError    |
      | pymysql | error 1205 (lock wait timeout)          | retries        | DatabaseTimeoutError     |
      | pymysql | error 2006 (server has gone away)       | retries        | DatabaseUnavailableError |
      | pymysql | error 2013 (lost connection)            | retries        | DatabaseUnavailableError |
      | pymysql | error 1927 (connection killed)          | retries        | DatabaseUnavailableError |
      | pymysql | error 1062 (duplicate entry)            | does not retry | DatabaseError            |
      | pymysql | error 1146 (table does not exist)       | does not retry | DatabaseError            |
      | pymysql | error 1064 (syntax error)               | does not retry | DatabaseError            |

    Examples: SQLite, by result code
      | driver  | error                                   | verdict        | raised                   |
      | sqlite3 | code 5 (SQLITE_BUSY)                    | retries        | DatabaseTimeoutError     |
      | sqlite3 | code 517 (SQLITE_BUSY_SNAPSHOT)         | retries        | DatabaseTimeoutError     |
      | sqlite3 | code 6 (SQLITE_LOCKED)                  | retries        | DatabaseTimeoutError     |
      | sqlite3 | "database is locked" without a code     | retries        | DatabaseTimeoutError     |
      | sqlite3 | code 19 (SQLITE_CONSTRAINT)             | does not retry | DatabaseError            |
      | sqlite3 | code 1 (SQLITE_ERROR, no such table)    | does not retry | DatabaseError            |

    Examples: Not a driver error at all
      | driver  | error                                   | verdict        | raised                   |
      | python  | InvalidInputError                       | does not retry | InvalidInputError        |
      | python  | a programming mistake (TypeError)       | does not retry | TypeError                |
