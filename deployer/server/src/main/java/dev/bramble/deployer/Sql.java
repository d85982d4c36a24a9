package dev.bramble.deployer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** The few JDBC shapes the fleet's parts use, and the names and tags they all check. */
final class Sql {
    static final ObjectMapper JSON = JsonMapper.builder().build();
    /** Names of signers, devices, groups, tag keys and aliases. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private Sql() {
    }

    static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement s = c.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            s.setObject(i + 1, args[i]);
        }
        return s;
    }

    static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args)) {
            return s.executeUpdate();
        }
    }

    static List<Map<String, Object>> rows(Connection c, String sql, Object... args) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= n; i++) {
                    row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    static Optional<Map<String, Object>> row(Connection c, String sql, Object... args) throws SQLException {
        List<Map<String, Object>> r = rows(c, sql, args);
        return r.isEmpty() ? Optional.empty() : Optional.of(r.getFirst());
    }

    /** How many keys one {@code IN (?, ...)} carries: well under SQLite's and PostgreSQL's bind limits. */
    static final int CHUNK = 500;

    interface ChunkWork {
        void run(List<String> chunk, String marks) throws SQLException;
    }

    /**
     * Runs {@code work} once per {@link #CHUNK} keys with {@code (?, ?, ...)} for them, so a change to thousands of
     * rows is a few statements rather than thousands of round trips.
     */
    static void chunked(List<String> keys, ChunkWork work) throws SQLException {
        for (int i = 0; i < keys.size(); i += CHUNK) {
            List<String> chunk = keys.subList(i, Math.min(keys.size(), i + CHUNK));
            work.run(chunk, chunk.stream().map(k -> "?").collect(Collectors.joining(", ", "(", ")")));
        }
    }

    /** {@code first}, then {@code rest}, as one argument array. */
    static Object[] args(List<?> rest, Object... first) {
        Object[] out = java.util.Arrays.copyOf(first, first.length + rest.size());
        for (int i = 0; i < rest.size(); i++) {
            out[first.length + i] = rest.get(i);
        }
        return out;
    }

    /** One statement run for each row of arguments, sent as JDBC batches. */
    static void batch(Connection c, String sql, List<Object[]> rows) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            int n = 0;
            for (Object[] row : rows) {
                for (int i = 0; i < row.length; i++) {
                    s.setObject(i + 1, row[i]);
                }
                s.addBatch();
                if (++n % CHUNK == 0) {
                    s.executeBatch();
                }
            }
            s.executeBatch();
        }
    }

    static long number(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }

    static Integer integerOrNull(Object o) {
        return o == null ? null : ((Number) o).intValue();
    }

    /** {@code ('a', 'b')} of enum wire names, for {@code state IN ...}; the names are the code's own, never input. */
    static String in(Collection<? extends Enum<?>> states) {
        return states.stream().map(s -> "'" + s.name().toLowerCase(java.util.Locale.ROOT) + "'")
                .collect(Collectors.joining(", ", "(", ")"));
    }

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value instanceof Map<?, ?> m ? new TreeMap<>(m) : value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, String> tags(String json) {
        try {
            return json == null ? Map.of() : JSON.readValue(json, new TypeReference<TreeMap<String, String>>() {
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw ApiError.badRequest(what + " '" + name + "' is not allowed; use 1 to 64 letters, digits, '.', '-' "
                    + "or '_'");
        }
    }
}
