Feature: Rewinding a session
  An agent that took a wrong turn undoes its last turns and carries on in the same session.
  `rewind(session_id, to_sequence)` takes the messages after `to_sequence` out of the session's
  visible history, which `get_messages`, `recent_messages`, `context_messages` and
  `files_touched` read. Nothing is deleted: the transcript (`get_messages(...,
  include_rewound=True)`, `iter_messages`, exports, `verify`) still holds every message, each
  hidden one marked with the rewind that hid it. Numbers are never reused: an append after a
  rewind continues after the highest sequence ever used. A rewind can be undone while nothing
  was appended after it; rewinding to the current end writes nothing.

  # ---------------------------------------------------------------------------------------------
  # What a rewind hides and keeps
  # ---------------------------------------------------------------------------------------------

  Scenario: A rewind takes the messages after the point out of the visible history
    Given a session of actor "agent" with 5 messages
    When I rewind the session to sequence 2 because "wrong approach"
    Then the visible messages are those at the sequences 1, 2
    And the 10 most recent messages are those at the sequences 1, 2
    And the rewind records the point 2, the end 5 and the reason "wrong approach"
    And the session's message_count is 5
    And the store verifies clean

  Scenario: The transcript still holds the rewound messages, each marked with the rewind
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    When I read the messages including the rewound ones
    Then I get the sequences 1 to 5, of which 3, 4, 5 are marked with the rewind
    And iterating over the session's messages gives the same transcript
    And the messages kept their content

  Scenario: A rewind to 0 hides every message
    Given a session of actor "agent" with 3 messages
    When I rewind the session to sequence 0
    Then the session has no visible message
    And the transcript holds the sequences 1 to 3, all marked with the rewind

  Scenario: Files touched count the events of visible messages only; the event list keeps them all
    Given a session of actor "coder" with 3 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path  | diff | command |
      | 1       | read       | src/app.py |      |         |
      | 3       | edit       | notes.md   | +x   |         |
    When I rewind the session to sequence 2
    Then the files the session touched are "src/app.py"
    And listing its file events still gives the events recorded in rows 1, 2

  # ---------------------------------------------------------------------------------------------
  # Carrying on after a rewind
  # ---------------------------------------------------------------------------------------------

  Scenario: An append after a rewind continues after the highest sequence ever used
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    When I append the message "another way" to the session
    Then the new message is stored at sequence 6
    And the visible messages are those at the sequences 1, 2, 6
    And the transcript holds the sequences 1 to 6, of which 3, 4, 5 are marked with the rewind
    And the store verifies clean

  Scenario: A later rewind can hide what was appended after an earlier one
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    And 2 messages were appended to the session after the rewind
    When I rewind the session to sequence 6
    Then the visible messages are those at the sequences 1, 2, 6
    And the session has 2 rewinds, in the order recorded
    And the store verifies clean

  Scenario: Rewinding to the last message writes nothing
    Given a session of actor "agent" with 3 messages
    And the row counts of every table are noted
    When I rewind the session to sequence 3
    Then the rewind returned nothing
    And the row counts of every table are unchanged
    And the session is exactly as it was

  Scenario Outline: Rewinding again to where a rewind left the session (<point>) writes nothing
    Given a session of actor "agent" with 3 messages
    And the session was rewound to sequence <point>
    And the row counts of every table are noted
    When I rewind the session to sequence <point>
    Then the rewind returned nothing
    And the row counts of every table are unchanged
    And the session has 1 rewind

    Examples:
      | point |
      | 1     |
      | 0     |

  # ---------------------------------------------------------------------------------------------
  # Undoing a rewind
  # ---------------------------------------------------------------------------------------------

  Scenario: Undoing a rewind while nothing was appended makes its messages visible again
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    When I undo the session's rewind
    Then the visible messages are those at the sequences 1 to 5
    And no message of the transcript is marked as rewound
    And the session's rewinds are listed with the last one undone
    And the store verifies clean

  Scenario: Undoing twice undoes the rewinds one after the other, newest first
    Given a session of actor "agent" with 6 messages
    And the session was rewound to sequence 4
    And the session was rewound to sequence 2
    When I undo the session's rewind
    Then the visible messages are those at the sequences 1 to 4
    When I undo the session's rewind
    Then the visible messages are those at the sequences 1 to 6

  Scenario: Undoing a rewind after an append is refused, and nothing is undone
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    And 1 message was appended to the session after the rewind
    When I try to undo the session's rewind
    Then the call fails with SequenceConflictError saying "ends at sequence 6, not at the expected 5"
    And the visible messages are those at the sequences 1, 2, 6
    And the session's rewinds are listed with none undone

  Scenario: Undoing a rewind after a compaction was recorded past it is refused, and nothing is undone
    Given a conversation whose messages are user, assistant, user, assistant, tool, assistant
    And the session was rewound to sequence 4
    And the session was compacted through sequence 4 with the summary "up to the call"
    When I try to undo the session's rewind
    Then the call is refused with InvalidInputError naming "session_id" saying "was recorded after rewind"
    And the visible messages are those at the sequences 1 to 4
    And the session's rewinds are listed with none undone
    And the context messages start with the summary "up to the call"
    And the store verifies clean

  Scenario: Undoing a rewind that hid a compaction, once a newer one is recorded, is refused
    Given a session of actor "agent" with 6 messages
    And the session was compacted through sequence 5 with the summary "the old summary"
    And the session was rewound to sequence 3
    And the session was compacted through sequence 3 with the summary "the new summary"
    When I try to undo the session's rewind
    Then the call is refused with InvalidInputError naming "session_id" saying "was recorded after rewind"
    And the context messages start with the summary "the new summary"

  Scenario: Undoing a rewind restores the compaction it hid when none was recorded since
    Given a session of actor "agent" with 6 messages
    And the session was compacted through sequence 5 with the summary "the old summary"
    And the session was rewound to sequence 3
    When I undo the session's rewind
    Then the context messages start with the summary "the old summary"
    And the store verifies clean

  Scenario: A session without a rewind to undo is refused, naming session_id
    Given a session of actor "agent" with 3 messages
    When I try to undo the session's rewind
    Then the call is refused with InvalidInputError naming "session_id" saying "no rewind to undo"

  # ---------------------------------------------------------------------------------------------
  # Popping after a rewind
  # ---------------------------------------------------------------------------------------------

  Scenario: Popping after a rewind hides the newest visible message instead of deleting it
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 3
    When I pop a message from the session
    Then the pop returned the message at sequence 3, marked as rewound
    And the visible messages are those at the sequences 1, 2
    And the transcript holds the sequences 1 to 5, of which 3, 4, 5 are marked as rewound
    And the session's last rewind goes back to sequence 2 for the reason "pop_message"
    And the store verifies clean

  Scenario: Popping the transcript's own last message still deletes it
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    And 1 message was appended to the session after the rewind
    When I pop a message from the session
    Then the pop returned the message at sequence 6, not marked as rewound
    And the transcript holds the sequences 1 to 5, of which 3, 4, 5 are marked with the rewind
    And the store verifies clean

  # ---------------------------------------------------------------------------------------------
  # Refused rewinds
  # ---------------------------------------------------------------------------------------------

  Scenario Outline: A rewind to <point>, <why>, is refused naming to_sequence, and nothing is written
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 3
    And the row counts of every table are noted
    When I try to rewind the session to sequence <point>
    Then the call is refused with InvalidInputError naming "to_sequence" saying "<text>"
    And the row counts of every table are unchanged
    And the session is exactly as it was

    Examples:
      | point               | why                          | text                               |
      | 6                   | past the end of the session  | past the session's last sequence 5 |
      | 4                   | a message already rewound    | hid from the visible history       |
      | -1                  | a negative number            | must be 0 or more                  |
      | a word              | not a number                 | must be an integer                 |
      | a boolean           | not a number                 | must be an integer                 |

  Scenario: A reason longer than 4 KiB is refused naming reason, and nothing is written
    Given a session of actor "agent" with 3 messages
    And the row counts of every table are noted
    When I try to rewind the session with a reason of 4097 characters
    Then the call is refused with InvalidInputError naming "reason"
    And the row counts of every table are unchanged

  Scenario Outline: To <call> for a session id that names nothing fails
    When I try to <call> for a session id that names nothing
    Then the call fails with SessionNotFoundError

    Examples:
      | call             |
      | rewind to 0      |
      | undo a rewind    |
      | list the rewinds |
