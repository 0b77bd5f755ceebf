package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.demo.Demo;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.damages.DamagesTerms;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every report reads the same on any JVM locale: on a German one (where {@code %,d} writes
 * {@code 1.600} and {@code %.2f} writes {@code 240.000,00}) the HTML page, its SVG chart, the CSV,
 * the JSON and the demo's summary keep the one format SPEC §7 and the README show.
 */
@ExtendWith(LeakCheck.class)
class ReportLocaleTest {
    static final String ME = "net:127.0.0.0/24";
    static final long HOUR = 3_600_000;
    /** An attribute value with a decimal comma, as {@code %.1f} writes on a German locale: the SVG would not draw. */
    static final Pattern DECIMAL_COMMA = Pattern.compile("=\"-?\\d+,\\d+\"");

    @TempDir
    Path dir;
    Locale saved;

    @BeforeEach
    void german() {
        saved = Locale.getDefault();
        Locale.setDefault(Locale.GERMANY);
    }

    @AfterEach
    void restore() {
        Locale.setDefault(saved);
    }

    @Test
    void reports_onAGermanLocale_writeNumbersTheOneWay() throws Exception {
        assertThat(String.format("%,d", 1600)).as("the locale is German").isEqualTo("1.600");
        Path data = dir.resolve("data");
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(),
                "meter:\n  threshold: 1500\ndamages:\n  price: 15000\n  unit: 100\n")) {
            for (int i = 0; i < 10; i++) {
                f.get("/2/tweets/search/recent?max_results=100");
            }
            Await.value(() -> f.posts(ME), 1000, "charged");
            f.clock.advance(HOUR);
            for (int i = 0; i < 6; i++) {
                f.get("/2/tweets/search/recent?max_results=100");
            }
            Await.value(() -> f.posts(ME), 1600, "charged");
            Await.value(() -> f.gateway.meter().incidents().size(), 1, "flagged");
            f.clock.advance(25 * HOUR);
            f.gateway.tick();
            Await.value(() -> f.gateway.meter().incidents().stream().filter(i -> i.status() == Incident.Status.FINAL).count(), 1, "final");

            String html = f.admin("/api/v1/reports/damages?format=html").body();
            assertThat(html).contains("240,000.00 USD", "1,600", "threshold of 1,500").doesNotContain("240.000,00", "1.600");
            assertThat(DECIMAL_COMMA.matcher(html).find()).as("an SVG coordinate with a decimal comma").isFalse();
            assertThat(html).containsPattern("<polyline class=\"count\" points=\"\\d+\\.\\d,\\d+\\.\\d ");
            assertThat(f.admin("/api/v1/reports/damages?format=csv").body()).contains(",1600,16,240000.00,USD");
            assertThat(f.admin("/api/v1/reports/damages?format=json").body()).contains("\"240000.00\"");
        }
        Path html = dir.resolve("report.html");
        assertThat(CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "html", "--out", html.toString()).exit()).isZero();
        assertThat(Files.readString(html)).contains("240,000.00 USD").doesNotContain("240.000,00");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Demo.summary(new Demo.Result(List.of(), 1_234_567, List.of("key:abc"), dir, DamagesTerms.standard(), html),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("1,234,567 requests went through").doesNotContain("1.234.567");
    }
}
