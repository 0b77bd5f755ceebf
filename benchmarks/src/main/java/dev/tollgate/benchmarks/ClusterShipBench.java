package dev.tollgate.benchmarks;

import dev.tollgate.cluster.redis.ChangeSource;
import dev.tollgate.cluster.redis.GlobalWindows;
import dev.tollgate.cluster.redis.WindowShipper;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Issue 12, item 8: the Redis traffic of one gateway with N active entities (every entity gets
 * a post every second, so every entity is dirty at every flush: the worst case of a 1 s flush).
 * One real meter, one {@link WindowShipper} at the given flush interval against a running Redis
 * (Cluster); after a warm-up (three rounds: the first re-ships everything), prints the commands/s,
 * bytes/s (RESP request bytes) and entities/s shipped over the measured seconds. The Redis memory
 * per entity is read by {@code benchmarks/e2e/cluster_ship.sh} around this run.
 *
 * <pre>
 *   benchmarks/e2e/cluster_ship.sh          # starts a 3+3 Redis Cluster on 24100-24105, runs this, prints memory
 *   java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.ClusterShipBench \
 *       redis://127.0.0.1:24100,redis://127.0.0.1:24101 [entities=100000] [seconds=10] [flushMillis=1000] [coldMillis=flushMillis]
 * </pre>
 * {@code coldMillis} is {@code cluster.redis.coldFlushInterval}: equal to the flush (the default
 * here), every dirty entity ships every flush; 30000, the product's default, lets entities far
 * from the threshold ship once per allowance.
 * <pre>
 * </pre>
 */
public final class ClusterShipBench {
    private ClusterShipBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ClusterShipBench redis://host:port[,redis://host:port...] [entities] [seconds] [flushMillis] [coldMillis]");
            System.exit(2);
        }
        List<URI> nodes = Arrays.stream(args[0].split(",")).map(URI::create).toList();
        int entities = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Duration flush = Duration.ofMillis(args.length > 3 ? Long.parseLong(args[3]) : 1000);
        Duration cold = args.length > 4 ? Duration.ofMillis(Long.parseLong(args[4])) : flush;
        Clock clock = Clock.systemUTC();
        MeterConfig config = MeterConfig.defaults();
        Meter meter = new Meter(config, DamagesTerms.standard(), clock, MeterListener.none());
        String[] ids = new String[entities];
        for (int i = 0; i < entities; i++) {
            ids[i] = "10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255);
        }
        ChangeSource source = ChangeSource.of(meter);
        GlobalWindows.Settings settings = new GlobalWindows.Settings(nodes, null, Duration.ofSeconds(5), GlobalWindows.Mode.AUTO);
        try (GlobalWindows windows = new GlobalWindows(settings, "bench-gw", config, clock)) {
            Thread load = new Thread(() -> {
                long next = System.nanoTime();
                while (!Thread.currentThread().isInterrupted()) {
                    for (String id : ids) {
                        meter.record(id, 1, 1);
                    }
                    next += TimeUnit.SECONDS.toNanos(1);
                    LockSupport.parkNanos(next - System.nanoTime());
                }
            }, "load");
            load.setDaemon(true);
            load.start();
            try (WindowShipper shipper = new WindowShipper(windows, source, config, clock, flush,
                    Duration.ofMillis(Math.min(250, flush.toMillis())), cold, (e, r) -> { }).start()) {
                long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (shipper.stats().rounds() < 3 && System.nanoTime() < warm) { // warm-up: connect, load, first full ship
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                }
                WindowShipper.Stats a = shipper.stats();
                long t0 = System.nanoTime();
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(seconds));
                WindowShipper.Stats b = shipper.stats();
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("entities=%d flush=%dms cold=%dms measured=%.1fs%n", entities, flush.toMillis(), cold.toMillis(), s);
                System.out.printf("commands/s=%.0f bytes/s=%.0f (%.1f MB/s) entities shipped/s=%.0f rounds/s=%.2f failed rounds=%d pending=%d%n",
                        (b.commands() - a.commands()) / s, (b.bytesSent() - a.bytesSent()) / s,
                        (b.bytesSent() - a.bytesSent()) / s / 1e6, (b.entitiesShipped() - a.entitiesShipped()) / s,
                        (b.rounds() - a.rounds()) / s, b.failures() - a.failures(), b.pending());
                long dr = Math.max(1, b.rounds() - a.rounds());
                System.out.printf("per round: commands=%d bytes=%d entities=%d (a 1 s flush asks this per second; rounds took %.2f s each here)%n",
                        (b.commands() - a.commands()) / dr, (b.bytesSent() - a.bytesSent()) / dr,
                        (b.entitiesShipped() - a.entitiesShipped()) / dr, s / dr);
                System.out.printf("bytes per command=%.0f; link up=%s%n",
                        (double) (b.bytesSent() - a.bytesSent()) / Math.max(1, b.commands() - a.commands()), windows.status().up());
            }
            load.interrupt();
        }
    }
}
