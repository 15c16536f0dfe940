Feature: Schema drift doctor
  The library compares its models with the live schema of its own tables and classifies each
  difference: fatal when the code cannot read or write its rows, a warning otherwise.

  Scenario: A freshly migrated database is clean
    Given a freshly migrated database
    When the doctor examines it
    Then the doctor reports no drift at all

  Scenario: A column the code reads and writes was dropped
    Given a freshly migrated database
    And the column "session_messages.token_count" was dropped behind the library's back
    When the doctor examines it
    Then the doctor reports a fatal "missing_column" for "session_messages.token_count"
    And raising for the drift fails with SchemaDriftError naming "session_messages.token_count"

  Scenario: An extra nullable column is only a warning
    Given a freshly migrated database
    And someone added the nullable column "sessions.labels"
    When the doctor examines it
    Then the doctor reports a warning "extra_column" for "sessions.labels"
    And the doctor reports nothing fatal

  Scenario: An extra NOT NULL column without a default breaks inserts
    Given a freshly migrated database
    And someone added the NOT NULL column "sessions.tenant" without a default
    When the doctor examines it
    Then the doctor reports a fatal "extra_column" for "sessions.tenant"

  Scenario: A dropped index is only a warning
    Given a freshly migrated database
    And the index "ix_sessions_created_at" was dropped behind the library's back
    When the doctor examines it
    Then the doctor reports a warning "missing_index" for "sessions.ix_sessions_created_at"
    And the doctor reports nothing fatal

  Scenario: A dropped index gets one verdict from db check, db doctor and opening the store
    Given a freshly migrated database
    And the index "ix_sessions_created_at" was dropped behind the library's back
    When I run "agent-sessions --url {database} db check"
    Then the output shows "WARNING: sessions.ix_sessions_created_at (missing_index)"
    When I run "agent-sessions --url {database} db doctor"
    Then the output shows "WARNING: sessions.ix_sessions_created_at (missing_index)"
    And the store opens on it
    When I run "agent-sessions --url {database} db check --strict"
    Then the command fails with one error line saying "1 drift warning (--strict fails on them)"

  Scenario: The host application's own tables are ignored
    Given a freshly migrated database
    And the host application created its own table "host_orders" in it
    When the doctor examines it
    Then the doctor reports no drift at all

  Scenario: db doctor on a healthy database
    Given a fresh database for the command line
    And I run "agent-sessions --url {database} db upgrade"
    When I run "agent-sessions --url {database} db doctor"
    Then the output shows "schema OK: no drift between the models and the database"

  Scenario: db doctor --json on a healthy database
    Given a fresh database for the command line
    And I run "agent-sessions --url {database} db upgrade"
    When I run "agent-sessions --url {database} db doctor --json"
    Then the command succeeds
    And the JSON report is clean with no fatal finding and no warning

  Scenario: db doctor on a database with a dropped column
    Given a fresh database for the command line
    And I run "agent-sessions --url {database} db upgrade"
    And the column "session_messages.token_count" was dropped behind the library's back
    When I run "agent-sessions --url {database} db doctor"
    Then the command fails with one error line saying "session_messages.token_count"
    And the printed report shows "FATAL: session_messages.token_count (missing_column)"

  Scenario: db doctor --json on a database with a dropped column
    Given a fresh database for the command line
    And I run "agent-sessions --url {database} db upgrade"
    And the column "session_messages.token_count" was dropped behind the library's back
    When I run "agent-sessions --url {database} db doctor --json"
    Then the command exits with status 1 and a JSON report
    And the JSON report lists the fatal "missing_column" for "session_messages.token_count"

  Scenario: db doctor warns but succeeds on an extra nullable column
    Given a fresh database for the command line
    And I run "agent-sessions --url {database} db upgrade"
    And someone added the nullable column "sessions.labels"
    When I run "agent-sessions --url {database} db doctor"
    Then the output shows "WARNING: sessions.labels (extra_column)"

  Scenario: db doctor refuses a SQLite file that does not exist
    Given an empty working folder
    When I run "agent-sessions --url sqlite:///missing.db db doctor"
    Then the command fails with one error line saying "no such database file"
    And the working folder does not hold "missing.db"

  Scenario: A column of another family of types is fatal
    Given a freshly migrated database
    And the column "sessions.title" was replaced by one of type "INTEGER"
    When the doctor examines it
    Then the doctor reports a fatal "type_mismatch" for "sessions.title"

  Scenario: A shorter string column, nullability and default differences are warnings
    Given a freshly migrated database
    And the column "sessions.title" was replaced by one of type "VARCHAR(100) NOT NULL DEFAULT 'x'"
    When the doctor examines it
    Then the doctor reports a warning "type_difference" for "sessions.title"
    And the doctor reports a warning "nullability" for "sessions.title"
    And the doctor reports a warning "default" for "sessions.title"
    And the doctor reports nothing fatal

  Scenario: A dropped CHECK constraint is a warning
    Given a freshly migrated database
    And the CHECK constraint "ck_session_messages_sequence_positive" of "session_messages" was dropped
    When the doctor examines it
    Then the doctor reports a warning "missing_check_constraint" for "session_messages.ck_session_messages_sequence_positive"
    And the doctor reports nothing fatal

  Scenario: A json column where the models want jsonb is a warning where JSONB exists
    Given a freshly migrated database
    And the column "session_messages.metadata" was made plain JSON where the backend has JSONB
    When the doctor examines it
    Then on PostgreSQL only the doctor warns "json_not_jsonb" for "session_messages.metadata"

  Scenario: A missing table is fatal
    Given a freshly migrated database
    And the table "session_messages" was dropped behind the library's back
    When the doctor examines it
    Then the doctor reports a fatal "missing_table" for "session_messages"

  Scenario: A dropped foreign key is a warning
    Given a freshly migrated database
    And the foreign key "fk_session_messages_session_id_sessions" of "session_messages" was dropped
    When the doctor examines it
    Then the doctor reports a warning "missing_foreign_key" for "session_messages.fk_session_messages_session_id_sessions"
    And the doctor reports nothing fatal
