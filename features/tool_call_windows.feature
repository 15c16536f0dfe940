Feature: Tool-call windows
  A model API refuses a request whose first message is a tool result without the assistant turn
  that called the tool. So the most recent messages of a session never start with a tool result:
  when the oldest message asked for would be one, the window reaches back to the assistant
  message that made the calls, and holds more messages than were asked for.

  Scenario: A window whose oldest message would be a tool result reaches back to the call
    Given a conversation whose messages are user, assistant, tool, tool, tool
    When I read the 2 most recent messages
    Then I get the last 4 messages: assistant, tool, tool, tool

  Scenario Outline: A window that starts on a user or assistant message holds exactly n
    Given a conversation whose messages are user, assistant, tool, tool, assistant, user
    When I read the <n> most recent messages
    Then I get the last <n> messages: <roles>

    Examples:
      | n | roles                                  |
      | 1 | user                                   |
      | 2 | assistant, user                        |
      | 5 | assistant, tool, tool, assistant, user |

  Scenario: Many consecutive tool results are all kept with the call they answer
    Given a conversation of a user message, an assistant message and 40 tool results
    When I read the 3 most recent messages
    Then I get the last 41 messages, the first of them the assistant message

  Scenario: A session that starts with tool results is read from its first message
    Given a conversation whose messages are tool, tool, tool, assistant
    When I read the 2 most recent messages
    Then I get the last 4 messages: tool, tool, tool, assistant

  Scenario: Asking for more messages than the session holds gives them all
    Given a conversation whose messages are user, assistant, tool
    When I read the 10 most recent messages
    Then I get the last 3 messages: user, assistant, tool

  Scenario: The context a model is sent never starts on a tool result either
    Given a conversation whose messages are user, assistant, tool, tool, tool
    When I read the context messages with a limit of 2
    Then I get the last 4 messages: assistant, tool, tool, tool

  Scenario: After a rewind, a window reads the visible messages only and reaches back over them
    Given a conversation whose messages are user, assistant, tool, user, assistant, tool, tool
    And the session was rewound to sequence 3
    And a tool result was appended to the session after the rewind
    When I read the 1 most recent messages
    Then I get the messages at the sequences 2, 3, 8: assistant, tool, tool
