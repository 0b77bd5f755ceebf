package dev.tollgate.gateway.cli;

import dev.tollgate.gateway.Gateway;
import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.config.HostPort;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate serve}: runs the gateway until it is stopped (SIGTERM or Ctrl-C). */
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
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gateway.close();
            stopped.countDown();
        }, "tollgate-shutdown"));
        stopped.await();
        return 0;
    }
}
