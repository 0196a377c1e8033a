/*
 * Tests for net/pool.c, the packet buffer pool.
 *
 * Creation is checked against the layout net/pool.h draws: how many buffers
 * fit, their alignment, their DMA addresses when the DMA view of the memory
 * differs from the pointer, and that nothing but metadata lines is written
 * (the memory is filled with a pattern first). The hot path is checked for
 * the one order it promises, LIFO, through the per-core cache, through the
 * shared stack behind it and across a flush; a randomized run with a fixed
 * seed holds it against a plain stack as the reference model. Double frees
 * and stray pointers must be refused and counted, never stored.
 *
 * The object layer (pool_take_bulk, pool_give_bulk) is held to the same
 * order and the same cache and stack moves, alone and interleaved with the
 * packet layer; it must leave metadata alone (but for a buffer's first
 * line), and even a caller that gives more than it took must not make it
 * write past the stack.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/pool.h"

#define FILL_BYTE 0xa5
#define MAX_ARENAS 4

static void *arenas[MAX_ARENAS];
static unsigned nb_arenas;

/* Memory that the suite's teardown frees, filled with FILL_BYTE and aligned
 * to 4096 plus misalign_bytes. */
static uint8_t *arena_alloc(size_t bytes, size_t misalign_bytes)
{
    uint8_t *mem;

    cr_assert_lt(nb_arenas, MAX_ARENAS);
    mem = aligned_alloc(4096, (bytes + misalign_bytes + 4095) / 4096 * 4096);
    cr_assert_not_null(mem);
    arenas[nb_arenas++] = mem;
    memset(mem, FILL_BYTE, bytes + misalign_bytes);
    return mem + misalign_bytes;
}

static void free_arenas(void)
{
    while (nb_arenas > 0)
        free(arenas[--nb_arenas]);
}

TestSuite(pool, .fini = free_arenas);

/* A pool of exactly nb_bufs buffers in identity-mapped test memory. */
static struct pool *pool_of(uint32_t nb_bufs)
{
    size_t bytes = 4096 + (size_t)nb_bufs * (PKTBUF_STRIDE + 16);
    uint8_t *mem = arena_alloc(bytes, 0);
    struct pool *p = pool_create(mem, (dma_addr_t)(uintptr_t)mem, bytes, nb_bufs);

    cr_assert_not_null(p);
    cr_assert_eq(p->nb_bufs, nb_bufs);
    return p;
}

static struct pktbuf *buf_at(const struct pool *p, uint32_t i)
{
    return (struct pktbuf *)(p->bufs_mem + (size_t)i * PKTBUF_STRIDE);
}

static uint64_t align64(uint64_t x)
{
    return (x + 63) & ~(uint64_t)63;
}

/* Bytes from an aligned mem to the end of nb_bufs buffers, from the diagram
 * in pool.h: pool, stack, pad. */
static uint64_t layout_bytes(uint32_t nb_bufs)
{
    uint64_t head = sizeof(struct pool) + nb_bufs * sizeof(void *);

    return align64(head) + (uint64_t)nb_bufs * PKTBUF_STRIDE;
}

/* --- creation -------------------------------------------------------- */

Test(pool, creation_fits_exactly_the_buffers_the_layout_allows)
{
    uint8_t *mem = arena_alloc(layout_bytes(10), 0);
    struct pool *p;

    p = pool_create(mem, 0, layout_bytes(10), 0);
    cr_assert_not_null(p);
    cr_assert_eq(p->nb_bufs, 10);
    p = pool_create(mem, 0, layout_bytes(10) - 1, 0);
    cr_assert_not_null(p);
    cr_assert_eq(p->nb_bufs, 9);
}

Test(pool, creation_leaves_less_than_one_buffer_unused_at_the_end)
{
    size_t bytes = 3u << 20;
    uint8_t *mem = arena_alloc(bytes, 0);
    struct pool *p = pool_create(mem, 0, bytes, 0);
    uint8_t *end = (uint8_t *)buf_at(p, p->nb_bufs);

    cr_assert_leq(end, mem + bytes);
    /* One more buffer costs its stride, a stack slot and at most 63 bytes
     * of padding. */
    cr_assert_lt((size_t)(mem + bytes - end), PKTBUF_STRIDE + 8 + 63);
    cr_assert_eq(layout_bytes(p->nb_bufs), (uint64_t)(end - mem));
}

Test(pool, nb_bufs_max_caps_the_count_but_a_larger_one_does_not_fail)
{
    size_t bytes = layout_bytes(20);
    uint8_t *mem = arena_alloc(bytes, 0);

    cr_assert_eq(pool_create(mem, 0, bytes, 7)->nb_bufs, 7);
    cr_assert_eq(pool_create(mem, 0, bytes, 1000)->nb_bufs, 20);
}

Test(pool, creation_returns_null_when_not_even_one_buffer_fits)
{
    uint8_t *mem = arena_alloc(layout_bytes(1), 0);

    cr_assert_null(pool_create(mem, 0, 0, 0));
    cr_assert_null(pool_create(mem, 0, sizeof(struct pool), 0));
    cr_assert_null(pool_create(mem, 0, layout_bytes(1) - 1, 0));
    cr_assert_not_null(pool_create(mem, 0, layout_bytes(1), 0));
}

Test(pool, buffers_are_line_aligned_a_stride_apart_in_unaligned_memory)
{
    size_t bytes = 64 * 1024;
    uint8_t *mem = arena_alloc(bytes, 3);
    struct pool *p = pool_create(mem, 0x1003, bytes, 0);

    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 64, 0);
    cr_assert_geq((uint8_t *)p, mem);
    for (uint32_t i = 0; i < p->nb_bufs; i++) {
        struct pktbuf *b = pool_get(p);

        cr_assert_eq((uintptr_t)b % 64, 0);
        cr_assert_eq(b, buf_at(p, i));
    }
    cr_assert_leq((uint8_t *)buf_at(p, p->nb_bufs), mem + bytes);
}

Test(pool, every_buf_dma_is_its_address_shifted_by_the_mapping_delta)
{
    size_t bytes = 256 * 1024;
    uint8_t *mem = arena_alloc(bytes, 0);
    dma_addr_t mem_dma = 0x7f000000;
    struct pool *p = pool_create(mem, mem_dma, bytes, 0);
    struct pktbuf *got[128];

    cr_assert_leq(p->nb_bufs, 128);
    cr_assert_eq(pool_get_bulk(p, got, p->nb_bufs), p->nb_bufs);
    cr_assert_eq(p->bufs_dma, mem_dma + (dma_addr_t)(p->bufs_mem - mem));
    for (uint32_t i = 0; i < p->nb_bufs; i++) {
        struct pktbuf *b = buf_at(p, i);
        dma_addr_t want = mem_dma + (dma_addr_t)(pktbuf_buf(b) - mem);

        cr_assert_eq(b->buf_dma, want, "buffer %u", i);
        cr_assert_eq(pktbuf_data_dma(b), mem_dma + (dma_addr_t)(pktbuf_data(b) - mem));
    }
}

Test(pool, creation_writes_no_buffer_at_all)
{
    size_t bytes = 128 * 1024;
    uint8_t *mem = arena_alloc(bytes, 0);
    struct pool *p = pool_create(mem, 0, bytes, 0);

    for (uint8_t *q = p->bufs_mem; q < mem + bytes; q++)
        cr_assert_eq(*q, FILL_BYTE, "byte %td of the buffer area", q - p->bufs_mem);
}

Test(pool, first_get_writes_metadata_lines_and_never_a_data_area)
{
    size_t bytes = 128 * 1024;
    uint8_t *mem = arena_alloc(bytes, 0);
    struct pool *p = pool_create(mem, 0, bytes, 0);
    uint8_t *end = (uint8_t *)buf_at(p, p->nb_bufs);
    struct pktbuf *got[64];

    cr_assert_lt(p->nb_bufs, 64);
    cr_assert_eq(pool_get_bulk(p, got, p->nb_bufs), p->nb_bufs);
    for (uint32_t i = 0; i < p->nb_bufs; i++) {
        struct pktbuf *b = buf_at(p, i);

        cr_assert_eq(b->pool, p);
        cr_assert_eq(b->data_off, PKTBUF_HEADROOM);
        cr_assert_eq(b->data_len, 0);
        cr_assert_eq(b->flags, 0);
        for (size_t k = PKTBUF_META_BYTES; k < PKTBUF_STRIDE; k++)
            cr_assert_eq(((uint8_t *)b)[k], FILL_BYTE, "buffer %u byte %zu", i, k);
    }
    for (uint8_t *q = end; q < mem + bytes; q++)
        cr_assert_eq(*q, FILL_BYTE, "tail byte %td", q - end);
}

Test(pool, fresh_pool_is_all_free_and_hands_out_in_address_order)
{
    struct pool *p = pool_of(100);
    struct pktbuf *bufs[100];

    cr_assert_eq(pool_free_count(p), 100);
    cr_assert_eq(pool_in_use(p), 0);
    cr_assert_eq(pool_get_bulk(p, bufs, 100), 100);
    for (uint32_t i = 0; i < 100; i++)
        cr_assert_eq(bufs[i], buf_at(p, i));
    cr_assert_eq(pool_in_use(p), 100);
}

/* --- get and put ----------------------------------------------------- */

Test(pool, get_bulk_hands_out_reset_buffers)
{
    struct pool *p = pool_of(8);
    struct pktbuf *b = pool_get(p);

    b->data_off = 10;
    b->data_len = 1500;
    b->flags = 0xffff;
    pktbuf_free(b);
    cr_assert_eq(pool_get(p), b);
    cr_assert_eq(b->data_off, PKTBUF_HEADROOM);
    cr_assert_eq(b->data_len, 0);
    cr_assert_eq(b->flags, 0);
    cr_assert_eq(b->pool, p);
}

Test(pool, get_after_put_returns_the_buffer_just_freed)
{
    struct pool *p = pool_of(64);
    struct pktbuf *bufs[16];

    cr_assert_eq(pool_get_bulk(p, bufs, 16), 16);
    pktbuf_free(bufs[9]);
    cr_assert_eq(pool_get(p), bufs[9]);
}

Test(pool, lifo_order_holds_through_the_cache)
{
    struct pool *p = pool_of(64);
    struct pktbuf *out[32], *back[32];

    cr_assert_eq(pool_get_bulk(p, out, 32), 32);
    pool_put_bulk(p, out, 32);
    cr_assert_eq(pool_get_bulk(p, back, 32), 32);
    for (unsigned i = 0; i < 32; i++)
        cr_assert_eq(back[i], out[31 - i]);
}

Test(pool, lifo_order_holds_through_the_stack_behind_the_cache)
{
    enum { N = POOL_CACHE_SIZE * 2 + POOL_CACHE_BULK / 2 + 1 };
    struct pool *p = pool_of(N + 10);
    static struct pktbuf *out[N], *back[N];

    cr_assert_eq(pool_get_bulk(p, out, N), N);
    for (unsigned i = 0; i < N; i++)        /* one at a time: many spills */
        pktbuf_free(out[i]);
    cr_assert_leq(p->cache.len, POOL_CACHE_SIZE);
    cr_assert_gt(p->top, 10);
    for (unsigned i = 0; i < N; i++)        /* one at a time: many refills */
        back[i] = pool_get(p);
    for (unsigned i = 0; i < N; i++)
        cr_assert_eq(back[i], out[N - 1 - i], "position %u", i);
    cr_assert_eq(pool_get(p), buf_at(p, N));
}

Test(pool, lifo_order_survives_a_cache_flush)
{
    struct pool *p = pool_of(300);
    struct pktbuf *out[40], *back[40];

    cr_assert_eq(pool_get_bulk(p, out, 40), 40);
    pool_put_bulk(p, out, 40);
    pool_cache_flush(p);
    cr_assert_eq(p->cache.len, 0);
    cr_assert_eq(p->top, 40);                  /* the 260 never used stay fresh */
    cr_assert_eq(pool_free_count(p), 300);
    cr_assert_eq(pool_get_bulk(p, back, 40), 40);
    for (unsigned i = 0; i < 40; i++)
        cr_assert_eq(back[i], out[39 - i]);
}

Test(pool, a_bulk_larger_than_the_cache_is_served_whole)
{
    enum { N = POOL_CACHE_SIZE * 3 };
    struct pool *p = pool_of(N);
    static struct pktbuf *bufs[N];

    cr_assert_eq(pool_get_bulk(p, bufs, N), N);
    cr_assert_eq(pool_in_use(p), N);
    pool_put_bulk(p, bufs, N);
    cr_assert_eq(pool_free_count(p), N);
    cr_assert_eq(p->nb_put_rejected, 0);
}

Test(pool, exhaustion_returns_a_short_count_and_recovers)
{
    struct pool *p = pool_of(50);
    struct pktbuf *bufs[64];

    cr_assert_eq(pool_get_bulk(p, bufs, 32), 32);
    cr_assert_eq(pool_get_bulk(p, bufs + 32, 32), 18);
    cr_assert_eq(p->nb_get_short, 1);
    cr_assert_eq(pool_get_bulk(p, bufs, 32), 0);
    cr_assert_null(pool_get(p));
    cr_assert_eq(p->nb_get_short, 3);
    cr_assert_eq(pool_in_use(p), 50);

    pool_put_bulk(p, bufs, 50);
    cr_assert_eq(pool_in_use(p), 0);
    cr_assert_eq(pool_get_bulk(p, bufs, 50), 50);
    cr_assert_eq(p->nb_get_short, 3);
}

Test(pool, asking_for_nothing_is_not_a_short_get)
{
    struct pool *p = pool_of(4);
    struct pktbuf *b;

    cr_assert_eq(pool_get_bulk(p, &b, 0), 0);
    cr_assert_eq(p->nb_get_short, 0);
    pool_put_bulk(p, &b, 0);
    cr_assert_eq(pool_free_count(p), 4);
}

/* --- invariant checks ------------------------------------------------ */

Test(pool, double_free_is_refused_and_counted)
{
    struct pool *p = pool_of(16);
    struct pktbuf *bufs[16];

    cr_assert_eq(pool_get_bulk(p, bufs, 4), 4);
    pktbuf_free(bufs[1]);
    pktbuf_free(bufs[1]);
    cr_assert_eq(p->nb_put_rejected, 1);
    cr_assert_eq(pool_in_use(p), 3);
    /* The buffer is on the free list once: the rest of the pool comes out
     * without a duplicate. */
    cr_assert_eq(pool_get_bulk(p, bufs + 4, 12), 12);
    for (unsigned i = 4; i < 16; i++)
        for (unsigned j = i + 1; j < 16; j++)
            cr_assert_neq(bufs[i], bufs[j]);
}

Test(pool, double_free_into_a_full_pool_cannot_overflow_the_stack)
{
    struct pool *p = pool_of(POOL_CACHE_SIZE + 8);
    static struct pktbuf *bufs[POOL_CACHE_SIZE + 8];

    cr_assert_eq(pool_get_bulk(p, bufs, POOL_CACHE_SIZE + 8), POOL_CACHE_SIZE + 8);
    pool_put_bulk(p, bufs, POOL_CACHE_SIZE + 8);
    pool_put_bulk(p, bufs, POOL_CACHE_SIZE + 8);
    cr_assert_eq(p->nb_put_rejected, POOL_CACHE_SIZE + 8);
    cr_assert_eq(pool_free_count(p), POOL_CACHE_SIZE + 8);
    pool_cache_flush(p);
    cr_assert_eq(p->top, p->nb_bufs);
}

Test(pool, pointers_that_are_not_this_pools_buffers_are_refused)
{
    struct pool *p = pool_of(8), *other = pool_of(8);
    struct pktbuf *b = pool_get(p);
    struct pktbuf *stray[] = {
        NULL,
        pool_get(other),
        (struct pktbuf *)((uint8_t *)b + 64),          /* inside a buffer, line-aligned */
        (struct pktbuf *)((uint8_t *)b + 1),            /* inside a buffer, odd */
        (struct pktbuf *)((uint8_t *)b + 35),           /* a multiple of the stride's odd part */
        buf_at(p, p->nb_bufs),                          /* one past the end */
        buf_at(p, 3),                                   /* a buffer never handed out */
        (struct pktbuf *)(p->bufs_mem - PKTBUF_STRIDE), /* one before */
    };
    size_t nb_stray = sizeof(stray) / sizeof(stray[0]);

    pool_put_bulk(p, stray, nb_stray);
    cr_assert_eq(p->nb_put_rejected, nb_stray);
    cr_assert_eq(pool_in_use(p), 1);
    cr_assert_eq(pool_in_use(other), 1);
    pktbuf_free(b);
    cr_assert_eq(pool_in_use(p), 0);
    cr_assert_eq(p->nb_put_rejected, nb_stray);
    /* Nothing refused was stored: the pool hands out b, then fresh ones. */
    cr_assert_eq(pool_get(p), b);
    cr_assert_eq(pool_get(p), buf_at(p, 1));
}

/* Deterministic xorshift32, so a failure replays. */
static uint32_t rng_next(uint32_t *state)
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* The two layers, so one model run can drive either or both. */
enum layer { PACKET, OBJECT };

/* The reference: all free buffers on one plain stack, fresh pool = buffer 0
 * on top. The pool must hand out exactly what this model pops. */
struct model {
    struct pktbuf *free_stack[1024];
    unsigned nb_free;
    struct pktbuf *out[1024];      /* buffers the test holds */
    enum layer out_layer[1024];    /* which layer handed each out */
    unsigned nb_out;
};

static void model_init(struct model *m, const struct pool *p)
{
    m->nb_out = 0;
    m->nb_free = 0;
    for (uint32_t i = p->nb_bufs; i-- > 0;)
        m->free_stack[m->nb_free++] = buf_at(p, i);
}

static void step_get(struct pool *p, struct model *m, unsigned n, enum layer layer)
{
    struct pktbuf *got[POOL_CACHE_SIZE * 2];
    unsigned want = n < m->nb_free ? n : m->nb_free;
    unsigned k = layer == PACKET ? pool_get_bulk(p, got, n) : pool_take_bulk(p, got, n);

    cr_assert_eq(k, want);
    for (unsigned i = 0; i < want; i++) {
        cr_assert_eq(got[i], m->free_stack[--m->nb_free]);
        m->out_layer[m->nb_out] = layer;
        m->out[m->nb_out++] = got[i];
    }
}

/* Frees n held buffers of one layer, picked at random, back through that
 * layer; through the packet layer sometimes with a double free. */
static void step_put(struct pool *p, struct model *m, unsigned n, enum layer layer,
                     uint32_t *rng)
{
    struct pktbuf *put[POOL_CACHE_SIZE * 2 + 1];
    unsigned k = 0;

    for (unsigned tries = 0; k < n && m->nb_out > 0 && tries < 4 * n; tries++) {
        unsigned j = rng_next(rng) % m->nb_out;

        if (m->out_layer[j] != layer)
            continue;
        put[k++] = m->out[j];
        m->free_stack[m->nb_free++] = m->out[j];
        m->nb_out--;
        m->out[j] = m->out[m->nb_out];
        m->out_layer[j] = m->out_layer[m->nb_out];
    }
    if (layer == OBJECT) {
        pool_give_bulk(p, put, k);
        return;
    }
    if (k > 0 && rng_next(rng) % 8 == 0)
        put[k++] = put[0];       /* refused: the model does not take it */
    pool_put_bulk(p, put, k);
}

/* 20,000 random steps of gets, puts and flushes, each layer picked with
 * the given odds (percent through the object layer); bulks up to twice the
 * cache, so refills and spills happen often. Returns the double frees. */
static uint64_t run_model(struct pool *p, unsigned object_percent, uint32_t seed)
{
    static struct model m;
    uint32_t rng = seed;
    uint64_t dups = 0;

    model_init(&m, p);
    for (unsigned step = 0; step < 20000; step++) {
        uint32_t r = rng_next(&rng);
        unsigned n = r % 8 == 0 ? r % (POOL_CACHE_SIZE * 2) : r % 40;
        enum layer layer = rng_next(&rng) % 100 < object_percent ? OBJECT : PACKET;

        if (r % 97 == 0)
            pool_cache_flush(p);
        else if ((r >> 8) % 2 == 0)
            step_get(p, &m, n, layer);
        else {
            uint64_t before = p->nb_put_rejected;

            step_put(p, &m, n, layer, &rng);
            dups += p->nb_put_rejected - before;
        }
        cr_assert_eq(pool_free_count(p), m.nb_free, "step %u", step);
        cr_assert_eq(pool_in_use(p), m.nb_out, "step %u", step);
        cr_assert_leq(p->cache.len, POOL_CACHE_SIZE);
        cr_assert_leq(p->top, p->nb_bufs);
    }
    return dups;
}

Test(pool, random_gets_and_puts_match_a_plain_stack_model)
{
    struct pool *p = pool_of(1000);
    uint64_t dups = run_model(p, 0, 20240601);

    cr_assert_gt(dups, 0, "the run should have exercised double frees");
    cr_assert_eq(p->nb_put_rejected, dups);
}

Test(pool, random_takes_and_gives_match_the_same_model)
{
    struct pool *p = pool_of(1000);

    cr_assert_eq(run_model(p, 100, 20240602), 0);
    cr_assert_eq(p->nb_put_rejected, 0);
}

Test(pool, both_layers_interleaved_match_the_same_model)
{
    struct pool *p = pool_of(1000);
    uint64_t dups = run_model(p, 50, 20240603);

    cr_assert_gt(dups, 0, "the run should have exercised double frees");
    cr_assert_eq(p->nb_put_rejected, dups);
}

/* --- several pools --------------------------------------------------- */

Test(pool, free_bulk_returns_each_buffer_to_its_own_pool)
{
    struct pool *a = pool_of(16), *b = pool_of(16);
    const char *owner = "aababbbaab";   /* runs of one and several */
    struct pktbuf *mixed[10];

    for (unsigned i = 0; i < 10; i++)
        mixed[i] = pool_get(owner[i] == 'a' ? a : b);
    cr_assert_eq(pool_in_use(a) + pool_in_use(b), 10);
    pktbuf_free_bulk(mixed, 10);
    cr_assert_eq(pool_in_use(a), 0);
    cr_assert_eq(pool_in_use(b), 0);
    cr_assert_eq(a->nb_put_rejected + b->nb_put_rejected, 0);
    /* Each pool's last freed buffer is its next one out. */
    cr_assert_eq(pool_get(a), mixed[8]);
    cr_assert_eq(pool_get(b), mixed[9]);
}

Test(pool, free_bulk_refuses_a_double_free_in_the_pool_it_belongs_to)
{
    struct pool *a = pool_of(16), *b = pool_of(16);
    struct pktbuf *a0 = pool_get(a), *a1 = pool_get(a), *b0 = pool_get(b);
    struct pktbuf *mixed[] = { a0, a1, a0, b0, b0, a1 };

    pktbuf_free_bulk(mixed, 6);
    cr_assert_eq(a->nb_put_rejected, 2);
    cr_assert_eq(b->nb_put_rejected, 1);
    cr_assert_eq(pool_in_use(a), 0);
    cr_assert_eq(pool_in_use(b), 0);
    /* Each went back once, in the order of its first free. */
    cr_assert_eq(pool_get(a), a1);
    cr_assert_eq(pool_get(a), a0);
    cr_assert_eq(pool_get(a), buf_at(a, 2));
}

Test(pool, a_recycled_buffer_goes_out_before_any_never_used_one)
{
    struct pool *p = pool_of(50);
    struct pktbuf *a[3];

    cr_assert_eq(pool_get_bulk(p, a, 3), 3);
    pktbuf_free(a[1]);
    cr_assert_eq(pool_get(p), a[1]);
    cr_assert_eq(pool_get(p), buf_at(p, 3));   /* then the next fresh one */
    cr_assert_eq(pool_in_use(p), 4);
    cr_assert_eq(pool_free_count(p), 46);
}

/* --- object layer ---------------------------------------------------- */

Test(pool, take_hands_out_fresh_buffers_in_address_order_with_their_first_line)
{
    struct pool *p = pool_of(40);
    struct pktbuf *bufs[40];

    cr_assert_eq(pool_take_bulk(p, bufs, 40), 40);
    for (uint32_t i = 0; i < 40; i++) {
        struct pktbuf *b = buf_at(p, i);

        cr_assert_eq(bufs[i], b);
        cr_assert_eq(b->pool, p);
        cr_assert_eq(b->buf_dma, (dma_addr_t)(uintptr_t)pktbuf_buf(b));
        cr_assert_eq(b->data_off, PKTBUF_HEADROOM);
        cr_assert_eq(b->data_len, 0);
        cr_assert_eq(b->in_pool, 1, "not out through the packet layer");
        for (size_t k = PKTBUF_META_BYTES; k < PKTBUF_STRIDE; k++)
            cr_assert_eq(((uint8_t *)b)[k], FILL_BYTE, "buffer %u byte %zu", i, k);
    }
    cr_assert_eq(pool_in_use(p), 40);
    pool_give_bulk(p, bufs, 40);
    cr_assert_eq(pool_free_count(p), 40);
}

Test(pool, take_and_give_leave_a_recycled_buffers_metadata_alone)
{
    struct pool *p = pool_of(8);
    struct pktbuf *b = pool_take(p);

    b->data_off = 10;
    b->data_len = 1500;
    b->flags = 0x8001;
    b->user = 7;
    pool_give(p, b);
    cr_assert_eq(pool_take(p), b);
    cr_assert_eq(b->data_off, 10);
    cr_assert_eq(b->data_len, 1500);
    cr_assert_eq(b->flags, 0x8001);
    cr_assert_eq(b->user, 7);
    cr_assert_eq(b->in_pool, 1);
}

/* Every length from 0 to 40 through the copies: give n, take n back in
 * reverse, with the cache holding something below (an odd count, so the
 * copies start at every alignment) that must stay put. */
Test(pool, give_then_take_of_every_length_returns_the_same_buffers_reversed)
{
    struct pool *p = pool_of(64);
    struct pktbuf *below[3], *out[40], *back[41];

    cr_assert_eq(pool_take_bulk(p, below, 3), 3);
    cr_assert_eq(pool_take_bulk(p, out, 40), 40);
    pool_give_bulk(p, below, 3);
    for (unsigned n = 0; n <= 40; n++) {
        back[n] = NULL;                         /* a sentinel past the end */
        pool_give_bulk(p, out, n);
        cr_assert_eq(p->cache.len, 3 + n);
        cr_assert_eq(pool_take_bulk(p, back, n), n);
        for (unsigned i = 0; i < n; i++)
            cr_assert_eq(back[i], out[n - 1 - i], "n %u position %u", n, i);
        cr_assert_null(back[n], "n %u wrote past the end", n);
    }
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(pool_take(p), below[2 - i]);
}

Test(pool, take_and_give_keep_lifo_order_through_spills_and_refills)
{
    enum { N = POOL_CACHE_SIZE * 2 + POOL_CACHE_BULK / 2 + 1 };
    struct pool *p = pool_of(N + 10);
    static struct pktbuf *out[N], *back[N];

    cr_assert_eq(pool_take_bulk(p, out, N), N);
    for (unsigned i = 0; i < N; i++)        /* one at a time: many spills */
        pool_give(p, out[i]);
    cr_assert_leq(p->cache.len, POOL_CACHE_SIZE);
    cr_assert_gt(p->top, 10);
    for (unsigned i = 0; i < N; i++)        /* one at a time: many refills */
        back[i] = pool_take(p);
    for (unsigned i = 0; i < N; i++)
        cr_assert_eq(back[i], out[N - 1 - i], "position %u", i);
    cr_assert_eq(pool_take(p), buf_at(p, N));

    /* The same in bulks: one give of all (it spills as it goes), takes of 7
     * (each refill serves several). */
    pool_give(p, buf_at(p, N));
    pool_give_bulk(p, out, N);
    cr_assert_eq(pool_free_count(p), N + 10);
    cr_assert_eq(p->top + p->cache.len, N + 1);
    for (unsigned i = 0; i < N; i += 7) {
        unsigned n = N - i < 7 ? N - i : 7;

        cr_assert_eq(pool_take_bulk(p, back + i, n), n);
    }
    for (unsigned i = 0; i < N; i++)
        cr_assert_eq(back[i], out[N - 1 - i], "bulk position %u", i);
    cr_assert_eq(pool_take(p), buf_at(p, N));
}

Test(pool, take_exhaustion_returns_a_short_count_and_recovers)
{
    struct pool *p = pool_of(50);
    struct pktbuf *bufs[64];

    cr_assert_eq(pool_take_bulk(p, bufs, 32), 32);
    cr_assert_eq(pool_take_bulk(p, bufs + 32, 32), 18);
    cr_assert_eq(p->nb_get_short, 1);
    cr_assert_eq(pool_take_bulk(p, bufs, 32), 0);
    cr_assert_null(pool_take(p));
    cr_assert_eq(p->nb_get_short, 3);
    cr_assert_eq(pool_in_use(p), 50);

    pool_give_bulk(p, bufs, 50);
    cr_assert_eq(pool_in_use(p), 0);
    pool_cache_flush(p);
    cr_assert_eq(p->top, 50);
    cr_assert_eq(pool_take_bulk(p, bufs, 50), 50);
    cr_assert_eq(p->nb_get_short, 3);
    cr_assert_eq(p->nb_put_rejected, 0);
}

Test(pool, both_layers_share_one_free_sequence)
{
    struct pool *p = pool_of(64);
    struct pktbuf *taken[5], *got[5];

    cr_assert_eq(pool_take_bulk(p, taken, 5), 5);
    taken[2]->data_len = 99;
    pool_give_bulk(p, taken, 5);
    cr_assert_eq(pool_get_bulk(p, got, 5), 5);
    for (unsigned i = 0; i < 5; i++) {
        cr_assert_eq(got[i], taken[4 - i]);
        cr_assert_eq(got[i]->data_len, 0, "a get resets what a take left");
        cr_assert_eq(got[i]->in_pool, 0);
    }
    pool_put_bulk(p, got, 5);
    cr_assert_eq(p->nb_put_rejected, 0);
    cr_assert_eq(pool_take(p), got[4]);
}

Test(pool, a_buffer_out_through_a_take_is_refused_by_the_packet_put)
{
    struct pool *p = pool_of(8);
    struct pktbuf *b = pool_take(p);

    pktbuf_free(b);
    cr_assert_eq(p->nb_put_rejected, 1);
    cr_assert_eq(pool_in_use(p), 1);
    pool_give(p, b);
    cr_assert_eq(pool_in_use(p), 0);
}

/* Breaking the contract: one buffer given back 400 times. The cache fills,
 * spills once, and then the stack has no room for a second spill: every
 * later give is dropped and counted rather than written past the stack. */
Test(pool, giving_more_than_was_taken_cannot_write_past_the_stack)
{
    struct pool *p = pool_of(100);
    struct pktbuf *b = pool_take(p);

    for (unsigned i = 0; i < 400; i++)
        pool_give(p, b);
    cr_assert_eq(p->top, POOL_CACHE_BULK);
    cr_assert_eq(p->cache.len, POOL_CACHE_SIZE);
    cr_assert_eq(p->nb_put_rejected, 400 - POOL_CACHE_SIZE - POOL_CACHE_BULK);
    pool_cache_flush(p);
    cr_assert_eq(p->top, p->nb_bufs);
    cr_assert_eq(p->cache.len, 0);
    cr_assert_eq(p->nb_put_rejected, 400 - p->nb_bufs);
}
