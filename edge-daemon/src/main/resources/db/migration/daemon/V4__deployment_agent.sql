-- Who this device is to its deployer: the id and token it got at enrolment (the file is the daemon's alone).
CREATE TABLE agent_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    deployer    TEXT    NOT NULL,
    device_id   TEXT    NOT NULL,
    token       TEXT    NOT NULL
);

-- A deployment the agent has begun and not ended: after a crash it is ended at the next start.
CREATE TABLE agent_work (
    function    TEXT    PRIMARY KEY,
    deployment  TEXT,
    sha256      TEXT    NOT NULL,
    previous    INTEGER,
    started_at  INTEGER NOT NULL
);
