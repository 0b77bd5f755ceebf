package dev.tollgate.gateway.cli;

import dev.tollgate.gateway.demo.Demo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate demo}: the whole product on one machine, ending with a damages summary. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the built-in post API, the gateway and simulated traffic (users and a scraper), then print the damages.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--data-dir", description = "where the demo keeps its data (default: a new temporary folder)")
    Path dataDir;

    @Option(names = "--hours", defaultValue = "40", description = "simulated hours (default: ${DEFAULT-VALUE})")
    int hours;

    @Override
    public Integer call() throws Exception {
        if (hours < 1 || hours > 24 * 14) {
            throw new IllegalArgumentException("--hours: " + hours + " (expected: 1..336)");
        }
        // the demo prints its own account of flags and periods; the gateway's log would repeat it
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.tollgate")).setLevel(ch.qos.logback.classic.Level.ERROR);
        Path dir = dataDir != null ? dataDir : Files.createTempDirectory("tollgate-demo-");
        Demo.Plan p = Demo.Plan.standard();
        Demo.Plan plan = new Demo.Plan(p.threshold(), hours, p.scraperFromHour(), Math.min(p.scraperHours(), hours), p.users(), p.seed());
        long t0 = System.nanoTime();
        Demo.Result result = new Demo(plan, System.out).run(dir);
        Demo.summary(result, System.out);
        System.out.printf(Locale.ROOT, "Done in %.1f s.%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
