/*
 * Packet buffer pool (DESIGN.md, Packet buffers; the API is net/pool.h).
 *
 * pool_create carves one block of DMA-able memory, normally a slice of the
 * 2 MiB-paged arena:
 *
 *   mem        64-byte boundary
 *   |          v
 *   +----------+-------------+---------------+-----+------------------------+
 *   | (align)  | struct pool | stack         | pad | buf 0, 1, ..           |
 *   |          |             | nb_bufs *     |     | PKTBUF_STRIDE each     |
 *   |          |             | pointer       |     |                        |
 *   +----------+-------------+---------------+-----+------------------------+
 *                                                  ^ 64-byte aligned
 *
 * Only the pool's own bookkeeping is written at creation. A buffer's
 * 64-byte metadata line is written the first time it is handed out, by
 * either layer (fresh_take): even writing one line per buffer of a 64 MiB
 * arena took ~155 ms under TCG at start-up, measured, against a 50 ms
 * budget. The data areas are never touched by the pool (TRAPS.md: zeroing
 * the arena costs a third of a second under TCG).
 *
 * The free buffers form one logical LIFO stack: the shared stack
 * stack[0..top) with the per-core cache cache.bufs[0..len) sitting on top of
 * it. Takes pop the cache and refill it from the stack POOL_CACHE_BULK at a
 * time; gives push onto the cache and, when it is full, move its bottom
 * POOL_CACHE_BULK entries to the stack. Both moves keep the logical order,
 * so the buffer freed last is always the one handed out next.
 *
 * The object layer (pool_take_bulk, pool_give_bulk) is only these moves:
 * pointer copies, two pointers per 16-byte load and store (ptrs_copy,
 * ptrs_copy_reversed). The packet layer wraps it: pool_get_bulk takes and
 * then resets each buffer, pool_put_bulk checks each buffer and gives back
 * the runs that pass.
 *
 * Invariant, kept by the put check (pool.h) for the packet layer:
 *   a buffer is out through the packet layer  <=>  it was handed out before
 *   (index < next_fresh) and its in_pool is 0
 * and, while the object layer's callers keep its contract, for both:
 *   a buffer is on the stack or in the cache  =>  index < next_fresh
 * so top + cache.len + (nb_bufs - next_fresh) <= nb_bufs. A spill and a
 * flush check that the stack has room before they write, so even a give
 * that breaks the contract cannot write past the stack.
 */
#include "net/pool.h"

#define CACHE_LINE_BYTES 64u

_Static_assert(POOL_CACHE_BULK <= POOL_CACHE_SIZE, "the cache moves at most its own size");
_Static_assert(PKTBUF_STRIDE % CACHE_LINE_BYTES == 0, "buffers stay line-aligned");

/* Where each part of a pool goes, as offsets from the memory given. */
struct pool_layout {
    uint64_t pool_off;
    uint64_t stack_off;
    uint64_t bufs_off;
    uint64_t end_off;       /* one past the last buffer */
};

static uint64_t align_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static struct pool_layout layout_for(uintptr_t base, uint64_t nb_bufs)
{
    struct pool_layout l;

    l.pool_off = align_up(base, CACHE_LINE_BYTES) - base;
    l.stack_off = l.pool_off + sizeof(struct pool);
    l.bufs_off = align_up(base + l.stack_off + nb_bufs * sizeof(struct pktbuf *),
                          CACHE_LINE_BYTES) - base;
    l.end_off = l.bufs_off + nb_bufs * PKTBUF_STRIDE;
    return l;
}

/* The most buffers that fit in [base, base + bytes), at most nb_bufs_max
 * (0 = no limit). Starts from an estimate that counts the padding after
 * the pool header, which can be off by one either way (padding differs with
 * the count), then steps to the exact answer. */
static uint32_t fit_count(uintptr_t base, size_t bytes, uint32_t nb_bufs_max)
{
    uint64_t fixed_bytes = layout_for(base, 0).end_off;
    uint64_t n, limit = nb_bufs_max != 0 ? nb_bufs_max : UINT32_MAX;

    if (bytes <= fixed_bytes)
        return 0;
    n = (bytes - fixed_bytes) / (PKTBUF_STRIDE + sizeof(struct pktbuf *));
    if (n > limit)
        n = limit;
    while (n < limit && layout_for(base, n + 1).end_off <= bytes)
        n++;
    while (n > 0 && layout_for(base, n).end_off > bytes)
        n--;
    return (uint32_t)n;
}

/* Writes buffer i's metadata line, and nothing else of the buffer: reset,
 * and in_pool = 1, not out through the packet layer (pool_hand_out clears
 * it). */
static struct pktbuf *buf_init(struct pool *p, uint32_t i)
{
    struct pktbuf *b = (struct pktbuf *)(p->bufs_mem + (uint64_t)i * PKTBUF_STRIDE);

    b->buf_dma = p->bufs_dma + (uint64_t)i * PKTBUF_STRIDE + PKTBUF_META_BYTES;
    b->pool = p;
    b->rx_tsc = 0;
    pktbuf_reset(b);
    b->in_pool = 1;
    b->port = 0;
    b->reserved = 0;
    b->user = 0;
    return b;
}

struct pool *pool_create(void *mem, dma_addr_t mem_dma, size_t bytes, uint32_t nb_bufs_max)
{
    uintptr_t base = (uintptr_t)mem;
    uint32_t nb_bufs = fit_count(base, bytes, nb_bufs_max);
    struct pool_layout l;
    struct pool *p;

    if (nb_bufs == 0)
        return NULL;
    l = layout_for(base, nb_bufs);
    p = (struct pool *)(base + l.pool_off);
    p->stack = (struct pktbuf **)(base + l.stack_off);
    p->top = 0;
    p->nb_bufs = nb_bufs;
    p->bufs_mem = (uint8_t *)(base + l.bufs_off);
    p->bufs_dma = mem_dma + l.bufs_off;
    p->nb_get_short = 0;
    p->nb_put_rejected = 0;
    p->cache.len = 0;
    p->next_fresh = 0;
    return p;
}

/* --- the put check --------------------------------------------------- */

/*
 * A pointer's buffer index, from its value alone: a stray pointer is never
 * dereferenced. PKTBUF_STRIDE is 2^6 * 35. Take the offset from the first
 * buffer (one below it wraps to a huge value) and multiply by 35's inverse
 * modulo 2^64: a multiple of 35 becomes its quotient, and the low 6 bits
 * stay zero exactly when they were. Rotating right by 6 then divides by 64
 * and moves any low bit that was set to the top. For an offset whose low 6
 * bits are clear, offset / 64 is below 2^58, and there the product is a
 * quotient below 2^58 / 35 for multiples of 35 and above it for anything
 * else (Granlund & Montgomery, PLDI 1994, section 9). So a buffer's offset
 * gives its index and any other offset gives at least 2^52: one compare
 * with next_fresh tells a buffer that was handed out from anything else.
 */
#define STRIDE_SHIFT ((unsigned)__builtin_ctz(PKTBUF_STRIDE))
#define STRIDE_ODD   ((uint64_t)PKTBUF_STRIDE >> STRIDE_SHIFT)

_Static_assert(PKTBUF_STRIDE >> __builtin_ctz(PKTBUF_STRIDE) == 35, "the comment's numbers");
_Static_assert(__builtin_ctz(PKTBUF_STRIDE) == 6, "the comment's numbers");

/* 35's inverse modulo 2^64 by Newton's iteration: x = 35 is right in the
 * low 3 bits (35 * 35 == 1 modulo 8), and each step doubles the bits that
 * are (3, 6, ... 96). A constant expression, so the image computes nothing. */
#define NEWTON_STEP(x)     ((x) * (2 - STRIDE_ODD * (x)))
#define STRIDE_ODD_INVERSE NEWTON_STEP(NEWTON_STEP(NEWTON_STEP(NEWTON_STEP(NEWTON_STEP(STRIDE_ODD)))))

_Static_assert(STRIDE_ODD * STRIDE_ODD_INVERSE == 1, "an inverse modulo 2^64");

static inline uint64_t buf_index(const struct pool *p, const struct pktbuf *b)
{
    uint64_t q = ((uintptr_t)b - (uintptr_t)p->bufs_mem) * STRIDE_ODD_INVERSE;

    return q >> STRIDE_SHIFT | q << (64 - STRIDE_SHIFT);
}

/* --- pointer copies -------------------------------------------------- */

/*
 * The object layer is little more than these two copies, so they move two
 * pointers per 16-byte access (SSE2, which baseline x86-64 has), sixteen
 * pointers per loop step, then what is left in pairs. Both go forward
 * through dst, so ptrs_copy may copy to a lower address over its own source
 * (cache_spill slides the cache down). The empty asm keeps GCC from turning
 * a loop back into a call to memcpy, which the image has only as a byte
 * loop (kernel/libc.c).
 */
typedef uint64_t ptr_pair __attribute__((vector_size(16), aligned(8), may_alias));

static inline ptr_pair pair_load(struct pktbuf *const *src)
{
    return *(const ptr_pair *)src;
}

static inline void pair_store(struct pktbuf **dst, ptr_pair v)
{
    *(ptr_pair *)dst = v;
}

static inline ptr_pair pair_swapped(ptr_pair v)
{
    return __builtin_shufflevector(v, v, 1, 0);    /* gcc >= 12 and clang both have it */
}

/* Eight pointers, all loads before the stores. */
static inline void copy8(struct pktbuf **dst, struct pktbuf *const *src)
{
    ptr_pair a = pair_load(src), b = pair_load(src + 2);
    ptr_pair c = pair_load(src + 4), d = pair_load(src + 6);

    pair_store(dst, a);
    pair_store(dst + 2, b);
    pair_store(dst + 4, c);
    pair_store(dst + 6, d);
}

/* The eight pointers below from, last first. */
static inline void copy8_reversed(struct pktbuf **dst, struct pktbuf *const *from)
{
    ptr_pair a = pair_load(from - 2), b = pair_load(from - 4);
    ptr_pair c = pair_load(from - 6), d = pair_load(from - 8);

    pair_store(dst, pair_swapped(a));
    pair_store(dst + 2, pair_swapped(b));
    pair_store(dst + 4, pair_swapped(c));
    pair_store(dst + 6, pair_swapped(d));
}

/* dst[i] = src[i] for i < n; dst may sit below src and overlap it. */
static inline void ptrs_copy(struct pktbuf **dst, struct pktbuf *const *src, unsigned n)
{
    for (unsigned k = n / 16; k > 0; k--, dst += 16, src += 16) {
        __asm__("" : "+r"(dst));
        copy8(dst, src);
        copy8(dst + 8, src + 8);
    }
    for (unsigned k = n % 16 / 2; k > 0; k--, dst += 2, src += 2) {
        __asm__("" : "+r"(dst));
        pair_store(dst, pair_load(src));
    }
    if (n % 2 != 0)
        *dst = *src;
}

/* dst[i] = src[n - 1 - i] for i < n: a stack's top n, top first. */
static inline void ptrs_copy_reversed(struct pktbuf **dst, struct pktbuf *const *src,
                                      unsigned n)
{
    struct pktbuf *const *from = src + n;      /* copies down from here */

    for (unsigned k = n / 16; k > 0; k--, dst += 16, from -= 16) {
        __asm__("" : "+r"(dst));
        copy8_reversed(dst, from);
        copy8_reversed(dst + 8, from - 8);
    }
    for (unsigned k = n % 16 / 2; k > 0; k--, dst += 2, from -= 2) {
        __asm__("" : "+r"(dst));
        pair_store(dst, pair_swapped(pair_load(from - 2)));
    }
    if (n % 2 != 0)
        *dst = from[-1];
}

/* --- cache <-> stack ------------------------------------------------- */

/* Moves the stack's top POOL_CACHE_BULK (or fewer) into the empty cache,
 * same order, so the stack's top becomes the cache's top. */
static void cache_refill(struct pool *p)
{
    struct pool_cache *c = &p->cache;
    uint32_t k = p->top < POOL_CACHE_BULK ? p->top : POOL_CACHE_BULK;

    p->top -= k;
    ptrs_copy(c->bufs, &p->stack[p->top], k);
    c->len = k;
}

/* Moves the full cache's bottom POOL_CACHE_BULK onto the stack and slides
 * the rest down: the bottom of the cache is what sits right above the
 * stack's top in LIFO order. The stack has room while callers keep to the
 * rules (no more than nb_bufs are free at once); if it has not, nothing
 * moves and this returns false. */
static bool cache_spill(struct pool *p)
{
    struct pool_cache *c = &p->cache;

    if (p->nb_bufs - p->top < POOL_CACHE_BULK)
        return false;
    ptrs_copy(&p->stack[p->top], c->bufs, POOL_CACHE_BULK);
    p->top += POOL_CACHE_BULK;
    ptrs_copy(c->bufs, &c->bufs[POOL_CACHE_BULK], c->len - POOL_CACHE_BULK);
    c->len -= POOL_CACHE_BULK;
    return true;
}

/* Everything in the cache onto the stack, except what would not fit (only
 * after a give broke the contract: dropped and counted). */
void pool_cache_flush(struct pool *p)
{
    struct pool_cache *c = &p->cache;
    uint32_t room = p->nb_bufs - p->top;
    uint32_t k = c->len < room ? c->len : room;

    ptrs_copy(&p->stack[p->top], c->bufs, k);
    p->top += k;
    p->nb_put_rejected += c->len - k;
    c->len = 0;
}

/* --- object layer ---------------------------------------------------- */

/* Hands out buffers never used before, in address order, writing each one's
 * metadata line now. They sit logically under the whole stack: a recycled
 * (cache-warm) buffer always goes first. */
static unsigned fresh_take(struct pool *p, struct pktbuf **bufs, unsigned n)
{
    unsigned k = 0;

    for (; k < n && p->next_fresh < p->nb_bufs; k++)
        bufs[k] = buf_init(p, p->next_fresh++);
    return k;
}

/* What the cache cannot serve alone: all it has, then refills from the
 * stack, then the never-used buffers. Out of line, so the common case in
 * pool_take_bulk stays a bounds check and a copy. */
static __attribute__((noinline)) unsigned take_slow(struct pool *p, struct pktbuf **bufs,
                                                    unsigned n)
{
    struct pool_cache *c = &p->cache;
    unsigned got = 0;

    for (;;) {
        unsigned k = n - got < c->len ? n - got : c->len;

        c->len -= k;
        ptrs_copy_reversed(bufs + got, &c->bufs[c->len], k);
        got += k;
        if (got == n || p->top == 0)
            break;
        cache_refill(p);
    }
    if (got < n)
        got += fresh_take(p, bufs + got, n - got);
    if (got < n)
        p->nb_get_short++;
    return got;
}

unsigned pool_take_bulk(struct pool *p, struct pktbuf **bufs, unsigned n)
{
    struct pool_cache *c = &p->cache;

    if (n > c->len)
        return take_slow(p, bufs, n);
    c->len -= n;
    ptrs_copy_reversed(bufs, &c->bufs[c->len], n);
    return n;
}

/* What does not fit in the cache: fill it, spill its bottom part to the
 * stack, repeat. */
static __attribute__((noinline)) void give_slow(struct pool *p, struct pktbuf *const *bufs,
                                                unsigned n)
{
    struct pool_cache *c = &p->cache;

    while (n > 0) {
        if (c->len == POOL_CACHE_SIZE && !cache_spill(p)) {
            p->nb_put_rejected += n;       /* more given than taken */
            return;
        }
        unsigned room = POOL_CACHE_SIZE - c->len;
        unsigned k = n < room ? n : room;

        ptrs_copy(&c->bufs[c->len], bufs, k);
        c->len += k;
        bufs += k;
        n -= k;
    }
}

void pool_give_bulk(struct pool *p, struct pktbuf *const *bufs, unsigned n)
{
    struct pool_cache *c = &p->cache;

    if (n > POOL_CACHE_SIZE - c->len) {
        give_slow(p, bufs, n);
        return;
    }
    ptrs_copy(&c->bufs[c->len], bufs, n);
    c->len += n;
}

/* --- packet layer ---------------------------------------------------- */

unsigned pool_get_bulk(struct pool *p, struct pktbuf **bufs, unsigned n)
{
    unsigned got = pool_take_bulk(p, bufs, n);

    for (unsigned i = 0; i < got; i++)
        pool_hand_out(bufs[i]);
    return got;
}

/* The put check (pool.h): true, with b marked free, if b is one of p's
 * buffers handed out so far ([0, handed_out)) and out through the packet
 * layer. Marking it as it passes refuses the second of two copies of one
 * buffer in the same call. */
static inline bool put_check(const struct pool *p, uint32_t handed_out, struct pktbuf *b)
{
    if (buf_index(p, b) >= handed_out || b->in_pool)
        return false;
    b->in_pool = 1;
    return true;
}

/* Checks buffers from bufs[0] on and gives back each run that passes at
 * once; a refused one is counted and skipped. With stop_at_other_pool it
 * also stops at the first buffer of another pool, which reads each
 * buffer's pool pointer: only for callers whose entries are real buffers
 * (pktbuf_free_bulk). Returns how many entries it went through. */
static inline unsigned put_run(struct pool *p, struct pktbuf *const *bufs, unsigned n,
                               bool stop_at_other_pool)
{
    uint32_t handed_out = p->next_fresh;      /* buffers [0, next_fresh) */
    unsigned start = 0, i = 0;

    for (; i < n; i++) {
        struct pktbuf *b = bufs[i];

        if (stop_at_other_pool && b->pool != p)
            break;
        if (!put_check(p, handed_out, b)) {
            pool_give_bulk(p, bufs + start, i - start);
            p->nb_put_rejected++;
            start = i + 1;
        }
    }
    pool_give_bulk(p, bufs + start, i - start);
    return i;
}

void pool_put_bulk(struct pool *p, struct pktbuf *const *bufs, unsigned n)
{
    put_run(p, bufs, n, false);
}

/* Each run of consecutive same-pool buffers goes back in one put_run: a
 * burst usually comes from one port, so one pool. The run's first buffer
 * names its pool, so every run is at least one buffer long. */
void pktbuf_free_bulk(struct pktbuf *const *bufs, unsigned n)
{
    for (unsigned i = 0; i < n;)
        i += put_run(bufs[i]->pool, bufs + i, n - i, true);
}

void pktbuf_free(struct pktbuf *b)
{
    struct pool *p = b->pool;

    if (put_check(p, p->next_fresh, b))
        pool_give(p, b);
    else
        p->nb_put_rejected++;
}

uint32_t pool_free_count(const struct pool *p)
{
    return p->top + p->cache.len + (p->nb_bufs - p->next_fresh);
}
