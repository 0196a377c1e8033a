/*
 * Tests for net/ring.h, the single-producer/single-consumer pointer ring.
 *
 * Sizes and alignment accepted or refused by ring_init; full and empty
 * states and partial bursts; FIFO order over many bursts of varying size;
 * the free-running indices wrapping past 2^32 (the ring is started with
 * head and tail just below UINT32_MAX, as it would be after ~4 billion
 * packets); and a producer and a consumer on two threads passing a numbered
 * sequence through a small ring.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/ring.h"

static void *ring_mem;

static void free_ring_mem(void)
{
    free(ring_mem);
    ring_mem = NULL;
}

TestSuite(ring, .fini = free_ring_mem);

static struct ring *ring_new(uint32_t size)
{
    struct ring *r;

    cr_assert_null(ring_mem, "one ring per test");
    ring_mem = aligned_alloc(64, ring_mem_bytes(size));
    cr_assert_not_null(ring_mem);
    r = ring_init(ring_mem, size);
    cr_assert_not_null(r);
    return r;
}

/* Distinct, recognisable objects: the values 1, 2, 3, ... as pointers. */
static void *obj(uintptr_t i)
{
    return (void *)(i + 1);
}

static void fill_objs(void **objs, unsigned n, uintptr_t first)
{
    for (unsigned i = 0; i < n; i++)
        objs[i] = obj(first + i);
}

/* --- init ------------------------------------------------------------ */

Test(ring, init_accepts_only_powers_of_two)
{
    static const uint32_t bad[] = { 0, 3, 6, 12, 100, 1023, (1u << 31) + 1, UINT32_MAX };
    static const uint32_t good[] = { 1, 2, 4, 64, 1024 };

    ring_mem = aligned_alloc(64, ring_mem_bytes(1024));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_null(ring_init(ring_mem, bad[i]), "size %u", bad[i]);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct ring *r = ring_init(ring_mem, good[i]);

        cr_assert_not_null(r, "size %u", good[i]);
        cr_assert_eq(r->size, good[i]);
        cr_assert_eq(r->mask, good[i] - 1);
    }
}

Test(ring, init_refuses_memory_off_a_cache_line)
{
    ring_mem = aligned_alloc(64, ring_mem_bytes(16) * 2);
    cr_assert_null(ring_init((uint8_t *)ring_mem + 8, 16));
    cr_assert_null(ring_init(NULL, 16));
}

Test(ring, mem_bytes_is_the_header_plus_the_slots_in_whole_lines)
{
    cr_assert_eq(sizeof(struct ring) % 64, 0);
    cr_assert_eq(ring_mem_bytes(8), sizeof(struct ring) + 8 * sizeof(void *));
    cr_assert_eq(ring_mem_bytes(1), sizeof(struct ring) + 64);
    cr_assert_eq(ring_mem_bytes(2), sizeof(struct ring) + 64);
    cr_assert_eq(ring_mem_bytes(1u << 31), sizeof(struct ring) + ((size_t)1 << 31) * sizeof(void *));
}

/* --- full, empty, partial -------------------------------------------- */

Test(ring, new_ring_is_empty_and_dequeues_nothing)
{
    struct ring *r = ring_new(8);
    void *out[4];

    cr_assert(ring_empty(r));
    cr_assert_not(ring_full(r));
    cr_assert_eq(ring_count(r), 0);
    cr_assert_eq(ring_free_count(r), 8);
    cr_assert_eq(ring_dequeue_burst(r, out, 4), 0);
}

Test(ring, fills_to_exactly_its_size_then_takes_nothing_more)
{
    struct ring *r = ring_new(8);
    void *in[8];

    fill_objs(in, 8, 0);
    cr_assert_eq(ring_enqueue_burst(r, in, 8), 8);
    cr_assert(ring_full(r));
    cr_assert_not(ring_empty(r));
    cr_assert_eq(ring_count(r), 8);
    cr_assert_eq(ring_free_count(r), 0);
    cr_assert_eq(ring_enqueue_burst(r, in, 1), 0);
}

Test(ring, enqueue_burst_takes_only_what_fits)
{
    struct ring *r = ring_new(16);
    void *in[12];

    fill_objs(in, 12, 0);
    cr_assert_eq(ring_enqueue_burst(r, in, 12), 12);
    cr_assert_eq(ring_enqueue_burst(r, in, 12), 4);
    cr_assert(ring_full(r));
}

Test(ring, dequeue_burst_returns_only_what_is_there)
{
    struct ring *r = ring_new(16);
    void *in[5], *out[32];

    fill_objs(in, 5, 0);
    ring_enqueue_burst(r, in, 5);
    cr_assert_eq(ring_dequeue_burst(r, out, 32), 5);
    for (unsigned i = 0; i < 5; i++)
        cr_assert_eq(out[i], in[i]);
    cr_assert(ring_empty(r));
}

Test(ring, a_ring_of_one_slot_alternates_full_and_empty)
{
    struct ring *r = ring_new(1);
    void *in[2] = { obj(0), obj(1) }, *out;

    for (unsigned round = 0; round < 3; round++) {
        cr_assert_eq(ring_enqueue_burst(r, in, 2), 1);
        cr_assert(ring_full(r));
        cr_assert_eq(ring_dequeue_burst(r, &out, 1), 1);
        cr_assert_eq(out, in[0]);
        cr_assert(ring_empty(r));
    }
}

/* --- order ----------------------------------------------------------- */

Test(ring, objects_come_out_in_fifo_order_over_bursts_of_any_size)
{
    struct ring *r = ring_new(32);
    uintptr_t next_in = 0, next_out = 0;
    void *buf[40];

    for (unsigned round = 0; round < 5000; round++) {
        unsigned n_in = (round * 7) % 40, n_out = (round * 11) % 37;
        unsigned in_ok, out_ok;

        fill_objs(buf, n_in, next_in);
        in_ok = ring_enqueue_burst(r, buf, n_in);
        next_in += in_ok;
        out_ok = ring_dequeue_burst(r, buf, n_out);
        for (unsigned i = 0; i < out_ok; i++)
            cr_assert_eq(buf[i], obj(next_out++), "round %u", round);
        cr_assert_eq(ring_count(r), next_in - next_out);
        cr_assert_eq(ring_count(r) + ring_free_count(r), 32);
    }
    cr_assert_gt(next_out, 10000);
}

Test(ring, indices_wrap_past_2_32_without_losing_count_or_order)
{
    struct ring *r = ring_new(8);
    void *in[8], *out[8];
    uintptr_t next = 0;

    r->head = r->tail = UINT32_MAX - 2;
    for (unsigned round = 0; round < 4; round++) {
        fill_objs(in, 8, next);
        cr_assert_eq(ring_enqueue_burst(r, in, 8), 8, "round %u", round);
        cr_assert(ring_full(r));
        cr_assert_eq(ring_enqueue_burst(r, in, 1), 0);
        cr_assert_eq(ring_dequeue_burst(r, out, 3), 3);
        cr_assert_eq(ring_count(r), 5);
        cr_assert_eq(ring_dequeue_burst(r, out + 3, 8), 5);
        for (unsigned i = 0; i < 8; i++)
            cr_assert_eq(out[i], obj(next + i), "round %u", round);
        cr_assert(ring_empty(r));
        next += 8;
    }
    cr_assert_lt(r->head, 64u, "head wrapped");
    cr_assert_eq(r->head, r->tail);
}

Test(ring, count_is_right_while_head_has_wrapped_and_tail_has_not)
{
    struct ring *r = ring_new(16);
    void *in[10];

    r->head = r->tail = UINT32_MAX - 4;
    fill_objs(in, 10, 0);
    cr_assert_eq(ring_enqueue_burst(r, in, 10), 10);
    cr_assert_lt(r->head, r->tail);
    cr_assert_eq(ring_count(r), 10);
    cr_assert_eq(ring_free_count(r), 6);
    cr_assert_eq(ring_enqueue_burst(r, in, 10), 6);
    cr_assert(ring_full(r));
}

/* --- two threads ----------------------------------------------------- */

#define SEQ_LEN 200000u

static void *produce(void *arg)
{
    struct ring *r = arg;
    uintptr_t next = 0;
    void *buf[13];

    while (next < SEQ_LEN) {
        unsigned n = SEQ_LEN - next < 13 ? (unsigned)(SEQ_LEN - next) : 13;

        fill_objs(buf, n, next);
        next += ring_enqueue_burst(r, buf, n);
    }
    return NULL;
}

Test(ring, a_producer_and_a_consumer_thread_pass_a_sequence_intact)
{
    struct ring *r = ring_new(64);
    pthread_t producer;
    uintptr_t next = 0;
    void *buf[17];

    cr_assert_eq(pthread_create(&producer, NULL, produce, r), 0);
    while (next < SEQ_LEN) {
        unsigned got = ring_dequeue_burst(r, buf, 17);

        for (unsigned i = 0; i < got; i++)
            if (buf[i] != obj(next++))
                cr_assert_fail("object %zu out of order", (size_t)(next - 1));
    }
    cr_assert_eq(pthread_join(producer, NULL), 0);
    cr_assert(ring_empty(r));
}
