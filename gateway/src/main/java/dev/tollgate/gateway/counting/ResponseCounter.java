package dev.tollgate.gateway.counting;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.compression.Decompressor;
import java.nio.ByteBuffer;

/**
 * Counts the posts of one response body as its bytes are forwarded, in whatever content coding
 * the upstream chose. For a coded body it decodes a copy of each piece ({@link #feed} neither
 * takes nor moves the caller's buffer, which goes to the client unchanged) and scans the decoded
 * bytes with a {@link PostCounter}, chunk by chunk, releasing each: the decoded body is never held.
 *
 * <p>Outcomes beyond a clean count ({@link #problem()}): the coded stream breaks ({@code DECODE}:
 * the posts decoded up to the break stand, as they are all a client can decode too); the decoded
 * size passes the configured bound ({@code DECODE_LIMIT}: decoding stops, the posts counted so
 * far stand — a bound on the work a decompression bomb can cause); the JSON itself breaks
 * ({@code JSON}, as before).
 *
 * <p>One per response, used by the connection's event loop only. {@link #close()} must be called
 * once the response ends, however it ends: it releases the decoder's buffers.
 */
public final class ResponseCounter implements AutoCloseable {
    /** What went wrong while counting, if anything. */
    public enum Problem { NONE, JSON, DECODE, DECODE_LIMIT }

    private final PostCounter json;
    private final boolean coded;
    /** zlib's end marker ends a deflate body: a decoder still wanting input at the end was cut short. */
    private final boolean endsOnItsOwn;
    private final long maxDecodedBytes;
    /** Null for identity, and once the coded stream ended, broke or passed the bound. */
    private Decompressor decoder;
    private long decoded;
    private Problem decodeProblem = Problem.NONE;
    private boolean ended;

    private ResponseCounter(ContentCoding coding, ByteBufAllocator alloc, long maxDecodedBytes, ScanScratch scratch) {
        this.json = new PostCounter(scratch);
        this.coded = coding != ContentCoding.IDENTITY;
        this.endsOnItsOwn = coding == ContentCoding.DEFLATE;
        this.maxDecodedBytes = maxDecodedBytes;
        if (coded) {
            try {
                decoder = coding.newDecompressor(alloc);
            } catch (RuntimeException e) {
                decodeProblem = Problem.DECODE; // a native library that loaded but will not start
            }
        }
    }

    /**
     * A counter for a body in {@code coding} (readable: see {@link ContentCoding#of}), decoding at
     * most {@code maxDecodedBytes} bytes of it.
     */
    public static ResponseCounter create(ContentCoding coding, ByteBufAllocator alloc, long maxDecodedBytes) {
        return new ResponseCounter(coding, alloc, maxDecodedBytes, new ScanScratch());
    }

    /** The same, copying direct buffers into {@code scratch}, shared with counters of the same thread only. */
    public static ResponseCounter create(ContentCoding coding, ByteBufAllocator alloc, long maxDecodedBytes, ScanScratch scratch) {
        return new ResponseCounter(coding, alloc, maxDecodedBytes, scratch);
    }

    /** The next bytes of the body as they came from the upstream; {@code bytes} is left as it was. */
    public void feed(ByteBuf bytes) {
        if (!bytes.isReadable() || ended) {
            return;
        }
        if (!coded) {
            scan(bytes);
            return;
        }
        Decompressor d = decoder;
        if (d == null) {
            return;
        }
        try {
            if (d.status() != Decompressor.Status.NEED_INPUT) {
                return; // COMPLETE: bytes after the end of the coded stream carry no posts
            }
            d.addInput(bytes.retainedDuplicate());
            drain(d);
        } catch (RuntimeException e) {
            fail(Problem.DECODE);
        }
    }

    /** The body is complete. */
    public void end() {
        if (ended) {
            return;
        }
        ended = true;
        Decompressor d = decoder;
        if (d != null) {
            try {
                if (d.status() == Decompressor.Status.NEED_INPUT) {
                    if (endsOnItsOwn) {
                        fail(Problem.DECODE);
                        return;
                    }
                    d.endOfInput();
                    drain(d);
                }
                if (decoder != null && d.status() != Decompressor.Status.COMPLETE) {
                    fail(Problem.DECODE); // the coded stream stopped short of its end
                }
            } catch (RuntimeException e) {
                fail(Problem.DECODE);
            }
            close();
        }
        if (decodeProblem == Problem.NONE) {
            json.end();
        }
    }

    /** Posts of the body forwarded in full: the count of the stream, or up to where its coding broke. */
    public long posts() {
        return decodeProblem == Problem.NONE ? json.complete() : json.forwarded();
    }

    /** Posts whose bytes were forwarded in full so far (for a body cut short). */
    public long forwarded() {
        return json.forwarded();
    }

    public Problem problem() {
        if (decodeProblem != Problem.NONE) {
            return decodeProblem;
        }
        return json.broken() ? Problem.JSON : Problem.NONE;
    }

    /** Decoded bytes scanned so far (for a coded body). */
    public long decodedBytes() {
        return decoded;
    }

    @Override
    public void close() {
        Decompressor d = decoder;
        decoder = null;
        if (d != null) {
            try {
                d.close();
            } catch (RuntimeException e) {
                // releasing a decoder that failed: nothing more to do
            }
        }
    }

    private void drain(Decompressor d) {
        while (decoder != null && d.status() == Decompressor.Status.NEED_OUTPUT) {
            ByteBuf out = d.takeOutput();
            try {
                int n = out.readableBytes();
                if (decoded + n > maxDecodedBytes) {
                    scan(out.slice(out.readerIndex(), (int) (maxDecodedBytes - decoded)));
                    decoded = maxDecodedBytes;
                    fail(Problem.DECODE_LIMIT);
                    return;
                }
                decoded += n;
                scan(out);
            } finally {
                out.release();
            }
        }
    }

    private void fail(Problem p) {
        if (decodeProblem == Problem.NONE) {
            decodeProblem = p;
        }
        close();
    }

    private void scan(ByteBuf buf) {
        if (!buf.isReadable()) {
            return;
        }
        if (buf.nioBufferCount() == 1) {
            json.feed(buf.nioBuffer());
        } else {
            for (ByteBuffer b : buf.nioBuffers()) {
                json.feed(b);
            }
        }
    }
}
