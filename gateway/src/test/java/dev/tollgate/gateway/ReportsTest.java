package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerHead;
import dev.tollgate.meter.ledger.LedgerVerification;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger and the damages report end to end: a real gateway flags an entity and finalizes its
 * period, then flags it again and stops while that second period is provisional; the admin API and
 * {@code tollgate report} give the same figures from the ledger; {@code verify-ledger} passes, and
 * fails naming the record once one byte is changed; the HTML page, with a final and a provisional
 * period, loads in headless Chromium (DOM, screenshot and PDF) and reads without rough edges.
 */
@ExtendWith(LeakCheck.class)
class ReportsTest {
    static final String ME = "net:127.0.0.0/24";
    static final long HOUR = 3_600_000;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path data;

    /**
     * 250 posts in two hours against a threshold of 150: one flag, one final period of 250 posts; a day
     * later 200 posts: a second flag, whose period is provisional when the gateway stops 3 hours on.
     */
    @BeforeEach
    void run() throws Exception {
        data = dir.resolve("data");
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(),
                "meter:\n  threshold: 150\ndamages:\n  price: 15000\n  unit: 100\n")) {
            f.get("/2/tweets/search/recent?max_results=100");
            Await.value(() -> f.posts(ME), 100, "charged");
            f.clock.advance(HOUR);
            f.get("/2/tweets/search/recent?max_results=100");
            f.get("/2/tweets/search/recent?max_results=50");
            Await.value(() -> f.posts(ME), 250, "charged");
            f.clock.advance(25 * HOUR);
            f.gateway.tick();
            assertThat(f.gateway.ledger().awaitWritten(5000)).as("the final record is durable").isTrue();
            String csv = f.admin("/api/v1/reports/damages?format=csv").body();
            assertThat(csv).isEqualTo("entity_id,entity_name,period_start,period_end,status,posts,requests,amount,currency\r\n"
                    + "net:127.0.0.0/24,net:127.0.0.0/24,2026-11-23T01:01:00Z,2026-11-24T01:01:00Z,final,250,3,37500.00,USD\r\n");
            JsonNode json = JSON.readTree(f.admin("/api/v1/reports/damages?format=json&from=2026-11-24&entity=" + ME).body());
            JsonNode p = json.get("periods").get(0);
            assertThat(p.get("amount").asText()).isEqualTo("37500.00");
            assertThat(p.get("evidence").get("posts")).hasSize(2 * 1440 - 1);
            assertThat(json.get("totals").get("USD").asText()).isEqualTo("37500.00");
            assertThat(f.admin("/api/v1/reports/damages?format=pdf").statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(f.admin("/api/v1/status").body()).get("parts").get("ledger").asText()).isEqualTo("ok");

            f.clock.advance(HOUR);
            f.get("/2/tweets/search/recent?max_results=100");
            f.get("/2/tweets/search/recent?max_results=100");
            Await.value(() -> f.gateway.meter().incidents().size(), 2, "flagged again");
            f.clock.advance(3 * HOUR);
            f.gateway.tick();
            assertThat(f.gateway.ledger().awaitWritten(5000)).as("the second flag is durable").isTrue();
        }
    }

    @Test
    void offlineReport_fromTheDataDirectoryAlone_hasTheSameFigures() {
        CommandLineTest.Run csv = CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "csv");
        assertThat(csv.exit()).isZero();
        assertThat(csv.out()).contains("net:127.0.0.0/24,net:127.0.0.0/24,2026-11-23T01:01:00Z,2026-11-24T01:01:00Z,final,250,3,37500.00,USD");
        CommandLineTest.Run none = CommandLineTest.run("report", "--data-dir", data.toString(), "--from", "2026-12-01");
        assertThat(none.out().trim()).isEqualTo("entity_id,entity_name,period_start,period_end,status,posts,requests,amount,currency");
        assertThat(CommandLineTest.run("report", "--data-dir", data.toString(), "--from", "soon").err())
                .contains("--from: 'soon' (expected: a date like 2026-11-01");
        assertThat(CommandLineTest.run("report", "--data-dir", dir.resolve("nothing").toString()).exit()).isEqualTo(2);
    }

    @Test
    void verifyLedger_passes_thenFailsNamingTheRecord_whenOneByteChanges() throws Exception {
        CommandLineTest.Run ok = CommandLineTest.run("verify-ledger", "--data-dir", data.toString());
        assertThat(ok.exit()).isZero();
        assertThat(ok.out()).contains("OK, ").contains("records, hash chain intact");
        Path file = Ledger.fileIn(data);
        List<String> types = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            types.add(JSON.readTree(l).get("type").asText());
        }
        assertThat(types).startsWith("config", "start", "flag", "provisional", "final", "flag", "provisional").endsWith("provisional", "stop");
        String text = Files.readString(file);
        int at = text.indexOf("\"posts\":250");
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        b[at + 8] = '3'; // 250 → 350
        Files.write(file, b);
        CommandLineTest.Run broken = CommandLineTest.run("verify-ledger", "--data-dir", data.toString());
        assertThat(broken.exit()).isEqualTo(1);
        int line = text.substring(0, at).split("\n", -1).length;
        assertThat(broken.out()).contains("BROKEN at line " + line + " (record " + line + ")", "altered");
    }

    @Test
    void htmlReport_withAFinalAndAProvisionalPeriod_readsWellInHeadlessChromium() throws Exception {
        Path html = dir.resolve("report.html");
        assertThat(CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "html", "--out", html.toString()).exit()).isZero();
        String page = Files.readString(html);
        assertThat(page).contains("<table id=\"periods\">", "<svg class=\"chart\"", "37,500.00 USD").doesNotContain("<script", "http://", "https://");
        LedgerHead head = LedgerHead.of(LedgerVerification.of(Ledger.fileIn(data)).records());
        String browser = chromium();
        Assumptions.assumeTrue(browser != null, "SKIPPED: no Chromium here (.ci/run installs Debian's chromium); the HTML was checked as text only");
        Process p = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + dir.resolve("chrome-profile"), "--dump-dom", html.toUri().toString())
                .redirectError(dir.resolve("chrome.err").toFile()).start();
        byte[] dom = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        assertThat(p.exitValue()).as("chromium exit; stderr: %s", Files.readString(dir.resolve("chrome.err"))).isZero();
        String rendered = new String(dom, StandardCharsets.UTF_8);
        assertThat(rendered).contains("<table id=\"periods\">", "<polyline class=\"count\"", "<line class=\"threshold\"", ">threshold 150</text>");
        assertThat(rendered).as("a final and a provisional period").contains("<section class=\"period final\"", "<section class=\"period provisional\"");
        assertThat(rendered).as("the open range in words").contains("All damage periods in the ledger, up to now").doesNotContain("+10000", "9999");
        assertThat(rendered).as("an entity outside the directory: its id once").doesNotContain(ME + " (" + ME + ")")
                .doesNotContainPattern(Pattern.quote(ME) + "\\s*<span class=\"id\">" + Pattern.quote(ME));
        assertThat(rendered).as("amounts with thousands separators").contains("37,500.00 USD", "30,000.00 USD");
        assertThat(rendered).as("the ledger head on the page, and at the foot of every printed page")
                .contains("Ledger: " + head.records() + " records, head hash <code>" + head.hash() + "</code>")
                .contains("@bottom-left { content: \"Ledger: " + head.records() + " records, head hash " + head.hash() + "\"");
        assertThat(rendered).contains("<dd class=\"record\">no. 5 (the final record");

        Matcher asOf = Pattern.compile("<dd class=\"as-of\">(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d):\\d\\d UTC").matcher(rendered);
        assertThat(asOf.find()).as("the provisional period's as-of").isTrue();
        String provisional = rendered.substring(rendered.indexOf("<section class=\"period provisional\""));
        Matcher row = Pattern.compile("<tr><td>(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d) UTC</td>").matcher(provisional);
        List<String> hours = new java.util.ArrayList<>();
        while (row.find()) {
            hours.add(row.group(1));
        }
        assertThat(hours).as("hourly rows of the provisional period").isNotEmpty()
                .allSatisfy(h -> assertThat(h).as("no hour after the as-of time %s", asOf.group(1)).isLessThanOrEqualTo(asOf.group(1)));
        assertThat(hours.size()).as("less than the 48 hours of evidence").isLessThan(47);

        Path png = dir.resolve("report.png");
        Process shot = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--user-data-dir=" + dir.resolve("chrome-profile3"), "--window-size=1000,2400", "--screenshot=" + png, html.toUri().toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("shot.log").toFile()).start();
        assertThat(shot.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(png).exists();
        byte[] image = Files.readAllBytes(png);
        assertThat(image.length).as("a screenshot").isGreaterThan(20_000);
        assertThat(new String(image, 1, 3, StandardCharsets.ISO_8859_1)).isEqualTo("PNG");
        Files.createDirectories(Path.of("target"));
        // left in target/ to look at
        Files.copy(png, Path.of("target", "report-screenshot.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(html, Path.of("target", "report.html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        Path pdf = dir.resolve("report.pdf");
        Process print = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + dir.resolve("chrome-profile2"), "--no-pdf-header-footer", "--print-to-pdf=" + pdf, html.toUri().toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("print.log").toFile()).start();
        assertThat(print.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(pdf).exists();
        assertThat(Files.size(pdf)).as("printed pages").isGreaterThan(5_000);
        assertThat(new String(Files.readAllBytes(pdf), StandardCharsets.ISO_8859_1)).startsWith("%PDF");
    }

    static String chromium() {
        for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
            for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
                if (Files.isExecutable(Path.of(d, name))) {
                    return Path.of(d, name).toString();
                }
            }
        }
        return null;
    }
}
