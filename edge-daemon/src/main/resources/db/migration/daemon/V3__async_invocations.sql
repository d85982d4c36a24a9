-- Asynchronous invocations (Invoke API Event, MQTT, schedules) wait here until they succeed or run out of
-- attempts; a row is deleted only once its invocation has ended one way or the other.
CREATE TABLE async_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  TEXT    NOT NULL,
    function    TEXT    NOT NULL,
    qualifier   TEXT,
    source      TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    reply       TEXT,
    enqueued_at INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    last_error  TEXT
);
CREATE INDEX async_queue_due ON async_queue (next_at, id);
CREATE INDEX async_queue_source ON async_queue (source);

-- Events that ran out of attempts or grew too old: the on-failure destination every function has.
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  TEXT    NOT NULL,
    function    TEXT    NOT NULL,
    qualifier   TEXT,
    source      TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    reason      TEXT    NOT NULL,
    error       TEXT,
    attempts    INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    failed_at   INTEGER NOT NULL
);
CREATE INDEX dead_letters_function ON dead_letters (function, id);

-- When each schedule last ran (or decided not to), so a restart knows which runs it missed.
CREATE TABLE schedule_runs (
    function    TEXT    NOT NULL,
    trigger     TEXT    NOT NULL,
    last_run    INTEGER NOT NULL,
    PRIMARY KEY (function, trigger)
);
