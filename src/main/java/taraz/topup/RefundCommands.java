package taraz.topup;

import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.ledger.AccountKind;
import taraz.ledger.Batch;
import taraz.ledger.LedgerCommand;
import taraz.ledger.Leg;
import taraz.ledger.Transfer;
import taraz.topup.Refund.Method;
import taraz.topup.Refund.State;

import java.time.OffsetDateTime;
import java.util.List;

/** The refund flow's two ledger steps, as commands of the ledger writer: the hold, and its end (post or void). */
final class RefundCommands {

    /**
     * A refund hold lives until the bank has answered, which the sweeper learns within minutes; past this the hold is
     * reported by reconcile's expired-holds check, the sign of a refund nothing drives any more.
     */
    static final long HOLD_SECONDS = 7 * 86_400;

    private RefundCommands() {
    }

    /** What the refund is asked for: the request's fields, journaled with its intent so recovery can hold it again. */
    record Ask(String refundId, String topupId, long amountRials, String reason, String ticket) {}

    /**
     * The hold: under the top-up's lock, with every refund of it locked too, the top-up must be CREDITED and its
     * refunds not FAILED plus this one must not total more than it; the wallet's money is held (insufficient_funds if
     * it no longer has it) and the refund written HELD. The method is fixed here, from the locked rows: a full refund
     * of a top-up with no refund before, inside the bank's window from its verification, is a reverse. A refund that
     * exists already (a retry, recovery) is returned as it is.
     */
    static final class Hold implements LedgerCommand<Refund> {
        private final Ask ask;
        private final long windowSeconds;
        private final String node;
        private final long leaseMillis;

        Hold(Ask ask, long windowSeconds, String node, long leaseMillis) {
            this.ask = ask;
            this.windowSeconds = windowSeconds;
            this.node = node;
            this.leaseMillis = leaseMillis;
        }

        @Override
        public Idem idem() {
            return null;
        }

        @Override
        public void prepare(Batch batch) {
            RefundRows rows = RefundRows.of(batch, node, leaseMillis);
            rows.wantTopup(ask.topupId());
            rows.wantRefund(ask.refundId());
        }

        @Override
        public Refund apply(Batch batch) {
            RefundRows rows = RefundRows.of(batch, node, leaseMillis);
            Refund existing = rows.refund(ask.refundId());
            if (existing != null) {
                return existing;
            }
            RefundRows.TopupLock topup = rows.topup(ask.topupId());
            if (topup == null) {
                throw new DomainError(ErrorCode.TOPUP_NOT_FOUND, "no top-up " + ask.topupId());
            }
            if (topup.state() != Topup.State.CREDITED) {
                throw notRefundable(ask.topupId(), topup.state());
            }
            long refundedRials = rows.refundedRials(ask.topupId());
            if (refundedRials + ask.amountRials() > topup.amountRials()) {
                throw exceeds(ask.topupId(), topup.amountRials(), refundedRials, ask.amountRials());
            }
            OffsetDateTime now = batch.now();
            boolean reverse = refundedRials == 0 && ask.amountRials() == topup.amountRials()
                    && now.isBefore(topup.verifiedAt().plusSeconds(windowSeconds));
            String holdId = Refund.holdId(ask.refundId());
            batch.placeHold(holdId, topup.walletId(), ask.amountRials(), now.plusSeconds(HOLD_SECONDS));
            Refund held = new Refund(ask.refundId(), ask.topupId(), topup.walletId(), ask.amountRials(),
                    reverse ? Method.REVERSE : Method.REFUND, State.HELD, ask.reason(), ask.ticket(), holdId, null, 0, null,
                    now, null, now);
            rows.insert(batch, held);
            return held;
        }

        @Override
        public Answer render(Refund result, Batch batch) {
            return new Answer(200, "{}", false);
        }

        @Override
        public Refund current(Batch batch) {
            return RefundRows.of(batch, node, leaseMillis).refund(ask.refundId());
        }

        @Override
        public String toString() {
            return "hold of refund " + ask.refundId();
        }
    }

    /**
     * The end of a refund the bank has answered: REFUNDED posts the hold (a transfer wallet to PSP clearing, keyed by
     * the refund), FAILED voids it. Only a refund still HELD or SENT under its lock ends; one ended already (another
     * node, a retry) is returned as it is, so the hold is released and the transfer posted once.
     */
    static final class End implements LedgerCommand<Refund> {
        private final String refundId;
        private final State to;
        private final String cause;
        private final String bankRefundId;
        private final String node;
        private final long leaseMillis;

        End(String refundId, State to, String cause, String bankRefundId, String node, long leaseMillis) {
            if (!to.terminal()) {
                throw new IllegalArgumentException("a refund ends REFUNDED or FAILED, not " + to);
            }
            this.refundId = refundId;
            this.to = to;
            this.cause = cause;
            this.bankRefundId = bankRefundId;
            this.node = node;
            this.leaseMillis = leaseMillis;
        }

        @Override
        public Idem idem() {
            return null;
        }

        @Override
        public void prepare(Batch batch) {
            RefundRows.of(batch, node, leaseMillis).wantRefund(refundId);
            batch.lockAccounts(List.of(AccountKind.PSP_CLEARING_ID));
            batch.wantTransfer(Refund.transferId(refundId));
        }

        @Override
        public Refund apply(Batch batch) {
            RefundRows rows = RefundRows.of(batch, node, leaseMillis);
            Refund locked = rows.refund(refundId);
            if (locked == null) {
                throw new IllegalStateException("refund " + refundId + " to end does not exist");
            }
            if (locked.state() != State.HELD && locked.state() != State.SENT) {
                return locked;
            }
            String transferId = null;
            if (to == State.REFUNDED) {
                // The hold goes first: the wallet's money it held is then available to the transfer that takes it.
                batch.releaseHold(locked.holdId(), locked.walletId(), locked.amountRials(), taraz.ledger.Hold.State.POSTED);
                Transfer transfer = new Transfer(Refund.transferId(refundId), "refund_post", refundId,
                        locked.reason() + " (ticket " + locked.ticket() + ")",
                        List.of(Leg.debit(locked.walletId(), locked.amountRials()),
                                Leg.credit(AccountKind.PSP_CLEARING_ID, locked.amountRials())));
                if (batch.postOnce(transfer) != taraz.ledger.Ledger.Posted.NEW) {
                    throw new IllegalStateException("refund " + refundId + " is " + locked.state()
                            + " under its lock but its transfer already exists");
                }
                transferId = transfer.id();
            } else {
                batch.releaseHold(locked.holdId(), locked.walletId(), locked.amountRials(), taraz.ledger.Hold.State.VOIDED);
            }
            Refund ended = locked.with(to, locked.method(), bankRefundId != null ? bankRefundId : locked.bankRefundId(),
                    cause != null ? cause : locked.lastError(), batch.now());
            rows.end(batch, ended, cause, transferId);
            return ended;
        }

        @Override
        public Answer render(Refund result, Batch batch) {
            return new Answer(200, "{}", false);
        }

        @Override
        public Refund current(Batch batch) {
            return RefundRows.of(batch, node, leaseMillis).refund(refundId);
        }

        @Override
        public String toString() {
            return (to == State.REFUNDED ? "post" : "void") + " of refund " + refundId;
        }
    }

    static DomainError notRefundable(String topupId, Topup.State state) {
        return new DomainError(ErrorCode.TOPUP_NOT_REFUNDABLE, "top-up " + topupId + " is " + state + "; only a CREDITED top-up is refunded");
    }

    static DomainError exceeds(String topupId, long topupRials, long refundedRials, long amountRials) {
        return new DomainError(ErrorCode.REFUND_EXCEEDS_TOTAL, "top-up " + topupId + " of " + topupRials + " rials has "
                + refundedRials + " rials refunded or being refunded; " + amountRials + " more would exceed it");
    }
}
