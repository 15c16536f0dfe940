*** Settings ***
Documentation       Session persistence against a real database: round trip, ordering,
...                 export and import, token tracking, deletion and the schema check.

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

Messages Keep A Gapless Order Under Concurrent Appends
    ${session_id}=    Create Session With Messages    order-bot    first    second    third
    Message Sequences Should Be Contiguous    ${session_id}    3
    Append Messages Concurrently    ${session_id}    threads=8    per_thread=25
    Message Sequences Should Be Contiguous    ${session_id}    203
    Session Should Have Message Count    ${session_id}    203

Export Then Import Gives Fresh Ids And The Same Content
    ${session_id}=    Create Session With Messages    export-bot    hello    how are you?
    Append Message    ${session_id}    assistant    Fine, thanks. ✓    token_count=${4}
    Add Token Usage    ${session_id}    prompt_tokens=${12}    completion_tokens=${4}
    ${document}=    Export Session    ${session_id}
    Should Be Equal    ${document}[format]    agent-sessions/export
    Should Be Equal As Integers    ${document}[schema_version]    2
    Export Checksum Should Be Valid    ${document}
    ${copy_id}=    Import Session    ${document}
    Should Not Be Equal    ${copy_id}    ${session_id}
    Imported Session Should Match Export    ${copy_id}    ${document}
    Session Tokens Should Be    ${copy_id}    12    4

A Tampered Export Is Rejected And Nothing Is Written
    ${session_id}=    Create Session With Messages    tamper-bot    keep me intact
    ${document}=    Export Session    ${session_id}
    ${tampered}=    Tamper With Export    ${document}
    ${before}=    Count Sessions
    ${message}=    Import Should Be Rejected    ${tampered}
    Should Contain    ${message}    checksum
    ${after}=    Count Sessions
    Should Be Equal As Integers    ${after}    ${before}

Token Usage Accumulates Exactly Under Concurrency
    ${session_id}=    Create Session    token-bot
    Session Tokens Should Be    ${session_id}    0    0
    ${session}=    Add Token Usage    ${session_id}    prompt_tokens=${100}    completion_tokens=${20}
    Should Be Equal As Integers    ${session.total_tokens}    120
    Add Token Usage    ${session_id}    prompt_tokens=${5}
    Session Tokens Should Be    ${session_id}    105    20
    Add Token Usage Concurrently    ${session_id}    threads=8    updates_per_thread=25
    ...    prompt_tokens=${3}    completion_tokens=${2}
    Session Tokens Should Be    ${session_id}    705    420

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
