package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class MeterConfigTest {

    @Test
    void defaults_areTheClause() {
        MeterConfig c = MeterConfig.defaults();
        assertThat(c.threshold()).isEqualTo(1_000_000);
        assertThat(c.bucketsPerWindow()).isEqualTo(1440);
    }

    @Test
    void bucket_mustDivideWindow() {
        assertThatThrownBy(() -> new MeterConfig(1_000_000, Duration.ofHours(24), Duration.ofMinutes(7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("meter.bucket: 7m (expected: a divisor of meter.window 24h)");
    }

    @Test
    void bucket_tooSmall_isRejected() {
        assertThatThrownBy(() -> new MeterConfig(1_000_000, Duration.ofHours(24), Duration.ofSeconds(1)))
                .hasMessageStartingWith("meter.bucket: 1s (expected:");
    }

    @Test
    void threshold_mustBePositive() {
        assertThatThrownBy(() -> new MeterConfig(0, Duration.ofHours(24), Duration.ofMinutes(1)))
                .hasMessage("meter.threshold: 0 (expected: a positive number of posts)");
    }

    @Test
    void buckets_areAlignedToTheEpoch() {
        MeterConfig c = MeterConfig.defaults();
        assertThat(c.bucketOf(59_999)).isZero();
        assertThat(c.bucketOf(60_000)).isEqualTo(1);
        assertThat(c.bucketOf(-1)).isEqualTo(-1);
    }
}
