package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ledger.Ledger;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * One truth for provisional figures (SPEC §6): at one instant the admin API's incidents, its
 * entity view and the damages report in JSON, CSV and HTML give the same posts, amount and status
 * for an open incident that grew after its flag, and say as of when; the gateway writes a
 * provisional update of the open period every hour (moved by the test's clock) and at shutdown, so
 * the offline report follows it and says its as-of; and one range rule selects the same incidents
 * everywhere, checked at its boundaries.
 */
@ExtendWith(LeakCheck.class)
class ProvisionalFiguresTest {
    static final String ME = "net:127.0.0.0/24";
    static final long MINUTE = 60_000;
    static final long HOUR = 3_600_000;
    static final ObjectMapper JSON = new ObjectMapper();
    static final String YAML = "meter:\n  threshold: 150\ndamages:\n  price: 15000\n  unit: 100\n";

    @TempDir
    Path dir;

    /** 100 posts, an hour later 100 more (the flag at 200), ten minutes later 100 more: the open period grows to 300 after its flag. */
    private static void flagThenGrow(GatewayFixture f) throws Exception {
        f.get("/2/tweets/search/recent?max_results=100");
        Await.value(() -> f.posts(ME), 100, "charged");
        f.clock.advance(HOUR);
        f.get("/2/tweets/search/recent?max_results=100");
        Await.value(() -> f.posts(ME), 200, "charged");
        Await.isTrue(() -> f.gateway.meter().flagged(ME), "flagged once its records are durable");
        f.clock.advance(10 * MINUTE);
        f.get("/2/tweets/search/recent?max_results=100");
        Await.value(() -> f.posts(ME), 300, "charged");
        Await.value(f.gateway::meteredRequests, 3, "all charged");
    }

    @Test
    void adminApiAndEveryReportFormat_agreeAtOneInstant_onTheLiveFigureOfAnOpenIncident() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), YAML)) {
            flagThenGrow(f);
            String asOf = f.clock.instant().toString();

            HttpResponse<String> incidentsResponse = f.admin("/api/v1/incidents");
            JsonNode inc = JSON.readTree(incidentsResponse.body());
            assertThat(inc).hasSize(1);
            JsonNode i = inc.get(0);
            assertThat(i.get("status").asText()).isEqualTo("provisional");
            assertThat(i.get("posts").asLong()).as("the live figure, grown after the flag").isEqualTo(300);
            assertThat(i.get("amount").asText()).isEqualTo("45000.00");
            assertThat(i.get("asOf").asText()).isEqualTo(asOf);
            assertThat(incidentsResponse.headers().firstValue("X-Tollgate-As-Of")).hasValue(asOf);

            JsonNode entity = JSON.readTree(f.admin("/api/v1/entities/" + java.net.URLEncoder.encode(ME, "UTF-8")).body());
            assertThat(entity.get("asOf").asText()).isEqualTo(asOf);
            assertThat(entity.get("incidents").get(0)).isEqualTo(i);

            HttpResponse<String> jsonResponse = f.admin("/api/v1/reports/damages?format=json");
            JsonNode json = JSON.readTree(jsonResponse.body());
            assertThat(json.get("asOf").asText()).isEqualTo(asOf);
            assertThat(jsonResponse.headers().firstValue("X-Tollgate-As-Of")).hasValue(asOf);
            JsonNode p = json.get("periods").get(0);
            assertThat(p.get("status").asText()).isEqualTo(i.get("status").asText());
            assertThat(p.get("posts").asLong()).isEqualTo(i.get("posts").asLong());
            assertThat(p.get("amount").asText()).isEqualTo(i.get("amount").asText());
            assertThat(p.get("periodStart").asText()).isEqualTo(i.get("periodStart").asText());
            assertThat(p.get("periodEnd").asText()).isEqualTo(i.get("periodEnd").asText());
            assertThat(p.get("asOf").asText()).isEqualTo(asOf);

            HttpResponse<String> csvResponse = f.admin("/api/v1/reports/damages?format=csv");
            assertThat(csvResponse.headers().firstValue("X-Tollgate-As-Of")).hasValue(asOf);
            assertThat(csvResponse.body()).isEqualTo("entity_id,entity_name,period_start,period_end,status,posts,requests,amount,currency\r\n"
                    + ME + "," + ME + "," + i.get("periodStart").asText() + "," + i.get("periodEnd").asText() + ",provisional,300,"
                    + i.get("requests").asLong() + ",45000.00,USD\r\n");

            HttpResponse<String> htmlResponse = f.admin("/api/v1/reports/damages?format=html");
            assertThat(htmlResponse.headers().firstValue("X-Tollgate-As-Of")).hasValue(asOf);
            assertThat(htmlResponse.body()).contains("<p class=\"meta\" id=\"as-of\">Figures as of <time datetime=\"" + asOf + "\">2026-11-24 01:10:00 UTC</time>.")
                    .contains("<td>provisional</td><td class=\"n\">300</td>").contains("45,000.00 USD")
                    .contains("<dt>As of</dt><dd class=\"as-of\">2026-11-24 01:10:00 UTC");
        }
    }

    @Test
    void offlineReport_followsTheHourlyProvisionalUpdate_andTheShutdownOne_andSaysItsAsOf() throws Exception {
        Path data = dir.resolve("data");
        Instant hourly;
        Instant shutdown;
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), YAML)) {
            flagThenGrow(f); // flag at 01:00 (200 posts), 300 posts at 01:10
            f.gateway.tick();
            assertThat(provisionalRecords(data)).as("no update before an hour has passed since the flag's record").hasSize(1);
            CommandLineTest.Run before = CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "csv");
            assertThat(before.out()).contains(",provisional,200,");

            f.clock.advance(50 * MINUTE); // 02:00, an hour after the flag
            f.gateway.tick();
            hourly = f.clock.instant();
            List<JsonNode> records = provisionalRecords(data);
            assertThat(records).hasSize(2);
            assertThat(records.get(1).get("posts").asLong()).isEqualTo(300);
            assertThat(records.get(1).get("asOf").asText()).isEqualTo(hourly.toString());
            assertThat(records.get(1).get("evidence").get("posts")).as("the full evidence, as at the flag").hasSize(2 * 1440 - 1);
            assertThat(f.admin("/metrics").body()).contains("tollgate_provisional_updates_total 1.0");

            f.gateway.tick();
            f.clock.advance(59 * MINUTE);
            f.gateway.tick();
            assertThat(provisionalRecords(data)).as("hourly, not every tick").hasSize(2);

            CommandLineTest.Run csv = CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "csv");
            assertThat(csv.exit()).isZero();
            assertThat(csv.out()).contains(",provisional,300,").contains(",45000.00,USD");
            assertThat(csv.err()).contains("tollgate: figures as of " + hourly + " (provisional periods as of their latest provisional record");
            JsonNode json = JSON.readTree(CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "json").out());
            assertThat(json.get("asOf").asText()).isEqualTo(hourly.toString());
            assertThat(json.get("periods").get(0).get("asOf").asText()).isEqualTo(hourly.toString());
            String html = CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "html").out();
            assertThat(html).contains("Figures as of <time datetime=\"" + hourly + "\">2026-11-24 02:00:00 UTC</time>.")
                    .contains("from the ledger's latest provisional update");

            f.get("/2/tweets/search/recent?max_results=100"); // 400 posts at 02:59
            Await.value(() -> f.posts(ME), 400, "charged");
            Await.value(f.gateway::meteredRequests, 4, "all charged");
            f.clock.advance(MINUTE);
            f.gateway.tick(); // 03:00: the next hourly update
            assertThat(provisionalRecords(data)).hasSize(3);
            assertThat(provisionalRecords(data).get(2).get("posts").asLong()).isEqualTo(400);
            f.clock.advance(5 * MINUTE);
            shutdown = f.clock.instant();
        }
        List<JsonNode> records = provisionalRecords(data);
        assertThat(records).as("one more at shutdown").hasSize(4);
        assertThat(records.get(3).get("asOf").asText()).isEqualTo(shutdown.toString());
        List<String> types = types(data);
        assertThat(types.subList(types.size() - 2, types.size())).containsExactly("provisional", "stop");
        CommandLineTest.Run csv = CommandLineTest.run("report", "--data-dir", data.toString(), "--format", "csv");
        assertThat(csv.out()).contains(",provisional,400,");
        assertThat(csv.err()).contains("figures as of " + shutdown);
    }

    @Test
    void afterARestart_theHourlyUpdatesGoOnFromTheLedgersLatestProvisionalRecord() throws Exception {
        Path data = dir.resolve("data");
        dev.tollgate.meter.ManualClock clock;
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), YAML)) {
            flagThenGrow(f); // flag at 01:00, 300 posts at 01:10
            f.clock.advance(30 * MINUTE);
            clock = f.clock;
        } // 01:40: the shutdown update
        assertThat(provisionalRecords(data)).hasSize(2);
        clock.advance(20 * MINUTE); // 02:00: an hour after the flag, 20 minutes after the latest record
        try (Gateway g = GatewayFixture.startGateway(dir, "http://127.0.0.1:9", YAML, clock, dev.tollgate.meter.MeterListener.none())) {
            assertThat(g.meter().flagged(ME)).as("the open incident is restored").isTrue();
            g.tick();
            assertThat(provisionalRecords(data)).as("not due: the latest is 20 minutes old").hasSize(2);
            clock.advance(40 * MINUTE); // 02:40
            g.tick();
            List<JsonNode> records = provisionalRecords(data);
            assertThat(records).hasSize(3);
            assertThat(records.get(2).get("asOf").asText()).isEqualTo("2026-11-24T02:40:00Z");
            assertThat(records.get(2).get("posts").asLong()).as("the restored window's figure").isEqualTo(300);
        }
    }

    @Test
    void oneRangeRule_periodOverlapsFromTo_selectsTheSameIncidentsInTheApiTheReportsAndTheCli() throws Exception {
        Path data = dir.resolve("data");
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), YAML)) {
            flagThenGrow(f);
            f.clock.advance(25 * HOUR);
            f.gateway.tick(); // final
            JsonNode all = JSON.readTree(f.admin("/api/v1/incidents").body());
            assertThat(all).hasSize(1);
            Instant start = Instant.parse(all.get(0).get("periodStart").asText());
            Instant end = Instant.parse(all.get(0).get("periodEnd").asText());
            Instant flag = Instant.parse(all.get(0).get("flaggedAt").asText());
            assertThat(flag).isAfter(start).isBefore(end);
            // [from, to) → selected?
            Object[][] cases = {
                {end, null, false}, // from = period end: the period ended before the range begins
                {end.minusMillis(1), null, true},
                {null, start, false}, // to = period start: the range ends as the period begins (to is exclusive)
                {null, start.plusMillis(1), true},
                {flag.plusSeconds(1), null, true}, // after the flag but inside the period: selected (the old API said no)
                {start.minusSeconds(3600), start.minusSeconds(60), false},
                {start.minusSeconds(3600), end.plusSeconds(3600), true},
            };
            for (Object[] c : cases) {
                String q = (c[0] == null ? "" : "from=" + c[0]) + (c[0] != null && c[1] != null ? "&" : "") + (c[1] == null ? "" : "to=" + c[1]);
                int expected = (boolean) c[2] ? 1 : 0;
                assertThat(JSON.readTree(f.admin("/api/v1/incidents?" + q).body())).as("incidents " + q).hasSize(expected);
                assertThat(JSON.readTree(f.admin("/api/v1/reports/damages?format=json&" + q).body()).get("periods")).as("report " + q)
                        .hasSize(expected);
                assertThat(f.admin("/api/v1/reports/damages?format=csv&" + q).body().split("\r\n")).as("csv " + q).hasSize(1 + expected);
                List<String> args = new ArrayList<>(List.of("report", "--data-dir", data.toString(), "--format", "csv"));
                if (c[0] != null) {
                    args.addAll(List.of("--from", c[0].toString()));
                }
                if (c[1] != null) {
                    args.addAll(List.of("--to", c[1].toString()));
                }
                assertThat(CommandLineTest.run(args.toArray(String[]::new)).out().trim().split("\r\n")).as("cli " + q).hasSize(1 + expected);
            }
        }
    }

    private static List<JsonNode> provisionalRecords(Path data) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(Ledger.fileIn(data))) {
            JsonNode r = JSON.readTree(l);
            if (r.get("type").asText().equals("provisional")) {
                out.add(r);
            }
        }
        return out;
    }

    private static List<String> types(Path data) throws Exception {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(Ledger.fileIn(data))) {
            out.add(JSON.readTree(l).get("type").asText());
        }
        return out;
    }
}
