-- Saved test events, as Lambda's console keeps them: up to ten per function, by name, the event as JSON text.
CREATE TABLE test_events (
    function    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (function, name)
);
