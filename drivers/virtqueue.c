/*
 * Split virtqueue, driver side (VIRTIO 1.1, 2.6): see virtqueue.h for the
 * layout and the notification rules.
 *
 * Ordering. The device (under QEMU: the vCPU thread for doorbells, the main
 * loop thread for received frames) reads the rings while this code writes
 * them, so three orders matter:
 *   1. descriptor and avail slot before avail->idx (2.6.13.3): a store
 *      after stores, which x86 keeps in order; dma_wmb() stops the compiler;
 *   2. used->idx before the used entries it covers (2.6.14): a load before
 *      loads, likewise kept by x86; dma_rmb() for the compiler;
 *   3. avail->idx before the read of used->flags or avail_event that decides
 *      the doorbell (2.6.13.4): a store before a load, which x86 may reorder
 *      (SDM vol. 3A, 8.2.3.4). Without a full fence the driver can read a
 *      stale "do not notify" that the device has just withdrawn, skip the
 *      doorbell and leave the device asleep on a non-empty ring: an RX stall.
 *      The same holds the other way round when the driver asks for an
 *      interrupt before halting: used_event (or avail->flags) before the
 *      second look at used->idx, or the CPU sleeps on a frame it missed.
 */
#include "drivers/virtqueue.h"

#include "kernel/dma.h"
#include "kernel/io.h"
#include "net/errno.h"

#define VIRTQ_POISON_ADDR  0xffffffffffffffffull
#define VIRTQ_POISON_ID    0xffffu
#define VIRTQ_AREA_ALIGN   64u        /* a cache line: no area shares one */

static inline void virtq_mb(void)
{
    __asm__ __volatile__("mfence" ::: "memory");
}

/* The device's avail_event sits right after the last used element. */
static volatile uint16_t *virtq_avail_event_ptr(volatile struct virtq_used *used, uint16_t size)
{
    return (volatile uint16_t *)(uintptr_t)((uintptr_t)used + 4u + 8u * (uintptr_t)size);
}

/* Fills what the device could read before the driver writes it with values
 * that point nowhere (STYLE.md, habit 6). Volatile stores: ring memory is
 * shared with the device, and a plain loop could become a libc memset. */
static void virtq_poison(struct virtqueue *vq)
{
    for (uint32_t i = 0; i < vq->size; i++) {
        vq->desc[i].addr = VIRTQ_POISON_ADDR;
        vq->desc[i].len = 0;
        vq->desc[i].flags = 0;
        vq->desc[i].next = 0;
        vq->avail->ring[i] = VIRTQ_POISON_ID;
        vq->used->ring[i].id = 0xffffffffu;
        vq->used->ring[i].len = 0;
    }
    /* Both indices start at 0: the device's own counters do after reset. */
    vq->avail->idx = 0;
    vq->used->flags = 0;
    vq->used->idx = 0;
    *vq->avail_event = 0;
}

/* The used_event that asks for an interrupt once interrupt_after entries
 * wait (the last of them at last_used + interrupt_after - 1), or, one
 * behind last_used, that asks for none: the device interrupts only when
 * its used index steps past used_event (2.6.7.2). */
static uint16_t virtq_used_event(const struct virtqueue *vq)
{
    if (!vq->interrupts_on)
        return (uint16_t)(vq->last_used - 1);
    return (uint16_t)(vq->last_used + vq->interrupt_after - 1);
}

/* Interrupts are wanted only around an idle halt; the driver polls. With
 * EVENT_IDX the flag is ignored (TRAPS.md), so used_event does the job. */
void virtqueue_disable_interrupts(struct virtqueue *vq)
{
    vq->interrupts_on = false;
    vq->interrupt_after = 1;
    if (vq->event_idx) {
        vq->avail->flags = 0;             /* 2.6.7.1: MUST be 0 with EVENT_IDX */
        *vq->used_event = virtq_used_event(vq);
    } else {
        vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    }
}

bool virtqueue_enable_interrupts(struct virtqueue *vq, uint16_t nb)
{
    if (!vq->event_idx || nb == 0)
        nb = 1;                      /* without EVENT_IDX every entry interrupts */
    else if (nb > vq->size)
        nb = vq->size;               /* more can never wait */
    vq->interrupts_on = true;
    vq->interrupt_after = nb;
    if (vq->event_idx)
        *vq->used_event = virtq_used_event(vq);
    else
        vq->avail->flags = 0;
    /* The request (a store) must be visible before used->idx is read (a
     * load): the device does the mirror image, used->idx then used_event,
     * so at least one side sees the other (see order 3 above). */
    virtq_mb();
    return virtqueue_nb_used(vq) < nb;
}

static int virtq_alloc(struct virtqueue *vq)
{
    uint16_t size = vq->size;

    vq->desc = dma_alloc(virtq_desc_bytes(size), VIRTQ_AREA_ALIGN);
    vq->avail = dma_alloc(virtq_avail_bytes(size), VIRTQ_AREA_ALIGN);
    vq->used = dma_alloc(virtq_used_bytes(size), VIRTQ_AREA_ALIGN);
    vq->cookies = dma_alloc(sizeof(void *) * size, VIRTQ_AREA_ALIGN);
    vq->free_ids = dma_alloc(sizeof(uint16_t) * size, VIRTQ_AREA_ALIGN);
    if (!vq->desc || !vq->avail || !vq->used || !vq->cookies || !vq->free_ids)
        return -PM_ENOMEM;
    vq->desc_dma = dma_addr((const void *)vq->desc);
    vq->avail_dma = dma_addr((const void *)vq->avail);
    vq->used_dma = dma_addr((const void *)vq->used);
    vq->used_event = &vq->avail->ring[size];
    vq->avail_event = virtq_avail_event_ptr(vq->used, size);
    return 0;
}

int virtqueue_init(struct virtqueue *vq, uint16_t index, uint16_t size, bool event_idx)
{
    int rc;

    if (size == 0 || size > VIRTQ_SIZE_MAX || (size & (size - 1)) != 0)
        return -PM_EINVAL;
    vq->index = index;
    vq->size = size;
    vq->mask = (uint16_t)(size - 1);
    vq->event_idx = event_idx;
    vq->notify_addr = NULL;
    rc = virtq_alloc(vq);
    if (rc < 0)
        return rc;
    vq->nb_free = size;
    for (uint16_t i = 0; i < size; i++) {
        vq->cookies[i] = NULL;
        vq->free_ids[i] = (uint16_t)(size - 1 - i);   /* id 0 handed out first */
    }
    vq->avail_idx = vq->avail_idx_published = vq->avail_idx_kicked = 0;
    vq->last_used = 0;
    vq->interrupts_on = false;
    vq->interrupt_after = 1;
    vq->nb_notify = vq->nb_notify_suppressed = vq->nb_bad_used = 0;
    virtq_poison(vq);
    virtqueue_disable_interrupts(vq);
    return 0;
}

bool virtqueue_add(struct virtqueue *vq, void *cookie, dma_addr_t addr, uint32_t len,
                   uint16_t flags)
{
    uint16_t id;

    if (vq->nb_free == 0)
        return false;
    id = vq->free_ids[--vq->nb_free];
    vq->cookies[id] = cookie;
    vq->desc[id].addr = addr;
    vq->desc[id].len = len;
    vq->desc[id].flags = flags;
    vq->desc[id].next = 0;
    vq->avail->ring[vq->avail_idx & vq->mask] = id;
    vq->avail_idx++;
    return true;
}

void virtqueue_publish(struct virtqueue *vq)
{
    if (vq->avail_idx == vq->avail_idx_published)
        return;
    dma_wmb();                       /* order 1: slots before the index */
    vq->avail->idx = vq->avail_idx;
    vq->avail_idx_published = vq->avail_idx;
}

/* 2.6.10.2 / 4.1.5.2: write the queue's index to its doorbell. */
static void virtq_notify(struct virtqueue *vq)
{
    mmio_write16(vq->notify_addr, vq->index);
    vq->nb_notify++;
}

bool virtqueue_kick(struct virtqueue *vq)
{
    uint16_t old = vq->avail_idx_kicked;
    uint16_t new_idx = vq->avail_idx_published;
    bool need;

    if (old == new_idx)
        return false;
    virtq_mb();                      /* order 3: avail->idx before the device's wish */
    if (vq->event_idx)
        need = virtq_need_event(*vq->avail_event, new_idx, old);
    else
        need = !(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
    vq->avail_idx_kicked = new_idx;
    if (!need) {
        vq->nb_notify_suppressed++;
        return false;
    }
    virtq_notify(vq);
    return true;
}

uint16_t virtqueue_nb_used(const struct virtqueue *vq)
{
    return (uint16_t)(vq->used->idx - vq->last_used);
}

/* Hands descriptor id back to the free stack; false if the device returned
 * an id that is out of range or not ours to take back. */
static bool virtq_take_back(struct virtqueue *vq, uint32_t id, void **cookie)
{
    if (id >= vq->size || vq->cookies[id] == NULL) {
        vq->nb_bad_used++;
        return false;
    }
    *cookie = vq->cookies[id];
    vq->cookies[id] = NULL;
    vq->free_ids[vq->nb_free++] = (uint16_t)id;
    return true;
}

uint16_t virtqueue_dequeue(struct virtqueue *vq, void **cookies, uint32_t *lens, uint16_t nb)
{
    uint16_t nb_ready = virtqueue_nb_used(vq);
    uint16_t n = nb_ready < nb ? nb_ready : nb;
    uint16_t taken = 0;

    if (n == 0)
        return 0;
    dma_rmb();                       /* order 2: used->idx before its entries */
    for (uint16_t i = 0; i < n; i++) {
        volatile struct virtq_used_elem *e = &vq->used->ring[(vq->last_used + i) & vq->mask];
        uint32_t id = e->id;
        uint32_t len = e->len;

        if (virtq_take_back(vq, id, &cookies[taken]))
            lens[taken++] = len;
    }
    vq->last_used = (uint16_t)(vq->last_used + n);
    if (vq->event_idx)               /* move the device's interrupt point with us */
        *vq->used_event = virtq_used_event(vq);
    return taken;
}

uint16_t virtqueue_detach(struct virtqueue *vq, void **cookies, uint16_t nb)
{
    uint16_t n = 0;

    if (vq->cookies == NULL)         /* never set up */
        return 0;
    for (uint32_t id = 0; id < vq->size && n < nb; id++) {
        if (vq->cookies[id] != NULL && virtq_take_back(vq, id, &cookies[n]))
            n++;
    }
    return n;
}
