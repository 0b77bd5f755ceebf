package dev.tollgate.gateway.access;

import java.time.Instant;

/**
 * The access log's time and durations, written into one reused character buffer: the text is
 * exactly {@link Instant#toString()} of the line's epoch milliseconds, and seconds with six
 * decimals as {@code BigDecimal.valueOf(micros, 6).toString()} writes them, without building a
 * string or a formatter context per line. The date and time up to the second are formatted once
 * per second. Used by the access log's writer thread only.
 */
final class LineTimes {
    private final char[] chars = new char[48];
    private long second = Long.MIN_VALUE;
    /** {@code Instant.ofEpochSecond(second).toString()} without its closing {@code Z}. */
    private String upToSecond;

    /** The buffer the last call wrote. */
    char[] chars() {
        return chars;
    }

    /** Writes the instant of {@code epochMillis} as {@link Instant#toString()} does; returns its length. */
    int instant(long epochMillis) {
        long s = Math.floorDiv(epochMillis, 1000L);
        int ms = (int) Math.floorMod(epochMillis, 1000L);
        if (s != second) {
            String t = Instant.ofEpochSecond(s).toString();
            upToSecond = t.substring(0, t.length() - 1);
            second = s;
        }
        int n = upToSecond.length();
        upToSecond.getChars(0, n, chars, 0);
        if (ms != 0) { // Instant prints no fraction for a whole second, else milliseconds as three digits
            chars[n++] = '.';
            chars[n++] = (char) ('0' + ms / 100);
            chars[n++] = (char) ('0' + ms / 10 % 10);
            chars[n++] = (char) ('0' + ms % 10);
        }
        chars[n++] = 'Z';
        return n;
    }

    /** Writes {@code nanos} as seconds with six decimals, truncated to the microsecond; returns its length. */
    int seconds(long nanos) {
        long micros = nanos / 1_000;
        if (micros < 0) { // never from a clock that runs forwards; written as before all the same
            String t = java.math.BigDecimal.valueOf(micros, 6).toString();
            t.getChars(0, t.length(), chars, 0);
            return t.length();
        }
        long whole = micros / 1_000_000;
        int fraction = (int) (micros % 1_000_000);
        int n = 0;
        if (whole == 0) {
            chars[n++] = '0';
        } else {
            String w = Long.toString(whole); // a request of a second or more: rare
            w.getChars(0, w.length(), chars, 0);
            n = w.length();
        }
        chars[n++] = '.';
        for (int div = 100_000; div > 0; div /= 10) {
            chars[n++] = (char) ('0' + fraction / div % 10);
        }
        return n;
    }
}
