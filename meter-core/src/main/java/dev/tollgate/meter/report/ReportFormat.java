package dev.tollgate.meter.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/** The formats of the damages report (SPEC §6): CSV for spreadsheets, JSON with all evidence, HTML to read and print. */
public enum ReportFormat {
    CSV("text/csv; charset=utf-8", "csv"),
    JSON("application/json", "json"),
    HTML("text/html; charset=utf-8", "html");

    /** The CSV header, one row per damage period (SPEC §7). */
    public static final String CSV_HEADER = "entity_id,entity_name,period_start,period_end,status,posts,requests,amount,currency";

    private final String contentType;
    private final String extension;

    ReportFormat(String contentType, String extension) {
        this.contentType = contentType;
        this.extension = extension;
    }

    public String contentType() {
        return contentType;
    }

    public String extension() {
        return extension;
    }

    public static ReportFormat of(String name, String key) {
        for (ReportFormat f : values()) {
            if (f.extension.equals(name == null ? "" : name.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException(key + ": '" + name + "' (expected: csv, json or html)");
    }

    public byte[] render(DamageReport report) {
        return switch (this) {
            case CSV -> csv(report).getBytes(StandardCharsets.UTF_8);
            case JSON -> json(report);
            case HTML -> HtmlReport.render(report).getBytes(StandardCharsets.UTF_8);
        };
    }

    private static String csv(DamageReport report) {
        StringBuilder b = new StringBuilder(CSV_HEADER).append("\r\n");
        for (DamagePeriod p : report.periods()) {
            b.append(cell(p.entityId())).append(',').append(cell(p.entityName())).append(',')
                    .append(p.periodStart()).append(',').append(p.periodEnd()).append(',')
                    .append(p.status()).append(',').append(p.posts()).append(',').append(p.requests()).append(',')
                    .append(twoDecimals(p.amount())).append(',')
                    .append(p.currency()).append("\r\n");
        }
        return b.toString();
    }

    /** Two decimals as SPEC §7 asks; an amount with more (a 3-decimal currency) is written as it is, never rounded. */
    static String twoDecimals(BigDecimal amount) {
        return amount.scale() <= 2 ? amount.setScale(2).toPlainString() : amount.toPlainString();
    }

    /** RFC 4180: quoted when it holds a comma, quote or line break; a leading =,+,-,@ is defused for spreadsheets. */
    static String cell(String v) {
        String s = v == null ? "" : v;
        if (!s.isEmpty() && "=+-@".indexOf(s.charAt(0)) >= 0) {
            s = "'" + s;
        }
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    private static byte[] json(DamageReport report) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("generatedAt", report.generatedAt().toString());
        o.put("asOf", report.asOf().toString());
        // an open bound is null, never the sentinel instant that stands for it
        if (report.openFrom()) {
            o.putNull("from");
        } else {
            o.put("from", report.from().toString());
        }
        if (report.openTo()) {
            o.putNull("to");
        } else {
            o.put("to", report.to().toString());
        }
        if (report.entity() != null) {
            o.put("entity", report.entity());
        }
        o.putObject("ledger").put("records", report.ledgerHead().records()).put("head", report.ledgerHead().hash());
        ObjectNode totals = o.putObject("totals");
        for (Map.Entry<String, BigDecimal> t : report.grandTotals().entrySet()) {
            totals.put(t.getKey(), t.getValue().toPlainString());
        }
        ArrayNode entities = o.putArray("entities");
        for (DamageReport.EntityTotal t : report.totals()) {
            entities.addObject().put("id", t.entityId()).put("name", t.entityName()).put("periods", t.periods()).put("posts", t.posts())
                    .put("amount", t.amount().toPlainString()).put("currency", t.currency());
        }
        ArrayNode periods = o.putArray("periods");
        report.periods().forEach(p -> periods.add(p.toReportJson()));
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
