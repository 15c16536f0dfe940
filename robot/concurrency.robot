*** Settings ***
Documentation       Writers in separate OS processes against one database of the run's backend:
...                 sequences stay gapless and unique, counters and token totals stay exact.

Library             helper_concurrency.py    ${BACKEND}

Suite Setup         Open Concurrency Store
Suite Teardown      Close Concurrency Store


*** Variables ***
${BACKEND}      postgresql
${APPEND}       append 250
${TOKENS}       tokens 250


*** Test Cases ***
Four Appending And Four Token Processes Share One Session Without Losing Anything
    ${session}=    Create Shared Session
    Run Writer Processes
    ...    ${APPEND} ${session}    ${APPEND} ${session}    ${APPEND} ${session}    ${APPEND} ${session}
    ...    ${TOKENS} ${session}    ${TOKENS} ${session}    ${TOKENS} ${session}    ${TOKENS} ${session}
    Sequences Should Be Exactly    ${session}    1000
    Session Counters Should Be    ${session}    message_count=1000    prompt_tokens=1000
    ...    completion_tokens=2000
    Updated At Should Not Precede The Last Message    ${session}
    Message Times Should Never Go Backwards    ${session}

Four Processes Append To Fifty Sessions At Once
    @{sessions}=    Create Sessions    50
    ${ids}=    Catenate    @{sessions}
    Run Writer Processes
    ...    spread 5 ${ids}    spread 5 ${ids}    spread 5 ${ids}    spread 5 ${ids}
    Every Session Should Have Exactly    ${sessions}    20

Ten Application Replicas Starting At Once Migrate Exactly Once
    ${url}=    Provision Empty Database
    ${applied}=    Start Migrating Processes    ${url}    10
    Exactly One Process Should Have Applied
    ...    ${applied}    0001_session_persistence,0002_token_usage_receipts,0003_file_events_external_ids,0004_forks_rewinds_compactions,0005_owners_and_holds
    Ledger Should Record Each Revision Once
    ...    ${url}    0001_session_persistence    0002_token_usage_receipts    0003_file_events_external_ids
    ...    0004_forks_rewinds_compactions    0005_owners_and_holds
