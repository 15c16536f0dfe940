Feature: Migration history you can trust
  The revisions that ship are locked by hash in migrations/migrations.lock.json, and every
  database records in its ledger which revision it applied from which source. A revision
  edited after release is caught in the repository, and a database whose history disagrees
  with the code is refused when a service opens, with the fix in the message.

  Scenario: Every applied revision is recorded in the ledger with the hash of its source
    Given an empty database
    When the database is upgraded to the newest migration
    Then the ledger records "0001_session_persistence" with the hash of its shipped source
    When the database is downgraded to "base"
    Then the database has none of the library's tables

  Scenario: The shipped revisions agree with the shipped lock file
    Then every shipped revision matches its lock entry, and the head hash is current

  Scenario Outline: The lock check names the file of a revision that was <change>
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    When <action>
    Then the lock check fails naming "<file>" and saying "<words>"

    Examples:
      | change                   | action                                                     | file                       | words                          |
      | edited by one character  | revision "0001_session_persistence" is edited by one character | versions/0001_session_persistence.py | was edited after it was locked |
      | removed                  | revision "0099_extra" is removed                          | versions/0099_extra.py     | was removed                    |
      | re-parented              | revision "0099_extra" is re-parented onto nothing         | versions/0099_extra.py     | was re-parented                |
      | added without a lock entry | a revision "0100_unlocked" is added after "0099_extra"  | versions/0100_unlocked.py  | without a lock entry           |

  Scenario: An amendment with a reason makes an edited revision acceptable, and keeps history
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    And revision "0099_extra" is edited by one character
    When the edit is recorded as an amendment of "0099_extra" with the reason "typo in a comment"
    Then the lock check passes
    And the lock entry of "0099_extra" keeps its first hash and the amendment with its reason

  Scenario: An amendment needs a reason
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    And revision "0099_extra" is edited by one character
    When the edit is recorded as an amendment of "0099_extra" with an empty reason
    Then the call is refused with InvalidInputError naming "reason"

  Scenario: A database whose applied revision was edited afterwards is refused at open
    Given an empty database
    And the database is upgraded to the newest migration
    And its ledger says "0001_session_persistence" was applied from another source
    When I open a service on it without migrating
    Then opening fails with MigrationHistoryError for "0001_session_persistence" with both hashes
    And the error tells how to fix it forward

  Scenario: A ledger entry this release does not ship means a newer release wrote the database
    Given an empty database
    And the database is upgraded to the newest migration
    And its ledger also records a revision "0099_from_a_newer_release"
    When I open a service on it without migrating
    Then the call fails with MigrationHistoryError saying "upgrade the library"

  Scenario: A database created before the ledger existed is adopted when its schema is clean
    Given an empty database
    And the database is upgraded to the newest migration
    And its ledger table was dropped
    When I open a service on it without migrating
    Then the ledger records every shipped revision as adopted

  Scenario: A database without a ledger whose schema drifted is not adopted
    Given an empty database
    And the database is upgraded to the newest migration
    And its ledger table was dropped
    And the column "session_messages.token_count" was dropped behind the library's back
    When I open a service on it without migrating
    Then the call fails with MigrationHistoryError saying "cannot be adopted"

  Scenario: Fatal drift refuses to open by default, naming the table and column
    Given an empty database
    And the database is upgraded to the newest migration
    And the column "session_messages.token_count" was dropped behind the library's back
    When I open a service on it without migrating
    Then opening fails with SchemaDriftError naming "session_messages.token_count"

  Scenario Outline: on_drift="<policy>" opens a drifted database anyway
    Given an empty database
    And the database is upgraded to the newest migration
    And the column "session_messages.token_count" was dropped behind the library's back
    When I open a service on it with on_drift="<policy>"
    Then the service opens, and the log <logged> the drift report

    Examples:
      | policy | logged       |
      | warn   | holds        |
      | off    | does not hold |

  Scenario: A revision that fails half-way can be run again once it is fixed
    Given a copy of the shipped migrations, locked, with a failing revision "0099_half_way"
    And an empty database
    And the database is upgraded to the newest migration
    When the database is upgraded with the copy, which fails
    Then the database is at revision "0005_owners_and_holds"
    And the failed revision's first step is rolled back where the engine's DDL is transactional
    When the failing step is removed from "0099_half_way" and the copy is upgraded again
    Then the database is at revision "0099_half_way"

  Scenario: The lock command adds new revisions, and refuses edits unless amended
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    When I run "agent-sessions migrations lock --check --lock-file {lock} --scripts {scripts}"
    Then the output shows "matches all 6 revision(s); head 0099_extra"
    When a revision "0100_unlocked" is added after "0099_extra"
    And I run "agent-sessions migrations lock --check --lock-file {lock} --scripts {scripts}"
    Then the command fails with one error line saying "versions/0100_unlocked.py"
    When I run "agent-sessions migrations lock --lock-file {lock} --scripts {scripts}"
    Then the output shows "added 1 revision(s); head 0100_unlocked"
    When revision "0099_extra" is edited by one character
    And I run "agent-sessions migrations lock --lock-file {lock} --scripts {scripts}"
    Then the command fails with one error line saying "was edited after it was locked"
    When I run "agent-sessions migrations lock --amend 0099_extra --reason 'typo' --lock-file {lock} --scripts {scripts}"
    Then the output shows "recorded an amendment of 0099_extra"
    And the lock check passes

  Scenario Outline: A damaged lock file is refused with the reason (<damage>)
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    And its lock file is damaged: <damage>
    When a database is opened with the copy and migrate=True
    Then the call fails with MigrationHistoryError saying "<words>"

    Examples:
      | damage                   | words                  |
      | not JSON                 | is malformed           |
      | another algorithm        | is malformed           |
      | a stale chain hash       | stale chain_sha256     |
      | deleted                  | is missing             |

  Scenario Outline: An amendment of <what> is refused
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    When I run "agent-sessions migrations lock --amend <revision> --reason 'why' --lock-file {lock} --scripts {scripts}"
    Then the command fails with one error line saying "<words>"

    Examples:
      | what                     | revision     | words                    |
      | a revision not locked    | 0009_unknown | is not in the lock file  |
      | an unchanged revision    | 0099_extra   | is unchanged             |

  Scenario: A database behind the code is told to upgrade the database, not the library
    Given a copy of the shipped migrations, locked, with a second revision "0099_extra"
    And an empty database
    And the database is upgraded to the newest migration
    When a database is opened with the copy
    Then the call fails with SchemaMismatchError saying "agent-sessions db upgrade"
    And the error names the expected revision "0099_extra"

  Scenario: An unknown on_drift policy is refused before anything connects
    When I open a service on the run's database with on_drift="ignore"
    Then the call is refused with InvalidInputError naming "on_drift" saying "must be one of raise, warn, off"

  Scenario: A reconcile revision replays safely after its ledger and version rows are forgotten
    Given a copy of the shipped migrations, locked, with a reconcile revision "0099_reconcile"
    And an empty database
    And the database is upgraded with the copy
    When the database forgets that it applied "0099_reconcile"
    And the database is upgraded with the copy
    Then the database is at revision "0099_reconcile"
    And a service opened with the copy reads and writes token counts

  Scenario: A database that predates the ledger is adopted while it is upgraded
    Given a copy of the shipped migrations, locked, with a reconcile revision "0099_extra"
    And an empty database
    And the database is upgraded to the newest migration
    And its ledger table was dropped
    When a database is opened with the copy and migrate=True
    Then the service opened, and the ledger holds the shipped revisions as adopted and "0099_extra" as applied

  Scenario: Migrating a database that a newer release wrote says to upgrade the library
    Given an empty database
    And the database is upgraded to the newest migration
    And the database's revision is recorded as "9999_from_the_future"
    When I run "agent-sessions --url {database} db upgrade"
    Then the command fails with one error line saying "upgrade the library (pip install -U agent-sessions)"
