/*
 * Learning bridge MAC table (DESIGN.md, Modes: bridge; the API is
 * net/bridge.h). It follows the forwarding process of IEEE 802.1Q clause 8.7
 * in its simplest form: learn the source, filter by the destination, flood
 * what is unknown, never reflect a frame onto its input port.
 *
 * The table is one open-addressing hash with linear probing, laid out in the
 * memory given to bridge_create:
 *
 *   mem       64-byte boundary
 *   |         v
 *   +---------+---------------+--------+--------+-----+-----------------+
 *   | (align) | struct bridge | slot 0 | slot 1 | ... | slot nb_slots-1 |
 *   +---------+---------------+--------+--------+-----+-----------------+
 *                             ^ 64-byte aligned, 24 bytes a slot
 *
 *   slot.key  bits 0..47  MAC, first byte on the wire in bits 40..47
 *             bits 48..59 VLAN id (always 0 when the bridge is not VLAN-aware)
 *             0 means the slot is empty: an all-zero MAC is never learned
 *
 * max_entries is rounded up to a power of two and the table gets twice as
 * many slots, so it is never more than half full. That keeps the expected
 * probe short (about 1.5 slots for a hit, 2.5 for a miss, Knuth 6.4), and
 * guarantees an empty slot, which is what ends every probe loop.
 *
 * Deletion is backward-shift (Knuth 6.4, Algorithm R), not tombstones: the
 * entries after a deleted slot that could no longer be reached are moved
 * back into the gap, so the table holds exactly the live entries and a miss
 * stops at the first truly empty slot. Tombstones would make deleting cheap
 * but lengthen every probe until a rebuild, and under steady churn (stations
 * ageing out and being learned again all day) the rebuild would be a
 * periodic stall on the packet path; the shift is paid in bridge_age only.
 *
 * An entry idle for longer than age_ns is dead as soon as its time is up:
 * a lookup that finds it floods, and learning its key again counts as an
 * expiry plus a fresh learn (stats: aged, learned), exactly as if bridge_age
 * had run in between. bridge_age only reclaims the slots. Until it does, a
 * dead entry still holds a place, so it counts in nb_entries and towards a
 * full table.
 */
#include "net/bridge.h"

#define CACHE_LINE_BYTES    64u
#define SLOT_EMPTY          0ull
#define VLAN_MASK           0xfffu
#define VLAN_SHIFT          48
/* Beyond this nb_slots (2 * max_entries) would not fit in 32 bits. */
#define BRIDGE_MAX_ENTRIES  (1u << 30)
#define NS_PER_S            1000000000ull

struct bridge_slot {
    uint64_t key;           /* SLOT_EMPTY or MAC | VLAN << 48 */
    uint64_t seen_ns;       /* last frame from this station */
    uint16_t port;
};

struct bridge {
    struct bridge_slot *slots;
    uint32_t mask;          /* nb_slots - 1 */
    uint32_t hash_shift;    /* 64 - log2(nb_slots): the hash is a product's top bits */
    uint32_t max_entries;   /* power of two, nb_slots / 2 */
    uint32_t nb_entries;    /* occupied slots, dead ones included */
    uint64_t age_ns;
    bool vlan_aware;
    uint64_t learned, moved, aged, table_full;
};

/* --- layout ------------------------------------------------------------ */

static uint64_t align_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

/* The power of two at or above x, for 1 <= x <= BRIDGE_MAX_ENTRIES. */
static uint32_t round_up_pow2(uint32_t x)
{
    uint32_t p = 1;

    while (p < x)
        p <<= 1;
    return p;
}

static uint32_t log2_pow2(uint32_t x)
{
    uint32_t n = 0;

    while (x > 1) {
        x >>= 1;
        n++;
    }
    return n;
}

/* Bytes from the aligned start of the region to the end of the slots. */
static uint64_t table_bytes(uint32_t nb_slots)
{
    return align_up(sizeof(struct bridge), CACHE_LINE_BYTES) +
           (uint64_t)nb_slots * sizeof(struct bridge_slot);
}

size_t bridge_mem_bytes(uint32_t max_entries)
{
    if (max_entries == 0 || max_entries > BRIDGE_MAX_ENTRIES)
        return 0;
    /* Room to align any region to a cache line. */
    return CACHE_LINE_BYTES - 1 + table_bytes(2 * round_up_pow2(max_entries));
}

struct bridge *bridge_create(void *mem, size_t bytes, uint32_t max_entries, uint64_t age_ns,
                             bool vlan_aware)
{
    uintptr_t base = (uintptr_t)mem;
    uint64_t pad, nb_slots;
    struct bridge *b;

    if (mem == NULL || max_entries == 0 || max_entries > BRIDGE_MAX_ENTRIES)
        return NULL;
    nb_slots = 2 * (uint64_t)round_up_pow2(max_entries);
    pad = align_up(base, CACHE_LINE_BYTES) - base;
    if (bytes < pad || bytes - pad < table_bytes(nb_slots))
        return NULL;

    b = (struct bridge *)(base + pad);
    *b = (struct bridge){
        .slots = (struct bridge_slot *)(base + pad +
                                        align_up(sizeof(struct bridge), CACHE_LINE_BYTES)),
        .mask = nb_slots - 1,
        .hash_shift = 64 - log2_pow2(nb_slots),
        .max_entries = nb_slots / 2,
        .age_ns = age_ns,
        .vlan_aware = vlan_aware,
    };
    /* Only the key says whether a slot is in use; the rest is written on learning. */
    for (uint64_t i = 0; i < nb_slots; i++)
        b->slots[i].key = SLOT_EMPTY;
    return b;
}

/* --- keys and probing --------------------------------------------------- */

static uint64_t mac_bits(const uint8_t mac[6])
{
    return (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
           (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | mac[5];
}

static uint64_t make_key(const struct bridge *b, const uint8_t mac[6], uint16_t vlan)
{
    uint64_t vid = b->vlan_aware ? (vlan & VLAN_MASK) : 0;

    return mac_bits(mac) | vid << VLAN_SHIFT;
}

/*
 * Multiplicative (Fibonacci) hashing: the top bits of key * 2^64/phi, one
 * multiply. The fold first brings bits 32..59 (the first two MAC bytes and
 * the VLAN) down into the low half: on their own they reach only the top
 * product bits, so keys differing only there (one MAC in many VLANs) would
 * lean on a few bits of the hash. Not keyed: a host that picks its source
 * MACs can aim them at one cluster (the table stays correct, probes grow).
 */
static uint32_t home_slot(const struct bridge *b, uint64_t key)
{
    uint64_t folded = key ^ (key >> 32);

    return (uint32_t)((folded * 0x9e3779b97f4a7c15ull) >> b->hash_shift);
}

/* The slot holding key, or the empty slot where it would go. The loop ends
 * because the table is never more than half full. */
static uint32_t find_slot(const struct bridge *b, uint64_t key)
{
    uint32_t i = home_slot(b, key);

    while (b->slots[i].key != key && b->slots[i].key != SLOT_EMPTY)
        i = (i + 1) & b->mask;
    return i;
}

/* Idle for longer than age_ns. A clock reading older than the entry (time
 * handed in out of order) counts as no idle time, not as a wrapped one. */
static bool is_dead(const struct bridge *b, const struct bridge_slot *s, uint64_t now_ns)
{
    return now_ns > s->seen_ns && now_ns - s->seen_ns > b->age_ns;
}

/*
 * Empties slot `hole` and closes the gap (Algorithm R). Walking the cluster
 * after the hole, an entry at j whose home slot is h may move back into the
 * hole only if the hole lies on its probe path h..j; if h sits cyclically
 * after the hole, moving it would put it before its own home, where no probe
 * would find it. The walk stops at the first empty slot, the end of the
 * cluster, and that last hole becomes the new empty slot.
 */
static void delete_slot(struct bridge *b, uint32_t hole)
{
    for (uint32_t j = (hole + 1) & b->mask; b->slots[j].key != SLOT_EMPTY;
         j = (j + 1) & b->mask) {
        uint32_t from_home = (j - home_slot(b, b->slots[j].key)) & b->mask;
        uint32_t from_hole = (j - hole) & b->mask;

        if (from_home >= from_hole) {
            b->slots[hole] = b->slots[j];
            hole = j;
        }
    }
    b->slots[hole].key = SLOT_EMPTY;
    b->nb_entries--;
}

/* --- the packet path ---------------------------------------------------- */

static void learn(struct bridge *b, uint64_t key, uint16_t port, uint64_t now_ns)
{
    struct bridge_slot *s = &b->slots[find_slot(b, key)];

    if (s->key == key) {
        if (is_dead(b, s, now_ns)) {
            /* Expired before bridge_age saw it: as if aged out and learned again. */
            b->aged++;
            b->learned++;
        } else if (s->port != port) {
            b->moved++;
        }
    } else if (b->nb_entries == b->max_entries) {
        /* Still forwarded (it floods); the table frees space at the next bridge_age. */
        b->table_full++;
        return;
    } else {
        s->key = key;
        b->nb_entries++;
        b->learned++;
    }
    s->port = port;
    s->seen_ns = now_ns;
}

/* A source worth learning: unicast (a group address never sends), not
 * all-zero (an unset address, and the empty-slot key), and arriving on a
 * port number that cannot be confused with BRIDGE_FLOOD/BRIDGE_SAME_PORT. */
static bool learnable(const uint8_t src[6], uint16_t in_port)
{
    return !(src[0] & 1) && mac_bits(src) != 0 && in_port < BRIDGE_FLOOD;
}

uint16_t bridge_forward(struct bridge *b, const uint8_t dst[6], const uint8_t src[6],
                        uint16_t vlan, uint16_t in_port, uint64_t now_ns)
{
    const struct bridge_slot *s;
    uint64_t key;

    if (learnable(src, in_port))
        learn(b, make_key(b, src, vlan), in_port, now_ns);

    if (dst[0] & 1)     /* broadcast and multicast: the I/G bit */
        return BRIDGE_FLOOD;
    key = make_key(b, dst, vlan);
    s = &b->slots[find_slot(b, key)];
    /* find_slot gives key's slot or an empty one; testing for empty, not for
     * key, also keeps the all-zero MAC (key 0 in VLAN 0) from "matching" it. */
    if (s->key == SLOT_EMPTY || is_dead(b, s, now_ns))
        return BRIDGE_FLOOD;
    return s->port == in_port ? BRIDGE_SAME_PORT : s->port;
}

/* --- housekeeping ------------------------------------------------------- */

/*
 * One pass over the slots. It starts just after an empty slot, so no
 * cluster straddles the start of the pass: a backward shift then only ever
 * moves an entry the pass has not reached yet, into the slot under the
 * cursor or a later one. After a deletion the cursor stays put to look at
 * whatever moved into it.
 */
void bridge_age(struct bridge *b, uint64_t now_ns)
{
    uint32_t i = 0;

    while (b->slots[i].key != SLOT_EMPTY)
        i++;
    for (uint32_t n = 0; n < b->mask; n++) {
        i = (i + 1) & b->mask;
        while (b->slots[i].key != SLOT_EMPTY && is_dead(b, &b->slots[i], now_ns)) {
            delete_slot(b, i);
            b->aged++;
        }
    }
}

void bridge_get_stats(const struct bridge *b, struct bridge_stats *out)
{
    *out = (struct bridge_stats){
        .nb_entries = b->nb_entries,
        .learned = b->learned,
        .moved = b->moved,
        .aged = b->aged,
        .table_full = b->table_full,
    };
}

/* One line per live entry, in table order: "vlan mac port age_s". Dead
 * entries bridge_age has not reclaimed yet are left out, as lookups ignore
 * them too. */
void bridge_print(const struct bridge *b, uint64_t now_ns, int (*print)(const char *fmt, ...))
{
    for (uint32_t i = 0; i <= b->mask; i++) {
        const struct bridge_slot *s = &b->slots[i];
        uint64_t idle_ns;

        if (s->key == SLOT_EMPTY || is_dead(b, s, now_ns))
            continue;
        idle_ns = now_ns > s->seen_ns ? now_ns - s->seen_ns : 0;
        print("%4u %02x:%02x:%02x:%02x:%02x:%02x %5u %llu\n",
              (unsigned)(s->key >> VLAN_SHIFT), (unsigned)(s->key >> 40) & 0xff,
              (unsigned)(s->key >> 32) & 0xff, (unsigned)(s->key >> 24) & 0xff,
              (unsigned)(s->key >> 16) & 0xff, (unsigned)(s->key >> 8) & 0xff,
              (unsigned)s->key & 0xff, (unsigned)s->port,
              (unsigned long long)(idle_ns / NS_PER_S));
    }
}
