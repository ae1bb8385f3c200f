package taraz.http;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import taraz.topup.Topup;

/**
 * The small page the cardholder sees back from the bank, in Persian and English. The callback
 * is public and answers whoever knows an authority, so it shows the top-up's state and a message
 * and nothing else: no top-up or wallet id, no amount, no card, no bank reference.
 */
final class CallbackPage {

    /** Set on a callback whose client is a browser: its answer, a refusal included, is a page. */
    private static final String HTML_ANSWER = "callbackHtml";

    private CallbackPage() {
    }

    /**
     * The first handler of the callback route, before every guard: a client that does not ask for JSON (the
     * cardholder's browser) gets every answer of this request as a page, a refusal (400, 404, 429, 503) too.
     */
    static void negotiate(RoutingContext ctx) {
        if (!wantsJson(ctx)) {
            ctx.put(HTML_ANSWER, true);
        }
        ctx.next();
    }

    /** JSON only for a client that asks for it ({@code Accept: application/json}); a page for everyone else. */
    static boolean wantsJson(RoutingContext ctx) {
        String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
        return accept != null && accept.contains(Responses.JSON);
    }

    static boolean answersHtml(RoutingContext ctx) {
        return Boolean.TRUE.equals(ctx.get(HTML_ANSWER));
    }

    /** A refusal of the callback as the cardholder sees it: what to do, and the code support can search for. */
    static String error(Failure failure) {
        String persian = switch (failure.status()) {
            case 404 -> "این پرداخت پیدا نشد. اگر مبلغی از حساب شما کسر شده، با پشتیبانی تماس بگیرید.";
            case 429, 503 -> "سرویس موقتاً در دسترس نیست؛ چند لحظه دیگر دوباره تلاش کنید.";
            default -> "درخواست بازگشت از بانک معتبر نبود. اگر مبلغی از حساب شما کسر شده، با پشتیبانی تماس بگیرید.";
        };
        String english = switch (failure.status()) {
            case 404 -> "This payment was not found. If money left your account, please contact support.";
            case 429, 503 -> "The service is busy; please try again in a moment.";
            default -> "The return from the bank was not valid. If money left your account, please contact support.";
        };
        return page(persian, english, "error " + failure.code());
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
        return page(persian, message(topup), "state " + topup.state());
    }

    /** Every text on a page is ours (a state or an error code, never the request's input), so none needs escaping. */
    private static String page(String persian, String english, String status) {
        return "<!doctype html><html lang=\"fa\" dir=\"rtl\"><head><meta charset=\"utf-8\"><title>taraz</title></head><body>"
                + "<h1>" + persian + "</h1><p dir=\"ltr\">" + english + "</p>"
                + "<p dir=\"ltr\">" + status + "</p></body></html>";
    }
}
