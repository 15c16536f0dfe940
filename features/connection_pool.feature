Feature: Pooled PostgreSQL connections are pinged without hiding why a dead one failed
  With pool_pre_ping=True (an option: the library does not ping by default), a server backend
  checks a pooled connection before handing it out. With
  psycopg, SQLAlchemy's own ping turns autocommit on, runs an empty statement and turns it off
  again in a finally block; when the server ends the connection during the ping, psycopg refuses
  that last step with ProgrammingError "can't change 'autocommit' now", which replaced the real,
  transient error and escaped the retry policy (sqlalchemy/sqlalchemy#8008). The library's ping
  restores autocommit only after a successful ping. These scenarios use a stand-in for the
  driver's connection, so they need no server and run with every backend.

  Scenario: A connection the server ends during the ping fails with the server's error, which is retried
    Given an engine for "postgresql+psycopg://u@127.0.0.1:1/x"
    And a psycopg connection that the server ends during the ping
    When the engine pings it
    Then the ping fails with the connection's OperationalError, not a ProgrammingError
    And the retry policy counts that error as transient
    And the ping's cursor is closed

  Scenario: A healthy connection passes the ping with autocommit back off
    Given an engine for "postgresql+psycopg://u@127.0.0.1:1/x"
    And a healthy psycopg connection with autocommit off
    When the engine pings it
    Then the ping succeeds after one empty statement run in autocommit
    And the connection's autocommit is off again
    And the ping's cursor is closed

  Scenario: A healthy connection already in autocommit stays in autocommit
    Given an engine for "postgresql+psycopg://u@127.0.0.1:1/x"
    And a healthy psycopg connection with autocommit on
    When the engine pings it
    Then the ping succeeds after one empty statement run in autocommit
    And the connection's autocommit was never changed
