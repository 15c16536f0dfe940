Feature: The same behaviour on every backend
  SQLite, PostgreSQL and MariaDB/MySQL differ in text sizes, character sets, time zones and
  collations. The library hides those differences: every scenario of this spec runs on each.

  Scenario: A 5 MB tool output round-trips byte for byte
    Given a session of actor "coding-agent"
    When I append a message of 5000000 characters mixing ASCII and multi-byte text
    And I reopen the store
    Then the message reads back with exactly that content

  Scenario: Timestamps are the same instants whatever time zone the connection uses
    Given a service whose database connections use the time zone "+09:00"
    When that service creates a session and appends a message
    Then a service in UTC reads the same instants, to the microsecond
    And those instants are within a minute of the current UTC time

  Scenario: Actor names are matched exactly: case, accents and trailing spaces count
    Given sessions of the actors "alice", "Alice", "alicé" and "alice<space>"
    When I list the sessions of actor "alice"
    Then exactly one session is listed, of the actor "alice"
