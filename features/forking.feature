Feature: Forking a session
  An agent that wants to try another approach from message 40 forks its session there, and the
  original stays as it was. `fork_session(session_id, at_sequence=N)` starts a new session whose
  messages are copies of the source's visible messages up to N (all of them without N; none
  with 0): new ids, the same roles, content, metadata, token counts and `created_at`,
  renumbered 1, 2, 3 ... without gap. The file events of those messages are copied with them.
  The fork records its parent and the sequence it forked at; its token counters start at zero,
  because the parent spent those tokens. `lineage` reads the chain of parents and
  `list(forked_from=...)` a session's direct forks. A point that is not a visible message is
  refused, naming `at_sequence`, and nothing is written.

  # ---------------------------------------------------------------------------------------------
  # What a fork holds
  # ---------------------------------------------------------------------------------------------

  Scenario: A fork at message 3 holds copies of the first 3 messages, with new ids
    Given a session of actor "agent" with 5 messages carrying metadata and token counts
    When I fork the session at sequence 3
    Then the fork holds copies of the session's messages 1, 2, 3 at the sequences 1 to 3
    And the fork records the session as its parent, forked at sequence 3
    And the store verifies clean

  Scenario: A fork without a point copies the whole visible history
    Given a session of actor "agent" with 4 messages carrying metadata and token counts
    When I fork the session
    Then the fork holds copies of the session's messages 1, 2, 3, 4 at the sequences 1 to 4
    And the fork records the session as its parent, forked at sequence 4

  Scenario: A fork at 0 starts empty, still recording where it came from
    Given a session of actor "agent" with 3 messages
    When I fork the session at sequence 0
    Then the fork holds no message
    And the fork records the session as its parent, forked at sequence 0

  Scenario: A fork takes the source's actor, title and metadata, and none of its tokens
    Given a session of actor "agent" titled "first try" with metadata {"repo": "shop"}
    And the session has used 40 prompt and 9 completion tokens
    When I fork the session at sequence 2
    Then the fork belongs to "agent", is titled "first try" and has the metadata {"repo": "shop"}
    And the fork's prompt and completion tokens are 0 and its message_count is 2
    And the fork has no external id

  Scenario: A fork may name its own actor, title and external id
    Given a session of actor "agent" with 2 messages
    When I fork the session for actor "reviewer" titled "second try" with the external id "try-2"
    Then the fork belongs to "reviewer", is titled "second try" and has the external id "try-2"
    And looking up "try-2" for "reviewer" finds the fork

  Scenario: The file events of the copied messages are copied with them, pointing at the copies
    Given a session of actor "coder" with 3 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path  | diff | command   |
      | 1       | read       | src/app.py |      |           |
      | 3       | edit       | src/app.py | -a+b |           |
      | 2       | command    |            |      | make test |
      | 2       | write      | notes.md   | +x   |           |
    When I fork the session at sequence 2
    Then the fork's file events are copies of the events recorded in rows 1, 3, 4, in that order
    And the files the fork touched are "notes.md, src/app.py"

  Scenario: Forking leaves the source exactly as it was
    Given a session of actor "coder" with 4 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path  | diff | command |
      | 2       | edit       | src/app.py | -a+b |         |
    And the session, its messages and its file events are noted
    When I fork the session at sequence 3
    Then the session, its messages and its file events are as noted
    And the store verifies clean

  # ---------------------------------------------------------------------------------------------
  # The family: lineage and forks of forks
  # ---------------------------------------------------------------------------------------------

  Scenario: A fork of a fork copies the fork's messages and knows its whole lineage
    Given a session of actor "agent" with 6 messages
    And the session was forked at sequence 4 as "B"
    And "B" was forked at sequence 2 as "C"
    Then "C" holds copies of the session's messages 1, 2 at the sequences 1 to 2
    And the lineage of "C" is "B", then the session
    And the lineage of the session is empty
    And the store verifies clean

  Scenario: Listing the forks of a session gives its direct forks only, newest first
    Given a session of actor "agent" with 6 messages
    And the session was forked at sequence 4 as "B"
    And the session was forked at sequence 5 as "D"
    And "B" was forked at sequence 2 as "C"
    Then the sessions forked from the session are "D", "B"
    And the sessions forked from "B" are "C"
    And the sessions forked from "C" are none

  Scenario: A fork whose parent was deleted keeps its messages and an empty lineage
    Given a session of actor "agent" with 3 messages
    And the session was forked at sequence 3 as "B"
    When I delete the session of "agent"
    Then "B" still holds 3 messages and names the deleted session as its parent
    And the lineage of "B" is empty
    And the store verifies clean

  # ---------------------------------------------------------------------------------------------
  # Forks and rewinds
  # ---------------------------------------------------------------------------------------------

  Scenario: A fork of a rewound session copies its visible history only, renumbered
    Given a session of actor "agent" with 6 messages
    And the session was rewound to sequence 2
    And 2 messages were appended to the session after the rewind
    When I fork the session
    Then the fork holds copies of the session's messages 1, 2, 7, 8 at the sequences 1 to 4
    And the fork records the session as its parent, forked at sequence 8
    And none of the fork's messages is marked as rewound
    And the store verifies clean

  Scenario: A fork without a point of a session rewound at its end copies what is visible
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 3
    When I fork the session
    Then the fork holds copies of the session's messages 1, 2, 3 at the sequences 1 to 3
    And the fork records the session as its parent, forked at sequence 5
    And the store verifies clean

  Scenario Outline: A fork at <point>, <why>, is refused naming at_sequence, and nothing is written
    Given a session of actor "agent" with 5 messages
    And the session was rewound to sequence 2
    And the row counts of every table are noted
    When I try to fork the session at sequence <point>
    Then the call is refused with InvalidInputError naming "at_sequence" saying "<text>"
    And the row counts of every table are unchanged

    Examples:
      | point | why                              | text                                      |
      | 4     | a message the rewind hid         | hid from the visible history              |
      | 5     | the rewound end of the session   | hid from the visible history              |
      | 6     | past the end of the session      | past the session's last sequence 5        |
      | -1    | a negative number                | must be 0 or more                         |

  Scenario: A fork of a fork's rewound part is refused
    Given a session of actor "agent" with 5 messages
    And the session was forked at sequence 4 as "B"
    And "B" was rewound to sequence 1
    And the row counts of every table are noted
    When I try to fork "B" at sequence 3
    Then the call is refused with InvalidInputError naming "at_sequence" saying "hid from the visible history"
    And the row counts of every table are unchanged

  # ---------------------------------------------------------------------------------------------
  # Refused forks
  # ---------------------------------------------------------------------------------------------

  Scenario Outline: To <call> for a session id that names nothing fails, and nothing is written
    Given the row counts of every table are noted
    When I try to <call> for a session id that names nothing
    Then the call fails with SessionNotFoundError
    And the row counts of every table are unchanged

    Examples:
      | call             |
      | fork a session   |
      | read the lineage |

  Scenario: A fork that asks for an external id its actor already uses is refused
    Given a session of actor "agent" with the external id "taken"
    And the row counts of every table are noted
    When I try to fork the session with the external id "taken"
    Then the call is refused with ExternalIdConflictError naming "external_id"
    And the row counts of every table are unchanged
