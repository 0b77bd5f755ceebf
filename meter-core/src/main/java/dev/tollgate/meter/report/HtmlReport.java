package dev.tollgate.meter.report;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/**
 * The damages report as one self-contained HTML page a lawyer can read and print (A4 or Letter):
 * a summary, per-entity totals, and for each damage period its figures, how they follow from the
 * rule, an inline SVG chart of the sliding 24-hour count against the threshold, and the hourly
 * evidence. No script, no external asset.
 */
final class HtmlReport {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter AS_OF = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private HtmlReport() {
    }

    static String render(DamageReport r) {
        StringBuilder b = new StringBuilder(32_768);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Damages report</title>\n<style>\n")
                .append(CSS).append("</style>\n</head>\n<body>\n");
        b.append("<h1>Liquidated damages report</h1>\n<p class=\"meta\">");
        if (!r.from().isAfter(DamageReport.BEGINNING) && !r.to().isBefore(DamageReport.END)) {
            b.append("All damage periods in the ledger");
        } else {
            b.append("Periods overlapping ").append(esc(TIME.format(r.from()))).append(" to ").append(esc(TIME.format(r.to())));
        }
        if (r.entity() != null) {
            b.append(", entity ").append(esc(r.entity()));
        }
        b.append(". Generated ").append(esc(TIME.format(r.generatedAt()))).append(" from the Tollgate ledger.</p>\n");
        asOf(b, r);
        b.append("<p class=\"meta\" id=\"ledger-head\">Ledger: ").append(r.ledgerHead().records()).append(" records, head hash <code>")
                .append(esc(r.ledgerHead().hash())).append("</code> (check with <code>tollgate verify-ledger --expect-head</code>).</p>\n");

        b.append("<h2>Summary</h2>\n");
        if (r.periods().isEmpty()) {
            b.append("<p id=\"summary\">No damage period in this range.</p>\n");
        } else {
            b.append("<p id=\"summary\">").append(r.periods().size()).append(r.periods().size() == 1 ? " damage period" : " damage periods")
                    .append(", ").append(r.totals().size()).append(r.totals().size() == 1 ? " entity" : " entities").append("; total ");
            boolean first = true;
            for (Map.Entry<String, BigDecimal> t : r.grandTotals().entrySet()) {
                b.append(first ? "" : " + ").append("<strong>").append(money(t.getValue(), t.getKey())).append("</strong>");
                first = false;
            }
            b.append(".</p>\n");
            b.append("<table id=\"periods\">\n<thead><tr><th>Entity</th><th>Period start</th><th>Period end</th><th>Status</th>")
                    .append("<th class=\"n\">Posts</th><th class=\"n\">Requests</th><th class=\"n\">Amount</th></tr></thead>\n<tbody>\n");
            for (DamagePeriod p : r.periods()) {
                b.append("<tr><td>").append(esc(p.entityName())).append(" <span class=\"id\">").append(esc(p.entityId())).append("</span></td><td>")
                        .append(esc(TIME.format(p.periodStart()))).append("</td><td>").append(esc(TIME.format(p.periodEnd()))).append("</td><td>")
                        .append(esc(p.status())).append("</td><td class=\"n\">").append(grouped(p.posts())).append("</td><td class=\"n\">")
                        .append(grouped(p.requests())).append("</td><td class=\"n\">").append(money(p.amount(), p.currency()))
                        .append("</td></tr>\n");
            }
            b.append("</tbody>\n</table>\n");

            b.append("<h2>Per entity</h2>\n<table id=\"entities\">\n<thead><tr><th>Entity</th><th class=\"n\">Periods</th>")
                    .append("<th class=\"n\">Posts</th><th class=\"n\">Amount</th></tr></thead>\n<tbody>\n");
            for (DamageReport.EntityTotal t : r.totals()) {
                b.append("<tr><td>").append(esc(t.entityName())).append(" <span class=\"id\">").append(esc(t.entityId())).append("</span></td><td class=\"n\">")
                        .append(t.periods()).append("</td><td class=\"n\">").append(grouped(t.posts())).append("</td><td class=\"n\">")
                        .append(money(t.amount(), t.currency())).append("</td></tr>\n");
            }
            b.append("</tbody>\n</table>\n");
        }
        for (DamagePeriod p : r.periods()) {
            period(b, p);
        }
        b.append("<footer>Every figure above follows from the evidence in the JSON form of this report: the posts and requests ")
                .append("of each bucket of the 48 hours around each flag, the rule, and the terms.</footer>\n</body>\n</html>\n");
        return b.toString();
    }

    /** The visible "as of" line (SPEC §6): when the figures were taken, and where provisional ones came from. */
    private static void asOf(StringBuilder b, DamageReport r) {
        b.append("<p class=\"meta\" id=\"as-of\">Figures as of <time datetime=\"").append(esc(r.asOf().toString())).append("\">")
                .append(esc(AS_OF.format(r.asOf()))).append("</time>.");
        if (r.hasProvisional()) {
            b.append(" Provisional periods are shown as they stood at their own as-of time; they may grow until they become final.");
            if (r.asOf().isBefore(r.generatedAt().minusSeconds(1))) {
                b.append(" Their figures come from the ledger's latest provisional update, which a running gateway writes at least")
                        .append(" hourly and at shutdown.");
            }
        }
        b.append("</p>\n");
    }

    private static void period(StringBuilder b, DamagePeriod p) {
        b.append("<section class=\"period\" id=\"").append(esc(p.incidentId().replace('#', '-'))).append("\">\n<h2>")
                .append(esc(p.entityName())).append(" — period ").append(p.sequence()).append(" (").append(esc(p.status())).append(")</h2>\n");
        b.append("<dl>\n<dt>Entity</dt><dd>").append(esc(p.entityName())).append(" (").append(esc(p.entityId())).append(")</dd>\n")
                .append("<dt>Flagged</dt><dd>").append(esc(TIME.format(p.flaggedAt()))).append(": ").append(grouped(p.flagCount()))
                .append(" posts in the preceding 24 hours, more than the threshold of ").append(grouped(p.threshold())).append("</dd>\n")
                .append("<dt>Damage period</dt><dd>").append(esc(TIME.format(p.periodStart()))).append(" to ").append(esc(TIME.format(p.periodEnd())))
                .append(": ").append(grouped(p.posts())).append(" posts, ").append(grouped(p.requests())).append(" requests</dd>\n")
                .append("<dt>How it was chosen</dt><dd>Among the 24-hour periods that start no earlier than ")
                .append(esc(TIME.format(p.evidence().earliestStart()))).append(" and no later than the flag, the one with the most posts")
                .append(" (the earliest on ties).</dd>\n")
                .append("<dt>Amount</dt><dd>").append(grouped(p.posts())).append(" posts × ").append(esc(p.terms().price().toPlainString()))
                .append(' ').append(esc(p.terms().currency())).append(" ÷ ").append(grouped(p.terms().unit())).append(" posts, ")
                .append(esc(p.terms().rounding())).append(" = <strong>").append(money(p.amount(), p.currency())).append("</strong></dd>\n");
        if (!p.identifiers().isEmpty()) {
            b.append("<dt>Identifiers seen</dt><dd class=\"ids\">").append(esc(String.join(", ", p.identifiers()))).append("</dd>\n");
        }
        if (!p.isFinal()) {
            b.append("<dt>As of</dt><dd class=\"as-of\">").append(esc(AS_OF.format(p.asOf())))
                    .append(": provisional, the period as it stood then; final 24 hours after the flag</dd>\n");
        }
        b.append("<dt>Configuration</dt><dd class=\"id\">").append(esc(p.configVersion())).append("</dd>\n</dl>\n");
        chart(b, p);
        hourly(b, p);
        b.append("</section>\n");
    }

    /** The sliding 24-hour count over the evidence, the threshold, and the damage period shaded. */
    private static void chart(StringBuilder b, DamagePeriod p) {
        long[] counts = p.slidingCounts();
        int w = 640;
        int h = 220;
        int left = 70;
        int right = 10;
        int top = 10;
        int bottom = 30;
        long max = p.threshold();
        for (long c : counts) {
            max = Math.max(max, c);
        }
        max = max + max / 10 + 1;
        long first = p.evidence().firstBucket().toEpochMilli();
        long bucket = p.evidence().bucketMillis();
        long span = Math.max(1, counts.length * bucket);
        double plotW = w - left - right;
        double plotH = h - top - bottom;
        b.append("<figure>\n<svg class=\"chart\" viewBox=\"0 0 ").append(w).append(' ').append(h)
                .append("\" role=\"img\" aria-label=\"Sliding 24-hour post count against the threshold\">\n");
        double x0 = left + plotW * (p.periodStart().toEpochMilli() - first) / span;
        double x1 = left + plotW * (p.periodEnd().toEpochMilli() - first) / span;
        b.append(svg("<rect class=\"period\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\"/>%n", Math.max(left, x0), top,
                Math.max(0, Math.min(w - right, x1) - Math.max(left, x0)), plotH));
        double ty = top + plotH * (1 - (double) p.threshold() / max);
        b.append(svg("<line class=\"threshold\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>%n", left, ty, w - right, ty));
        b.append(svg("<text class=\"label\" x=\"%d\" y=\"%.1f\">threshold %,d</text>%n", left + 4, ty - 4, p.threshold()));
        StringBuilder pts = new StringBuilder();
        int step = Math.max(1, counts.length / 480);
        for (int k = 0; k < counts.length; k += step) {
            double x = left + plotW * (k + 1) * bucket / span;
            double y = top + plotH * (1 - (double) counts[k] / max);
            pts.append(svg("%.1f,%.1f ", x, y));
        }
        b.append("<polyline class=\"count\" points=\"").append(pts.toString().trim()).append("\"/>\n");
        double fx = left + plotW * (p.flaggedAt().toEpochMilli() - first) / span;
        b.append(svg("<line class=\"flag\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>%n", fx, top, fx, top + plotH));
        b.append(svg("<text class=\"label\" x=\"%.1f\" y=\"%d\">flag</text>%n", fx + 3, top + 12));
        b.append(svg("<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>%n", left, top + plotH, w - right, top + plotH));
        b.append(svg("<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>%n", left, top, left, top + plotH));
        b.append(svg("<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%,d</text>%n", left - 4, top + 4.0, max));
        b.append(svg("<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">0</text>%n", left - 4, top + plotH));
        for (int hr = 0; hr <= span / 3_600_000; hr += 12) {
            double x = left + plotW * hr * 3_600_000.0 / span;
            b.append(svg("<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", x, h - 10,
                    esc(DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneOffset.UTC).format(Instant.ofEpochMilli(first + hr * 3_600_000L)))));
        }
        b.append("</svg>\n<figcaption>Sliding 24-hour post count (line) against the threshold, over the 48 hours of evidence;")
                .append(" the shaded band is the damage period. Before the flag the count covers only the evidence, so it is a lower bound.")
                .append("</figcaption>\n</figure>\n");
    }

    private static void hourly(StringBuilder b, DamagePeriod p) {
        long first = p.evidence().firstBucket().toEpochMilli();
        long bucket = p.evidence().bucketMillis();
        long[] posts = p.evidence().posts();
        long[] reqs = p.evidence().requests();
        java.util.TreeMap<Long, long[]> hours = new java.util.TreeMap<>();
        for (int k = 0; k < posts.length; k++) {
            long hour = Math.floorDiv(first + k * bucket, 3_600_000L) * 3_600_000L;
            long[] v = hours.computeIfAbsent(hour, x -> new long[2]);
            v[0] += posts[k];
            v[1] += reqs[k];
        }
        b.append("<details class=\"evidence\" open><summary>Hourly evidence (").append(hours.size())
                .append(" hours; per-bucket figures in the JSON report)</summary>\n<table>\n<thead><tr><th>Hour</th><th class=\"n\">Posts</th>")
                .append("<th class=\"n\">Requests</th></tr></thead>\n<tbody>\n");
        hours.forEach((hour, v) -> b.append("<tr><td>").append(esc(TIME.format(Instant.ofEpochMilli(hour)))).append("</td><td class=\"n\">")
                .append(grouped(v[0])).append("</td><td class=\"n\">").append(grouped(v[1])).append("</td></tr>\n"));
        b.append("</tbody>\n</table>\n</details>\n");
    }

    private static String money(BigDecimal amount, String currency) {
        return esc(String.format(Locale.ROOT, "%,.2f", amount) + " " + currency);
    }

    /** {@code 1,234,567}: thousands grouped with commas whatever the JVM's locale (SPEC §7). */
    private static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** SVG markup: numbers with a decimal point whatever the JVM's locale (a decimal comma breaks the chart). */
    private static String svg(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }


    private static final String CSS = """
            body { font: 11pt/1.45 Georgia, 'Times New Roman', serif; color: #111; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
            h1 { font-size: 20pt; margin-bottom: .2rem; }
            h2 { font-size: 14pt; margin-top: 1.6rem; border-bottom: 1px solid #999; }
            .meta, figcaption, footer { color: #444; font-size: 9.5pt; }
            table { border-collapse: collapse; width: 100%; margin: .6rem 0; font-size: 10pt; }
            th, td { border-bottom: 1px solid #ccc; padding: .25rem .4rem; text-align: left; vertical-align: top; }
            th { border-bottom: 2px solid #555; }
            .n { text-align: right; font-variant-numeric: tabular-nums; }
            .id { color: #555; font-family: 'DejaVu Sans Mono', Menlo, monospace; font-size: 8.5pt; word-break: break-all; }
            .ids { font-family: 'DejaVu Sans Mono', Menlo, monospace; font-size: 8.5pt; word-break: break-all; }
            dl { display: grid; grid-template-columns: 11rem 1fr; gap: .2rem .8rem; }
            dt { font-weight: bold; }
            dd { margin: 0; }
            svg.chart { width: 100%; height: auto; border: 1px solid #ccc; }
            svg .count { fill: none; stroke: #1f4e9c; stroke-width: 1.6; }
            svg .threshold { stroke: #b3261e; stroke-width: 1.2; stroke-dasharray: 6 4; }
            svg .flag { stroke: #555; stroke-width: 1; stroke-dasharray: 2 3; }
            svg .period { fill: #f2c94c; opacity: .35; }
            svg .axis { stroke: #333; stroke-width: 1; }
            svg text { font: 9px sans-serif; fill: #333; }
            footer { margin-top: 2rem; border-top: 1px solid #999; padding-top: .5rem; }
            @page { size: auto; margin: 16mm 14mm; }
            @media print {
              body { margin: 0; max-width: none; font-size: 10pt; }
              section.period { break-inside: avoid-page; page-break-inside: avoid; }
              details.evidence { display: block; }
              details.evidence > summary { list-style: none; }
              tr, figure { break-inside: avoid; }
              h2 { break-after: avoid; }
            }
            """;
}
