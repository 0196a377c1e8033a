/*
 * Split virtqueue, driver side: VIRTIO 1.1, section 2.6.
 *
 * Three areas in DMA memory, each allocated on its own (the modern PCI
 * transport takes three addresses, so no legacy page-aligned layout):
 *
 *   descriptor table   16 B x size, 16-aligned        driver writes
 *   +----------+--------+----------+---------+
 *   | addr u64 | len u32| flags u16| next u16|  x size
 *   +----------+--------+----------+---------+
 *
 *   driver area (available ring), 2-aligned           driver writes
 *   +-----------+---------+--------------------------+----------------+
 *   | flags u16 | idx u16 | ring[size]: head ids u16 | used_event u16 |
 *   +-----------+---------+--------------------------+----------------+
 *
 *   device area (used ring), 4-aligned                device writes
 *   +-----------+---------+-------------------------------+-----------------+
 *   | flags u16 | idx u16 | ring[size]: {id u32, len u32} | avail_event u16 |
 *   +-----------+---------+-------------------------------+-----------------+
 *
 * avail->idx and used->idx are free-running 16-bit counters: entry i lives in
 * slot i & (size - 1), and "how many" is always a 16-bit difference, so they
 * wrap past 65535 without a special case (size is a power of two, 2.6).
 *
 * Every buffer here is one descriptor (no chains, no indirect tables). A
 * descriptor id is taken from a free stack when a buffer is added and given
 * back when the device returns it through the used ring, so completions may
 * come in any order. Each id remembers an opaque cookie (the pktbuf).
 *
 * Notifications: the driver publishes a batch with one avail->idx store and
 * then asks whether the device wants to hear about it (2.6.10): with
 * VIRTIO_F_RING_EVENT_IDX, only if the batch crossed the device's
 * avail_event; without it, unless used->flags has NO_NOTIFY. Interrupts
 * the other way are suppressed while the driver polls: NO_INTERRUPT in
 * avail->flags, or used_event kept one behind what the driver has consumed.
 * Only before the CPU halts does the driver ask for one
 * (virtqueue_enable_interrupts), so that the next used entry wakes it:
 * avail->flags 0, or used_event = the index of that next entry. With
 * EVENT_IDX the driver may also ask to be woken only once several entries
 * wait (a coalesced wake): used_event = last_used + nb - 1.
 */
#ifndef PKTMETAL_DRIVERS_VIRTQUEUE_H
#define PKTMETAL_DRIVERS_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/pktbuf.h"

#define VIRTQ_SIZE_MAX              32768u   /* 2.6: Queue Size is at most 32768 */

/* struct virtq_desc.flags (2.6.5) */
#define VIRTQ_DESC_F_NEXT           1u
#define VIRTQ_DESC_F_WRITE          2u       /* device writes (RX); else device reads */
#define VIRTQ_DESC_F_INDIRECT       4u

#define VIRTQ_AVAIL_F_NO_INTERRUPT  1u       /* avail->flags (2.6.6) */
#define VIRTQ_USED_F_NO_NOTIFY      1u       /* used->flags (2.6.8) */

/* Ring alignment the modern transport requires (2.6, table "Virtqueue Part
 * Alignment"). */
#define VIRTQ_DESC_ALIGN            16u
#define VIRTQ_AVAIL_ALIGN           2u
#define VIRTQ_USED_ALIGN            4u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "2.6.5: a descriptor is 16 bytes");

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];           /* then used_event (EVENT_IDX) */
};
_Static_assert(sizeof(struct virtq_avail) == 4, "2.6.6: flags, idx, then the ring");

struct virtq_used_elem {
    uint32_t id;               /* head descriptor id */
    uint32_t len;              /* bytes the device wrote into the buffer */
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "2.6.8: id and len, 32 bits each");

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];   /* then avail_event (EVENT_IDX) */
};
_Static_assert(sizeof(struct virtq_used) == 4, "2.6.8: flags, idx, then the ring");

/* Bytes of each area for a queue of `size` entries, event fields included. */
static inline size_t virtq_desc_bytes(uint16_t size) { return 16u * (size_t)size; }
static inline size_t virtq_avail_bytes(uint16_t size) { return 6u + 2u * (size_t)size; }
static inline size_t virtq_used_bytes(uint16_t size) { return 6u + 8u * (size_t)size; }

/*
 * "Does a batch that moved the index from old to new_idx cross event?"
 * (2.6.10.1): true when event lies in [old, new_idx), all mod 2^16.
 */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

struct virtqueue {
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    volatile uint16_t *used_event;       /* &avail->ring[size] */
    volatile uint16_t *avail_event;      /* just past used->ring[size - 1] */
    dma_addr_t desc_dma, avail_dma, used_dma;
    volatile void *notify_addr;          /* doorbell, set by the transport */
    void **cookies;                      /* per descriptor id; NULL when free */
    uint16_t *free_ids;                  /* stack of free descriptor ids */
    uint16_t index;                      /* queue number in the device */
    uint16_t size;                       /* entries, a power of two */
    uint16_t mask;                       /* size - 1 */
    uint16_t nb_free;                    /* descriptors not owned by the device */
    uint16_t avail_idx;                  /* next avail entry, published or not */
    uint16_t avail_idx_published;        /* what avail->idx holds */
    uint16_t avail_idx_kicked;           /* avail->idx at the last notify decision */
    uint16_t last_used;                  /* next used entry to read */
    bool event_idx;                      /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool interrupts_on;                  /* asked for an interrupt (used_event set) */
    uint16_t interrupt_after;            /* ... once this many used entries wait */
    uint64_t nb_notify;                  /* doorbell writes */
    uint64_t nb_notify_suppressed;       /* batches the device did not want to hear of */
    uint64_t nb_bad_used;                /* used entries naming no buffer of ours */
};

/*
 * Allocates and poisons the three areas and the bookkeeping for a queue of
 * `size` entries (a power of two, 1..VIRTQ_SIZE_MAX). The poison (descriptor
 * addresses of all ones, avail entries of 0xffff, used ids of all ones)
 * makes a device that reads a slot the driver never filled fail loudly.
 * 0, -PM_EINVAL or -PM_ENOMEM.
 */
int virtqueue_init(struct virtqueue *vq, uint16_t index, uint16_t size, bool event_idx);

static inline uint16_t virtqueue_nb_free(const struct virtqueue *vq)
{
    return vq->nb_free;
}

/* Descriptors the device holds (posted and not yet taken back). */
static inline uint16_t virtqueue_nb_busy(const struct virtqueue *vq)
{
    return (uint16_t)(vq->size - vq->nb_free);
}

/*
 * Describes one buffer in a free descriptor and puts its id in the next
 * avail slot, without publishing it. flags: 0 (device reads) or
 * VIRTQ_DESC_F_WRITE. false when no descriptor is free.
 */
bool virtqueue_add(struct virtqueue *vq, void *cookie, dma_addr_t addr, uint32_t len,
                   uint16_t flags);

/* Makes every added buffer visible to the device: one avail->idx store. */
void virtqueue_publish(struct virtqueue *vq);

/*
 * Notifies the device of what was published since the last call, if it
 * asked to be told (see the file comment). Returns true if it rang the
 * doorbell. At most one doorbell per call.
 */
bool virtqueue_kick(struct virtqueue *vq);

/* Used entries waiting to be read. */
uint16_t virtqueue_nb_used(const struct virtqueue *vq);

/*
 * Takes up to nb returned buffers off the used ring, in the device's order:
 * their cookies and the lengths the device reported. The descriptors become
 * free. Returns how many it took.
 */
uint16_t virtqueue_dequeue(struct virtqueue *vq, void **cookies, uint32_t *lens, uint16_t nb);

/*
 * Asks the device to interrupt once nb used entries (1..size) wait unread
 * (2.6.7.2 / 2.6.10: with EVENT_IDX used_event = last_used + nb - 1, so
 * that the device's used index stepping to last_used + nb crosses it),
 * then, after a full fence, reads used->idx again. Without EVENT_IDX the
 * device can only be asked for an interrupt on every entry (avail->flags
 * = 0): nb acts as 1. Returns false when nb or more entries already wait
 * (without EVENT_IDX: any): the device may have added them before it saw
 * the request and decided not to interrupt, so the caller must poll rather
 * than wait for an interrupt. Interrupts stay asked for until
 * virtqueue_disable_interrupts().
 */
bool virtqueue_enable_interrupts(struct virtqueue *vq, uint16_t nb);

/* Back to polling: NO_INTERRUPT, or used_event one behind last_used. An
 * interrupt the device decided on just before may still arrive. */
void virtqueue_disable_interrupts(struct virtqueue *vq);

/*
 * After the device has been reset (it no longer owns anything): takes up to
 * nb cookies of buffers still posted, returned or not, and frees their
 * descriptors. Call until it returns 0.
 */
uint16_t virtqueue_detach(struct virtqueue *vq, void **cookies, uint16_t nb);

#endif
