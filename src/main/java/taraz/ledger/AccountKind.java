package taraz.ledger;

import java.util.Locale;

/** The kinds of account of the brief; wallets are the passenger and driver kinds. */
public enum AccountKind {
    PASSENGER, DRIVER, PLATFORM_COMMISSION, PSP_CLEARING, PAYOUT_CLEARING, CORRECTIONS;

    /** The fixed ids of the system accounts, created by the first migration. */
    public static final String PLATFORM_COMMISSION_ID = "platform-commission";
    public static final String PSP_CLEARING_ID = "psp-clearing";
    public static final String PAYOUT_CLEARING_ID = "payout-clearing";
    public static final String CORRECTIONS_ID = "corrections";

    /** Passenger and driver accounts are wallets; the others are the system's. */
    public boolean isWallet() {
        return this == PASSENGER || this == DRIVER;
    }

    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AccountKind fromDb(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
