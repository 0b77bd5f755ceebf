package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The leak check would fail a test that leaks: proven by leaking on purpose. */
class LeakCheckTest {
    @Test
    void aBufferNeverReleased_failsTheTest() {
        LeakCheck check = new LeakCheck();
        ExtensionContext context = (ExtensionContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ExtensionContext.class}, (proxy, method, args) -> method.getName().equals("getDisplayName") ? "leaky" : null);
        check.beforeEach(context);
        leak();
        // garbage collection is not on call: give the detector a bounded number of chances
        LeakCheck.collect(50);
        assertThat(LeakLogAppender.LEAKS).as("the detector reported the leak").isNotEmpty();
        assertThatThrownBy(() -> check.afterEach(context)).isInstanceOf(AssertionError.class).hasMessageContaining("LEAK");
    }

    private static void leak() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(64);
        b.writeLong(42); // and never released
    }
}
