package dev.tollgate.meter.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.meter.ledger.LedgerHead;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What a reader sees on the report (issue 13): open ranges said in words, no hour after a
 * provisional period's as-of time, an entity outside the directory shown by its id once, amounts
 * with thousands separators, a chart with round ticks, identifiers joined by the directory apart
 * from those seen, the ledger head on every printed page and each period's ledger record.
 */
class HtmlReportTest {
    static final long MINUTE = 60_000;
    static final String HEAD = "ab".repeat(32);

    /** 1-minute buckets over the 48 hours around a flag at {@code flag}; {@code perMinute} posts each minute from {@code start} for a day. */
    static DamagePeriod period(String id, String name, int seq, String status, Instant flag, Instant asOf, long perMinute,
            List<String> ids, List<String> joined, long record) {
        Instant first = flag.minusSeconds(86_400).plusSeconds(60);
        int n = 2 * 1440 - 1;
        long[] posts = new long[n];
        long[] reqs = new long[n];
        for (int k = 0; k < 1440; k++) {
            posts[k] = perMinute;
            reqs[k] = 1;
        }
        long total = perMinute * 1440;
        BigDecimal amount = BigDecimal.valueOf(total).multiply(BigDecimal.valueOf(15000)).divide(BigDecimal.valueOf(1_000_000))
                .setScale(2, java.math.RoundingMode.HALF_UP);
        return new DamagePeriod(id, name, seq, status, flag, total, first, first.plusSeconds(86_400), total, 1440, amount, "USD",
                "rule", 1_000_000, 86_400_000, new DamagePeriod.Terms(BigDecimal.valueOf(15000), 1_000_000, "prorated", "USD"),
                new DamagePeriod.Evidence(first, MINUTE, first, posts, reqs), ids, joined, "cfg", asOf, record);
    }

    static DamageReport report(Instant from, Instant to) {
        Instant flag1 = Instant.parse("2026-11-20T12:00:00Z");
        Instant flag2 = Instant.parse("2026-11-24T06:00:00Z");
        Instant asOf = flag2.plusSeconds(5 * 3600 + 1800); // 11:30, 5½ hours after the flag
        DamagePeriod fin = period("net:127.0.0.0/24", "net:127.0.0.0/24", 1, "final", flag1, null, 1200, List.of("net:127.0.0.0/24"),
                List.of(), 7);
        DamagePeriod prov = period("acme", "Acme Data Ltd", 1, "provisional", flag2, asOf, 1300,
                List.of("key:e713853c76114360:me-1", "net:10.1.2.0/24", "net:127.0.0.0/24"), List.of("key:e713853c76114360:me-1"), 12);
        return new DamageReport(asOf, asOf, from, to, null, List.of(fin, prov), new LedgerHead(1234, HEAD));
    }

    @Test
    void html_readsWithoutRoughEdges() {
        String html = HtmlReport.render(report(DamageReport.BEGINNING, DamageReport.END));
        assertThat(html).contains("All damage periods in the ledger, up to now").doesNotContain("+10000", "9999-", "10000-01-01");
        assertThat(html).as("an entity outside the directory: its id once").doesNotContain("net:127.0.0.0/24 (net:127.0.0.0/24)")
                .doesNotContainPattern("net:127\\.0\\.0\\.0/24\\s*<span class=\"id\">net:127\\.0\\.0\\.0/24");
        assertThat(html).as("amounts grouped: 1,728,000 posts × 15,000 USD ÷ 1,000,000").contains("25,920.00 USD", "28,080.00 USD",
                "× 15,000 USD ÷ 1,000,000 posts");
        assertThat(html).contains("total <strong>54,000.00 USD</strong> (of which 28,080.00 USD provisional, which may still grow).");
        assertThat(html).contains("Ledger: 1,234 records, head hash <code>" + HEAD + "</code>")
                .as("at the foot of every printed page").contains("@bottom-left { content: \"Ledger: 1,234 records, head hash " + HEAD + "\"");
        assertThat(html).contains("<dd class=\"record\">no. 7 (the final record", "<dd class=\"record\">no. 12 (the latest provisional record");
        assertThat(html).contains("<dt>Joined by the directory</dt><dd class=\"ids joined\">key:e713853c76114360:me-1</dd>",
                "<dt>Seen with it</dt><dd class=\"ids seen\">net:10.1.2.0/24, net:127.0.0.0/24");

        String provisional = html.substring(html.indexOf("<section class=\"period provisional\""));
        assertThat(provisional).contains("2026-11-24 11:00 UTC").as("no hour after the as-of time (11:30)")
                .doesNotContain("<tr><td>2026-11-24 12:00 UTC").doesNotContain("<tr><td>2026-11-25");
        assertThat(provisional).contains("Hourly evidence (30 hours up to the as-of time");
        String fin = html.substring(html.indexOf("<section class=\"period final\""), html.indexOf("<section class=\"period provisional\""));
        assertThat(fin).contains("Hourly evidence (48 hours;");
    }

    @Test
    void chart_hasRoundTicks_aLabelledThreshold_andStopsAtAsOf() {
        String html = HtmlReport.render(report(DamageReport.BEGINNING, DamageReport.END));
        String fin = html.substring(html.indexOf("<section class=\"period final\""), html.indexOf("<section class=\"period provisional\""));
        assertThat(ticks(fin)).containsExactly("0", "500,000", "1,000,000", "1,500,000", "2,000,000");
        assertThat(fin).contains(">threshold 1,000,000</text>");
        String prov = html.substring(html.indexOf("<section class=\"period provisional\""));
        assertThat(ticks(prov)).containsExactly("0", "500,000", "1,000,000", "1,500,000", "2,000,000");
        Matcher line = Pattern.compile("<polyline class=\"count\" points=\"([^\"]*)\"").matcher(prov);
        assertThat(line.find()).isTrue();
        String[] pts = line.group(1).split(" ");
        double lastX = Double.parseDouble(pts[pts.length - 1].split(",")[0]);
        // plot from x=70 to 630 over 2879 minutes; the as-of time is minute 1440 + 330
        assertThat(lastX).as("the line ends at the as-of time").isCloseTo(70 + 560.0 * (1440 + 330) / 2879, org.assertj.core.data.Offset.offset(1.0));
        assertThat(prov).contains("<line class=\"as-of\"");
        assertThat(HtmlReport.niceStep(1_900_801)).isEqualTo(500_000);
        assertThat(HtmlReport.niceStep(250)).isEqualTo(100);
        assertThat(HtmlReport.niceStep(7)).isEqualTo(2);
    }

    private static List<String> ticks(String html) {
        Matcher m = Pattern.compile("<text class=\"tick\" x=\"66\" y=\"[\\d.]+\" text-anchor=\"end\">([\\d,]+)</text>").matcher(html);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    @Test
    void openRanges_inWords_andNullInJson() throws Exception {
        Instant nov = Instant.parse("2026-11-01T00:00:00Z");
        Instant dec = Instant.parse("2026-12-01T00:00:00Z");
        assertThat(HtmlReport.range(report(nov, DamageReport.END))).isEqualTo("Damage periods from 2026-11-01 00:00 UTC on");
        assertThat(HtmlReport.range(report(DamageReport.BEGINNING, dec))).isEqualTo("Damage periods until 2026-12-01 00:00 UTC (exclusive)");
        assertThat(HtmlReport.range(report(nov, dec))).isEqualTo("Damage periods from 2026-11-01 00:00 UTC until 2026-12-01 00:00 UTC (exclusive)");

        ObjectMapper m = new ObjectMapper();
        JsonNode open = m.readTree(ReportFormat.JSON.render(report(nov, DamageReport.END)));
        assertThat(open.get("from").asText()).isEqualTo("2026-11-01T00:00:00Z");
        assertThat(open.has("to")).as("the field stays").isTrue();
        assertThat(open.get("to").isNull()).as("an open bound is null, not the sentinel").isTrue();
        JsonNode all = m.readTree(ReportFormat.JSON.render(report(DamageReport.BEGINNING, DamageReport.END)));
        assertThat(all.get("from").isNull()).isTrue();
        assertThat(new String(ReportFormat.JSON.render(report(DamageReport.BEGINNING, DamageReport.END)), StandardCharsets.UTF_8))
                .doesNotContain("+10000", "1970-01-01");
        JsonNode prov = all.get("periods").get(1);
        assertThat(prov.get("directoryIdentifiers").toString()).isEqualTo("[\"key:e713853c76114360:me-1\"]");
        assertThat(prov.get("identifiers")).hasSize(3);
        assertThat(prov.get("ledgerRecord").asLong()).isEqualTo(12);
    }

    @Test
    void csv_keepsItsContract() {
        String csv = new String(ReportFormat.CSV.render(report(DamageReport.BEGINNING, DamageReport.END)), StandardCharsets.UTF_8);
        assertThat(csv).startsWith(ReportFormat.CSV_HEADER + "\r\n").contains(",final,1728000,1440,25920.00,USD\r\n")
                .contains(",provisional,1872000,1440,28080.00,USD\r\n");
    }

    @Test
    void aRecordWithoutDirectoryIdentifiers_stillReads_andIsShownAsBefore() {
        DamagePeriod p = report(DamageReport.BEGINNING, DamageReport.END).periods().get(1);
        com.fasterxml.jackson.databind.node.ObjectNode old = p.toJson();
        old.remove("directoryIdentifiers");
        DamagePeriod back = DamagePeriod.fromJson(old);
        assertThat(back.directoryIdentifiers()).isEmpty();
        assertThat(back.identifiers()).hasSize(3);
        List<LedgerRecord> records = List.of(new LedgerRecord(5, "provisional", p.asOf().toString(), old, HEAD));
        DamageReport r = DamageReport.fromLedger(records, DamageReport.BEGINNING, DamageReport.END, null, p.asOf());
        assertThat(r.periods().get(0).ledgerRecord()).isEqualTo(5);
        assertThat(HtmlReport.render(r)).contains("<dt>Identifiers seen</dt>").doesNotContain("Joined by the directory");
    }
}
