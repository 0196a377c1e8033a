/*
 * Neighbour table storage (neigh.h): a chained hash over a fixed array of
 * entries, laid out in the memory handed to neigh_table_init:
 *
 *   +---------------------------+-------------------------------+-----------+
 *   | entries[nb_entries]       | queues[nb_entries]            | buckets   |
 *   | 48 B each: what the tick  | NEIGH_QUEUE_LEN pointers each | u32 heads |
 *   | walks                     | (touched only while resolving)| (pow2)    |
 *   +---------------------------+-------------------------------+-----------+
 *
 * The parked queues live apart from the entries so that router_tick's walk
 * over every entry reads 48 bytes per entry, not 112.
 *
 * Chains and the free list are entry indexes threaded through hash_next, so
 * the table has no pointers into itself and needs no allocator. There are at
 * least as many buckets as entries (a power of two), so a chain holds about
 * one entry. The hash is Fibonacci hashing (Knuth 6.4): multiply by
 * 2^32 / phi and keep the top bits, which spreads consecutive host
 * addresses of one subnet, the common case, over distinct buckets.
 */
#include "net/neigh.h"

#define NEIGH_MAX_ENTRIES (1u << 24)
#define FIB_HASH_MULT     0x9e3779b1u

/* At least as many buckets as entries, a power of two, at least 2 (so the
 * shift stays below 32). */
static uint32_t nb_buckets_for(uint32_t nb_entries, uint32_t *shift)
{
    uint32_t nb_buckets = 2;

    *shift = 31;
    while (nb_buckets < nb_entries && nb_buckets < NEIGH_MAX_ENTRIES) {
        nb_buckets <<= 1;
        (*shift)--;
    }
    return nb_buckets;
}

size_t neigh_table_mem_bytes(uint32_t nb_entries)
{
    uint32_t shift, nb_buckets = nb_buckets_for(nb_entries, &shift);

    return (size_t)nb_entries * (sizeof(struct neigh) + NEIGH_QUEUE_LEN * sizeof(struct pktbuf *)) +
           (size_t)nb_buckets * sizeof(uint32_t);
}

static uint32_t bucket_of(const struct neigh_table *t, uint32_t ip)
{
    return (ip * FIB_HASH_MULT) >> t->bucket_shift;
}

static uint32_t index_of(const struct neigh_table *t, const struct neigh *n)
{
    return (uint32_t)(n - t->entries);
}

/* The empty asm hides the index from the optimiser, so the loop is not
 * turned into a call to memset, which the image does not have. */
static void fill_u32(uint32_t *p, uint32_t n, uint32_t v)
{
    for (uint32_t i = 0; i < n; i++) {
        __asm__("" : "+r"(i));
        p[i] = v;
    }
}

bool neigh_table_init(struct neigh_table *t, void *mem, size_t bytes, uint32_t nb_entries)
{
    uint32_t shift, nb_buckets = nb_buckets_for(nb_entries, &shift);

    if (nb_entries == 0 || nb_entries > NEIGH_MAX_ENTRIES ||
        bytes < neigh_table_mem_bytes(nb_entries))
        return false;
    t->nb_entries = nb_entries;
    t->nb_used = 0;
    t->bucket_shift = shift;
    t->entries = mem;
    t->queues = (void *)(t->entries + nb_entries);
    t->buckets = (uint32_t *)(t->queues + nb_entries);
    fill_u32(t->buckets, nb_buckets, NEIGH_NIL);
    for (uint32_t i = 0; i < nb_entries; i++) {
        struct neigh *n = &t->entries[i];
        n->state = NEIGH_FREE;
        n->nb_queued = 0;
        n->hash_next = i + 1 < nb_entries ? i + 1 : NEIGH_NIL;
    }
    t->free_head = 0;
    t->gen = 1;
    return true;
}

struct neigh *neigh_find(struct neigh_table *t, uint32_t ip)
{
    for (uint32_t i = t->buckets[bucket_of(t, ip)]; i != NEIGH_NIL; i = t->entries[i].hash_next)
        if (t->entries[i].ip == ip)
            return &t->entries[i];
    return NULL;
}

static void unlink_from_bucket(struct neigh_table *t, struct neigh *n)
{
    uint32_t *link = &t->buckets[bucket_of(t, n->ip)];
    uint32_t idx = index_of(t, n);

    while (*link != idx)
        link = &t->entries[*link].hash_next;   /* n is in this chain */
    *link = n->hash_next;
}

static bool neigh_used(const struct neigh *n)
{
    return (n->flags & NEIGH_F_USED) != 0;
}

/* May n's slot go to another address? Not while packets wait on it, nor
 * while it is resolving, probing or static, nor while it is a reachable
 * next hop in use. A reachable entry nothing was ever sent through was
 * learned from an ARP packet that asked for us: it costs one ARP exchange
 * to learn again, and keeping it would let a storm of such packets from
 * many senders fill the table for ROUTER_NEIGH_REACHABLE_NS. */
static bool neigh_idle(const struct neigh *n)
{
    if (n->nb_queued != 0)
        return false;
    if (n->state == NEIGH_STALE || n->state == NEIGH_FAILED)
        return true;
    return n->state == NEIGH_REACHABLE && !neigh_used(n);
}

/* Eviction order: entries never used first, then the least recently used. */
static bool evict_before(const struct neigh *a, const struct neigh *b)
{
    if (neigh_used(a) != neigh_used(b))
        return !neigh_used(a);
    return a->used_ns < b->used_ns;
}

/* The idle entry to reuse, or NULL. Only called when the table is full. */
static struct neigh *evict_candidate(struct neigh_table *t)
{
    struct neigh *best = NULL;

    for (uint32_t i = 0; i < t->nb_entries; i++) {
        struct neigh *n = &t->entries[i];
        if (neigh_idle(n) && (best == NULL || evict_before(n, best)))
            best = n;
    }
    return best;
}

struct neigh *neigh_alloc(struct neigh_table *t, uint32_t ip, uint8_t port, uint64_t now_ns,
                          bool may_evict)
{
    struct neigh *n;

    if (t->free_head != NEIGH_NIL) {
        n = &t->entries[t->free_head];
        t->free_head = n->hash_next;
        t->nb_used++;
    } else {
        n = may_evict ? evict_candidate(t) : NULL;
        if (n == NULL)
            return NULL;
        unlink_from_bucket(t, n);
    }
    uint32_t bucket = bucket_of(t, ip);
    n->ip = ip;
    n->state = NEIGH_INCOMPLETE;
    n->nb_probes = 0;
    n->nb_queued = 0;
    n->port = port;
    n->flags = 0;
    for (int i = 0; i < 6; i++)
        n->mac[i] = 0;
    n->changed_ns = now_ns;
    n->used_ns = now_ns;
    n->next_probe_ns = now_ns;
    n->hash_next = t->buckets[bucket];
    t->buckets[bucket] = index_of(t, n);
    neigh_table_changed(t);
    return n;
}

void neigh_release(struct neigh_table *t, struct neigh *n)
{
    unlink_from_bucket(t, n);
    neigh_table_changed(t);
    n->state = NEIGH_FREE;
    n->nb_queued = 0;
    n->hash_next = t->free_head;
    t->free_head = index_of(t, n);
    t->nb_used--;
}

bool neigh_park(struct neigh_table *t, struct neigh *n, struct pktbuf *pkt)
{
    if (n->nb_queued == NEIGH_QUEUE_LEN)
        return false;
    t->queues[index_of(t, n)][n->nb_queued++] = pkt;
    return true;
}

unsigned neigh_unpark(struct neigh_table *t, struct neigh *n,
                      struct pktbuf *out[NEIGH_QUEUE_LEN])
{
    struct pktbuf **queue = t->queues[index_of(t, n)];
    unsigned nb = n->nb_queued;

    for (unsigned i = 0; i < nb; i++)
        out[i] = queue[i];
    n->nb_queued = 0;
    return nb;
}

const char *neigh_state_name(enum neigh_state s)
{
    switch (s) {
    case NEIGH_FREE:       return "free";
    case NEIGH_INCOMPLETE: return "incomplete";
    case NEIGH_REACHABLE:  return "reachable";
    case NEIGH_STALE:      return "stale";
    case NEIGH_PROBE:      return "probe";
    case NEIGH_FAILED:     return "failed";
    case NEIGH_STATIC:     return "static";
    }
    return "?";
}
