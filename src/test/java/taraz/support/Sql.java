package taraz.support;

import taraz.db.Database;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** JDBC on the test gateway's database, for assertions that look behind the API. */
public final class Sql {

    private Sql() {
    }

    public static Connection connect() throws SQLException {
        return connect(TestGateway.get().pgUrl());
    }

    /** JDBC on another database, by its taraz URL (a database that child gateways share). */
    public static Connection connect(String pgUrl) throws SQLException {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        return DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password());
    }

    /** The first column of the first row, as a long (a count or a sum). */
    public static long count(String sql, Object... args) throws SQLException {
        try (Connection c = connect()) {
            return count(c, sql, args);
        }
    }

    /** The same on a connection of the test's own (a reconcile test's database). */
    public static long count(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
            if (!rs.next()) {
                throw new AssertionError("no row for " + sql);
            }
            return rs.getLong(1);
        }
    }

    public static int update(String sql, Object... args) throws SQLException {
        try (Connection c = connect()) {
            return update(c, sql, args);
        }
    }

    /** The same on a connection of the test's own (a reconcile test's database). */
    public static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args)) {
            return s.executeUpdate();
        }
    }

    /**
     * The whole ledger on that connection adds up: the sum of all balances is 0 and every
     * account's cached balance is the sum of its entries.
     */
    public static void assertLedgerAddsUp(Connection c) throws SQLException {
        assertEquals(0, count(c, "SELECT coalesce(sum(balance_rials), 0) FROM accounts"), "sum of balances");
        assertEquals(0, count(c, "SELECT count(*) FROM accounts a WHERE balance_rials <> coalesce((SELECT "
                + "sum(amount_rials) FROM entries e WHERE e.account_id = a.id), 0)"), "accounts whose balance differs from their entries");
    }

    /** The first row, each column as text (null stays null), by column label. */
    public static Map<String, Object> row(String sql, Object... args) throws SQLException {
        try (Connection c = connect(); PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
            if (!rs.next()) {
                throw new AssertionError("no row for " + sql);
            }
            Map<String, Object> values = new HashMap<>();
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                Object value = rs.getObject(i);
                values.put(rs.getMetaData().getColumnLabel(i), value == null ? null : value.toString());
            }
            return values;
        }
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement s = c.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            s.setObject(i + 1, args[i]);
        }
        return s;
    }
}
