*** Settings ***
Documentation       File events, external ids and exports against a real database of the
...                 run's backend: a stored version 1 document still imports, racing processes
...                 share one session per external id, and deleting a session deletes its events.

Library             helper_file_events.py    ${BACKEND}

Suite Setup         Open File Events Store
Suite Teardown      Close File Events Store


*** Variables ***
${BACKEND}      postgresql
${RACERS}       4
${IDS}          50
${ROUNDS}       3


*** Test Cases ***
A Stored Version 1 Document Imports And Exports As Version 3
    ${document}=    Version 1 Document    archive-bot    Where is the config?    In ~/.config/ünï.toml
    ...    Please fix the parser.    Done: parser.py now handles ✓ and tabs.
    ${session_id}=    Import Session    ${document}
    Session Should Hold The Document    ${session_id}    ${document}
    ${export}=    Export Session    ${session_id}
    Should Be Equal As Integers    ${export}[schema_version]    3
    Should Be Empty    ${export}[file_events]
    Should Be Equal    ${export}[session][external_id]    ${None}
    Export Should Be The Document In Version 3    ${export}    ${document}
    Record File Events Of Every Type    ${session_id}    count=9
    ${version_3}=    Export Session    ${session_id}
    Length Should Be    ${version_3}[file_events]    9
    ${copy_id}=    Import Session    ${version_3}    on_conflict=new_external_id
    Exports Should Be Equal Apart From Ids    ${copy_id}    ${version_3}

An Export Whose External Id Is Taken Imports Only As A Copy Without It
    ${session_id}=    Get Or Create Session    host-bot    opencode-ses-42
    Append Messages    ${session_id}    Rename the module.    Renamed it.
    Record File Events Of Every Type    ${session_id}
    ${document}=    Export Session    ${session_id}
    Should Be Equal    ${document}[session][external_id]    opencode-ses-42
    ${message}=    Import Should Be Refused    ${document}
    Should Contain    ${message}    external_id
    ${copy_id}=    Import Session    ${document}    on_conflict=new_external_id
    Session External Id Should Be    ${copy_id}    ${None}
    Exports Should Be Equal Apart From Ids    ${copy_id}    ${document}    external_id
    External Id Should Name    host-bot    opencode-ses-42    ${session_id}

Racing Processes Get Or Create One Session
    ${results}=    Run Get Or Create Processes    racer    ${RACERS}    ${IDS}    ${ROUNDS}
    ${agreed}=    Every Process Should Have Seen One Session Per External Id    ${results}    ${IDS}
    Each External Id Should Have Exactly One Session    racer    ${agreed}
    Stored Sessions Should Verify

Deleting A Session Removes Its File Events
    ${session_id}=    Session With Messages    delete-bot    Edit three files.    Edited them.
    Record File Events Of Every Type    ${session_id}    count=7
    ${keeper_id}=    Session With Messages    delete-bot    Read one file.
    Record File Events Of Every Type    ${keeper_id}    count=2
    ${before}=    Count File Event Rows
    ${rows}=    Count File Event Rows    ${session_id}
    Should Be Equal As Integers    ${rows}    7
    Delete Session    ${session_id}
    ${rows}=    Count File Event Rows    ${session_id}
    Should Be Equal As Integers    ${rows}    0
    ${after}=    Count File Event Rows
    Should Be Equal As Integers    ${after}    ${before - 7}
    ${rows}=    Count File Event Rows    ${keeper_id}
    Should Be Equal As Integers    ${rows}    2
