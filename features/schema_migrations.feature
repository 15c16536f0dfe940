Feature: Schema migrations
  The schema is created and changed by the packaged Alembic migrations only. A service checks
  the schema revision when it opens, so a database that is not at the expected revision fails
  at once, with the command that fixes it, and never later on one code path.

  Scenario: Upgrading an empty database gives exactly the schema the models describe
    Given an empty database
    When the database is upgraded to the newest migration
    Then the database is at revision "0005_owners_and_holds"
    And the live schema has no difference from the models

  Scenario: Downgrading to base removes the library's tables and upgrading restores them
    Given an empty database
    And the database is upgraded to the newest migration
    When the database is downgraded to "base"
    Then the database has none of the library's tables
    When the database is upgraded to the newest migration
    Then the live schema has no difference from the models

  Scenario: Opening an un-migrated database without migrate fails at once with the fix
    Given an empty database
    When I open a service on it without migrating
    Then the call fails with SchemaMismatchError saying "agent-sessions db upgrade"
    And the error names the expected revision "0005_owners_and_holds"
    And the database has none of the library's tables

  Scenario: Opening with migrate=True brings the database to the newest schema
    Given an empty database
    When I open a service on it with migrate=True
    Then the database is at revision "0005_owners_and_holds"
    And the new service can store and read a session

  Scenario: A database at a revision this code does not know is refused
    Given an empty database
    And the database is upgraded to the newest migration
    And the database's revision is recorded as "9999_from_the_future"
    When I open a service on it without migrating
    Then the call fails with SchemaMismatchError saying "9999_from_the_future"
    And the error says to upgrade the library, not the database

  Scenario: The host application's own tables and Alembic history are left alone
    Given an empty database
    And the host application has a table "host_items" and its own alembic_version "abc123"
    When the database is upgraded to the newest migration
    And the database is downgraded to "base"
    Then the host table "host_items" still exists
    And the host's alembic_version still says "abc123"

  Scenario: A database of every released schema upgrades to head and keeps its data
    Given every released schema snapshot of this backend, rebuilt with sample rows
    When each is opened with migrate=True
    Then each one's sample session still has its 3 messages, metadata and token usage
    And each one's drift report is clean and its schema equals a fresh build

  Scenario: The stairway: every revision goes up, down and up again, then the doctor is clean
    Given an empty database
    When every revision is applied, reverted and applied again, one at a time
    Then the database is at the newest revision
    And the live schema has no difference from the models

  Scenario: Developers can run Alembic itself on the packaged scripts with migrations/alembic.ini
    Given an empty database
    When a developer runs "alembic -c migrations/alembic.ini -x url={database} upgrade head"
    Then the database is at revision "0005_owners_and_holds"
    And the live schema has no difference from the models

  Scenario: Offline SQL generation is refused, since the migrations need a live connection
    When a developer runs "alembic -c migrations/alembic.ini upgrade head --sql"
    Then Alembic stops with an error saying "run online only"
