package dev.tollgate.benchmarks;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import dev.tollgate.cluster.redis.Pacer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Issue 12, item 9: what the paced shipping costs Redis at 1x, 10x and 100x this machine's
 * traffic, simulated (no Redis, no network; a simulated clock), and what a fixed 1 s flush would
 * have cost. Finishes in a few minutes (the 100x rows take most). It models the cadence (who
 * ships when, and how many calls), not how long shipping takes (see {@code benchmarks/e2e/cluster.sh}).
 *
 * <p>Traffic shape: the load harness's (a Zipf distribution of exponent 1 over the active
 * entities, as {@link ZipfKeys}: a few entities take a large share, most are light), 10 posts a
 * response. 1x is one gateway at {@value #REQUESTS_PER_GATEWAY} requests/s over
 * {@value #ENTITIES_PER_GATEWAY} active entities (item 8's population; about what one gateway
 * serves on this machine); Nx is N gateways behind a round-robin load balancer, N times the
 * requests over N times the entities. Entities are independent of one another in the protocol
 * (their state in Redis and in each gateway is their own), so the simulation follows a
 * stratified sample of them (every one of the 200 heaviest, then a sample of each band of
 * ranks, each weighted by how many entities it stands for) through every gateway, and scales.
 *
 * <p>Each gateway runs the real {@link Pacer} (the lanes of {@code WindowShipper}) on the
 * simulated clock, tick by tick (250 ms; a flush each 1 s); the Redis side is the allowance rule
 * of {@code tollgate.lua} ("Pacing"), with a recall heard by every gateway at the next tick.
 * Calls: the entities a gateway ships in a tick, batched one call per hash slot holding any of
 * them (16,384 slots, at most 32 entities a call). Bytes: the RESP request of such calls for
 * entity ids like the demo's ({@code key:<32 hex>:<4>}, one bucket a shipment), as
 * {@code Traffic} counts them. Masters: calls/s over {@value #CALLS_PER_MASTER} per master
 * (half of what one Redis core does at the measured 92-105 us a call). Also checked: every
 * entity that crosses the threshold is seen crossing in the simulated Redis, and the lag.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.CadenceSimulation [seconds=180] [cold=30] [scale]}
 * (each scale with a fixed 1 s flush, paced with a grant lifetime of {@code cold} and twice it, and
 * paced behind a load balancer that keeps each entity on one gateway).
 */
public final class CadenceSimulation {
    static final int REQUESTS_PER_GATEWAY = 20_000;
    static final int ENTITIES_PER_GATEWAY = 100_000;
    static final int POSTS_PER_RESPONSE = 10;
    static final long THRESHOLD = 1_000_000;
    static final long HOT = THRESHOLD * 8 / 10;
    static final int CALLS_PER_MASTER = 5_000;
    static final long TICK = 250;
    static final long FLUSH = 1_000;
    static final int SLOTS = 16_384;
    /** RESP bytes of one entity in a call (two keys, bucket count, bucket, posts, requests) and of a call's fixed part. */
    static final int ENTITY_BYTES = 2 * (5 + 2 + 48) + (4 + 1 + 1) + (5 + 8 + 8) + (5 + 2 + 7) + (5 + 2 + 6);
    static final int CALL_BYTES = 4 + 11 + 26 + 5 + 12 + 13 + 13 + 13 + 11 + 20 + 16 + 13 + 13;

    private CadenceSimulation() {
    }

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 180;
        long cold = (args.length > 1 ? Long.parseLong(args[1]) : 30) * 1000;
        System.out.printf(Locale.ROOT, "simulated %d s per run (the first %d s are warm-up: every entity's first sight); "
                + "%,d requests/s and %,d active entities per gateway; Zipf 1; %d posts a response%n",
                seconds, Math.min(seconds / 3, 60), REQUESTS_PER_GATEWAY, ENTITIES_PER_GATEWAY, POSTS_PER_RESPONSE);
        System.out.println("scale  gateways  entities             cadence   calls/s/gateway  MB/s/gateway  ships/s/gateway  calls/s total  masters  "
                + "crossings seen / lag max");
        if (seconds - Math.min(seconds / 3, 60) < 2 * 2 * cold / 1000) {
            System.out.printf(Locale.ROOT, "note: %d s measured is under two lifetimes of the longest allowance (%d s): its rows flatter it%n",
                    seconds - Math.min(seconds / 3, 60), 2 * cold / 1000);
        }
        int[] scales = args.length > 2 ? new int[] {Integer.parseInt(args[2])} : new int[] {1, 10, 100};
        for (int scale : scales) {
            for (long[] variant : new long[][] {{FLUSH, 0}, {cold, 0}, {2 * cold, 0}, {cold, 1}}) {
                long lifetime = variant[0];
                boolean sticky = variant[1] == 1;
                Result r = new Run(scale, lifetime, sticky, seconds, new SplittableRandom(42)).run();
                System.out.printf(Locale.ROOT, "%4dx  %8d  %,10d  %16s  %,15.0f  %12.2f  %,14.0f  %,13.0f  %7d  %d/%d, %.2f s%n",
                        scale, scale, (long) scale * ENTITIES_PER_GATEWAY,
                        (lifetime == FLUSH ? "1 s fixed" : "paced " + lifetime / 1000 + "s") + (sticky ? ", sticky" : ""),
                        r.callsPerGateway, r.bytesPerGateway / 1e6, r.shipsPerGateway, r.callsPerGateway * scale,
                        (int) Math.ceil(r.callsPerGateway * scale / CALLS_PER_MASTER), r.crossingsSeen, r.crossings, r.maxLagMillis / 1000.0);
            }
        }
    }

    record Result(double callsPerGateway, double bytesPerGateway, double shipsPerGateway, int crossings, int crossingsSeen,
            long maxLagMillis) {
    }

    /** One simulated deployment: {@code scale} gateways, the sampled entities, the Redis model. */
    static final class Run {
        final int gateways;
        final long lifetime;
        /** A load balancer that keeps each entity on one gateway (hashing its API key) instead of round-robin. */
        final boolean sticky;
        final int seconds;
        final SplittableRandom random;
        final List<Sampled> sample = new ArrayList<>();
        final Map<String, Sampled> byId = new HashMap<>();
        final Pacer[] pacers;

        Run(int scale, long lifetime, boolean sticky, int seconds, SplittableRandom random) {
            this.gateways = scale;
            this.lifetime = lifetime;
            this.sticky = sticky;
            this.seconds = seconds;
            this.random = random;
            this.pacers = new Pacer[gateways];
            for (int g = 0; g < gateways; g++) {
                pacers[g] = new Pacer(HOT, lifetime * 1_000_000, 0.25);
            }
            long population = (long) scale * ENTITIES_PER_GATEWAY;
            double harmonic = Math.log(population) + 0.5772156649 + 1.0 / (2 * population);
            double postsPerSecond = (double) scale * REQUESTS_PER_GATEWAY * POSTS_PER_RESPONSE;
            // every one of the 200 heaviest; then 12 bands of ranks, log-spaced, 400 entities each
            for (long rank = 1; rank <= 200; rank++) {
                sample.add(new Sampled("e" + rank, postsPerSecond / (rank * harmonic) / POSTS_PER_RESPONSE, 1, gateways));
            }
            double from = 201;
            double step = Math.pow(population / from, 1.0 / 12);
            for (int band = 0; band < 12; band++) {
                long lo = (long) from;
                long hi = band == 11 ? population : (long) (from * step);
                int n = (int) Math.min(400, hi - lo + 1);
                for (int i = 0; i < n; i++) {
                    long rank = lo + (long) (random.nextDouble() * (hi - lo + 1));
                    sample.add(new Sampled("b" + band + "-" + i, postsPerSecond / (rank * harmonic) / POSTS_PER_RESPONSE,
                            (double) (hi - lo + 1) / n, gateways));
                }
                from = hi + 1;
            }
        }

        Result run() {
            sample.forEach(s -> byId.put(s.id, s));
            long ticks = seconds * 1000L / TICK;
            long warm = Math.min(seconds / 3, 60) * 1000L / TICK;
            double calls = 0;
            double bytes = 0;
            double ships = 0;
            long maxLag = 0;
            int crossings = 0;
            int seen = 0;
            List<List<Sampled>> due = new ArrayList<>();
            for (int g = 0; g < gateways; g++) {
                due.add(new ArrayList<>());
            }
            for (long t = 0; t < ticks; t++) {
                long now = t * TICK;
                long nanos = now * 1_000_000;
                boolean flush = now % FLUSH == 0;
                for (Sampled s : sample) {
                    s.arrive(random, TICK / 1000.0, gateways, now, sticky);
                }
                double tickShips = 0;
                for (int g = 0; g < gateways; g++) {
                    Pacer pacer = pacers[g];
                    List<Sampled> mine = due.get(g);
                    mine.clear();
                    for (Sampled s : sample) {
                        if (s.recalled[g]) {
                            s.recalled[g] = false;
                            pacer.recalled(s.id, nanos);
                            s.dueNow[g] = s.local[g] > s.shippedBy[g];
                        }
                        if (s.local[g] == s.shippedBy[g]) {
                            s.nextFlush[g] = false;
                            continue;
                        }
                        if (s.changed[g]) {
                            s.changed[g] = false;
                            switch (pacer.classify(s.id, List.of(new BucketCounts(0, s.local[g], s.local[g])))) {
                                case NOW -> s.dueNow[g] = true;
                                case NEXT_FLUSH -> s.nextFlush[g] = true;
                                case LATER -> { }
                            }
                        }
                        if (s.dueNow[g] || (flush && s.nextFlush[g])) {
                            mine.add(s);
                        }
                    }
                    final int gw = g;
                    java.util.function.Consumer<String> expired = id -> {
                        Sampled s = byId.get(id);
                        if (s.local[gw] == s.shippedBy[gw]) {
                            pacer.forget(id);
                        } else if (!s.dueNow[gw] && !(flush && s.nextFlush[gw])) {
                            s.dueNow[gw] = true; // in this tick's list now
                            mine.add(s);
                        }
                    };
                    pacer.expire(nanos, expired, expired);
                    double weighted = 0;
                    for (Sampled s : mine) {
                        ShipReply r = s.ship(g, now, lifetime, gateways);
                        pacer.shipped(s.id, List.of(new BucketCounts(0, s.shippedBy[g], s.shippedBy[g])), r, nanos);
                        s.dueNow[g] = false;
                        s.nextFlush[g] = false;
                        weighted += s.weight;
                    }
                    if (t >= warm) {
                        tickShips += weighted;
                        double c = expectedCalls(weighted);
                        calls += c;
                        bytes += c * CALL_BYTES + weighted * ENTITY_BYTES;
                    }
                }
                ships += tickShips;
            }
            for (Sampled s : sample) {
                if (s.crossedAt >= 0) {
                    crossings++;
                    if (s.flaggedAt >= 0) {
                        seen++;
                        maxLag = Math.max(maxLag, s.flaggedAt - s.crossedAt);
                    }
                }
            }
            double measured = (ticks - warm) * TICK / 1000.0;
            return new Result(calls / measured / gateways, bytes / measured / gateways, ships / measured / gateways, crossings, seen,
                    maxLag);
        }
    }

    /**
     * Calls for {@code n} entity shipments in one tick from one gateway: one per hash slot holding
     * any (the expected number of distinct slots among n random ones), at least n / 32.
     */
    static double expectedCalls(double n) {
        if (n <= 0) {
            return 0;
        }
        return Math.max(n / 32, SLOTS * -Math.expm1(n * Math.log1p(-1.0 / SLOTS)));
    }

    /** One sampled entity: its traffic, each gateway's counts, and its state in the Redis model. */
    static final class Sampled {
        final String id;
        final double requestsPerSecond;
        final double weight;
        final long[] local;
        final long[] shippedBy;
        final boolean[] changed;
        final boolean[] dueNow;
        final boolean[] nextFlush;
        final boolean[] recalled;
        // the Redis model: the sum of what was shipped, and each gateway's allowance and its expiry
        long global;
        final long[] allowance;
        final long[] expiry;
        long truth;
        long crossedAt = -1;
        long flaggedAt = -1;
        long lastRecall = -1_000_000;

        Sampled(String id, double requestsPerSecond, double weight, int gateways) {
            this.id = id;
            this.requestsPerSecond = requestsPerSecond;
            this.weight = weight;
            local = new long[gateways];
            shippedBy = new long[gateways];
            changed = new boolean[gateways];
            dueNow = new boolean[gateways];
            nextFlush = new boolean[gateways];
            recalled = new boolean[gateways];
            allowance = new long[gateways];
            expiry = new long[gateways];
        }

        /** This tick's requests, each to a gateway at random (the load balancer). */
        void arrive(SplittableRandom random, double seconds, int gateways, long now, boolean sticky) {
            double mean = requestsPerSecond * seconds;
            if (sticky) {
                add(Math.floorMod(id.hashCode(), gateways), poisson(random, mean), now);
                return;
            }
            if (mean > 50.0 * gateways) { // heavy: spread evenly, Poisson-like noise per gateway
                for (int g = 0; g < gateways; g++) {
                    double m = mean / gateways;
                    long n = Math.max(0, Math.round(m + Math.sqrt(m) * random.nextGaussian()));
                    add(g, n, now);
                }
                return;
            }
            for (long n = poisson(random, mean); n > 0; n--) {
                add(random.nextInt(gateways), 1, now);
            }
        }

        private void add(int g, long requests, long now) {
            if (requests == 0) {
                return;
            }
            local[g] += requests * POSTS_PER_RESPONSE;
            changed[g] = true;
            truth += requests * POSTS_PER_RESPONSE;
            if (crossedAt < 0 && truth > THRESHOLD) {
                crossedAt = now - TICK; // this tick's requests arrived in (now - TICK, now]
            }
        }

        private static long poisson(SplittableRandom random, double mean) {
            if (mean > 30) {
                return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.nextGaussian()));
            }
            long n = 0;
            double p = Math.exp(-mean);
            double u = random.nextDouble();
            double cdf = p;
            while (u > cdf) {
                n++;
                p *= mean / n;
                cdf += p;
            }
            return n;
        }

        /** Gateway {@code g} ships its count; the allowance rule of {@code tollgate.lua}. */
        ShipReply ship(int g, long now, long lifetime, int gateways) {
            global += local[g] - shippedBy[g];
            shippedBy[g] = local[g];
            long others = 0;
            int holders = 0;
            for (int o = 0; o < gateways; o++) {
                if (o != g && expiry[o] > now) {
                    others += allowance[o];
                    holders += allowance[o] > 0 ? 1 : 0;
                }
            }
            boolean open = flaggedAt >= 0;
            if (!open && global > THRESHOLD) {
                flaggedAt = now; // decided by this shipment, sent at the end of the tick its posts arrived in at the earliest
                open = true;
            }
            long free = HOT - global - others;
            long mine = !open && free > 0 ? free / (holders + 2) : 0;
            allowance[g] = mine;
            expiry[g] = now + lifetime + 5_000;
            if ((free < 0 || open) && holders > 0 && now - lastRecall >= 1_000) {
                lastRecall = now;
                for (int o = 0; o < gateways; o++) {
                    recalled[o] = o != g;
                }
            }
            return new ShipReply(id, global, global / POSTS_PER_RESPONSE, 0, open ? 1 : 0, -1, 0, -1, mine);
        }
    }
}
