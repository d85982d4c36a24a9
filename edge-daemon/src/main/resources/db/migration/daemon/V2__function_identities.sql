-- The unprivileged uid each function runs as, kept across restarts so file ownership stays meaningful.
CREATE TABLE function_identities (
    function    TEXT    PRIMARY KEY,
    uid         INTEGER NOT NULL UNIQUE
);
