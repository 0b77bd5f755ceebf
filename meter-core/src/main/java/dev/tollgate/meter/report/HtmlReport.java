package dev.tollgate.meter.report;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The damages report as one self-contained HTML page a lawyer can read and print (A4 or Letter):
 * a summary, per-entity totals, and for each damage period its figures, how they follow from the
 * rule, an inline SVG chart of the sliding 24-hour count against the threshold, and the hourly
 * evidence. No script, no external asset. Printed, every page carries the ledger head at its foot
 * (CSS page margin boxes); a provisional period shows nothing after its as-of time; numbers are
 * grouped the one way whatever the JVM's locale.
 */
final class HtmlReport {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter TICK = DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter AS_OF = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private HtmlReport() {
    }

    static String render(DamageReport r) {
        StringBuilder b = new StringBuilder(32_768);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Damages report</title>\n<style>\n")
                .append(CSS).append(pageFooter(r)).append("</style>\n</head>\n<body>\n");
        b.append("<h1>Liquidated damages report</h1>\n<p class=\"meta\" id=\"range\">").append(esc(range(r)));
        if (r.entity() != null) {
            b.append(", entity ").append(esc(r.entity()));
        }
        b.append(". Generated ").append(esc(TIME.format(r.generatedAt()))).append(" from the Tollgate ledger.</p>\n");
        asOf(b, r);
        String head = ledgerHead(r);
        b.append("<p class=\"meta\" id=\"ledger-head\">").append(head)
                .append(" (check with <code>tollgate verify-ledger --data-dir DIR --expect-head ").append(esc(r.ledgerHead().hash()))
                .append("</code>).</p>\n");

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
            Map<String, BigDecimal> open = new java.util.TreeMap<>();
            r.periods().stream().filter(p -> !p.isFinal()).forEach(p -> open.merge(p.currency(), p.amount(), BigDecimal::add));
            if (!open.isEmpty()) {
                b.append(" (of which ");
                first = true;
                for (Map.Entry<String, BigDecimal> t : open.entrySet()) {
                    b.append(first ? "" : " + ").append(money(t.getValue(), t.getKey()));
                    first = false;
                }
                b.append(" provisional, which may still grow)");
            }
            b.append(".</p>\n");
            b.append("<table id=\"periods\">\n<thead><tr><th>Entity</th><th>Period start</th><th>Period end</th><th>Status</th>")
                    .append("<th class=\"n\">Posts</th><th class=\"n\">Requests</th><th class=\"n\">Amount</th></tr></thead>\n<tbody>\n");
            for (DamagePeriod p : r.periods()) {
                b.append("<tr><td>").append(who(p.entityName(), p.entityId())).append("</td><td class=\"t\">")
                        .append(esc(TIME.format(p.periodStart()))).append("</td><td class=\"t\">").append(esc(TIME.format(p.periodEnd())))
                        .append("</td><td>")
                        .append(esc(p.status())).append("</td><td class=\"n\">").append(grouped(p.posts())).append("</td><td class=\"n\">")
                        .append(grouped(p.requests())).append("</td><td class=\"n\">").append(money(p.amount(), p.currency()))
                        .append("</td></tr>\n");
            }
            b.append("</tbody>\n</table>\n");

            b.append("<h2>Per entity</h2>\n<table id=\"entities\">\n<thead><tr><th>Entity</th><th class=\"n\">Periods</th>")
                    .append("<th class=\"n\">Posts</th><th class=\"n\">Amount</th></tr></thead>\n<tbody>\n");
            for (DamageReport.EntityTotal t : r.totals()) {
                b.append("<tr><td>").append(who(t.entityName(), t.entityId())).append("</td><td class=\"n\">")
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

    /** The range in words: an open bound (none given) is said to be open, never printed as the sentinel instant behind it. */
    static String range(DamageReport r) {
        if (r.openFrom() && r.openTo()) {
            return "All damage periods in the ledger, up to now";
        }
        if (r.openTo()) {
            return "Damage periods from " + TIME.format(r.from()) + " on";
        }
        if (r.openFrom()) {
            return "Damage periods until " + TIME.format(r.to()) + " (exclusive)";
        }
        return "Damage periods from " + TIME.format(r.from()) + " until " + TIME.format(r.to()) + " (exclusive)";
    }

    private static String ledgerHead(DamageReport r) {
        return "Ledger: " + grouped(r.ledgerHead().records()) + (r.ledgerHead().records() == 1 ? " record" : " records")
                + ", head hash <code>" + esc(r.ledgerHead().hash()) + "</code>";
    }

    /**
     * The foot of every printed page (CSS page margin boxes): the ledger head, which ties each sheet to the ledger,
     * and the page number. Only digits, commas and hex go into the CSS string.
     */
    static String pageFooter(DamageReport r) {
        String head = "Ledger: " + grouped(r.ledgerHead().records()) + (r.ledgerHead().records() == 1 ? " record" : " records")
                + ", head hash " + r.ledgerHead().hash().replaceAll("[^0-9A-Za-z]", "");
        return "@page {\n  @bottom-left { content: \"" + head + "\"; font: 7.5pt 'DejaVu Sans Mono', Menlo, monospace; color: #444; }\n"
                + "  @bottom-right { content: \"page \" counter(page) \" of \" counter(pages); font: 8pt Georgia, serif; color: #444; }\n}\n";
    }

    /** An entity as a reader needs it: its name and its id, the id once when the entity is its own name (outside the directory). */
    private static String who(String name, String id) {
        if (name == null || name.isBlank() || name.equals(id)) {
            return "<span class=\"id\">" + esc(id) + "</span>";
        }
        return esc(name) + " <span class=\"id\">" + esc(id) + "</span>";
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
        boolean outside = p.entityName() == null || p.entityName().isBlank() || p.entityName().equals(p.entityId());
        b.append("<section class=\"period ").append(p.isFinal() ? "final" : "provisional").append("\" id=\"")
                .append(esc(p.incidentId().replace('#', '-'))).append("\">\n<h2>").append(esc(outside ? p.entityId() : p.entityName()))
                .append(" — period ").append(p.sequence()).append(" (<span class=\"status\">").append(esc(p.status())).append("</span>)</h2>\n");
        b.append("<dl>\n<dt>Entity</dt><dd>");
        if (outside) {
            b.append("<span class=\"id\">").append(esc(p.entityId())).append("</span>, not in the entity directory (the entity is its identifier)");
        } else {
            b.append(esc(p.entityName())).append(" <span class=\"id\">").append(esc(p.entityId())).append("</span>");
        }
        b.append("</dd>\n")
                .append("<dt>Flagged</dt><dd>").append(esc(TIME.format(p.flaggedAt()))).append(": ").append(grouped(p.flagCount()))
                .append(" posts in the preceding 24 hours, more than the threshold of ").append(grouped(p.threshold())).append("</dd>\n")
                .append("<dt>Damage period</dt><dd>").append(esc(TIME.format(p.periodStart()))).append(" to ").append(esc(TIME.format(p.periodEnd())))
                .append(": ").append(grouped(p.posts())).append(" posts, ").append(grouped(p.requests())).append(" requests</dd>\n")
                .append("<dt>How it was chosen</dt><dd>Among the 24-hour periods that start no earlier than ")
                .append(esc(TIME.format(p.evidence().earliestStart()))).append(" and no later than the flag, the one with the most posts")
                .append(" (the earliest on ties).</dd>\n")
                .append("<dt>Amount</dt><dd>").append(grouped(p.posts())).append(" posts × ").append(esc(amount(p.terms().price())))
                .append(' ').append(esc(p.terms().currency())).append(" ÷ ").append(grouped(p.terms().unit())).append(" posts, ")
                .append(esc(p.terms().rounding())).append(" = <strong>").append(money(p.amount(), p.currency())).append("</strong></dd>\n");
        identifiers(b, p, outside);
        if (!p.isFinal()) {
            b.append("<dt>As of</dt><dd class=\"as-of\">").append(esc(AS_OF.format(p.asOf())))
                    .append(": provisional, the period as it stood then; final 24 hours after the flag</dd>\n");
        }
        b.append("<dt>Ledger record</dt><dd class=\"record\">");
        if (p.ledgerRecord() > 0) {
            b.append("no. ").append(grouped(p.ledgerRecord())).append(" (").append(p.isFinal() ? "the final record" : "the latest provisional record")
                    .append(" of this period)");
        } else {
            b.append("none yet: live figures of the running gateway, newer than its latest record");
        }
        b.append("</dd>\n<dt>Configuration</dt><dd class=\"id\">").append(esc(p.configVersion())).append("</dd>\n</dl>\n");
        chart(b, p);
        hourly(b, p);
        b.append("</section>\n");
    }

    /**
     * The identifiers: those by which the directory joined requests into the entity apart from those merely seen
     * with it (the networks its keys or accounts were used from). Records written before the split have only the lot.
     */
    private static void identifiers(StringBuilder b, DamagePeriod p, boolean outside) {
        if (outside) {
            List<String> others = p.identifiers().stream().filter(x -> !x.equals(p.entityId())).toList();
            if (!others.isEmpty()) {
                b.append("<dt>Also seen</dt><dd class=\"ids seen\">").append(esc(String.join(", ", others))).append("</dd>\n");
            }
            return;
        }
        if (p.directoryIdentifiers().isEmpty()) {
            if (!p.identifiers().isEmpty()) {
                b.append("<dt>Identifiers seen</dt><dd class=\"ids\">").append(esc(String.join(", ", p.identifiers())))
                        .append(" <span class=\"note\">(this record does not tell those joined by the directory from those seen)</span></dd>\n");
            }
            return;
        }
        b.append("<dt>Joined by the directory</dt><dd class=\"ids joined\">").append(esc(String.join(", ", p.directoryIdentifiers())))
                .append("</dd>\n");
        List<String> seen = p.seenIdentifiers();
        b.append("<dt>Seen with it</dt><dd class=\"ids seen\">")
                .append(seen.isEmpty() ? "none besides those above" : esc(String.join(", ", seen))
                        + " <span class=\"note\">(where its requests came from; not a ground for joining)</span>")
                .append("</dd>\n");
    }

    /**
     * The sliding 24-hour count over the evidence, the threshold, and the damage period shaded; for a provisional
     * period the line stops at its as-of time (nothing after it has happened yet). The count axis has round ticks
     * (1-2-5 steps), the time axis a label every 12 hours on the hour.
     */
    private static void chart(StringBuilder b, DamagePeriod p) {
        long[] counts = p.slidingCounts();
        int w = 640;
        int h = 220;
        int left = 70;
        int right = 10;
        int top = 10;
        int bottom = 30;
        long first = p.evidence().firstBucket().toEpochMilli();
        long bucket = p.evidence().bucketMillis();
        int shown = shownBuckets(p);
        long max = p.threshold();
        for (int k = 0; k < shown; k++) {
            max = Math.max(max, counts[k]);
        }
        long step = niceStep(max);
        long axisMax = (max / step + 1) * step; // room above the highest value, on a tick
        long span = Math.max(1, counts.length * bucket);
        double plotW = w - left - right;
        double plotH = h - top - bottom;
        b.append("<figure>\n<svg class=\"chart\" viewBox=\"0 0 ").append(w).append(' ').append(h)
                .append("\" role=\"img\" aria-label=\"Sliding 24-hour post count against the threshold\">\n");
        for (long v = 0; v <= axisMax; v += step) {
            double y = top + plotH * (1 - (double) v / axisMax);
            if (v > 0) {
                b.append(svg("<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>%n", left, y, w - right, y));
            }
            b.append(svg("<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%,d</text>%n", left - 4, y + 3, v));
        }
        double x0 = left + plotW * (p.periodStart().toEpochMilli() - first) / span;
        double x1 = left + plotW * (p.periodEnd().toEpochMilli() - first) / span;
        b.append(svg("<rect class=\"period\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\"/>%n", Math.max(left, x0), top,
                Math.max(0, Math.min(w - right, x1) - Math.max(left, x0)), plotH));
        boolean future = !p.isFinal() && shown < counts.length;
        double ax = future ? left + plotW * (p.asOf().toEpochMilli() - first) / span : w - right;
        if (future) {
            b.append(svg("<rect class=\"future\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\"/>%n", ax, top, w - right - ax, plotH));
        }
        double ty = top + plotH * (1 - (double) p.threshold() / axisMax);
        b.append(svg("<line class=\"threshold\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>%n", left, ty, w - right, ty));
        StringBuilder pts = new StringBuilder();
        int every = Math.max(1, counts.length / 480);
        for (int k = 0; k < shown; k += every) {
            pts.append(point(left, top, plotW, plotH, span, bucket, axisMax, k, counts[k]));
        }
        if (shown > 0 && (shown - 1) % every != 0) {
            pts.append(point(left, top, plotW, plotH, span, bucket, axisMax, shown - 1, counts[shown - 1]));
        }
        b.append("<polyline class=\"count\" points=\"").append(pts.toString().trim()).append("\"/>\n");
        double fx = left + plotW * (p.flaggedAt().toEpochMilli() - first) / span;
        b.append(svg("<line class=\"flag\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>%n", fx, top, fx, top + plotH));
        b.append(svg("<text class=\"label\" x=\"%.1f\" y=\"%d\">flag</text>%n", fx + 3, top + 12));
        if (future) {
            b.append(svg("<line class=\"as-of\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>%n", ax, top, ax, top + plotH));
            b.append(svg("<text class=\"label\" x=\"%.1f\" y=\"%d\">as of</text>%n", ax + 3, top + 24));
        }
        b.append(svg("<text class=\"label threshold-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">threshold %,d</text>%n", w - right - 4,
                ty - 4, p.threshold()));
        b.append(svg("<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>%n", left, top + plotH, w - right, top + plotH));
        b.append(svg("<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>%n", left, top, left, top + plotH));
        long twelve = 12 * 3_600_000L;
        for (long t = Math.floorDiv(first + twelve - 1, twelve) * twelve; t <= first + span; t += twelve) {
            double x = left + plotW * (t - first) / span;
            // a label would not fit in full at either edge: anchored inside the plot there
            String anchor = x > w - right - 30 ? "end" : x < left + 30 ? "start" : "middle";
            b.append(svg("<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>%n", x, h - 10, anchor,
                    esc(TICK.format(Instant.ofEpochMilli(t)))));
        }
        b.append("</svg>\n<figcaption>Sliding 24-hour post count (line) against the threshold (dashed), over the 48 hours of evidence")
                .append(p.isFinal() ? "" : " up to the as-of time (the grey part has not happened yet)")
                .append("; the shaded band is the damage period. Before the flag the count covers only the evidence, so it is a lower bound.")
                .append("</figcaption>\n</figure>\n");
    }

    private static String point(int left, int top, double plotW, double plotH, long span, long bucket, long axisMax, int k, long count) {
        double x = left + plotW * (k + 1) * bucket / span;
        double y = top + plotH * (1 - (double) count / axisMax);
        return svg("%.1f,%.1f ", x, y);
    }

    /** How many evidence buckets began before the period's as-of time (all of them for a final period). */
    static int shownBuckets(DamagePeriod p) {
        int n = p.evidence().posts().length;
        if (p.isFinal() || p.asOf() == null) {
            return n;
        }
        long since = p.asOf().toEpochMilli() - p.evidence().firstBucket().toEpochMilli();
        long begun = since <= 0 ? 0 : (since - 1) / p.evidence().bucketMillis() + 1; // buckets that start before it
        return (int) Math.min(n, begun);
    }

    /** A round step (1, 2 or 5 times a power of ten) that divides {@code 0..max} into 3 to 6 parts. */
    static long niceStep(long max) {
        long raw = Math.max(1, (max + 3) / 4);
        long pow = 1;
        while (pow <= raw / 10) {
            pow *= 10;
        }
        for (long m : new long[] {1, 2, 5, 10}) {
            if (m * pow >= raw) {
                return m * pow;
            }
        }
        return 10 * pow;
    }

    /** The hourly evidence table: for a provisional period only the hours begun by its as-of time. */
    private static void hourly(StringBuilder b, DamagePeriod p) {
        long first = p.evidence().firstBucket().toEpochMilli();
        long bucket = p.evidence().bucketMillis();
        long[] posts = p.evidence().posts();
        long[] reqs = p.evidence().requests();
        int shown = shownBuckets(p);
        java.util.TreeMap<Long, long[]> hours = new java.util.TreeMap<>();
        for (int k = 0; k < shown; k++) {
            long hour = Math.floorDiv(first + k * bucket, 3_600_000L) * 3_600_000L;
            long[] v = hours.computeIfAbsent(hour, x -> new long[2]);
            v[0] += posts[k];
            v[1] += reqs[k];
        }
        b.append("<details class=\"evidence\" open><summary>Hourly evidence (").append(hours.size()).append(hours.size() == 1 ? " hour" : " hours")
                .append(p.isFinal() ? "" : " up to the as-of time").append("; per-bucket figures in the JSON report)</summary>\n<table>\n")
                .append("<thead><tr><th>Hour</th><th class=\"n\">Posts</th><th class=\"n\">Requests</th></tr></thead>\n<tbody>\n");
        hours.forEach((hour, v) -> b.append("<tr><td>").append(esc(TIME.format(Instant.ofEpochMilli(hour)))).append("</td><td class=\"n\">")
                .append(grouped(v[0])).append("</td><td class=\"n\">").append(grouped(v[1])).append("</td></tr>\n"));
        b.append("</tbody>\n</table>\n</details>\n");
    }

    /** A decimal with thousands grouped and its own scale kept ({@code 15,000}, {@code 0.15}), whatever the JVM's locale. */
    private static String amount(BigDecimal v) {
        BigDecimal x = v.scale() < 0 ? v.setScale(0) : v;
        return String.format(Locale.ROOT, "%,." + x.scale() + "f", x);
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
            .n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            td.t { white-space: nowrap; }
            td .id { word-break: normal; white-space: nowrap; }
            .id { color: #555; font-family: 'DejaVu Sans Mono', Menlo, monospace; font-size: 8.5pt; word-break: break-all; }
            .ids { font-family: 'DejaVu Sans Mono', Menlo, monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
            dl { display: grid; grid-template-columns: 11rem 1fr; gap: .2rem .8rem; }
            dt { font-weight: bold; }
            dd { margin: 0; }
            svg.chart { width: 100%; height: auto; border: 1px solid #ccc; }
            svg .count { fill: none; stroke: #1f4e9c; stroke-width: 1.6; }
            svg .threshold { stroke: #b3261e; stroke-width: 1.2; stroke-dasharray: 6 4; }
            svg .flag { stroke: #555; stroke-width: 1; stroke-dasharray: 2 3; }
            svg .period { fill: #f2c94c; opacity: .35; }
            svg .future { fill: #e6e6e6; opacity: .6; }
            svg .as-of { stroke: #777; stroke-width: 1; }
            svg .grid { stroke: #e2e2e2; stroke-width: 1; }
            svg .axis { stroke: #333; stroke-width: 1; }
            svg text { font: 9px sans-serif; fill: #333; }
            footer { margin-top: 2rem; border-top: 1px solid #999; padding-top: .5rem; }
            .note { font-family: Georgia, 'Times New Roman', serif; font-size: 9pt; color: #555; overflow-wrap: normal; }
            @page { size: auto; margin: 16mm 14mm 18mm; }
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
