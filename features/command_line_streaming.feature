Feature: Streaming exports, imports and session pages on the command line
  `sessions export --format jsonl` writes a session as JSON Lines, to a file or to stdout, in
  constant memory; `sessions import` reads a JSON Lines stream or a JSON document, from a file
  or stdin, and `--on-conflict` says what a taken external id does. `sessions list --after`
  pages by cursor. Bad option values print one line naming the option and exit with status 1.

  Background:
    Given a session of actor "streamer" with external id "ext-7", 30 messages and 12 file events
    And the command line names that session

  Scenario: A JSON Lines export to a file imports back as an equal copy
    When I run "agent-sessions --url {database} sessions export {session} --format jsonl -o {file}"
    Then the file is a JSON Lines export of the session with 30 messages and 12 file events
    When I run "agent-sessions --url {database} sessions import {file} --on-conflict new_external_id"
    Then the output names the imported session, with 30 messages, for actor "streamer"
    And the imported session equals the original apart from ids and the external id
    And its messages and file events equal the original's apart from ids

  Scenario: A JSON Lines export to standard output is UTF-8, whatever the encoding of its text
    When I run "agent-sessions --url {database} sessions export {session} --format jsonl" with standard output encoded as ASCII
    Then the output is a JSON Lines export of the session with 30 messages and 12 file events
    And standard error is empty

  Scenario: An export piped into an import copies the session
    When I pipe "agent-sessions --url {database} sessions export {session} --format jsonl" into "agent-sessions --url {database} sessions import - --on-conflict new_external_id"
    Then the output names the imported session, with 30 messages, for actor "streamer"
    And the imported session equals the original apart from ids and the external id
    And its messages and file events equal the original's apart from ids

  Scenario: An export whose reader stops early (| head) ends quietly, as SIGPIPE would end it
    Given that session holds 2000 more messages of 200 characters, more than a pipe buffers
    When a separate process runs "agent-sessions --url {database} sessions export {session} --format jsonl" and its reader closes the pipe after 1 line
    Then that process exits with status 141 and writes nothing to standard error

  Scenario Outline: Importing a JSON Lines export <source>
    Given the session's JSON Lines export is <source>
    When I run "agent-sessions --url {database} sessions import <argument> --on-conflict new_external_id"
    Then the output names the imported session, with 30 messages, for actor "streamer"
    And its messages and file events equal the original's apart from ids

    Examples:
      | source                                      | argument |
      | in the file                                 | {file}   |
      | in the file after two blank lines           | {file}   |
      | on standard input, redirected from the file | -        |
      | on standard input, through a pipe           | -        |

  Scenario Outline: A damaged JSON Lines file (<damage>) is refused with one line, writing nothing
    Given a damaged JSON Lines export of the session is in the file: <damage>
    When I run "agent-sessions --url {database} sessions import {file} --on-conflict new_external_id"
    Then the command fails with one error line saying "<error>"
    And 1 session is stored

    Examples:
      | damage                                       | error                                                                   |
      | one changed character in a message           | checksum mismatch                                                       |
      | its trailer cut off                          | cut short                                                               |
      | a header that is not JSON                    | line 1 is not valid JSON                                                |
      | a file event naming message 99               | line 32: file_event.message_sequence                                    |
      | a message's content written twice, re-signed | line 2 is not valid JSON: the key 'content' appears twice in one object |

  Scenario Outline: Importing a <format> export whose external id is taken: refused unless asked for a copy
    Given I run "agent-sessions --url {database} sessions export {session} --format <format> -o {file}"
    When I run "agent-sessions --url {database} sessions import {file}"
    Then the command fails with one error line saying "(--on-conflict new_external_id on the command line) to import a copy"
    And 1 session is stored
    When I run "agent-sessions --url {database} sessions import {file} --on-conflict new_external_id"
    Then the output names the imported session, with 30 messages, for actor "streamer"
    And the imported session equals the original apart from ids and the external id

    Examples:
      | format |
      | json   |
      | jsonl  |

  Scenario Outline: Paging through every session with --after, <form>
    Given 7 more sessions of the actor "pager"
    When I page through "agent-sessions --url {database} sessions list --limit 3 <options>" by its <marker>
    Then the pages held 3, 3, 2 sessions and together listed every session once, newest first

    Examples:
      | form    | options              | marker          |
      | as text |                      | next page lines |
      | as JSON | --json --with-cursor | next_cursor     |

  Scenario: Plain --json keeps its array of sessions, even when there is a next page
    Given 7 more sessions of the actor "pager"
    When I run "agent-sessions --url {database} sessions list --limit 3 --json"
    Then the JSON output is an array of the 3 newest sessions

  Scenario: The progress of an export to a file shows on standard error only when it is a terminal
    When I run "agent-sessions --url {database} sessions export {session} --format jsonl -o {file}" with standard error on a terminal
    Then standard error shows the progress from 0/30 to 30/30 messages, then "exported session {session} (30 messages) to {file}"
    When I run "agent-sessions --url {database} sessions export {session} --format jsonl -o {file}"
    Then standard error is exactly "exported session {session} (30 messages) to {file}"
    When I run "agent-sessions --url {database} sessions export {session} --format jsonl" with standard error on a terminal
    Then standard error is empty

  Scenario: An import and db verify show their progress on a terminal too
    Given I run "agent-sessions --url {database} sessions export {session} --format jsonl -o {file}"
    When I run "agent-sessions --url {database} sessions import {file} --on-conflict new_external_id" with standard error on a terminal
    Then standard error shows the bar "importing {file}", ending at the file's size
    When I run "agent-sessions --url {database} db verify --session {session}" with standard error on a terminal
    Then standard error shows the bar "verifying the stored sessions", whatever the verdict

  Scenario Outline: A bad value of <option> prints one line naming it, exits with status 1 and writes nothing
    When I run "agent-sessions --url {database} <command>"
    Then the command fails with one error line saying "<error>"
    And the file was not written
    And 1 session is stored

    Examples:
      | option        | command                                                     | error                                                                     |
      | --format      | sessions export {session} --format xml -o {file}            | invalid --format: 'xml' is not one of json, jsonl                         |
      | --format      | sessions export {session} --format JSONL -o {file}          | invalid --format: 'JSONL' is not one of json, jsonl                       |
      | --after       | sessions list --after not-a-cursor                          | invalid --after: 'not-a-cursor' is not a cursor returned by list()        |
      | --after       | sessions list --after MjAyNi0xMS0yOFQyMzo1MA                | invalid --after                                                           |
      | the id        | sessions export 01ARZ3NDEKTSV4RRFFQ69G5FAV --format jsonl -o {file} | session '01ARZ3NDEKTSV4RRFFQ69G5FAV' does not exist               |

  Scenario: A bad value of --on-conflict is the service's refusal, naming the option, and imports nothing
    Given I run "agent-sessions --url {database} sessions export {session} -o {file}"
    When I run "agent-sessions --url {database} sessions import {file} --on-conflict replace"
    Then the command fails with one error line saying "invalid --on-conflict: 'replace' is not one of 'error', 'new_external_id'"
    And 1 session is stored

  Scenario: --after and --offset together are refused, naming --offset
    Given I run "agent-sessions --url {database} sessions list --limit 1"
    When I run "agent-sessions --url {database} sessions list --limit 1 --offset 1 --after {cursor}" with the cursor that page printed
    Then the command fails with one error line saying "invalid --offset: cannot be combined with after"
