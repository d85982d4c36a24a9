-- Functions, their immutable versions and movable aliases.
CREATE TABLE functions (
    name        TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

CREATE TABLE versions (
    function    TEXT    NOT NULL REFERENCES functions (name),
    version     INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    manifest    BLOB    NOT NULL,  -- function.json as deployed
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (function, version)
);

CREATE TABLE aliases (
    function    TEXT    NOT NULL REFERENCES functions (name),
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (function, name),
    FOREIGN KEY (function, version) REFERENCES versions (function, version)
);

-- Function logs: START/END/REPORT lines and all output, per environment stream. Capped per function.
CREATE TABLE log_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    function    TEXT    NOT NULL,
    stream      TEXT    NOT NULL,
    request_id  TEXT,
    ts          INTEGER NOT NULL,  -- epoch milliseconds
    message     TEXT    NOT NULL
);
CREATE INDEX log_events_by_function ON log_events (function, id);
CREATE INDEX log_events_by_time ON log_events (function, ts);
