Feature: Session persistence
  An agent keeps its conversations: sessions that belong to an actor, hold an ordered list of
  messages and count the tokens spent. They are stored in a SQL database, survive a restart,
  can be moved between stores as a signed export document, and bad input never leaves a trace.

  # ---------------------------------------------------------------------------------------------
  # Creation
  # ---------------------------------------------------------------------------------------------

  @creation
  Scenario: A new session starts empty, with a ULID and equal timestamps
    When I create a session for actor "alice"
    Then the session has a 26-character ULID id
    And its prompt, completion, total and message counters are all 0
    And it has no title and empty metadata
    And its created_at equals its updated_at, timezone-aware in UTC
    And fetching the session by its id returns the same session

  @creation
  Scenario: A session keeps its title and metadata
    When I create a session for actor "alice" titled "Trip to Kyoto" with metadata:
      """
      {"channel": "web", "tags": ["travel", "japan"], "priority": 2}
      """
    Then the stored session has the title "Trip to Kyoto" and exactly that metadata
    And 1 session is stored

  @creation
  Scenario: Names and titles of the longest allowed length are accepted
    When I create a session whose actor name has 255 characters and whose title has 500
    Then the stored session has an actor name of 255 characters and a title of 500

  @creation
  Scenario Outline: A session with <value> as <argument> is refused and nothing is stored
    When I try to create a session with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And no session is stored

    Examples:
      | argument   | value                         |
      | actor_name | an empty string               |
      | actor_name | a blank string                |
      | actor_name | 256 characters                |
      | actor_name | a number                      |
      | actor_name | a string with a NUL character |
      | title      | 501 characters                |
      | title      | a number                      |
      | metadata   | a list                        |
      | metadata   | a set                         |
      | metadata   | a dict holding NaN            |
      | metadata   | a dict holding infinity       |
      | metadata   | a dict with a number as a key |
      | metadata   | a dict holding a datetime     |

  # ---------------------------------------------------------------------------------------------
  # Listing
  # ---------------------------------------------------------------------------------------------

  @listing
  Scenario Outline: Listing pages through the sessions with limit <limit> and offset <offset>
    Given these sessions were created in this order:
      | actor | title  |
      | alice | first  |
      | bob   | second |
      | alice | third  |
      | carol | fourth |
    When I list the sessions with limit <limit> and offset <offset>
    Then the listed titles are "<titles>"

    Examples:
      | limit | offset | titles                      |
      | 2     | 0      | fourth, third               |
      | 2     | 1      | third, second               |
      | 1000  | 3      | first                       |
      | 10    | 0      | fourth, third, second, first |

  @listing
  Scenario: An offset past the last session lists nothing
    Given these sessions were created in this order:
      | actor | title |
      | alice | first |
    When I list the sessions with limit 10 and offset 1
    Then no session is listed

  @listing
  Scenario: A session created while paging neither repeats nor hides another one
    Given 6 sessions of actor "walker" were created, some within the same microsecond
    When I list the sessions of "walker" 4 at a time, creating a session after the first page
    Then together the pages list the 6 sessions that existed before, each once

  @listing
  Scenario Outline: Listing with <value> as the cursor is refused
    Given a session of actor "alice"
    When I try to list sessions with after set to <value>
    Then the call is refused with InvalidInputError naming "after"

    Examples:
      | value                          |
      | an empty string                |
      | a word                         |
      | the string "bm90IGEgY3Vyc29y" |
      | the string "MjAyNnxYWFg"      |
      | 42                             |

  @listing
  Scenario: A cursor and an offset together are refused
    Given 3 sessions of actor "walker" were created, some within the same microsecond
    When I list the sessions of "walker" 2 at a time by following next_cursor
    And I try to continue the listing with offset 1 as well
    Then the call is refused with InvalidInputError naming "offset"

  @listing
  Scenario Outline: Listing with <value> as <argument> is refused
    Given a session of actor "alice"
    When I try to list sessions with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"

    Examples:
      | argument   | value           |
      | limit      | 0               |
      | limit      | -1              |
      | limit      | 1001            |
      | limit      | a word          |
      | limit      | a boolean       |
      | offset     | -1              |
      | offset     | a float         |
      | actor_name | an empty string |

  # ---------------------------------------------------------------------------------------------
  # Deletion
  # ---------------------------------------------------------------------------------------------

  @deletion
  Scenario: Deleting a session removes it and its messages, and only it
    Given a session of actor "alice" with 3 messages
    And a session of actor "bob" with 2 messages
    When I delete the session of "alice"
    Then the session of "alice" can no longer be found
    And the messages of the session of "alice" can no longer be read
    And the session of "bob" still holds 2 messages

  @deletion
  Scenario Outline: Deleting by a malformed id (<value>) is refused
    Given a session of actor "alice"
    When I try to delete the session with the id set to <value>
    Then the call is refused with InvalidInputError naming "session_id"
    And the session of "alice" still holds 0 messages

    Examples:
      | value                         |
      | an empty string               |
      | an id that is too short       |
      | an id with the letter U       |
      | an id that overflows 128 bits |
      | an id with a hyphen           |
      | a number                      |

  # ---------------------------------------------------------------------------------------------
  # Message append
  # ---------------------------------------------------------------------------------------------

  @message_append
  Scenario: Appended messages are numbered 1, 2, 3 and counted on the session
    Given a session of actor "alice"
    When I append these messages to the session:
      | role      | content                    |
      | system    | You are a travel assistant |
      | user      | Plan two days in Kyoto     |
      | assistant | Day 1: Fushimi Inari ...   |
    Then the appended messages have the sequences 1, 2, 3
    And the session holds 3 messages
    And the session was last updated when its last message was appended

  @message_append
  Scenario Outline: A message with <value> as <argument> is refused and nothing is appended
    Given a session of actor "alice"
    When I try to append a message with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the session holds 0 messages

    Examples:
      | argument    | value                          |
      | role        | the role "moderator"           |
      | role        | the role "USER"                |
      | role        | an empty string                |
      | role        | a number                       |
      | content     | a number                       |
      | content     | a string with a NUL character  |
      | metadata    | a dict holding NaN             |
      | metadata    | a dict holding a NUL character |
      | token_count | -1                             |
      | token_count | a float                        |

  # ---------------------------------------------------------------------------------------------
  # Pagination
  # ---------------------------------------------------------------------------------------------

  @pagination
  Scenario Outline: Reading a page of <limit> messages from offset <offset>
    Given a session of actor "alice" with 10 messages
    When I read the messages with limit <limit> and offset <offset>
    Then I get the messages with the sequences <sequences>

    Examples:
      | limit  | offset | sequences |
      | 3      | 0      | 1, 2, 3   |
      | 3      | 4      | 5, 6, 7   |
      | 5      | 8      | 9, 10     |
      | 100000 | 0      | 1 to 10   |

  @pagination
  Scenario: Reading without a limit gives every message from the offset on, in order
    Given a session of actor "alice" with 10 messages
    When I read the messages from offset 7
    Then I get the messages with the sequences 8, 9, 10

  @pagination
  Scenario Outline: The <n> most recent messages come in ascending order
    Given a session of actor "alice" with 10 messages
    When I read the <n> most recent messages
    Then I get the messages with the sequences <sequences>

    Examples:
      | n  | sequences |
      | 1  | 10        |
      | 3  | 8, 9, 10  |
      | 10 | 1 to 10   |
      | 50 | 1 to 10   |

  @pagination
  Scenario: A session without messages, or read past its end, gives no messages
    Given a session of actor "alice" with 2 messages
    And a session of actor "bob"
    Then reading the messages of "bob" gives no messages
    And reading the messages of "alice" from offset 2 gives no messages

  @pagination
  Scenario Outline: Reading <reading> with <value> as <argument> is refused
    Given a session of actor "alice" with 2 messages
    When I try to read <reading> with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"

    Examples:
      | reading                 | argument | value     |
      | a page of messages      | limit    | 0         |
      | a page of messages      | limit    | 100001    |
      | a page of messages      | limit    | a word    |
      | a page of messages      | offset   | -1        |
      | a page of messages      | offset   | a boolean |
      | the most recent messages | n        | 0         |
      | the most recent messages | n        | -3        |
      | the most recent messages | n        | 100001    |
      | the most recent messages | n        | a float   |

  # ---------------------------------------------------------------------------------------------
  # Export and import
  # ---------------------------------------------------------------------------------------------

  @export_import
  Scenario: An export document is versioned, signed and plain JSON
    Given a session of actor "alice" with 2 messages
    When I export the session
    Then the export document has the format "agent-sessions/export" and schema_version 3
    And its checksum is "sha256:" followed by 64 hexadecimal digits
    And its checksum is the SHA-256 of the canonical JSON of every other field
    And it lists the 2 messages in ascending sequence
    And it comes through a JSON round trip unchanged

  @export_import
  Scenario Outline: A malformed document (<document>) is refused and nothing is imported
    Given a session of actor "alice" with 2 messages
    When I try to import <document>
    Then the call fails with ImportIntegrityError
    And 1 session is stored

    Examples:
      | document                                                          |
      | a list instead of a document                                      |
      | a text instead of a document                                      |
      | its export document without the checksum field                    |
      | its export document without the messages field                    |
      | its export document without the schema_version field              |
      | its export document with an unknown format                        |
      | its export document with an extra field                           |
      | its export document with a message lacking its role, re-signed    |
      | its export document with an unknown role, re-signed               |
      | its export document with a gap in the sequences, re-signed        |
      | its export document with a wrong message count, re-signed         |
      | its export document with a timestamp lacking a time zone, re-signed |
      | its export document with negative prompt tokens, re-signed        |
      | its export document with a checksum that is not a string           |
      | its export document holding NaN, re-signed                          |
      | its export document whose messages are not a list, re-signed        |
      | its export document whose session is not an object, re-signed       |
      | its export document with an extra message field, re-signed          |
      | its export document with a text as a sequence, re-signed            |
      | its export document with a date that is not a date, re-signed       |
      | its export document with a number as a date, re-signed              |

  # ---------------------------------------------------------------------------------------------
  # Token usage
  # ---------------------------------------------------------------------------------------------

  @token_usage
  Scenario Outline: Recording <value> as <argument> is refused and nothing changes
    Given a session of actor "alice"
    And the session has used 10 prompt and 5 completion tokens
    When I try to record token usage with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the session has used 10 prompt, 5 completion and 15 total tokens

    Examples:
      | argument          | value               |
      | prompt_tokens     | -1                  |
      | completion_tokens | -5                  |
      | prompt_tokens     | a float             |
      | completion_tokens | a word              |
      | prompt_tokens     | a boolean           |
      | completion_tokens | None                |
      | prompt_tokens     | more than 2**53 - 1 |

  # ---------------------------------------------------------------------------------------------
  # ORM round-trip: what is stored is exactly what is read back
  # ---------------------------------------------------------------------------------------------

  @orm_round_trip
  Scenario Outline: <script> text comes back unchanged
    Given a session of actor "<text>" titled "<text>"
    And a message whose content and metadata hold "<text>"
    When I reopen the store
    Then the actor, title, message content and message metadata read back as "<text>"

    Examples:
      | script              | text                                  |
      | Emoji               | 👋🌍🚀 👨‍👩‍👧‍👦 🏳️‍🌈                        |
      | CJK                 | 你好，世界 こんにちは 안녕하세요             |
      | Right-to-left       | ‏שלום עולם مرحبا بالعالم                 |
      | Combining and 4-byte | é Å 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎                     |

  @orm_round_trip
  Scenario: A message of one megabyte comes back unchanged
    Given a session of actor "alice"
    When I append a message of 1048576 characters mixing ASCII and multi-byte text
    And I reopen the store
    Then the message reads back with exactly that content

  @orm_round_trip
  Scenario: Nested metadata keeps its structure and its types
    When I create a session and a message that both have the metadata:
      """
      {"tools": [{"name": "search", "enabled": true, "limit": null}],
       "scores": [0.1, -2.5, 1.0, 1e-10, 6.02e23],
       "flags": {"verbose": false, "retries": 3, "big": 9007199254740991},
       "empty": {"list": [], "dict": {}, "text": ""}}
      """
    And I reopen the store
    Then the session and the message read back exactly that metadata, with the same types

  @orm_round_trip
  Scenario: Timestamps come back timezone-aware in UTC, to the microsecond
    When I import a conversation stamped "2024-02-29T23:59:59.123456+05:30"
    And I reopen the store
    Then the session and its message read back as created at 2024-02-29 18:29:59.123456 UTC
    And every timestamp of the session and its message is timezone-aware in UTC

  @orm_round_trip
  Scenario: A reopened store reads the same sessions, messages and token usage
    Given a session of actor "alice" with 3 messages
    And the session has used 40 prompt and 9 completion tokens
    When I reopen the store
    Then the reopened store returns the same session and the same messages
