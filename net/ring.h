/*
 * Single-producer/single-consumer ring of pointers, with burst enqueue and
 * dequeue (DESIGN.md, Hot path): the hand-off between pipeline stages, or
 * between two cores should a second one ever take a port.
 *
 *   mem (64-byte aligned)
 *   +----------------+----------------+----------------+------------------+
 *   | size, mask     | head           | tail           | slots[size]      |
 *   | (read-only)    | producer line  | consumer line  | void *           |
 *   +----------------+----------------+----------------+------------------+
 *     64 B              64 B             64 B
 *
 * head and tail are free-running counts: head = objects ever enqueued, tail =
 * objects ever dequeued, both mod 2^32. So
 *
 *   count = head - tail        (unsigned wrap makes this right past 2^32)
 *   slot of count c = c & mask
 *
 * and 0 <= head - tail <= size always; a full ring and an empty one differ
 * without wasting a slot, as size <= 2^31. Each side writes only its own
 * index, on its own cache line, and publishes it with a release store after
 * the slots it covers; the other side reads it with an acquire load before
 * touching those slots. That is all the ordering SPSC needs, on one core or
 * two. More than one producer (or consumer) at a time is not supported.
 */
#ifndef PKTMETAL_NET_RING_H
#define PKTMETAL_NET_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_LINE_BYTES 64u

struct ring {
    uint32_t size;           /* slots, a power of two */
    uint32_t mask;           /* size - 1 */
    uint32_t head __attribute__((aligned(RING_LINE_BYTES)));  /* written by the producer */
    uint32_t tail __attribute__((aligned(RING_LINE_BYTES)));  /* written by the consumer */
    void *slots[] __attribute__((aligned(RING_LINE_BYTES)));
};
_Static_assert(offsetof(struct ring, head) == 1 * RING_LINE_BYTES, "producer index on its own line");
_Static_assert(offsetof(struct ring, tail) == 2 * RING_LINE_BYTES, "consumer index on its own line");
_Static_assert(offsetof(struct ring, slots) == 3 * RING_LINE_BYTES, "slots start on a fresh line");

/* Bytes a ring of size slots needs, rounded up to whole cache lines so
 * rings laid one after another stay aligned (and aligned_alloc accepts it). */
static inline size_t ring_mem_bytes(uint32_t size)
{
    size_t bytes = sizeof(struct ring) + (size_t)size * sizeof(void *);

    return (bytes + RING_LINE_BYTES - 1) & ~(size_t)(RING_LINE_BYTES - 1);
}

/* Lays an empty ring out in mem (ring_mem_bytes(size) bytes, 64-byte
 * aligned). NULL if size is 0 or not a power of two, or mem is misaligned. */
static inline struct ring *ring_init(void *mem, uint32_t size)
{
    struct ring *r = (struct ring *)mem;

    if (size == 0 || (size & (size - 1)) != 0)
        return NULL;
    if (mem == NULL || (uintptr_t)mem % RING_LINE_BYTES != 0)
        return NULL;
    r->size = size;
    r->mask = size - 1;
    r->head = 0;
    r->tail = 0;
    return r;
}

/* Copies n pointers, four per step. The empty asm hides the pointer from
 * the optimiser so the loop stays a loop: GCC would otherwise turn it into
 * a call to memcpy, which the image has only as a byte loop. */
static inline void ring_copy(void **dst, void *const *src, size_t n)
{
    void **end = dst + n;

    for (; end - dst >= 4; dst += 4, src += 4) {
        __asm__("" : "+r"(dst));
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
        dst[3] = src[3];
    }
    for (; dst != end; dst++, src++) {
        __asm__("" : "+r"(dst));
        *dst = *src;
    }
}

/* Below this many objects a burst goes slot by slot, each index masked:
 * cheaper than splitting it into runs. */
#define RING_SMALL_BURST 4u

/* n objects into the slots from idx on: as one run up to the end of the
 * array and the rest from slot 0 (the one place the ring wraps). */
static inline void ring_copy_in(struct ring *r, uint32_t idx, void *const *objs, unsigned n)
{
    unsigned first = r->size - idx;

    if (n < RING_SMALL_BURST) {
        for (unsigned i = 0; i < n; i++)
            r->slots[(idx + i) & r->mask] = objs[i];
    } else if (n <= first) {
        ring_copy(&r->slots[idx], objs, n);
    } else {
        ring_copy(&r->slots[idx], objs, first);
        ring_copy(r->slots, objs + first, n - first);
    }
}

static inline void ring_copy_out(const struct ring *r, uint32_t idx, void **objs, unsigned n)
{
    unsigned first = r->size - idx;

    if (n < RING_SMALL_BURST) {
        for (unsigned i = 0; i < n; i++)
            objs[i] = r->slots[(idx + i) & r->mask];
    } else if (n <= first) {
        ring_copy(objs, &r->slots[idx], n);
    } else {
        ring_copy(objs, &r->slots[idx], first);
        ring_copy(objs + first, r->slots, n - first);
    }
}

/* Producer: copies up to n objects in; returns how many fit. */
static inline unsigned ring_enqueue_burst(struct ring *r, void *const *objs, unsigned n)
{
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);   /* ours */
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    uint32_t room = r->size - (head - tail);

    if (n > room)
        n = room;
    ring_copy_in(r, head & r->mask, objs, n);
    /* Invariant: head - tail <= size, as n <= room. */
    __atomic_store_n(&r->head, head + n, __ATOMIC_RELEASE);
    return n;
}

/* Consumer: copies up to n objects out, oldest first; returns how many. */
static inline unsigned ring_dequeue_burst(struct ring *r, void **objs, unsigned n)
{
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);   /* ours */
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint32_t avail = head - tail;

    if (n > avail)
        n = avail;
    ring_copy_out(r, tail & r->mask, objs, n);
    /* Invariant: tail <= head (mod 2^32), as n <= avail. */
    __atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE);
    return n;
}

/* Objects in the ring: exact for the producer or the consumer between its
 * own calls. A third party gets a snapshot; as it reads the two indices at
 * different moments, it is clamped to size so ring_free_count cannot wrap. */
static inline uint32_t ring_count(const struct ring *r)
{
    /* tail first: a head read after it can never be behind it. */
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint32_t count = head - tail;

    return count > r->size ? r->size : count;
}

static inline uint32_t ring_free_count(const struct ring *r)
{
    return r->size - ring_count(r);
}

static inline bool ring_empty(const struct ring *r)
{
    return ring_count(r) == 0;
}

static inline bool ring_full(const struct ring *r)
{
    return ring_count(r) == r->size;
}

#endif
