Feature: Hostile and malformed input is refused before anything is written
  Every public method of the service and every command of the CLI answers bad input with
  InvalidInputError, ImportIntegrityError or UnsupportedSchemaVersionError, naming the field,
  and the row count of every table in the database stays as it was. Text that looks like SQL
  is data: it is stored verbatim and read back equal. Limits: docs/reference/api.md#limits.

  Background:
    Given a session of actor "alice" with 3 messages
    And the row counts of every table are noted

  Scenario Outline: <method> with <value> as <argument> is refused and nothing is written
    When I call <method> with <argument> set to <value>
    Then the call is refused with InvalidInputError naming "<argument>"
    And the row counts of every table are unchanged

    Examples: create
      | method | argument   | value                                    |
      | create | actor_name | a lone surrogate                         |
      | create | actor_name | 256 multi-byte characters                |
      | create | actor_name | a list                                   |
      | create | title      | a lone low surrogate                     |
      | create | title      | a string with a NUL character            |
      | create | title      | a ten-megabyte string                    |
      | create | metadata   | a dict holding a lone surrogate          |
      | create | metadata   | a dict with a lone surrogate in a key    |
      | create | metadata   | a dict holding 2**53                     |
      | create | metadata   | a dict holding -2**53                    |
      | create | metadata   | a dict holding 1e400                     |
      | create | metadata   | a dict holding an integer of 5000 digits |
      | create | metadata   | a dict nested one level too deep         |
      | create | metadata   | a dict nested 100000 levels deep         |
      | create | metadata   | a dict that contains itself              |
      | create | metadata   | a dict of lists nested too deep          |
      | create | metadata   | a dict one byte over the limit           |
      | create | metadata   | a tuple                                  |

    Examples: reading and deleting by id
      | method          | argument   | value                         |
      | get             | session_id | an SQL injection              |
      | get             | session_id | an id with a trailing newline |
      | get             | session_id | an id with a long s           |
      | get             | session_id | an id of fullwidth digits     |
      | get             | session_id | a lone surrogate              |
      | get             | session_id | a ten-megabyte string         |
      | delete          | session_id | a quoted SQL injection        |
      | delete          | session_id | None                          |
      | export_session  | session_id | an SQL injection              |
      | verify          | session_id | an id with a trailing newline |
      | get_messages    | session_id | a string with a NUL character |
      | recent_messages | session_id | a number                      |

    Examples: paging
      | method          | argument   | value                     |
      | list            | actor_name | a lone surrogate          |
      | list            | actor_name | an empty string           |
      | list            | limit      | 2**63                     |
      | list            | limit      | a boolean                 |
      | list            | offset     | 2**63                     |
      | list            | offset     | an integer of 5000 digits |
      | list            | offset     | a float                   |
      | get_messages    | offset     | 2**63                     |
      | get_messages    | limit      | -2**63                    |
      | recent_messages | n          | an integer of 5000 digits |
      | recent_messages | n          | a boolean                 |

    Examples: appending
      | method         | argument    | value                             |
      | append_message | session_id  | an SQL injection                  |
      | append_message | role        | an SQL injection                  |
      | append_message | role        | a ten-megabyte string             |
      | append_message | role        | a lone surrogate                  |
      | append_message | content     | a lone surrogate                  |
      | append_message | content     | a lone low surrogate              |
      | append_message | content     | content one byte over the limit   |
      | append_message | content     | multi-byte content over the limit |
      | append_message | content     | None                              |
      | append_message | metadata    | a dict nested 100000 levels deep  |
      | append_message | metadata    | a dict holding a lone surrogate   |
      | append_message | metadata    | a dict one byte over the limit    |
      | append_message | token_count | 2**63                             |
      | append_message | token_count | a boolean                         |
      | append_message | token_count | 1e400                             |

    Examples: token usage
      | method             | argument          | value                     |
      | update_token_usage | session_id        | a quoted SQL injection    |
      | update_token_usage | prompt_tokens     | 2**63                     |
      | update_token_usage | prompt_tokens     | -2**63                    |
      | update_token_usage | completion_tokens | an integer of 5000 digits |
      | update_token_usage | completion_tokens | 1e400                     |
      | update_token_usage | idempotency_key   | a lone surrogate          |
      | update_token_usage | idempotency_key   | a string with a NUL character |
      | update_token_usage | idempotency_key   | a blank string            |
      | update_token_usage | idempotency_key   | 256 characters            |
      | update_token_usage | idempotency_key   | a number                  |

  Scenario Outline: SQL-looking text <text> is stored verbatim in every text field
    When every text field of a new session and its message is set to "<text>"
    Then "<text>" reads back verbatim from every field and finds that session by actor

    Examples:
      | text                                          |
      | '); DROP TABLE sessions; --                   |
      | " OR 1=1 --                                   |
      | \'; DELETE FROM session_messages; --          |
      | %' OR '1'='1                                  |
      | `; DROP TABLE sessions; -- `                  |
      | $$; DROP TABLE session_messages; $$           |
      | 1; SELECT pg_sleep(10); SELECT SLEEP(10); --  |

  Scenario: Content and metadata at their limits fit every backend, even where escaping doubles them
    When I append content of quotes at the byte limit with emoji metadata at its limit
    Then the message reads back with exactly that content and metadata

  Scenario Outline: A document that is not a document (<value>) is refused
    When I import <value> as the export document
    Then the call fails with ImportIntegrityError
    And the error message mentions "<field>"
    And the row counts of every table are unchanged

    Examples:
      | value           | field                 |
      | None            | must be a JSON object |
      | a list          | must be a JSON object |
      | a lone surrogate | must be a JSON object |

  Scenario Outline: An export document where <change>, <signature>, is refused naming <field>
    When its export document is imported after <change>, <signature>
    Then the call fails with <error>
    And the error message mentions "<field>"
    And the row counts of every table are unchanged

    Examples:
      | change                                                | signature                    | error                         | field                       |
      | a message was removed                                 | re-signed canonically        | ImportIntegrityError          | messages[1].sequence        |
      | a message was removed                                 | signed over plain json.dumps | ImportIntegrityError          | messages[1].sequence        |
      | a message was removed and the rest renumbered         | signed over plain json.dumps | ImportIntegrityError          | checksum mismatch           |
      | a content was changed                                 | signed over plain json.dumps | ImportIntegrityError          | checksum mismatch           |
      | a sequence was duplicated                             | re-signed canonically        | ImportIntegrityError          | messages[1].sequence        |
      | a sequence is 2**64                                   | left with its old checksum   | ImportIntegrityError          | messages[2].sequence        |
      | a role is a number                                    | re-signed canonically        | ImportIntegrityError          | messages[0].role            |
      | a content is a list                                   | left with its old checksum   | ImportIntegrityError          | messages[0].content         |
      | a content holds a lone surrogate                      | left with its old checksum   | ImportIntegrityError          | messages[1].content         |
      | a content holds a NUL character                       | re-signed canonically        | ImportIntegrityError          | messages[1].content         |
      | a content is over the byte limit                      | re-signed canonically        | ImportIntegrityError          | messages[0].content         |
      | a token_count is a boolean                            | re-signed canonically        | ImportIntegrityError          | messages[2].token_count     |
      | a token_count is 2**53                                | re-signed canonically        | ImportIntegrityError          | messages[2].token_count     |
      | a message id is an SQL injection                      | re-signed canonically        | ImportIntegrityError          | messages[0].id              |
      | a message metadata is nested 100000 levels            | left with its old checksum   | ImportIntegrityError          | messages[0].metadata        |
      | a message is a list                                   | left with its old checksum   | ImportIntegrityError          | messages[0] must be a JSON object |
      | the session id is not a ULID                          | re-signed canonically        | ImportIntegrityError          | session.id                  |
      | the actor_name is an SQL injection of 300 characters  | re-signed canonically        | ImportIntegrityError          | session.actor_name          |
      | the prompt_tokens are a float                         | re-signed canonically        | ImportIntegrityError          | session.prompt_tokens       |
      | the completion_tokens are negative                    | re-signed canonically        | ImportIntegrityError          | session.completion_tokens   |
      | the title is a number                                 | re-signed canonically        | ImportIntegrityError          | session.title               |
      | the created_at lies before year 1 in UTC              | re-signed canonically        | ImportIntegrityError          | session.created_at          |
      | the updated_at is a ten-megabyte string               | left with its old checksum   | ImportIntegrityError          | session.updated_at          |
      | the metadata holds a key with a lone surrogate        | left with its old checksum   | ImportIntegrityError          | session.metadata            |
      | the session has an unknown field                      | re-signed canonically        | ImportIntegrityError          | session has unknown field(s) 'owner' |
      | the session lacks its actor_name                      | re-signed canonically        | ImportIntegrityError          | session lacks the field(s) actor_name |
      | the schema_version is a string                        | re-signed canonically        | ImportIntegrityError          | schema_version              |
      | the schema_version is 2**64                           | re-signed canonically        | UnsupportedSchemaVersionError | 18446744073709551616        |
      | the checksum is in upper case                         | left with its old checksum   | ImportIntegrityError          | checksum must be            |
      | it holds more messages than an import takes           | left with its old checksum   | ImportIntegrityError          | messages holds 100001       |
      | its canonical JSON is over 64 MiB                     | re-signed canonically        | ImportIntegrityError          | 64 MiB                      |

  Scenario Outline: agent-sessions <arguments> with <value> as VALUE prints one error line
    Given the session "careful" with 3 messages
    And the row counts of every table are noted
    When agent-sessions runs "<arguments>" with VALUE being <value>
    Then the command fails with one error line saying "<error>"
    And the row counts of every table are unchanged

    Examples:
      | arguments                                                | value                                  | error                    |
      | --url VALUE db upgrade                                   | an empty string                        | invalid --url            |
      | --url VALUE db current                                   | a blank string                         | invalid --url            |
      | --url VALUE db check                                     | a word                                 | invalid url              |
      | --url VALUE db doctor                                    | the URL with an injected database name | DROP TABLE sessions      |
      | --url VALUE demo                                         | a word                                 | invalid url              |
      | --url VALUE sessions list                                | the URL with an injected database name | DROP TABLE sessions      |
      | --url {database} db verify --session VALUE               | an SQL injection                       | invalid --session        |
      | --url {database} sessions list --actor VALUE             | a lone surrogate                       | invalid --actor          |
      | --url {database} sessions list --actor VALUE             | 256 characters                         | invalid --actor          |
      | --url {database} sessions list --offset VALUE            | the string "9223372036854775808"       | invalid --offset         |
      | --url {database} sessions list --limit VALUE             | the string "-1"                        | invalid --limit          |
      | --url {database} sessions show VALUE                     | an SQL injection                       | invalid session_id       |
      | --url {database} sessions show VALUE                     | an id with a trailing newline          | invalid session_id       |
      | --url {database} sessions export VALUE                   | a quoted SQL injection                 | invalid session_id       |
      | --url {database} sessions export {session} -o VALUE      | a folder                               | cannot write             |
      | --url {database} sessions delete VALUE                   | a lone surrogate                       | invalid session_id       |
      | --url {database} sessions import VALUE                   | a folder                               | cannot read              |
      | migrations lock --check --scripts VALUE                  | a missing folder                       | invalid --scripts        |
      | migrations lock --check --lock-file VALUE                | a folder                               | invalid --lock-file      |
      | migrations lock --lock-file VALUE                        | a file in a missing folder             | invalid --lock-file      |

  Scenario Outline: A command line of the wrong type (<value> for <option>) is a usage error
    When agent-sessions runs "--url {database} sessions list <option> VALUE" with VALUE being <value>
    Then the command names <option> in its usage error
    And the row counts of every table are unchanged

    Examples:
      | option   | value                            |
      | --limit  | a word                           |
      | --offset | the string "1.5"                 |
      | --limit  | the string "1e3"                 |

  Scenario Outline: sessions import of a file holding <content> prints one error line
    Given the session "careful" with 3 messages
    And the row counts of every table are noted
    And an import file holding <content>
    When agent-sessions runs "--url {database} sessions import {file}" with VALUE being an empty string
    Then the command fails with one error line saying "<error>"
    And the row counts of every table are unchanged

    Examples:
      | content                                                     | error                                |
      | a truncated export                                          | is not valid JSON                    |
      | an empty file                                               | is not valid JSON                    |
      | an export with invalid UTF-8 inside a content               | is not UTF-8 text                    |
      | an export with the format key twice                         | the key 'format' appears twice       |
      | an export holding NaN                                       | NaN is not a JSON number             |
      | an export holding an integer of 5000 digits                 | is not valid JSON: Exceeds the limit |
      | JSON nested 100000 levels deep                              | is not valid JSON: maximum recursion |
      | a JSON list                                                 | must be a JSON object                |
      | an export with a message removed, re-signed                 | messages[1].sequence                 |
      | an export with a changed content, signed over plain json.dumps | checksum mismatch                 |
      | an export of schema_version 7                               | schema_version 7 is not supported    |
      | more than 256 MiB                                           | is larger than 268435456 bytes       |
