Feature: Exporting and importing a session as a JSON Lines stream, in constant memory
  export_session_to writes a header line, one line per message and per file event, and a
  trailer whose checksum covers every byte before it; import_session_from checks every line as
  it reads it and writes the session all or nothing. Sessions of any size go through without
  being held in memory.

  Background:
    Given a session of actor "streamer" with external id "ext-7", 30 messages and 12 file events

  Scenario Outline: A session streams out and back in, equal apart from ids (<stream>)
    When I export the session as JSON Lines to <stream>
    And I import that stream from <stream> as a copy without the external id
    Then the imported session equals the original apart from ids and the external id
    And its messages and file events equal the original's apart from ids

    Examples:
      | stream                |
      | a binary file         |
      | a text file           |
      | a text file on disk   |
      | a pipe                |

  Scenario: A session of thousands of messages and events streams through in batches
    Given the session also holds 2470 more messages and 1000 more file events
    When I export the session as JSON Lines to a binary file
    And I import that stream from a binary file as a copy without the external id
    Then the stream has 3514 lines
    And its messages and file events, 2500 and 1012, equal the original's apart from ids

  Scenario: A session deleted while it is being exported ends the export with SessionNotFoundError
    Given the session also holds 2470 more messages and 0 more file events
    When I export the session as JSON Lines while it is deleted
    Then the call fails with SessionNotFoundError

  Scenario: Changes while the export runs are left out: the stream is the session as it began
    When I export the session as JSON Lines while a message is appended and an event recorded
    Then the stream holds 30 messages and 12 file events
    And the session now holds 31 messages and 13 file events

  Scenario Outline: A damaged stream (<damage>) is refused and nothing is written
    Given I exported the session as JSON Lines
    When I import the stream with <damage> as a copy
    Then the call fails with ImportIntegrityError
    And the error message mentions "<mention>"
    And 1 session is stored

    Examples:
      | damage                                      | mention                       |
      | one changed character in a message          | checksum mismatch             |
      | its trailer cut off                         | cut short                     |
      | its last message line removed               | checksum mismatch             |
      | a line that is not JSON                     | line 5 is not valid JSON      |
      | a line after the trailer                    | after its trailer             |
      | a blank line and a line after the trailer   | after its trailer             |
      | a message with the wrong sequence           | line 3: message.sequence      |
      | a file event naming message 99              | file_event.message_sequence   |
      | a line that is neither message nor event    | neither a message             |
      | a header of another format                  | not an agent-sessions JSON Lines export |
      | nothing at all                              | the stream is empty           |
      | trailer counts that disagree                | states 29 messages            |
      | a header whose schema_version is a string   | schema_version must be an integer |
      | a line that is a JSON array                 | line 3 must be a JSON object  |
      | a message after a file event                | messages come first           |
      | a trailer checksum that is not SHA-256 hex  | 64 lower-case hex digits      |
      | a header message_count of 29, rehashed      | session.message_count is 29   |
      | a line longer than 32 MiB                   | is longer than 33554432 bytes |
      | a header without its session                | lacks the field(s) session    |
      | a trailer with an unknown field             | has unknown field(s) 'signed' |

  Scenario: A stream of a schema_version this code cannot read is refused as unsupported
    Given I exported the session as JSON Lines
    When I import the stream with its header saying schema_version 4 as a copy
    Then the call fails with UnsupportedSchemaVersionError
    And 1 session is stored

  Scenario: Importing the stream while its external id is taken is refused unless asked for a copy
    Given I exported the session as JSON Lines
    When I import the stream as it is
    Then the call fails with ImportIntegrityError
    And the error message mentions "on_conflict='new_external_id'"
    And 1 session is stored

  Scenario Outline: Streaming refuses bad arguments before any I/O
    When I try the JSON Lines call <call>
    Then the call <outcome>

    Examples:
      | call                                             | outcome                                                 |
      | out a session that does not exist                | fails with SessionNotFoundError                         |
      | out the session id "nope"                        | is refused with InvalidInputError naming "session_id"   |
      | in with on_conflict "replace"                    | is refused with InvalidInputError naming "on_conflict"  |
