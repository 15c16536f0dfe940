*** Settings ***
Documentation       Session persistence against a real database: reopening the store, export and
...                 import, deletion and the schema check. Concurrent writers are proven in
...                 separate processes by concurrency.robot; the service's contract (tampered
...                 imports, gapless appends from threads) by the conformance kit.

Resource            session_persistence.resource


*** Test Cases ***
Round Trip Survives Reopening The Store
    ${session_id}=    Create Session    support-bot    title=Printer trouble
    Append Message    ${session_id}    system    You are a helpful assistant.
    Append Message    ${session_id}    user    My printer is offline.
    Append Message    ${session_id}    assistant    Have you tried turning it on?    token_count=${9}
    Reopen Session Store
    ${session}=    Get Session    ${session_id}
    Should Be Equal    ${session.actor_name}    support-bot
    Should Be Equal    ${session.title}    Printer trouble
    Session Should Have Message Count    ${session_id}    3
    Message Contents Should Be    ${session_id}
    ...    You are a helpful assistant.    My printer is offline.    Have you tried turning it on?
    ${messages}=    Get Messages    ${session_id}
    Should Be Equal    ${messages[0].role.value}    system
    Should Be Equal    ${messages[2].role.value}    assistant
    Should Be Equal As Integers    ${messages[2].token_count}    9

Export Then Import Gives Fresh Ids And The Same Content
    ${session_id}=    Create Session With Messages    export-bot    hello    how are you?
    Append Message    ${session_id}    assistant    Fine, thanks. ✓    token_count=${4}
    Add Token Usage    ${session_id}    prompt_tokens=${12}    completion_tokens=${4}
    ${document}=    Export Session    ${session_id}
    Should Be Equal    ${document}[format]    agent-sessions/export
    Should Be Equal As Integers    ${document}[schema_version]    3
    Export Checksum Should Be Valid    ${document}
    ${copy_id}=    Import Session    ${document}
    Should Not Be Equal    ${copy_id}    ${session_id}
    Imported Session Should Match Export    ${copy_id}    ${document}
    Session Tokens Should Be    ${copy_id}    12    4

Deleting A Session Removes Its Messages
    ${session_id}=    Create Session With Messages    delete-bot    one    two
    ${keeper_id}=    Create Session With Messages    delete-bot    stays
    Delete Session    ${session_id}
    Session Should Not Exist    ${session_id}
    Session Should Have Message Count    ${keeper_id}    1

Opening An Unmigrated Database Names The Upgrade Command
    ${message}=    Open Unmigrated Database Should Fail
    Should Contain    ${message}    agent-sessions
    Should Contain    ${message}    db upgrade
    Should Contain    ${message}    migrate=True
