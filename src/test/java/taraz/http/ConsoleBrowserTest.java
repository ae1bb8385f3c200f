package taraz.http;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;
import taraz.support.Wait;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The support console in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, driven by
 * Selenium through /usr/bin/chromedriver: nothing is downloaded), against a real gateway process and the PSP
 * simulator. The gateway's top-up sweeper runs once an hour, so a payment whose callback was lost stays uncredited
 * until support asks the bank from the console. Screenshots go to target/console-*.png, and the timeline of the
 * incident-1 customer (paid at the bank, callback lost) as the console shows it to target/console-timeline.txt.
 */
class ConsoleBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final long UI_TIMEOUT_MILLIS = 30_000;
    private static final long TOPUP_TIMEOUT_MILLIS = 30_000;
    /** Incident 1: 200,000 toman paid at the bank, the wallet never credited. */
    private static final long INCIDENT_RIALS = 2_000_000;
    private static final long EARLIER_TOPUP_RIALS = 500_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    private static TestPsp psp;
    private static GatewayProcess gateway;
    private static ChromeDriver browser;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "the console test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver "
                        + "(.ci/run installs them)");
        Path dataDir = TestGateway.tempDir("console-");
        psp = TestPsp.start(dataDir.resolve("psp-sim"));
        // The sweeper would find the paid top-up and credit it by itself; here only support's question may.
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir, Map.of("topupSweepIntervalMillis", 3_600_000)));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), env);
        // Selenium Manager runs only when no driver is named; the driver and the browser are Debian's.
        System.setProperty(ChromeDriverService.CHROME_DRIVER_EXE_PROPERTY, CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1500",
                        "--lang=fa-IR");
        browser = new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build(), options);
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        GatewayProcess.stop(gateway);
        if (psp != null) {
            psp.stop();
        }
    }

    @BeforeEach
    void freshPage() {
        psp.resetFaults();
        browser.get(gateway.baseUrl() + "/console");
        ((JavascriptExecutor) browser).executeScript("sessionStorage.clear()");
        browser.navigate().refresh();
    }

    @Test
    void supportFindsACustomerByPhoneAndReadsTheirTopUpTimeline() throws Exception {
        Customer customer = plant("سارا محمدی");
        String topupId = Topups.paidAndCredited(gateway.api(), psp, customer.walletId, EARLIER_TOPUP_RIALS, TOPUP_TIMEOUT_MILLIS);

        signIn(TestGateway.ADMIN_TOKEN);
        searchByPhone(customer.localPhone);

        WebElement credited = awaitItem(topupId, "topup", "CREDITED");
        assertEquals("rtl", browser.findElement(By.tagName("html")).getDomAttribute("dir"));
        assertEquals("fa", browser.findElement(By.tagName("html")).getDomAttribute("lang"));
        assertTrue(browser.findElement(By.id("customers")).getText().contains("سارا محمدی"));
        String text = credited.getText();
        assertTrue(text.contains("افزایش موجودی") && text.contains("به کیف پول واریز شد"), text);
        // 500,000 rials are 50,000 toman, both in Persian digits.
        assertTrue(text.contains("۵۰٬۰۰۰ تومان") && text.contains("۵۰۰٬۰۰۰ ریال"), text);
        WebElement time = credited.findElement(By.tagName("time"));
        assertTrue(time.getText().matches(".*[۰-۹]{4}.*"), "a Solar Hijri date in Persian digits: " + time.getText());
        assertTrue(time.getDomAttribute("title").matches("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC"), time.getDomAttribute("title"));
        assertTrue(time.getText().contains("۱۴۰"), "the Solar Hijri year (14xx): " + time.getText());
        assertEquals(topupId, credited.findElement(By.className("payment-id")).getText());
        assertTrue(credited.findElements(By.cssSelector("button.ask")).isEmpty(), "a credited top-up offers no question to the bank");
        screenshot("search");

        // Support's adjustment, confirmed with a ticket: 10,000 toman of goodwill.
        browser.findElement(By.cssSelector("button.adjust[data-wallet-id='" + customer.walletId + "']")).click();
        Wait.until("the adjustment dialog", UI_TIMEOUT_MILLIS, browser.findElement(By.id("confirm"))::isDisplayed);
        browser.findElement(By.id("adjust-amount")).sendKeys("۱۰۰۰۰۰");
        assertTrue(browser.findElement(By.id("adjust-toman")).getText().contains("۱۰٬۰۰۰ تومان"));
        browser.findElement(By.id("adjust-reason")).sendKeys("goodwill");
        browser.findElement(By.id("ticket")).sendKeys("T-1502");
        browser.findElement(By.id("confirm-ok")).click();
        WebElement result = browser.findElement(By.id("result"));
        Wait.until("the adjustment's answer", UI_TIMEOUT_MILLIS, result::isDisplayed);
        assertTrue(result.getText().contains("T-1502") && result.getText().contains("۶۰٬۰۰۰ تومان"), result.getText());
        assertEquals(EARLIER_TOPUP_RIALS + 100_000, gateway.api().balance(customer.walletId));
        Wait.until("the adjustment in the timeline", UI_TIMEOUT_MILLIS,
                () -> !browser.findElements(By.cssSelector("#timeline li.item[data-kind='adjustment']")).isEmpty());
    }

    @Test
    void askingTheBankCreditsAPaidTopUpWhoseCallbackWasLost() throws Exception {
        Customer customer = plant("رضا محمدی");
        String earlier = Topups.paidAndCredited(gateway.api(), psp, customer.walletId, EARLIER_TOPUP_RIALS, TOPUP_TIMEOUT_MILLIS);
        // Incident 1: the cardholder pays at the bank and the bank's return never reaches the gateway.
        psp.faults(TestPsp.defaultFaults().put("lostCallbackRate", 1.0));
        JsonObject created = Topups.createOk(gateway.api(), customer.walletId, INCIDENT_RIALS);
        String lost = created.getString("topupId");
        psp.pay(created.getString("authority"), "OK");
        assertEquals("PAID", psp.payment(created.getString("authority")).getString("status"));
        assertEquals("REQUESTED", Topups.view(gateway.api(), lost).getString("state"));
        assertEquals(EARLIER_TOPUP_RIALS, gateway.api().balance(customer.walletId));

        signIn(TestGateway.ADMIN_TOKEN);
        searchByPhone(customer.localPhone);
        awaitItem(earlier, "topup", "CREDITED");
        WebElement waiting = awaitItem(lost, "topup", "REQUESTED");
        String before = timelineText();
        screenshot("uncredited");

        waiting.findElement(By.cssSelector("button.ask")).click();
        WebElement dialog = browser.findElement(By.id("confirm"));
        Wait.until("the confirmation dialog", UI_TIMEOUT_MILLIS, dialog::isDisplayed);
        assertTrue(dialog.getText().contains(lost), dialog.getText());
        // No ticket, no question to the bank.
        browser.findElement(By.id("confirm-ok")).click();
        assertTrue(browser.findElement(By.id("confirm-error")).isDisplayed());
        assertEquals("REQUESTED", Topups.view(gateway.api(), lost).getString("state"));
        browser.findElement(By.id("ticket")).sendKeys("T-1501");
        screenshot("ask-dialog");
        browser.findElement(By.id("confirm-ok")).click();

        WebElement result = browser.findElement(By.id("result"));
        Wait.until("the answer of the question to the bank", UI_TIMEOUT_MILLIS, result::isDisplayed);
        assertTrue(result.getText().contains("به کیف پول واریز شد"), result.getText());
        awaitItem(lost, "topup", "CREDITED");
        assertTrue(timelineText().contains("۲۰۰٬۰۰۰ تومان"), timelineText());
        JsonObject topup = Topups.view(gateway.api(), lost);
        assertEquals("CREDITED", topup.getString("state"));
        assertEquals(EARLIER_TOPUP_RIALS + INCIDENT_RIALS, gateway.api().balance(customer.walletId));
        String after = timelineText();
        screenshot("credited");
        Files.writeString(Path.of("target", "console-timeline.txt"), "The console's timeline of an incident-1 customer "
                + "(phone " + customer.localPhone + ", wallet " + customer.walletId + "): top-up " + lost + " of "
                + INCIDENT_RIALS + " rials paid at the bank, its callback lost, the sweeper off.\n\n"
                + "== before support asked the bank ==\n" + before + "\n\n== after \"استعلام از بانک\" with ticket T-1501 ==\n"
                + after + "\n");
    }

    @Test
    void aWrongTokenGetsAnErrorAndNoData() throws Exception {
        Customer customer = plant("نرگس محمدی");
        gateway.api().fund(customer.walletId, EARLIER_TOPUP_RIALS);

        signIn("wrong-token-" + "x".repeat(40));
        searchByPhone(customer.localPhone);

        WebElement error = browser.findElement(By.id("error"));
        Wait.until("the refusal shown", UI_TIMEOUT_MILLIS, error::isDisplayed);
        assertTrue(error.getText().contains("401"), error.getText());
        assertTrue(browser.findElements(By.cssSelector("#customers > *")).isEmpty());
        assertTrue(browser.findElements(By.cssSelector("#timeline > *")).isEmpty());
        assertFalse(browser.findElement(By.tagName("body")).getText().contains("نرگس"));
        assertNull(((JavascriptExecutor) browser).executeScript("return sessionStorage.getItem('taraz.adminToken')"),
                "a refused token is forgotten");
        assertTrue(browser.findElement(By.id("login")).isDisplayed(), "asked for the token again");
        screenshot("wrong-token");
    }

    @Test
    void theAskEndpointNeedsTheAdminTokenAKeyAndATicket() {
        Customer customer = plant("علی محمدی");
        String topupId = Topups.createOk(gateway.api(), customer.walletId, EARLIER_TOPUP_RIALS).getString("topupId");
        String path = "/v1/admin/topups/" + topupId + "/ask";
        JsonObject body = new JsonObject().put("ticket", "T-9");
        ApiClient api = gateway.api();

        assertEquals(401, api.post(path, ApiClient.newKey(), body).status(), "an API key is not the admin token");
        assertEquals("idempotency_key_missing", api.postAdmin(path, null, body).errorCode());
        assertEquals("missing_field", api.postAdmin(path, ApiClient.newKey(), new JsonObject()).errorCode());
        assertEquals("invalid_id", api.postAdmin("/v1/admin/topups/bad%20id/ask", ApiClient.newKey(), body).errorCode());
        assertEquals("topup_not_found", api.postAdmin("/v1/admin/topups/tp_none/ask", ApiClient.newKey(), body).errorCode());

        // The cardholder has not paid: the bank says so, and the top-up waits as it did.
        String key = ApiClient.newKey();
        ApiClient.Response asked = api.postAdmin(path, key, body);
        assertEquals(200, asked.status(), asked.text());
        assertEquals("REQUESTED", asked.json().getString("state"));
        assertEquals(topupId, asked.json().getString("topupId"));
        ApiClient.Response replayed = api.postAdmin(path, key, body);
        assertEquals(asked.text(), replayed.text());
        assertEquals("true", replayed.header("Idempotent-Replayed"));

        ApiClient.Response page = api.get("/console", Map.of());
        assertEquals(200, page.status());
        assertTrue(page.header("Content-Type").startsWith("text/html"));
        assertTrue(page.header("Content-Security-Policy").contains("default-src 'none'"));
        assertTrue(page.text().contains("dir=\"rtl\"") && page.text().contains("lang=\"fa\""));
        assertEquals(200, api.get("/console/console.js", Map.of()).status());
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** A planted passenger: a wallet with a phone of its own (+98 9xx) and a Persian name. */
    private record Customer(String walletId, String localPhone) { }

    private static Customer plant(String name) {
        StringBuilder subscriber = new StringBuilder("912");
        for (int i = 0; i < 7; i++) {
            subscriber.append(RANDOM.nextInt(10));
        }
        ApiClient.Response opened = gateway.api().post("/v1/wallets", ApiClient.newKey(), new JsonObject()
                .put("ownerId", ApiClient.newId("owner")).put("kind", "passenger").put("phone", "+98" + subscriber)
                .put("name", name));
        assertEquals(201, opened.status(), opened.text());
        // Support types the number as the customer says it, with a leading 0.
        return new Customer(opened.json().getString("walletId"), "0" + subscriber);
    }

    private static void signIn(String token) {
        WebElement input = browser.findElement(By.id("token"));
        Wait.until("the token form", UI_TIMEOUT_MILLIS, input::isDisplayed);
        input.sendKeys(token);
        browser.findElement(By.id("login-submit")).click();
    }

    private static void searchByPhone(String phone) {
        WebElement query = browser.findElement(By.id("query"));
        Wait.until("the search form", UI_TIMEOUT_MILLIS, query::isDisplayed);
        browser.findElement(By.cssSelector("#search-by option[value='phone']")).click();
        query.sendKeys(phone);
        browser.findElement(By.id("search-submit")).click();
    }

    /** The newest timeline item of that kind about that payment, once it shows that state. */
    private static WebElement awaitItem(String paymentId, String kind, String state) {
        By newest = By.cssSelector("#timeline li.item[data-kind='" + kind + "'][data-payment-id='" + paymentId + "']");
        return Wait.until(paymentId + " shown " + state, UI_TIMEOUT_MILLIS, () -> {
            try {
                List<WebElement> items = browser.findElements(newest);
                return items.isEmpty() || !state.equals(items.get(0).getDomAttribute("data-state")) ? null : items.get(0);
            } catch (StaleElementReferenceException e) {
                // The timeline was drawn anew (after an action) between the find and the read: look again.
                return null;
            }
        }, Objects::nonNull);
    }

    private static String timelineText() {
        return browser.findElement(By.id("story")).getText();
    }

    private static void screenshot(String name) throws IOException {
        Files.write(Path.of("target", "console-" + name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
    }
}
