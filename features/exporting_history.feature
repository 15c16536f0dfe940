Feature: Exporting a session with its history: forks, rewinds and compactions
  An export (schema_version 3) carries the whole transcript, rewound messages included, with
  the session's rewinds and compactions; each hidden message and compaction names the rewind
  that hid it. A fork carries its parent's id as a reference, not its parent's messages.
  Import writes it all or nothing under fresh ids, linked as in the original, after checking
  that the history holds together. Exports of versions 1 and 2 still import.

  Background:
    Given a session of actor "root" with 3 messages
    And "root" forked its session at sequence 2 for "branch"
    And "branch" appended 6 more messages
    And "branch" compacted its session through sequence 4
    And "branch" compacted its session through sequence 7
    And "branch" rewound its session to sequence 6
    And "branch" rewound its session to sequence 2, then undid that rewind

  Scenario Outline: A forked, rewound and compacted session goes out and back in as <form>
    When I export the session of "branch" as <form> and import it as a copy
    Then the copy holds the transcript, rewinds and compactions of "branch", linked as there
    And the copy names the session of "root" as its parent, forked at sequence 2
    And the copy reads the same visible history and context messages as "branch"
    When I verify the store
    Then the report is clean, having checked 3 sessions and 19 messages

    Examples:
      | form                |
      | a document          |
      | a JSON Lines stream |

  Scenario: A fork exports its parent's id as a reference, which import keeps
    When I export the session of "branch" as a document
    Then the document names the session of "root" as the parent, forked at sequence 2, and holds only the 8 messages of "branch"
    When the session of "root" is deleted and the document imported
    Then the copy names the deleted session of "root" as its parent

  Scenario: An undo and a rewind while a stream is written are left out: the stream is the history as it began
    Given the history of "branch" is noted
    When I export the session of "branch" as a JSON Lines stream while its last rewind is undone and it is rewound to sequence 1
    Then the copy holds the history noted
    And "branch" now has 3 rewinds, and 7 of its messages are hidden

  Scenario Outline: A document whose history does not hold together (<damage>) is refused naming <field>
    Given the row counts of every table are noted
    When I import the document of "branch" after <damage>, re-signed
    Then the call fails with ImportIntegrityError
    And the error message mentions "<field>"
    And the row counts of every table are unchanged

    Examples:
      | damage                                                             | field                                                   |
      | marking message 1 as hidden by a rewind the document does not hold | messages[0].rewound_by names                            |
      | making message 7 visible                                           | messages[6].rewound_by is null, but the message lies inside rewind |
      | marking message 3 as hidden by the undone rewind                   | which was undone                                        |
      | marking message 2 as hidden by the rewind that holds               | which hides sequences 7 to 8, not sequence 2            |
      | ending the first rewind past the transcript                        | rewinds[0].through_sequence is 9, past the transcript   |
      | ending the first compaction past the transcript                    | compactions[0].through_sequence is 9                    |
      | hiding the first compaction by the undone rewind                   | compactions[0].rewound_by names rewind                  |
      | listing the rewinds in the wrong order                             | rewinds[1].created_at is earlier than the rewind before it |
      | listing the first rewind twice                                     | rewinds[2].id repeats the id of an earlier rewind       |
      | naming the session as its own parent                               | session.parent_session_id names the session itself     |
      | dropping the parent but keeping the fork point                     | session.forked_at_sequence must be null exactly when    |
      | removing the rewinds field                                         | lacks the field(s) rewinds                              |

  Scenario Outline: A JSON Lines stream whose history does not hold together (<damage>) is refused
    Given the row counts of every table are noted
    When I import the JSON Lines stream of "branch" with <damage>, rehashed
    Then the call fails with ImportIntegrityError
    And the error message mentions "<mention>"
    And the row counts of every table are unchanged

    Examples:
      | damage                                                      | mention                                            |
      | its second rewind line moved after its first message        | line 6 a rewind comes after a message; rewinds come first |
      | its first message naming a rewind the stream does not hold  | line 6: message.rewound_by names                   |
      | a trailer that counts 3 rewinds                             | 3 rewinds                                          |

  Scenario Outline: A stored schema_version 2 <form> still imports, as a session without history
    When I import the stored schema_version 2 <form> "<file>"
    Then the copy holds 2 messages and 2 file events, and no parent, rewind or compaction

    Examples:
      | form     | file              |
      | document | export_v2.json    |
      | stream   | export_v2.jsonl   |
