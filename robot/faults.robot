*** Settings ***
Documentation       Faults injected while the library writes: connections killed every 50 ms, a
...                 server restart, a SQLite write lock held by another process, a writer killed
...                 with SIGKILL. Every append returns (or fails with a clear error when the
...                 fault outlasts the retry policy), and no message is lost or stored twice.
...                 A test of another backend than the run's is skipped with its reason.

Library             helper_faults.py    ${BACKEND}

Test Teardown       Clean Up Faults


*** Variables ***
${BACKEND}      postgresql


*** Test Cases ***
Appends Survive PostgreSQL Terminating Every Connection Every 50 ms
    [Tags]    postgresql
    Require Backend    postgresql
    Open Fault Store    attempts=20    total_seconds=60
    ${session}=    Create Session For Faults
    Start Connection Killer    every_ms=50
    Append From Threads    ${session}    threads=4    total=2000
    Stop Connection Killer
    Connections Should Have Been Killed
    Retries Should Have Been Logged
    Every Append Should Have Returned Normally    2000
    Session Should Verify Clean    ${session}    2000
    Stored Messages Should Be Exactly The Appended Ones    ${session}

Appends Survive MariaDB Killing Every Connection Every 50 ms
    [Tags]    mariadb
    Require Backend    mariadb
    Open Fault Store    attempts=20    total_seconds=60
    ${session}=    Create Session For Faults
    Start Connection Killer    every_ms=50
    Append From Threads    ${session}    threads=4    total=2000
    Stop Connection Killer
    Connections Should Have Been Killed
    Retries Should Have Been Logged
    Every Append Should Have Returned Normally    2000
    Session Should Verify Clean    ${session}    2000
    Stored Messages Should Be Exactly The Appended Ones    ${session}

The Same Service Carries On After A PostgreSQL Server Restart
    [Tags]    postgresql
    Require Backend    postgresql
    Open Fault Store On A Private PostgreSQL Server    attempts=100    total_seconds=60
    ${session}=    Create Session For Faults
    Start Appending In The Background    ${session}    threads=2
    Wait Until Background Appends Returned    100
    Restart The PostgreSQL Server    down_seconds=1.5
    Wait Until Background Appends Returned    100
    ${appended}=    Stop Appending In The Background
    Append Messages    ${session}    1
    Retries Should Have Been Logged
    Every Append Should Have Returned Normally
    Session Should Verify Clean    ${session}    ${appended + 1}
    Stored Messages Should Be Exactly The Appended Ones    ${session}

Appends Wait While Another Process Holds The SQLite Write Lock And Then Succeed
    [Tags]    sqlite
    Require Backend    sqlite
    Open Fault Store
    ${session}=    Create Session For Faults
    Start Holding The SQLite Write Lock    seconds=2
    The Database File Should Be Locked
    Append Messages    ${session}    3
    Session Should Verify Clean    ${session}    3
    Stored Messages Should Be Exactly The Appended Ones    ${session}

An Append Past Its Lock Bound Fails With A Clear Error And Writes Nothing
    [Tags]    sqlite
    Require Backend    sqlite
    Open Fault Store
    ${session}=    Create Session For Faults
    Open A Tightly Bounded Service    busy_timeout_ms=100    attempts=2    total_seconds=0.5
    Start Holding The SQLite Write Lock    seconds=2
    The Database File Should Be Locked
    Append Should Fail Because The Database Is Locked    ${session}    attempts=2
    Wait For The Lock Holder To Release
    Session Should Have No Messages    ${session}

A Writer Killed With SIGKILL Leaves A Gapless Prefix Of Its Appends
    [Tags]    sqlite    postgresql    mariadb
    Open Fault Store
    ${session}=    Create Session For Faults
    ${acknowledged}=    Kill A Writer Process In The Middle    ${session}    total=5000    kill_after=500
    Session Should Hold A Gapless Prefix    ${session}    ${acknowledged}
    IF    '${BACKEND}' == 'sqlite'    Sqlite Integrity Check Should Answer Ok
