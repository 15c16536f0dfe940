Feature: Owners: whose session it is, and finding an owner's sessions
  A platform stores sessions for many end users or tenants. A session may carry an owner, a
  name the caller chooses, set when the session is created. The listing filters by owner, actor,
  external id, creation and last activity (strict bounds) and forked-from, and pages through
  any filter with its cursor.

  Scenario: A session created for an owner carries it, and one created without has none
    When I create a session for actor "support-bot" owned by "user-42"
    Then the session belongs to "user-42"
    And fetching the session by its id returns the same session
    When I create a session for actor "support-bot"
    Then the session belongs to no owner

  Scenario: get_or_create keeps the owner the session was created with
    When I get or create the session "ticket-7" of actor "support-bot" for owner "user-42"
    And I get or create the session "ticket-7" of actor "support-bot" for owner "user-99"
    Then both calls return the same session
    And the session belongs to "user-42"

  Scenario: Listing by owner returns that owner's sessions only, newest first
    Given these sessions were created in this order, with owners:
      | title   | actor  | owner |
      | a1      | bot    | alice |
      | b1      | bot    | bob   |
      | a2      | helper | alice |
      | nobodys | bot    |       |
    When I list the sessions owned by "alice"
    Then the listed titles are "a2, a1"
    When I list the sessions owned by "carol"
    Then no session is listed

  Scenario: The owner filter combines with the actor, the external id and forked-from
    # A fork belongs to the owner of the session it was forked from.
    Given these sessions were created in this order, with owners:
      | title | actor  | owner | external id |
      | a1    | bot    | alice | t-1         |
      | a2    | helper | alice | t-1         |
      | b1    | agent  | bob   | t-1         |
    And "a1" was forked as "a1 fork" and "b1" was forked as "b1 fork"
    When I list the sessions owned by "alice" of actor "bot"
    Then the listed titles are "a1 fork, a1"
    When I list the sessions owned by "alice" with external id "t-1"
    Then the listed titles are "a2, a1"
    When I list the sessions with external id "t-1"
    Then the listed titles are "b1, a2, a1"
    When I list the forks of "b1" owned by "bob"
    Then the listed titles are "b1 fork"

  Scenario: Creation and activity ranges exclude their bounds
    Given these sessions were created in this order, with owners:
      | title  | actor | owner |
      | first  | bot   | alice |
      | middle | bot   | alice |
      | last   | bot   | alice |
    And a message was appended to "first" after "last" was created
    When I list the sessions owned by "alice" created after "first" and before "last" was created
    Then the listed titles are "middle"
    When I list the sessions owned by "alice" last active after "last" was created
    Then the listed titles are "first"
    When I list the sessions owned by "alice" last active before "last" was created
    Then the listed titles are "middle"

  Scenario: Paging through one owner's sessions by cursor lists each once, without gaps
    Given 23 sessions owned by "alice" and 10 owned by "bob" were created alternately
    When I list the sessions owned by "alice" 5 at a time by following next_cursor
    Then together the pages list the 23 sessions of "alice", newest first, each once
    And the pages hold 5, 5, 5, 5 and 3 sessions

  Scenario Outline: A hostile owner id is refused, and nothing is stored
    When I try to create a session with owner_id set to <value>
    Then the call is refused with InvalidInputError naming "owner_id"
    And no session is stored
    When I try to list sessions with owner_id set to <value>
    Then the call is refused with InvalidInputError naming "owner_id"

    Examples:
      | value                         |
      | a blank string                |
      | an empty string               |
      | 256 characters                |
      | a string with a NUL character |
      | a lone surrogate              |
      | a number                      |

  Scenario: An owner id of 255 characters is kept whole
    When I create a session for actor "support-bot" owned by an owner id of 255 characters
    Then fetching the session by its id returns the same session
    And listing by that owner finds the session

  Scenario Outline: A range bound without a timezone is refused, naming the bound
    When I try to list sessions with <bound> set to a naive datetime
    Then the call is refused with InvalidInputError naming "<bound>"

    Examples:
      | bound          |
      | created_after  |
      | created_before |
      | updated_after  |
      | updated_before |
