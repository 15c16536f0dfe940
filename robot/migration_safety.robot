*** Settings ***
Documentation       The edited-migration incident, on the run's backend: a released revision
...                 is edited in place; databases built before and after the edit are refused
...                 with precise messages; an amendment plus a reconcile revision brings both to
...                 the same schema, and the drift doctor is clean on each.

Library             helper_migration_safety.py    ${BACKEND}

Suite Teardown      Close Migration Safety Suite


*** Variables ***
${BACKEND}      postgresql
${FILE}         versions/0001_session_persistence.py


*** Test Cases ***
An Edited Released Revision Is Refused At Start And Fixed Forward
    Prepare A Released Migration Tree
    Build Database    stale
    Edit The Released Revision In Place
    Build Database    fresh
    Lock Check Should Name    ${FILE}
    Opening Should Be Refused    stale    SchemaDriftError    session_messages.token_count
    ...    agent-sessions db doctor
    Opening Should Be Refused    fresh    MigrationHistoryError    0001_session_persistence
    ...    edited after it was applied    reconcile
    Amend The Released Revision    added token_count in place; reconciled by 0003
    Add The Reconcile Revision    0099_reconcile_token_count
    Upgrade Database    stale
    Upgrade Database    fresh
    Doctor Should Be Clean    stale
    Doctor Should Be Clean    fresh
    Schemas Should Be Equal    stale    fresh
    Service Should Store Token Counts In    stale
    Service Should Store Token Counts In    fresh
