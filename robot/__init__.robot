*** Settings ***
Documentation       Integration suites of agent-sessions against a real database of the backend
...                 given by ``--variable BACKEND:sqlite|postgresql|mariadb`` (default postgresql).
...                 The set-up provisions a throwaway database, migrated to head; the teardown
...                 drops it.

Resource            session_persistence.resource

Suite Setup         Open Session Store
Suite Teardown      Close Session Store
