package taraz.support;

import taraz.db.Database;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
     * The ledger's invariants over the whole database on that connection, which hold at every
     * commit: those of {@code Ledger.checkInvariants} (the sum of all balances is 0, every balance
     * is the sum of its entries, every held amount the sum of its active holds, no overdraft), and
     * every transfer balanced and no trip committed in state NEW. {@code at} says where, in a failure.
     */
    public static void assertLedgerAddsUp(Connection c, String at) throws SQLException {
        assertEquals(0, count(c, "SELECT coalesce(sum(balance_rials), 0) FROM accounts"), at + ": sum of all balances");
        assertEquals("", ids(c, "SELECT a.id FROM accounts a WHERE a.balance_rials <> "
                + "coalesce((SELECT sum(e.amount_rials) FROM entries e WHERE e.account_id = a.id), 0)"),
                at + ": accounts whose balance is not the sum of their entries");
        assertEquals("", ids(c, "SELECT a.id FROM accounts a WHERE a.held_rials <> "
                + "coalesce((SELECT sum(h.amount_rials) FROM holds h WHERE h.account_id = a.id AND h.state = 'HELD'), 0)"),
                at + ": accounts whose held amount is not the sum of their active holds");
        assertEquals("", ids(c, "SELECT id FROM accounts WHERE NOT allow_overdraft "
                        + "AND balance_rials - held_rials < -debt_allowed_rials"),
                at + ": overdrawn accounts (below zero beyond the debt a trip refund allowed)");
        assertEquals("", ids(c, "SELECT transfer_id FROM entries GROUP BY transfer_id HAVING sum(amount_rials) <> 0"),
                at + ": transfers whose entries do not sum to 0");
        assertEquals("", ids(c, "SELECT t.id FROM transfers t WHERE t.amount_rials <> "
                + "coalesce((SELECT sum(e.amount_rials) FROM entries e WHERE e.transfer_id = t.id AND e.amount_rials > 0), 0)"),
                at + ": transfers whose amount is not the sum of their credits");
        assertEquals("", ids(c, "SELECT trip_id FROM trips WHERE state = 'NEW'"), at + ": trips committed in state NEW");
    }

    /** The same on the embedded PostgreSQL of a child gateway's data directory, while it runs. */
    public static void assertLedgerAddsUp(Path gatewayDataDir) throws SQLException, IOException {
        try (Connection c = GatewayProcess.connectToDatabase(gatewayDataDir)) {
            assertLedgerAddsUp(c, "the ledger of " + gatewayDataDir.getFileName());
        }
    }

    /** The first column of the first row as text, or null when there is no row. */
    public static String text(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** The first column of every row, as text. */
    public static List<String> column(Connection c, String sql, Object... args) throws SQLException {
        List<String> values = new ArrayList<>();
        try (PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    /** The first column of every row, comma-separated ("" when none), so that a failure names them. */
    public static String ids(Connection c, String sql, Object... args) throws SQLException {
        return String.join(",", column(c, sql, args));
    }

    /** The first row, each column as text (null stays null), by column label. */
    public static Map<String, Object> row(String sql, Object... args) throws SQLException {
        try (Connection c = connect()) {
            return row(c, sql, args);
        }
    }

    /** The same on a connection of the test's own. */
    public static Map<String, Object> row(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
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
