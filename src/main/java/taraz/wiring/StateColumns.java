package taraz.wiring;

import taraz.db.Database;
import taraz.ledger.Hold;
import taraz.payout.Payout;
import taraz.topup.Driver;
import taraz.topup.Refund;
import taraz.topup.Topup;
import taraz.trip.Trip;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The states a flow's enum names are the ones its table's CHECK constraint allows, checked after the migrations at
 * every start: a state added to an enum but not to the schema (or the other way round) stops the start with a line
 * naming the difference, instead of failing the first payment that reaches it.
 */
public final class StateColumns {

    private record Column(String table, String column, Class<? extends Enum<?>> states) { }

    private static final List<Column> COLUMNS = List.of(
            new Column("holds", "state", Hold.State.class),
            new Column("trips", "state", Trip.State.class),
            new Column("topups", "state", Topup.State.class),
            new Column("payouts", "state", Payout.State.class),
            new Column("topup_refunds", "state", Refund.State.class),
            new Column("topup_refunds", "method", Refund.Method.class),
            new Column("topup_history", "driven_by", Driver.class),
            new Column("topup_bank_calls", "driven_by", Driver.class));

    /** A quoted literal of PostgreSQL's rendering of {@code state IN (...)}: {@code 'HELD'::text}. */
    private static final Pattern LITERAL = Pattern.compile("'([^']*)'::text");

    private StateColumns() {
    }

    public static void check(Database.Jdbc jdbc) throws SQLException {
        try (Connection db = DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password())) {
            for (Column column : COLUMNS) {
                Set<String> schema = allowed(db, column);
                Set<String> code = Arrays.stream(column.states().getEnumConstants()).map(Enum::name)
                        .collect(Collectors.toCollection(TreeSet::new));
                if (!schema.equals(code)) {
                    throw new IllegalStateException(column.table() + "." + column.column() + " allows " + schema + " but "
                            + column.states().getName() + " names " + code + "; a migration and the enum must change together");
                }
            }
        }
    }

    private static Set<String> allowed(Connection db, Column column) throws SQLException {
        try (PreparedStatement q = db.prepareStatement("SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c "
                + "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
                + "WHERE c.conrelid = ?::regclass AND c.contype = 'c' AND a.attname = ?")) {
            q.setString(1, column.table());
            q.setString(2, column.column());
            try (ResultSet r = q.executeQuery()) {
                Set<String> states = new TreeSet<>();
                while (r.next()) {
                    Matcher m = LITERAL.matcher(r.getString(1));
                    while (m.find()) {
                        states.add(m.group(1));
                    }
                }
                return states;
            }
        }
    }
}
