Feature: Optimistic appends
  Two workers on one conversation can each read its end and answer it. Without a guard both
  answers are stored, one after the other, and the transcript interleaves two turns. With
  `expected_sequence=N`, `append_message` and `append_messages` write only if the session's last
  sequence is still N (0 for a session without messages); otherwise they raise
  `SequenceConflictError`, which names the sequence expected and the one found, and write
  nothing. The check is made under the session's row lock, in the transaction that reserves
  the new sequences, so of the workers that expect the same end exactly one appends. Without
  the argument an append goes wherever the session ends, as before.

  # ---------------------------------------------------------------------------------------------
  # Appending at the expected end
  # ---------------------------------------------------------------------------------------------

  Scenario: A message that expects the session's last sequence is appended after it
    Given a session of actor "agent" with 2 messages
    When I append "the answer" expecting the session to end at sequence 2
    Then the message "the answer" is stored at sequence 3
    And the session holds 3 messages

  Scenario: A session without messages ends at sequence 0
    Given a session of actor "agent"
    When I append "hello" expecting the session to end at sequence 0
    Then the message "hello" is stored at sequence 1

  Scenario: A batch that expects the session's last sequence is appended after it
    Given a session of actor "agent" with 3 messages
    When I append a batch of 2 messages expecting the session to end at sequence 3
    Then the batch has the sequences 4, 5
    And the batch is stored exactly as returned

  # ---------------------------------------------------------------------------------------------
  # A stale expectation
  # ---------------------------------------------------------------------------------------------

  Scenario: A message that expects a stale sequence is refused, naming both, and nothing is written
    Given a session of actor "agent" with 3 messages
    And the row counts of every table are noted
    When I try to append "late" expecting the session to end at sequence 2
    Then the call fails with SequenceConflictError saying "ends at sequence 3, not at the expected 2"
    And the conflict names the session, the expected sequence 2 and the actual sequence 3
    And the row counts of every table are unchanged
    And the session is exactly as it was

  Scenario: A batch that expects a stale sequence writes none of its messages
    Given a session of actor "agent" with 3 messages
    And the row counts of every table are noted
    When I try to append a batch of 4 messages expecting the session to end at sequence 1
    Then the call fails with SequenceConflictError saying "ends at sequence 3, not at the expected 1"
    And the row counts of every table are unchanged
    And the session is exactly as it was

  # ---------------------------------------------------------------------------------------------
  # Racing workers, retries, and refused calls
  # ---------------------------------------------------------------------------------------------

  Scenario Outline: Of <workers> workers racing with the same expectation, exactly one appends
    Given a session of actor "agent" with 1 message
    When <workers> workers each append their answer at once, all expecting sequence 1
    Then exactly one worker's answer is stored, at sequence 2
    And every other worker got SequenceConflictError, expected 1 and actual 2
    And the session holds 2 messages

    Examples:
      | workers |
      | 2       |
      | 8       |

  Scenario: An optimistic append whose commit acknowledgement is lost is stored once, without a conflict
    Given a service whose engine I can break
    And a stored session for "ack-lost" with 2 messages
    When the next commit lands but its acknowledgement is lost
    And I append a message "reply" to it expecting it to end at sequence 2
    Then the call returned normally after 1 retry
    And the session holds exactly the messages "message 1, message 2, reply" at sequences 1, 2, 3

  Scenario: An unknown session is still reported as missing
    When I try to append "hello" to an unknown session expecting sequence 0
    Then the call fails with SessionNotFoundError

  Scenario Outline: An expected_sequence of <value> is refused by name, and nothing is written
    Given a session of actor "agent" with 2 messages
    And the row counts of every table are noted
    When I try to append a <what> with expected_sequence set to <value>
    Then the call is refused with InvalidInputError naming "expected_sequence"
    And the row counts of every table are unchanged

    Examples:
      | what    | value                |
      | message | -1                   |
      | message | a boolean            |
      | message | a word               |
      | message | a float              |
      | message | more than 2**53 - 1  |
      | batch   | -1                   |
      | batch   | a boolean            |
      | batch   | more than 2**53 - 1  |

  # ---------------------------------------------------------------------------------------------
  # After a rewind
  # ---------------------------------------------------------------------------------------------

  Scenario: After a rewind, the expected sequence is the highest ever used, not the last visible
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    When I append "the answer" expecting the session to end at sequence 5
    Then the message "the answer" is stored at sequence 6

  Scenario: After a rewind, expecting the last visible sequence is a stale expectation
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    And the row counts of every table are noted
    When I try to append "late" expecting the session to end at sequence 2
    Then the call fails with SequenceConflictError saying "ends at sequence 5, not at the expected 2"
    And the row counts of every table are unchanged
