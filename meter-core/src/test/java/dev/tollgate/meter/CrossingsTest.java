package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Crossings#ELSEWHERE}: a cluster gateway's meter counts its share and never flags by itself. */
class CrossingsTest {
    private final MeterConfig config = new MeterConfig(1_000, Duration.ofHours(24), Duration.ofMinutes(1));

    @Test
    void elsewhere_countsExactly_butNeverFlagsNorFinalizes() {
        ManualClock clock = new ManualClock(1_764_000_000_000L);
        List<Incident> events = new ArrayList<>();
        MeterListener listener = new MeterListener() {
            @Override
            public void onFlag(Incident incident) {
                events.add(incident);
            }

            @Override
            public void onFinal(Incident incident) {
                events.add(incident);
            }
        };
        Meter here = new Meter(config, DamagesTerms.standard(), clock, listener, Crossings.HERE);
        Meter elsewhere = new Meter(config, DamagesTerms.standard(), clock, listener, Crossings.ELSEWHERE);
        ChangeFeed feed = elsewhere.changeFeed();
        for (int i = 0; i < 30; i++) {
            here.record("scraper", 100, 1);
            elsewhere.record("scraper", 100, 1);
            clock.advance(60_000);
        }
        assertThat(events).hasSize(1); // the HERE meter's flag only
        assertThat(here.flagged("scraper")).isTrue();
        assertThat(elsewhere.flagged("scraper")).isFalse();
        assertThat(elsewhere.posts24h("scraper")).isEqualTo(3_000);
        long[] shipped = new long[1];
        feed.drain(clock.millis() - Duration.ofHours(1).toMillis(), (id, t, p, r) -> shipped[0] += p);
        assertThat(shipped[0]).isEqualTo(3_000);
        clock.advance(Duration.ofHours(25).toMillis());
        here.tick();
        elsewhere.tick();
        assertThat(events).hasSize(2); // the HERE meter's final
        assertThat(elsewhere.incidents()).isEmpty();
    }
}
