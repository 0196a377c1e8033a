/*
 * Benchmark workloads: the generators of /work/shared/bench/WORKLOADS.md
 * (sections 0, 1a, 1b, 4 and 5), bit-identical to the reference so that
 * pktmetal and DPDK see the same routes, addresses, bytes and packets.
 *
 * Every generator starts its own splitmix64 state from its seed, so each
 * stream is reproducible on its own. The CHECK fingerprints of WORKLOADS.md
 * (route and address FNV-1a hashes, hit counts, checksum values) are pinned
 * by tests/unit/test_workloads.c and printed again by tools/bench/host_bench.
 *
 * Addresses are host-order uint32_t; packet fields are big-endian on the
 * wire. Nothing here depends on pktmetal or DPDK: both sides are measured on
 * the same data.
 */
#ifndef PKTMETAL_TOOLS_BENCH_WORKLOADS_H
#define PKTMETAL_TOOLS_BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

#define WL_ROUTE_SEED 0x00C0FFEEull
#define WL_ADDR_SEED  0x0ADD2E55ull
#define WL_DATA_SEED  0x00DA7A00ull

#define WL_FNV_BASIS  0xcbf29ce484222325ull
#define WL_FNV_PRIME  0x100000001b3ull

/* Keeps a result alive without letting the compiler hoist or vectorise the
 * call that produced it (WORKLOADS.md section 0, dead-code guard). */
#define WL_USE(x) __asm__ volatile("" ::"r"(x) : "memory")

#define WL_PKT_BYTES     60     /* 64-byte frame without the FCS */
#define WL_UDP1500_BYTES 1500   /* section 4: IPv4 + UDP + 1472 bytes */
#define WL_NB_NEXT_HOPS  256

struct wl_route {
    uint32_t addr;              /* host order, host bits zero */
    uint8_t len;                /* 16..32 */
    uint8_t nh;                 /* next hop 0..255 */
};

/* Section 5's next-hop table entry: the 12 bytes copied over a frame. */
struct wl_nh {
    uint8_t dst_mac[6];         /* 02:00:00:00:10:jj */
    uint8_t src_mac[6];         /* 02:00:00:00:20:jj */
};

uint64_t wl_next(uint64_t *state);
/* len ? 0xFFFFFFFF << (32 - len) : 0, without the undefined shift by 32. */
uint32_t wl_mask(unsigned len);
uint64_t wl_fnv1a(uint64_t hash, const void *data, size_t len);

/* Section 1a: n distinct routes in emission order (malloc'ed; NULL when out
 * of memory). */
struct wl_route *wl_gen_routes(uint32_t n, uint64_t seed);
/* Section 1b: count destination addresses for the table routes[0..n)
 * (malloc'ed; NULL when out of memory). */
uint32_t *wl_gen_addrs(const struct wl_route *routes, uint32_t n, uint32_t count,
                       uint64_t seed);
/* FNV-1a over 6 bytes per route: addr LE, len, nh. */
uint64_t wl_routes_fnv(const struct wl_route *routes, uint32_t n);
/* FNV-1a over the addresses as little-endian bytes. */
uint64_t wl_addrs_fnv(const uint32_t *addrs, uint32_t count);
/* Routes per prefix length: hist[len], len 0..32. */
void wl_len_histogram(const struct wl_route *routes, uint32_t n, uint32_t hist[33]);
/* /24 blocks holding a route longer than /24: rte_lpm's tbl8 groups. */
uint32_t wl_tbl8_groups(const struct wl_route *routes, uint32_t n);

/* The little-endian bytes of successive wl_next() values from seed. */
void wl_fill_bytes(void *buf, size_t len, uint64_t seed);

/* Section 5's frame i to dst (host order): Ethernet, IPv4 with a valid
 * checksum, UDP, 18 bytes of payload; WL_PKT_BYTES bytes. */
void wl_build_packet(uint8_t frame[WL_PKT_BYTES], uint32_t i, uint32_t dst);
/* Section 4's IPv4/UDP packet (no Ethernet header), UDP checksum 0. */
void wl_build_udp1500(uint8_t pkt[WL_UDP1500_BYTES]);
void wl_fill_nh_table(struct wl_nh nht[WL_NB_NEXT_HOPS]);

/* RFC 1071 reference used by the generators: the folded, non-complemented
 * sum of big-endian 16-bit words. */
uint16_t wl_sum16_be(const void *data, size_t len);

#endif
