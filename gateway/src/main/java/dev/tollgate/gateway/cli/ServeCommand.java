package dev.tollgate.gateway.cli;

import dev.tollgate.gateway.Gateway;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.config.HostPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate serve}: runs the gateway until it is stopped (SIGTERM or Ctrl-C: a graceful drain). */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the gateway in front of the post API.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--config", description = "configuration file (default: ${DEFAULT-VALUE})", defaultValue = "config/tollgate.yaml")
    Path config;

    @Option(names = "--listen", description = "overrides listen, e.g. 0.0.0.0:8080")
    String listen;

    @Option(names = "--upstream", description = "overrides upstream.url, e.g. http://127.0.0.1:8081")
    String upstream;

    @Option(names = "--admin-listen", description = "overrides admin.listen, e.g. 127.0.0.1:9090")
    String adminListen;

    @Option(names = "--data-dir", description = "overrides dataDir")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        GatewayConfig c = ConfigLoader.load(config);
        if (listen != null) {
            c = c.withListen(HostPort.parse("--listen", listen));
        }
        if (upstream != null) {
            c = c.withUpstream(c.upstream().withUrl("--upstream", upstream));
        }
        if (adminListen != null) {
            c = c.withAdmin(new GatewayConfig.Admin(HostPort.parse("--admin-listen", adminListen), c.admin().tokenFile()));
        }
        if (dataDir != null) {
            c = c.withDataDir(dataDir.toAbsolutePath().normalize());
        }
        Gateway gateway = Gateway.start(c, Gateway.Options.defaults());
        Stopper stopper = new Stopper(gateway, c.shutdown().gracePeriod());
        stopper.install();
        stopper.stopped.await();
        return 0;
    }

    /**
     * SIGTERM and SIGINT (Ctrl-C): the first starts a graceful drain (in-flight requests get the
     * grace period); a second one forces the stop at once (connections cut, journal and ledger
     * still written). Any other way the JVM stops (SIGHUP, System.exit) still closes the gateway
     * through a shutdown hook.
     */
    static final class Stopper {
        private static final Logger log = LoggerFactory.getLogger(Stopper.class);
        private final Gateway gateway;
        private final Duration grace;
        private final AtomicInteger signals = new AtomicInteger();
        final CountDownLatch stopped = new CountDownLatch(1);

        Stopper(Gateway gateway, Duration grace) {
            this.gateway = gateway;
            this.grace = grace;
        }

        void install() {
            for (String name : new String[] {"TERM", "INT"}) {
                try {
                    Signal.handle(new Signal(name), this::onSignal);
                } catch (IllegalArgumentException e) {
                    log.warn("cannot handle SIG{} here ({}); it stops the gateway without draining", name, e.getMessage());
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                gateway.shutdown(Duration.ZERO, () -> true);
                stopped.countDown();
            }, "tollgate-shutdown-hook"));
        }

        private void onSignal(Signal s) {
            int n = signals.incrementAndGet();
            if (n == 1) {
                log.info("SIG{} received: draining (a second signal stops at once)", s.getName());
                Thread t = new Thread(() -> {
                    gateway.shutdown(grace, () -> signals.get() > 1);
                    stopped.countDown();
                }, "tollgate-drain");
                t.start();
            } else if (n == 2) {
                log.warn("SIG{} received again: stopping now", s.getName());
            }
        }
    }
}
