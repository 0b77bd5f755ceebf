package dev.tollgate.gateway.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The access log's reused time buffers write exactly what {@code Instant.toString()} and {@code BigDecimal} wrote. */
class LineTimesTest {
    private final LineTimes times = new LineTimes();

    private String instant(long millis) {
        return new String(times.chars(), 0, times.instant(millis));
    }

    private String seconds(long nanos) {
        return new String(times.chars(), 0, times.seconds(nanos));
    }

    @Test
    void instant_isInstantToString_wholeSecondsAndMillisAlike() {
        long base = Instant.parse("2026-11-25T19:00:54Z").toEpochMilli();
        for (long m : new long[] {base, base + 1, base + 10, base + 100, base + 999, base + 1000, base - 1, 0, -1, -1000, -1001,
                Instant.parse("+12026-01-01T00:00:00.5Z").toEpochMilli()}) {
            assertThat(instant(m)).as("millis %d", m).isEqualTo(Instant.ofEpochMilli(m).toString());
        }
        SplittableRandom r = new SplittableRandom(11);
        long t = base;
        for (int i = 0; i < 100_000; i++) {
            t += r.nextInt(0, 1500); // mostly within the cached second, sometimes past it
            assertThat(instant(t)).isEqualTo(Instant.ofEpochMilli(t).toString());
        }
    }

    @Test
    void seconds_isBigDecimalOfMicrosWithSixDecimals() {
        SplittableRandom r = new SplittableRandom(12);
        for (int i = 0; i < 100_000; i++) {
            long nanos = switch (i % 4) {
                case 0 -> r.nextLong(0, 2_000);
                case 1 -> r.nextLong(0, 10_000_000);
                case 2 -> r.nextLong(0, 100_000_000_000L);
                default -> r.nextLong(Long.MIN_VALUE, Long.MAX_VALUE);
            };
            assertThat(seconds(nanos)).as("nanos %d", nanos).isEqualTo(BigDecimal.valueOf(nanos / 1_000, 6).toString());
        }
        assertThat(seconds(0)).isEqualTo("0.000000");
        assertThat(seconds(Long.MAX_VALUE)).isEqualTo(BigDecimal.valueOf(Long.MAX_VALUE / 1_000, 6).toString());
    }
}
