package dev.tollgate.benchmarks;

import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Clock;
import org.openjdk.jol.info.GraphLayout;

/**
 * P5: retained heap per tracked entity with little traffic. Records one request of 10 posts for
 * each of 1,000,000 IP-range entities, then measures the whole meter's object graph with JOL
 * (keys, table nodes and windows included) and divides by the entity count.
 *
 * <p>Run: {@code java -Xmx8g -Djol.magicFieldOffset=true -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.EntityFootprint [entities]}
 */
public final class EntityFootprint {
    private EntityFootprint() {
    }

    public static void main(String[] args) {
        int entities = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        Clock clock = Clock.systemUTC();
        Meter empty = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, MeterListener.none());
        long emptyBytes = GraphLayout.parseInstance(empty).totalSize();
        Meter meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), clock, MeterListener.none());
        ZipfKeys keys = new ZipfKeys(entities, 1, 1);
        for (String key : keys.keys) {
            meter.record(key, 10, 1);
        }
        keys = null;
        GraphLayout layout = GraphLayout.parseInstance(meter);
        long total = layout.totalSize() - emptyBytes;
        System.out.printf("entities: %,d%n", meter.entityCount());
        System.out.printf("retained by the meter: %,d bytes%n", total);
        System.out.printf("per entity: %.1f bytes (target P5: <= 256)%n", (double) total / entities);
        System.out.println("largest classes:");
        String[] lines = layout.toFootprint().split("\n");
        for (int i = 0; i < Math.min(lines.length, 14); i++) {
            System.out.println("  " + lines[i]);
        }
    }
}
