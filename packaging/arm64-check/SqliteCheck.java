import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * Opens, writes and reads a SQLite database through sqlite-jdbc, as brambled does (WAL, synchronous FULL), and
 * prints which native library the driver loaded. Compiled for Java 17 so an emulated arm64 JDK 17 can run it.
 */
public class SqliteCheck {
    public static void main(String[] args) throws Exception {
        Path db = Path.of(args[0]);
        Files.deleteIfExists(db);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement s = c.createStatement()) {
            s.execute("PRAGMA journal_mode = WAL");
            s.execute("PRAGMA synchronous = FULL");
            s.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor TEXT, celsius REAL)");
            c.setAutoCommit(false);
            try (PreparedStatement p = c.prepareStatement("INSERT INTO readings (sensor, celsius) VALUES (?, ?)")) {
                for (int i = 0; i < 1000; i++) {
                    p.setString(1, "sensor-" + (i % 10));
                    p.setDouble(2, 20 + i % 7);
                    p.addBatch();
                }
                p.executeBatch();
            }
            c.commit();
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*), SUM(celsius), sqlite_version() FROM readings")) {
                rs.next();
                System.out.println("rows=" + rs.getInt(1) + " sum=" + rs.getDouble(2) + " sqlite=" + rs.getString(3));
                if (rs.getInt(1) != 1000 || rs.getDouble(2) != 22_997.0) {
                    throw new IllegalStateException("read back the wrong data");
                }
            }
            try (ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
                rs.next();
                System.out.println("journal_mode=" + rs.getString(1));
            }
        }
        System.out.println("os.arch=" + System.getProperty("os.arch") + " java=" + System.getProperty("java.version")
                + " native=" + org.sqlite.SQLiteJDBCLoader.getVersion() + " loaded="
                + org.sqlite.SQLiteJDBCLoader.isNativeMode());
    }
}
