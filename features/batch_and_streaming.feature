Feature: Appending many messages at once and streaming a session of any size
  An agent core that replays a tool loop or imports a transcript appends many messages at once:
  append_messages writes them in one transaction, at consecutive sequences, all or nothing.
  iter_messages reads a session of any size a batch at a time, in constant memory, along the
  (session_id, sequence) index.

  Scenario: A batch lands at consecutive sequences after the messages already there
    Given a session of actor "batcher" with 2 messages
    When I append a batch of 4 messages to the session
    Then the batch has the sequences 3, 4, 5, 6
    And the session holds 6 messages
    And the batch is stored exactly as returned
    And the session's message_count is 6

  Scenario: A batch takes NewMessage objects and mappings alike, with metadata and token counts
    Given a session of actor "mixed"
    When I append a batch of a NewMessage with metadata {"k": [1, 2]} and 7 tokens and a mapping with role "tool"
    Then the batch has the sequences 1, 2
    And the first message of the batch has metadata {"k": [1, 2]} and 7 tokens
    And the second message of the batch has the role MessageRole.TOOL and empty metadata

  Scenario Outline: A bad message in a batch is refused by its field and nothing is written
    Given a session of actor "careful" with 1 message
    When I try to append a batch whose second message has <problem>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the session of "careful" still holds 1 message

    Examples:
      | problem                      | argument               |
      | the role "narrator"          | messages[1].role       |
      | content that is not a string | messages[1].content    |
      | a NUL in its content         | messages[1].content    |
      | metadata that is a list      | messages[1].metadata   |
      | a negative token count       | messages[1].token_count |
      | no content field             | messages[1]            |
      | an unknown field "colour"    | messages[1]            |
      | the form of a plain string   | messages[1]            |

  Scenario Outline: A batch that is not a list, or too long, is refused whole
    Given a session of actor "careful" with 1 message
    When I try to append as a batch <value>
    Then the call is refused with InvalidInputError naming "messages"
    And the session of "careful" still holds 1 message

    Examples:
      | value                       |
      | a generator of messages     |
      | a single message mapping    |
      | 100001 messages             |

  Scenario Outline: Streaming yields every message once, in order, whatever the batch size
    Given a session of actor "long" with 23 messages
    When I stream its messages <size> at a time
    Then the stream yielded the sequences 1 to 23 in order
    And the stream read the database in <pages> batches

    Examples:
      | size   | pages |
      | 1      | 24    |
      | 5      | 5     |
      | 23     | 2     |
      | 100000 | 1     |

  Scenario: Streaming an empty session yields nothing
    Given a session of actor "empty"
    When I stream its messages 10 at a time
    Then the stream yielded nothing

  Scenario Outline: Streaming refuses a bad batch size or an unknown session at the call
    Given a session of actor "long" with 3 messages
    When I try to stream <what>
    Then the call <outcome>

    Examples:
      | what                                 | outcome                                                 |
      | with batch_size set to 0             | is refused with InvalidInputError naming "batch_size"   |
      | with batch_size set to "10"          | is refused with InvalidInputError naming "batch_size"   |
      | with batch_size set to 100001        | is refused with InvalidInputError naming "batch_size"   |
      | a session that does not exist        | fails with SessionNotFoundError                         |
      | the session id "not-a-ulid"          | is refused with InvalidInputError naming "session_id"   |
