package dev.tollgate.cluster.postgres;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class of this package that runs against a real PostgreSQL, started once for the class and stopped after it. */
abstract class OnPostgres {
    static PostgresFixture pg;

    @BeforeAll
    static void startPostgres() throws Exception {
        pg = PostgresFixture.startNew();
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
            pg = null;
        }
    }
}
