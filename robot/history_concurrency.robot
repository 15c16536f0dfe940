*** Settings ***
Documentation       Forks, rewinds, compactions and optimistic appends in separate OS processes,
...                 against one session of the run's backend while other processes append to it:
...                 each runs under the session's row lock, so the transcript stays gapless, no
...                 acknowledged append is lost or doubled, every fork is a copy of its parent's
...                 visible history at its point, and of the optimistic writers that expect the
...                 same end exactly one appends.

Library             helper_history_concurrency.py    ${BACKEND}

Suite Setup         Open History Store
Suite Teardown      Close History Store


*** Variables ***
${BACKEND}      postgresql
${APPEND}       append 50
${HISTORY}      history 10 150
${TARGET}       40


*** Test Cases ***
Three Appending Processes And One That Forks, Rewinds And Compacts Lose Nothing
    ${session}=    Create Session With Messages    10
    Run Workers On Session    ${session}    ${APPEND}    ${APPEND}    ${APPEND}    ${HISTORY}
    Store Should Verify Clean
    Transcript Should Be Gapless    ${session}
    Every Acknowledged Append Should Be Stored Once    ${session}
    ${forks}=    Every Fork Should Copy Its Parents Visible History At Its Point    ${session}
    Should Be Equal As Integers    ${forks}    10

Four Processes Appending Optimistically Win Each Sequence Exactly Once
    ${session}=    Create Session With Messages
    Run Workers On Session    ${session}
    ...    optimistic ${TARGET}    optimistic ${TARGET}    optimistic ${TARGET}    optimistic ${TARGET}
    Each Sequence Should Have Exactly One Winner    ${session}    ${TARGET}
    Transcript Should Be Gapless    ${session}
    Store Should Verify Clean
