package dev.bramble.daemon.store;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * One transaction on a connection, whose failure is the error that caused it. SQLite rolls a transaction back by
 * itself on some errors (SQLITE_FULL on a full disk): the rollback after it, and sqlite-jdbc's end of the
 * transaction, then fail with "no transaction is active", which must not replace the cause.
 */
public final class Transactions {
    private Transactions() {
    }

    /** Work inside a transaction. */
    @FunctionalInterface
    public interface Work {
        void run() throws SQLException;
    }

    /** Runs {@code work} and commits; on any failure, an Error included, rolls back and rethrows that failure. */
    public static void run(Connection c, Work work) throws SQLException {
        c.setAutoCommit(false);
        try {
            work.run();
            c.commit();
        } catch (SQLException | RuntimeException | Error e) {
            // An Error too: leaving auto-commit below would otherwise commit the half that ran.
            try {
                c.rollback();
            } catch (SQLException alreadyRolledBack) {
                e.addSuppressed(alreadyRolledBack);
            }
            throw e;
        } finally {
            try {
                c.setAutoCommit(true);
            } catch (SQLException noTransactionLeft) {
                // the connection is in auto-commit mode either way
            }
        }
    }
}
