package dev.tollgate.gateway.cli;

import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.HostPort;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tollgate init DIR}: writes a complete configuration directory — {@code tollgate.yaml}
 * (every key with its default and its comment), {@code entities.yaml} and {@code logback.xml} —
 * from the templates in {@code config/}, with the upstream, listening address and data directory
 * given. Never overwrites a file; checks the result as {@code serve} would.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Write a configuration directory (tollgate.yaml, entities.yaml, logback.xml) to start from.")
final class InitCommand implements Callable<Integer> {
    static final List<String> FILES = List.of("tollgate.yaml", "entities.yaml", "logback.xml");

    @Parameters(index = "0", paramLabel = "DIR", description = "the configuration directory to write, e.g. /etc/tollgate")
    Path dir;

    @Option(names = "--upstream", required = true, description = "the post API's URL, e.g. http://127.0.0.1:8081")
    String upstream;

    @Option(names = "--listen", defaultValue = "127.0.0.1:8080", description = "where clients connect (default: ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--data-dir", defaultValue = "data",
            description = "the data directory: ledger, windows, secrets; relative to DIR unless absolute (default: ${DEFAULT-VALUE})")
    String dataDir;

    @Override
    public Integer call() throws IOException {
        HostPort.parse("--listen", listen);
        List<Path> existing = new ArrayList<>();
        for (String f : FILES) {
            if (Files.exists(dir.resolve(f))) {
                existing.add(dir.resolve(f));
            }
        }
        if (!existing.isEmpty()) {
            throw new IllegalArgumentException(dir + ": already holds " + existing + " (expected: a new or empty directory; init never overwrites)");
        }
        String yaml = template("tollgate.yaml")
                .replaceFirst("(?m)^listen: .*$", "listen: " + listen)
                .replaceFirst("(?m)^(upstream:\\n  url: ).*$", "$1" + java.util.regex.Matcher.quoteReplacement(upstream))
                .replaceFirst("(?m)^dataDir: .*$", "dataDir: " + java.util.regex.Matcher.quoteReplacement(quoted(dataDir)));
        Path abs = dir.toAbsolutePath().normalize();
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("entities.yaml"), template("entities.yaml"));
        Files.writeString(dir.resolve("logback.xml"), template("logback.xml"));
        try {
            // the same checks as serve, before the configuration is written
            ConfigLoader.fromYaml(yaml, abs, dir.resolve("tollgate.yaml").toString());
        } catch (RuntimeException e) {
            Files.deleteIfExists(dir.resolve("entities.yaml"));
            Files.deleteIfExists(dir.resolve("logback.xml"));
            throw e;
        }
        Files.writeString(dir.resolve("tollgate.yaml"), "# Written by `tollgate init`. Relative paths resolve against this file's folder.\n" + yaml);
        Path data = abs.resolve(dataDir).normalize();
        System.out.println("wrote " + abs.resolve("tollgate.yaml") + ", entities.yaml and logback.xml; data will go to " + data);
        System.out.println("next: list your entities in " + abs.resolve("entities.yaml") + ", then");
        System.out.println("  JAVA_OPTS=-Dlogback.configurationFile=" + abs.resolve("logback.xml") + " bin/tollgate serve --config "
                + abs.resolve("tollgate.yaml"));
        return 0;
    }

    private static String quoted(String path) {
        return path.matches("[A-Za-z0-9_./-]+") ? path : "'" + path.replace("'", "''") + "'";
    }

    private static String template(String name) throws IOException {
        try (InputStream in = InitCommand.class.getResourceAsStream("init/" + name)) {
            if (in == null) {
                throw new IOException("the template " + name + " is missing from this build (rebuild: mvn -B -q package -DskipTests)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
