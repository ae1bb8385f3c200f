package taraz.topup;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;

/** A flow's history rows ({@code state, cause, node, at}, oldest first) as the API shows them: top-ups' and refunds'. */
final class HistoryRows {

    private HistoryRows() {
    }

    static JsonArray toJson(RowSet<Row> rows) {
        JsonArray history = new JsonArray();
        rows.forEach(row -> history.add(new JsonObject().put("state", row.getString("state"))
                .put("cause", row.getString("cause")).put("node", row.getString("node"))
                .put("at", row.getOffsetDateTime("at").toInstant().toString())));
        return history;
    }
}
