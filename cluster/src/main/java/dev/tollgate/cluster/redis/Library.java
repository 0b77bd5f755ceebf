package dev.tollgate.cluster.redis;

import io.lettuce.core.RedisCommandExecutionException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code tollgate} Redis Function library ({@code tollgate.lua} beside this class, where its
 * design is argued) and its version, read from the library's own {@code tollgate_version}
 * function so the number lives in one place.
 */
final class Library {
    static final String CODE = read();
    static final long VERSION = version(CODE);

    private Library() {
    }

    /** Whether a call failed because the library is not loaded on the node that answered. */
    static boolean isMissing(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RedisCommandExecutionException && t.getMessage() != null
                    && t.getMessage().contains("Function not found")) {
                return true;
            }
        }
        return false;
    }

    private static String read() {
        try (InputStream in = Library.class.getResourceAsStream("tollgate.lua")) {
            if (in == null) {
                throw new IllegalStateException("tollgate.lua is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long version(String code) {
        Matcher m = Pattern.compile("'tollgate_version', callback = function\\(\\) return (\\d+) end").matcher(code);
        if (!m.find()) {
            throw new IllegalStateException("tollgate.lua: no tollgate_version function");
        }
        return Long.parseLong(m.group(1));
    }
}
