package taraz.reconcile;

import io.vertx.core.Future;
import taraz.psp.Psp;
import taraz.psp.PspUnavailableException;

import java.util.List;

/**
 * The bank as {@code reconcile --offline} sees it: never reachable. The flows then act only on
 * what the database and the settlement report show, exactly as when the PSP is down.
 */
final class OfflinePsp implements Psp {

    @Override
    public String name() {
        return "zarinpal";
    }

    @Override
    public Future<String> request(long amountRials, String callbackUrl, String description) {
        return down("request");
    }

    @Override
    public String paymentUrl(String authority) {
        throw new UnsupportedOperationException("reconcile opens no payments");
    }

    @Override
    public Future<Verification> verify(String authority, long amountRials) {
        return down("verify");
    }

    @Override
    public Future<Inquiry> inquiry(String authority) {
        return down("inquiry");
    }

    @Override
    public Future<List<String>> unverified() {
        return down("unVerified");
    }

    @Override
    public Future<Boolean> reverse(String authority) {
        return down("reverse");
    }

    @Override
    public Future<RefundAnswer> refund(String authority, long amountRials, String description) {
        return down("refund");
    }

    @Override
    public Future<List<BankRefund>> refunds(String authority) {
        return down("refundStatus");
    }

    private static <T> Future<T> down(String operation) {
        return Future.failedFuture(new PspUnavailableException("--offline: the PSP is not asked (" + operation + ")", null));
    }
}
