package dev.tollgate.meter.persist;

import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The line of the window files: {@code entity TAB bucketStartMillis TAB posts TAB requests}, the
 * entity with backslash escapes for tab, newline, carriage return and backslash. Counts are
 * absolute, so restoring keeps the largest value seen for a bucket.
 */
final class Lines {
    private Lines() {
    }

    static void line(StringBuilder b, String id, long t, long p, long r) {
        escape(b, id);
        b.append('\t').append(t).append('\t').append(p).append('\t').append(r).append('\n');
    }

    private static void escape(StringBuilder b, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char d = s.charAt(++i);
                b.append(d == 't' ? '\t' : d == 'n' ? '\n' : d == 'r' ? '\r' : d);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** One parsed line: entity, bucket start, posts, requests. */
    record Bucket(String entity, long bucketStartMillis, long posts, long requests) {
        void keepLargestIn(Map<String, NavigableMap<Long, long[]>> buckets) {
            long[] v = buckets.computeIfAbsent(entity, k -> new TreeMap<>()).computeIfAbsent(bucketStartMillis, k -> new long[2]);
            v[0] = Math.max(v[0], posts);
            v[1] = Math.max(v[1], requests);
        }
    }

    /** The line parsed; {@link NumberFormatException} or {@link IndexOutOfBoundsException} when it is not one. */
    static Bucket parse(String line) {
        int a = line.indexOf('\t');
        int b = line.indexOf('\t', a + 1);
        int c = line.indexOf('\t', b + 1);
        if (a < 0 || b < 0 || c < 0 || line.indexOf('\t', c + 1) >= 0) {
            throw new NumberFormatException("not a bucket line");
        }
        return new Bucket(unescape(line.substring(0, a)), Long.parseLong(line, a + 1, b, 10), Long.parseLong(line, b + 1, c, 10),
                Long.parseLong(line, c + 1, line.length(), 10));
    }
}
