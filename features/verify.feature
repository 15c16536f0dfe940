Feature: Verifying the stored sessions
  `service.verify()` and `agent-sessions db verify` check what the library promises about its
  rows: sequences 1..n without gap or duplicate, message_count equal to the stored messages, no
  message without its session, metadata that decodes to a JSON object, token totals not below
  what the messages record, and a history that holds together: every hidden message or
  compaction hidden by a rewind of its session that holds and covers it, no visible message
  inside such a rewind, every compaction in force ending on a stored message, and every fork
  within its parent. Each broken promise is reported precisely; the command exits 1 when
  anything is wrong. Here the database is damaged by hand, with SQL, behind the library's back.

  Scenario: db verify on a healthy store, as text and as JSON
    Given a session of actor "alpha" with 3 messages
    When I run "agent-sessions --url {database} db verify"
    Then the output is exactly "checked 1 session and 3 messages: no problems"
    When I run "agent-sessions --url {database} db verify --json"
    Then the command exits with status 0 and a JSON report
    And the JSON report is ok, having checked 1 session and 3 messages

  Scenario Outline: Deleted messages leave a gap that names the missing sequences
    Given a session of actor "gap-bot" with 6 messages
    And the "gap-bot" messages numbered <deleted> were deleted behind the library's back
    When I verify the store
    Then the report names the sequence_gap of "gap-bot": "<missing>"
    And the report names the message_count_mismatch of "gap-bot": "message_count is 6 but <left> messages are stored"
    And the report holds 2 problems

    Examples:
      | deleted | missing                      | left |
      | 3       | sequence 3 is missing        | 5    |
      | 1       | sequence 1 is missing        | 5    |
      | 2, 3, 4 | sequences 2 to 4 are missing | 3    |

  Scenario: A message_count that disagrees with the rows
    Given a session of actor "count-bot" with 4 messages
    And the message_count of "count-bot" was set to 7 behind the library's back
    When I verify the store
    Then the report names the message_count_mismatch of "count-bot": "message_count is 7 but 4 messages are stored"
    And the report holds 1 problem

  Scenario: Two messages holding one sequence
    Given the scenario works on a migrated database of its own
    And a session of actor "twin-bot" with 3 messages
    And the unique index on (session_id, sequence) was dropped and the "twin-bot" message numbered 2 copied
    When I verify the store
    Then the report names the duplicate_sequence of "twin-bot": "sequence 2 is held by 2 messages"
    And the report names the message_count_mismatch of "twin-bot": "message_count is 3 but 4 messages are stored"
    And the report holds 2 problems

  Scenario Outline: Messages whose session row is missing
    Given a session of actor "parent-bot" with 3 messages
    And with foreign keys off, the "parent-bot" messages numbered <copied> were copied to a session id that does not exist
    When I verify the store
    Then the report names the orphan_message of the missing session: "<detail>"
    And the report holds 1 problem
    When I verify only the missing session
    Then the report names the orphan_message of the missing session: "<detail>"

    Examples:
      | copied | detail                                                    |
      | 3      | 1 message (sequence 3) belongs to no stored session       |
      | 2, 3   | 2 messages (sequences 2 to 3) belong to no stored session |

  Scenario Outline: Metadata that is JSON but not an object
    Given a session of actor "meta-bot" with 3 messages
    And <target> of "meta-bot" was set to the JSON text "[1, 2]" behind the library's back
    When I verify the store
    Then the report names the undecodable_json of "meta-bot": "<detail>"
    And the report holds 1 problem

    Examples:
      | target                      | detail                                                                      |
      | the session's metadata      | the session's metadata is JSON but not an object                            |
      | the metadata of message 2   | the metadata of message <message 2> (sequence 2) is JSON but not an object |

  Scenario: Metadata text that is not JSON, where the backend stores JSON as text
    Given a session of actor "broken-bot" with 3 messages
    When the metadata of the "broken-bot" message numbered 2 is overwritten with the text "{not json"
    Then where the backend kept the text, the report names the undecodable_json of "broken-bot": "the metadata of message <message 2> (sequence 2) is not valid JSON"
    And where the backend refused the text, the store still verifies clean

  Scenario: A file event whose message belongs to another session
    Given a session of actor "coder" with 2 messages
    And a session of actor "reviewer" with 1 messages
    And the "coder" message numbered 1 read "src/app.py" twice
    And the file events of "coder" were moved to "reviewer" behind the library's back
    When I verify the store
    Then the report names the misattributed_file_event of "reviewer": "2 file events of this session name a message of session <coder>"
    And the report holds 1 problem
    When I verify only the session of "coder"
    Then the report is clean, having checked 1 session and 2 messages

  Scenario: A store that forks, rewinds and compacts verifies clean
    Given a session of actor "busy-bot" with 6 messages
    And "busy-bot" compacted its session through sequence 4
    And "busy-bot" rewound its session to sequence 2
    And "busy-bot" forked its session at sequence 2 for "twig-bot"
    When I verify the store
    Then the report is clean, having checked 2 sessions and 8 messages

  Scenario: Messages hidden by a rewind that was undone
    Given a session of actor "undo-bot" with 5 messages
    And "undo-bot" rewound its session to sequence 3
    And the rewind of "undo-bot" was marked undone behind the library's back
    When I verify the store
    Then the report names the unexplained_rewound_message of "undo-bot": "message <message 4> (sequence 4) is hidden by rewind <rewind of undo-bot>, which was undone"
    And the report names the unexplained_rewound_message of "undo-bot": "message <message 5> (sequence 5) is hidden by rewind <rewind of undo-bot>, which was undone"
    And the report holds 2 problems

  Scenario: A message hidden by a rewind that does not cover it
    Given a session of actor "span-bot" with 5 messages
    And "span-bot" rewound its session to sequence 3
    And the "span-bot" message numbered 2 was marked as hidden by the rewind of "span-bot" behind the library's back
    When I verify the store
    Then the report names the unexplained_rewound_message of "span-bot": "message <message 2> (sequence 2) is hidden by rewind <rewind of span-bot>, which keeps the sequences up to 3 visible"
    And the report holds 1 problem

  Scenario: A message hidden by the rewind of another session
    Given a session of actor "left-bot" with 4 messages
    And a session of actor "right-bot" with 4 messages
    And "right-bot" rewound its session to sequence 2
    And the "left-bot" message numbered 4 was marked as hidden by the rewind of "right-bot" behind the library's back
    When I verify the store
    Then the report names the unexplained_rewound_message of "left-bot": "message <message 4> (sequence 4) is hidden by rewind <rewind of right-bot>, which is no rewind of this session"
    And the report holds 1 problem

  Scenario: A visible message inside a rewind that holds
    Given a session of actor "peek-bot" with 6 messages
    And "peek-bot" rewound its session to sequence 3
    And the "peek-bot" message numbered 5 was made visible behind the library's back
    When I verify the store
    Then the report names the visible_message_in_rewind of "peek-bot": "1 visible message (sequence 5) lies inside rewind <rewind of peek-bot>, which hides sequences 4 to 6"
    And the report holds 1 problem

  Scenario: A compaction in force that ends past the transcript
    Given a session of actor "summary-bot" with 4 messages
    And "summary-bot" compacted its session through sequence 3
    And the compaction of "summary-bot" was set to end at sequence 9 behind the library's back
    When I verify the store
    Then the report names the compaction_end_missing of "summary-bot": "compaction <compaction of summary-bot>, in force, ends at sequence 9, outside the stored transcript (message_count is 4)"
    And the report holds 1 problem

  Scenario: A compaction hidden by the rewind of another session
    Given a session of actor "fold-bot" with 5 messages
    And "fold-bot" compacted its session through sequence 4
    And a session of actor "other-bot" with 3 messages
    And "other-bot" rewound its session to sequence 1
    And the compaction of "fold-bot" was marked as hidden by the rewind of "other-bot" behind the library's back
    When I verify the store
    Then the report names the unexplained_rewound_compaction of "fold-bot": "compaction <compaction of fold-bot> (through sequence 4) is hidden by rewind <rewind of other-bot>, which is no rewind of this session"

  Scenario: A fork whose point lies past its parent's last sequence
    Given a session of actor "root-bot" with 4 messages
    And "root-bot" forked its session at sequence 2 for "branch-bot"
    And the fork point of "branch-bot" was set to 9 behind the library's back
    When I verify the store
    Then the report names the fork_point_past_parent of "branch-bot": "forked at sequence 9 of session <root-bot>, whose last sequence is 4"
    And the report holds 1 problem

  Scenario: A session that names itself as its parent
    Given a session of actor "loop-bot" with 2 messages
    And "loop-bot" was made its own parent behind the library's back
    When I verify the store
    Then the report names the own_parent of "loop-bot": "names itself as its parent"
    And the report holds 1 problem

  Scenario: db verify prints the history's problems
    Given a session of actor "peek-bot" with 6 messages
    And "peek-bot" rewound its session to sequence 3
    And the "peek-bot" message numbered 5 was made visible behind the library's back
    And "peek-bot" was made its own parent behind the library's back
    When I run "agent-sessions --url {database} db verify"
    Then the command fails with one error line saying "failed verification: 2 problems found"
    And the printed verification holds the lines:
      | line                                                                                                                    |
      | visible_message_in_rewind: session <peek-bot>: 1 visible message (sequence 5) lies inside rewind <rewind of peek-bot>, which hides sequences 4 to 6 |
      | own_parent: session <peek-bot>: names itself as its parent                                                              |
      | checked 1 session and 6 messages: 2 problems                                                                            |

  Scenario: verify with a session id checks that session only
    Given a session of actor "gap-bot" with 4 messages
    And a session of actor "calm-bot" with 2 messages
    And the "gap-bot" messages numbered 2 were deleted behind the library's back
    When I verify only the session of "calm-bot"
    Then the report is clean, having checked 1 session and 2 messages
    When I verify only the session of "gap-bot"
    Then the report holds 2 problems

  Scenario: verify refuses a malformed id and an unknown session
    When I try to verify the session "not-a-ulid"
    Then the call is refused with InvalidInputError naming "session_id"
    When I try to verify a session id that names nothing
    Then the call fails with SessionNotFoundError

  Scenario: db verify prints each problem, exits 1, and --session restricts the check
    Given a session of actor "gap-bot" with 4 messages
    And a session of actor "calm-bot" with 2 messages
    And the "gap-bot" messages numbered 2 were deleted behind the library's back
    When I run "agent-sessions --url {database} db verify"
    Then the command fails with one error line saying "failed verification: 2 problems found"
    And the printed verification holds the lines:
      | line                                                                               |
      | sequence_gap: session <gap-bot>: sequence 2 is missing                             |
      | message_count_mismatch: session <gap-bot>: message_count is 4 but 3 messages are stored |
      | checked 2 sessions and 5 messages: 2 problems                                      |
    When the command line names the session of "calm-bot"
    And I run "agent-sessions --url {database} db verify --session {session}"
    Then the verification printed is exactly "checked 1 session and 2 messages of session <calm-bot>: no problems"

  Scenario: db verify --json lists the problems and exits 1
    Given a session of actor "count-bot" with 2 messages
    And the message_count of "count-bot" was set to 5 behind the library's back
    When I run "agent-sessions --url {database} db verify --json"
    Then the command exits with status 1 and a JSON report
    And the JSON report is not ok and lists the message_count_mismatch of "count-bot"

  Scenario: db verify of an unknown session fails with one line
    When I run "agent-sessions --url {database} db verify --session 01ARZ3NDEKTSV4RRFFQ69G5FAV"
    Then the command fails with one error line saying "session '01ARZ3NDEKTSV4RRFFQ69G5FAV' does not exist"
