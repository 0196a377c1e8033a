/*
 * IPv4 longest-prefix match (DESIGN.md, Modes: router).
 *
 * Routes map a prefix (address/depth) to a 24-bit next-hop value chosen by
 * the caller (an index into its neighbour/next-hop table). The table lives
 * in memory the caller hands to lpm_create() and never allocates elsewhere.
 * The structure is chosen for rte_lpm's lookup speed at a fraction of its
 * memory; see the comment at the top of lpm.c for the design and why.
 * Addresses and prefixes are in host byte order.
 */
#ifndef PKTMETAL_NET_LPM_H
#define PKTMETAL_NET_LPM_H

#include <stddef.h>
#include <stdint.h>

#define LPM_MAX_NEXT_HOP 0xffffffu   /* 24 bits */
#define LPM_NO_ROUTE     0xffffffffu /* lookup_bulk's value for a miss */

struct lpm;

struct lpm_stats {
    uint32_t nb_routes;
    size_t mem_used;          /* bytes of the region in use by tables */
    size_t mem_total;         /* bytes of the region */
};

/* Bytes lpm_create needs to hold max_routes routes in the worst case the
 * design allows (a caller may give less and get -PM_ENOMEM on add). */
size_t lpm_mem_bytes(uint32_t max_routes);
/* Builds an empty table in [mem, mem+bytes). NULL if bytes is too small for
 * the fixed part. */
struct lpm *lpm_create(void *mem, size_t bytes, uint32_t max_routes);
/* 0, -PM_EINVAL (depth > 32, next hop > LPM_MAX_NEXT_HOP), -PM_ENOMEM, or
 * -PM_ENOSPC (max_routes reached). Adding an existing prefix replaces its
 * next hop. */
int lpm_add(struct lpm *t, uint32_t prefix, uint8_t depth, uint32_t next_hop);
/* 0 or -PM_ENOENT (also for depth > 32). -PM_ENOMEM only when the region
 * is smaller than lpm_mem_bytes(max_routes) and the delete would grow a
 * node; the table is then unchanged. */
int lpm_delete(struct lpm *t, uint32_t prefix, uint8_t depth);
/* 0 and *next_hop, or -PM_ENOENT. */
int lpm_lookup(const struct lpm *t, uint32_t addr, uint32_t *next_hop);
void lpm_lookup_bulk(const struct lpm *t, const uint32_t *addrs, uint32_t *next_hops, unsigned n);
void lpm_get_stats(const struct lpm *t, struct lpm_stats *out);
/* Calls fn for every route (prefix order unspecified); for `routes`. */
void lpm_walk(const struct lpm *t, void (*fn)(void *ctx, uint32_t prefix, uint8_t depth,
                                              uint32_t next_hop), void *ctx);

#endif
