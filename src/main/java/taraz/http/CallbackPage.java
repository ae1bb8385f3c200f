package taraz.http;

import io.vertx.core.json.JsonObject;
import taraz.topup.Topup;

/**
 * The small page the cardholder sees back from the bank, in Persian and English. The callback
 * is public and answers whoever knows an authority, so it shows the top-up's state and a message
 * and nothing else: no top-up or wallet id, no amount, no card, no bank reference.
 */
final class CallbackPage {

    private CallbackPage() {
    }

    static String message(Topup topup) {
        return switch (topup.state()) {
            case CREDITED -> "Payment verified; your wallet is credited.";
            case FAILED -> "The payment did not go through; nothing was charged to your wallet.";
            case EXPIRED, REVERSED -> "The payment was not completed; any amount taken is returned by your bank.";
            case REQUESTED -> "The payment is not completed yet.";
            default -> "The payment is being verified; your wallet is credited as soon as the bank confirms it.";
        };
    }

    static JsonObject json(Topup topup) {
        return new JsonObject().put("state", topup.state().name()).put("message", message(topup));
    }

    static String html(Topup topup) {
        String persian = switch (topup.state()) {
            case CREDITED -> "پرداخت تایید شد و کیف پول شما شارژ شد.";
            case FAILED -> "پرداخت انجام نشد؛ مبلغی از کیف پول شما کسر نشد.";
            case EXPIRED, REVERSED -> "پرداخت کامل نشد؛ هر مبلغی کسر شده باشد توسط بانک بازگردانده می‌شود.";
            case REQUESTED -> "پرداخت هنوز کامل نشده است.";
            default -> "پرداخت در حال تایید است؛ به محض تایید بانک، کیف پول شما شارژ می‌شود.";
        };
        return "<!doctype html><html lang=\"fa\" dir=\"rtl\"><head><meta charset=\"utf-8\"><title>taraz</title></head><body>"
                + "<h1>" + persian + "</h1><p dir=\"ltr\">" + message(topup) + "</p>"
                + "<p dir=\"ltr\">state " + topup.state() + "</p></body></html>";
    }
}
