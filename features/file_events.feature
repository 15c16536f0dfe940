Feature: File events and external ids
  A coding agent records what each of its messages did to files (read, write, edit, delete,
  rename) and which commands it ran; later it asks which files a session touched and which
  sessions touched a file. An integration finds a session again by the id its host tool gave
  it (the external id, unique per actor). Both travel in export documents from schema_version 2
  on, documents of schema_version 1 still import, and bad input writes nothing.

  # ---------------------------------------------------------------------------------------------
  # Recording and listing file events
  # ---------------------------------------------------------------------------------------------

  @file_events
  Scenario: Events recorded on a session's messages list back in the order recorded, with every field
    Given a session of actor "coding-agent" with 3 messages
    When these file events are recorded on its messages:
      | message | event_type | file_path      | diff                 | command            |
      | 1       | read       | src/app.py     |                      |                    |
      | 2       | write      | src/new.py     | +print("hello")      |                    |
      | 2       | edit       | src/app.py     | ""                   |                    |
      | 3       | command    |                |                      | pytest -q tests/   |
      | 3       | rename     | src/renamed.py | -old name, +new name |                    |
      | 3       | delete     | src/old.py     |                      |                    |
      | 1       | command    | src            |                      | ruff check --fix . |
    Then listing its file events gives those events in the order recorded, with every field

  @file_events
  Scenario Outline: Listing the file events <selection> gives the events of rows <rows>
    Given a session of actor "coding-agent" with 3 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path  | diff | command   |
      | 1       | read       | src/app.py |      |           |
      | 1       | edit       | src/app.py | -a+b |           |
      | 2       | read       | README.md  |      |           |
      | 2       | command    |            |      | make test |
      | 3       | edit       | README.md  | -x+y |           |
      | 3       | edit       | src/app.py | -b+c |           |
    When I list its file events <selection>
    Then I get the file events recorded in rows <rows>

    Examples:
      | selection                                | rows    |
      | without a filter                         | 1 to 6  |
      | of type "edit"                           | 2, 5, 6 |
      | of type "command"                        | 4       |
      | of type "rename"                         | none    |
      | on "src/app.py"                          | 1, 2, 6 |
      | on "src/APP.py"                          | none    |
      | of type "edit" on "src/app.py"           | 2, 6    |
      | with limit 2                             | 1, 2    |
      | with limit 2 and offset 3                | 4, 5    |
      | with offset 5                            | 6       |
      | with offset 6                            | none    |
      | of type "edit" with limit 1 and offset 1 | 5       |

  @file_events
  Scenario Outline: With a clock that stands still <when>, created_at still strictly increases and moves the session's updated_at
    Given a session of actor "coding-agent" with 2 messages
    And a second service on the same database whose clock stands still <when>
    When these file events are recorded on its messages through that service:
      | message | event_type | file_path  | diff | command |
      | 1       | read       | src/app.py |      |         |
      | 1       | edit       | src/app.py | -a+b |         |
      | 2       | command    |            |      | make    |
      | 2       | write      | src/new.py | +new |         |
      | 2       | read       | src/new.py |      |         |
    Then each listed file event's created_at is later than the one before and than the session's last update before it
    And the session's updated_at is now the last file event's created_at

    Examples:
      | when             |
      | an hour ago      |
      | an hour from now |

  # ---------------------------------------------------------------------------------------------
  # Which files a session touched, which sessions touched a file
  # ---------------------------------------------------------------------------------------------

  @files_touched
  Scenario: files_touched counts each path's events by type, paths in code-point order, commands without a path left out
    Given a session of actor "coding-agent" with 3 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path   | diff | command    |
      | 1       | read       | src/é.py    |      |            |
      | 1       | read       | src/z.py    |      |            |
      | 1       | read       | B.py        |      |            |
      | 2       | edit       | b.py        | -1+2 |            |
      | 2       | command    |             |      | make lint  |
      | 2       | read       | b.py        |      |            |
      | 3       | edit       | b.py        | -2+3 |            |
      | 3       | write      | a.py<space> |      |            |
      | 3       | command    | scripts     |      | ./build.sh |
      | 3       | rename     | a.py        |      |            |
      | 3       | delete     | src/😀.py    |      |            |
      | 3       | edit       | src/～.py    | +    |            |
    When I ask which files the session touched
    Then the files touched are, in this order:
      | file_path   | counts         | last event |
      | B.py        | read 1         | 3          |
      | a.py        | rename 1       | 10         |
      | a.py<space> | write 1        | 8          |
      | b.py        | edit 2, read 1 | 7          |
      | scripts     | command 1      | 9          |
      | src/z.py    | read 1         | 2          |
      | src/é.py    | read 1         | 1          |
      | src/～.py    | edit 1         | 12         |
      | src/😀.py    | delete 1       | 11         |

  @files_touched
  Scenario: A session without file events touched no file
    Given a session of actor "coding-agent" with 2 messages
    When I ask which files the session touched
    Then the files touched are none

  @sessions_touching
  Scenario: sessions_touching lists the sessions with an event on a path, newest first, each once
    Given sessions recorded these file events, each session created at its first row:
      | actor  | event_type | file_path    |
      | first  | edit       | src/app.py   |
      | first  | read       | src/app.py   |
      | second | read       | src/other.py |
      | third  | write      | src/app.py   |
      | fourth | delete     | src/app.py   |
      | fifth  | read       | src/App.py   |
    When I ask which sessions touched "src/app.py"
    Then the sessions touching it are those of "fourth", "third", "first"
    When I ask which sessions touched "src/app.py", 2 at most
    Then the sessions touching it are those of "fourth", "third"
    When I ask which sessions touched "src/nobody.py"
    Then no session touches it

  @sessions_touching
  Scenario Outline: A file_path at the limit (<path>) is stored and found on every backend
    Given a session of actor "coding-agent" with 1 message
    When an edit of a file_path of <path> is recorded on its first message
    Then its file events on that path and the sessions touching that path find it

    Examples:
      | path                      |
      | 768 ASCII characters      |
      | 512 four-byte characters  |
      | 682 three-byte characters |

  @file_events
  Scenario: A 2 MB diff round-trips exactly
    Given a session of actor "coding-agent" with 1 message
    When an edit with a diff of 2000000 characters mixing ASCII, multi-byte text and line ends is recorded on its first message
    And I reopen the store
    Then its file event reads back with exactly that diff

  @file_events
  Scenario: Deleting a session deletes its file events and no one else's
    Given a session of actor "bob" with 1 message
    And these file events were recorded on its messages:
      | message | event_type | file_path | diff | command |
      | 1       | read       | README.md |      |         |
    And a session of actor "alice" with 2 messages
    And these file events were recorded on its messages:
      | message | event_type | file_path  | diff | command |
      | 1       | read       | README.md  |      |         |
      | 2       | edit       | src/app.py | -a+b |         |
      | 2       | command    |            |      | make    |
    And the table "session_file_events" holds 4 rows
    When I delete the session of "alice"
    Then the table "session_file_events" holds 1 row, an event of the session of "bob"
    And the session of "alice" can no longer be found

  # ---------------------------------------------------------------------------------------------
  # Refused input
  # ---------------------------------------------------------------------------------------------

  @validation
  Scenario Outline: record_file_event with <case> is refused naming <argument>, and nothing is written
    Given a session of actor "other" with 1 message
    And a session of actor "coding-agent" with 2 messages
    And the row counts of every table are noted
    When I try to record a file event with <case>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the row counts of every table are unchanged

    Examples:
      | case                                     | argument   |
      | event_type "command" and no command      | command    |
      | event_type "command" and a blank command | command    |
      | event_type "read" and no file_path       | file_path  |
      | event_type "edit" and a command          | command    |
      | event_type "move"                        | event_type |
      | event_type "READ"                        | event_type |
      | an event_type that is a number           | event_type |
      | the message of another session           | message_id |
      | a message_id that names no message       | message_id |
      | a malformed message_id                   | message_id |
      | a file_path of 769 characters            | file_path  |
      | a file_path of 513 four-byte characters  | file_path  |
      | a blank file_path                        | file_path  |
      | a file_path holding a NUL character      | file_path  |
      | a file_path holding a lone surrogate     | file_path  |
      | a diff one byte over 7 MiB               | diff       |
      | a diff that is not a string              | diff       |
      | a diff holding a NUL character           | diff       |
      | a command holding a lone surrogate       | command    |
      | a command one byte over 256 KiB          | command    |

  @validation
  Scenario Outline: list_file_events with <value> as <argument> is refused and nothing is written
    Given a session of actor "coding-agent" with 1 message
    And the row counts of every table are noted
    When I try to list its file events with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the row counts of every table are unchanged

    Examples:
      | argument   | value             |
      | limit      | 0                 |
      | limit      | -1                |
      | limit      | 100001            |
      | limit      | a boolean         |
      | offset     | -1                |
      | offset     | a float           |
      | event_type | the string "move" |
      | event_type | a number          |
      | file_path  | an empty string   |
      | file_path  | 769 characters    |

  @validation
  Scenario Outline: sessions_touching with <value> as <argument> is refused and nothing is written
    Given a session of actor "coding-agent" with 1 message
    And the row counts of every table are noted
    When I try to find the sessions touching a path with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the row counts of every table are unchanged

    Examples:
      | argument  | value                         |
      | limit     | 0                             |
      | limit     | 1001                          |
      | limit     | a boolean                     |
      | file_path | a blank string                |
      | file_path | None                          |
      | file_path | a string with a NUL character |

  @validation
  Scenario Outline: <call> for a session that does not exist fails with SessionNotFoundError
    Given a session of actor "coding-agent" with 1 message
    And the row counts of every table are noted
    When I try to <call> for a session id that names nothing
    Then the call fails with SessionNotFoundError
    And the row counts of every table are unchanged

    Examples:
      | call                       |
      | record a file event        |
      | list the file events       |
      | ask which files it touched |

  # ---------------------------------------------------------------------------------------------
  # External ids
  # ---------------------------------------------------------------------------------------------

  @external_ids @validation
  Scenario Outline: create with <value> as external_id is refused and nothing is stored
    When I try to create a session with external_id set to <value>
    Then the call is refused with InvalidInputError naming "external_id"
    And no session is stored

    Examples:
      | value                         |
      | an empty string               |
      | a blank string                |
      | 256 characters                |
      | a number                      |
      | a list                        |
      | a string with a NUL character |

  @external_ids @validation
  Scenario Outline: <call> with <value> as the external id is refused and nothing is written
    Given a session of actor "ide" with the external id "conv-1"
    And the row counts of every table are noted
    When I try to <call> with the external id set to <value>
    Then the call is refused with InvalidInputError naming "external_id"
    And the row counts of every table are unchanged

    Examples:
      | call                             | value           |
      | get or create a session of "ide" | None            |
      | get or create a session of "ide" | a blank string  |
      | get or create a session of "ide" | 256 characters  |
      | look up a session of "ide"       | None            |
      | look up a session of "ide"       | an empty string |
      | look up a session of "ide"       | a number        |

  # ---------------------------------------------------------------------------------------------
  # Export and import
  # ---------------------------------------------------------------------------------------------

  @export_import
  Scenario: A session with 200 messages and 1,000 file events exports, imports and compares equal apart from ids
    Given a session of actor "coding-agent" with the external id "big-1", 200 messages and 1000 file events
    When I export the session
    Then the export document has the format "agent-sessions/export" and schema_version 3
    And its 1000 file events name their messages by message_sequence, in the order recorded
    When the session is deleted and its export document, read back from JSON, imported
    Then the imported session has a new id and otherwise the same contents as the original
    And the imported messages have new ids and otherwise the same contents as the originals
    And the imported file events have new ids and otherwise the same contents, on the messages of the same sequence

  @export_import
  Scenario: A stored schema_version 1 document imports with its messages, no file events and no external id
    Given the stored export document "export_v1.json" of schema_version 1, with a valid checksum
    When I import the stored export document
    Then the imported session holds what the document says, message for message
    And it has no file events, touched no file and has no external id
    And its export is a schema_version 3 document with an empty list of file events

  @export_import
  Scenario: Importing a document whose external id is still taken fails naming on_conflict, and writes nothing
    Given a session of actor "coding-agent" with the external id "ext-7", 3 messages and 4 file events
    And the row counts of every table are noted
    When its export document is imported again while the session still holds the external id
    Then the call fails with ImportIntegrityError
    And the error message mentions "on_conflict"
    And the row counts of every table are unchanged

  @export_import @validation
  Scenario Outline: An export document whose file events were tampered with (<tampering>) is refused naming <field>
    Given a session of actor "coding-agent" with 3 messages and 4 file events
    And the row counts of every table are noted
    When I import its export document after <tampering>
    Then the call fails with ImportIntegrityError
    And the error message mentions "<field>"
    And the row counts of every table are unchanged

    Examples:
      | tampering                                                      | field                                        |
      | pointing file_events[0] at message_sequence 4, re-signed       | file_events[0].message_sequence              |
      | pointing file_events[0] at message_sequence 0, re-signed       | file_events[0].message_sequence              |
      | giving file_events[0] a text as message_sequence, re-signed    | file_events[0].message_sequence              |
      | giving file_events[1] the event_type "move", re-signed         | file_events[1].event_type                    |
      | swapping file_events[1] and file_events[2], re-signed          | file_events[2].created_at                    |
      | dating file_events[3] after session.updated_at, re-signed      | file_events[3].created_at                    |
      | removing the command of file_events[2], re-signed              | file_events[2].command                       |
      | putting a NUL character in file_events[0].file_path, re-signed | file_events[0].file_path                     |
      | removing the diff field of file_events[0], re-signed           | file_events[0] lacks the field(s) diff       |
      | changing the diff of file_events[1]                            | checksum mismatch                            |
      | setting schema_version 1 with its file events kept, re-signed  | unknown field(s) 'file_events'               |
      | giving the session a blank external_id, re-signed              | session.external_id                          |
      | turning file_events into an object, re-signed                  | file_events must be a list                   |
      | turning file_events[0] into a list, re-signed                  | file_events[0] must be a JSON object         |
      | adding the field "author" to file_events[0], re-signed         | file_events[0] has unknown field(s) 'author' |
