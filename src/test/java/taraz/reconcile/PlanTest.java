package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A plan is stored and reported as JSON keyed by "do": each record writes exactly the text the
 * reports have always carried, field order included, and reads back as the same record.
 */
class PlanTest {

    @Test
    void eachPlanKeepsItsJsonAndReadsBack() {
        Map<String, Long> legs = new LinkedHashMap<>();
        legs.put("w-1", 5_000L);
        legs.put("corrections", -5_000L);
        Map<Plan, String> expected = new LinkedHashMap<>();
        expected.put(new Plan.Manual(), "{\"do\":\"manual\"}");
        expected.put(new Plan.Recheck(), "{\"do\":\"recheck\"}");
        expected.put(new Plan.RepairBalance("w-1"), "{\"do\":\"repair_balance\",\"account\":\"w-1\"}");
        expected.put(new Plan.ExpireTrip("t-1"), "{\"do\":\"expire_trip\",\"trip\":\"t-1\"}");
        expected.put(new Plan.ExpireHold("h-1", null), "{\"do\":\"expire_hold\",\"hold\":\"h-1\",\"account\":null}");
        expected.put(new Plan.Advance("u-1"), "{\"do\":\"advance\",\"topup\":\"u-1\"}");
        expected.put(new Plan.Expire("u-1"), "{\"do\":\"expire\",\"topup\":\"u-1\"}");
        expected.put(new Plan.Credit("u-1", true, false, null),
                "{\"do\":\"credit\",\"topup\":\"u-1\",\"verifyFirst\":true,\"bankVerified\":false}");
        expected.put(new Plan.Credit("u-1", false, true, "A1"),
                "{\"do\":\"credit\",\"topup\":\"u-1\",\"verifyFirst\":false,\"bankVerified\":true,\"confirmAtBank\":\"A1\"}");
        expected.put(new Plan.Correction(legs, null), "{\"do\":\"correction\",\"legs\":{\"w-1\":5000,\"corrections\":-5000}}");
        expected.put(new Plan.Correction(legs, "A1"),
                "{\"do\":\"correction\",\"legs\":{\"w-1\":5000,\"corrections\":-5000},\"confirmAtBank\":\"A1\"}");
        expected.put(new Plan.Reverse(legs, "A2", null),
                "{\"do\":\"reverse\",\"legs\":{\"w-1\":5000,\"corrections\":-5000},\"authority\":\"A2\",\"paidAt\":null}");
        expected.put(new Plan.Reverse(legs, "A2", "2026-11-30T10:00Z"),
                "{\"do\":\"reverse\",\"legs\":{\"w-1\":5000,\"corrections\":-5000},\"authority\":\"A2\",\"paidAt\":\"2026-11-30T10:00Z\"}");
        expected.forEach((plan, json) -> {
            assertEquals(json, plan.toJson().encode());
            Plan read = Plan.fromJson(new JsonObject(json));
            assertEquals(plan, read);
            // Map equality ignores order; the legs must come back in the order they were written.
            assertEquals(json, read.toJson().encode());
        });
    }
}
