package dev.tollgate.cluster.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SchemaTest extends OnPostgres {

    private static Connection connect(String url) throws Exception {
        return DriverManager.getConnection(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
    }

    @Test
    void migrate_twice_appliesEachVersionOnce() throws Exception {
        String url = pg.newDatabase();
        try (Connection c = connect(url)) {
            assertThat(Schema.migrate(c)).isEqualTo(Schema.latest());
            assertThat(Schema.migrate(c)).isZero();
            assertThat(Schema.current(c)).isEqualTo(Schema.latest());
        }
    }

    @Test
    void migrate_byFourGatewaysAtOnce_appliesEachVersionOnce() throws Exception {
        String url = pg.newDatabase();
        int gateways = 4;
        ExecutorService pool = Executors.newFixedThreadPool(gateways);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Integer>> applied = new ArrayList<>();
            for (int i = 0; i < gateways; i++) {
                applied.add(pool.submit(() -> {
                    try (Connection c = connect(url)) {
                        go.await();
                        return Schema.migrate(c);
                    }
                }));
            }
            go.countDown();
            int total = 0;
            for (Future<Integer> f : applied) {
                total += f.get();
            }
            assertThat(total).isEqualTo(Schema.latest());
            try (Connection c = connect(url)) {
                assertThat(Schema.current(c)).isEqualTo(Schema.latest());
                try (var r = c.createStatement().executeQuery("SELECT count(*) FROM ledger_head")) {
                    r.next();
                    assertThat(r.getInt(1)).as("the head row is inserted once").isEqualTo(1);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void openReadOnly_onADatabaseWithoutLedger_saysSoInOneLine() throws Exception {
        String url = pg.newDatabase();
        var settings = new ClusterLedger.Settings(url, PostgresFixture.USER, PostgresFixture.PASSWORD);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ClusterLedger.openReadOnly(settings))
                .hasMessageContaining("holds no Tollgate cluster ledger").hasMessageContaining(url);
    }
}
