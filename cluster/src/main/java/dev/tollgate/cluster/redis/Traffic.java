package dev.tollgate.cluster.redis;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What this gateway sends Redis, for the metrics and the figures of issue 12 (commands/s and
 * bytes/s per gateway): every {@code FCALL} and the size of its RESP request, computed from its
 * arguments (no hook into Lettuce's encoder needed). Any thread; atomics.
 */
final class Traffic {
    private final AtomicLong commands = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();

    long commands() {
        return commands.get();
    }

    long bytes() {
        return bytes.get();
    }

    /** Counts one command and its RESP request size: {@code *N}, then {@code $len} + data per argument. */
    void count(String function, String[] keys, String[] args) {
        long n = 3 + keys.length + args.length;
        long size = 3 + digits(n) + bulk("FCALL") + bulk(function) + bulk(Integer.toString(keys.length));
        for (String k : keys) {
            size += bulk(k);
        }
        for (String a : args) {
            size += bulk(a);
        }
        commands.incrementAndGet();
        bytes.addAndGet(size);
    }

    private static long bulk(String s) {
        int len = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            len += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return 5 + digits(len) + len;
    }

    private static int digits(long n) {
        return Long.toString(n).length();
    }
}
