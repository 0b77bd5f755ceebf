package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.cli.TollgateCommand;
import dev.tollgate.gateway.demo.Demo;
import dev.tollgate.meter.Incident;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line: clear errors for bad input (never a stack trace), and the demo's figures. */
class CommandLineTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = TollgateCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void init_writesAConfigDirectoryThatLoads_andNeverOverwrites() throws Exception {
        Path conf = dir.resolve("etc/tollgate");
        Run r = run("init", conf.toString(), "--upstream", "http://127.0.0.1:8081", "--data-dir", dir.resolve("var/lib/tollgate").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        var config = dev.tollgate.gateway.config.ConfigLoader.load(conf.resolve("tollgate.yaml"));
        assertThat(config.dataDir()).isEqualTo(dir.resolve("var/lib/tollgate"));
        assertThat(config.listen().toString()).isEqualTo("127.0.0.1:8080");
        assertThat(config.entities().directory()).isEqualTo(conf.resolve("entities.yaml"));
        assertThat(conf.resolve("logback.xml")).exists();
        Files.move(conf, dir.resolve("moved"));
        assertThat(dev.tollgate.gateway.config.ConfigLoader.load(dir.resolve("moved/tollgate.yaml")).entities().directory())
                .as("relative paths move with the folder").isEqualTo(dir.resolve("moved/entities.yaml"));
        Run again = run("init", dir.resolve("moved").toString(), "--upstream", "http://127.0.0.1:8081");
        assertThat(again.exit()).isEqualTo(2);
        assertThat(again.err()).contains("already holds").contains("init never overwrites").doesNotContain("\tat ");
        Run badUrl = run("init", dir.resolve("other").toString(), "--upstream", "ftp://x");
        assertThat(badUrl.exit()).isEqualTo(2);
        assertThat(badUrl.err()).contains("upstream.url: 'ftp://x'");
        assertThat(dir.resolve("other/entities.yaml")).as("nothing left behind").doesNotExist();
    }

    @Test
    void serve_dataDirThatIsAFile_namesTheKeyAndTheReason() throws Exception {
        Files.writeString(dir.resolve("not-a-dir"), "x");
        Path config = dir.resolve("tollgate.yaml");
        Files.writeString(config, "upstream:\n  url: http://127.0.0.1:9\nlisten: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\ndataDir: not-a-dir\n");
        Run r = run("serve", "--config", config.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("tollgate: dataDir: ").contains("not-a-dir exists and is not a directory (expected: ")
                .doesNotContain("\tat ");
    }

    @Test
    void serve_badEntityDirectory_namesTheFile_andTouchesNoData() throws Exception {
        Files.writeString(dir.resolve("entities.yaml"), "entities:\n  - id: x\n    nme: y\n");
        Path config = dir.resolve("tollgate.yaml");
        Files.writeString(config, "upstream:\n  url: http://127.0.0.1:9\nlisten: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\ndataDir: data\n"
                + "entities:\n  directory: entities.yaml\n");
        Run r = run("serve", "--config", config.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(dir.resolve("entities.yaml") + ": unknown key 'entities[0].nme'").doesNotContain("\tat ");
        assertThat(dir.resolve("data")).as("nothing written").doesNotExist();
    }

    @Test
    void serve_missingConfig_isExit2_withTheFileNamed() {
        Run r = run("serve", "--config", dir.resolve("absent.yaml").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("tollgate: ").contains("absent.yaml: no such file").doesNotContain("Exception", "\tat ");
    }

    @Test
    void serve_badConfig_namesTheKey() throws Exception {
        Path bad = dir.resolve("tollgate.yaml");
        Files.writeString(bad, "upstream:\n  url: http://127.0.0.1:8081\nmeter:\n  bucket: 7m\n");
        Run r = run("serve", "--config", bad.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("meter.bucket: 7m (expected").doesNotContain("\tat ");
    }

    @Test
    void serve_portInUse_saysWhichKey() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Path config = dir.resolve("tollgate.yaml");
            Files.writeString(config, "listen: 127.0.0.1:" + taken.getLocalPort() + "\nupstream:\n  url: http://127.0.0.1:9\n"
                    + "admin:\n  listen: 127.0.0.1:0\ndataDir: data\n");
            Run r = run("serve", "--config", config.toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("listen: 127.0.0.1:" + taken.getLocalPort() + ": cannot listen: the address is already in use")
                    .doesNotContain("\tat ");
        }
    }

    @Test
    void badOptions_areUsageErrors() {
        assertThat(run("upstream", "--page-size", "500").err()).contains("--page-size: 500 (expected: 1..100)");
        assertThat(run("demo", "--hours", "0").exit()).isEqualTo(2);
        assertThat(run("serve", "--listen").exit()).isEqualTo(2);
        assertThat(run("frobnicate").err()).contains("Unmatched argument");
    }

    @Test
    void help_listsTheCommands() {
        Run r = run("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("serve", "upstream", "demo");
    }

    @Test
    void demo_chargesTheScraper_exactlyWhatItWasServed() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Demo.Result r = new Demo(new Demo.Plan(20_000, 30, 0, 5, 3, 1), out).run(dir);
        Demo.summary(r, out);
        assertThat(r.incidents()).hasSize(1);
        Incident i = r.incidents().get(0);
        assertThat(i.entity()).isEqualTo("scrapeco");
        assertThat(i.status()).isEqualTo(Incident.Status.FINAL);
        // one page of 100 posts a minute for five hours, all inside one 24-hour period
        assertThat(i.posts()).isEqualTo(30_000);
        assertThat(i.requests()).isEqualTo(300);
        assertThat(i.amount().plain()).isEqualTo("450.00");
        assertThat(i.flagCount()).isGreaterThan(20_000);
        assertThat(r.scraperIdentifiers()).contains("account:7777", "net:203.0.113.0/24", "net:2001:db8:77::/48")
                .anyMatch(id -> id.matches("key:[0-9a-f]{16}:e-a1"));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("FLAG   scrapeco", "FINAL  scrapeco", "30000 posts × 15000 USD ÷ 1000000 posts, prorated = 450.00 USD");
    }
}
