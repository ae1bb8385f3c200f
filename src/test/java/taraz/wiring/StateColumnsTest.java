package taraz.wiring;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import taraz.db.Database;
import taraz.support.ReconcileDb;

/** The state columns' CHECK lists and the flows' enums name the same states, or the start stops. */
class StateColumnsTest {

    @Test
    void theMigratedSchemaAllowsExactlyTheStatesTheEnumsName() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        assertDoesNotThrow(() -> StateColumns.check(Database.jdbc(db.pgUrl())));
    }

    @Test
    void aStateTheSchemaDoesNotAllowStopsTheStartNamingIt() throws Exception {
        ReconcileDb db = ReconcileDb.create();
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("ALTER TABLE holds DROP CONSTRAINT holds_state_check");
            s.execute("ALTER TABLE holds ADD CONSTRAINT holds_state_check CHECK (state IN ('HELD', 'POSTED', 'VOIDED'))");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StateColumns.check(Database.jdbc(db.pgUrl())));
        assertEquals("holds.state allows [HELD, POSTED, VOIDED] but taraz.ledger.Hold$State names [EXPIRED, HELD, POSTED, VOIDED]; "
                + "a migration and the enum must change together", e.getMessage());
    }
}
