-- One schema for SQLite and PostgreSQL: portable types, ${blob} for binary columns (BLOB or BYTEA).

-- Keys whose signatures the deployer accepts on uploads.
CREATE TABLE signers (
    key_id      VARCHAR(32)  PRIMARY KEY,
    name        VARCHAR(128) NOT NULL,
    public_key  TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL
);

-- Bundles by digest, in the database itself: replicas behind a load balancer share nothing else.
CREATE TABLE bundles (
    sha256      CHAR(64)     PRIMARY KEY,
    size        BIGINT       NOT NULL,
    content     ${blob}      NOT NULL,
    created_at  BIGINT       NOT NULL
);

CREATE TABLE versions (
    function    VARCHAR(64)  NOT NULL,
    version     INTEGER      NOT NULL,
    sha256      CHAR(64)     NOT NULL REFERENCES bundles (sha256),
    signature   TEXT         NOT NULL,
    key_id      VARCHAR(32)  NOT NULL,
    manifest    TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL,
    PRIMARY KEY (function, version)
);

CREATE TABLE aliases (
    function    VARCHAR(64)  NOT NULL,
    name        VARCHAR(128) NOT NULL,
    version     INTEGER      NOT NULL,
    PRIMARY KEY (function, name)
);

-- Enrolment tokens and device tokens are stored as SHA-256 hashes, never in clear.
CREATE TABLE enrolment_tokens (
    token_hash  CHAR(64)     PRIMARY KEY,
    grp         VARCHAR(64),
    tags        TEXT         NOT NULL,
    uses_left   INTEGER      NOT NULL,
    expires_at  BIGINT       NOT NULL
);

CREATE TABLE devices (
    id          VARCHAR(64)  PRIMARY KEY,
    name        VARCHAR(128) NOT NULL,
    token_hash  CHAR(64)     NOT NULL,
    grp         VARCHAR(64),
    tags        TEXT         NOT NULL,
    revision    BIGINT       NOT NULL,
    created_at  BIGINT       NOT NULL,
    last_seen   BIGINT,
    status      TEXT
);

-- Each device's desired state: which version of which function it should run; devices.revision counts changes.
CREATE TABLE desired (
    device      VARCHAR(64)  NOT NULL REFERENCES devices (id),
    function    VARCHAR(64)  NOT NULL,
    version     INTEGER      NOT NULL,
    deployment  VARCHAR(36),
    PRIMARY KEY (device, function)
);

CREATE TABLE deployments (
    id          VARCHAR(36)  PRIMARY KEY,
    function    VARCHAR(64)  NOT NULL,
    version     INTEGER      NOT NULL,
    target      VARCHAR(256) NOT NULL,
    canary      INTEGER      NOT NULL,
    max_failures INTEGER     NOT NULL,
    state       VARCHAR(16)  NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL
);

CREATE TABLE deployment_devices (
    deployment  VARCHAR(36)  NOT NULL REFERENCES deployments (id),
    device      VARCHAR(64)  NOT NULL REFERENCES devices (id),
    wave        INTEGER      NOT NULL,
    state       VARCHAR(16)  NOT NULL,
    previous    INTEGER,
    error_code  VARCHAR(32),
    error       TEXT,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (deployment, device)
);
CREATE INDEX deployment_devices_device ON deployment_devices (device);
