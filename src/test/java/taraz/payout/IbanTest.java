package taraz.payout;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ISO 13616 mod-97 rule for Iranian IBANs. */
class IbanTest {

    @Test
    void aPublishedIranianIbanIsValid() {
        // The example IBAN of the Central Bank of Iran's IBAN documentation.
        assertTrue(Iban.valid("IR062960000000100324200001"));
    }

    @Test
    void everySingleDigitChangeIsCaught() {
        String iban = "IR062960000000100324200001";
        for (int i = 2; i < iban.length(); i++) {
            char digit = iban.charAt(i);
            String changed = iban.substring(0, i) + (char) ('0' + (digit - '0' + 1) % 10) + iban.substring(i + 1);
            assertFalse(Iban.valid(changed), changed);
        }
    }

    @Test
    void theShapeIsIrAnd24Digits() {
        assertFalse(Iban.valid(null));
        assertFalse(Iban.valid(""));
        assertFalse(Iban.valid("ir062960000000100324200001"));
        assertFalse(Iban.valid("IR06296000000010032420000"));
        assertFalse(Iban.valid("IR0629600000001003242000011"));
        assertFalse(Iban.valid("DE89370400440532013000"));
        assertFalse(Iban.valid("IR06 2960 0000 0010 0324 2000 01"));
    }

    @Test
    void checkDigitsAreComputedAndMasked() {
        String iban = Iban.of("2960000000100324200001");
        assertEquals("IR062960000000100324200001", iban);
        assertEquals("IR06******************0001", Iban.masked(iban));
    }
}
