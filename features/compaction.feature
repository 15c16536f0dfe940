Feature: Compaction that keeps the originals
  When a conversation outgrows the model's context window, an agent replaces its old turns by a
  summary. `compact(session_id, through_sequence, summary)` records that the summary stands for
  the visible messages up to `through_sequence`; nothing is removed. `context_messages` returns
  what a model should be sent: the latest compaction's summary as one message (in the role the
  caller chooses, system by default), then the visible messages after it; `get_messages` still
  returns the whole history. A compaction may cover an earlier one, never stop short of it. It
  never ends just before a tool result, which would leave the result without its call: it ends
  before the assistant turn that made the call instead. A rewind that hides a message a
  compaction covers hides the compaction too.

  # ---------------------------------------------------------------------------------------------
  # What a model is sent, and what stays
  # ---------------------------------------------------------------------------------------------

  Scenario: The context is the summary, then the messages after it; the history keeps them all
    Given a session of actor "agent" with 6 messages
    When I compact the session through sequence 4 with the summary "The user wants a shop."
    Then the context messages are the summary as a system message, then the messages 5, 6
    And the visible messages are those at the sequences 1 to 6
    And the session's message_count is 6
    And the store verifies clean

  Scenario: The summary's message carries the compaction's id, time, point, metadata and tokens
    Given a session of actor "agent" with 4 messages
    When I compact the session through sequence 3 with the summary "Three turns." of 12 tokens and metadata {"model": "small"}
    Then the summary's message has the compaction's id and created_at and the sequence 3
    And the summary's message has the metadata {"model": "small"} with the compaction's id, and 12 tokens
    And the session's compactions are that one

  Scenario Outline: The caller chooses the summary's role: <role>
    Given a session of actor "agent" with 4 messages
    And the session was compacted through sequence 2
    When I read the context messages with the summary as a <role> message
    Then the context messages are the summary as a <role> message, then the messages 3, 4

    Examples:
      | role      |
      | system    |
      | user      |
      | assistant |

  Scenario: Without a compaction the context is the visible history
    Given a session of actor "agent" with 4 messages
    And the session was rewound to sequence 3
    Then the context messages are the messages 1, 2, 3

  # ---------------------------------------------------------------------------------------------
  # Later compactions
  # ---------------------------------------------------------------------------------------------

  Scenario: A compaction may cover an earlier one; the latest is the one sent
    Given a session of actor "agent" with 8 messages
    And the session was compacted through sequence 3 with the summary "first"
    When I compact the session through sequence 6 with the summary "second"
    Then the context messages are the summary "second" as a system message, then the messages 7, 8
    And the session has 2 compactions, in the order recorded
    And the store verifies clean

  Scenario: A new summary at the same point replaces the old one in the context
    Given a session of actor "agent" with 5 messages
    And the session was compacted through sequence 3 with the summary "short"
    When I compact the session through sequence 3 with the summary "better"
    Then the context messages are the summary "better" as a system message, then the messages 4, 5

  Scenario: A compaction that stops short of the one in force is refused, and nothing is written
    Given a session of actor "agent" with 6 messages
    And the session was compacted through sequence 4
    And the row counts of every table are noted
    When I try to compact the session through sequence 2
    Then the call is refused with InvalidInputError naming "through_sequence" saying "short of compaction"
    And the row counts of every table are unchanged

  # ---------------------------------------------------------------------------------------------
  # Tool calls and compaction boundaries
  # ---------------------------------------------------------------------------------------------

  Scenario: A compaction that would end just before a tool result ends before the call instead
    Given a conversation whose messages are user, assistant, tool, tool, assistant, user
    When I compact the session through sequence 3
    Then the compaction covers the messages up to sequence 1
    And the context messages are the summary as a system message, then the messages 2 to 6
    And the store verifies clean

  Scenario: A compaction whose only messages before the tool result are its call covers nothing, and is refused
    Given a conversation whose messages are assistant, tool, user
    And the row counts of every table are noted
    When I try to compact the session through sequence 1
    Then the call is refused with InvalidInputError naming "through_sequence" saying "covers no visible message"
    And the row counts of every table are unchanged

  Scenario: A compaction whose boundary falls back onto rewound messages only is refused
    Given a session of actor "agent" with 3 messages
    And the session was rewound to sequence 0
    And 1 message was appended to the session after the rewind
    And a tool result was appended to the session after the rewind
    And the row counts of every table are noted
    When I try to compact the session through sequence 4
    Then the call is refused with InvalidInputError naming "through_sequence" saying "covers no visible message"
    And the row counts of every table are unchanged

  Scenario: A context window after a summary never starts on a tool result
    Given a conversation whose messages are user, assistant, user, assistant, tool, tool
    And the session was compacted through sequence 3
    When I read the context messages with a limit of 1
    Then the context messages are the summary as a system message, then the messages 4, 5, 6

  # ---------------------------------------------------------------------------------------------
  # Limits
  # ---------------------------------------------------------------------------------------------

  Scenario Outline: The context with a limit of <limit> is the summary, then at most the <limit> newest messages after it
    Given a session of actor "agent" with 10 messages
    And the session was compacted through sequence 4
    When I read the context messages with a limit of <limit>
    Then the context messages are the summary as a system message, then the messages <after>

    Examples:
      | limit | after   |
      | 1     | 10      |
      | 3     | 8 to 10 |
      | 6     | 5 to 10 |
      | 50    | 5 to 10 |

  Scenario: Without a compaction, the context with a limit is the recent messages
    Given a conversation whose messages are user, assistant, tool, tool, user
    When I read the context messages with a limit of 3
    Then the context messages are the messages 2 to 5
    And they are the 3 most recent messages

  # ---------------------------------------------------------------------------------------------
  # Compactions and rewinds
  # ---------------------------------------------------------------------------------------------

  Scenario: A rewind that hides a message a compaction covers hides the compaction too
    Given a session of actor "agent" with 6 messages
    And the session was compacted through sequence 4
    When I rewind the session to sequence 3
    Then the context messages are the messages 1, 2, 3
    And the session's compaction is marked as hidden by the rewind
    And the store verifies clean

  Scenario: Undoing that rewind brings the compaction back into force
    Given a session of actor "agent" with 6 messages
    And the session was compacted through sequence 4
    And the session was rewound to sequence 3
    When I undo the session's rewind
    Then the context messages are the summary as a system message, then the messages 5, 6
    And the store verifies clean

  Scenario: A rewind after the compaction's end leaves it in force
    Given a session of actor "agent" with 6 messages
    And the session was compacted through sequence 4
    When I rewind the session to sequence 5
    Then the context messages are the summary as a system message, then the messages 5
    And the store verifies clean

  Scenario Outline: A compaction through <point>, <why>, is refused naming through_sequence, and nothing is written
    Given a session of actor "agent" with 6 messages
    And the session was rewound to sequence 3
    And the row counts of every table are noted
    When I try to compact the session through sequence <point>
    Then the call is refused with InvalidInputError naming "through_sequence" saying "<text>"
    And the row counts of every table are unchanged

    Examples:
      | point | why                            | text                               |
      | 5     | past a rewind                  | hid from the visible history       |
      | 7     | past the end of the session    | past the session's last sequence 6 |
      | 0     | before every message           | covers at least one message        |
      | -1    | a negative number              | must be 0 or more                  |

  Scenario: Popping a message a compaction covers hides it, and the compaction with it
    Given a session of actor "agent" with 4 messages
    And the session was compacted through sequence 4
    When I pop a message from the session
    Then the pop returned the message at sequence 4, marked as rewound
    And the context messages are the messages 1, 2, 3
    And the transcript holds the sequences 1 to 4, of which 4 is marked as rewound
    And the store verifies clean

  # ---------------------------------------------------------------------------------------------
  # Refused compactions and reads
  # ---------------------------------------------------------------------------------------------

  Scenario Outline: A compaction with <argument> set to <value> is refused by name, and nothing is written
    Given a session of actor "agent" with 3 messages
    And the row counts of every table are noted
    When I try to compact the session with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the row counts of every table are unchanged

    Examples:
      | argument    | value                   |
      | summary     | an empty string         |
      | summary     | a blank string          |
      | summary     | a number                |
      | metadata    | a list                  |
      | token_count | -1                      |

  Scenario Outline: Reading the context with <argument> set to <value> is refused by name
    Given a session of actor "agent" with 3 messages
    When I try to read the context messages with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"

    Examples:
      | argument     | value               |
      | limit        | 0                   |
      | limit        | 100001              |
      | summary_role | the role "narrator" |

  Scenario Outline: To <call> for a session id that names nothing fails
    When I try to <call> for a session id that names nothing
    Then the call fails with SessionNotFoundError

    Examples:
      | call                       |
      | compact its messages       |
      | list the compactions       |
      | read the context messages  |
