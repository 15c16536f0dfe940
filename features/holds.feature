Feature: Holds: keeping a session from being removed
  A hold keeps a session while a reason stands (a legal hold, an open dispute): retention never
  removes a held session and erasing its owner is refused until the hold is released. A hold is
  not activity: setting or releasing one leaves the session's last activity where it was.

  Scenario: A held session says why and since when, and keeps its last activity
    Given a session of actor "support-bot"
    When I put the session under a hold for "legal hold 2026-114"
    Then the session is held for "legal hold 2026-114"
    And its updated_at has not moved

  Scenario: Holding again replaces the reason
    Given a session of actor "support-bot"
    When I put the session under a hold for "dispute"
    And I put the session under a hold for "legal hold"
    Then the session is held for "legal hold"

  Scenario: Releasing a hold leaves the session as it was, without a hold
    Given a session of actor "support-bot"
    When I put the session under a hold for "dispute"
    And I release the session's hold
    Then the session is not held
    And its updated_at has not moved

  Scenario: Releasing a session that is not held changes nothing
    Given a session of actor "support-bot"
    When I release the session's hold
    Then the session is not held
    And its updated_at has not moved

  Scenario Outline: A hold without a proper reason is refused, and the session stays free
    Given a session of actor "support-bot"
    When I try to hold the session with the reason set to <reason>
    Then the call is refused with InvalidInputError naming "reason"
    And the session is not held

    Examples:
      | reason                        |
      | an empty string               |
      | a blank string                |
      | None                          |
      | a number                      |
      | 4097 characters               |
      | a string with a NUL character |

  Scenario Outline: Holding or releasing a session that does not exist fails
    When I try to <call> for a session id that names nothing
    Then the call fails with SessionNotFoundError

    Examples:
      | call                  |
      | hold a session        |
      | release a hold        |
