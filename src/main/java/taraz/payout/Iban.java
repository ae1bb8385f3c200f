package taraz.payout;

import java.math.BigInteger;
import java.util.regex.Pattern;

/**
 * An Iranian IBAN (ISO 13616): {@code IR}, two check digits and 22 digits (the bank code and the account), 26
 * characters in all; valid when the number formed by moving the first four characters to the end, letters as two
 * digits each (A = 10 ... Z = 35), leaves 1 divided by 97.
 */
public final class Iban {

    private static final Pattern SHAPE = Pattern.compile("IR\\d{24}");
    private static final BigInteger MODULUS = BigInteger.valueOf(97);
    /** "IR" as ISO 13616 digits: I = 18, R = 27. */
    private static final String COUNTRY_DIGITS = "1827";

    private Iban() {
    }

    /** Whether {@code iban} is {@code IR} + 24 digits with a valid mod-97 checksum (no spaces, upper case). */
    public static boolean valid(String iban) {
        if (iban == null || !SHAPE.matcher(iban).matches()) {
            return false;
        }
        String rearranged = iban.substring(4) + COUNTRY_DIGITS + iban.substring(2, 4);
        return new BigInteger(rearranged).mod(MODULUS).intValue() == 1;
    }

    /** The IBAN with its check digits and 22 digits computed for the given bank-and-account digits (for tests and tools). */
    public static String of(String bankAndAccount22) {
        if (bankAndAccount22.length() != 22 || !bankAndAccount22.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("an Iranian IBAN's body is 22 digits");
        }
        int check = 98 - new BigInteger(bankAndAccount22 + COUNTRY_DIGITS + "00").mod(MODULUS).intValue();
        return "IR" + (check < 10 ? "0" : "") + check + bankAndAccount22;
    }

    /** The IBAN for logs and answers: country, check digits and the last four digits. */
    public static String masked(String iban) {
        return iban.substring(0, 4) + "*".repeat(iban.length() - 8) + iban.substring(iban.length() - 4);
    }
}
