Feature: Database passwords stay secret
  A password in a database URL never appears in a log line, an error message or the errors it
  was raised from, a repr, or the output of the command line. Where the URL is shown, "***"
  stands for the password. Every scenario records every log record of every logger at DEBUG
  level and looks for both halves of the password "s3cr3t-P4ss" in all of it.

  Scenario Outline: A server that cannot be reached
    When I open a service on "<url>"
    Then opening fails with an error that shows the URL with "***"
    And no part of the password appears anywhere

    Examples:
      | url                                                              |
      | postgresql://operator:s3cr3t-P4ss@127.0.0.1:1/sessions           |
      | mysql://operator:s3cr3t-P4ss@127.0.0.1:1/sessions                |
      | postgresql://operator:s3cr3t@P4ss@127.0.0.1:1/sessions           |
      | postgresql://operator@127.0.0.1:1/sessions?password=s3cr3t-P4ss  |
      | postgresql://operator:s3cr3t%2DP4ss@127.0.0.1:1/sessions         |

  Scenario: A URL that cannot be parsed
    When I open a service on "postgresql://operator:s3cr3t-P4ss@127.0.0.1:port/sessions"
    Then opening fails with an invalid input error about the url
    And no part of the password appears anywhere

  Scenario Outline: The command line on a server that cannot be reached
    When I run agent-sessions with "--url postgresql://operator:s3cr3t-P4ss@127.0.0.1:1/x <command>"
    Then the command fails with one line that shows the URL with "***"
    And no part of the password appears anywhere

    Examples:
      | command       |
      | db current    |
      | db check      |
      | db upgrade    |
      | sessions list |
      | demo          |

  Scenario: A database that is not migrated yet
    Given an empty database reached with the password "s3cr3t-P4ss"
    When I open a service on it
    Then opening fails with an error that shows the URL with "***"
    And no part of the password appears anywhere

  Scenario: Migrating, recording and showing a service
    Given an empty database reached with the password "s3cr3t-P4ss"
    When I open a service on it with migrate
    And I record a session with 2 messages through it
    Then the repr and str of the service show the URL with "***"
    And no part of the password appears anywhere

  Scenario: Retrying while another connection holds the session's row lock
    Given a migrated database reached with the password "s3cr3t-P4ss" and a session in it
    And another connection holds the lock on that session
    When I append a message with a lock timeout of 1 second and 2 attempts
    Then the append fails with an error that shows the URL with "***"
    And a retry was logged
    And no part of the password appears anywhere

  Scenario: The command line on a database reached with a password
    Given an empty database reached with the password "s3cr3t-P4ss"
    When I run agent-sessions on it with each of "db current", "db check", "db upgrade", "sessions list", "demo"
    Then the outputs of "db check", "db upgrade" and "demo" show the URL with "***"
    And no part of the password appears anywhere

  Scenario: A wrong password where the server checks passwords
    Given a database server that checks passwords
    When I open a service on it as its admin with the wrong password "s3cr3t-P4ss"
    Then opening fails with an error that shows the URL with "***"
    And no part of the password appears anywhere
