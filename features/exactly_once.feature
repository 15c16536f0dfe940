Feature: Exactly-once writes across lost acknowledgements
  Every write fixes its ids before the first attempt. When a commit lands but the connection
  dies before the client hears of it, the library's retry finds the rows the first attempt
  wrote and returns them instead of writing them twice. Token usage is made idempotent by a key
  per call: a repeated call with the same key adds nothing. Only transient errors are retried;
  a test counts the attempts.

  Background:
    Given a service whose engine I can break

  Scenario: A session whose commit acknowledgement is lost is created once
    When the next commit lands but its acknowledgement is lost
    And I create a session for "ack-lost"
    Then the call returned normally after 1 retry
    And the database holds 1 session and 0 messages
    And the returned session is the stored one

  Scenario: A message whose commit acknowledgement is lost is appended once, at sequence 1
    Given a stored session for "ack-lost"
    When the next commit lands but its acknowledgement is lost
    And I append a message "only once" to it
    Then the call returned normally after 1 retry
    And the session holds exactly the messages "only once" at sequences 1
    And the returned message is the stored one

  Scenario: A message whose commit never landed is written by the retry, once
    Given a stored session for "ack-lost"
    When the next commit fails before it lands
    And I append a message "written by the retry" to it
    Then the call returned normally after 1 retry
    And the session holds exactly the messages "written by the retry" at sequences 1

  Scenario: Appends after a lost acknowledgement continue the sequence without a gap
    Given a stored session for "ack-lost"
    When I append a message "first" to it
    And the next commit lands but its acknowledgement is lost
    And I append a message "second" to it
    And I append a message "third" to it
    Then the session holds exactly the messages "first, second, third" at sequences 1, 2, 3

  Scenario: An import whose commit acknowledgement is lost is imported once
    Given a stored session for "exported" with 3 messages
    And its export document
    When the next commit lands but its acknowledgement is lost
    And I import the export document
    Then the call returned normally after 1 retry
    And the database holds 2 sessions and 6 messages
    And the returned session is the stored one

  Scenario: A streamed import whose commit acknowledgement is lost is imported once
    Given a stored session for "exported" with 3 messages
    And its JSON Lines export
    When the next commit lands but its acknowledgement is lost
    And I import the JSON Lines export
    Then the call returned normally after 1 retry
    And the database holds 2 sessions and 6 messages
    And the returned session is the stored one

  Scenario: A streamed import whose commit never landed reads the stream again, once
    Given a stored session for "exported" with 3 messages
    And its JSON Lines export
    When the next commit fails before it lands
    And I import the JSON Lines export
    Then the call returned normally after 1 retry
    And the database holds 2 sessions and 6 messages

  Scenario: A file event whose commit never landed is recorded by the retry, once
    Given a stored session for "coder" with 1 messages
    And its first message
    When the next commit fails before it lands
    And I record that its message edited "src/app.py"
    Then the call returned normally after 1 retry
    And the session holds exactly 1 file event, the one returned

  Scenario: A session with an external id whose commit acknowledgement is lost is created once
    When the next commit lands but its acknowledgement is lost
    And I create a session with the external id "thread-3" for "bridge"
    Then the call returned normally after 1 retry
    And the database holds 1 session and 0 messages
    And the returned session is the stored one

  Scenario: A file event whose commit acknowledgement is lost is recorded once
    Given a stored session for "coder" with 1 messages
    And its first message
    When the next commit lands but its acknowledgement is lost
    And I record that its message edited "src/app.py"
    Then the call returned normally after 1 retry
    And the session holds exactly 1 file event, the one returned

  Scenario: get_or_create whose commit acknowledgement is lost creates one session
    When the commit after the next one lands but its acknowledgement is lost
    And I get or create the session of "bridge" with external id "thread-9"
    Then the call returned normally after 1 retry
    And the database holds 1 session and 0 messages
    And the returned session is the stored one
    And getting or creating it again returns the same session

  Scenario: Token usage whose commit acknowledgement is lost is added once, with or without a key
    Given a stored session for "ack-lost"
    When the next commit lands but its acknowledgement is lost
    And I add 100 prompt and 20 completion tokens to it
    And the next commit lands but its acknowledgement is lost
    And I add 5 prompt and 1 completion tokens to it with the key "msg-2"
    Then the session's token usage is 105 prompt and 21 completion

  Scenario: A delete whose commit acknowledgement is lost reports success
    Given a stored session for "ack-lost" with 2 messages
    When the next commit lands but its acknowledgement is lost
    And I delete that session
    Then the call returned normally after 1 retry
    And the database holds 0 sessions and 0 messages

  Scenario: Repeating a token-usage call with the same idempotency key adds nothing
    Given a stored session for "metered"
    When I add 100 prompt and 20 completion tokens to it with the key "message-01"
    And I add 100 prompt and 20 completion tokens to it with the key "message-01"
    And I add 7 prompt and 3 completion tokens to it with the key "message-02"
    Then the session's token usage is 107 prompt and 23 completion

  Scenario: The same idempotency key with other amounts is refused and changes nothing
    Given a stored session for "metered"
    When I add 100 prompt and 20 completion tokens to it with the key "message-01"
    And I try to add 999 prompt and 20 completion tokens to it with the key "message-01"
    Then the call is refused with InvalidInputError naming "idempotency_key" saying "already recorded prompt_tokens=100"
    And the session's token usage is 100 prompt and 20 completion

  Scenario: Token usage that would pass the largest exact total is refused and changes nothing
    Given a stored session for "metered"
    When I add 9007199254740990 prompt and 0 completion tokens to it with the key "almost-full"
    And I try to add 2 prompt and 0 completion tokens to it with the key "one-too-many"
    Then the call is refused with InvalidInputError naming "prompt_tokens" saying "above the most allowed 9007199254740991"
    And the session's token usage is 9007199254740990 prompt and 0 completion
    And the session's export imports back with the same token usage

  Scenario: An idempotency key belongs to one session
    Given a stored session for "first"
    And a second stored session for "second"
    When I add 10 prompt and 1 completion tokens to each session with the key "shared-key"
    Then each session's token usage is 10 prompt and 1 completion

  Scenario Outline: A malformed idempotency key is refused by name before anything is written
    Given a stored session for "metered"
    When I try to add 1 prompt and 1 completion tokens to it with the key written <key>
    Then the call is refused with InvalidInputError naming "idempotency_key" saying "<reason>"
    And the session's token usage is 0 prompt and 0 completion

    Examples:
      | key            | reason                          |
      | ""             | must not be empty               |
      | "   "          | must not be empty               |
      | 42             | must be a string, got int       |
      | "x" * 256      | the most allowed is 255         |
      | "a\x00b"       | NUL                             |

  Scenario Outline: An error that is not transient is tried once, never retried
    Given a stored session for "counted"
    When I count the transactions while <call> fails with <error>
    Then exactly <attempts> transaction(s) ran

    Examples:
      | call                                   | error                | attempts |
      | creating a session with a reused id    | an integrity error   | 1        |
      | repeating a token key with new amounts | InvalidInputError    | 1        |
      | appending to a dropped messages table  | a programming error  | 1        |
      | appending with a role that is unknown  | InvalidInputError    | 0        |

  Scenario: A transient error is retried up to the policy's attempts, then reported with them
    Given a service whose engine I can break, retrying at most 3 times
    And a stored session for "unlucky"
    When every commit fails before it lands
    And I try to append a message "never stored" to it
    Then exactly 3 transaction(s) ran
    And the call fails with DatabaseUnavailableError saying "after 3 attempt(s)"
    And the log shows retries on attempts 1, 2
    And the session holds no messages

  Scenario: A batch whose commit acknowledgement is lost is appended once
    Given a stored session for "ack-lost"
    When I append a message "before" to it
    And the next commit lands but its acknowledgement is lost
    And I append the batch "one, two, three" to it
    Then the call returned normally after 1 retry
    And the session holds exactly the messages "before, one, two, three" at sequences 1, 2, 3, 4
    And the returned batch is the stored one
