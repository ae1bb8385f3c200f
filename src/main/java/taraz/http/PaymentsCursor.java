package taraz.http;

import taraz.admin.AdjustmentService;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Base64;

/**
 * The {@code cursor} of {@code GET /v1/admin/payments}: the last payment of a page (its time, flow and id), opaque to
 * the client (base64url), and refused as {@code invalid_cursor} when it is not one this class wrote.
 */
final class PaymentsCursor {

    private static final String SEPARATOR = "\n";
    private static final int PARTS = 3;

    private PaymentsCursor() {
    }

    static String encode(AdjustmentService.After after) {
        String text = after.updatedAt().toInstant() + SEPARATOR + after.flow() + SEPARATOR + after.paymentId();
        return Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** The position {@code cursor} names; null for none (the first page). */
    static AdjustmentService.After decode(String cursor) {
        if (cursor == null) {
            return null;
        }
        try {
            String[] parts = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8).split(SEPARATOR, -1);
            if (parts.length == PARTS && !parts[1].isEmpty() && !parts[2].isEmpty()) {
                return new AdjustmentService.After(OffsetDateTime.ofInstant(Instant.parse(parts[0]), ZoneOffset.UTC),
                        parts[1], parts[2]);
            }
        } catch (RuntimeException notOurs) {
            // Answered below, whatever was wrong with it.
        }
        throw Failure.badRequest("invalid_cursor", "cursor must be a nextCursor value from an earlier page");
    }
}
