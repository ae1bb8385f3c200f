package taraz.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import taraz.psp.SettlementCsv;
import taraz.support.ReconcileDb;

/**
 * {@code taraz reconcile --apply} given a bad settlement file exits 2, names the file and the line
 * on stderr, and applies nothing. Each case first seeds a VERIFIED top-up that was never credited
 * and puts a valid SETTLED row for it in the file besides the bad line, so that --apply would
 * credit it if the file were accepted: the top-up still VERIFIED and no transfer afterwards show
 * the run stopped before applying. A good file with the same setup is the control.
 */
class ReconcileBadInputTest {

    static final String HEADER = SettlementCsv.HEADER;
    static final long AMOUNT = 250_000;
    static final String CARD = "603799******1234";

    /** Two days ago: the top-up is well past minAgeSeconds and the files' days are not in the future. */
    static final LocalDate DAY = LocalDate.now(ZoneOffset.UTC).minusDays(2);
    static final LocalDate EARLIER = DAY.minusDays(1);

    @TempDir
    Path dir;

    ReconcileDb db;
    String topupId;
    String authority;

    @BeforeEach
    void seed() throws SQLException {
        db = ReconcileDb.create();
        String suffix = UUID.randomUUID().toString().replace("-", "");
        String wallet = "wallet-" + suffix;
        topupId = "topup-" + suffix;
        authority = "A" + suffix;
        OffsetDateTime at = OffsetDateTime.of(DAY, LocalTime.NOON, ZoneOffset.UTC);
        try (Connection c = db.connect()) {
            try (PreparedStatement s = c.prepareStatement(
                    "INSERT INTO accounts (id, kind, owner_id, name, phone) VALUES (?, 'passenger', ?, 'Test Rider', '09120000000')")) {
                s.setString(1, wallet);
                s.setString(2, "owner-" + suffix);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, "
                    + "authority, ref_id, card_pan, created_at, requested_at, callback_at, verified_at, updated_at) "
                    + "VALUES (?, ?, ?, 'zarinpal', 'VERIFIED', ?, ?, ?, ?, ?, ?, ?, ?)")) {
                s.setString(1, topupId);
                s.setString(2, wallet);
                s.setLong(3, AMOUNT);
                s.setString(4, authority);
                s.setString(5, "R" + suffix.substring(0, 12));
                s.setString(6, CARD);
                for (int i = 7; i <= 11; i++) {
                    s.setObject(i, at);
                }
                s.executeUpdate();
            }
        }
    }

    // ---- files -----------------------------------------------------------------------------

    static String row(LocalDate day, String authority, String amount) {
        return day + ",T1001," + authority + ",R1," + CARD + "," + amount + ",SETTLED";
    }

    /** The seeded top-up's own row: accepted alone, it gets the top-up credited. */
    String ours() {
        return row(DAY, authority, Long.toString(AMOUNT));
    }

    Path file(String name, String... lines) throws IOException {
        return file(name, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    static String named(LocalDate day) {
        return "settlement-" + day + ".csv";
    }

    // ---- running it ------------------------------------------------------------------------

    record Run(int status, String err) {}

    /** reconcile --apply --offline on the files, stderr captured (and echoed, for the test log). */
    Run apply(Path... files) {
        List<String> args = new ArrayList<>(List.of("--apply", "--offline"));
        for (Path f : files) {
            args.add("--settlement");
            args.add(f.toString());
        }
        PrintStream saved = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = db.reconcile(args.toArray(String[]::new));
        } finally {
            System.setErr(saved);
        }
        String err = buffer.toString(StandardCharsets.UTF_8);
        saved.print(err);
        return new Run(status, err);
    }

    /** Exit 2, the file and line named, and nothing applied: no transfer, no action, the top-up untouched. */
    void refused(Run run, Path file, int line, String fault) throws SQLException {
        assertEquals(2, run.status(), run.err());
        assertTrue(run.err().contains("settlement file " + file + " line " + line + ":"),
                "expected " + file.getFileName() + " line " + line + " named in: " + run.err());
        assertTrue(run.err().contains(fault), "expected '" + fault + "' in: " + run.err());
        assertTrue(run.err().contains("Nothing was applied"), run.err());
        assertNothingApplied();
    }

    void assertNothingApplied() throws SQLException {
        assertEquals(0, db.count("SELECT count(*) FROM transfers"));
        assertEquals(0, db.count("SELECT count(*) FROM entries"));
        assertEquals(0, db.count("SELECT count(*) FROM reconciliation_actions"));
        assertEquals(1, db.count("SELECT count(*) FROM topups WHERE topup_id = ? AND state = 'VERIFIED' AND transfer_id IS NULL", topupId));
        assertEquals(0, db.count("SELECT count(*) FROM accounts WHERE balance_rials <> 0"));
    }

    // ---- the control -----------------------------------------------------------------------

    @Test
    void goodFileCreditsTheTopupOnceThroughItsOwnFlow() throws Exception {
        Path good = file(named(DAY), HEADER, ours());
        Run first = apply(good);
        assertEquals(0, first.status(), first.err());
        assertEquals(1, db.count("SELECT count(*) FROM transfers WHERE id = ?", "topup:" + topupId + ":credit"));
        assertEquals(1, db.count("SELECT count(*) FROM topups WHERE topup_id = ? AND state = 'CREDITED'", topupId));
        assertEquals(AMOUNT, db.count("SELECT balance_rials FROM accounts a JOIN topups t ON t.wallet_id = a.id WHERE t.topup_id = ?", topupId));
        long transfers = db.count("SELECT count(*) FROM transfers");
        long actions = db.count("SELECT count(*) FROM reconciliation_actions");

        // Run again on the same file: clean, and nothing new is posted.
        Run second = apply(good);
        assertEquals(0, second.status(), second.err());
        assertEquals(transfers, db.count("SELECT count(*) FROM transfers"));
        assertEquals(actions, db.count("SELECT count(*) FROM reconciliation_actions"));
        assertEquals(AMOUNT, db.count("SELECT balance_rials FROM accounts a JOIN topups t ON t.wallet_id = a.id WHERE t.topup_id = ?", topupId));
    }

    // ---- bad files -------------------------------------------------------------------------

    @Test
    void aRowWithTheWrongColumnCountIsRefused() throws Exception {
        Path f = file(named(DAY), HEADER, ours(), DAY + ",T1001,B2,R2," + CARD + ",1000");
        refused(apply(f), f, 3, "expected 7 columns, found 6");
    }

    @Test
    void aWrongHeaderIsRefused() throws Exception {
        Path f = file(named(DAY), HEADER.replace("amount", "amount_rials"), ours());
        refused(apply(f), f, 1, "expected the header");
    }

    @Test
    void aFractionalAmountIsRefused() throws Exception {
        Path f = file(named(DAY), HEADER, ours(), row(DAY, "B2", "12.5"));
        refused(apply(f), f, 3, "amount '12.5'");
    }

    @Test
    void duplicateAuthorityInOneFile() throws Exception {
        Path f = file(named(DAY), HEADER, ours(), row(DAY, "B2", "1000"), ours());
        Run run = apply(f);
        refused(run, f, 4, "authority " + authority);
        assertTrue(run.err().contains(f + " line 2"), "the first listing is named too: " + run.err());
    }

    @Test
    void duplicateAuthorityAcrossFilesOfDifferentDays() throws Exception {
        Path day = file(named(DAY), HEADER, ours());
        Path earlier = file(named(EARLIER), HEADER, row(EARLIER, "B2", "1000"), row(EARLIER, authority, Long.toString(AMOUNT)));
        Run run = apply(day, earlier);
        assertEquals(2, run.status(), run.err());
        // Both listings are named, whichever the message puts first.
        assertTrue(run.err().contains(day + " line 2"), run.err());
        assertTrue(run.err().contains(earlier + " line 3"), run.err());
        assertTrue(run.err().contains("authority " + authority + " is listed 2 times"), run.err());
        assertTrue(run.err().contains("Nothing was applied"), run.err());
        assertNothingApplied();
    }

    @Test
    void aSecondFileOfADayAlreadyCoveredIsRefused() throws Exception {
        Path first = file(named(DAY), HEADER, ours());
        Path second = file("resent-" + DAY + ".csv", HEADER, row(DAY, "B2", "1000"));
        refused(apply(first, second), second, 1, "which " + first + " already covers");
    }

    @Test
    void anEmptyFileIsRefused() throws Exception {
        Path good = file(named(DAY), HEADER, ours());
        Path empty = file(named(EARLIER), new byte[0]);
        refused(apply(good, empty), empty, 1, "the file is empty");
    }

    @Test
    void fileOfAnotherDayThanItsName() throws Exception {
        Path f = file(named(EARLIER), HEADER, ours());
        refused(apply(f), f, 2, "another day than the file's " + EARLIER + " (in its name)");
    }

    @Test
    void aRowDatedInTheFutureIsRefused() throws Exception {
        LocalDate tomorrow = LocalDate.now(ZoneOffset.UTC).plusDays(1);
        Path f = file("export.csv", HEADER, row(tomorrow, authority, Long.toString(AMOUNT)));
        refused(apply(f), f, 2, "is in the future");
    }

    @Test
    void aLineOverFourKibibytes() throws Exception {
        Path f = file(named(DAY), HEADER, ours(), row(DAY, "B".repeat(4096), "1000"));
        refused(apply(f), f, 3, "the line is longer than 4096 bytes");
    }

    @Test
    void aFileNotInUtf8IsRefused() throws Exception {
        // "Café" in ISO-8859-1 as the terminal of line 3.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes((HEADER + "\n" + ours() + "\n" + DAY + ",Caf").getBytes(StandardCharsets.UTF_8));
        bytes.write(0xE9);
        bytes.writeBytes((",B2,R2," + CARD + ",1000,SETTLED\n").getBytes(StandardCharsets.UTF_8));
        Path f = file(named(DAY), bytes.toByteArray());
        refused(apply(f), f, 3, "not UTF-8");
    }
}
