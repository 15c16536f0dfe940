Feature: Reconcile helpers for migration authors
  A reconcile revision brings databases that took different paths to the same schema. Its
  helpers change a table only when it needs the change and say whether they changed it, so the
  same revision runs on a stale or a fresh database, and again after an interrupted upgrade,
  on every backend.

  Background:
    Given a freshly migrated database to reconcile

  Scenario Outline: Adding a missing <type> column is a change once, then a no-op
    Given a session of actor "ada" stored in it
    When the helper adds a nullable <type> column "tags" to "sessions"
    Then the helper reports a change
    And "sessions" has a nullable <type> column "tags"
    And the session stored before reads no "tags"
    When the helper adds a nullable <type> column "tags" to "sessions" again
    Then the helper reports no change

    Examples:
      | type        |
      | VARCHAR(64) |
      | BIGINT      |

  Scenario: A column that is not null needs a server default, which fills the stored rows
    Given a session of actor "ada" stored in it
    When the helper adds a not-null VARCHAR(16) column "tier" to "sessions" without a default
    Then the helper fails with ValueError mentioning "server_default"
    When the helper adds a not-null VARCHAR(16) column "tier" to "sessions" with the default "free"
    Then the helper reports a change
    And the session stored before reads "free" in "tier"

  Scenario: Dropping a column that is there is a change once, then a no-op
    Given the helper added a nullable VARCHAR(64) column "labels" to "sessions"
    When the helper drops the column "labels" of "sessions"
    Then the helper reports a change
    And "sessions" has no column "labels"
    When the helper drops the column "labels" of "sessions" again
    Then the helper reports no change

  Scenario Outline: Creating a missing <kind> index is a change once, then a no-op
    When the helper creates the <kind> index "<index>" on "sessions" (<columns>)
    Then the helper reports a change
    And "sessions" has the <kind> index "<index>" on (<columns>)
    When the helper creates the <kind> index "<index>" on "sessions" (<columns>) again
    Then the helper reports no change

    Examples:
      | kind   | index                              | columns                |
      | plain  | ix_sessions_actor_name_updated_at  | actor_name, updated_at |
      | unique | ix_sessions_title                  | title                  |

  Scenario: Dropping an index that is there is a change once, then a no-op
    Given the helper created the plain index "ix_sessions_title" on "sessions" (title)
    When the helper drops the index "ix_sessions_title" of "sessions"
    Then the helper reports a change
    And "sessions" has no index "ix_sessions_title"
    When the helper drops the index "ix_sessions_title" of "sessions" again
    Then the helper reports no change

  Scenario Outline: A helper used on a table that does not exist fails naming the table
    When the helper <helper> is used on the table "no_such_table"
    Then the helper fails with NoSuchTableError mentioning "no_such_table"
    And the database has no table "no_such_table"

    Examples:
      | helper                  |
      | add_column_if_missing   |
      | drop_column_if_exists   |
      | create_index_if_missing |
      | drop_index_if_exists    |
