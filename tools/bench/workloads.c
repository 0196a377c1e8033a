/*
 * Benchmark workloads (workloads.h): WORKLOADS.md's generators, written from
 * its rules. Plain C, byte-wise writes, no dependence on pktmetal or DPDK.
 *
 * The route generator drops a candidate whose (addr, len) was emitted
 * before; emitted pairs live in an open-addressed set of 64-bit keys
 * (addr << 8 | len, plus one so that 0 marks an empty slot), kept at most a
 * quarter full so probes stay short for the 100k table.
 */
#include "tools/bench/workloads.h"

#include <stdlib.h>
#include <string.h>

uint64_t wl_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t wl_mask(unsigned len)
{
    return len ? (uint32_t)(0xFFFFFFFFull << (32 - len)) : 0;
}

uint64_t wl_fnv1a(uint64_t hash, const void *data, size_t len)
{
    const uint8_t *b = data;

    for (size_t i = 0; i < len; i++)
        hash = (hash ^ b[i]) * WL_FNV_PRIME;
    return hash;
}

/* --- section 1a: routes --------------------------------------------------- */

/* Prefix length from the first draw (WORKLOADS.md 1a's table). */
static unsigned route_len(uint64_t d1)
{
    unsigned p = (unsigned)(d1 % 1000);

    if (p < 600)
        return 24;
    if (p < 660)
        return 23;
    if (p < 720)
        return 22;
    if (p < 900)
        return 16 + (unsigned)((d1 >> 32) % 6);
    return 25 + (unsigned)((d1 >> 32) % 8);
}

/* Adds key to the set; false if it was there already. */
static int set_insert(uint64_t *slots, uint32_t nb_slots, uint64_t key)
{
    uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (nb_slots - 1);

    while (slots[i] != 0 && slots[i] != key)
        i = (i + 1) & (nb_slots - 1);
    if (slots[i] == key)
        return 0;
    slots[i] = key;
    return 1;
}

struct wl_route *wl_gen_routes(uint32_t n, uint64_t seed)
{
    uint32_t nb_slots = 1024, nb = 0;
    uint64_t s = seed;

    while (nb_slots < 4 * (uint64_t)n)
        nb_slots <<= 1;
    struct wl_route *routes = malloc((n ? n : 1) * sizeof(*routes));
    uint64_t *seen = calloc(nb_slots, sizeof(*seen));
    if (routes == NULL || seen == NULL) {
        free(routes);
        free(seen);
        return NULL;
    }
    while (nb < n) {
        uint64_t d1 = wl_next(&s), d2 = wl_next(&s);
        unsigned len = route_len(d1);
        uint32_t addr = (uint32_t)(d2 >> 32) & wl_mask(len);

        if (!set_insert(seen, nb_slots, ((uint64_t)addr << 8 | len) + 1))
            continue;                   /* both draws are used up */
        routes[nb++] = (struct wl_route){ .addr = addr, .len = (uint8_t)len,
                                          .nh = (uint8_t)(d2 & 0xFF) };
    }
    free(seen);
    return routes;
}

uint64_t wl_routes_fnv(const struct wl_route *routes, uint32_t n)
{
    uint64_t h = WL_FNV_BASIS;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = routes[i].addr;
        uint8_t rec[6] = { (uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16),
                           (uint8_t)(a >> 24), routes[i].len, routes[i].nh };
        h = wl_fnv1a(h, rec, sizeof(rec));
    }
    return h;
}

void wl_len_histogram(const struct wl_route *routes, uint32_t n, uint32_t hist[33])
{
    memset(hist, 0, 33 * sizeof(hist[0]));
    for (uint32_t i = 0; i < n; i++)
        hist[routes[i].len]++;
}

uint32_t wl_tbl8_groups(const struct wl_route *routes, uint32_t n)
{
    uint8_t *group = calloc(1u << 21, 1);    /* one bit per /24 block */
    uint32_t nb = 0;

    if (group == NULL)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = routes[i].addr >> 8;
        if (routes[i].len > 24 && !(group[b >> 3] & (1u << (b & 7)))) {
            group[b >> 3] |= (uint8_t)(1u << (b & 7));
            nb++;
        }
    }
    free(group);
    return nb;
}

/* --- section 1b: destination addresses ------------------------------------ */

/* touched[b] = 1 for every /24 block b that a route overlaps. */
static uint8_t *touched_blocks(const struct wl_route *routes, uint32_t n)
{
    uint8_t *touched = calloc(1u << 24, 1);

    if (touched == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = routes[i].addr >> 8;
        uint32_t nb = routes[i].len <= 24 ? 1u << (24 - routes[i].len) : 1;
        memset(touched + b, 1, nb);
    }
    return touched;
}

uint32_t *wl_gen_addrs(const struct wl_route *routes, uint32_t n, uint32_t count,
                       uint64_t seed)
{
    uint8_t *touched = touched_blocks(routes, n);
    uint32_t *a = malloc((count ? count : 1) * sizeof(*a));
    uint64_t s = seed;

    if (touched == NULL || a == NULL || n == 0) {
        free(touched);
        free(a);
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint64_t d = wl_next(&s);

        if (d >> 63 == 0) {             /* hit: inside route k */
            const struct wl_route *r = &routes[(uint32_t)d % n];
            a[i] = r->addr | ((uint32_t)(wl_next(&s) >> 32) & ~wl_mask(r->len));
        } else {                        /* miss: a /24 no route overlaps */
            do
                a[i] = (uint32_t)(wl_next(&s) >> 32);
            while (touched[a[i] >> 8]);
        }
    }
    free(touched);
    return a;
}

uint64_t wl_addrs_fnv(const uint32_t *addrs, uint32_t count)
{
    uint64_t h = WL_FNV_BASIS;

    for (uint32_t i = 0; i < count; i++) {
        uint8_t le[4] = { (uint8_t)addrs[i], (uint8_t)(addrs[i] >> 8),
                          (uint8_t)(addrs[i] >> 16), (uint8_t)(addrs[i] >> 24) };
        h = wl_fnv1a(h, le, sizeof(le));
    }
    return h;
}

/* --- data bytes and packets (sections 4 and 5) ---------------------------- */

void wl_fill_bytes(void *buf, size_t len, uint64_t seed)
{
    uint8_t *p = buf;
    uint64_t s = seed;

    for (size_t off = 0; off < len; off += 8) {
        uint64_t v = wl_next(&s);
        for (size_t k = 0; k < 8 && off + k < len; k++)
            p[off + k] = (uint8_t)(v >> (8 * k));
    }
}

uint16_t wl_sum16_be(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

/* A 20-byte IPv4 header (no options, DF clear) with a valid checksum. */
static void ipv4_header(uint8_t *ip, uint16_t total_len, uint16_t id, uint8_t ttl,
                        uint32_t src, uint32_t dst)
{
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put_be16(ip + 2, total_len);
    put_be16(ip + 4, id);
    ip[8] = ttl;
    ip[9] = 17;                         /* UDP */
    put_be32(ip + 12, src);
    put_be32(ip + 16, dst);
    put_be16(ip + 10, (uint16_t)~wl_sum16_be(ip, 20));
}

static void udp_header(uint8_t *udp, uint16_t sport, uint16_t dport, uint16_t len)
{
    put_be16(udp, sport);
    put_be16(udp + 2, dport);
    put_be16(udp + 4, len);
    put_be16(udp + 6, 0);
}

/*
 *   0        6        12   14          34      42            60
 *   +--------+--------+----+-----------+-------+-------------+
 *   | dst    | src    |0800| IPv4 (20) |UDP (8)| payload (18)|
 *   +--------+--------+----+-----------+-------+-------------+
 */
void wl_build_packet(uint8_t frame[WL_PKT_BYTES], uint32_t i, uint32_t dst)
{
    static const uint8_t eth[14] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00 };

    memcpy(frame, eth, sizeof(eth));
    ipv4_header(frame + 14, 46, (uint16_t)(i & 0xFFFF), 255, 0x0A000000u + i, dst);
    udp_header(frame + 34, (uint16_t)(0x1000 + (i & 0xFFF)), 5001, 26);
    for (uint32_t k = 0; k < 18; k++)
        frame[42 + k] = (uint8_t)(i + k);
}

void wl_build_udp1500(uint8_t pkt[WL_UDP1500_BYTES])
{
    ipv4_header(pkt, WL_UDP1500_BYTES, 0, 64, 0x0A000001u, 0xC6120001u);
    udp_header(pkt + 20, 4096, 5001, WL_UDP1500_BYTES - 20);
    wl_fill_bytes(pkt + 28, WL_UDP1500_BYTES - 28, WL_DATA_SEED);
}

void wl_fill_nh_table(struct wl_nh nht[WL_NB_NEXT_HOPS])
{
    for (unsigned j = 0; j < WL_NB_NEXT_HOPS; j++) {
        const uint8_t d[6] = { 0x02, 0, 0, 0, 0x10, (uint8_t)j };
        const uint8_t s[6] = { 0x02, 0, 0, 0, 0x20, (uint8_t)j };
        memcpy(nht[j].dst_mac, d, 6);
        memcpy(nht[j].src_mac, s, 6);
    }
}
