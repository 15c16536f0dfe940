Feature: Erasing an owner: everything of one end user goes, nothing of the others
  A data-protection request asks to erase everything of one end user. `erase_owner` deletes
  every session of the owner with all that hangs off it (messages, file events, token-usage
  receipts, rewinds, compactions), in batches, each its own transaction, and returns a receipt
  that counts the rows deleted by table. While any session of the owner is under a hold, it is
  refused before anything is deleted.

  Background:
    Given "alice" owns a session with 4 messages, a file event, a token receipt, a rewind and a compaction
    And "alice" owns a second session with 2 messages
    And "bob" owns a session with 3 messages and a file event

  Scenario: Erasing an owner deletes every row of the owner's sessions and counts them by table
    When I erase the owner "alice"
    Then the receipt counts 2 sessions and these rows:
      | table                | rows |
      | sessions             | 2    |
      | session_messages     | 6    |
      | session_file_events  | 1    |
      | session_token_usage  | 1    |
      | session_rewinds      | 1    |
      | session_compactions  | 1    |
    And no session of "alice" remains
    And the store verifies clean

  Scenario: Erasing one owner leaves the other owners' sessions as they were
    When I erase the owner "alice"
    Then the session of "bob" reads as it did before, with its 3 messages and its file event
    And the receipt's finish is not before its start

  Scenario: A fork of an owner's session is the owner's, and is erased with it
    Given the first session of "alice" was forked at sequence 2
    When I erase the owner "alice"
    Then the receipt counts 3 sessions
    And no session of "alice" remains
    And the store verifies clean

  Scenario: An owner without sessions gets a receipt of zeros
    When I erase the owner "carol"
    Then the receipt counts 0 sessions and 0 rows in each of the six tables
    And 3 sessions are stored

  Scenario: Erasure is refused while a session of the owner is held, and deletes nothing
    Given the second session of "alice" is under a hold for "legal hold"
    When I try to erase the owner "alice"
    Then the call is refused with InvalidInputError naming "owner_id" saying "hold"
    And 3 sessions are stored
    When I release the hold of the second session of "alice"
    And I erase the owner "alice"
    Then no session of "alice" remains

  Scenario: An owner of 150 sessions is erased entirely, across batches
    Given "dora" owns 150 sessions of one message each
    When I erase the owner "dora"
    Then the receipt counts 150 sessions and 150 messages
    And no session of "dora" remains
    And 3 sessions are stored

  Scenario Outline: A hostile owner id is refused, and nothing is erased
    When I try to erase the owner given as <value>
    Then the call is refused with InvalidInputError naming "owner_id"
    And 3 sessions are stored

    Examples:
      | value                         |
      | None                          |
      | a blank string                |
      | 256 characters                |
      | a string with a NUL character |
      | a lone surrogate              |
      | a number                      |
