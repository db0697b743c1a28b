package dev.longbow.tornado.vm;

import dev.longbow.tensor.Slab;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocation of byte ranges of a fixed heap, {@link Slab#ALIGNMENT}-aligned; freed
 * ranges merge with free neighbours. Thread-safe: ranks on one device allocate from one heap.
 */
final class HeapAllocator {
    private final long capacity;
    /** Free ranges: start to length, disjoint and never adjacent. */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    private final Map<Long, Long> used = new HashMap<>();
    private long usedBytes;

    HeapAllocator(long capacity) {
        if (capacity <= 0 || capacity % Slab.ALIGNMENT != 0) {
            throw new IllegalArgumentException("heap capacity " + capacity + " must be a positive multiple of " + Slab.ALIGNMENT);
        }
        this.capacity = capacity;
        free.put(0L, capacity);
    }

    /** The start of a fresh range of at least {@code bytes}. */
    synchronized long allocate(long bytes) {
        long size = Math.max(Slab.ALIGNMENT, (bytes + Slab.ALIGNMENT - 1) / Slab.ALIGNMENT * Slab.ALIGNMENT);
        for (var e : free.entrySet()) {
            long start = e.getKey();
            long length = e.getValue();
            if (length >= size) {
                // Read before removing: TreeMap may reuse the removed entry for its successor.
                free.remove(start);
                if (length > size) {
                    free.put(start + size, length - size);
                }
                used.put(start, size);
                usedBytes += size;
                return start;
            }
        }
        throw new IllegalStateException("tornado device heap exhausted: " + mib(bytes) + " requested, " + mib(capacity - usedBytes)
                + " free (largest block " + mib(free.values().stream().mapToLong(Long::longValue).max().orElse(0)) + ") of "
                + mib(capacity) + "; start the JVM with a larger -D" + DeviceSession.HEAP_PROPERTY + "=<size, e.g. 1g>");
    }

    synchronized void free(long start) {
        Long size = used.remove(start);
        if (size == null) {
            throw new IllegalArgumentException("no allocation starts at heap offset " + start);
        }
        usedBytes -= size;
        long end = start + size;
        Long next = free.get(end);
        if (next != null) {
            free.remove(end);
            size += next;
        }
        var before = free.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            free.put(before.getKey(), before.getValue() + size);
        } else {
            free.put(start, size);
        }
    }

    /** The end of the last live allocation: nothing above it is in use. */
    synchronized long highWater() {
        var last = free.lastEntry();
        return last != null && last.getKey() + last.getValue() == capacity ? last.getKey() : capacity;
    }

    synchronized long usedBytes() {
        return usedBytes;
    }

    long capacity() {
        return capacity;
    }

    static String mib(long bytes) {
        return bytes < (1 << 20) ? bytes + " bytes" : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
