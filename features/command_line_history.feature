Feature: Forking, rewinding and compacting sessions on the command line
  Operators branch a conversation with `sessions fork`, see the family with `sessions tree`,
  take turns back with `sessions rewind` (and `--undo`), and record a summary with `sessions
  compact`. Nothing is deleted: `sessions show` shows the whole transcript, marking what a rewind
  hid and what the compaction in force stands for. Stored text is shown escaped.

  Scenario: Forking a session at message 3
    Given the session "planner" with 6 messages
    When I run "agent-sessions --url {database} sessions fork {session} --at 3 --title 'Route B'"
    Then the output names the new fork of the session, at message 3 with 3 messages
    And the new fork holds copies of messages 1 to 3 of the session, titled "Route B"
    When I run "agent-sessions --url {database} sessions list --forked-from {session} --json"
    Then the JSON sessions are the new fork alone, forked at 3 from the session

  Scenario: A fork shows where it came from
    Given the session "planner" with 4 messages
    When I run "agent-sessions --url {database} sessions fork {session} --at 2 --actor reviewer --json"
    Then the JSON session is a fork of the session at 2, of actor "reviewer", with 2 messages
    When I run "agent-sessions --url {database} sessions show {fork}"
    Then the header says it was forked from the session at message 2

  Scenario: The tree of a family drawn from any of its sessions
    Given the session "planner" with 6 messages
    And its session was forked at message 3 as "Route B"
    And its session was forked at message 5 as "Route C"
    And the fork "Route B" was forked at message 2 as "Route B, shorter"
    When I run "agent-sessions --url {database} sessions tree {Route B, shorter}" on an output encoded as UTF-8
    Then the output is the tree:
      """
      {session}  [6 messages]  planner session
      ├── {Route B}  [forked at 3, 3 messages]  Route B
      │   └── {Route B, shorter}  [forked at 2, 2 messages]  Route B, shorter
      └── {Route C}  [forked at 5, 5 messages]  Route C
      """

  Scenario: A session without forks is a tree of one
    Given the session "planner" with 1 messages
    When I run "agent-sessions --url {database} sessions tree {session}"
    Then the output is the tree:
      """
      {session}  [1 message]  planner session
      """

  Scenario: When the first session of a family was deleted, the tree starts at its first fork
    Given the session "planner" with 4 messages
    And its session was forked at message 3 as "Route B"
    And the fork "Route B" was forked at message 2 as "Route B, shorter"
    And its session was deleted
    When I run "agent-sessions --url {database} sessions tree {Route B, shorter}"
    Then the output is the tree:
      """
      {Route B}  [forked from {session} at 3, 3 messages]  Route B
      └── {Route B, shorter}  [forked at 2, 2 messages]  Route B, shorter
      """

  Scenario: A hostile title stays on its line of the tree, escaped
    Given the session "planner" with 3 messages
    And its session was forked at message 1 as "Route\nB\x1b[2J\u202egnp.exe"
    When I run "agent-sessions --url {database} sessions tree {session}"
    Then the output is the tree:
      """
      {session}  [3 messages]  planner session
      └── {Route\nB\x1b[2J\u202egnp.exe}  [forked at 1, 1 message]  Route\nB\x1b[2J\u202egnp.exe
      """
    And the output holds no control character

  Scenario: On an output encoded as ASCII the tree is drawn in ASCII
    Given the session "planner" with 4 messages
    And its session was forked at message 2 as "Café B"
    And its session was forked at message 3 as "Route C"
    When I run "agent-sessions --url {database} sessions tree {session}" on an output encoded as ASCII
    Then the output is the tree:
      """
      {session}  [4 messages]  planner session
      |-- {Café B}  [forked at 2, 2 messages]  Caf\xe9 B
      `-- {Route C}  [forked at 3, 3 messages]  Route C
      """

  Scenario: Rewinding two turns marks them in the transcript
    Given the session "planner" with 6 messages
    When I run "agent-sessions --url {database} sessions rewind {session} --to 4 --reason 'wrong tool'"
    Then the output says the session was rewound to message 4
    And its session's visible messages are 1 to 4
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the conversation marks messages 5, 6 as rewound by the rewind, and no other
    And the output shows "  actor planner, 6 messages (2 rewound)"

  Scenario: A hostile reason stays on its rewind's line, escaped
    Given the session "planner" with 3 messages
    And its session was rewound to message 1 because "wrong\ntool\x1b[2J\u202e"
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the rewind's line in the header ends with its reason escaped, "wrong\ntool\x1b[2J\u202e"
    And the output holds no control character

  Scenario: The transcript as JSON names the rewind that hid each message
    Given the session "planner" with 4 messages
    And its session was rewound to message 2
    When I run "agent-sessions --url {database} sessions show {session} --json"
    Then the JSON messages 3, 4 name the rewind in rewound_by, and the others null
    And the JSON rewinds are the session's one rewind

  Scenario: Undoing the rewind shows the messages again, once
    Given the session "planner" with 6 messages
    And its session was rewound to message 2
    When I run "agent-sessions --url {database} sessions rewind {session} --undo"
    Then the output shows "are visible again"
    And its session's visible messages are 1 to 6
    When I run "agent-sessions --url {database} sessions rewind {session} --undo"
    Then the command fails with one error line saying "has no rewind to undo"

  Scenario: An undone rewind stays listed, with when it was undone
    Given the session "planner" with 4 messages
    And its session was rewound to message 2
    When I run "agent-sessions --url {database} sessions rewind {session} --undo --json"
    Then the JSON rewind is the session's rewind, undone
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the rewind's line in the header says when it was undone, and no reason
    And the conversation marks no message

  Scenario: A rewind cannot be undone after messages were appended past it
    Given the session "planner" with 4 messages
    And its session was rewound to message 2
    And a message was appended to its session
    When I run "agent-sessions --url {database} sessions rewind {session} --undo"
    Then the command fails with one error line saying "nothing was undone"
    And its session's visible messages are 1, 2, 5

  Scenario: Rewinding to the last message rewinds nothing
    Given the session "planner" with 3 messages
    When I run "agent-sessions --url {database} sessions rewind {session} --to 3"
    Then the output shows "no visible message after message 3: nothing to rewind"
    When I run "agent-sessions --url {database} sessions rewind {session} --to 3 --json"
    Then the output is exactly "null"

  Scenario: Compacting the first four messages from a summary file
    Given the session "planner" with 6 messages
    And the summary file "{file}" holds "Kyoto in April.\nTrain\x1b[2J passes bought."
    When I run "agent-sessions --url {database} sessions compact {session} --through 4 --summary-file {file} --token-count 12"
    Then the output says the session was compacted through message 4
    And the model's context of its session is the summary, then messages 5, 6
    When I run "agent-sessions --url {database} sessions show {session}"
    Then the conversation marks messages 1 to 4 as compacted by the compaction, and no other
    And the summary follows message 4, escaped, its second line under its first

  Scenario: Compacting with the summary on standard input, as JSON
    Given the session "planner" with 4 messages
    And the summary "They chose April." is on standard input
    When I run "agent-sessions --url {database} sessions compact {session} --through 2 --summary-file - --json"
    Then the JSON compaction stands for messages up to 2 with the summary "They chose April."

  Scenario: The summary of a whole conversation follows its last message
    Given the session "planner" with 2 messages
    And the summary "All of it." is on standard input
    When I run "agent-sessions --url {database} sessions compact {session} --through 2 --summary-file -"
    And I run "agent-sessions --url {database} sessions show {session}"
    Then the conversation marks messages 1, 2 as compacted by the compaction, and no other
    And the last line is the summary "All of it."

  Scenario: A compaction that would leave a tool result first ends before its call
    Given the session "planner" with messages from user, assistant, tool, tool, assistant
    And the summary file "{file}" holds "The user asked; a tool answered."
    When I run "agent-sessions --url {database} sessions compact {session} --through 3 --summary-file {file}"
    Then the output shows "through message 1 by compaction"
    And the output shows "(not 3: the messages after a summary must not start with a tool result)"

  Scenario Outline: Bad arguments print one line naming the argument and exit with status 1
    Given the session "planner" with 4 messages
    And the summary file "{file}" holds <summary>
    When I run "agent-sessions --url {database} <command>"
    Then the command fails with one error line saying "<error>"

    Examples:
      | command                                                                       | summary                  | error                                               |
      | sessions fork {session} --at 5                                                | "fine"                   | invalid --at                                        |
      | sessions fork {session} --at -1                                               | "fine"                   | invalid --at                                        |
      | sessions fork {session} --actor '  '                                          | "fine"                   | invalid --actor                                     |
      | sessions rewind {session} --to 9                                              | "fine"                   | invalid --to                                        |
      | sessions rewind {session} --undo --reason why                                 | "fine"                   | invalid --reason                                    |
      | sessions compact {session} --through 0 --summary-file {file}                  | "fine"                   | invalid --through                                   |
      | sessions compact {session} --through 2 --summary-file {file}                  | "   "                    | invalid --summary-file: must not be empty or blank  |
      | sessions compact {session} --through 2 --summary-file {file}                  | bytes that are not UTF-8 | is not UTF-8 text: invalid start byte at byte 3     |
      | sessions compact {session} --through 2 --summary-file {file}.missing          | "fine"                   | No such file or directory                           |
      | sessions compact {session} --through 2 --summary-file {file}                  | 7 MiB and one byte       | is larger than 7340032 bytes                        |
      | sessions compact {session} --through 2 --summary-file {file} --token-count -1 | "fine"                   | invalid --token-count                               |
      | sessions tree 01ARZ3NDEKTSV4RRFFQ69G5FAV                                      | "fine"                   | session '01ARZ3NDEKTSV4RRFFQ69G5FAV' does not exist |
      | sessions list --forked-from nope                                              | "fine"                   | invalid --forked-from                               |
