package dev.tollgate.benchmarks;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.damages.Money;
import java.time.Duration;
import java.time.Instant;
import java.util.SplittableRandom;

/**
 * Replays three simulated days of traffic through the meter on a simulated clock: 5,000 ordinary
 * users reading a few pages an hour, and one scraper pulling pages of 100 posts around the clock
 * at a rate that crosses the clause's threshold. Prints every flag and final damage period and a
 * damages summary. Finishes in seconds; no network, no setup.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.Simulation}
 */
public final class Simulation {
    private static final long START = Instant.parse("2026-11-22T00:00:00Z").toEpochMilli();
    private static final long STEP = 1_000;

    private Simulation() {
    }

    public static void main(String[] args) {
        ManualClock clock = new ManualClock(START);
        DamagesTerms terms = DamagesTerms.standard();
        Meter meter = new Meter(MeterConfig.defaults(), terms, clock, new MeterListener() {
            @Override
            public void onFlag(Incident i) {
                System.out.printf("%s  FLAG   %-10s sliding 24h count %,d > %,d%n",
                        Instant.ofEpochMilli(i.flaggedAtMillis()), i.entity(), i.flagCount(), 1_000_000);
            }

            @Override
            public void onFinal(Incident i) {
                System.out.printf("%s  FINAL  %-10s period %s .. %s: %,d posts, %s%n",
                        Instant.ofEpochMilli(clock.millis()), i.entity(), Instant.ofEpochMilli(i.periodStartMillis()),
                        Instant.ofEpochMilli(i.periodEndMillis()), i.posts(), i.amount());
            }
        });
        SplittableRandom rnd = new SplittableRandom(7);
        long end = START + Duration.ofDays(3).toMillis();
        long records = 0;
        for (long t = START; t < end; t += STEP) {
            clock.set(t);
            // ordinary users: ~5,000 of them, a page of 20 posts every ~20 minutes each
            int users = rnd.nextInt(9);
            for (int u = 0; u < users; u++) {
                meter.record("user-" + rnd.nextInt(5_000), 20, 1);
                records++;
            }
            // the scraper: 100-post pages, ~14 pages a second at its busiest hours
            long hour = (t - START) / 3_600_000 % 24;
            int pages = hour < 8 ? 0 : rnd.nextInt(hour < 16 ? 30 : 10);
            for (int p = 0; p < pages; p++) {
                meter.record("scraper", 100, 1);
                records++;
            }
            if (t % 60_000 == 0) {
                meter.tick();
            }
        }
        clock.set(end + Duration.ofDays(1).toMillis());
        meter.tick();
        Money total = Money.zero(terms.currency());
        System.out.printf("%n%,d records over 3 simulated days; %,d entities still tracked at the end%n", records, meter.entityCount());
        System.out.println("Damages:");
        for (Incident i : meter.incidents()) {
            System.out.printf("  %-8s #%d %-11s %s .. %s  %,12d posts  %12s %s%n", i.entity(), i.sequence(),
                    i.status().label(), Instant.ofEpochMilli(i.periodStartMillis()),
                    Instant.ofEpochMilli(i.periodEndMillis()), i.posts(), i.amount().plain(),
                    i.amount().currency().getCurrencyCode());
            total = total.plus(i.amount());
        }
        System.out.println("  total: " + total);
    }
}
