package dev.tollgate.meter;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The ring slot computed by multiplication equals {@code floorMod} for every window size used. */
class FullWindowIndexTest {
    @Test
    void index_equalsFloorMod() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int n : new int[] {2, 3, 10, 144, 1_440, 8_640, 65_536}) {
            FullWindow w = new FullWindow(n, 1);
            long ring = 2L * n;
            for (int i = 0; i < 200_000; i++) {
                long x = switch (i % 4) {
                    case 0 -> rnd.nextLong(1L << 27);
                    case 1 -> rnd.nextLong(1L << 32);
                    case 2 -> (1L << 32) - 1 - rnd.nextInt(10_000);
                    default -> rnd.nextLong();
                };
                assertThat(w.index(x)).as("n=%d x=%d", n, x).isEqualTo((int) Math.floorMod(x, ring));
            }
        }
    }
}
