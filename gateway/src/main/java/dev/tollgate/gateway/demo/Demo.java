package dev.tollgate.gateway.demo;

import dev.tollgate.gateway.Gateway;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.Incident;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.damages.Money;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerVerification;
import dev.tollgate.meter.report.DamageReport;
import dev.tollgate.meter.report.ReportFormat;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code tollgate demo}: the built-in post API, a real gateway in front of it on loopback, and
 * simulated traffic on a simulated clock, one minute per step: ordinary users, and a scraper that
 * rotates six API keys, an account and two address ranges, all of them one legal entity in the
 * directory. Every request is a real HTTP request through the proxy; only time is simulated, so
 * 40 hours of traffic take seconds, and the same run gives the same figures.
 */
public final class Demo {
    /** What to simulate. */
    public record Plan(long threshold, int hours, int scraperFromHour, int scraperHours, int users, long seed) {
        public static Plan standard() {
            return new Plan(1_000_000, 40, 1, 30, 25, 42);
        }

        /** Scraper pages (100 posts each) per minute: about 1.7 thresholds a day. */
        int scraperPagesPerMinute() {
            return (int) Math.max(1, (threshold * 17 + 1_439_999) / 1_440_000);
        }
    }

    /** What the demo saw, for its summary (and for tests). */
    public record Result(List<Incident> incidents, long requests, List<String> scraperIdentifiers, Path dataDir,
            DamagesTerms terms, Path report) {
    }

    static final String SCRAPER = "scrapeco";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneOffset.UTC);
    private static final String[] KEYS = {"k-scrape-a1", "k-scrape-b2", "k-scrape-c3", "k-scrape-d4", "k-scrape-e5", "k-scrape-f6"};

    private final Plan plan;
    private final PrintStream out;

    public Demo(Plan plan, PrintStream out) {
        this.plan = plan;
        this.out = out;
    }

    public Result run(Path dataDir) throws IOException, InterruptedException {
        Files.createDirectories(dataDir);
        Path directory = dataDir.resolve("entities.yaml");
        Files.writeString(directory, """
                entities:
                  - id: scrapeco
                    name: ScrapeCo Analytics Ltd
                    contact: legal@scrapeco.example
                    apiKeys: [%s]
                    accounts: ["7777"]
                    networks: [203.0.113.0/24, 2001:db8:77::/48]
                """.formatted(String.join(", ", KEYS)));
        long start = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.DAYS).minus(Duration.ofDays(2)).toEpochMilli();
        ManualClock clock = new ManualClock(start);
        ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
        MeterListener listener = new MeterListener() {
            @Override
            public void onFlag(Incident i) {
                events.add(String.format(Locale.ROOT, "  ⚑ %s  FLAG   %s: %,d posts in the last 24 hours, more than %,d", CLOCK.format(Instant.ofEpochMilli(
                        i.flaggedAtMillis())), i.entity(), i.flagCount(), plan.threshold()));
            }

            @Override
            public void onFinal(Incident i) {
                events.add(String.format(Locale.ROOT, "  § %s  FINAL  %s: damage period %s .. %s, %,d posts, %s", CLOCK.format(Instant.ofEpochMilli(
                        clock.millis())), i.entity(), CLOCK.format(Instant.ofEpochMilli(i.periodStartMillis())),
                        CLOCK.format(Instant.ofEpochMilli(i.periodEndMillis())), i.posts(), i.amount()));
            }
        };

        Transport transport = Transport.best();
        EventLoopGroup upstreamGroup = transport.group(1);
        PostApiServer upstream = new PostApiServer(PostApiServer.Options.defaults(), transport);
        InetSocketAddress upstreamAt = upstream.start(new InetSocketAddress("127.0.0.1", 0), upstreamGroup, upstreamGroup);
        GatewayConfig config = ConfigLoader.fromYaml("""
                listen: 127.0.0.1:0
                upstream: {url: 'http://127.0.0.1:%s'}
                admin: {listen: '127.0.0.1:0'}
                dataDir: '%s'
                meter: {threshold: %s}
                entities: {directory: entities.yaml}
                """.formatted(Integer.toString(upstreamAt.getPort()), dataDir.toAbsolutePath(), Long.toString(plan.threshold())), dataDir.toAbsolutePath(), "demo configuration");
        ExecutorService senders = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "demo-client");
            t.setDaemon(true);
            return t;
        });
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Result r;
        try (Gateway gateway = Gateway.start(config, Gateway.Options.defaults().withClock(clock).withListener(listener).manualTicks())) {
            out.printf(Locale.ROOT, "Tollgate demo: the built-in post API on %s, the gateway on %s, admin API on %s%n", upstreamAt,
                    gateway.proxyAddress(), gateway.adminAddress());
            out.printf(Locale.ROOT, "Simulating %d hours from %s UTC: %d ordinary users, and ScrapeCo rotating %d API keys, an account and 2 networks%n%n",
                    plan.hours(), CLOCK.format(Instant.ofEpochMilli(start)), plan.users(), KEYS.length);
            r = simulate(gateway, clock, http, senders, events, dataDir);
            printEvents(events);
        } finally {
            senders.shutdownNow();
            upstream.stop();
            upstreamGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        // the report comes from the ledger alone, as `tollgate report` makes it
        Path report = dataDir.resolve("damages-report.html");
        DamageReport dr = DamageReport.fromLedger(LedgerVerification.of(Ledger.fileIn(dataDir)).records(), DamageReport.BEGINNING,
                DamageReport.END, null, clock.instant());
        Files.write(report, ReportFormat.HTML.render(dr));
        return new Result(r.incidents(), r.requests(), r.scraperIdentifiers(), dataDir, r.terms(), report);
    }

    private Result simulate(Gateway gateway, ManualClock clock, HttpClient http, ExecutorService senders,
            ConcurrentLinkedQueue<String> events, Path dataDir) throws InterruptedException, IOException {
        String base = "http://127.0.0.1:" + gateway.proxyAddress().getPort();
        SplittableRandom random = new SplittableRandom(plan.seed());
        AtomicLong failed = new AtomicLong();
        long sent = 0;
        int pages = plan.scraperPagesPerMinute();
        for (int minute = 0; minute < plan.hours() * 60; minute++) {
            List<Callable<Integer>> batch = new ArrayList<>();
            int hour = minute / 60;
            if (hour >= plan.scraperFromHour() && hour < plan.scraperFromHour() + plan.scraperHours()) {
                for (int p = 0; p < pages; p++) {
                    batch.add(call(http, scraperRequest(base, minute * pages + p), failed));
                }
            }
            for (int u = 0; u < plan.users(); u++) {
                if (random.nextInt(10) == 0) {
                    String path = random.nextInt(4) == 0 ? "/2/tweets/" + (1_860_000_000_000_000_000L + random.nextInt(1_000_000))
                            : "/2/users/" + (1000 + u) + "/tweets?max_results=" + (5 + random.nextInt(16));
                    batch.add(call(http, HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer u-" + u + "-token"),
                            failed));
                }
            }
            for (Future<Integer> f : senders.invokeAll(batch)) {
                if (f.isCancelled()) {
                    failed.incrementAndGet();
                }
            }
            sent += batch.size();
            // every answered request is metered before the clock moves on
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (gateway.meteredRequests() + failed.get() < sent && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            clock.advance(60_000);
            gateway.tick();
            printEvents(events);
            if ((minute + 1) % 120 == 0) {
                progress(gateway, clock, sent);
            }
        }
        if (failed.get() > 0) {
            out.printf(Locale.ROOT, "  (%d requests failed; see the log)%n", failed.get());
        }
        List<String> ids = gateway.seen().of(SCRAPER);
        gateway.ledger().awaitWritten(10_000); // incidents show once their ledger records are durable
        return new Result(gateway.meter().incidents(), sent, ids, dataDir, gateway.config().damages().terms(), null);
    }

    private HttpRequest.Builder scraperRequest(String base, long n) {
        String path = "/2/tweets/search/recent?max_results=100&query=" + (n % 50);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        int how = (int) (n % 10);
        if (how < 6) {
            return how % 2 == 0 ? b.header("Authorization", "Bearer " + KEYS[how]) : b.header("X-Api-Key", KEYS[how]);
        }
        if (how == 6) {
            return b.header("X-Account-Id", "7777");
        }
        if (how < 9) {
            return b.header("X-Forwarded-For", "203.0.113." + (10 + n % 200));
        }
        return b.header("X-Forwarded-For", "2001:db8:77:" + Long.toHexString(n % 4096) + "::1");
    }

    private static Callable<Integer> call(HttpClient http, HttpRequest.Builder request, AtomicLong failed) {
        HttpRequest built = request.timeout(Duration.ofSeconds(10)).build();
        return () -> {
            try {
                HttpResponse<Void> r = http.send(built, HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() >= 500) {
                    failed.incrementAndGet();
                }
                return r.statusCode();
            } catch (IOException e) {
                failed.incrementAndGet();
                return -1;
            }
        };
    }

    private void progress(Gateway gateway, ManualClock clock, long sent) {
        long posts = gateway.meter().posts24h(SCRAPER);
        int filled = (int) Math.min(20, posts * 20 / plan.threshold());
        out.printf(Locale.ROOT, "  %s  %,8d requests   ScrapeCo 24h: %,10d posts [%s%s] %3d%% of the threshold%s%n",
                CLOCK.format(clock.instant()), sent, posts, "#".repeat(filled), ".".repeat(20 - filled), posts * 100 / plan.threshold(),
                gateway.meter().flagged(SCRAPER) ? "  flagged" : "");
    }

    private void printEvents(ConcurrentLinkedQueue<String> events) {
        String e;
        while ((e = events.poll()) != null) {
            out.println(e);
        }
    }

    /** Prints the damages summary of a run. */
    public static void summary(Result r, PrintStream out) {
        out.println();
        out.println("Damages");
        out.printf(Locale.ROOT, "  %-10s %-24s %-28s %-12s %12s %9s %14s%n", "entity", "name", "period (UTC)", "status", "posts", "requests", "amount");
        Money total = Money.zero(r.terms().currency());
        for (Incident i : r.incidents()) {
            out.printf(Locale.ROOT, "  %-10s %-24s %-28s %-12s %,12d %,9d %14s%n", i.entity(),
                    i.entity().equals(SCRAPER) ? "ScrapeCo Analytics Ltd" : i.entity(),
                    CLOCK.format(Instant.ofEpochMilli(i.periodStartMillis())) + " .. " + CLOCK.format(Instant.ofEpochMilli(i.periodEndMillis())),
                    i.status().label(), i.posts(), i.requests(), i.amount());
            out.printf(Locale.ROOT, "  %-10s %s = %s%n", "", r.terms().explain(i.posts()), i.amount());
            total = total.plus(i.amount());
        }
        if (r.incidents().isEmpty()) {
            out.println("  no entity crossed the threshold");
        }
        out.printf(Locale.ROOT, "  %-10s %104s%n", "total", total);
        out.println();
        out.printf(Locale.ROOT, "ScrapeCo was seen as %d identifiers, joined into one entity: %s%n", r.scraperIdentifiers().size(),
                String.join(", ", r.scraperIdentifiers().subList(0, Math.min(8, r.scraperIdentifiers().size())))
                        + (r.scraperIdentifiers().size() > 8 ? ", …" : ""));
        out.printf(Locale.ROOT, "%,d requests went through the gateway. Data directory: %s%n", r.requests(), r.dataDir());
        out.println();
        out.println("The damages report (HTML, from the ledger): " + r.report());
        out.println("The same figures, offline:  java -jar gateway/target/tollgate.jar report --data-dir " + r.dataDir() + " --format csv");
        out.println("Check the ledger's chain:   java -jar gateway/target/tollgate.jar verify-ledger --data-dir " + r.dataDir());
    }
}
