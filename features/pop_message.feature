Feature: Popping the newest message
  `pop_message(session_id)` takes back the last message of a session, as an agent undoing its
  last turn does (the OpenAI Agents SDK's `pop_item`). It removes the newest message and its
  file events in one transaction, under the session's row lock as appends take it, and returns
  the message. The sequence counter steps back, so the next append reuses that number and the
  sequences stay 1..n without gap. A session without messages gives None; the library's own
  retries never pop twice.

  # ---------------------------------------------------------------------------------------------
  # What a pop removes and returns
  # ---------------------------------------------------------------------------------------------

  Scenario: Popping steps message_count back and moves updated_at to now, leaving the tokens
    Given a session of actor "agent" with 3 messages
    And the session has used 40 prompt and 9 completion tokens
    And a service on the same database whose clock reads a minute after the session's last update
    When that service pops a message from the session
    Then the session's message_count is 2
    And the session's updated_at is that service's time
    And the session's token usage is still 40 prompt and 9 completion

  Scenario: A clock behind the session's last update never moves updated_at backwards
    Given a session of actor "agent" with 3 messages
    And a service on the same database whose clock reads a minute before the session's last update
    When that service pops a message from the session
    Then the session's message_count is 2
    And the session's updated_at is unchanged

  # ---------------------------------------------------------------------------------------------
  # Nothing to pop, and refused calls
  # ---------------------------------------------------------------------------------------------

  Scenario Outline: A session_id of <value> is refused by name, and nothing is written
    Given a session of actor "agent" with 2 messages
    And the row counts of every table are noted
    When I try to pop a message with session_id set to <value>
    Then the call is refused with InvalidInputError naming "session_id"
    And the row counts of every table are unchanged
    And the session is exactly as it was

    Examples:
      | value                         |
      | None                          |
      | an empty string               |
      | a number                      |
      | an id that is too short       |
      | an id with the letter U       |
      | an id that overflows 128 bits |
      | an id with a hyphen           |
      | a string with a NUL character |

  Scenario: A session whose counted newest message is missing is not popped, and nothing is written
    Given a session of actor "agent" with 3 messages
    And the message_count of "agent" was set to 4 behind the library's back
    And the row counts of every table are noted
    When I try to pop a message from the session
    Then the call fails with DatabaseError
    And the error message mentions "holds none at sequence 4"
    And the session's message_count is 4
    And the row counts of every table are unchanged

  # ---------------------------------------------------------------------------------------------
  # Integrity, exactly once, and concurrency
  # ---------------------------------------------------------------------------------------------

  Scenario: The store verifies clean after pops and appends
    Given a session of actor "coder" with 4 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path  | diff | command |
      | 4       | edit       | src/app.py | -a+b |         |
      | 3       | read       | README.md  |      |         |
    When I pop a message from the session 2 times
    And I append the message "retry" to the session
    And I pop a message from the session
    And I verify the store
    Then the report is clean, having checked 1 session and 2 messages

  Scenario: A pop whose commit acknowledgement is lost removes exactly one message
    Given a service whose engine I can break
    And a stored session for "ack-lost" with 3 messages
    When the next commit lands but its acknowledgement is lost
    And I pop a message from it
    Then the call returned normally after 1 retry
    And the pop returned "message 3", which was at sequence 3
    And the session holds exactly the messages "message 1, message 2" at sequences 1, 2

  Scenario: A pop whose commit never landed is done by the retry, once
    Given a service whose engine I can break
    And a stored session for "ack-lost" with 3 messages
    When the next commit fails before it lands
    And I pop a message from it
    Then the call returned normally after 1 retry
    And the pop returned "message 3", which was at sequence 3
    And the session holds exactly the messages "message 1, message 2" at sequences 1, 2

  Scenario: Pops and appends from several threads at once leave the sequences gapless
    Given a session of actor "busy" with 20 messages
    When 4 threads each append 10 messages while 4 threads each pop 5, all at once
    Then the session holds 40 messages
    And its messages have the sequences 1 to 40 and are those appended, less those popped
    And every pop returned a different message
